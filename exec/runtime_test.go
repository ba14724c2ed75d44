package exec_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
)

var kv = []types.Type{types.BigInt, types.String}

// kvRows returns n rows (i, "v<i>").
func kvRows(n int) [][]types.Datum {
	rows := make([][]types.Datum, n)
	for i := range rows {
		rows[i] = []types.Datum{types.IntDatum(int64(i)), types.StringDatum(fmt.Sprintf("v%d", i))}
	}
	return rows
}

// hookOp is a test operator whose behaviour is given by optional hooks; by
// default it passes batches on.
type hookOp struct {
	open      func(tc *exec.TaskContext) error
	process   func(b *types.Batch, out exec.Collector) error
	finish    func(out exec.Collector) error
	watermark func(wm int64, out exec.Collector) (int64, error)
	snapshot  func(id int64) error
	complete  func(id int64) error
	closed    *atomic.Int32
}

func (h *hookOp) Open(tc *exec.TaskContext) error {
	if h.open != nil {
		return h.open(tc)
	}
	return nil
}

func (h *hookOp) Process(b *types.Batch, out exec.Collector) error {
	if h.process != nil {
		return h.process(b, out)
	}
	return out.Collect(b)
}

func (h *hookOp) Finish(out exec.Collector) error {
	if h.finish != nil {
		return h.finish(out)
	}
	return nil
}

func (h *hookOp) ProcessWatermark(wm int64, out exec.Collector) (int64, error) {
	if h.watermark != nil {
		return h.watermark(wm, out)
	}
	return wm, nil
}

func (h *hookOp) Snapshot(id int64) ([]byte, error) {
	if h.snapshot != nil {
		return nil, h.snapshot(id)
	}
	return nil, nil
}

func (h *hookOp) NotifyCheckpointComplete(id int64) error {
	if h.complete != nil {
		return h.complete(id)
	}
	return nil
}

func (h *hookOp) Close() error {
	if h.closed != nil {
		h.closed.Add(1)
	}
	return nil
}

func hook(f func(subtask int) *hookOp) exec.OperatorFactory {
	return func(s int) (exec.Operator, error) { return f(s), nil }
}

// rowSink collects the rows of a job as notation lines.
type rowSink struct {
	mu   sync.Mutex
	rows []string
}

func (s *rowSink) factory() exec.OperatorFactory {
	return ops.CollectFunc(func(b *types.Batch) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if b.Len() > 0 {
			s.rows = append(s.rows, strings.Split(exectest.Format(b), "\n")...)
		}
		b.Release()
		return nil
	})
}

func (s *rowSink) sorted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.rows)
	slices.Sort(out)
	return out
}

func expectRows(t *testing.T, sink *rowSink, rows [][]types.Datum) {
	t.Helper()
	var want []string
	for _, r := range rows {
		b := types.NewBatch(kv)
		b.AppendRow(types.Insert, r)
		want = append(want, exectest.Format(b))
	}
	slices.Sort(want)
	got := sink.sorted()
	if !slices.Equal(got, want) {
		t.Fatalf("got %d rows, want %d\ngot:  %.10v\nwant: %.10v", len(got), len(want), got, want)
	}
}

