package format

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/types"
)

// testSet is a minimal SetText: strings are copied, BIGINT and DOUBLE are
// parsed with strconv, anything else is rejected.
func testSet(v *types.Vector, r int, text []byte) error {
	switch v.Type.Kind {
	case types.KindChar, types.KindVarchar, types.KindString:
		v.Str[r] = string(text)
		return nil
	case types.KindBigInt:
		n, err := strconv.ParseInt(string(text), 10, 64)
		if err != nil {
			return BadValue(v.Type, text)
		}
		v.I64[r] = n
		return nil
	case types.KindDouble:
		f, err := strconv.ParseFloat(string(text), 64)
		if err != nil {
			return BadValue(v.Type, text)
		}
		v.F64[r] = f
		return nil
	}
	return BadValue(v.Type, text)
}

// The batch has an extra column (index 1) that no field names: the
// decoder must leave it alone.
var testTypes = []types.Type{types.BigInt, types.String, types.String, types.Double, types.Bool}

func testFields() []Field {
	return []Field{{"id", 0}, {"Name", 2}, {"score", 3}, {"ok", 4}}
}

// decodeAll appends recs to a batch, overwriting each input after the call
// to check that the decoder keeps no reference to it.
func decodeAll(t *testing.T, d Decoder, recs ...string) (*types.Batch, []error) {
	t.Helper()
	b := types.NewBatch(testTypes)
	var errs []error
	for _, r := range recs {
		buf := []byte(r)
		err := Append(d, buf, b)
		for i := range buf {
			buf[i] = 'X'
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return b, errs
}

func TestJSONDecode(t *testing.T) {
	d := NewJSONDecoder(testFields(), testSet, JSONOptions{})
	b, errs := decodeAll(t, d,
		`{"id":1,"name":"a\"b\u00e9\ud83d\ude00","score":1.5,"ok":true}`,
		`  {"NAME":"x","ID":"2","extra":{"x":[1,{"y":null}]},"score":-2e1}  `,
		`{"name":{"n":[true]},"ok":false,"score":null}`,
		`{"id":4,"id":5,"name":true}`,
		`{}`,
	)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	exectest.Expect(t, testTypes, []*types.Batch{b}, `
+I 1 '' 'a"bé😀' 1.5 true
+I 2 '' x -20 NULL
+I NULL '' '{"n":[true]}' NULL false
+I 5 '' true NULL NULL
+I NULL '' NULL NULL NULL`)
}

func TestJSONErrors(t *testing.T) {
	d := NewJSONDecoder(testFields(), testSet, JSONOptions{})
	cases := []struct{ rec, want string }{
		{`[1]`, "expected '{' at offset 0"},
		{`{"id":4`, "expected ',' or '}' at offset 7"},
		{`{"id":`, "expected a value at offset 6"},
		{`{"id" 1}`, "expected ':' after a field name at offset 6"},
		{`{"id":1} x`, "unexpected data after the object at offset 9"},
		{`{"id":tru}`, "invalid literal at offset 6"},
		{`{"id":-}`, "invalid number at offset 6"},
		{`{"id":@}`, "unexpected character '@' at offset 6"},
		{`{"x":[1,}`, "unexpected character '}' at offset 8"},
		{"{\"name\":\"a\x01\"}", "control character in a string at offset 10"},
		{`{"name":"ab`, "unterminated string at offset 8"},
		{`{"id":"x"}`, "field 'id': invalid BIGINT value 'x'"},
		{`{"id":true}`, "field 'id': invalid BIGINT value 'true'"},
		{`{"ok":1}`, "field 'ok': invalid BOOLEAN value '1'"},
		{`{"score":[1]}`, "field 'score': invalid DOUBLE value '[1]'"},
	}
	for _, c := range cases {
		b, errs := decodeAll(t, d, c.rec)
		if len(errs) != 1 || errs[0].Error() != c.want {
			t.Errorf("%q: errors %v, want %q", c.rec, errs, c.want)
			continue
		}
		if b.Len() != 0 || len(b.Ops) != 0 {
			t.Errorf("%q: the malformed record left %d rows", c.rec, b.Len())
		}
		var se *SyntaxError
		var fe *FieldError
		if isField := strings.HasPrefix(c.want, "field "); isField != errors.As(errs[0], &fe) || isField == errors.As(errs[0], &se) {
			t.Errorf("%q: error type %T", c.rec, errs[0])
		}
	}
}

func TestJSONMissingAndNotNull(t *testing.T) {
	d := NewJSONDecoder(testFields(), testSet, JSONOptions{FailOnMissingField: true})
	_, errs := decodeAll(t, d, `{"id":1,"name":"a","score":2}`)
	var fe *FieldError
	if len(errs) != 1 || !errors.Is(errs[0], ErrMissingField) || !errors.As(errs[0], &fe) || fe.Field != "ok" {
		t.Fatalf("errors %v", errs)
	}

	notNull := types.BigInt
	notNull.NotNull = true
	nn := []types.Type{notNull}
	d = NewJSONDecoder([]Field{{"k", 0}}, testSet, JSONOptions{})
	b := types.NewBatch(nn)
	for _, rec := range []string{`{"k":null}`, `{}`, `{"k":null,"k":3}`} {
		err := Append(d, []byte(rec), b)
		if rec == `{"k":null,"k":3}` {
			if err != nil {
				t.Fatalf("%s: %v", rec, err)
			}
		} else if !errors.Is(err, ErrNullInNotNull) {
			t.Fatalf("%s: error %v", rec, err)
		}
	}
	exectest.Expect(t, nn, []*types.Batch{b}, `+I 3`)
}

// TestJSONHints checks that the field-order cache does not confuse records
// whose fields come in a different order or with unknown names.
func TestJSONHints(t *testing.T) {
	d := NewJSONDecoder(testFields(), testSet, JSONOptions{})
	var recs []string
	var want strings.Builder
	for i := range 6 {
		switch i % 3 {
		case 0:
			recs = append(recs, fmt.Sprintf(`{"id":%d,"name":"n%d"}`, i, i))
		case 1:
			recs = append(recs, fmt.Sprintf(`{"name":"n%d","id":%d}`, i, i))
		default:
			recs = append(recs, fmt.Sprintf(`{"zz":1,"id":%d,"nAmE":"n%d"}`, i, i))
		}
		fmt.Fprintf(&want, "+I %d '' n%d NULL NULL\n", i, i)
	}
	b, errs := decodeAll(t, d, recs...)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	exectest.Expect(t, testTypes, []*types.Batch{b}, want.String())
}

func TestUnescape(t *testing.T) {
	cases := []struct{ in, want string }{
		{`plain`, "plain"},
		{`\n\t\r\b\f\/\\\"`, "\n\t\r\b\f/\\\""},
		{`\u00e9\u20AC`, "é€"},
		{`\ud83d\ude00`, "😀"},
		{`\ud83d`, "\uFFFD"},
		{`\uzz`, "uzz"},
		{`\q`, "q"},
	}
	for _, c := range cases {
		if got := string(Unescape(nil, []byte(c.in))); got != c.want {
			t.Errorf("Unescape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSkipValue(t *testing.T) {
	for _, s := range []string{`"a\"b"`, `null`, `true`, `false`, `-1.5e+3`, `[]`, `{}`, `{"a":[1,{"b":null}],"c":"d"}`} {
		end, err := SkipValue([]byte(s+" ,"), 0)
		if err != nil || end != len(s) {
			t.Errorf("SkipValue(%q) = %d, %v", s, end, err)
		}
	}
	deep := []byte(strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2))
	var se *SyntaxError
	if _, err := SkipValue(deep, 0); !errors.As(err, &se) || se.Msg != "nested too deeply" {
		t.Errorf("deep nesting: %v", err)
	}
	for _, s := range []string{``, `{"a" 1}`, `[1 2]`, `nul`, `1.`, `{"a":1,}`} {
		if _, err := SkipValue([]byte(s), 0); !errors.As(err, &se) {
			t.Errorf("SkipValue(%q): error %v", s, err)
		}
	}
}

func TestDropSlotRestoresBatch(t *testing.T) {
	b := types.NewBatch(testTypes)
	AddSlot(b)
	b.Cols[2].Str[0] = "x"
	DropSlot(b)
	for j, v := range b.Cols {
		if len(v.I64) != 0 || len(v.F64) != 0 || len(v.Str) != 0 || len(v.Nulls) != 0 {
			t.Errorf("column %d not empty after DropSlot: %+v", j, v)
		}
	}
	if s := b.Cols[2].Str[:1][0]; s != "" {
		t.Errorf("dropped string still referenced: %q", s)
	}
}

// BenchmarkJSONDecode measures the decoder alone on ~100-byte records.
func BenchmarkJSONDecode(b *testing.B) {
	recs := make([][]byte, types.DefaultBatchSize)
	size := 0
	for i := range recs {
		recs[i] = fmt.Appendf(nil, `{"id":%d,"name":"customer-%06d","score":%d.25,"ok":%t,"note":"abcdefgh\"ij"}`, i, i, i, i%2 == 0)
		size += len(recs[i])
	}
	d := NewJSONDecoder(testFields(), testSet, JSONOptions{})
	batch := types.NewBatch(testTypes)
	b.SetBytes(int64(size / len(recs)))
	b.ReportAllocs()
	for n := 0; b.Loop(); n++ {
		if n%len(recs) == 0 {
			batch.Reset(testTypes)
		}
		if err := Append(d, recs[n%len(recs)], batch); err != nil {
			b.Fatal(err)
		}
	}
}
