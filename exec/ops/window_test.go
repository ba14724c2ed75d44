package ops_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// Window tests use rows (k BIGINT, ts TIMESTAMP, v BIGINT) with times
// written as seconds after midnight of 2024-01-01: "@12" is 00:00:12.

var winIn = []types.Type{types.BigInt, types.Timestamp, types.BigInt}

const sec = int64(time.Second / time.Microsecond)

var day0 = types.TimeToMicros(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))

// at expands "@N" (N whole seconds, possibly negative, with an optional
// fraction as @9.999) into a timestamp literal of the notation.
func at(text string) string {
	var sb strings.Builder
	for {
		i := strings.IndexByte(text, '@')
		if i < 0 {
			sb.WriteString(text)
			return sb.String()
		}
		sb.WriteString(text[:i])
		j, neg := i+1, false
		if j < len(text) && text[j] == '-' {
			j, neg = j+1, true
		}
		k := j
		for j < len(text) && (text[j] >= '0' && text[j] <= '9' || text[j] == '.') {
			j++
		}
		whole, frac, _ := strings.Cut(text[k:j], ".")
		s := 0
		for _, c := range whole {
			s = s*10 + int(c-'0')
		}
		if neg {
			s = -s
		}
		ts := time.Date(2024, 1, 1, 0, 0, s, 0, time.UTC).Format("2006-01-02T15:04:05")
		if frac != "" {
			ts += "." + frac
		}
		sb.WriteString(ts)
		text = text[j:]
	}
}

func winRows(t *testing.T, text string) *types.Batch {
	return parse(t, winIn, at(text))
}

// winOut is the output types of a window aggregate keyed by k with
// COUNT(*) and SUM(v).
var winOut = []types.Type{types.BigInt, ops.WindowTimeType, ops.WindowTimeType, ops.WindowTimeType, types.BigInt, types.BigInt}

func countSum(w ops.WindowSpec) ops.WindowAggSpec {
	w.TimeCol = 1
	return ops.WindowAggSpec{
		Window:  w,
		KeyCols: []int{0},
		InTypes: winIn,
		Calls: []ops.AggCall{
			{Kind: ops.AggCountStar, Arg: -1, Filter: -1, OutType: types.BigInt},
			{Kind: ops.AggSum, Arg: 2, Filter: -1, OutType: types.BigInt},
		},
	}
}

// winDriver feeds a WindowAgg batches and watermarks, as a subtask would.
type winDriver struct {
	t   *testing.T
	op  *ops.WindowAgg
	out exectest.Output
}

func newWinDriver(t *testing.T, spec ops.WindowAggSpec, tc *exec.TaskContext) *winDriver {
	t.Helper()
	op, err := ops.NewWindowAgg(spec)
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
	return &winDriver{t: t, op: op}
}

func (d *winDriver) rows(text string) {
	d.t.Helper()
	if err := d.op.Process(winRows(d.t, text), &d.out); err != nil {
		d.t.Fatal(err)
	}
}

func (d *winDriver) watermark(us int64) {
	d.t.Helper()
	if _, err := d.op.ProcessWatermark(us, &d.out); err != nil {
		d.t.Fatal(err)
	}
}

func (d *winDriver) finish() {
	d.t.Helper()
	if err := d.op.Finish(&d.out); err != nil {
		d.t.Fatal(err)
	}
}

// expect checks what was emitted since the last expect, in any order
// (windows ending together come out in key group order).
func (d *winDriver) expect(want string) {
	d.t.Helper()
	got := sortedLines(exectest.FormatAll(d.out.Batches))
	if w := sortedLines(exectest.Canonical(d.t, winOut, at(want))); got != w {
		d.t.Errorf("rows:\n%s\nwant:\n%s", got, w)
	}
	d.out.Batches = nil
}

func sortedLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func TestWindowAggTumble(t *testing.T) {
	d := newWinDriver(t, countSum(ops.WindowSpec{Kind: ops.WindowTumble, Size: 10 * sec}), nil)
	d.rows("+I 1 @1 10 / +I 1 @5 20 / +I 2 @3 7 / +I 1 @12 1")
	d.expect("")
	// The watermark at 9.999998 s leaves [0, 10) open; at 9.999999 s it
	// fires.
	d.watermark(day0 + 10*sec - 2)
	d.expect("")
	d.watermark(day0 + 10*sec - 1)
	d.expect(`
		+I 1 @0 @10 @9.999 2 30
		+I 2 @0 @10 @9.999 1 7`)
	// A row for the fired window is late: dropped and counted.
	d.rows("+I 1 @9 100 / +I 2 @10 5")
	if n := d.op.LateRows(); n != 1 {
		t.Errorf("LateRows = %d, want 1", n)
	}
	d.finish()
	d.expect(`
		+I 1 @10 @20 @19.999 1 1
		+I 2 @10 @20 @19.999 1 5`)
}

