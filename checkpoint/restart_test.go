package checkpoint

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// failure is one call to Restarter.Failure: at t0+at, after running for ran.
type failure struct {
	at, ran time.Duration
	delay   time.Duration // wanted delay; ignored when !ok
	ok      bool
}

func runFailures(t *testing.T, r *Restarter, fs []failure) string {
	t.Helper()
	var reason string
	for i, f := range fs {
		now := t0.Add(f.at)
		delay, ok, why := r.Failure(now, now.Add(-f.ran))
		if ok != f.ok || (ok && delay != f.delay) {
			t.Fatalf("failure %d at +%v: got (%v, %v, %q); want (%v, %v)", i, f.at, delay, ok, why, f.delay, f.ok)
		}
		if !ok && why == "" {
			t.Fatalf("failure %d: gave up without a reason", i)
		}
		if ok && why != "" {
			t.Fatalf("failure %d: restart with reason %q", i, why)
		}
		if !ok {
			if reason != "" && why != reason {
				t.Fatalf("failure %d: reason changed from %q to %q", i, reason, why)
			}
			reason = why
		}
	}
	return reason
}

func TestRestartNone(t *testing.T) {
	for _, typ := range []string{RestartNone, ""} {
		r := NewRestarter(RestartConfig{Type: typ}, nil)
		reason := runFailures(t, r, []failure{{at: 0}, {at: time.Hour}})
		if reason != "restarts are disabled (restart-strategy.type = none)" {
			t.Errorf("reason = %q", reason)
		}
		if r.Restarts() != 0 {
			t.Errorf("Restarts() = %d", r.Restarts())
		}
	}
}

func TestRestartFixedDelay(t *testing.T) {
	c := DefaultConfig().Restart
	c.Type, c.Attempts, c.Delay = RestartFixedDelay, 3, 2*time.Second
	r := NewRestarter(c, nil)
	reason := runFailures(t, r, []failure{
		{at: 0, delay: 2 * time.Second, ok: true},
		// Long runs do not reset fixed-delay.
		{at: time.Hour, ran: time.Hour, delay: 2 * time.Second, ok: true},
		{at: 2 * time.Hour, delay: 2 * time.Second, ok: true},
		{at: 3 * time.Hour},
		{at: 4 * time.Hour},
	})
	if want := "restart strategy fixed-delay gave up after 3 restart attempts (restart-strategy.fixed-delay.attempts = 3)"; reason != want {
		t.Errorf("reason = %q; want %q", reason, want)
	}
	if r.Restarts() != 3 {
		t.Errorf("Restarts() = %d", r.Restarts())
	}

	c.Attempts = 0
	runFailures(t, NewRestarter(c, nil), []failure{{at: 0}})
}

func TestRestartFailureRate(t *testing.T) {
	c := DefaultConfig().Restart
	c.Type, c.MaxFailuresPerInterval, c.FailureRateInterval, c.FailureRateDelay = RestartFailureRate, 2, time.Minute, 3*time.Second
	r := NewRestarter(c, nil)
	reason := runFailures(t, r, []failure{
		{at: 0, delay: 3 * time.Second, ok: true},
		{at: 30 * time.Second, delay: 3 * time.Second, ok: true},
		// The window is (now-1min, now]: the failure at 0 has left it.
		{at: 60 * time.Second, delay: 3 * time.Second, ok: true},
		{at: 91 * time.Second, delay: 3 * time.Second, ok: true},
		// 60 s, 91 s and 95 s: three failures within a minute.
		{at: 95 * time.Second},
		{at: time.Hour},
	})
	if want := "restart strategy failure-rate gave up: 3 failures within 1 min (restart-strategy.failure-rate.max-failures-per-interval = 2)"; reason != want {
		t.Errorf("reason = %q; want %q", reason, want)
	}
	if r.Restarts() != 4 {
		t.Errorf("Restarts() = %d", r.Restarts())
	}

	// Default: one failure per minute is tolerated, two are not.
	c = DefaultConfig().Restart
	c.Type = RestartFailureRate
	runFailures(t, NewRestarter(c, nil), []failure{
		{at: 0, delay: time.Second, ok: true},
		{at: 2 * time.Minute, delay: time.Second, ok: true},
		{at: 2*time.Minute + 59*time.Second},
	})
}

