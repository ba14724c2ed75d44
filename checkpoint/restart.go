package checkpoint

import (
	"fmt"
	"math"
	"time"
)

// Restarter decides, failure by failure, whether and when a failed job is
// restarted. It is a deterministic state machine: time comes in with each
// call and randomness (the jitter of exponential-delay) from the function
// given to NewRestarter. It is not safe for concurrent use.
//
// Strategies (RestartConfig.Type):
//
//   - none: the first failure is final.
//   - fixed-delay: restart after Delay, at most Attempts times in all.
//   - failure-rate: restart after FailureRateDelay, unless this failure
//     makes more than MaxFailuresPerInterval failures within the last
//     FailureRateInterval (the window ends at the failure, inclusive).
//   - exponential-delay: the first delay is InitialBackoff; each further
//     failure multiplies it by BackoffMultiplier, up to MaxBackoff. If the
//     job had been running for at least ResetBackoffThreshold when it
//     failed (now - runningSince), the backoff and the attempt count start
//     over from InitialBackoff. The delay returned is the backoff moved by
//     (2·rnd()−1)·JitterFactor·backoff, kept within [0, MaxBackoff]; the
//     jitter does not compound. With AttemptsBeforeReset > 0 it gives up
//     after that many restarts without a reset.
//
// An empty Type is treated as none; resolve it with Config.RestartStrategy
// first.
type Restarter struct {
	c   RestartConfig
	rnd func() float64

	restarts int
	gaveUp   string // reason, once the strategy has given up

	failures []time.Time // failure-rate: failures within the window

	backoff      time.Duration // exponential-delay: un-jittered backoff of the last restart
	sinceReset   int           // exponential-delay: restarts since the last reset
	haveFailures bool
}

// NewRestarter returns a Restarter for c. rnd returns numbers in [0, 1) and
// is only used for exponential-delay jitter; nil means no jitter.
func NewRestarter(c RestartConfig, rnd func() float64) *Restarter {
	if rnd == nil {
		rnd = func() float64 { return 0.5 }
	}
	return &Restarter{c: c, rnd: rnd}
}

// Failure records a failure at now of a job that had been running since
// runningSince (its start or last restart) and returns the delay to wait
// before restarting it, or ok=false when the strategy gives up, with a
// reason suitable for the job's error. Once it has given up, every later
// call returns ok=false with the same reason.
func (r *Restarter) Failure(now, runningSince time.Time) (delay time.Duration, ok bool, reason string) {
	if r.gaveUp != "" {
		return 0, false, r.gaveUp
	}
	switch r.c.Type {
	case RestartFixedDelay:
		if r.restarts >= r.c.Attempts {
			return r.giveUp(fmt.Sprintf("restart strategy fixed-delay gave up after %d restart attempts (%s = %d)",
				r.restarts, KeyFixedAttempts, r.c.Attempts))
		}
		delay = r.c.Delay
	case RestartFailureRate:
		cutoff := now.Add(-r.c.FailureRateInterval)
		kept := r.failures[:0]
		for _, t := range r.failures {
			if t.After(cutoff) {
				kept = append(kept, t)
			}
		}
		r.failures = append(kept, now)
		if len(r.failures) > r.c.MaxFailuresPerInterval {
			return r.giveUp(fmt.Sprintf("restart strategy failure-rate gave up: %d failures within %s (%s = %d)",
				len(r.failures), FormatDuration(r.c.FailureRateInterval), KeyRateMaxFailures, r.c.MaxFailuresPerInterval))
		}
		delay = r.c.FailureRateDelay
	case RestartExponentialDelay:
		if !r.haveFailures || now.Sub(runningSince) >= r.c.ResetBackoffThreshold {
			r.backoff = r.c.InitialBackoff
			r.sinceReset = 0
		} else {
			next := float64(r.backoff) * r.c.BackoffMultiplier
			if next >= float64(r.c.MaxBackoff) || math.IsInf(next, 0) {
				r.backoff = r.c.MaxBackoff
			} else {
				r.backoff = time.Duration(next)
			}
		}
		r.haveFailures = true
		if r.c.AttemptsBeforeReset > 0 && r.sinceReset >= r.c.AttemptsBeforeReset {
			return r.giveUp(fmt.Sprintf("restart strategy exponential-delay gave up after %d restart attempts without a reset (%s = %d)",
				r.sinceReset, KeyExpAttemptsBeforeRs, r.c.AttemptsBeforeReset))
		}
		r.sinceReset++
		delay = r.jitter(r.backoff)
	default:
		return r.giveUp(fmt.Sprintf("restarts are disabled (%s = none)", KeyRestartType))
	}
	r.restarts++
	return delay, true, ""
}

func (r *Restarter) jitter(d time.Duration) time.Duration {
	if r.c.JitterFactor == 0 {
		return d
	}
	j := float64(d) * (1 + (2*r.rnd()-1)*r.c.JitterFactor)
	switch {
	case j < 0:
		return 0
	case j > float64(r.c.MaxBackoff):
		return r.c.MaxBackoff
	}
	return time.Duration(j)
}

func (r *Restarter) giveUp(reason string) (time.Duration, bool, string) {
	r.gaveUp = reason
	return 0, false, reason
}

// Restarts returns the number of restarts granted so far.
func (r *Restarter) Restarts() int { return r.restarts }
