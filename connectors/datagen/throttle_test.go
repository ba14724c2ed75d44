package datagen

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeClock drives a throttle without real sleeping.
type fakeClock struct {
	t     time.Time
	slept time.Duration
}

func (c *fakeClock) install(th *throttle) {
	th.now = func() time.Time { return c.t }
	th.sleep = func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.t = c.t.Add(d)
		c.slept += d
		return nil
	}
}

func TestThrottleRate(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	th := newThrottle(2500, 1024) // one subtask's share
	clock.install(&th)
	total := 0
	for clock.t.Before(time.Unix(1010, 0)) {
		n, err := th.take(context.Background(), 1024)
		if err != nil {
			t.Fatal(err)
		}
		if n > 250 {
			t.Fatalf("burst of %d rows, want at most a tenth of a second (250)", n)
		}
		total += n
	}
	// 10 s at 2500/s plus the initial bucket.
	if total < 25000 || total > 25000+250 {
		t.Fatalf("%d rows in 10 s at 2500 rows/s", total)
	}
}

func TestThrottleSlowRateWaitsAtMost100ms(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	th := newThrottle(0.5, 1024)
	clock.install(&th)
	if n, _ := th.take(context.Background(), 1024); n != 1 {
		t.Fatalf("first take = %d, want the initial token", n)
	}
	clock.slept = 0
	n, err := th.take(context.Background(), 1024)
	if err != nil || n != 0 || clock.slept != maxWait {
		t.Fatalf("take = %d, %v after sleeping %v; want 0 rows after %v", n, err, clock.slept, maxWait)
	}
}

func TestThrottleCancelled(t *testing.T) {
	th := newThrottle(1, 1024)
	th.tokens = 0
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := th.take(ctx, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	unlimited := newThrottle(0, 1024)
	if n, _ := unlimited.take(ctx, 1024); n != 1024 {
		t.Fatalf("unlimited take = %d", n)
	}
}
