package exec_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
)

// countingSource emits batches of 10 rows forever and records, at each
// barrier, how many rows it had emitted.
type countingSource struct {
	n        int64
	mu       *sync.Mutex
	snaps    map[int64]int64 // shared: checkpoint → rows emitted by all sources
	complete *atomic.Int64
}

func (s *countingSource) Open(*exec.TaskContext) error { return nil }
func (s *countingSource) Close() error                 { return nil }

func (s *countingSource) Next(b *types.Batch) (bool, error) {
	for range 10 {
		b.AppendRow(types.Insert, []types.Datum{types.IntDatum(s.n), types.StringDatum("x")})
		s.n++
	}
	time.Sleep(50 * time.Microsecond)
	return false, nil
}

func (s *countingSource) Snapshot(id int64) ([]byte, error) {
	s.mu.Lock()
	s.snaps[id] += s.n
	s.mu.Unlock()
	return nil, nil
}

func (s *countingSource) NotifyCheckpointComplete(int64) error {
	s.complete.Add(1)
	return nil
}

func TestBarriersGiveConsistentCut(t *testing.T) {
	for _, mode := range []exec.CheckpointingMode{exec.ExactlyOnce, exec.AtLeastOnce} {
		t.Run([]string{"exactly-once", "at-least-once"}[mode], func(t *testing.T) {
			testBarriers(t, mode)
		})
	}
}

func testBarriers(t *testing.T, mode exec.CheckpointingMode) {
	exectest.CheckLeaks(t)
	var mu sync.Mutex
	srcSnaps := map[int64]int64{}
	midSnaps := map[int64]int64{}
	var completes atomic.Int64
	srcFactory := func(int) (exec.Source, error) {
		return &countingSource{mu: &mu, snaps: srcSnaps, complete: &completes}, nil
	}
	mid := hook(func(int) *hookOp {
		var seen int64
		return &hookOp{
			process: func(b *types.Batch, out exec.Collector) error {
				seen += int64(b.Len())
				return out.Collect(b)
			},
			snapshot: func(id int64) error {
				mu.Lock()
				midSnaps[id] += seen
				mu.Unlock()
				return nil
			},
			complete: func(int64) error { completes.Add(1); return nil },
		}
	})
	acks := make(chan int64, 16)
	g := &exec.JobGraph{Vertices: []exec.Vertex{
		{Name: "source", Parallelism: 2, Source: srcFactory, InTypes: kv, OutTypes: kv},
		{Name: "mid", Parallelism: 2, InTypes: kv, OutTypes: kv,
			Inputs: []exec.Edge{{From: 0, Exchange: exec.Hash, KeyCols: []int{0}}},
			Ops:    []exec.OperatorFactory{mid}},
		{Name: "sink", Parallelism: 1, InTypes: kv, Inputs: []exec.Edge{{From: 1, Exchange: exec.Single}},
			Ops: []exec.OperatorFactory{ops.DiscardFactory()}},
	}}
	job, err := exec.Run(context.Background(), g, exec.RunOptions{
		Mode: mode, ChannelCapacity: 4,
		OnAck: func(a exec.Ack) {
			if !a.Sink {
				return
			}
			if a.Vertex != 2 || a.Subtask != 0 {
				t.Errorf("ack from vertex %d subtask %d", a.Vertex, a.Subtask)
			}
			acks <- a.CheckpointID
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id <= 5; id++ {
		time.Sleep(5 * time.Millisecond)
		job.InjectBarrier(exec.Barrier{CheckpointID: id})
		select {
		case got := <-acks:
			if got != id {
				t.Fatalf("ack %d, want %d", got, id)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no ack for checkpoint %d", id)
		}
		mu.Lock()
		src, mid := srcSnaps[id], midSnaps[id]
		mu.Unlock()
		if mode == exec.ExactlyOnce && src != mid {
			t.Errorf("checkpoint %d: sources emitted %d rows before the barrier, operators saw %d", id, src, mid)
		}
		if src == 0 || mid < src {
			t.Errorf("checkpoint %d: sources %d rows, operators %d", id, src, mid)
		}
		job.NotifyCheckpointComplete(id)
	}
	deadline := time.Now().Add(5 * time.Second)
	for completes.Load() < 5*4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := completes.Load(); n != 5*4 {
		t.Errorf("%d completion notifications, want 20", n)
	}
	job.Cancel()
	if err := job.Wait(); !errors.Is(err, exec.ErrCancelled) {
		t.Fatal(err)
	}
}

func TestSnapshotErrorFailsJob(t *testing.T) {
	exectest.CheckLeaks(t)
	mid := hook(func(int) *hookOp {
		return &hookOp{snapshot: func(int64) error { return errors.New("disk full") }}
	})
	job, err := exec.Run(context.Background(),
		longJob(mid, ops.DiscardFactory(), &exectest.Source{Unbounded: true}), exec.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job.InjectBarrier(exec.Barrier{CheckpointID: 7})
	err = job.Wait()
	if err == nil || err.Error() != `vertex "Filter" subtask 0: snapshot operator 0 for checkpoint 7: disk full` &&
		err.Error() != `vertex "Filter" subtask 1: snapshot operator 0 for checkpoint 7: disk full` {
		t.Fatalf("err = %v", err)
	}
}

func TestWatermarksMinOverInputs(t *testing.T) {
	exectest.CheckLeaks(t)
	// Source subtask s emits, after its k-th batch, watermark (k+1)*10*(s+1):
	// subtask 1's watermarks run ahead; it ends after 5 batches, subtask 0
	// after 10.
	assign := hook(func(s int) *hookOp {
		var k int64
		return &hookOp{process: func(b *types.Batch, out exec.Collector) error {
			if err := out.Collect(b); err != nil {
				return err
			}
			k++
			return out.(exec.WatermarkCollector).EmitWatermark(k * 10 * int64(s+1))
		}}
	})
	var got []int64
	sink := hook(func(int) *hookOp {
		return &hookOp{
			process: func(b *types.Batch, _ exec.Collector) error { b.Release(); return nil },
			watermark: func(wm int64, _ exec.Collector) (int64, error) {
				got = append(got, wm)
				return wm, nil
			},
		}
	})
	one := exectest.MustParse(t, kv, "+I 1 a")
	srcs := []*exectest.Source{{Batches: []*types.Batch{one}, Loop: true, Limit: 10},
		{Batches: []*types.Batch{one}, Loop: true, Limit: 5}}
	g := &exec.JobGraph{Vertices: []exec.Vertex{
		{Name: "source", Parallelism: 2, Source: exectest.Sources(srcs...), InTypes: kv, OutTypes: kv,
			Ops: []exec.OperatorFactory{assign}},
		{Name: "sink", Parallelism: 1, InTypes: kv, Inputs: []exec.Edge{{From: 0, Exchange: exec.Single}},
			Ops: []exec.OperatorFactory{sink}},
	}}
	if err := run(t, g, exec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[len(got)-1] != 100 {
		t.Fatalf("watermarks %v: want the last to be 100", got)
	}
	for i, wm := range got {
		if i > 0 && wm <= got[i-1] {
			t.Fatalf("watermarks %v do not increase", got)
		}
		// Until subtask 1 ended (at 100), the minimum is at most its 100
		// and subtask 0's watermark, which lags: nothing above 100.
		if wm > 100 {
			t.Fatalf("watermark %d above every input's", wm)
		}
	}
}
