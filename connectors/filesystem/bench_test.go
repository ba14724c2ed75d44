package filesystem

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

var benchSchema = types.Schema{
	{Name: "id", Type: types.BigInt},
	{Name: "name", Type: types.Varchar(32)},
	{Name: "price", Type: types.Decimal(10, 2)},
	{Name: "ts", Type: types.Type{Kind: types.KindTimestamp, Precision: 3}},
	{Name: "ok", Type: types.Bool},
	{Name: "qty", Type: types.Int},
}

// benchJSONLines returns n distinct records of about 100 bytes.
func benchJSONLines(n int) [][]byte {
	lines := make([][]byte, n)
	for i := range lines {
		lines[i] = fmt.Appendf(nil, `{"id":%d,"name":"customer-%06d","price":%d.%02d,"ts":"2024-03-%02d 12:%02d:%02d.%03d","ok":%t,"qty":%d}`,
			1_000_000+i, i, i%1000, i%100, 1+i%28, i%60, i%60, i%1000, i%2 == 0, i%50)
	}
	return lines
}

// BenchmarkJSONDecode measures the JSON line decoder alone (no I/O) on
// ~100-byte records of six columns.
func BenchmarkJSONDecode(b *testing.B) {
	lines := benchJSONLines(types.DefaultBatchSize)
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	d := newJSONDecoder(benchSchema, allCols(benchSchema), false, &arena{})
	ts := benchSchema.Types()
	batch := types.NewBatch(ts)
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := decode(d, lines[n%len(lines)], batch); err != nil {
			b.Fatal(err)
		}
		if n++; batch.Len() == types.DefaultBatchSize {
			batch.Reset(ts)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkJSONSource reads a file of ~100-byte records through the source
// (file reading, framing and decoding).
func BenchmarkJSONSource(b *testing.B) {
	lines := benchJSONLines(100_000)
	var sb strings.Builder
	for _, l := range lines {
		sb.Write(l)
		sb.WriteByte('\n')
	}
	path := filepath.Join(b.TempDir(), "in.json")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	tbl := newTable(benchSchema, "path", path, "format", "json")
	spec, err := Connector{}.NewSource(tbl, sourceRequest(allCols(benchSchema)...))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	records := 0
	batch := types.NewBatch(spec.Types)
	for b.Loop() {
		src, _ := spec.Factory(0)
		src.Open(taskContext(0, 1))
		for end := false; !end; {
			batch.Reset(spec.Types)
			if end, err = src.Next(batch); err != nil {
				b.Fatal(err)
			}
			records += batch.Len()
		}
		src.Close()
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkCSVDecode measures the CSV record decoder alone.
func BenchmarkCSVDecode(b *testing.B) {
	recs := make([][]byte, types.DefaultBatchSize)
	for i := range recs {
		recs[i] = fmt.Appendf(nil, `%d,"customer, %06d",%d.%02d,2024-03-%02d 12:%02d:%02d.%03d,%t,%d`,
			1_000_000+i, i, i%1000, i%100, 1+i%28, i%60, i%60, i%1000, i%2 == 0, i%50)
	}
	d := newCSVDecoder(benchSchema, allCols(benchSchema), csvOptions{delim: ',', quote: '"'}, &arena{})
	ts := benchSchema.Types()
	batch := types.NewBatch(ts)
	b.SetBytes(int64(len(recs[0])))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := decode(d, recs[n%len(recs)], batch); err != nil {
			b.Fatal(err)
		}
		if n++; batch.Len() == types.DefaultBatchSize {
			batch.Reset(ts)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkJSONEncode measures the sink's JSON encoder.
func BenchmarkJSONEncode(b *testing.B) {
	lines := benchJSONLines(types.DefaultBatchSize)
	d := newJSONDecoder(benchSchema, allCols(benchSchema), false, &arena{})
	batch := types.NewBatch(benchSchema.Types())
	for _, l := range lines {
		if err := decode(d, l, batch); err != nil {
			b.Fatal(err)
		}
	}
	e := newJSONEncoder(benchSchema, false)
	var buf []byte
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		buf = e.appendRow(buf[:0], batch, n%batch.Len())
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