func TestRestartExponentialDelay(t *testing.T) {
	c := DefaultConfig().Restart
	c.Type, c.InitialBackoff, c.MaxBackoff, c.BackoffMultiplier = RestartExponentialDelay, time.Second, 10*time.Second, 2
	c.ResetBackoffThreshold, c.JitterFactor = time.Minute, 0
	r := NewRestarter(c, nil)
	short := time.Second
	runFailures(t, r, []failure{
		{at: 0, ran: short, delay: 1 * time.Second, ok: true},
		{at: 10 * time.Second, ran: short, delay: 2 * time.Second, ok: true},
		{at: 20 * time.Second, ran: short, delay: 4 * time.Second, ok: true},
		{at: 30 * time.Second, ran: short, delay: 8 * time.Second, ok: true},
		{at: 40 * time.Second, ran: short, delay: 10 * time.Second, ok: true},
		{at: 50 * time.Second, ran: 59 * time.Second, delay: 10 * time.Second, ok: true},
		// Ran for the reset threshold since the last restart: back to the start.
		{at: 5 * time.Minute, ran: time.Minute, delay: 1 * time.Second, ok: true},
		{at: 6 * time.Minute, ran: short, delay: 2 * time.Second, ok: true},
	})
	if r.Restarts() != 8 {
		t.Errorf("Restarts() = %d", r.Restarts())
	}

	// Flink's defaults: 1 s × 1.5 up to 1 min.
	c = DefaultConfig().Restart
	c.JitterFactor = 0
	var want []failure
	for i, ms := range []int{1000, 1500, 2250, 3375, 5062, 7593, 11390, 17085, 25628, 38443, 57665, 60000, 60000} {
		want = append(want, failure{at: time.Duration(i) * time.Minute, ran: short, delay: time.Duration(ms) * time.Millisecond, ok: true})
	}
	r = NewRestarter(c, nil)
	for i, f := range want {
		now := t0.Add(f.at)
		d, ok, _ := r.Failure(now, now.Add(-f.ran))
		// float rounding: allow a millisecond
		if !ok || d < f.delay || d > f.delay+time.Millisecond {
			t.Fatalf("default backoff %d = %v, %v; want ~%v", i, d, ok, f.delay)
		}
	}
}

func TestRestartExponentialJitter(t *testing.T) {
	c := DefaultConfig().Restart
	c.Type, c.InitialBackoff, c.MaxBackoff, c.BackoffMultiplier = RestartExponentialDelay, time.Second, 10*time.Second, 2
	c.JitterFactor = 0.1
	rnds := []float64{0, 0.5, 0.75, 0.999999, 0.999999, 0}
	i := 0
	rnd := func() float64 { v := rnds[i]; i++; return v }
	r := NewRestarter(c, rnd)
	runFailures(t, r, []failure{
		{at: 0, ran: time.Second, delay: 900 * time.Millisecond, ok: true},                // 1 s − 10 %
		{at: time.Minute, ran: time.Second, delay: 2 * time.Second, ok: true},             // 2 s ± 0
		{at: 2 * time.Minute, ran: time.Second, delay: 4200 * time.Millisecond, ok: true}, // 4 s + 5 %
		// 8 s + ~10 %: jitter does not compound into the next backoff.
		{at: 3 * time.Minute, ran: time.Second, delay: 8799998400, ok: true},
		// 10 s + ~10 % is held at max-backoff.
		{at: 4 * time.Minute, ran: time.Second, delay: 10 * time.Second, ok: true},
		{at: 5 * time.Minute, ran: time.Second, delay: 9 * time.Second, ok: true},
	})
}

func TestRestartExponentialAttemptsBeforeReset(t *testing.T) {
	c := DefaultConfig().Restart
	c.JitterFactor, c.AttemptsBeforeReset, c.BackoffMultiplier = 0, 2, 2
	r := NewRestarter(c, nil)
	reason := runFailures(t, r, []failure{
		{at: 0, ran: time.Second, delay: time.Second, ok: true},
		{at: time.Minute, ran: time.Second, delay: 2 * time.Second, ok: true},
		// A long run resets both the backoff and the attempt count.
		{at: 3 * time.Hour, ran: 2 * time.Hour, delay: time.Second, ok: true},
		{at: 4 * time.Hour, ran: time.Second, delay: 2 * time.Second, ok: true},
		{at: 5 * time.Hour, ran: time.Second},
		{at: 9 * time.Hour, ran: 3 * time.Hour},
	})
	if !strings.Contains(reason, "gave up after 2 restart attempts without a reset (restart-strategy.exponential-delay.attempts-before-reset-backoff = 2)") {
		t.Errorf("reason = %q", reason)
	}
}
