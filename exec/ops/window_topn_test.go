package ops_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// Window Top-N and window join tests use windowed rows (k BIGINT,
// window_start, window_end, v BIGINT), with times in the "@N" notation of
// the window tests.

var wrIn = []types.Type{types.BigInt, ops.WindowTimeType, ops.WindowTimeType, types.BigInt}

var wtnOut = append(append([]types.Type(nil), wrIn...), types.BigInt)

// wtnSpec ranks by v DESC per (k, window), keeping n rows.
func wtnSpec(n int64) ops.WindowTopNSpec {
	return ops.WindowTopNSpec{PartitionCols: []int{0, 1, 2}, WindowEnd: 2, Order: []ops.SortKey{ops.Desc(3)},
		N: n, InTypes: wrIn, WithRank: true}
}

type wtnDriver struct {
	t   *testing.T
	op  *ops.WindowTopN
	out exectest.Output
}

func newWTNDriver(t *testing.T, spec ops.WindowTopNSpec, tc *exec.TaskContext) *wtnDriver {
	t.Helper()
	op, err := ops.NewWindowTopN(spec)
	if err != nil {
		t.Fatal(err)
	}
	if tc == nil {
		tc = exectest.TaskContext(context.Background())
	}
	if err := op.Open(tc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = op.Close() })
	return &wtnDriver{t: t, op: op}
}

func (d *wtnDriver) rows(text string) {
	d.t.Helper()
	if err := d.op.Process(parse(d.t, wrIn, at(text)), &d.out); err != nil {
		d.t.Fatal(err)
	}
}

func (d *wtnDriver) watermark(us int64) {
	d.t.Helper()
	fwd, err := d.op.ProcessWatermark(us, &d.out)
	if err != nil {
		d.t.Fatal(err)
	}
	if fwd != us {
		d.t.Errorf("forwarded watermark %d, want %d", fwd, us)
	}
}

func (d *wtnDriver) finish() {
	d.t.Helper()
	if err := d.op.Finish(&d.out); err != nil {
		d.t.Fatal(err)
	}
}

// expect checks the rows emitted since the last expect, in order.
func (d *wtnDriver) expect(want string) {
	d.t.Helper()
	got := exectest.FormatAll(d.out.Batches)
	if w := exectest.Canonical(d.t, wtnOut, at(want)); got != w {
		d.t.Errorf("rows:\n%s\nwant:\n%s", got, w)
	}
	d.out.Batches = nil
}

func TestWindowTopN(t *testing.T) {
	d := newWTNDriver(t, wtnSpec(2), nil)
	d.rows("+I 1 @0 @10 5 / +I 1 @0 @10 9 / +I 2 @0 @10 3 / +I 1 @0 @10 1 / +I 1 @10 @20 4")
	d.rows("+I 1 @0 @10 7")
	// Nothing before the window is complete (end - 1 µs).
	d.watermark(day0 + 10*sec - 2)
	d.expect("")
	d.watermark(day0 + 10*sec - 1)
	d.expect("+I 1 @0 @10 9 1 / +I 1 @0 @10 7 2 / +I 2 @0 @10 3 1")
	// A row of a fired window is late: dropped and counted.
	d.rows("+I 1 @0 @10 100 / +I 1 @10 @20 6")
	if n := d.op.LateRows(); n != 1 {
		t.Errorf("late rows %d, want 1", n)
	}
	if n, err := d.op.StateKeys(); err != nil || n != 1 {
		t.Errorf("state keys %d (%v), want 1", n, err)
	}
	d.finish()
	d.expect("+I 1 @10 @20 6 1 / +I 1 @10 @20 4 2")
	if n, err := d.op.StateKeys(); err != nil || n != 0 {
		t.Errorf("state keys %d (%v) after finish, want 0", n, err)
	}
}

func TestWindowTopNTiesAndNulls(t *testing.T) {
	// Rows tied on v rank by their other columns, whatever the arrival
	// order; NULLs sort last under DESC.
	for _, in := range []string{
		"+I 2 @0 @10 5 / +I 1 @0 @10 5 / +I 3 @0 @10 NULL",
		"+I 3 @0 @10 NULL / +I 1 @0 @10 5 / +I 2 @0 @10 5",
	} {
		spec := wtnSpec(3)
		spec.PartitionCols = []int{1, 2}
		d := newWTNDriver(t, spec, nil)
		d.rows(in)
		d.finish()
		d.expect("+I 1 @0 @10 5 1 / +I 2 @0 @10 5 2 / +I 3 @0 @10 NULL 3")
	}
	// rn = 1 without the rank column.
	spec := wtnSpec(1)
	spec.PartitionCols, spec.WithRank = []int{1, 2}, false
	spec.Order = []ops.SortKey{ops.Asc(3)}
	op, err := ops.NewWindowTopN(spec)
	if err != nil {
		t.Fatal(err)
	}
	out := drive(t, op, parse(t, wrIn, at("+I 1 @0 @10 5 / +I 2 @0 @10 4 / +I 3 @10 @20 9")))
	exectest.Expect(t, wrIn, out, at("+I 2 @0 @10 4 / +I 3 @10 @20 9"))
}

func TestWindowTopNRestore(t *testing.T) {
	st, err := state.Open("", state.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	tc := &exec.TaskContext{Ctx: context.Background(), JobID: "window-topn-test", Parallelism: 1, MaxParallelism: 128, State: st}
	d := newWTNDriver(t, wtnSpec(2), tc)
	d.rows("+I 1 @0 @10 5 / +I 1 @0 @10 9 / +I 1 @10 @20 4 / +I 1 @0 @10 7")
	d.watermark(day0 + 10*sec - 1)
	d.expect("+I 1 @0 @10 9 1 / +I 1 @0 @10 7 2")
	d.rows("+I 1 @10 @20 8")
	if _, err := d.op.Snapshot(1); err != nil {
		t.Fatal(err)
	}
	if err := d.op.Close(); err != nil {
		t.Fatal(err)
	}
	// The restored operator fires the open window only, with its rows.
	r := newWTNDriver(t, wtnSpec(2), tc)
	r.rows("+I 1 @10 @20 6")
	r.finish()
	r.expect("+I 1 @10 @20 8 1 / +I 1 @10 @20 6 2")
}

func TestWindowTopNRejects(t *testing.T) {
	op, err := ops.NewWindowTopN(wtnSpec(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Process(parse(t, wrIn, at("-D 1 @0 @10 5")), &exectest.Output{}); err == nil {
		t.Error("a retraction was accepted")
	}
	_ = op.Close()
	for name, mod := range map[string]func(*ops.WindowTopNSpec){
		"n":         func(s *ops.WindowTopNSpec) { s.N = 0 },
		"partition": func(s *ops.WindowTopNSpec) { s.PartitionCols = []int{0, 1} },
		"end type":  func(s *ops.WindowTopNSpec) { s.WindowEnd, s.PartitionCols = 3, []int{3} },
		"order":     func(s *ops.WindowTopNSpec) { s.Order = []ops.SortKey{ops.Asc(9)} },
	} {
		spec := wtnSpec(2)
		mod(&spec)
		if _, err := ops.NewWindowTopN(spec); !errors.Is(err, ops.ErrWindowSpec) {
			t.Errorf("%s: error %v, want ErrWindowSpec", name, err)
		}
	}
}
