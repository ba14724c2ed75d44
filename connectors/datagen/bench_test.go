package datagen

import (
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// BenchmarkDatagen measures one unthrottled subtask generating
// (BIGINT sequence, BIGINT random, VARCHAR(10) random, DOUBLE random).
func BenchmarkDatagen(b *testing.B) {
	schema := types.Schema{
		{Name: "id", Type: types.BigInt},
		{Name: "r", Type: types.BigInt},
		{Name: "s", Type: types.Varchar(10)},
		{Name: "d", Type: types.Double},
	}
	tbl := newTable(schema, map[string]string{
		"rows-per-second": "0",
		"fields.id.kind":  "sequence", "fields.id.start": "0", "fields.id.end": "9223372036854775806",
	})
	spec, err := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: []int{0, 1, 2, 3}})
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
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
