package ops_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// Interval join tests join rows (k BIGINT, ts TIMESTAMP, v BIGINT) on k
// with left.ts BETWEEN right.ts - 2 s AND right.ts + 1 s; times use the
// "@N" notation of the window tests.

var ijOut = []types.Type{types.BigInt, types.Timestamp, types.BigInt, types.BigInt, types.Timestamp, types.BigInt}

func ijSpec(jt ops.JoinType) ops.IntervalJoinSpec {
	return ops.IntervalJoinSpec{Type: jt, LeftKeys: []int{0}, RightKeys: []int{0}, LeftTypes: winIn, RightTypes: winIn,
		LeftTime: 1, RightTime: 1, Lower: -2 * sec, Upper: sec}
}

type ijDriver struct {
	t   *testing.T
	op  *ops.IntervalJoin
	out exectest.Output
	fwd int64
}

func newIJDriver(t *testing.T, spec ops.IntervalJoinSpec, tc *exec.TaskContext) *ijDriver {
	t.Helper()
	op, err := ops.NewIntervalJoin(spec)
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
	return &ijDriver{t: t, op: op}
}

func (d *ijDriver) rows(in int, text string) {
	d.t.Helper()
	if err := d.op.ProcessInput(in, parse(d.t, winIn, at(text)), &d.out); err != nil {
		d.t.Fatal(err)
	}
}

func (d *ijDriver) watermark(second int64) {
	d.t.Helper()
	fwd, err := d.op.ProcessWatermark(day0+second*sec, &d.out)
	if err != nil {
		d.t.Fatal(err)
	}
	d.fwd = fwd
}

func (d *ijDriver) finish() {
	d.t.Helper()
	if err := d.op.Finish(&d.out); err != nil {
		d.t.Fatal(err)
	}
}

func (d *ijDriver) expect(want string) {
	d.t.Helper()
	got := sortedLines(exectest.FormatAll(d.out.Batches))
	if w := sortedLines(exectest.Canonical(d.t, ijOut, at(want))); got != w {
		d.t.Errorf("rows:\n%s\nwant:\n%s", got, w)
	}
	d.out.Batches = nil
}

func (d *ijDriver) stateKeys(wantL, wantR int) {
	d.t.Helper()
	l, r, err := d.op.StateKeys()
	if err != nil {
		d.t.Fatal(err)
	}
	if l != wantL || r != wantR {
		d.t.Errorf("state keys: left %d, right %d; want %d, %d", l, r, wantL, wantR)
	}
}

func TestIntervalJoinInner(t *testing.T) {
	d := newIJDriver(t, ijSpec(ops.InnerJoin), nil)
	d.rows(0, "+I 1 @10 100 / +I 2 @10 200")
	d.expect("")
	// Right @9: left must be in [@7, @10]: joins (1, @10). Right @12:
	// [@10, @13] joins too; right @8 ([@6, @9]) does not. Key 2 never.
	d.rows(1, "+I 1 @9 1 / +I 1 @12 2 / +I 1 @8 3 / +I 3 @10 4")
	d.expect("+I 1 @10 100 1 @9 1 / +I 1 @10 100 1 @12 2")
	// A left row later joins the stored right rows in its range.
	d.rows(0, "+I 1 @7 101")
	d.expect("+I 1 @7 101 1 @8 3 / +I 1 @7 101 1 @9 1")
	// The output watermark trails by max(upper, -lower) = 2 s.
	d.watermark(20)
	if d.fwd != day0+18*sec {
		t.Errorf("forwarded watermark %d, want %d", d.fwd, day0+18*sec)
	}
	d.expect("")
	d.stateKeys(0, 0)
}

func TestIntervalJoinExpiry(t *testing.T) {
	d := newIJDriver(t, ijSpec(ops.InnerJoin), nil)
	d.rows(0, "+I 1 @10 100")
	d.rows(1, "+I 1 @10 1")
	d.expect("+I 1 @10 100 1 @10 1")
	// The left row at @10 can join right rows up to @12 (10 - lower): it
	// stays until the watermark reaches @12. The right row at @10 joins
	// left rows up to @11.
	d.watermark(11)
	d.stateKeys(1, 0)
	d.watermark(12)
	d.stateKeys(0, 0)
	// A late left row joins only what is still in state and is not
	// stored.
	d.rows(1, "+I 1 @14 2")
	d.rows(0, "+I 1 @13 101 / +I 1 @5 102")
	d.expect("+I 1 @13 101 1 @14 2")
	d.stateKeys(1, 1)
}

func TestIntervalJoinOuter(t *testing.T) {
	d := newIJDriver(t, ijSpec(ops.FullJoin), nil)
	d.rows(0, "+I 1 @10 100 / +I 1 @20 101 / +I NULL @10 102")
	// A NULL key never joins: padded at once.
	d.expect("+I NULL @10 102 NULL NULL NULL")
	d.rows(1, "+I 1 @11 1 / +I 2 @11 2")
	d.expect("+I 1 @10 100 1 @11 1")
	// At @12 the left row @10 expires (joined: nothing to pad), the
	// right rows @11 stay until @12 too: right 2 is padded.
	d.watermark(12)
	d.expect("+I NULL NULL NULL 2 @11 2")
	// A right row too late to be stored and matching nothing is padded
	// at once.
	d.rows(1, "+I 1 @5 3")
	d.expect("+I NULL NULL NULL 1 @5 3")
	d.finish()
	d.expect("+I 1 @20 101 NULL NULL NULL")
	d.stateKeys(0, 0)
}

