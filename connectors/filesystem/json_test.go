package filesystem

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

var jsonSchema = types.Schema{
	{Name: "id", Type: types.BigInt},
	{Name: "Name", Type: types.String},
	{Name: "price", Type: types.Decimal(10, 2)},
	{Name: "ok", Type: types.Bool},
	{Name: "ts", Type: types.Type{Kind: types.KindTimestamp, Precision: 3}},
	{Name: "d", Type: types.Double},
}

func decodeJSON(t *testing.T, schema types.Schema, cols []int, failOnMissing bool, lines ...string) ([]string, []error) {
	t.Helper()
	d := newJSONDecoder(schema, cols, failOnMissing, &arena{})
	ts := make([]types.Type, len(cols))
	for i, c := range cols {
		ts[i] = schema[c].Type
	}
	b := types.NewBatch(ts)
	var errs []error
	for _, l := range lines {
		buf := []byte(l)
		err := decode(d, buf, b)
		for i := range buf { // the decoder must not keep references to its input
			buf[i] = 'X'
		}
		errs = append(errs, err)
	}
	return showRows(b), errs
}

func TestJSONDecode(t *testing.T) {
	rows, errs := decodeJSON(t, jsonSchema, allCols(jsonSchema), false,
		`{"id": 1, "name": "a\"b\\c\u00e9\ud83d\ude00", "price": 12.345, "ok": true, "ts": "2024-01-02 03:04:05.6789", "d": 1e3}`,
		`  {"ID":2,"NAME":null,"price":"7","ok":false,"ts":"2024-01-02T03:04:05Z","d":"NaN","extra":{"x":[1,2,{"y":null}]}}  `,
		`{"id":3}`,
		`{}`,
		`{"id":4,"id":5,"name":{"nested":[true]},"d":-0.5E-1,"price":-1e-2}`,
		`{"name":12.50,"ok":null}`,
	)
	want := []string{
		"+I[1, a\"b\\cé😀, 12.35, TRUE, 2024-01-02 03:04:05.678, 1000]",
		"+I[2, NULL, 7.00, FALSE, 2024-01-02 03:04:05.000, NaN]",
		"+I[3, NULL, NULL, NULL, NULL, NULL]",
		"+I[NULL, NULL, NULL, NULL, NULL, NULL]",
		`+I[5, {"nested":[true]}, -0.01, NULL, NULL, -0.05]`,
		"+I[NULL, 12.50, NULL, NULL, NULL, NULL]",
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("line %d: %v", i, err)
		}
	}
	if !slices.Equal(rows, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
}

func TestJSONDecodeProjection(t *testing.T) {
	// Column 3 (ok) is not requested: its bad value goes unnoticed.
	rows, errs := decodeJSON(t, jsonSchema, []int{5, 0}, false, `{"id":1,"ok":"maybe","d":2.5}`)
	if errs[0] != nil || !slices.Equal(rows, []string{"+I[2.5, 1]"}) {
		t.Fatalf("got %v, %v", rows, errs)
	}
	rows, errs = decodeJSON(t, jsonSchema, nil, false, `{"id":1}`, `{"id":`)
	if errs[0] != nil || errs[1] == nil || !slices.Equal(rows, []string{"+I[]"}) {
		t.Fatalf("no columns: got %v, %v", rows, errs)
	}
}

