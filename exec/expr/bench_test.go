package expr

import (
	"fmt"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

// benchBatch builds n rows: a BIGINT, f DOUBLE, d DECIMAL(10,2), s VARCHAR,
// n INT (every 7th NULL).
func benchBatch(n int) *types.Batch {
	ts := []types.Type{types.BigInt, types.Double, types.Decimal(10, 2), types.Varchar(32), types.Int}
	b := &types.Batch{}
	b.Reset(ts)
	for i := 0; i < n; i++ {
		s := fmt.Sprintf("xyz-%d", i)
		if i%3 == 0 {
			s = fmt.Sprintf("abc-%d", i)
		}
		nv := types.Datum{Type: types.Int, I: int64(i % 10)}
		if i%7 == 0 {
			nv = types.NullDatum(types.Int)
		}
		b.AppendRow(types.Insert, []types.Datum{
			types.IntDatum(int64(i)), types.DoubleDatum(float64(i) / 3),
			types.DecimalDatum(int64(i*17), 10, 2), {Type: types.Varchar(32), S: s}, nv,
		})
	}
	return b
}

func mustBuild(tb testing.TB, m mk) Expr {
	e, err := m()
	if err != nil {
		tb.Fatal(err)
	}
	f, err := Fold(e)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// BenchmarkFilterProject runs WHERE a > 100 AND s LIKE 'abc%' and then
// projects six expressions over the surviving rows (30%), 1024 rows per
// batch: "all" copies the input batch, filters, compacts and projects;
// "filter" and "project" time the expression work alone (project over all
// rows). ns/row is per input row. The steady state allocates nothing.
func BenchmarkFilterProject(b *testing.B) {
	src := benchBatch(types.DefaultBatchSize)
	a := Col(0, types.BigInt, "a")
	f := Col(1, types.Double, "f")
	d := Col(2, types.Decimal(10, 2), "d")
	s := Col(3, types.Varchar(32), "s")
	nc := Col(4, types.Int, "n")
	pred := mustBuild(b, C("AND", C(">", a, 100), C("LIKE", s, "abc%")))
	proj := []Expr{
		mustBuild(b, C("+", C("*", a, 2), 1)),
		mustBuild(b, C("*", f, 1.5)),
		mustBuild(b, C("+", d, D("1.25"))),
		mustBuild(b, C("SUBSTRING", s, 1, 3)),
		mustBuild(b, func() (Expr, error) {
			w, _ := C(">", a, 500)()
			return Case([]Expr{w}, []Expr{Lit(types.StringDatum("big"))}, Lit(types.StringDatum("small")))
		}),
		mustBuild(b, C("COALESCE", nc, 0)),
	}
	work := &types.Batch{}
	work.Reset(src.Types())
	outs := make([]types.Vector, len(proj))
	var keep []bool
	filter := func(in *types.Batch) {
		var err error
		if keep, err = Filter(pred, in, keep); err != nil {
			b.Fatal(err)
		}
	}
	project := func(in *types.Batch) {
		for i, p := range proj {
			if err := p.Eval(in, &outs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	all := func() {
		n := src.Len()
		work.Ops = append(work.Ops[:0], src.Ops...)
		for c := range src.Cols {
			copyVector(&work.Cols[c], &src.Cols[c], src.Cols[c].Type, n)
		}
		filter(work)
		work.Filter(keep)
		project(work)
	}
	all()
	if outs[0].Len() != 308 {
		b.Fatalf("kept %d rows", outs[0].Len())
	}
	for _, bc := range []struct {
		name string
		step func()
	}{
		{"all", all},
		{"filter", func() { filter(src) }},
		{"project", func() { project(src) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bc.step()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bc.step()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*src.Len()), "ns/row")
		})
	}
}

func TestFilterProjectAllocs(t *testing.T) {
	src := benchBatch(types.DefaultBatchSize)
	a := Col(0, types.BigInt, "a")
	s := Col(3, types.Varchar(32), "s")
	pred := mustBuild(t, C("AND", C(">", a, 100), C("LIKE", s, "abc%")))
	proj := mustBuild(t, C("+", C("*", a, 2), C("CHAR_LENGTH", C("SUBSTRING", s, 2))))
	var keep []bool
	var out types.Vector
	run := func() {
		var err error
		if keep, err = Filter(pred, src, keep); err != nil {
			t.Fatal(err)
		}
		if err := proj.Eval(src, &out); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if allocs := testing.AllocsPerRun(20, run); allocs != 0 {
		t.Fatalf("%v allocations per batch", allocs)
	}
}
