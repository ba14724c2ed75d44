package main

import (
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

var testCols = types.Schema{
	{Name: "id", Type: types.BigInt},
	{Name: "name", Type: types.String},
	{Name: "price", Type: types.Decimal(10, 2)},
	{Name: "ok", Type: types.Bool},
	{Name: "x", Type: types.Double},
}

var testRows = [][]types.Datum{
	{types.IntDatum(1), types.StringDatum("alice"), types.DecimalDatum(1250, 10, 2), types.BoolDatum(true), types.DoubleDatum(0.5)},
	{types.IntDatum(22), types.StringDatum("tab\there, \"q\""), types.NullDatum(types.Decimal(10, 2)), types.BoolDatum(false), types.NullDatum(types.Double)},
}

func render(t *testing.T, f format, changelog, streaming bool) string {
	t.Helper()
	var b strings.Builder
	w, err := newResultWriter(&b, f, testCols, changelog, streaming)
	if err != nil {
		t.Fatal(err)
	}
	ops := []types.Op{types.Insert, types.UpdateAfter}
	for i, r := range testRows {
		if err := w.WriteRow(ops[i], r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct {
		name      string
		f         format
		changelog bool
		streaming bool
		want      string
	}{
		{"table", formatTable, false, false, `
+----+----------------+-------+-------+------+
| id | name           | price | ok    | x    |
+----+----------------+-------+-------+------+
|  1 | alice          | 12.50 | TRUE  |  0.5 |
| 22 | tab\there, "q" |  NULL | FALSE | NULL |
+----+----------------+-------+-------+------+
`},
		{"table changelog", formatTable, true, false, `
+----+----+----------------+-------+-------+------+
| op | id | name           | price | ok    | x    |
+----+----+----------------+-------+-------+------+
| +I |  1 | alice          | 12.50 | TRUE  |  0.5 |
| +U | 22 | tab\there, "q" |  NULL | FALSE | NULL |
+----+----+----------------+-------+-------+------+
`},
		{"tsv", formatTSV, false, false, `
1	alice	12.50	TRUE	0.5
22	tab\there, "q"	NULL	FALSE	NULL
`},
		{"csv", formatCSV, false, false, `
1,alice,12.50,TRUE,0.5
22,"tab	here, ""q""",NULL,FALSE,NULL
`},
		{"csv changelog", formatCSV, true, false, `
+I,1,alice,12.50,TRUE,0.5
+U,22,"tab	here, ""q""",NULL,FALSE,NULL
`},
		{"json", formatJSON, false, false, `
{"id":1,"name":"alice","price":12.50,"ok":true,"x":0.5}
{"id":22,"name":"tab\there, \"q\"","price":null,"ok":false,"x":null}
`},
		{"json changelog", formatJSON, true, false, `
{"op":"+I","id":1,"name":"alice","price":12.50,"ok":true,"x":0.5}
{"op":"+U","id":22,"name":"tab\there, \"q\"","price":null,"ok":false,"x":null}
`},
		{"table streaming", formatTable, true, true, `
+----+----------------------+----------------------+--------------+-------+----------------------+
| op | id                   | name                 | price        | ok    | x                    |
+----+----------------------+----------------------+--------------+-------+----------------------+
| +I |                    1 | alice                |        12.50 | TRUE  |                  0.5 |
| +U |                   22 | tab\there, "q"       |         NULL | FALSE |                 NULL |
+----+----------------------+----------------------+--------------+-------+----------------------+
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := render(t, tc.f, tc.changelog, tc.streaming)
			if want := tc.want[1:]; got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"table", "tsv", "CSV", "json"} {
		if _, err := parseFormat(s); err != nil {
			t.Errorf("parseFormat(%q): %v", s, err)
		}
	}
	if _, err := parseFormat("xml"); err == nil {
		t.Error("parseFormat(xml): no error")
	}
}

func TestRowsSummary(t *testing.T) {
	for n, want := range map[int]string{0: "0 rows in set (0.012 sec)", 1: "1 row in set (0.012 sec)", 3: "3 rows in set (0.012 sec)"} {
		if got := rowsSummary(n, 0.0123); got != want {
			t.Errorf("rowsSummary(%d) = %q, want %q", n, got, want)
		}
	}
}
