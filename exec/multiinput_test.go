package exec_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

var (
	kd     = []types.Type{types.BigInt, types.Double}               // right input
	tagged = []types.Type{types.BigInt, types.BigInt, types.String} // input, key, text
)

// tagOp is a two-input test operator: it emits (input, key, text) for every
// row, and (input, -1, "end") when an input ends. It checks the runtime's
// calling rules and records what it saw.
type tagOp struct {
	t        *testing.T
	parallel int
	subtask  int
	rec      *tagRecord

	tc       *exec.TaskContext
	ended    [2]bool
	finished bool
	wms      []int64
}

// tagRecord collects what every subtask of tagOp observed.
type tagRecord struct {
	mu       sync.Mutex
	errs     []error
	finishes int
	wms      map[int][]int64 // subtask → watermarks seen
	tcs      map[int]*exec.TaskContext
}

func (r *tagRecord) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Errorf(format, args...))
}

func (o *tagOp) Open(tc *exec.TaskContext) error {
	o.tc = tc
	o.rec.mu.Lock()
	o.rec.tcs[o.subtask] = tc
	o.rec.mu.Unlock()
	return nil
}

func (o *tagOp) Process(b *types.Batch, out exec.Collector) error {
	b.Release()
	return errors.New("Process called on a MultiInputOperator")
}

func (o *tagOp) ProcessInput(input int, b *types.Batch, out exec.Collector) error {
	defer b.Release()
	if input < 0 || input > 1 || o.ended[input] || o.finished {
		return fmt.Errorf("batch on input %d (ended %v, finished %v)", input, o.ended, o.finished)
	}
	want := [][]types.Type{kv, kd}[input]
	if len(b.Cols) != len(want) || !b.Cols[1].Type.Equal(want[1]) {
		return fmt.Errorf("input %d: batch of %d columns, column 1 %v", input, len(b.Cols), b.Cols[1].Type)
	}
	ob := types.NewBatch(tagged)
	for i := range b.Len() {
		k := b.Cols[0].I64[i]
		kg := exec.KeyGroup(exec.HashDatums([]types.Datum{types.IntDatum(k)}), o.tc.MaxParallelism)
		if owner := exec.SubtaskForKeyGroup(kg, o.parallel, o.tc.MaxParallelism); owner != o.subtask {
			o.rec.fail("input %d key %d in subtask %d, owner %d", input, k, o.subtask, owner)
		}
		var text string
		if input == 0 {
			text = b.Cols[1].Str[i]
		} else {
			text = fmt.Sprint(b.Cols[1].F64[i])
		}
		ob.AppendRow(types.Insert, []types.Datum{types.IntDatum(int64(input)), types.IntDatum(k), types.StringDatum(text)})
	}
	return out.Collect(ob)
}

func (o *tagOp) EndInput(input int, out exec.Collector) error {
	if o.ended[input] || o.finished {
		return fmt.Errorf("EndInput(%d) again or after Finish", input)
	}
	o.ended[input] = true
	ob := types.NewBatch(tagged)
	ob.AppendRow(types.Insert, []types.Datum{types.IntDatum(int64(input)), types.IntDatum(-1), types.StringDatum("end")})
	return out.Collect(ob)
}

func (o *tagOp) Finish(out exec.Collector) error {
	if !o.ended[0] || !o.ended[1] || o.finished {
		return fmt.Errorf("Finish with inputs ended %v, finished %v", o.ended, o.finished)
	}
	o.finished = true
	o.rec.mu.Lock()
	o.rec.finishes++
	o.rec.wms[o.subtask] = o.wms
	o.rec.mu.Unlock()
	return nil
}

func (o *tagOp) ProcessWatermark(wm int64, out exec.Collector) (int64, error) {
	o.wms = append(o.wms, wm)
	return wm, nil
}

// emitWatermarkAtFinish is a source-side operator that emits watermark wm
// after its source's last batch.
func emitWatermarkAtFinish(wm int64) exec.OperatorFactory {
	return hook(func(int) *hookOp {
		return &hookOp{finish: func(out exec.Collector) error {
			return out.(exec.WatermarkCollector).EmitWatermark(wm)
		}}
	})
}

