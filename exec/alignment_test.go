package exec_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/types"
)

// gatedSource emits n one-row batches; before batch i (0-based) it waits
// for gate[i] when there is one, and it sleeps delay before every batch.
type gatedSource struct {
	n     int
	delay time.Duration
	gate  map[int]chan struct{}
	one   *types.Batch
	i     atomic.Int64
}

func (s *gatedSource) Open(*exec.TaskContext) error { return nil }
func (s *gatedSource) Close() error                 { return nil }

func (s *gatedSource) Next(b *types.Batch) (bool, error) {
	i := int(s.i.Load())
	if i >= s.n {
		return true, nil
	}
	if g := s.gate[i]; g != nil {
		<-g
	}
	time.Sleep(s.delay)
	exec.CopyBatch(b, s.one)
	s.i.Add(1)
	return false, nil
}

// alignedJob builds two source vertices, fast (0) and slow (1), each
// emitting watermark 10·k after its k-th batch and recording it in wm,
// unioned into a sink that drops rows. align, when not nil, puts both in
// one alignment group.
func alignedJob(fast, slow exec.Source, wm *[2]atomic.Int64, onFast func(prev int64),
	align *exec.WatermarkAlignment) *exec.JobGraph {
	assigner := func(v int) exec.OperatorFactory {
		return hook(func(int) *hookOp {
			var k int64
			return &hookOp{process: func(b *types.Batch, out exec.Collector) error {
				if v == 0 && onFast != nil {
					onFast(k * 10)
				}
				if err := out.Collect(b); err != nil {
					return err
				}
				k++
				wm[v].Store(k * 10)
				return out.(exec.WatermarkCollector).EmitWatermark(k * 10)
			}}
		})
	}
	drop := hook(func(int) *hookOp {
		return &hookOp{process: func(b *types.Batch, _ exec.Collector) error { b.Release(); return nil }}
	})
	return &exec.JobGraph{Vertices: []exec.Vertex{
		{Name: "fast", Parallelism: 1, Source: func(int) (exec.Source, error) { return fast, nil },
			InTypes: kv, OutTypes: kv, Ops: []exec.OperatorFactory{assigner(0)}, Alignment: align},
		{Name: "slow", Parallelism: 1, Source: func(int) (exec.Source, error) { return slow, nil },
			InTypes: kv, OutTypes: kv, Ops: []exec.OperatorFactory{assigner(1)}, Alignment: align},
		{Name: "sink", Parallelism: 1, InTypes: kv,
			Inputs: []exec.Edge{{From: 0, Exchange: exec.Single}, {From: 1, Exchange: exec.Single}},
			Ops:    []exec.OperatorFactory{drop}},
	}}
}

