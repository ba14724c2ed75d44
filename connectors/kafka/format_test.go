package kafka

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/types"
)

var decTypes = []types.Type{types.BigInt, types.String, types.Double, types.Bool, types.Decimal(10, 2)}

func decFields() []field {
	return []field{{"id", 0}, {"name", 1}, {"score", 2}, {"ok", 3}, {"amount", 4}}
}

func decodeAll(t *testing.T, d valueDecoder, recs ...string) (*types.Batch, []error) {
	t.Helper()
	b := types.NewBatch(decTypes)
	var errs []error
	for _, r := range recs {
		n := b.Len()
		addSlot(b)
		if err := d.fill([]byte(r), b, n); err != nil {
			dropSlot(b)
			errs = append(errs, err)
			continue
		}
		b.Ops = append(b.Ops, types.Insert)
	}
	return b, errs
}

func TestJSONDecode(t *testing.T) {
	d := newJSONDecoder(decFields(), false, &arena{})
	b, errs := decodeAll(t, d,
		`{"id":1,"name":"a\"b","score":1.5,"ok":true,"amount":"12.30"}`,
		`{"NAME":"\u00e9","id":2,"extra":{"x":[1,2]},"amount":3}`,
		`{"id":3,"name":{"nested":1},"ok":false,"score":null}`,
		`{"id":"x"}`, `{"id":4`, `[1]`)
	exectest.Expect(t, decTypes, []*types.Batch{b}, `
+I 1 'a"b' 1.5 true 12.30
+I 2 é NULL NULL 3.00
+I 3 '{"nested":1}' NULL false NULL`)
	want := []string{"field 'id': invalid BIGINT value 'x'", "invalid JSON: expected ',' or '}' at offset 7", "invalid JSON: expected '{' at offset 0"}
	if len(errs) != len(want) {
		t.Fatalf("errors %v", errs)
	}
	for i, e := range errs {
		if e.Error() != want[i] {
			t.Errorf("error %d = %q, want %q", i, e, want[i])
		}
	}
}

func TestJSONFailOnMissingField(t *testing.T) {
	d := newJSONDecoder(decFields(), true, &arena{})
	_, errs := decodeAll(t, d, `{"id":1}`)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "missing field") {
		t.Fatalf("errors %v", errs)
	}
}

func TestCSVDecodeAndEncodeRoundTrip(t *testing.T) {
	f := format{name: formatCSV, delim: ','}
	d := newValueDecoder(f, decFields(), &arena{})
	b, errs := decodeAll(t, d, `1,"a,""b""",1.5,true,12.3`, `2,,,,`, `3,x`)
	exectest.Expect(t, decTypes, []*types.Batch{b}, `
+I 1 'a,"b"' 1.5 true 12.30
+I 2 '' NULL NULL NULL`)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "2 fields, expected 5") {
		t.Fatalf("errors %v", errs)
	}
	enc := newEncoder(f, decFields())
	var lines []string
	for i := range b.Len() {
		out, err := enc.encode(nil, b, i)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(out))
	}
	if got := strings.Join(lines, "\n"); got != "1,\"a,\"\"b\"\"\",1.5,TRUE,12.30\n2,\"\",,," {
		t.Fatalf("encoded:\n%s", got)
	}
}

func TestJSONEncodeDecodeRoundTrip(t *testing.T) {
	b := exectest.MustParse(t, decTypes, "+I 7 'x\"\n\\y' -2.25 false -0.05\n+I NULL NULL NULL NULL NULL")
	enc := newEncoder(format{name: formatJSON}, decFields())
	d := newJSONDecoder(decFields(), false, &arena{})
	var recs []string
	for i := range b.Len() {
		out, _ := enc.encode(nil, b, i)
		recs = append(recs, string(out))
	}
	got, errs := decodeAll(t, d, recs...)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if exectest.Format(got) != exectest.Format(b) {
		t.Fatalf("round trip:\n%s\nwant\n%s\n(json %q)", exectest.Format(got), exectest.Format(b), recs)
	}
}

func BenchmarkJSONDecode(b *testing.B) {
	// ~100-byte records, as in the throughput target.
	recs := make([][]byte, 1024)
	size := 0
	for i := range recs {
		recs[i] = fmt.Appendf(nil, `{"id":%d,"name":"user-%06d","score":%d.25,"ok":true,"amount":"%d.50","note":"abcdefgh"}`, i, i, i, i)
		size += len(recs[i])
	}
	d := newJSONDecoder(decFields(), false, &arena{})
	bt := types.NewBatch(decTypes)
	b.SetBytes(int64(size / len(recs)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%len(recs) == 0 {
			bt.Reset(decTypes)
		}
		n := bt.Len()
		addSlot(bt)
		if err := d.fill(recs[i%len(recs)], bt, n); err != nil {
			b.Fatal(err)
		}
		bt.Ops = append(bt.Ops, types.Insert)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
