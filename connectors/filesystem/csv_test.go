package filesystem

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

var csvSchema = types.Schema{
	{Name: "id", Type: types.Int},
	{Name: "s", Type: types.String},
	{Name: "amount", Type: types.Decimal(6, 2)},
	{Name: "day", Type: types.Date},
}

func TestCSVSource(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.csv")
	writeFile(t, path, strings.Join([]string{
		`1,plain,1.50,2024-03-01`,
		`2,"with ""quotes"", commas",-3,2024-03-02`,
		`3,"multi`,
		`line",,`,
		`# not a comment unless allowed,x,1,2024-01-01`,
		``,
		`4,,0.01,`,
		`5,"",7,2024-03-05`,
		`6,NULL,NULL,NULL`,
		"7,crlf,1,2024-03-07\r",
	}, "\n")+"\n")
	tbl := newTable(csvSchema, "path", path, "format", "csv")

	_, err := readTable(t, tbl, allCols(csvSchema), 1)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 5 || !strings.Contains(err.Error(), "line 5: invalid CSV record: field 'id': invalid INT value '# not a comment unless allowed'") {
		t.Fatalf("got %v, want an error at line 5", err)
	}

	tbl.Options["csv.allow-comments"] = "true"
	_, err = readTable(t, tbl, allCols(csvSchema), 1)
	if err == nil || !strings.Contains(err.Error(), "line 9: invalid CSV record: field 'amount': invalid DECIMAL(6, 2) value 'NULL'") {
		t.Fatalf("got %v, want 'NULL' rejected at line 9 without csv.null-literal", err)
	}

	tbl.Options["csv.null-literal"] = "NULL"
	rows, err := readTable(t, tbl, allCols(csvSchema), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"+I[1, plain, 1.50, 2024-03-01]",
		`+I[2, with "quotes", commas, -3.00, 2024-03-02]`,
		"+I[3, multi\nline, NULL, NULL]",
		"+I[4, , 0.01, NULL]",
		"+I[5, , 7.00, 2024-03-05]",
		"+I[6, NULL, NULL, NULL]",
		"+I[7, crlf, 1.00, 2024-03-07]",
	}
	if !slices.Equal(rows, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
}

func TestCSVDecodeErrors(t *testing.T) {
	d := newCSVDecoder(csvSchema, allCols(csvSchema), csvOptions{delim: ';', quote: '\''}, &arena{})
	cases := []struct{ rec, want string }{
		{`1;a;1`, "3 fields, expected 4"},
		{`1;a;1;2024-01-01;`, "more than 4 fields"},
		{`1;'a'x;1;2024-01-01`, "unexpected 'x' after a closing quote"},
		{`1;'a;1;2024-01-01`, "unterminated quoted field"},
		{`1;a;1.234;2024-01-01`, ""}, // rounded to 1.23: valid
		{`x;a;1;2024-01-01`, "field 'id': invalid INT value 'x'"},
		{`1;a;1;01/02/2024`, "field 'day': invalid DATE value '01/02/2024'"},
	}
	for _, c := range cases {
		b := types.NewBatch(csvSchema.Types())
		err := decode(d, []byte(c.rec), b)
		if c.want == "" {
			if err != nil || b.Len() != 1 {
				t.Errorf("%s: %v", c.rec, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || b.Len() != 0 || b.Cols[0].Len() != 0 {
			t.Errorf("%s: got %v (rows %d), want %q", c.rec, err, b.Len(), c.want)
		}
	}
	b := types.NewBatch(csvSchema.Types())
	if err := decode(d, []byte(` 1 ;'it''s; fine'; 2.5 ;2024-01-01`), b); err != nil {
		t.Fatal(err)
	}
	if got := showRows(b)[0]; got != "+I[1, it's; fine, 2.50, 2024-01-01]" {
		t.Fatalf("got %q", got)
	}
}

func TestCSVIgnoreParseErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.csv"), "1,a,1,2024-01-01\nbad\n2,b,2,2024-01-02\n3,\"open\n")
	tbl := newTable(csvSchema, "path", dir, "format", "csv", "csv.ignore-parse-errors", "true")
	spec, err := Connector{}.NewSource(tbl, sourceRequest(0, 1))
	if err != nil {
		t.Fatal(err)
	}
	src, _ := spec.Factory(0)
	src.Open(taskContext(0, 1))
	rows, err := drain(src, spec.Types)
	if err != nil || !slices.Equal(rows, []string{"+I[1, a]", "+I[2, b]"}) {
		t.Fatalf("got %v, %v", rows, err)
	}
	if n := src.(*Source).Skipped(); n != 2 {
		t.Fatalf("skipped %d records, want 2", n)
	}
}
