package exectest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// Output is a Collector that keeps what an operator emits.
type Output struct {
	Batches    []*types.Batch
	Watermarks []int64
}

// Collect implements exec.Collector.
func (o *Output) Collect(b *types.Batch) error {
	o.Batches = append(o.Batches, b)
	return nil
}

// EmitWatermark implements exec.WatermarkCollector.
func (o *Output) EmitWatermark(wm int64) error {
	o.Watermarks = append(o.Watermarks, wm)
	return nil
}

// TaskContext returns a context for subtask 0 of 1 with 128 key groups.
func TaskContext(ctx context.Context) *exec.TaskContext {
	return &exec.TaskContext{Ctx: ctx, Parallelism: 1, MaxParallelism: 128}
}

// Drive runs op outside a job, as the runtime would on one subtask: Open,
// Process of each input batch (op takes ownership), Finish, then Close in
// every case. It returns the emitted batches.
func Drive(op exec.Operator, in ...*types.Batch) (out []*types.Batch, err error) {
	var o Output
	defer func() {
		if c, ok := op.(exec.Closer); ok {
			err = errors.Join(err, c.Close())
		}
		out = o.Batches
	}()
	if op, ok := op.(exec.Opener); ok {
		if err := op.Open(TaskContext(context.Background())); err != nil {
			return nil, fmt.Errorf("open: %w", err)
		}
	}
	for _, b := range in {
		if err := op.Process(b, &o); err != nil {
			return nil, err
		}
	}
	if f, ok := op.(exec.Finisher); ok {
		if err := f.Finish(&o); err != nil {
			return nil, fmt.Errorf("finish: %w", err)
		}
	}
	return nil, nil
}

// CheckLeaks fails the test if, at its end, more goroutines run than when
// CheckLeaks was called (retrying for a few seconds while goroutines exit).
// Tests using it must not run in parallel with others.
func CheckLeaks(tb testing.TB) {
	before := runtime.NumGoroutine()
	tb.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				tb.Errorf("goroutine leak: %d goroutines before, %d after:\n%s", before, n, buf)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}