func TestWindowAggHopCombinesPanes(t *testing.T) {
	d := newWinDriver(t, countSum(ops.WindowSpec{Kind: ops.WindowHop, Slide: 5 * sec, Size: 10 * sec}), nil)
	d.rows("+I 1 @1 1 / +I 1 @6 2 / +I 1 @12 4")
	d.watermark(day0 + 10*sec - 1)
	d.expect(`
		+I 1 @-5 @5 @4.999 1 1
		+I 1 @0 @10 @9.999 2 3`)
	d.finish()
	d.expect(`
		+I 1 @5 @15 @14.999 2 6
		+I 1 @10 @20 @19.999 1 4`)
}

func TestWindowAggHopNotMultipleOfSlide(t *testing.T) {
	// Panes of gcd(10, 4) = 2 s; windows [-8, 2), [-4, 6), [0, 10), [4, 14),
	// [8, 18), [12, 22).
	d := newWinDriver(t, countSum(ops.WindowSpec{Kind: ops.WindowHop, Slide: 4 * sec, Size: 10 * sec}), nil)
	d.rows("+I 1 @1 1 / +I 1 @9 2 / +I 1 @13 4")
	d.finish()
	d.expect(`
		+I 1 @-8 @2 @1.999 1 1
		+I 1 @-4 @6 @5.999 1 1
		+I 1 @0 @10 @9.999 2 3
		+I 1 @4 @14 @13.999 2 6
		+I 1 @8 @18 @17.999 2 6
		+I 1 @12 @22 @21.999 1 4`)
}

func TestWindowAggCumulate(t *testing.T) {
	d := newWinDriver(t, countSum(ops.WindowSpec{Kind: ops.WindowCumulate, Slide: 5 * sec, Size: 15 * sec}), nil)
	d.rows("+I 1 @1 1 / +I 1 @6 2 / +I 1 @12 4 / +I 1 @16 8")
	d.watermark(day0 + 10*sec - 1)
	d.expect(`
		+I 1 @0 @5 @4.999 1 1
		+I 1 @0 @10 @9.999 2 3`)
	// A late row of the first step: its pane's first window fired.
	d.rows("+I 1 @2 100")
	if d.op.LateRows() != 1 {
		t.Errorf("LateRows = %d", d.op.LateRows())
	}
	d.finish()
	d.expect(`
		+I 1 @0 @15 @14.999 3 7
		+I 1 @15 @20 @19.999 1 8
		+I 1 @15 @25 @24.999 1 8
		+I 1 @15 @30 @29.999 1 8`)
}

func TestWindowAggSessionMerges(t *testing.T) {
	d := newWinDriver(t, countSum(ops.WindowSpec{Kind: ops.WindowSession, Gap: 5 * sec}), nil)
	d.rows("+I 1 @1 1 / +I 1 @4 2 / +I 1 @20 4 / +I 1 @10 8 / +I 2 @2 16")
	// Sessions of key 1: [1, 9), [10, 15), [20, 25); of key 2: [2, 7).
	d.watermark(day0 + 8*sec)
	d.expect(`+I 2 @2 @7 @6.999 1 16`)
	// 9 touches [1, 9) and [10, 15): one session [1, 15).
	d.rows("+I 1 @9 32")
	d.watermark(day0 + 15*sec - 1)
	d.expect(`+I 1 @1 @15 @14.999 4 43`)
	// Late: [3, 8) ends before the watermark.
	d.rows("+I 1 @3 64")
	if d.op.LateRows() != 1 {
		t.Errorf("LateRows = %d", d.op.LateRows())
	}
	d.finish()
	d.expect(`+I 1 @20 @25 @24.999 1 4`)
}

