package exectest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// waitLimit bounds how long the checkpoint helpers wait for a job.
const waitLimit = 20 * time.Second

// SnapKey names one operator's snapshot: vertex, subtask, operator (-1:
// the source).
type SnapKey [3]int

// Snapshots are the snapshots of one checkpoint by operator.
type Snapshots map[SnapKey][]byte

// Sources returns the snapshots of the source of vertex for subtasks
// 0..parallelism-1 (nil for a subtask without one).
func (s Snapshots) Sources(vertex, parallelism int) [][]byte {
	out := make([][]byte, parallelism)
	for i := range out {
		out[i] = s[SnapKey{vertex, i, -1}]
	}
	return out
}

// Checkpoints plays the checkpoint coordinator for one exec.Job: it
// injects barriers, collects acknowledgements and snapshots, and completes
// checkpoints only when the test says so (Job.NotifyCheckpointComplete).
// Its methods fail the test (tb.Fatal) on the test's goroutine.
type Checkpoints struct {
	// Job is the running job.
	Job *exec.Job

	tb       testing.TB
	subtasks int // acknowledgements that complete a checkpoint
	sources  int

	mu    sync.Mutex
	acks  map[int64]int
	snaps map[int64]Snapshots
	ended int

	acked     chan int64    // checkpoints every subtask acknowledged
	sourcesAt chan struct{} // closed when every source subtask reached its end
}

// RunCheckpointed starts g as job jobID with checkpointing and a final
// checkpoint (start timestamp 1, channels of capacity 2), restored from
// checkpoint id with snaps when snaps is not nil (each operator gets its
// one snapshot, or none). The job is cancelled when the test ends.
func RunCheckpointed(tb testing.TB, g *exec.JobGraph, jobID string, id int64, snaps Snapshots) *Checkpoints {
	tb.Helper()
	c := &Checkpoints{tb: tb, acks: map[int64]int{}, snaps: map[int64]Snapshots{},
		acked: make(chan int64, 64), sourcesAt: make(chan struct{})}
	for _, v := range g.Vertices {
		c.subtasks += v.Parallelism
		if v.Source != nil {
			c.sources += v.Parallelism
		}
	}
	opts := exec.RunOptions{
		JobID: jobID, StartTs: 1, FinalCheckpoint: true, ChannelCapacity: 2,
		OnAck: c.onAck, OnSourceEnded: c.onSourceEnded,
	}
	if snaps != nil {
		opts.Restore = &exec.Restore{CheckpointID: id, Snapshots: func(v, s, op int) [][]byte {
			if b, ok := snaps[SnapKey{v, s, op}]; ok {
				return [][]byte{b}
			}
			return nil
		}}
	}
	job, err := exec.Run(context.Background(), g, opts)
	if err != nil {
		tb.Fatal(err)
	}
	c.Job = job
	tb.Cleanup(func() { job.Cancel(); job.Wait() })
	return c
}

func (c *Checkpoints) onAck(a exec.Ack) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.snaps[a.CheckpointID]
	if m == nil {
		m = Snapshots{}
		c.snaps[a.CheckpointID] = m
	}
	for _, s := range a.Snapshots {
		m[SnapKey{a.Vertex, a.Subtask, s.Op}] = s.Data
	}
	c.acks[a.CheckpointID]++
	if c.acks[a.CheckpointID] == c.subtasks {
		c.acked <- a.CheckpointID
	}
}

func (c *Checkpoints) onSourceEnded(int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended++
	if c.ended == c.sources {
		close(c.sourcesAt)
	}
}

// Checkpoint takes checkpoint id (the final one when final is set) and
// returns its snapshots once every subtask has acknowledged it; it does
// not complete it.
func (c *Checkpoints) Checkpoint(id int64, final bool) Snapshots {
	c.tb.Helper()
	c.Job.InjectBarrier(exec.Barrier{CheckpointID: id, Final: final})
	select {
	case got := <-c.acked:
		if got != id {
			c.tb.Fatalf("checkpoint %d acknowledged, want %d", got, id)
		}
	case <-c.Job.Done():
		c.tb.Fatalf("job ended during checkpoint %d: %v", id, c.Job.Err())
	case <-time.After(waitLimit):
		c.tb.Fatalf("checkpoint %d not acknowledged", id)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snaps[id]
}

// Finish waits for the sources to end, takes the final checkpoint id,
// completes it and waits for the job to end without an error.
func (c *Checkpoints) Finish(id int64) {
	c.tb.Helper()
	select {
	case <-c.sourcesAt:
	case <-time.After(waitLimit):
		c.tb.Fatal("sources did not end")
	}
	c.Checkpoint(id, true)
	c.Job.NotifyCheckpointComplete(id)
	if err := c.Job.Wait(); err != nil {
		c.tb.Fatal(err)
	}
}

// Crash stops the job as a failure would: nothing is completed any more.
// The job must end with exec.ErrCancelled.
func (c *Checkpoints) Crash() {
	c.tb.Helper()
	c.Job.Cancel()
	if err := c.Job.Wait(); !errors.Is(err, exec.ErrCancelled) {
		c.tb.Fatalf("cancelled job ended with %v", err)
	}
}

// RowCounter is an operator that passes batches on and adds their rows to
// N (safe to read from other goroutines).
type RowCounter struct{ N *atomic.Int64 }

// Process implements exec.Operator.
func (c RowCounter) Process(b *types.Batch, out exec.Collector) error {
	c.N.Add(int64(b.Len()))
	return out.Collect(b)
}

// WaitRows waits until n has reached at least want, and fails the test
// when it does not in time.
func WaitRows(tb testing.TB, n *atomic.Int64, want int64) {
	tb.Helper()
	deadline := time.Now().Add(waitLimit)
	for n.Load() < want {
		if time.Now().After(deadline) {
			tb.Fatalf("only %d rows arrived, waiting for %d", n.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}
