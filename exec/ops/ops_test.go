package ops_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
)

var kv = []types.Type{types.BigInt, types.String}

func parse(t *testing.T, ts []types.Type, text string) *types.Batch {
	t.Helper()
	return exectest.MustParse(t, ts, text)
}

func drive(t *testing.T, op exec.Operator, in ...*types.Batch) []*types.Batch {
	t.Helper()
	out, err := exectest.Drive(op, in...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFilter(t *testing.T) {
	f := &ops.Filter{Cond: &gtConst{col: 0, v: 3}}
	out := drive(t, f,
		parse(t, kv, "+I 1 a / +I 5 b / -U 7 c / +U NULL d / -D 4 'e f'"),
		parse(t, kv, "+I 0 x / +I 2 y"), // all dropped: nothing emitted
		parse(t, kv, "+I 10 z"),         // all kept
	)
	if len(out) != 2 {
		t.Fatalf("%d batches, want 2", len(out))
	}
	exectest.Expect(t, kv, out, `
		+I 5 b
		-U 7 c
		-D 4 'e f'
		+I 10 z`)
}

func TestFilterBooleanColumnWithNulls(t *testing.T) {
	ts := []types.Type{types.Bool, types.BigInt}
	f := &ops.Filter{Cond: expr.Col(0, types.Bool, "ok")}
	out := drive(t, f, parse(t, ts, "+I true 1 / +I false 2 / +I NULL 3 / +I true 4"))
	exectest.Expect(t, ts, out, "+I true 1 / +I true 4")
}

func TestFilterError(t *testing.T) {
	_, err := exectest.Drive(&ops.Filter{Cond: failing{}}, parse(t, kv, "+I 1 a"))
	if err == nil || !strings.Contains(err.Error(), "fail(): division by zero") {
		t.Fatalf("err = %v", err)
	}
}

func TestProject(t *testing.T) {
	p := &ops.Project{Exprs: []expr.Expr{
		expr.Col(1, types.String, "v"),
		&mulConst{col: 0, k: 2},
		expr.Col(1, types.String, "v"), // second reference: copied
		expr.Col(0, types.BigInt, "k"),
	}}
	in := parse(t, kv, "+I 1 a / -U 2 NULL / +U 3 c")
	strs := &in.Cols[1].Str[0]
	out := drive(t, p, in)
	ts := []types.Type{types.String, types.BigInt, types.String, types.BigInt}
	exectest.Expect(t, ts, out, `
		+I a 2 a 1
		-U NULL 4 NULL 2
		+U c 6 c 3`)
	if &out[0].Cols[0].Str[0] != strs {
		t.Error("column reference was copied, not moved")
	}
	if &out[0].Cols[2].Str[0] == strs {
		t.Error("second reference shares the moved vector")
	}
	if got := p.OutTypes(); !slices.Equal(got, ts) {
		t.Errorf("OutTypes %v", got)
	}
}

// discard is a Collector that releases.
type discard struct{}

func (discard) Collect(b *types.Batch) error { b.Release(); return nil }

func TestFilterProjectDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	ts := []types.Type{types.BigInt, types.BigInt, types.String, types.Double}
	tmpl := benchBatch(ts, 0)
	f := &ops.Filter{Cond: &gtConst{col: 1, v: 500}}
	p := &ops.Project{Exprs: []expr.Expr{expr.Col(0, types.BigInt, ""), &mulConst{col: 1, k: 2}, expr.Col(3, types.Double, "")}}
	chain := collectorFunc(func(b *types.Batch) error { return p.Process(b, discard{}) })
	step := func() {
		b := types.NewBatch(ts)
		exec.CopyBatch(b, tmpl)
		if err := f.Process(b, chain); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		step()
	}
	if n := testing.AllocsPerRun(100, step); n > 0 {
		t.Errorf("%v allocations per batch", n)
	}
}

type collectorFunc func(b *types.Batch) error

func (f collectorFunc) Collect(b *types.Batch) error { return f(b) }

func TestValues(t *testing.T) {
	rows := make([][]types.Datum, 10)
	for i := range rows {
		rows[i] = []types.Datum{types.IntDatum(int64(i)), types.StringDatum("r")}
	}
	v := &ops.Values{Rows: rows}
	if err := v.Open(&exec.TaskContext{Ctx: context.Background(), Subtask: 1, Parallelism: 3}); err != nil {
		t.Fatal(err)
	}
	b := types.NewBatch(kv)
	end, err := v.Next(b)
	if err != nil || !end {
		t.Fatalf("end %v err %v", end, err)
	}
	exectest.Expect(t, kv, []*types.Batch{b}, "+I 1 r / +I 4 r / +I 7 r")

	bad := &ops.Values{Rows: [][]types.Datum{{types.StringDatum("x"), types.StringDatum("y")}}}
	if _, err := bad.Next(types.NewBatch(kv)); err == nil {
		t.Fatal("no error for a string in a BIGINT column")
	}
}

func TestSort(t *testing.T) {
	ts := []types.Type{types.BigInt, types.String, types.Double}
	in := `
		+I 3 b 1.5
		+I NULL a 2
		+I 1 c NaN
		+I 3 a -1
		+I 2 NULL NULL
		+I 1 b 0`
	for _, tc := range []struct {
		name          string
		keys          []ops.SortKey
		limit, offset int64
		want          string
	}{
		{"asc nulls first", []ops.SortKey{ops.Asc(0), ops.Asc(1)}, -1, -1,
			"+I NULL a 2 / +I 1 b 0 / +I 1 c NaN / +I 2 NULL NULL / +I 3 a -1 / +I 3 b 1.5"},
		{"desc nulls last", []ops.SortKey{ops.Desc(0), ops.Desc(1)}, -1, -1,
			"+I 3 b 1.5 / +I 3 a -1 / +I 2 NULL NULL / +I 1 c NaN / +I 1 b 0 / +I NULL a 2"},
		{"ties keep arrival order", []ops.SortKey{ops.Asc(0)}, -1, -1,
			"+I NULL a 2 / +I 1 c NaN / +I 1 b 0 / +I 2 NULL NULL / +I 3 b 1.5 / +I 3 a -1"},
		{"double with NaN last", []ops.SortKey{{Col: 2}}, -1, 0,
			"+I 3 a -1 / +I 1 b 0 / +I 3 b 1.5 / +I NULL a 2 / +I 1 c NaN / +I 2 NULL NULL"},
		{"limit offset", []ops.SortKey{ops.Asc(0), ops.Asc(1)}, 2, 1,
			"+I 1 b 0 / +I 1 c NaN"},
		{"limit past end", []ops.SortKey{ops.Desc(1)}, 10, 4,
			"+I 3 a -1 / +I 2 NULL NULL"},
		{"limit 0", []ops.SortKey{ops.Asc(0)}, 0, -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &ops.Sort{Keys: tc.keys, Limit: tc.limit, Offset: tc.offset}
			lines := strings.Split(strings.TrimSpace(in), "\n")
			out := drive(t, s, parse(t, ts, strings.Join(lines[:3], "\n")), parse(t, ts, strings.Join(lines[3:], "\n")))
			exectest.Expect(t, ts, out, tc.want)
		})
	}
}