func run(t *testing.T, g *exec.JobGraph, opts exec.RunOptions) error {
	t.Helper()
	job, err := exec.Run(context.Background(), g, opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return job.Wait()
}

func TestRunSingleVertex(t *testing.T) {
	exectest.CheckLeaks(t)
	var sink rowSink
	rows := kvRows(3000)
	g := &exec.JobGraph{Vertices: []exec.Vertex{{
		Name: "values", Parallelism: 2, Source: ops.ValuesFactory(rows), InTypes: kv, OutTypes: kv,
		Ops: []exec.OperatorFactory{sink.factory()},
	}}}
	var finished atomic.Int32
	if err := run(t, g, exec.RunOptions{OnSubtaskFinished: func(v, s int) { finished.Add(1) }}); err != nil {
		t.Fatal(err)
	}
	expectRows(t, &sink, rows)
	if finished.Load() != 2 {
		t.Errorf("%d subtasks reported finishing, want 2", finished.Load())
	}
}

func TestExchanges(t *testing.T) {
	for _, tc := range []struct {
		ex       exec.ExchangeKind
		up, down int
		copies   int // how many times each row arrives
	}{
		{exec.Forward, 3, 3, 1},
		{exec.Hash, 3, 4, 1},
		{exec.Hash, 2, 1, 1},
		{exec.Rebalance, 2, 3, 1},
		{exec.Single, 3, 1, 1},
		{exec.Broadcast, 2, 3, 3},
	} {
		t.Run(fmt.Sprintf("%v_%d_%d", tc.ex, tc.up, tc.down), func(t *testing.T) {
			exectest.CheckLeaks(t)
			rows := kvRows(5000)
			var sink rowSink
			var mu sync.Mutex
			owner := map[int64]int{} // Hash: key → subtask that saw it
			check := hook(func(s int) *hookOp {
				return &hookOp{process: func(b *types.Batch, out exec.Collector) error {
					mu.Lock()
					defer mu.Unlock()
					for i := range b.Len() {
						k := b.Cols[0].I64[i]
						if o, ok := owner[k]; ok && o != s && tc.ex == exec.Hash {
							return fmt.Errorf("key %d in subtasks %d and %d", k, o, s)
						}
						owner[k] = s
						if tc.ex == exec.Hash {
							kg := exec.KeyGroup(exec.HashDatums([]types.Datum{types.IntDatum(k)}), 128)
							if want := exec.SubtaskForKeyGroup(kg, tc.down, 128); want != s {
								return fmt.Errorf("key %d in subtask %d, key group owner %d", k, s, want)
							}
						}
					}
					return out.Collect(b)
				}}
			})
			g := &exec.JobGraph{Vertices: []exec.Vertex{
				{Name: "values", Parallelism: tc.up, Source: ops.ValuesFactory(rows), InTypes: kv, OutTypes: kv},
				{Name: "sink", Parallelism: tc.down, InTypes: kv, OutTypes: kv,
					Inputs: []exec.Edge{{From: 0, Exchange: tc.ex, KeyCols: []int{0}}},
					Ops:    []exec.OperatorFactory{check, sink.factory()}},
			}}
			if err := run(t, g, exec.RunOptions{BatchSize: 100}); err != nil {
				t.Fatal(err)
			}
			var want [][]types.Datum
			for range tc.copies {
				want = append(want, rows...)
			}
			expectRows(t, &sink, want)
		})
	}
}

func TestUnionAndFanOut(t *testing.T) {
	exectest.CheckLeaks(t)
	a, b := kvRows(700), kvRows(1300)[700:]
	var left, right rowSink
	g := &exec.JobGraph{Vertices: []exec.Vertex{
		{Name: "a", Parallelism: 2, Source: ops.ValuesFactory(a), InTypes: kv, OutTypes: kv},
		{Name: "b", Parallelism: 1, Source: ops.ValuesFactory(b), InTypes: kv, OutTypes: kv},
		{Name: "union", Parallelism: 2, InTypes: kv, OutTypes: kv,
			Inputs: []exec.Edge{{From: 0, Exchange: exec.Forward}, {From: 1, Exchange: exec.Rebalance}}},
		{Name: "left", Parallelism: 1, InTypes: kv, Inputs: []exec.Edge{{From: 2, Exchange: exec.Single}},
			Ops: []exec.OperatorFactory{left.factory()}},
		{Name: "right", Parallelism: 3, InTypes: kv, Inputs: []exec.Edge{{From: 2, Exchange: exec.Hash, KeyCols: []int{1}}},
			Ops: []exec.OperatorFactory{right.factory()}},
	}}
	if err := run(t, g, exec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	all := append(slices.Clone(a), b...)
	expectRows(t, &left, all)
	expectRows(t, &right, all)
}

func TestFinishFlowsThroughRestOfChain(t *testing.T) {
	var sink rowSink
	var order []string
	var mu sync.Mutex
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	g := &exec.JobGraph{Vertices: []exec.Vertex{{
		Name: "v", Parallelism: 1, Source: ops.ValuesFactory(kvRows(1)), InTypes: kv,
		Ops: []exec.OperatorFactory{
			hook(func(int) *hookOp {
				return &hookOp{finish: func(out exec.Collector) error {
					note("finish 0")
					b := types.NewBatch(kv)
					b.AppendRow(types.Insert, []types.Datum{types.IntDatum(99), types.StringDatum("late")})
					return out.Collect(b)
				}}
			}),
			hook(func(int) *hookOp {
				return &hookOp{
					process: func(b *types.Batch, out exec.Collector) error {
						note(fmt.Sprintf("process 1: %d", b.Cols[0].I64[0]))
						return out.Collect(b)
					},
					finish: func(exec.Collector) error { note("finish 1"); return nil },
				}
			}),
			sink.factory(),
		},
	}}}
	if err := run(t, g, exec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"process 1: 0", "finish 0", "process 1: 99", "finish 1"}
	if !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
}

// longJob: an unbounded source (p=2) → middle vertex (p=2, hash) → sink.
func longJob(mid, sink exec.OperatorFactory, srcs ...*exectest.Source) *exec.JobGraph {
	one := types.NewBatch(kv)
	for _, r := range kvRows(64) {
		one.AppendRow(types.Insert, r)
	}
	for _, s := range srcs {
		if s.Batches == nil {
			s.Batches = []*types.Batch{one}
		}
	}
	return &exec.JobGraph{Vertices: []exec.Vertex{
		{Name: "source", Parallelism: len(srcs), Source: exectest.Sources(srcs...), InTypes: kv, OutTypes: kv},
		{Name: "Filter", Parallelism: 2, InTypes: kv, OutTypes: kv,
			Inputs: []exec.Edge{{From: 0, Exchange: exec.Hash, KeyCols: []int{0}}},
			Ops:    []exec.OperatorFactory{mid}},
		{Name: "sink", Parallelism: 1, InTypes: kv, Inputs: []exec.Edge{{From: 1, Exchange: exec.Single}},
			Ops: []exec.OperatorFactory{sink}},
	}}
}

func TestErrorInMiddleOperator(t *testing.T) {
	exectest.CheckLeaks(t)
	boom := errors.New("boom")
	var closed atomic.Int32
	var n atomic.Int32
	mid := hook(func(s int) *hookOp {
		return &hookOp{closed: &closed, process: func(b *types.Batch, out exec.Collector) error {
			if s == 1 && n.Add(1) > 20 {
				b.Release()
				return boom
			}
			return out.Collect(b)
		}}
	})
	srcs := []*exectest.Source{{Loop: true, Unbounded: true}, {Loop: true, Unbounded: true}}
	err := run(t, longJob(mid, ops.DiscardFactory(), srcs...), exec.RunOptions{})
	if !errors.Is(err, boom) || err.Error() != `vertex "Filter" subtask 1: boom` {
		t.Fatalf("err = %v", err)
	}
	if closed.Load() != 2 {
		t.Errorf("Close called %d times on 2 operators", closed.Load())
	}
	for i, s := range srcs {
		if s.Opened.Load() != 1 || s.Closed.Load() != 1 {
			t.Errorf("source %d opened %d closed %d", i, s.Opened.Load(), s.Closed.Load())
		}
	}
}

func TestPanicBecomesError(t *testing.T) {
	exectest.CheckLeaks(t)
	mid := hook(func(int) *hookOp {
		return &hookOp{process: func(*types.Batch, exec.Collector) error { panic("kaput") }}
	})
	err := run(t, longJob(mid, ops.DiscardFactory(), &exectest.Source{Loop: true, Limit: 10}), exec.RunOptions{})
	var pe *exec.PanicError
	if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), `vertex "Filter" subtask `) ||
		!strings.HasSuffix(err.Error(), "panic: kaput") || len(pe.Stack) == 0 {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenFailureStillCloses(t *testing.T) {
	exectest.CheckLeaks(t)
	var closed atomic.Int32
	g := &exec.JobGraph{Vertices: []exec.Vertex{{
		Name: "v", Parallelism: 1, Source: ops.ValuesFactory(kvRows(1)), InTypes: kv,
		Ops: []exec.OperatorFactory{
			hook(func(int) *hookOp {
				return &hookOp{closed: &closed, open: func(*exec.TaskContext) error { return errors.New("no") }}
			}),
			hook(func(int) *hookOp { return &hookOp{closed: &closed} }),
		},
	}}}
	err := run(t, g, exec.RunOptions{})
	if err == nil || err.Error() != `vertex "v" subtask 0: open operator 0: no` {
		t.Fatalf("err = %v", err)
	}
	if closed.Load() != 2 {
		t.Fatalf("closed %d operators, want 2", closed.Load())
	}
}

func TestCancelUnboundedJob(t *testing.T) {
	exectest.CheckLeaks(t)
	var sink rowSink
	srcs := []*exectest.Source{{Loop: true, Unbounded: true}, {Unbounded: true}}
	job, err := exec.Run(context.Background(), longJob(ops.DiscardFactory(), sink.factory(), srcs...), exec.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if job.Err() != nil {
		t.Fatalf("Err before end: %v", job.Err())
	}
	job.Cancel()
	if err := job.Wait(); !errors.Is(err, exec.ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	<-job.Done()
	if !errors.Is(job.Err(), exec.ErrCancelled) {
		t.Fatalf("Err = %v", job.Err())
	}
}

func TestCancelWhileBackPressured(t *testing.T) {
	exectest.CheckLeaks(t)
	consumer, stopConsumer := context.WithCancel(context.Background())
	defer stopConsumer()
	results := make(chan *types.Batch) // nobody reads: the job backs up
	src := &exectest.Source{Loop: true, Unbounded: true}
	job, err := exec.Run(context.Background(),
		longJob(hook(func(int) *hookOp { return &hookOp{} }), ops.CollectChan(consumer, results), src),
		exec.RunOptions{ChannelCapacity: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the source is stuck behind full channels.
	for last := int64(-1); ; {
		time.Sleep(20 * time.Millisecond)
		n := src.Emitted.Load()
		if n == last {
			break
		}
		last = n
	}
	job.Cancel()
	if err := job.Wait(); !errors.Is(err, exec.ErrCancelled) {
		t.Fatalf("err = %v", err)
	}
}

func TestConsumerGone(t *testing.T) {
	exectest.CheckLeaks(t)
	consumer, stopConsumer := context.WithCancel(context.Background())
	results := make(chan *types.Batch)
	pass := hook(func(int) *hookOp { return &hookOp{} })
	job, err := exec.Run(context.Background(),
		longJob(pass, ops.CollectChan(consumer, results), &exectest.Source{Loop: true, Unbounded: true}),
		exec.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	(<-results).Release()
	stopConsumer()
	if err := job.Wait(); !errors.Is(err, ops.ErrConsumerGone) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestParentContextCancels(t *testing.T) {
	exectest.CheckLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	job, err := exec.Run(ctx, longJob(ops.DiscardFactory(), ops.DiscardFactory(), &exectest.Source{Unbounded: true}), exec.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := job.Wait(); !errors.Is(err, exec.ErrCancelled) {
		t.Fatalf("err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	src := ops.ValuesFactory(nil)
	for _, tc := range []struct {
		name string
		vs   []exec.Vertex
	}{
		{"no vertices", nil},
		{"parallelism", []exec.Vertex{{Name: "a", Source: src}}},
		{"neither", []exec.Vertex{{Name: "a", Parallelism: 1}}},
		{"forward mismatch", []exec.Vertex{{Name: "a", Parallelism: 2, Source: src},
			{Name: "b", Parallelism: 1, Inputs: []exec.Edge{{From: 0}}}}},
		{"backward edge", []exec.Vertex{{Name: "a", Parallelism: 1, Inputs: []exec.Edge{{From: 1}}},
			{Name: "b", Parallelism: 1, Source: src}}},
		{"hash without keys", []exec.Vertex{{Name: "a", Parallelism: 1, Source: src, OutTypes: kv},
			{Name: "b", Parallelism: 1, Inputs: []exec.Edge{{From: 0, Exchange: exec.Hash}}}}},
		{"single with parallelism", []exec.Vertex{{Name: "a", Parallelism: 1, Source: src},
			{Name: "b", Parallelism: 2, Inputs: []exec.Edge{{From: 0, Exchange: exec.Single}}}}},
	} {
		_, err := exec.Run(context.Background(), &exec.JobGraph{Vertices: tc.vs}, exec.RunOptions{})
		if !errors.Is(err, exec.ErrInvalidGraph) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}