func TestIntervalJoinLeftRightResidual(t *testing.T) {
	for _, jt := range []ops.JoinType{ops.LeftJoin, ops.RightJoin} {
		t.Run(jt.String(), func(t *testing.T) {
			spec := ijSpec(jt)
			cond, err := expr.Call("<", expr.Col(2, types.BigInt, "v"), expr.Col(5, types.BigInt, "w"))
			if err != nil {
				t.Fatal(err)
			}
			spec.Residual = cond
			d := newIJDriver(t, spec, nil)
			d.rows(0, "+I 1 @10 5 / +I 1 @10 50")
			d.rows(1, "+I 1 @10 10")
			d.expect("+I 1 @10 5 1 @10 10")
			d.finish()
			if jt == ops.LeftJoin {
				d.expect("+I 1 @10 50 NULL NULL NULL")
			} else {
				d.expect("")
			}
		})
	}
}

func TestIntervalJoinRejects(t *testing.T) {
	bad := ijSpec(ops.SemiJoin)
	if _, err := ops.NewIntervalJoin(bad); err == nil {
		t.Error("semi interval join accepted")
	}
	bad = ijSpec(ops.InnerJoin)
	bad.LeftTime = 0
	if _, err := ops.NewIntervalJoin(bad); err == nil || !strings.Contains(err.Error(), "not a TIMESTAMP") {
		t.Errorf("BIGINT time column: %v", err)
	}
	bad = ijSpec(ops.InnerJoin)
	bad.Lower, bad.Upper = sec, 0
	if _, err := ops.NewIntervalJoin(bad); err == nil {
		t.Error("empty interval accepted")
	}
	d := newIJDriver(t, ijSpec(ops.InnerJoin), nil)
	err := d.op.ProcessInput(0, parse(t, winIn, at("-D 1 @1 1")), &d.out)
	if err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("retraction: %v", err)
	}
}

// TestIntervalJoinAgainstModel compares random inputs and watermarks with
// a direct computation, in memory and in keyed state with a small cache,
// snapshotting and reopening the keyed one from time to time.
func TestIntervalJoinAgainstModel(t *testing.T) {
	st, err := state.Open("", state.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for n, jt := range []ops.JoinType{ops.InnerJoin, ops.LeftJoin, ops.RightJoin, ops.FullJoin} {
		t.Run(jt.String(), func(t *testing.T) {
			spec := ijSpec(jt)
			spec.CacheEntries = 4
			tc := &exec.TaskContext{Ctx: context.Background(), JobID: "ij-test", VertexID: n,
				Parallelism: 1, MaxParallelism: 128, State: st}
			d := newIJDriver(t, spec, tc)
			rng := rand.New(rand.NewPCG(uint64(n), 7))
			type row struct{ k, ts, v int64 }
			var sides [2][]row
			var wm int64 = -1 << 62
			maxTs := [2]int64{}
			for step := range 400 {
				in := rng.IntN(2)
				// Times increase with noise; rows are never later than the
				// watermark (the model then need not know about lateness).
				ts := int64(step/4) + rng.Int64N(3)
				if day0+ts*sec <= wm {
					ts = (wm-day0)/sec + 1
				}
				r := row{rng.Int64N(6), ts, int64(step)}
				sides[in] = append(sides[in], r)
				maxTs[in] = max(maxTs[in], ts)
				d.rows(in, fmt.Sprintf("+I %d @%d %d", r.k, r.ts, r.v))
				if step%10 == 9 {
					w := min(maxTs[0], maxTs[1]) - 3
					if day0+w*sec > wm {
						wm = day0 + w*sec
						d.watermark(w)
					}
				}
				if step%97 == 96 {
					if _, err := d.op.Snapshot(int64(step)); err != nil {
						t.Fatal(err)
					}
					_ = d.op.Close()
					op, err := ops.NewIntervalJoin(spec)
					if err != nil {
						t.Fatal(err)
					}
					if err := op.Open(tc); err != nil {
						t.Fatal(err)
					}
					d.op = op
					// The watermark is given again after a restart.
					if wm > -1<<62 {
						d.watermark((wm - day0) / sec)
					}
				}
			}
			d.finish()
			var want []string
			matched := [2]map[int]bool{{}, {}}
			for a, l := range sides[0] {
				for b, r := range sides[1] {
					if l.k == r.k && l.ts >= r.ts-2 && l.ts <= r.ts+1 {
						want = append(want, fmt.Sprintf("+I %d @%d %d %d @%d %d", l.k, l.ts, l.v, r.k, r.ts, r.v))
						matched[0][a], matched[1][b] = true, true
					}
				}
			}
			for s, rows := range sides {
				if (s == 0 && (jt == ops.LeftJoin || jt == ops.FullJoin)) || (s == 1 && (jt == ops.RightJoin || jt == ops.FullJoin)) {
					for k, r := range rows {
						if matched[s][k] {
							continue
						}
						if s == 0 {
							want = append(want, fmt.Sprintf("+I %d @%d %d NULL NULL NULL", r.k, r.ts, r.v))
						} else {
							want = append(want, fmt.Sprintf("+I NULL NULL NULL %d @%d %d", r.k, r.ts, r.v))
						}
					}
				}
			}
			slices.Sort(want)
			d.expect(strings.Join(want, " / "))
			d.stateKeys(0, 0)
		})
	}
}