func TestSortRetractions(t *testing.T) {
	// Full buffer: retractions remove one equal row each.
	s := &ops.Sort{Keys: []ops.SortKey{ops.Asc(0)}, Limit: -1}
	out := drive(t, s,
		parse(t, kv, "+I 2 b / +I 1 a / +I 2 b / +I 3 NULL"),
		parse(t, kv, "-U 2 b / +U 2 c / -D 3 NULL / +I 0 z"))
	exectest.Expect(t, kv, out, "+I 0 z / +I 1 a / +I 2 b / +I 2 c")

	// Heap mode that never discarded a row switches to buffering.
	s = &ops.Sort{Keys: []ops.SortKey{ops.Asc(0)}, Limit: 3}
	out = drive(t, s, parse(t, kv, "+I 2 b / +I 1 a / -D 1 a / +I 3 c / +I 4 d"))
	exectest.Expect(t, kv, out, "+I 2 b / +I 3 c / +I 4 d")

	// After the heap discarded rows, a retraction cannot be applied.
	s = &ops.Sort{Keys: []ops.SortKey{ops.Asc(0)}, Limit: 1}
	_, err := exectest.Drive(s, parse(t, kv, "+I 2 b / +I 1 a / -D 1 a"))
	if !errors.Is(err, ops.ErrSortRetraction) {
		t.Fatalf("err = %v", err)
	}
	// Retracting a row never added is an error.
	s = &ops.Sort{Keys: []ops.SortKey{ops.Asc(0)}, Limit: -1}
	if _, err := exectest.Drive(s, parse(t, kv, "+I 1 a / -D 1 b")); !errors.Is(err, ops.ErrSortRetraction) {
		t.Fatalf("err = %v", err)
	}
}

