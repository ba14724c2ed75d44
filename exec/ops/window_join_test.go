package ops_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// Window join tests join windowed rows (k, window_start, window_end, v) on
// k and the window.

func wjSpec(jt ops.JoinType) ops.WindowJoinSpec {
	return ops.WindowJoinSpec{Type: jt, LeftKeys: []int{0, 1, 2}, RightKeys: []int{0, 1, 2},
		LeftTypes: wrIn, RightTypes: wrIn, LeftEnd: 2, RightEnd: 2}
}

type wjDriver struct {
	t   *testing.T
	op  *ops.WindowJoin
	out exectest.Output
}

func newWJDriver(t *testing.T, spec ops.WindowJoinSpec, tc *exec.TaskContext) *wjDriver {
	t.Helper()
	op, err := ops.NewWindowJoin(spec)
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
	return &wjDriver{t: t, op: op}
}

func (d *wjDriver) rows(in int, text string) {
	d.t.Helper()
	if err := d.op.ProcessInput(in, parse(d.t, wrIn, at(text)), &d.out); err != nil {
		d.t.Fatal(err)
	}
}

func (d *wjDriver) watermark(us int64) {
	d.t.Helper()
	fwd, err := d.op.ProcessWatermark(us, &d.out)
	if err != nil {
		d.t.Fatal(err)
	}
	if fwd != us {
		d.t.Errorf("forwarded watermark %d, want %d", fwd, us)
	}
}

func (d *wjDriver) finish() {
	d.t.Helper()
	if err := d.op.Finish(&d.out); err != nil {
		d.t.Fatal(err)
	}
}

// expect checks the rows emitted since the last expect, in order.
func (d *wjDriver) expect(want string) {
	d.t.Helper()
	got := exectest.FormatAll(d.out.Batches)
	if w := exectest.Canonical(d.t, d.op.OutTypes(), at(want)); got != w {
		d.t.Errorf("rows:\n%s\nwant:\n%s", got, w)
	}
	d.out.Batches = nil
}

func TestWindowJoinInner(t *testing.T) {
	d := newWJDriver(t, wjSpec(ops.InnerJoin), nil)
	d.rows(0, "+I 1 @0 @10 10 / +I 2 @0 @10 20 / +I 1 @0 @10 11 / +I 1 @10 @20 12")
	d.rows(1, "+I 1 @0 @10 100 / +I 3 @0 @10 300 / +I 1 @10 @20 101")
	d.expect("")
	d.watermark(day0 + 10*sec - 1)
	d.expect("+I 1 @0 @10 10 1 @0 @10 100 / +I 1 @0 @10 11 1 @0 @10 100")
	// Rows of the fired window are late on either side.
	d.rows(1, "+I 2 @0 @10 200")
	d.rows(0, "+I 3 @0 @10 30")
	if n := d.op.LateRows(); n != 2 {
		t.Errorf("late rows %d, want 2", n)
	}
	if n, err := d.op.StateKeys(); err != nil || n != 1 {
		t.Errorf("state keys %d (%v), want 1", n, err)
	}
	d.finish()
	d.expect("+I 1 @10 @20 12 1 @10 @20 101")
}