func TestWindowAggCallsAndNulls(t *testing.T) {
	spec := ops.WindowAggSpec{
		Window:  ops.WindowSpec{Kind: ops.WindowTumble, TimeCol: 1, Size: 10 * sec},
		InTypes: winIn,
		Calls: []ops.AggCall{
			{Kind: ops.AggCount, Arg: 2, Filter: -1, OutType: types.BigInt},
			{Kind: ops.AggMin, Arg: 2, Filter: -1, OutType: types.BigInt},
			{Kind: ops.AggMax, Arg: 2, Filter: -1, OutType: types.BigInt},
			{Kind: ops.AggCount, Arg: 2, Distinct: true, Filter: -1, OutType: types.BigInt},
			{Kind: ops.AggAvg, Arg: 2, Filter: -1, OutType: types.Decimal(18, 4)},
		},
	}
	op, err := ops.NewWindowAgg(spec)
	if err != nil {
		t.Fatal(err)
	}
	out := drive(t, op, winRows(t, "+I 1 @1 3 / +I 1 @2 NULL / +I 2 @3 3 / +I 2 NULL 100 / +I 3 @4 4 / +I 4 @11 NULL"))
	ts := []types.Type{ops.WindowTimeType, ops.WindowTimeType, ops.WindowTimeType,
		types.BigInt, types.BigInt, types.BigInt, types.BigInt, types.Decimal(18, 4)}
	exectest.Expect(t, ts, out, at(`
		+I @0 @10 @9.999 3 3 4 2 3.3333
		+I @10 @20 @19.999 0 NULL NULL 0 NULL`))
}

