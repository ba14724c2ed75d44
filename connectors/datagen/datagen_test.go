package datagen

import (
	"context"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

func newTable(schema types.Schema, opts map[string]string) *connectors.Table {
	o := map[string]string{"connector": "datagen"}
	for k, v := range opts {
		o[k] = v
	}
	return &connectors.Table{Name: "t", Schema: schema, Options: o}
}

func allCols(s types.Schema) []int {
	cols := make([]int, len(s))
	for i := range cols {
		cols[i] = i
	}
	return cols
}

// readAll runs every subtask of the source to its end and returns the rows
// printed as "v1|v2|...", subtask by subtask.
func readAll(t *testing.T, tbl *connectors.Table, cols []int, p int) []string {
	t.Helper()
	spec, err := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: cols})
	if err != nil {
		t.Fatal(err)
	}
	if !spec.Bounded {
		t.Fatal("source is not bounded")
	}
	var rows []string
	for s := range p {
		src, err := spec.Factory(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := src.Open(&exec.TaskContext{Ctx: context.Background(), Subtask: s, Parallelism: p}); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, drain(t, src, spec.Types)...)
		if err := src.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return rows
}

func drain(t *testing.T, src exec.Source, ts []types.Type) []string {
	t.Helper()
	var rows []string
	b := types.NewBatch(ts)
	for {
		b.Reset(ts)
		end, err := src.Next(b)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, batchRows(b)...)
		if end {
			return rows
		}
	}
}

func batchRows(b *types.Batch) []string {
	var out []string
	for i := range b.Len() {
		var sb strings.Builder
		sb.WriteString(b.Ops[i].String())
		for c := range b.Cols {
			sb.WriteByte('|')
			if b.Cols[c].Type.Kind == types.KindBytes {
				sb.WriteString(hex.EncodeToString([]byte(b.Cols[c].Str[i]))) // raw bytes may hold the separator
			} else {
				sb.WriteString(b.Cols[c].Get(i).String())
			}
		}
		out = append(out, sb.String())
	}
	return out
}

var allKinds = types.Schema{
	{Name: "id", Type: types.BigInt},
	{Name: "b", Type: types.Bool},
	{Name: "ti", Type: types.TinyInt},
	{Name: "si", Type: types.SmallInt},
	{Name: "i", Type: types.Int},
	{Name: "bi", Type: types.BigInt},
	{Name: "f", Type: types.Float},
	{Name: "d", Type: types.Double},
	{Name: "dec", Type: types.Decimal(10, 2)},
	{Name: "c", Type: types.Type{Kind: types.KindChar, Length: 4}},
	{Name: "vc", Type: types.Varchar(10)},
	{Name: "s", Type: types.String},
	{Name: "by", Type: types.Bytes},
	{Name: "dt", Type: types.Date},
	{Name: "tm", Type: types.Type{Kind: types.KindTime, Precision: 3}},
	{Name: "ts", Type: types.Type{Kind: types.KindTimestamp, Precision: 3}},
	{Name: "ltz", Type: types.Type{Kind: types.KindTimestampLTZ, Precision: 6}},
}

func TestSameRowsAtAnyParallelism(t *testing.T) {
	tbl := newTable(allKinds, map[string]string{
		"rows-per-second": "0", "number-of-rows": "3000",
		"fields.s.null-rate": "0.3", "fields.dec.null-rate": "0.5",
	})
	one := readAll(t, tbl, allCols(allKinds), 1)
	three := readAll(t, tbl, allCols(allKinds), 3)
	if len(one) != 3000 || len(three) != 3000 {
		t.Fatalf("got %d and %d rows, want 3000", len(one), len(three))
	}
	slices.Sort(one)
	slices.Sort(three)
	if !slices.Equal(one, three) {
		t.Fatal("parallelism 1 and 3 produce different rows")
	}
	// Not all alike: random values vary from row to row.
	if distinct := slices.Compact(one); len(distinct) < 2990 {
		t.Fatalf("only %d distinct rows", len(distinct))
	}
}

func TestSequenceBoundsTable(t *testing.T) {
	schema := types.Schema{{Name: "id", Type: types.Int}, {Name: "name", Type: types.String}}
	tbl := newTable(schema, map[string]string{
		"fields.id.kind": "sequence", "fields.id.start": "5", "fields.id.end": "14",
		"rows-per-second": "-1",
	})
	rows := readAll(t, tbl, []int{0}, 3)
	slices.Sort(rows)
	want := []string{"+I|10", "+I|11", "+I|12", "+I|13", "+I|14", "+I|5", "+I|6", "+I|7", "+I|8", "+I|9"}
	if !slices.Equal(rows, want) {
		t.Fatalf("got %v, want %v", rows, want)
	}

	// number-of-rows and the sequence: the smaller wins, also when the
	// sequence column is projected away.
	tbl.Options["number-of-rows"] = "4"
	if rows := readAll(t, tbl, []int{1}, 2); len(rows) != 4 {
		t.Fatalf("got %d rows, want 4", len(rows))
	}
	tbl.Options["number-of-rows"] = "100"
	if rows := readAll(t, tbl, []int{1}, 2); len(rows) != 10 {
		t.Fatalf("got %d rows, want 10", len(rows))
	}
}

