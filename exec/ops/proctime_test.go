package ops_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
)

// ptClock is a settable clock for ProctimeAssigner.Now.
type ptClock struct{ t time.Time }

func (c *ptClock) now() time.Time { return c.t }

// at sets the clock to s seconds (fractions allowed) after day0.
func (c *ptClock) at(s float64) time.Time {
	c.t = time.UnixMicro(day0 + int64(s*float64(sec)))
	return c.t
}

func newProctime(t *testing.T, clock *ptClock) *ops.ProctimeAssigner {
	t.Helper()
	op, err := ops.ProctimeAssignerFactory(1, winIn)(0)
	if err != nil {
		t.Fatal(err)
	}
	p := op.(*ops.ProctimeAssigner)
	p.Now = clock.now
	return p
}

func TestProctimeAssignerStampsAndWatermarks(t *testing.T) {
	var clock ptClock
	p := newProctime(t, &clock)
	var out exectest.Output

	// Every row of a batch gets the clock in whole milliseconds, whatever
	// it held (NULL too); the watermark follows, 1 µs below the stamp.
	clock.at(12.3456789)
	if err := p.Process(winRows(t, "+I 1 NULL 10\n+I 2 @99 20"), &out); err != nil {
		t.Fatal(err)
	}
	stamp := day0 + 12_345_000
	want := exectest.Canonical(t, winIn, "+I 1 2024-01-01T00:00:12.345 10\n+I 2 2024-01-01T00:00:12.345 20")
	if got := exectest.FormatAll(out.Batches); got != want {
		t.Errorf("rows:\n%s\nwant:\n%s", got, want)
	}
	if !slices.Equal(out.Watermarks, []int64{stamp - 1}) {
		t.Errorf("watermarks %v, want [%d]", out.Watermarks, stamp-1)
	}

	// A clock stepped back does not move stamps or watermarks back.
	out = exectest.Output{}
	clock.at(11)
	if err := p.Process(winRows(t, "+I 3 NULL 30"), &out); err != nil {
		t.Fatal(err)
	}
	if got := out.Batches[0].Cols[1].I64[0]; got != stamp {
		t.Errorf("stamp after the clock went back: %d, want %d", got, stamp)
	}
	if len(out.Watermarks) != 0 {
		t.Errorf("watermarks %v, want none (not above the last)", out.Watermarks)
	}

	// Event-time watermarks from upstream stop here.
	if wm, err := p.ProcessWatermark(day0+100*sec, &out); err != nil || wm != math.MinInt64 {
		t.Errorf("ProcessWatermark = %d, %v; want math.MinInt64 (swallowed)", wm, err)
	}

	// Idle: the clock alone moves the watermark.
	out = exectest.Output{}
	if err := p.SourceIdle(clock.at(20.0004), &out); err != nil {
		t.Fatal(err)
	}
	if err := p.SourceIdle(clock.at(20.0009), &out); err != nil { // same millisecond: nothing new
		t.Fatal(err)
	}
	if !slices.Equal(out.Watermarks, []int64{day0 + 20*sec - 1}) {
		t.Errorf("idle watermarks %v, want [%d]", out.Watermarks, day0+20*sec-1)
	}

	// End of input: every window may fire.
	out = exectest.Output{}
	if err := p.Finish(&out); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.Watermarks, []int64{math.MaxInt64}) {
		t.Errorf("watermarks at end %v, want [MaxInt64]", out.Watermarks)
	}
}

func TestProctimeAssignerFactoryChecksColumn(t *testing.T) {
	for _, col := range []int{0, 3, -1} {
		if _, err := ops.ProctimeAssignerFactory(col, winIn)(0); err == nil {
			t.Errorf("column %d of %v: no error", col, winIn)
		}
	}
}

// chain feeds what an operator emits into a window aggregate, as the
// runtime does for the operators of one chain.
type chain struct {
	win *ops.WindowAgg
	out exectest.Output
}

func (c *chain) Collect(b *types.Batch) error { return c.win.Process(b, &c.out) }

func (c *chain) EmitWatermark(wm int64) error {
	wm, err := c.win.ProcessWatermark(wm, &c.out)
	if err != nil {
		return err
	}
	return c.out.EmitWatermark(wm)
}

// A processing-time TUMBLE window fires once the clock passes its end, and
// rows are never late, however the clock and the batches interleave.
func TestProctimeTumbleFiresOnTheClock(t *testing.T) {
	var clock ptClock
	p := newProctime(t, &clock)
	win, err := ops.NewWindowAgg(countSum(ops.WindowSpec{Kind: ops.WindowTumble, Size: 10 * sec}))
	if err != nil {
		t.Fatal(err)
	}
	if err := win.Open(exectest.TaskContext(context.Background())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = win.Close() })
	c := &chain{win: win}
	d := &winDriver{t: t, op: win}
	batch := func(s float64, rows string) {
		t.Helper()
		clock.at(s)
		if err := p.Process(winRows(t, rows), c); err != nil {
			t.Fatal(err)
		}
		d.out.Batches = append(d.out.Batches, c.out.Batches...)
		c.out.Batches = nil
	}
	batch(1.5, "+I 1 NULL 10\n+I 2 NULL 20")
	batch(9.9999, "+I 1 NULL 5") // stamped 9.999, in [0, 10)
	d.expect("")
	batch(10.0004, "+I 1 NULL 7") // [0, 10) fires after this row joined [10, 20)
	d.expect(`
		+I 1 @0 @10 @9.999999 2 15
		+I 2 @0 @10 @9.999999 1 20`)
	if err := p.SourceIdle(clock.at(19.9), c); err != nil {
		t.Fatal(err)
	}
	d.out.Batches, c.out.Batches = c.out.Batches, nil
	d.expect("")
	if err := p.SourceIdle(clock.at(20), c); err != nil {
		t.Fatal(err)
	}
	d.out.Batches, c.out.Batches = c.out.Batches, nil
	d.expect("+I 1 @10 @20 @19.999999 1 7")
	batch(25, "+I 3 NULL 1")
	if err := p.Finish(c); err != nil {
		t.Fatal(err)
	}
	d.out.Batches, c.out.Batches = c.out.Batches, nil
	d.expect("+I 3 @20 @30 @29.999999 1 1")
	if win.LateRows() != 0 {
		t.Errorf("%d late rows, want 0", win.LateRows())
	}
}
