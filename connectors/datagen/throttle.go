package datagen

import (
	"context"
	"math"
	"time"
)

// maxWait bounds how long Next blocks for tokens, so that the runtime can
// inject barriers and notice cancellation (exec.Source's contract).
const maxWait = 100 * time.Millisecond

// throttle is a token bucket limiting one subtask to rate rows per second.
// The bucket holds at most burst tokens: about a tenth of a second of rows,
// at most one batch, so that slow rates emit small batches regularly and a
// stall downstream is not followed by a burst.
//
// A throttle is used by one goroutine. now and sleep are replaceable for tests.
type throttle struct {
	rate   float64 // tokens per second; <= 0 means unlimited
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
}

func newThrottle(rate float64, batch int) throttle {
	burst := math.Min(float64(batch), math.Max(1, math.Ceil(rate/10)))
	return throttle{rate: rate, burst: burst, tokens: burst, now: time.Now, sleep: sleepCtx}
}

// take returns how many of want rows may be produced now (0..want). It
// sleeps at most maxWait waiting for tokens and returns ctx's error when
// ctx is cancelled meanwhile.
func (t *throttle) take(ctx context.Context, want int) (int, error) {
	if t.rate <= 0 || want <= 0 {
		return want, nil
	}
	goal := math.Min(float64(want), t.burst)
	t.refill()
	if t.tokens < goal {
		d := time.Duration((goal - t.tokens) / t.rate * float64(time.Second))
		if err := t.sleep(ctx, min(d, maxWait)); err != nil {
			return 0, err
		}
		t.refill()
	}
	n := int(math.Min(math.Floor(t.tokens), float64(want)))
	t.tokens -= float64(n)
	return n, nil
}

func (t *throttle) refill() {
	now := t.now()
	if !t.last.IsZero() {
		t.tokens = math.Min(t.burst, t.tokens+now.Sub(t.last).Seconds()*t.rate)
	}
	t.last = now
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
