package ops_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// winStep is one step of a window aggregate's input: a batch of rows, or
// a watermark when rows is empty.
type winStep struct {
	rows [][3]int64 // k, ts, v
	wm   int64
}

// winScript returns a random input of keys keys over about span
// microseconds of event time: batches of rows, mostly in time order, some
// of them late, each followed by a watermark 3 s behind the newest row.
func winScript(seed uint64, keys, batches int, span int64) []winStep {
	r := rand.New(rand.NewPCG(seed, 7))
	var steps []winStep
	newest := day0
	for b := range batches {
		var rows [][3]int64
		for range 1 + r.IntN(40) {
			ts := day0 + span*int64(b)/int64(batches) + r.Int64N(2*sec)
			if r.IntN(20) == 0 {
				ts -= 4*sec + r.Int64N(8*sec) // probably late
			}
			newest = max(newest, ts)
			rows = append(rows, [3]int64{int64(r.IntN(keys)), ts, int64(r.IntN(100))})
		}
		steps = append(steps, winStep{rows: rows}, winStep{wm: newest - 3*sec})
	}
	return steps
}

func (s winStep) batch() *types.Batch {
	b := types.NewBatch(winIn)
	for _, r := range s.rows {
		b.AppendRow(types.Insert, []types.Datum{types.IntDatum(r[0]), {Type: types.Timestamp, I: r[1]}, types.IntDatum(r[2])})
	}
	return b
}

// winRow is one output row of countSum.
type winRow struct{ k, start, end, count, sum int64 }

func winRowsOf(bs []*types.Batch) []winRow {
	var rows []winRow
	for _, b := range bs {
		for i := range b.Len() {
			g := func(c int) int64 { return exectest.Get(&b.Cols[c], i).I }
			rows = append(rows, winRow{g(0), g(1), g(2), g(4), g(5)})
		}
	}
	return rows
}

