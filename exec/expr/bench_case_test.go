package expr

import (
	"fmt"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

// channelBatch builds n rows shaped like Nexmark's bids after q21's
// LOWER: ch, a channel name (half of the rows one of four hot names, the
// rest "channel-N"), ch2 a copy of ch, and id, the channel_id parameter
// (NULL for every 10th row).
func channelBatch(n int) *types.Batch {
	hot := []string{"apple", "google", "facebook", "baidu"}
	b := &types.Batch{}
	b.Reset([]types.Type{types.String, types.String, types.String})
	x := uint32(12345)
	for i := 0; i < n; i++ {
		x = x*1664525 + 1013904223
		ch := fmt.Sprintf("channel-%d", x>>22)
		if x>>31 == 0 {
			ch = hot[(x>>16)&3]
		}
		id := types.StringDatum(fmt.Sprint(x >> 20))
		if i%10 == 0 {
			id = types.NullDatum(types.String)
		}
		b.AppendRow(types.Insert, []types.Datum{types.StringDatum(ch), types.StringDatum(ch), id})
	}
	return b
}

// BenchmarkCase evaluates q21's CASE: four string WHENs with constant
// results and a column ELSE, over 1024 rows. "lookup" is q21's form, all
// conditions comparing one column with constants (one index probe per
// row); "conds" tests the last WHEN on another column, so the conditions
// run one after another over the rows still undecided; "nested" puts the
// CASE in the ELSE of another, which only half of the rows reach.
// "in" is q21's filter term ch IN ('apple', 'google', 'facebook', 'baidu').
func BenchmarkCase(b *testing.B) {
	src := channelBatch(types.DefaultBatchSize)
	ch := Col(0, types.String, "ch")
	ch2 := Col(1, types.String, "ch2")
	id := Col(2, types.String, "id")
	q21 := func(last Expr, els Expr) mk {
		return func() (Expr, error) {
			var whens []Expr
			for i, name := range []string{"apple", "google", "facebook", "baidu"} {
				x := ch
				if i == 3 {
					x = last
				}
				w, err := Call("=", x, Lit(types.StringDatum(name)))
				if err != nil {
					return nil, err
				}
				whens = append(whens, w)
			}
			thens := []Expr{Lit(types.StringDatum("0")), Lit(types.StringDatum("1")),
				Lit(types.StringDatum("2")), Lit(types.StringDatum("3"))}
			return Case(whens, thens, els)
		}
	}
	nested := func() (Expr, error) {
		inner, err := q21(ch, id)()
		if err != nil {
			return nil, err
		}
		w, err := Call("LIKE", ch, Lit(types.StringDatum("channel-%")))
		if err != nil {
			return nil, err
		}
		return Case([]Expr{w}, []Expr{Lit(types.StringDatum("-"))}, inner)
	}
	for _, bc := range []struct {
		name string
		e    mk
	}{
		{"lookup", q21(ch, id)},
		{"conds", q21(ch2, id)},
		{"nested", nested},
		{"in", func() (Expr, error) {
			var list []Expr
			for _, name := range []string{"apple", "google", "facebook", "baidu"} {
				list = append(list, Lit(types.StringDatum(name)))
			}
			return In(ch, list, false)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := mustBuild(b, bc.e)
			var out types.Vector
			if err := e.Eval(src, &out); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := e.Eval(src, &out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*src.Len()), "ns/row")
		})
	}
}