func TestJSONDecodeErrors(t *testing.T) {
	cases := []struct{ line, want string }{
		{`[1]`, "expected '{' at offset 0"},
		{`{"id":1`, "expected ',' or '}' at offset 7"},
		{`{"id" 1}`, "expected ':' after a field name"},
		{`{id:1}`, "expected a field name at offset 1"},
		{`{"id":1}x`, "unexpected data after the object"},
		{`{"name":"abc}`, "unterminated string"},
		{`{"id":tru}`, "invalid literal"},
		{`{"id":01x}`, "expected ',' or '}'"},
		{`{"id":-}`, "invalid number"},
		{`{"extra":[1,2}`, "expected ',' or ']'"},
		{`{"id":1.5}`, "field 'id': invalid BIGINT value '1.5'"},
		{`{"id":"x"}`, "field 'id': invalid BIGINT value 'x'"},
		{`{"price":123456789}`, "field 'price': invalid DECIMAL(10, 2) value '123456789'"},
		{`{"ts":"2024-02-30 00:00:00"}`, "field 'ts': invalid TIMESTAMP(3) value '2024-02-30 00:00:00'"},
		{`{"ok":1}`, "field 'ok': invalid BOOLEAN value '1'"},
		{`{"id":{}}`, "field 'id': invalid BIGINT value '{}'"},
		{`{"d":true}`, "field 'd': invalid DOUBLE value 'true'"},
		{"{\"name\":\"a\tb\"}", "control character in a string"},
	}
	for _, c := range cases {
		rows, errs := decodeJSON(t, jsonSchema, allCols(jsonSchema), false, c.line)
		if errs[0] == nil || !strings.Contains(errs[0].Error(), c.want) {
			t.Errorf("%s: got error %v, want %q", c.line, errs[0], c.want)
		}
		if len(rows) != 0 {
			t.Errorf("%s: a failed record left rows %v", c.line, rows)
		}
	}

	_, errs := decodeJSON(t, jsonSchema, allCols(jsonSchema), true, `{"id":1,"name":"x","price":1,"ok":true,"ts":null}`)
	var fe *fieldError
	if !errors.As(errs[0], &fe) || !errors.Is(errs[0], errMissingField) || fe.field != "d" {
		t.Errorf("fail-on-missing-field: got %v", errs[0])
	}
	nn := types.Schema{{Name: "k", Type: types.Type{Kind: types.KindInt, NotNull: true}}}
	if _, errs := decodeJSON(t, nn, []int{0}, false, `{"k":null}`, `{}`); !errors.Is(errs[0], errNullInNotNull) || !errors.Is(errs[1], errNullInNotNull) {
		t.Errorf("NOT NULL: got %v", errs)
	}
}

func TestJSONSourceErrorNamesFileAndLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in.json")
	writeFile(t, path, "{\"id\":1}\n\n{\"id\":2}\r\n{\"id\":3,}\n{\"id\":4}\n")
	schema := types.Schema{{Name: "id", Type: types.Int}}
	tbl := newTable(schema, "path", path, "format", "json")

	rows, err := readTable(t, tbl, []int{0}, 1)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 4 || pe.File != path {
		t.Fatalf("got %v, want a ParseError at line 4 of %s", err, path)
	}
	wantMsg := "filesystem source '" + path + "' line 4: invalid JSON: expected a field name at offset 8"
	if err.Error() != wantMsg {
		t.Fatalf("message %q, want %q", err.Error(), wantMsg)
	}
	if len(rows) != 2 {
		t.Fatalf("rows before the error: %v", rows)
	}

	tbl.Options["json.ignore-parse-errors"] = "true"
	rows, err = readTable(t, tbl, []int{0}, 1)
	if err != nil || !slices.Equal(rows, []string{"+I[1]", "+I[2]", "+I[4]"}) {
		t.Fatalf("ignore mode: %v, %v", rows, err)
	}
}

func TestJSONLongLines(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", readBufferSize*2+17)
	writeFile(t, filepath.Join(dir, "a.json"), `{"s":"`+long+`"}`+"\n"+`{"s":"short"}`) // no final newline
	schema := types.Schema{{Name: "s", Type: types.String}}
	rows, err := readTable(t, newTable(schema, "path", dir, "format", "json"), []int{0}, 1)
	if err != nil || len(rows) != 2 || rows[0] != "+I["+long+"]" || rows[1] != "+I[short]" {
		t.Fatalf("got %d rows, %v", len(rows), err)
	}
}