func TestSequenceKinds(t *testing.T) {
	schema := types.Schema{
		{Name: "d", Type: types.Decimal(6, 2)},
		{Name: "f", Type: types.Double},
		{Name: "s", Type: types.Varchar(5)},
	}
	opts := map[string]string{"rows-per-second": "0"}
	for _, c := range []string{"d", "f", "s"} {
		opts["fields."+c+".kind"] = "sequence"
		opts["fields."+c+".start"] = "-1"
		opts["fields."+c+".end"] = "1"
	}
	rows := readAll(t, newTable(schema, opts), []int{0, 1, 2}, 1)
	want := []string{"+I|-1.00|-1|-1", "+I|0.00|0|0", "+I|1.00|1|1"}
	if !slices.Equal(rows, want) {
		t.Fatalf("got %v, want %v", rows, want)
	}
}

func TestProjectionKeepsValues(t *testing.T) {
	tbl := newTable(allKinds, map[string]string{"rows-per-second": "0", "number-of-rows": "500"})
	full := readAll(t, tbl, allCols(allKinds), 2)
	proj := readAll(t, tbl, []int{10, 0, 15}, 2)
	if len(full) != len(proj) {
		t.Fatalf("%d vs %d rows", len(full), len(proj))
	}
	for i := range full {
		f := strings.Split(full[i], "|")
		want := strings.Join([]string{f[0], f[11], f[1], f[16]}, "|")
		if proj[i] != want {
			t.Fatalf("row %d: projected %q, want %q", i, proj[i], want)
		}
	}

	// No columns at all (COUNT(*)): rows without values.
	none := readAll(t, tbl, nil, 3)
	if len(none) != 500 || none[0] != "+I" {
		t.Fatalf("got %d rows (%q), want 500 bare rows", len(none), none[0])
	}
}

func TestRandomRanges(t *testing.T) {
	schema := types.Schema{
		{Name: "i", Type: types.Int},
		{Name: "dec", Type: types.Decimal(5, 2)},
		{Name: "ts", Type: types.Type{Kind: types.KindTimestamp, Precision: 0}},
		{Name: "s", Type: types.Varchar(20)},
		{Name: "n", Type: types.BigInt},
		{Name: "d", Type: types.Double},
	}
	tbl := newTable(schema, map[string]string{
		"rows-per-second": "0", "number-of-rows": "2000",
		"fields.i.min": "-3", "fields.i.max": "3",
		"fields.dec.min": "-1.5", "fields.dec.max": "2.25",
		"fields.ts.min": "2020-02-29 23:59:58", "fields.ts.max": "2020-03-01T00:00:01",
		"fields.s.length":    "17",
		"fields.n.null-rate": "0.25",
		"fields.d.min":       "10", "fields.d.max": "20",
	})
	spec, err := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: allCols(schema)})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := spec.Factory(0)
	if err := src.Open(&exec.TaskContext{Parallelism: 1}); err != nil {
		t.Fatal(err)
	}
	b := types.NewBatch(spec.Types)
	nulls, seen := 0, map[int64]bool{}
	tsLo := types.TimeToMicros(mustTime(t, "2020-02-29 23:59:58"))
	for end := false; !end; {
		b.Reset(spec.Types)
		if end, err = src.Next(b); err != nil {
			t.Fatal(err)
		}
		for r := range b.Len() {
			if v := b.Cols[0].I64[r]; v < -3 || v > 3 {
				t.Fatalf("i = %d out of [-3, 3]", v)
			} else {
				seen[v] = true
			}
			if v := b.Cols[1].I64[r]; v < -150 || v > 225 {
				t.Fatalf("dec = %d out of range", v)
			}
			if v := b.Cols[2].I64[r]; v < tsLo || v > tsLo+3_000_000 || v%1_000_000 != 0 {
				t.Fatalf("ts = %d out of range or not whole seconds", v)
			}
			s := b.Cols[3].Str[r]
			if len(s) != 17 || strings.Trim(s, hexDigits) != "" {
				t.Fatalf("s = %q, want 17 hex digits", s)
			}
			if b.Cols[4].IsNull(r) {
				nulls++
			}
			if v := b.Cols[5].F64[r]; v < 10 || v >= 20 {
				t.Fatalf("d = %v out of [10, 20)", v)
			}
		}
	}
	if len(seen) != 7 {
		t.Fatalf("i took %d distinct values, want 7", len(seen))
	}
	if nulls < 400 || nulls > 600 {
		t.Fatalf("%d NULLs of 2000 with null-rate 0.25", nulls)
	}
}

