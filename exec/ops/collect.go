package ops

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// ErrConsumerGone is returned by a Collect sink whose consumer's context
// ended; the job then stops with an error wrapping it.
var ErrConsumerGone = errors.New("collect: result consumer is gone")

// Collect is a sink handing every batch to a consumer, for query results.
// It emits nothing downstream. Build it with CollectFunc or CollectChan.
type Collect struct {
	deliver func(ctx context.Context, b *types.Batch) error
	ctx     context.Context
}

// Open implements exec.Opener.
func (c *Collect) Open(tc *exec.TaskContext) error {
	c.ctx = tc.Ctx
	return nil
}

// Process implements exec.Operator.
func (c *Collect) Process(b *types.Batch, _ exec.Collector) error {
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	return c.deliver(ctx, b)
}

// CollectFunc returns a sink factory calling fn with every batch. Calls are
// serialised across the sink's subtasks (fn needs no locking) and made from
// the subtasks' goroutines; fn owns b (it may keep it, or Release it). An
// error from fn fails the job.
func CollectFunc(fn func(b *types.Batch) error) exec.OperatorFactory {
	var mu sync.Mutex
	deliver := func(_ context.Context, b *types.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		return fn(b)
	}
	return func(int) (exec.Operator, error) { return &Collect{deliver: deliver}, nil }
}

// CollectChan returns a sink factory sending every batch on ch; the reader
// owns what it receives. A send waits for the reader, so a slow reader
// back-pressures the job. It gives up when the job stops or when consumer
// is done (the reader went away): the job then fails with an error wrapping
// ErrConsumerGone. ch is not closed: the reader learns of the end from
// exec.Job.Done, after which no more sends happen (buffered batches may
// still be in ch).
func CollectChan(consumer context.Context, ch chan<- *types.Batch) exec.OperatorFactory {
	deliver := func(job context.Context, b *types.Batch) error {
		select {
		case ch <- b:
			return nil
		case <-job.Done():
			b.Release()
			return exec.ErrStopping
		case <-consumer.Done():
			b.Release()
			return fmt.Errorf("%w: %w", ErrConsumerGone, context.Cause(consumer))
		}
	}
	return func(int) (exec.Operator, error) { return &Collect{deliver: deliver}, nil }
}

// Discard is a sink that releases every batch (the blackhole connector).
type Discard struct{}

// DiscardFactory returns a factory of Discard sinks.
func DiscardFactory() exec.OperatorFactory {
	return func(int) (exec.Operator, error) { return Discard{}, nil }
}

// Process implements exec.Operator.
func (Discard) Process(b *types.Batch, _ exec.Collector) error {
	b.Release()
	return nil
}