// winRun drives a WindowAgg with spec through steps. open returns the task
// context of each operator; restoreAfter, when >= 0, checkpoints the
// operator after that step, closes it and continues with a new one
// restored from the state (which is first given the last watermark
// again). It returns the rows in the order emitted and the late rows
// counted.
func winRun(t *testing.T, spec ops.WindowAggSpec, steps []winStep, open func() *exec.TaskContext, restoreAfter int) ([]winRow, int64) {
	t.Helper()
	start := func() *ops.WindowAgg {
		op, err := ops.NewWindowAgg(spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := op.Open(open()); err != nil {
			t.Fatal(err)
		}
		return op
	}
	op := start()
	var out exectest.Output
	late := int64(0)
	wm := int64(0)
	for i, s := range steps {
		var err error
		if len(s.rows) > 0 {
			err = op.Process(s.batch(), &out)
		} else {
			wm = s.wm
			_, err = op.ProcessWatermark(wm, &out)
		}
		if err != nil {
			t.Fatal(err)
		}
		if i == restoreAfter {
			if _, err := op.Snapshot(1); err != nil {
				t.Fatal(err)
			}
			late += op.LateRows()
			if err := op.Close(); err != nil {
				t.Fatal(err)
			}
			op = start()
			if _, err := op.ProcessWatermark(wm, &out); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := op.Finish(&out); err != nil {
		t.Fatal(err)
	}
	if _, err := op.Snapshot(2); err != nil {
		t.Fatal(err)
	}
	late += op.LateRows()
	if err := op.Close(); err != nil {
		t.Fatal(err)
	}
	return winRowsOf(out.Batches), late
}

// winOracle computes countSum's rows for steps directly: every window
// containing a row that is not late, late rows being those whose first
// window ends at or before the watermark + 1 µs when they arrive.
func winOracle(w ops.WindowSpec, steps []winStep) ([]winRow, int64) {
	type wk struct{ k, start, end int64 }
	acc := map[wk]*winRow{}
	wm, late := int64(-1<<63), int64(0)
	for _, s := range steps {
		if len(s.rows) == 0 {
			wm = max(wm, s.wm)
			continue
		}
		for _, r := range s.rows {
			var wins [][2]int64
			ts := r[1]
			switch w.Kind {
			case ops.WindowTumble:
				st := ts - mod(ts-w.Offset, w.Size)
				wins = append(wins, [2]int64{st, st + w.Size})
			case ops.WindowHop:
				for st := ts - mod(ts-w.Offset, w.Slide); st > ts-w.Size; st -= w.Slide {
					wins = append(wins, [2]int64{st, st + w.Size})
				}
			case ops.WindowCumulate:
				st := ts - mod(ts-w.Offset, w.Size)
				for e := ts - mod(ts-w.Offset, w.Slide) + w.Slide; e <= st+w.Size; e += w.Slide {
					wins = append(wins, [2]int64{st, e})
				}
			}
			if len(wins) == 0 {
				continue
			}
			first := wins[0][1]
			for _, x := range wins {
				first = min(first, x[1])
			}
			if first-1 <= wm {
				late++
				continue
			}
			for _, x := range wins {
				key := wk{r[0], x[0], x[1]}
				a := acc[key]
				if a == nil {
					a = &winRow{k: r[0], start: x[0], end: x[1]}
					acc[key] = a
				}
				a.count++
				a.sum += r[2]
			}
		}
	}
	var rows []winRow
	for _, a := range acc {
		rows = append(rows, *a)
	}
	return rows, late
}

func mod(a, b int64) int64 { return (a%b + b) % b }

func sortWinRows(rows []winRow) []winRow {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b winRow) int {
		if c := a.k - b.k; c != 0 {
			return int(max(-1, min(1, c)))
		}
		if a.end != b.end {
			return int(max(-1, min(1, a.end-b.end)))
		}
		return int(max(-1, min(1, a.start-b.start)))
	})
	return rows
}

// checkKeyOrder fails unless each key's windows come out in increasing
// order of end.
func checkKeyOrder(t *testing.T, what string, rows []winRow) {
	t.Helper()
	last := map[int64]int64{}
	for _, r := range rows {
		if e, ok := last[r.k]; ok && r.end <= e {
			t.Errorf("%s: key %d: window ending %d after one ending %d", what, r.k, r.end, e)
			return
		}
		last[r.k] = r.end
	}
}

// stateEntries returns the number of keyed state entries of the operator
// of tc.
func stateEntries(t *testing.T, tc *exec.TaskContext) int {
	t.Helper()
	ks := state.NewKeyedState[[]byte](tc.State, exec.StateNamespace(tc), rawBytes{}, 1)
	n := 0
	if err := ks.Scan(func(int, []byte, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// rawBytes is a state.Codec of bytes as they are.
type rawBytes struct{}

func (rawBytes) Encode(dst, v []byte) []byte     { return append(dst, v...) }
func (rawBytes) Decode(b []byte) ([]byte, error) { return slices.Clone(b), nil }

func newTestStore(t *testing.T) *state.Store {
	t.Helper()
	st, err := state.Open("", state.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestWindowAggFiringMatchesOracle runs many keys with windows firing
// several at a time (watermarks that jump, and Finish) in memory, in keyed
// state with a cache of a few keys (so that state is evicted to the store
// and read back while firing), and in keyed state with a checkpoint and a
// restore in the middle: all three give the rows of the oracle, each key's
// windows in increasing order of end, and count the same late rows.
func TestWindowAggFiringMatchesOracle(t *testing.T) {
	for _, w := range []ops.WindowSpec{
		{Kind: ops.WindowHop, Slide: 2 * sec, Size: 10 * sec},
		{Kind: ops.WindowHop, Slide: 4 * sec, Size: 10 * sec, Offset: sec},
		{Kind: ops.WindowHop, Slide: 5 * sec, Size: 3 * sec}, // gaps between windows
		{Kind: ops.WindowTumble, Size: 5 * sec},
		{Kind: ops.WindowCumulate, Slide: 2 * sec, Size: 8 * sec},
	} {
		t.Run(w.String(), func(t *testing.T) {
			steps := winScript(uint64(w.Size+w.Slide), 300, 60, 60*sec)
			// Watermarks jump: drop half of them, so that several window
			// ends are due at once.
			for i := 3; i < len(steps); i += 4 {
				steps[i].wm = steps[i-2].wm
			}
			want, wantLate := winOracle(w, steps)
			if len(want) < 500 || wantLate == 0 {
				t.Fatalf("weak script: %d windows, %d late rows", len(want), wantLate)
			}
			st := newTestStore(t)
			vertex := 0
			keyed := func() func() *exec.TaskContext {
				vertex++
				v := vertex
				return func() *exec.TaskContext {
					return &exec.TaskContext{Ctx: context.Background(), JobID: "window-fire", VertexID: v,
						Parallelism: 1, MaxParallelism: 128, State: st}
				}
			}
			mem := func() *exec.TaskContext { return exectest.TaskContext(context.Background()) }
			for _, run := range []struct {
				name    string
				open    func() *exec.TaskContext
				cache   int
				restore int
			}{
				{"memory", mem, 0, -1},
				{"keyed", keyed(), 0, -1},
				{"tiny cache", keyed(), 4, -1},
				{"restored", keyed(), 4, len(steps) / 2},
				{"restored early", keyed(), 0, 9},
			} {
				spec := countSum(w)
				spec.CacheEntries = run.cache
				got, late := winRun(t, spec, steps, run.open, run.restore)
				checkKeyOrder(t, run.name, got)
				if g, w := sortWinRows(got), sortWinRows(want); !slices.Equal(g, w) {
					t.Errorf("%s: %d rows, want %d\n%s", run.name, len(g), len(w), winRowsDiff(g, w))
				}
				if late != wantLate {
					t.Errorf("%s: %d late rows, want %d", run.name, late, wantLate)
				}
				if tc := run.open(); tc.State != nil {
					if n := stateEntries(t, tc); n != 0 {
						t.Errorf("%s: %d state entries left after Finish", run.name, n)
					}
				}
			}
		})
	}
}

// winRowsDiff prints the first rows that differ between sorted got and
// want.
func winRowsDiff(got, want []winRow) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = fmt.Sprint(got[i])
		}
		if i < len(want) {
			w = fmt.Sprint(want[i])
		}
		if g != w {
			return fmt.Sprintf("row %d: got %s, want %s", i, g, w)
		}
	}
	return ""
}

// TestWindowAggRestoredKeyDropsLateRows: after a restore, before any
// watermark, a row of a key whose window containing the row fired before
// the checkpoint is late: dropped and counted, not fired again.
func TestWindowAggRestoredKeyDropsLateRows(t *testing.T) {
	st := newTestStore(t)
	tc := func() *exec.TaskContext {
		return &exec.TaskContext{Ctx: context.Background(), JobID: "window-late", Parallelism: 1, MaxParallelism: 128, State: st}
	}
	spec := countSum(ops.WindowSpec{Kind: ops.WindowHop, Slide: 5 * sec, Size: 10 * sec})
	d := newWinDriver(t, spec, tc())
	d.rows("+I 1 @1 1 / +I 1 @6 2")
	d.watermark(day0 + 5*sec - 1)
	d.expect(`+I 1 @-5 @5 @4.999 1 1`)
	if _, err := d.op.Snapshot(1); err != nil {
		t.Fatal(err)
	}
	if err := d.op.Close(); err != nil {
		t.Fatal(err)
	}
	r := newWinDriver(t, spec, tc())
	r.rows("+I 1 @2 100 / +I 1 @7 4")
	if n := r.op.LateRows(); n != 1 {
		t.Errorf("LateRows = %d, want 1", n)
	}
	r.finish()
	r.expect(`
		+I 1 @0 @10 @9.999 3 7
		+I 1 @5 @15 @14.999 2 6`)
}