func TestMultiInputByEdge(t *testing.T) {
	for _, par := range []int{1, 3} {
		t.Run(fmt.Sprint(par), func(t *testing.T) {
			exectest.CheckLeaks(t)
			st, err := state.Open("", state.Options{InMemory: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			left := kvRows(3000)
			var right [][]types.Datum
			for i := range 2000 {
				right = append(right, []types.Datum{types.IntDatum(int64(i * 2)), types.DoubleDatum(float64(i) + 0.5)})
			}
			rec := &tagRecord{wms: map[int][]int64{}, tcs: map[int]*exec.TaskContext{}}
			var sink rowSink
			var sinkTC sync.Map
			g := &exec.JobGraph{Vertices: []exec.Vertex{
				{Name: "left", Parallelism: 2, Source: ops.ValuesFactory(left), InTypes: kv, OutTypes: kv,
					Ops: []exec.OperatorFactory{emitWatermarkAtFinish(10)}},
				{Name: "right", Parallelism: 1, Source: ops.ValuesFactory(right), InTypes: kd, OutTypes: kd,
					Ops: []exec.OperatorFactory{emitWatermarkAtFinish(5)}},
				{Name: "tag", Parallelism: par, OutTypes: tagged,
					Inputs: []exec.Edge{
						{From: 0, Exchange: exec.Hash, KeyCols: []int{0}, Types: kv},
						{From: 1, Exchange: exec.Hash, KeyCols: []int{0}, Types: kd},
					},
					Ops: []exec.OperatorFactory{
						func(s int) (exec.Operator, error) {
							return &tagOp{t: t, parallel: par, subtask: s, rec: rec}, nil
						},
						hook(func(s int) *hookOp {
							return &hookOp{open: func(tc *exec.TaskContext) error {
								sinkTC.Store(s, tc)
								return nil
							}}
						}),
						sink.factory(),
					}},
			}}
			if err := run(t, g, exec.RunOptions{JobID: "j1", State: st, BatchSize: 100}); err != nil {
				t.Fatal(err)
			}
			for _, err := range rec.errs {
				t.Error(err)
			}
			if rec.finishes != par {
				t.Errorf("Finish called %d times, want %d", rec.finishes, par)
			}
			var want []string
			add := func(row ...types.Datum) {
				b := types.NewBatch(tagged)
				b.AppendRow(types.Insert, row)
				want = append(want, exectest.Format(b))
			}
			for _, r := range left {
				add(types.IntDatum(0), r[0], r[1])
			}
			for _, r := range right {
				add(types.IntDatum(1), r[0], types.StringDatum(fmt.Sprint(r[1].F)))
			}
			for range par {
				add(types.IntDatum(0), types.IntDatum(-1), types.StringDatum("end"))
				add(types.IntDatum(1), types.IntDatum(-1), types.StringDatum("end"))
			}
			slices.Sort(want)
			if got := sink.sorted(); !slices.Equal(got, want) {
				t.Fatalf("got %d rows, want %d\ngot:  %.10v\nwant: %.10v", len(got), len(want), got, want)
			}
			// Watermarks: the minimum over the inputs that have not ended:
			// 5 while the right input is open and the left has 10, 10 once
			// the right has ended (or only 10 when the right ended before
			// the left's watermark was complete); never anything else.
			for s, wms := range rec.wms {
				if !slices.Equal(wms, []int64{5}) && !slices.Equal(wms, []int64{5, 10}) && !slices.Equal(wms, []int64{10}) {
					t.Errorf("subtask %d saw watermarks %v, want [5], [5 10] or [10]", s, wms)
				}
			}
			// Each operator has its own TaskContext with its index, the
			// store and its own state namespace.
			for s := range par {
				tc0 := rec.tcs[s]
				v, _ := sinkTC.Load(s)
				tc1, _ := v.(*exec.TaskContext)
				if tc0 == nil || tc1 == nil || tc0 == tc1 {
					t.Fatalf("subtask %d: task contexts %p %p", s, tc0, tc1)
				}
				if tc0.OperatorIndex != 0 || tc1.OperatorIndex != 1 || tc0.State != st || tc1.State != st ||
					tc0.Subtask != s || tc0.VertexID != 2 || tc0.JobID != "j1" {
					t.Errorf("subtask %d: task contexts %+v, %+v", s, *tc0, *tc1)
				}
				if !slices.Equal(exec.StateNamespace(tc0), state.OperatorNamespace("j1", 2, 0)) ||
					slices.Equal(exec.StateNamespace(tc0), exec.StateNamespace(tc1)) {
					t.Errorf("subtask %d: namespaces %x, %x", s, exec.StateNamespace(tc0), exec.StateNamespace(tc1))
				}
			}
		})
	}
}

// TestMultiInputSameTypes checks that a MultiInputOperator over edges of
// the same types (nil Edge.Types) also gets ProcessInput with the edge
// index, and EndInput once per edge, not per upstream subtask.
func TestMultiInputSameTypes(t *testing.T) {
	exectest.CheckLeaks(t)
	var mu sync.Mutex
	counts := map[int]int{}
	ends := map[int]int{}
	g := &exec.JobGraph{Vertices: []exec.Vertex{
		{Name: "a", Parallelism: 3, Source: ops.ValuesFactory(kvRows(500)), InTypes: kv, OutTypes: kv},
		{Name: "b", Parallelism: 2, Source: ops.ValuesFactory(kvRows(700)), InTypes: kv, OutTypes: kv},
		{Name: "m", Parallelism: 1, InTypes: kv, OutTypes: kv,
			Inputs: []exec.Edge{{From: 0, Exchange: exec.Single}, {From: 1, Exchange: exec.Rebalance}},
			Ops: []exec.OperatorFactory{func(int) (exec.Operator, error) {
				return &countOp{mu: &mu, counts: counts, ends: ends}, nil
			}}},
	}}
	if err := run(t, g, exec.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if counts[0] != 500 || counts[1] != 700 || ends[0] != 1 || ends[1] != 1 || len(counts) != 2 {
		t.Fatalf("rows by input %v, ends %v", counts, ends)
	}
}

type countOp struct {
	mu     *sync.Mutex
	counts map[int]int
	ends   map[int]int
}

func (o *countOp) Process(b *types.Batch, out exec.Collector) error {
	b.Release()
	return errors.New("Process called")
}

func (o *countOp) ProcessInput(input int, b *types.Batch, out exec.Collector) error {
	o.mu.Lock()
	o.counts[input] += b.Len()
	o.mu.Unlock()
	b.Release()
	return nil
}

func (o *countOp) EndInput(input int, out exec.Collector) error {
	o.mu.Lock()
	o.ends[input]++
	o.mu.Unlock()
	return nil
}

func TestMultiInputValidation(t *testing.T) {
	src := ops.ValuesFactory(nil)
	var closed atomic.Int32
	plain := hook(func(int) *hookOp { return &hookOp{closed: &closed} })
	mixed := func(ops ...exec.OperatorFactory) []exec.Vertex {
		return []exec.Vertex{
			{Name: "a", Parallelism: 1, Source: src, InTypes: kv, OutTypes: kv},
			{Name: "b", Parallelism: 1, Source: src, InTypes: kd, OutTypes: kd},
			{Name: "j", Parallelism: 1, InTypes: kv, Inputs: []exec.Edge{{From: 0}, {From: 1, Types: kd}}, Ops: ops},
		}
	}
	for _, tc := range []struct {
		name string
		vs   []exec.Vertex
	}{
		{"mixed types, plain operator", mixed(plain)},
		{"mixed types, no operator", mixed()},
		{"types of another width", []exec.Vertex{
			{Name: "a", Parallelism: 1, Source: src, InTypes: kv, OutTypes: kv},
			{Name: "j", Parallelism: 1, Inputs: []exec.Edge{{From: 0, Types: tagged}}, Ops: []exec.OperatorFactory{plain}},
		}},
	} {
		_, err := exec.Run(context.Background(), &exec.JobGraph{Vertices: tc.vs}, exec.RunOptions{})
		if !errors.Is(err, exec.ErrInvalidGraph) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
	if closed.Load() != 1 {
		t.Errorf("the operator built to check the vertex was closed %d times, want 1", closed.Load())
	}
	// A factory error while checking is reported.
	boom := errors.New("boom")
	_, err := exec.Run(context.Background(), &exec.JobGraph{Vertices: mixed(func(int) (exec.Operator, error) { return nil, boom })}, exec.RunOptions{})
	if !errors.Is(err, boom) {
		t.Errorf("factory error: %v", err)
	}
	// State without a job id.
	st, err := state.Open("", state.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = exec.Run(context.Background(), &exec.JobGraph{Vertices: []exec.Vertex{
		{Name: "a", Parallelism: 1, Source: src, InTypes: kv, OutTypes: kv},
	}}, exec.RunOptions{State: st})
	if !errors.Is(err, exec.ErrInvalidGraph) {
		t.Errorf("State without JobID: err = %v", err)
	}
}

// TestOperatorKeyedState runs a counting operator that keeps its counts in
// KeyedState under its StateNamespace, at parallelism 2 behind a hash
// exchange, and checks the counts it emits at Finish and what is left in
// the store.
func TestOperatorKeyedState(t *testing.T) {
	exectest.CheckLeaks(t)
	st, err := state.Open(t.TempDir(), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var rows [][]types.Datum
	for i := range 5000 {
		rows = append(rows, []types.Datum{types.IntDatum(int64(i % 300)), types.StringDatum("x")})
	}
	var sink rowSink
	g := &exec.JobGraph{Vertices: []exec.Vertex{
		{Name: "src", Parallelism: 2, Source: ops.ValuesFactory(rows), InTypes: kv, OutTypes: kv},
		{Name: "count", Parallelism: 2, InTypes: kv, OutTypes: kv,
			Inputs: []exec.Edge{{From: 0, Exchange: exec.Hash, KeyCols: []int{0}}},
			Ops:    []exec.OperatorFactory{func(int) (exec.Operator, error) { return &stateCountOp{}, nil }, sink.factory()}},
	}}
	if err := run(t, g, exec.RunOptions{JobID: "count-job", State: st}); err != nil {
		t.Fatal(err)
	}
	var want [][]types.Datum
	for k := range 300 {
		n := 5000 / 300
		if k < 5000%300 {
			n++
		}
		want = append(want, []types.Datum{types.IntDatum(int64(k)), types.StringDatum(fmt.Sprint(n))})
	}
	expectRows(t, &sink, want)
	// Both subtasks flushed into the operator's one namespace.
	n := 0
	ks := state.NewKeyedState[int64](st, state.OperatorNamespace("count-job", 1, 0), state.Int64Codec{}, 10)
	if err := ks.Scan(func(int, []byte, int64) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 300 {
		t.Fatalf("%d keys in the store, want 300", n)
	}
}

// stateCountOp counts rows per key (column 0) in keyed state with a small
// cache, and emits (key, count) at Finish.
type stateCountOp struct {
	tc  *exec.TaskContext
	ks  *state.KeyedState[int64]
	key []byte
}

func (o *stateCountOp) Open(tc *exec.TaskContext) error {
	if tc.State == nil {
		return errors.New("no state")
	}
	o.tc = tc
	o.ks = state.NewKeyedState[int64](tc.State, exec.StateNamespace(tc), state.Int64Codec{}, 50)
	return nil
}

func (o *stateCountOp) Process(b *types.Batch, out exec.Collector) error {
	defer b.Release()
	for i := range b.Len() {
		k := b.Cols[0].I64[i]
		kg := exec.KeyGroup(exec.HashDatums([]types.Datum{types.IntDatum(k)}), o.tc.MaxParallelism)
		o.key = state.EncodeKeyColumns(o.key[:0], b, []int{0}, i)
		n, _, err := o.ks.Get(kg, o.key)
		if err != nil {
			return err
		}
		if err := o.ks.Put(kg, o.key, n+1); err != nil {
			return err
		}
	}
	return nil
}

func (o *stateCountOp) Finish(out exec.Collector) error {
	ob := types.NewBatch(kv)
	first, last := exec.KeyGroupRange(o.tc.Subtask, o.tc.Parallelism, o.tc.MaxParallelism)
	err := o.ks.ScanKeyGroups(first, last, func(kg int, key []byte, n int64) error {
		ds, _, err := state.DecodeKey(key, []types.Type{types.BigInt}, nil)
		if err != nil {
			return err
		}
		ob.AppendRow(types.Insert, []types.Datum{ds[0], types.StringDatum(fmt.Sprint(n))})
		return nil
	})
	if err != nil {
		ob.Release()
		return err
	}
	if err := o.ks.Flush(); err != nil {
		ob.Release()
		return err
	}
	return out.Collect(ob)
}