// TestWatermarkAlignmentBoundsDrift: a fast source reads a batch only while
// its watermark is within the maximum drift of the slow one's; without
// alignment it runs far ahead (so the check can fail).
func TestWatermarkAlignmentBoundsDrift(t *testing.T) {
	exectest.CheckLeaks(t)
	one := exectest.MustParse(t, kv, "+I 1 a")
	const drift = 50 // µs of watermark
	for _, aligned := range []bool{true, false} {
		var wm [2]atomic.Int64
		var ahead, worst atomic.Int64
		onFast := func(prev int64) {
			// prev is the fast source's watermark before this batch; the
			// slow one's reported watermark must be within drift of it.
			if d := prev - wm[1].Load(); d > drift {
				ahead.Add(1)
				if d > worst.Load() {
					worst.Store(d)
				}
			}
		}
		var align *exec.WatermarkAlignment
		if aligned {
			align = &exec.WatermarkAlignment{Group: "g", MaxDrift: drift * time.Microsecond}
		}
		fast := &gatedSource{n: 60, one: one}
		slow := &gatedSource{n: 80, delay: time.Millisecond, one: one}
		if err := run(t, alignedJob(fast, slow, &wm, onFast, align), exec.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		if fast.i.Load() != 60 || slow.i.Load() != 80 {
			t.Fatalf("aligned=%v: read %d and %d batches, want 60 and 80", aligned, fast.i.Load(), slow.i.Load())
		}
		switch {
		case aligned && ahead.Load() != 0:
			t.Errorf("aligned: the fast source read %d batches more than %d ahead (worst %d)", ahead.Load(), drift, worst.Load())
		case !aligned && ahead.Load() == 0:
			t.Errorf("not aligned: the fast source never ran ahead; the test cannot tell")
		}
	}
}

// TestWatermarkAlignmentPausedSourceAnswersBarriers: a source paused for
// alignment (here behind a slow source that has not emitted any watermark
// yet, which holds the group back) still acknowledges a barrier; it reads
// on once the slow source moves.
func TestWatermarkAlignmentPausedSourceAnswersBarriers(t *testing.T) {
	exectest.CheckLeaks(t)
	one := exectest.MustParse(t, kv, "+I 1 a")
	var wm [2]atomic.Int64
	gate := make(chan struct{})
	fast := &gatedSource{n: 50, one: one}
	slow := &gatedSource{n: 5, one: one, gate: map[int]chan struct{}{0: gate}}
	acked := make(chan exec.Ack, 16)
	g := alignedJob(fast, slow, &wm, nil, &exec.WatermarkAlignment{Group: "g", MaxDrift: 30 * time.Microsecond})
	job, err := exec.Run(context.Background(), g, exec.RunOptions{OnAck: func(a exec.Ack) { acked <- a }})
	if err != nil {
		t.Fatal(err)
	}
	// The fast source reads its first batch (it had no watermark yet), then
	// waits for the slow one, which is still starting.
	deadline := time.Now().Add(5 * time.Second)
	for fast.i.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if n := fast.i.Load(); n != 1 {
		t.Fatalf("the fast source read %d batches before the slow one emitted a watermark, want 1", n)
	}
	job.InjectBarrier(exec.Barrier{CheckpointID: 1})
	select {
	case a := <-acked:
		if a.Vertex != 0 || a.CheckpointID != 1 {
			t.Fatalf("first ack %+v, want the fast source's for checkpoint 1", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the paused source did not acknowledge the barrier")
	}
	close(gate)
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	if fast.i.Load() != 50 || slow.i.Load() != 5 {
		t.Fatalf("read %d and %d batches, want 50 and 5 (an ended source holds no one back)", fast.i.Load(), slow.i.Load())
	}
}

// TestWatermarkAlignmentIdleSourceDoesNotHoldBack: a source with nothing to
// read (empty batches) does not hold the group back.
func TestWatermarkAlignmentIdleSourceDoesNotHoldBack(t *testing.T) {
	exectest.CheckLeaks(t)
	one := exectest.MustParse(t, kv, "+I 1 a")
	var wm [2]atomic.Int64
	fast := &gatedSource{n: 40, one: one}
	idle := &exectest.Source{Unbounded: true}
	g := alignedJob(fast, idle, &wm, nil, &exec.WatermarkAlignment{Group: "g", MaxDrift: time.Microsecond})
	job, err := exec.Run(context.Background(), g, exec.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for fast.i.Load() < 40 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	job.Cancel()
	if err := job.Wait(); !errors.Is(err, exec.ErrCancelled) {
		t.Fatalf("Wait: %v, want cancelled", err)
	}
	if n := fast.i.Load(); n != 40 {
		t.Fatalf("the fast source read %d of 40 batches beside an idle source", n)
	}
}

func TestWatermarkAlignmentValidate(t *testing.T) {
	one := exectest.MustParse(t, kv, "+I 1 a")
	var wm [2]atomic.Int64
	for _, a := range []*exec.WatermarkAlignment{{Group: "", MaxDrift: time.Second}, {Group: "g"}} {
		g := alignedJob(&gatedSource{n: 1, one: one}, &gatedSource{n: 1, one: one}, &wm, nil, a)
		if _, err := exec.Run(context.Background(), g, exec.RunOptions{}); !errors.Is(err, exec.ErrInvalidGraph) {
			t.Errorf("%+v: Run error %v, want ErrInvalidGraph", *a, err)
		}
	}
}