func TestWindowJoinOuter(t *testing.T) {
	left := "+I 1 @0 @10 10 / +I 2 @0 @10 20 / +I NULL @0 @10 40 / +I 1 @10 @20 12"
	right := "+I 1 @0 @10 100 / +I 3 @0 @10 300 / +I NULL @0 @10 400 / +I 1 @0 @10 5"
	less, err := expr.Call("<", expr.Col(3, types.BigInt, "v"), expr.Col(7, types.BigInt, "w"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		jt   ops.JoinType
		want string
	}{
		{ops.LeftJoin, `+I 1 @0 @10 10 1 @0 @10 100
			+I NULL @0 @10 40 NULL NULL NULL NULL
			+I 2 @0 @10 20 NULL NULL NULL NULL
			+I 1 @10 @20 12 NULL NULL NULL NULL`},
		{ops.RightJoin, `+I 1 @0 @10 10 1 @0 @10 100
			+I NULL NULL NULL NULL 1 @0 @10 5
			+I NULL NULL NULL NULL NULL @0 @10 400
			+I NULL NULL NULL NULL 3 @0 @10 300`},
		{ops.FullJoin, `+I 1 @0 @10 10 1 @0 @10 100
			+I NULL NULL NULL NULL 1 @0 @10 5
			+I NULL @0 @10 40 NULL NULL NULL NULL
			+I NULL NULL NULL NULL NULL @0 @10 400
			+I 2 @0 @10 20 NULL NULL NULL NULL
			+I NULL NULL NULL NULL 3 @0 @10 300
			+I 1 @10 @20 12 NULL NULL NULL NULL`},
	} {
		t.Run(fmt.Sprint(c.jt), func(t *testing.T) {
			spec := wjSpec(c.jt)
			spec.Residual = less
			d := newWJDriver(t, spec, nil)
			d.rows(0, left)
			d.rows(1, right)
			d.finish()
			got := sortedLines(exectest.FormatAll(d.out.Batches))
			if w := sortedLines(exectest.Canonical(t, d.op.OutTypes(), at(c.want))); got != w {
				t.Errorf("rows:\n%s\nwant:\n%s", got, w)
			}
		})
	}
}

func TestWindowJoinRestore(t *testing.T) {
	st, err := state.Open("", state.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	tc := &exec.TaskContext{Ctx: context.Background(), JobID: "window-join-test", Parallelism: 1, MaxParallelism: 128, State: st}
	d := newWJDriver(t, wjSpec(ops.FullJoin), tc)
	d.rows(0, "+I 1 @0 @10 10 / +I 1 @10 @20 11")
	d.rows(1, "+I 1 @0 @10 100 / +I 2 @10 @20 200")
	d.watermark(day0 + 10*sec - 1)
	d.expect("+I 1 @0 @10 10 1 @0 @10 100")
	if _, err := d.op.Snapshot(1); err != nil {
		t.Fatal(err)
	}
	if err := d.op.Close(); err != nil {
		t.Fatal(err)
	}
	r := newWJDriver(t, wjSpec(ops.FullJoin), tc)
	r.rows(1, "+I 1 @10 @20 101")
	r.finish()
	r.expect("+I 1 @10 @20 11 1 @10 @20 101 / +I NULL NULL NULL NULL 2 @10 @20 200")
}

func TestWindowJoinLargeWindow(t *testing.T) {
	// More pairs than a batch: candidates are built in chunks.
	d := newWJDriver(t, wjSpec(ops.InnerJoin), nil)
	l, r := exectest.MustParse(t, wrIn, ""), exectest.MustParse(t, wrIn, "")
	for i := range 100 {
		row := []types.Datum{{Type: types.BigInt, I: 1}, {Type: ops.WindowTimeType, I: day0}, {Type: ops.WindowTimeType, I: day0 + 10*sec}, {Type: types.BigInt, I: int64(i)}}
		l.AppendRow(types.Insert, row)
		r.AppendRow(types.Insert, row)
	}
	if err := d.op.ProcessInput(0, l, &d.out); err != nil {
		t.Fatal(err)
	}
	if err := d.op.ProcessInput(1, r, &d.out); err != nil {
		t.Fatal(err)
	}
	d.finish()
	n := 0
	for _, b := range d.out.Batches {
		n += b.Len()
	}
	if n != 100*100 {
		t.Errorf("%d pairs, want %d", n, 100*100)
	}
}

func TestWindowJoinRejects(t *testing.T) {
	op, err := ops.NewWindowJoin(wjSpec(ops.InnerJoin))
	if err != nil {
		t.Fatal(err)
	}
	if err := op.ProcessInput(1, parse(t, wrIn, at("-U 1 @0 @10 5")), &exectest.Output{}); err == nil {
		t.Error("a retraction was accepted")
	}
	_ = op.Close()
	for name, mod := range map[string]func(*ops.WindowJoinSpec){
		"type":     func(s *ops.WindowJoinSpec) { s.Type = ops.SemiJoin },
		"no end":   func(s *ops.WindowJoinSpec) { s.LeftKeys, s.RightKeys = []int{0, 1}, []int{0, 1} },
		"end type": func(s *ops.WindowJoinSpec) { s.LeftEnd = 3 },
	} {
		spec := wjSpec(ops.InnerJoin)
		mod(&spec)
		if _, err := ops.NewWindowJoin(spec); !errors.Is(err, ops.ErrJoinSpec) {
			t.Errorf("%s: error %v, want ErrJoinSpec", name, err)
		}
	}
}
