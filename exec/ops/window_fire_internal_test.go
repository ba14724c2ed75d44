package ops

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

const isec = int64(time.Second / time.Microsecond)

var winTestIn = []types.Type{types.BigInt, types.Timestamp, types.String}

// winTestAgg returns a WindowAgg keyed by column 0 over w with COUNT(*),
// MAX(column 2) and COUNT(DISTINCT column 2).
func winTestAgg(t *testing.T, w WindowSpec) *WindowAgg {
	t.Helper()
	w.TimeCol = 1
	op, err := NewWindowAgg(WindowAggSpec{
		Window:  w,
		KeyCols: []int{0},
		InTypes: winTestIn,
		Calls: []AggCall{
			{Kind: AggCountStar, Arg: -1, Filter: -1, OutType: types.BigInt},
			{Kind: AggMax, Arg: 2, Filter: -1, OutType: types.String},
			{Kind: AggCount, Arg: 2, Distinct: true, Filter: -1, OutType: types.BigInt},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return op
}

func TestPaneCodecRoundTrip(t *testing.T) {
	op := winTestAgg(t, WindowSpec{Kind: WindowHop, Slide: 2 * isec, Size: 10 * isec})
	b := exectest.MustParse(t, winTestIn, "+I 1 '1970-01-01T00:00:01' x / +I 1 '1970-01-01T00:00:03' y / +I 1 '1970-01-01T00:00:03' x")
	defer b.Release()
	nc := len(op.calls)
	p := &winPanes{fired: 42}
	for i := range b.Len() {
		ps := op.Spec.Window.paneOf(b.Cols[1].I64[i])
		k, found := p.find(ps)
		if !found {
			p.insert(k, ps, nc)
		}
		if err := addRow(op.calls, p.pane(k, nc), b, i); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.starts) != 2 {
		t.Fatalf("%d panes, want 2", len(p.starts))
	}
	c := paneCodec{acc: accCodec{calls: op.calls}, pane: op.Spec.Window.pane()}
	enc := c.Encode([]byte("prefix"), p)[len("prefix"):]
	got, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.fired != p.fired || !slices.Equal(got.starts, p.starts) || len(got.vals) != len(p.vals) {
		t.Fatalf("decoded %+v, want %+v", got, p)
	}
	for i := range p.vals {
		a, g := p.vals[i], got.vals[i]
		if a.n != g.n || a.i != g.i || a.s != g.s || (a.set == nil) != (g.set == nil) || a.set != nil && !sameSet(a.set, g.set) {
			t.Errorf("accumulator %d: decoded %+v, want %+v", i, g, a)
		}
	}
	// Every truncation and a bad version fail with ErrCorrupt.
	for n := range len(enc) {
		if _, err := c.Decode(enc[:n]); !errors.Is(err, state.ErrCorrupt) {
			t.Errorf("%d of %d bytes: err = %v", n, len(enc), err)
		}
	}
	bad := append([]byte{9}, enc[1:]...)
	if _, err := c.Decode(bad); !errors.Is(err, state.ErrCorrupt) {
		t.Errorf("version 9: err = %v", err)
	}
}

// TestWindowAggMigratesV1State restores state written in format version 1
// (an entry per pane, with its own fired mark): the panes move into their
// key's entry, a window that fired before is not fired again, and a second
// restore does not find the old entries again.
func TestWindowAggMigratesV1State(t *testing.T) {
	st, err := state.Open("", state.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	tc := func() *exec.TaskContext {
		return &exec.TaskContext{Ctx: context.Background(), JobID: "window-v1", Parallelism: 1, MaxParallelism: 128, State: st}
	}
	w := WindowSpec{Kind: WindowHop, Slide: 5 * isec, Size: 10 * isec}
	op := winTestAgg(t, w)
	acc := accCodec{calls: op.calls}
	raw := state.NewKeyedState[[]byte](st, exec.StateNamespace(tc()), rawCodec{}, 16)
	// Key 1: pane [0, 5) with a and b, whose first window [-5, 5) fired;
	// pane [5, 10) with c. Key 2: pane [5, 10) with d.
	for _, p := range []struct {
		k         int64
		ps, fired int64
		strs      []string
	}{
		{1, 0, 5 * isec, []string{"a", "b"}},
		{1, 5 * isec, math.MinInt64, []string{"c"}},
		{2, 5 * isec, math.MinInt64, []string{"d"}},
	} {
		vals := make([]accVal, len(op.calls))
		for _, s := range p.strs {
			vals[0].n++
			op.calls[1].mergeExtremum(&vals[1], aggResult{s: s}, 1, true)
			if vals[2].set == nil {
				vals[2].set = newValueSet(types.ClassStr)
			}
			if err := op.calls[2].addToSet(&vals[2], aggResult{s: s}, 1); err != nil {
				t.Fatal(err)
			}
		}
		v := []byte{winFormatVersion}
		v = binary.AppendVarint(v, p.ps+w.pane())
		v = binary.AppendVarint(v, p.fired)
		v = acc.Encode(v, &accRecord{vals: vals})
		gk := state.EncodeKey(nil, []types.Datum{types.IntDatum(p.k)})
		kg := exec.KeyGroup(exec.HashDatums([]types.Datum{types.IntDatum(p.k)}), 128)
		if err := raw.Put(kg, appendStart(gk, p.ps), v); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := op.Open(tc()); err != nil {
		t.Fatal(err)
	}
	if _, err := op.Snapshot(1); err != nil {
		t.Fatal(err)
	}
	if err := op.Close(); err != nil {
		t.Fatal(err)
	}
	op2 := winTestAgg(t, w)
	if err := op2.Open(tc()); err != nil {
		t.Fatal(err)
	}
	var out exectest.Output
	if err := op2.Finish(&out); err != nil {
		t.Fatal(err)
	}
	if err := op2.Close(); err != nil {
		t.Fatal(err)
	}
	ts := append([]types.Type{types.BigInt}, op2.outTypes[1:]...)
	exectest.Expect(t, ts, sortBatches(t, ts, out.Batches), `
		+I 1 '1970-01-01T00:00:00' '1970-01-01T00:00:10' '1970-01-01T00:00:09.999' 3 c 3
		+I 1 '1970-01-01T00:00:05' '1970-01-01T00:00:15' '1970-01-01T00:00:14.999' 1 c 1
		+I 2 '1970-01-01T00:00:00' '1970-01-01T00:00:10' '1970-01-01T00:00:09.999' 1 d 1
		+I 2 '1970-01-01T00:00:05' '1970-01-01T00:00:15' '1970-01-01T00:00:14.999' 1 d 1`)
}

// rawCodec stores bytes as they are.
type rawCodec struct{}

func (rawCodec) Encode(dst, v []byte) []byte     { return append(dst, v...) }
func (rawCodec) Decode(b []byte) ([]byte, error) { return slices.Clone(b), nil }

// sortBatches returns the rows of bs, sorted, as one batch.
func sortBatches(t *testing.T, ts []types.Type, bs []*types.Batch) []*types.Batch {
	t.Helper()
	lines := strings.Split(exectest.FormatAll(bs), "\n")
	slices.Sort(lines)
	return []*types.Batch{exectest.MustParse(t, ts, strings.Join(lines, "\n"))}
}

// TestWindowAggOutputRuns checks the order of a fire of many windows:
// window after window while the results fit in winOut's limit, else in
// runs, each key's windows always in increasing order of end.
func TestWindowAggOutputRuns(t *testing.T) {
	run := func(limit int) (ends []int64, keys []int64) {
		op := winTestAgg(t, WindowSpec{Kind: WindowHop, Slide: 2 * isec, Size: 10 * isec})
		op.out.limit = limit
		in := types.NewBatch(winTestIn)
		for k := range int64(300) {
			in.AppendRow(types.Insert, []types.Datum{types.IntDatum(k), {Type: types.Timestamp, I: isec}, {Type: types.String, S: "s"}})
		}
		out, err := exectest.Drive(op, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range out {
			for i := range b.Len() {
				keys = append(keys, b.Cols[0].I64[i])
				ends = append(ends, b.Cols[2].I64[i])
			}
		}
		return ends, keys
	}
	changes := func(ends []int64) int {
		n := 0
		for i := 1; i < len(ends); i++ {
			if ends[i] != ends[i-1] {
				n++
			}
		}
		return n
	}
	for _, limit := range []int{0, 2000} {
		ends, keys := run(limit)
		if len(ends) != 5*300 {
			t.Fatalf("limit %d: %d rows, want %d", limit, len(ends), 5*300)
		}
		last := map[int64]int64{}
		for i, k := range keys {
			if e, ok := last[k]; ok && ends[i] <= e {
				t.Fatalf("limit %d: key %d: window ending %d after one ending %d", limit, k, ends[i], e)
			}
			last[k] = ends[i]
		}
		switch n := changes(ends); {
		case limit == 0 && n != 4:
			t.Errorf("no limit: the window end changes %d times, want 4 (window after window)", n)
		case limit > 0 && n < 20:
			t.Errorf("limit %d: the window end changes %d times, want runs", limit, n)
		}
	}
}