func TestPositionAndSeekTo(t *testing.T) {
	schema := types.Schema{{Name: "id", Type: types.BigInt}, {Name: "r", Type: types.BigInt}}
	tbl := newTable(schema, map[string]string{"rows-per-second": "0", "number-of-rows": "5000"})
	spec, err := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: []int{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	tc := &exec.TaskContext{Subtask: 1, Parallelism: 2}
	src, _ := spec.Factory(1)
	if err := src.Open(tc); err != nil {
		t.Fatal(err)
	}
	b := types.NewBatch(spec.Types)
	if _, err := src.Next(b); err != nil {
		t.Fatal(err)
	}
	pos := src.(*Source).Position()
	if pos != 1+2*int64(b.Len()) {
		t.Fatalf("position %d after %d rows of subtask 1/2", pos, b.Len())
	}
	rest := drain(t, src, spec.Types)

	restored, _ := spec.Factory(1)
	restored.(*Source).SeekTo(pos - 1) // aligned up to pos
	if err := restored.Open(tc); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, restored, spec.Types); !slices.Equal(got, rest) {
		t.Fatalf("after SeekTo: %d rows, want the %d remaining", len(got), len(rest))
	}
}

func TestValidationErrors(t *testing.T) {
	schema := types.Schema{
		{Name: "id", Type: types.Int},
		{Name: "s", Type: types.Varchar(5)},
		{Name: "nn", Type: types.Type{Kind: types.KindBigInt, NotNull: true}},
		{Name: "ts", Type: types.Timestamp},
	}
	cases := []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"rows-per-second": "abc"}, "table t: option 'rows-per-second': invalid integer 'abc'"},
		{map[string]string{"number-of-rows": "-2"}, "option 'number-of-rows': must not be negative"},
		{map[string]string{"bogus": "1"}, "unsupported option 'bogus'"},
		{map[string]string{"fields.id.bogus": "1"}, "unsupported option 'fields.id.bogus'"},
		{map[string]string{"fields.x.kind": "random"}, "option 'fields.x.kind': table has no column 'x'"},
		{map[string]string{"fields.id.kind": "zigzag"}, "option 'fields.id.kind': invalid kind 'zigzag'"},
		{map[string]string{"fields.id.kind": "sequence", "fields.id.end": "3"}, "option 'fields.id.start' is required"},
		{map[string]string{"fields.id.kind": "sequence", "fields.id.start": "5", "fields.id.end": "3"}, "option 'fields.id.start': start 5 is greater than end 3"},
		{map[string]string{"fields.id.kind": "sequence", "fields.id.start": "0", "fields.id.end": "3000000000"}, "option 'fields.id.end': 3000000000 is out of range for INT"},
		{map[string]string{"fields.id.kind": "sequence", "fields.id.start": "1", "fields.id.end": "2", "fields.id.min": "0"}, "option 'fields.id.min': not supported"},
		{map[string]string{"fields.id.start": "1"}, "option 'fields.id.start': not supported"},
		{map[string]string{"fields.id.min": "x"}, "option 'fields.id.min': invalid INT value 'x'"},
		{map[string]string{"fields.id.min": "5", "fields.id.max": "1"}, "option 'fields.id.min': min is greater than max"},
		{map[string]string{"fields.id.length": "5"}, "option 'fields.id.length': not supported"},
		{map[string]string{"fields.s.min": "5"}, "option 'fields.s.min': not supported"},
		{map[string]string{"fields.s.length": "6"}, "option 'fields.s.length': length 6 exceeds the column type VARCHAR(5)"},
		{map[string]string{"fields.s.null-rate": "1.5"}, "option 'fields.s.null-rate': invalid rate '1.5'"},
		{map[string]string{"fields.nn.null-rate": "0.1"}, "option 'fields.nn.null-rate': column 'nn' is NOT NULL"},
		{map[string]string{"fields.ts.kind": "sequence", "fields.ts.start": "1", "fields.ts.end": "2"}, "kind 'sequence' is not supported for TIMESTAMP(6) column 'ts'"},
		{map[string]string{"fields.ts.max": "yesterday"}, "option 'fields.ts.max': invalid TIMESTAMP(6) value 'yesterday'"},
	}
	for _, c := range cases {
		err := Connector{}.Validate(newTable(schema, c.opts))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("options %v: got error %v, want it to contain %q", c.opts, err, c.want)
		}
	}
	if err := (Connector{}).Validate(newTable(schema, map[string]string{
		"fields.ID.kind": "sequence", "fields.ID.start": "1", "fields.ID.end": "9", "fields.s.length": "5",
	})); err != nil {
		t.Fatalf("valid options rejected: %v", err)
	}
}

func TestRegistered(t *testing.T) {
	c, err := connectors.Lookup("datagen")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(connectors.SourceConnector); !ok {
		t.Fatal("datagen is not a source connector")
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