func TestWindowAggRejectsUpdates(t *testing.T) {
	op, err := ops.NewWindowAgg(countSum(ops.WindowSpec{Kind: ops.WindowTumble, Size: sec}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = exectest.Drive(op, winRows(t, "-D 1 @1 1"))
	if err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("err = %v", err)
	}
}

func TestWindowSpecInvalid(t *testing.T) {
	for _, w := range []ops.WindowSpec{
		{Kind: ops.WindowTumble, TimeCol: 1},
		{Kind: ops.WindowHop, TimeCol: 1, Size: 10, Slide: 0},
		{Kind: ops.WindowCumulate, TimeCol: 1, Size: 10, Slide: 3},
		{Kind: ops.WindowSession, TimeCol: 1},
		{Kind: ops.WindowTumble, TimeCol: 0, Size: 10}, // BIGINT time column
	} {
		spec := countSum(w)
		spec.Window.TimeCol = w.TimeCol
		if _, err := ops.NewWindowAgg(spec); err == nil {
			t.Errorf("%+v: no error", w)
		}
	}
}

// TestWindowAggRestore checks that timers come back from keyed state: a
// HOP window fired before the checkpoint is not fired again, the others
// fire after the restore; sessions likewise.
func TestWindowAggRestore(t *testing.T) {
	st, err := state.Open("", state.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	tc := func() *exec.TaskContext {
		return &exec.TaskContext{Ctx: context.Background(), JobID: "window-test", Parallelism: 1, MaxParallelism: 128, State: st}
	}
	d := newWinDriver(t, countSum(ops.WindowSpec{Kind: ops.WindowHop, Slide: 5 * sec, Size: 10 * sec}), tc())
	d.rows("+I 1 @1 1 / +I 1 @6 2 / +I 2 @7 4")
	d.watermark(day0 + 5*sec - 1)
	d.expect(`+I 1 @-5 @5 @4.999 1 1`)
	if _, err := d.op.Snapshot(1); err != nil {
		t.Fatal(err)
	}
	if err := d.op.Close(); err != nil {
		t.Fatal(err)
	}
	r := newWinDriver(t, countSum(ops.WindowSpec{Kind: ops.WindowHop, Slide: 5 * sec, Size: 10 * sec}), tc())
	r.finish()
	r.expect(`
		+I 1 @0 @10 @9.999 2 3
		+I 2 @0 @10 @9.999 1 4
		+I 1 @5 @15 @14.999 1 2
		+I 2 @5 @15 @14.999 1 4`)

	tc2 := tc()
	tc2.VertexID = 1
	s := newWinDriver(t, countSum(ops.WindowSpec{Kind: ops.WindowSession, Gap: 5 * sec}), tc2)
	s.rows("+I 1 @1 1 / +I 1 @4 2 / +I 1 @20 4")
	if _, err := s.op.Snapshot(1); err != nil {
		t.Fatal(err)
	}
	if err := s.op.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := newWinDriver(t, countSum(ops.WindowSpec{Kind: ops.WindowSession, Gap: 5 * sec}), tc2)
	s2.rows("+I 1 @8 8")
	s2.finish()
	s2.expect(`
		+I 1 @1 @13 @12.999 3 11
		+I 1 @20 @25 @24.999 1 4`)
}

func TestWindowTVF(t *testing.T) {
	outTs := append(append([]types.Type(nil), winIn...), ops.WindowTimeType, ops.WindowTimeType, ops.WindowTimeType)
	for _, tc := range []struct {
		w    ops.WindowSpec
		want string
	}{
		{ops.WindowSpec{Kind: ops.WindowTumble, Size: 10 * sec}, `
			+I 1 @12 7 @10 @20 @19.999`},
		{ops.WindowSpec{Kind: ops.WindowHop, Slide: 5 * sec, Size: 10 * sec}, `
			+I 1 @12 7 @5 @15 @14.999
			+I 1 @12 7 @10 @20 @19.999`},
		{ops.WindowSpec{Kind: ops.WindowCumulate, Slide: 5 * sec, Size: 15 * sec}, `
			+I 1 @12 7 @0 @15 @14.999`},
		{ops.WindowSpec{Kind: ops.WindowCumulate, Slide: 5 * sec, Size: 20 * sec}, `
			+I 1 @12 7 @0 @15 @14.999
			+I 1 @12 7 @0 @20 @19.999`},
		{ops.WindowSpec{Kind: ops.WindowTumble, Size: 10 * sec, Offset: 3 * sec}, `
			+I 1 @12 7 @3 @13 @12.999`},
	} {
		tc.w.TimeCol = 1
		op, err := ops.WindowTVFFactory(tc.w, winIn)(0)
		if err != nil {
			t.Fatal(err)
		}
		out := drive(t, op, winRows(t, "+I 1 @12 7 / +I 2 NULL 8"))
		exectest.Expect(t, outTs, out, at(tc.want))
	}
}

func TestWatermarkAssignerSplitsBeforeOutOfOrderRows(t *testing.T) {
	a := &ops.WatermarkAssigner{Expr: expr.Col(1, types.Timestamp, "ts"), TimeCol: 1}
	var out exectest.Output
	// 5, 7 raise the watermark to 7; 6 is behind it: 5, 7 and watermark 7
	// go first. 8, 9 are in order: one batch, then watermark 9.
	if err := a.Process(winRows(t, "+I 1 @5 0 / +I 1 @7 0 / +I 1 @6 0 / +I 1 @8 0"), &out); err != nil {
		t.Fatal(err)
	}
	if err := a.Process(winRows(t, "+I 1 @9 0 / +I 1 NULL 0"), &out); err != nil {
		t.Fatal(err)
	}
	if err := a.Finish(&out); err != nil {
		t.Fatal(err)
	}
	if len(out.Batches) != 3 {
		t.Fatalf("%d batches, want 3:\n%s", len(out.Batches), exectest.FormatAll(out.Batches))
	}
	exectest.Expect(t, winIn, out.Batches[:1], at("+I 1 @5 0 / +I 1 @7 0"))
	exectest.Expect(t, winIn, out.Batches[1:2], at("+I 1 @6 0 / +I 1 @8 0"))
	want := []int64{day0 + 7*sec, day0 + 8*sec, day0 + 9*sec, math.MaxInt64}
	if len(out.Watermarks) != len(want) {
		t.Fatalf("watermarks %v, want %v", out.Watermarks, want)
	}
	for i := range want {
		if out.Watermarks[i] != want[i] {
			t.Errorf("watermark %d = %d, want %d", i, out.Watermarks[i], want[i])
		}
	}
}

func TestWatermarkAssignerIdleSplitFollowsActiveOnes(t *testing.T) {
	fac := ops.WatermarkAssignerFactory(expr.Col(1, types.Timestamp, "ts"), 1, time.Second)
	op0, err := fac(0)
	if err != nil {
		t.Fatal(err)
	}
	op1, err := fac(1)
	if err != nil {
		t.Fatal(err)
	}
	busy, idle := op0.(*ops.WatermarkAssigner), op1.(*ops.WatermarkAssigner)
	var outBusy, outIdle exectest.Output
	now := time.Now()
	if err := idle.SourceIdle(now, &outIdle); err != nil { // starts the idle clock
		t.Fatal(err)
	}
	if err := busy.Process(winRows(t, "+I 1 @30 0"), &outBusy); err != nil {
		t.Fatal(err)
	}
	if err := idle.SourceIdle(now.Add(500*time.Millisecond), &outIdle); err != nil {
		t.Fatal(err)
	}
	if len(outIdle.Watermarks) != 0 {
		t.Fatalf("not yet idle, emitted %v", outIdle.Watermarks)
	}
	if err := idle.SourceIdle(now.Add(2*time.Second), &outIdle); err != nil {
		t.Fatal(err)
	}
	if len(outIdle.Watermarks) != 1 || outIdle.Watermarks[0] != day0+30*sec {
		t.Fatalf("idle split emitted %v, want the busy split's watermark", outIdle.Watermarks)
	}
}