// TestSortHeapMatchesFullSort checks the bounded heap against a reference
// stable sort on random data with duplicates and NULLs.
func TestSortHeapMatchesFullSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ts := []types.Type{types.BigInt, types.BigInt}
	var rows [][]types.Datum
	var batches []*types.Batch
	for range 7 {
		b := types.NewBatch(ts)
		for range 300 {
			k := types.IntDatum(r.Int64N(50))
			if r.IntN(10) == 0 {
				k = types.NullDatum(types.BigInt)
			}
			row := []types.Datum{k, types.IntDatum(int64(len(rows)))}
			rows = append(rows, row)
			b.AppendRow(types.Insert, row)
		}
		batches = append(batches, b)
	}
	keys := []ops.SortKey{ops.Desc(0)}
	out := drive(t, &ops.Sort{Keys: keys, Limit: 25, Offset: 30}, batches...)
	ref := slices.Clone(rows)
	slices.SortStableFunc(ref, func(a, b []types.Datum) int {
		switch {
		case a[0].Null && b[0].Null:
			return 0
		case a[0].Null:
			return 1 // DESC: NULLs last
		case b[0].Null:
			return -1
		}
		return -types.Compare(a[0], b[0])
	})
	want := types.NewBatch(ts)
	for _, row := range ref[30:55] {
		want.AppendRow(types.Insert, row)
	}
	if got, w := exectest.FormatAll(out), exectest.Format(want); got != w {
		t.Fatalf("got:\n%s\nwant:\n%s", got, w)
	}
}

func TestLimit(t *testing.T) {
	for _, tc := range []struct {
		limit, offset int64
		want          string
	}{
		{3, -1, "+I 1 a / +I 2 b / +I 3 c"},
		{3, 2, "+I 3 c / +I 4 d / +I 5 e"},
		{-1, 4, "+I 5 e / +I 6 f"},
		{0, 0, ""},
		{10, 10, ""},
	} {
		l := &ops.Limit{Limit: tc.limit, Offset: tc.offset}
		out := drive(t, l, parse(t, kv, "+I 1 a / +I 2 b"), parse(t, kv, "+I 3 c / +I 4 d / +I 5 e"), parse(t, kv, "+I 6 f"))
		exectest.Expect(t, kv, out, tc.want)
	}
}

func TestCollectFunc(t *testing.T) {
	var got []*types.Batch
	op, _ := ops.CollectFunc(func(b *types.Batch) error { got = append(got, b); return nil })(0)
	out := drive(t, op, parse(t, kv, "+I 1 a"), parse(t, kv, "+I 2 b"))
	if len(out) != 0 {
		t.Fatalf("a sink emitted %d batches", len(out))
	}
	exectest.Expect(t, kv, got, "+I 1 a / +I 2 b")
}

func TestNotationRoundTrip(t *testing.T) {
	ts := []types.Type{types.Bool, types.Decimal(6, 2), types.Double, types.String, types.Date, types.Timestamp, types.Time}
	text := `+I TRUE 12.50 -1.5 it's 2024-02-29 '2024-05-01 10:00:00.250000' 08:30:00
-D FALSE -0.05 NaN '' 1970-01-01 '1970-01-01 00:00:00.000000' 00:00:00
+U NULL NULL NULL 'NULL' NULL NULL NULL
-U TRUE 0.00 1e+100 '/' 2000-01-01 '2000-01-01 23:59:59.999999' 23:59:59`
	b := parse(t, ts, text)
	if got := exectest.Format(b); got != text {
		t.Fatalf("round trip:\n%s\nwant:\n%s", got, text)
	}
	if d := exectest.Get(&b.Cols[3], 2); d.Null || d.S != "NULL" {
		t.Fatalf("quoted NULL parsed as %v", d)
	}
	if got := exectest.Canonical(t, ts[:4], "+I true 12.5 1 ''''"); got != "+I TRUE 12.50 1 ''''" {
		t.Fatalf("canonical form %s", got)
	}
}
