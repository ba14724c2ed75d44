package nexmark

import (
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// BenchmarkGenerator measures one subtask generating each table with all
// its columns, and the bid table with the columns q1/q2 read, reporting
// rows/s and events/s (events of all kinds the rows stand for: a bid row
// is 50/46 events).
//
//	go test -run XXX -bench Generator -cpu 1 ./connectors/nexmark/
func BenchmarkGenerator(b *testing.B) {
	cases := []struct {
		name   string
		table  string
		schema types.Schema
		cols   []int
		share  float64 // fraction of events of this kind
	}{
		{"bid_all", "bid", bidSchema, allCols(bidSchema), bidProportion / float64(totalProportion)},
		{"bid_auction_price", "bid", bidSchema, []int{0, 2}, bidProportion / float64(totalProportion)},
		{"person_all", "person", personSchema, allCols(personSchema), personProportion / float64(totalProportion)},
		{"auction_all", "auction", auctionSchema, allCols(auctionSchema), auctionProportion / float64(totalProportion)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			tbl := newTable(c.schema, "nexmark.table", c.table)
			spec, err := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: c.cols})
			if err != nil {
				b.Fatal(err)
			}
			src, _ := spec.Factory(0)
			if err := src.Open(&exec.TaskContext{Parallelism: 1}); err != nil {
				b.Fatal(err)
			}
			batch := types.NewBatch(spec.Types)
			rows := 0
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				batch.Reset(spec.Types)
				if _, err := src.Next(batch); err != nil {
					b.Fatal(err)
				}
				rows += batch.Len()
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(rows)/sec, "rows/s")
			b.ReportMetric(float64(rows)/c.share/sec, "events/s")
		})
	}
}
