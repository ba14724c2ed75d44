package filesystem

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

var allKinds = types.Schema{
	{Name: "b", Type: types.Bool},
	{Name: "ti", Type: types.TinyInt},
	{Name: "si", Type: types.SmallInt},
	{Name: "i", Type: types.Int},
	{Name: "bi", Type: types.BigInt},
	{Name: "f", Type: types.Float},
	{Name: "d", Type: types.Double},
	{Name: "dec", Type: types.Decimal(12, 3)},
	{Name: "c", Type: types.Type{Kind: types.KindChar, Length: 3}},
	{Name: "vc", Type: types.Varchar(20)},
	{Name: "s", Type: types.String},
	{Name: "by", Type: types.Bytes},
	{Name: "dt", Type: types.Date},
	{Name: "tm", Type: types.Type{Kind: types.KindTime, Precision: 3}},
	{Name: "ts", Type: types.Type{Kind: types.KindTimestamp, Precision: 6}},
	{Name: "ltz", Type: types.Type{Kind: types.KindTimestampLTZ, Precision: 3}},
}

func allKindsRows() [][]types.Datum {
	ts := allKinds.Types()
	row := func(vals ...any) []types.Datum {
		out := make([]types.Datum, len(vals))
		for i, v := range vals {
			d := types.Datum{Type: ts[i]}
			switch x := v.(type) {
			case nil:
				d.Null = true
			case int:
				d.I = int64(x)
			case float64:
				d.F = x
			case string:
				d.S = x
			}
			out[i] = d
		}
		return out
	}
	return [][]types.Datum{
		row(1, -128, 32767, -7, math.MinInt64, 1.5, 0.1, -1234567, "abc", "tab\tquote\"comma,", "line\nbreak\r\n", "\x00\xff,\"", 19782, 3723_500_000, int(1_700_000_000_123_456), 86_399_999),
		row(0, 0, 0, 0, 0, math.Inf(-1), math.NaN(), 5, "", "", "NULL", "", -1, 0, -1, 0),
		row(nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil),
		row(1, 1, 1, 1, math.MaxInt64, 3.4e38, 1e300, 999999999999, "é😀", "\u2028", "{\"json\":1}", "\x01", 2932896, 86_399_999_000, -62135596800000000, 253402300799999000),
	}
}

// runSink writes the batches through a sink subtask, then finishes and
// closes it.
func runSink(t *testing.T, tbl *connectors.Table, tc *exec.TaskContext, batches ...*types.Batch) {
	t.Helper()
	factory, err := Connector{}.NewSink(tbl, connectors.SinkRequest{Mode: connectors.AppendOnly, JobID: tc.JobID})
	if err != nil {
		t.Fatal(err)
	}
	op, err := factory(tc.Subtask)
	if err != nil {
		t.Fatal(err)
	}
	if err := op.(exec.Opener).Open(tc); err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := op.Process(b, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := op.(exec.Finisher).Finish(nil); err != nil {
		t.Fatal(err)
	}
	if err := op.(exec.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	if err := op.(exec.Closer).Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestSinkRoundTrip(t *testing.T) {
	for _, opts := range [][]string{
		{"format", "json"},
		{"format", "json", "json.timestamp-format.standard", "ISO-8601"},
		{"format", "csv"},
		{"format", "csv", "csv.null-literal", "NULL", "csv.field-delimiter", `\t`, "csv.quote-character", "'"},
	} {
		t.Run(strings.Join(opts, " "), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out", "nested")
			tbl := newTable(allKinds, append([]string{"path", dir}, opts...)...)
			rows := allKindsRows()
			runSink(t, tbl, taskContext(0, 2), batchOf(allKinds.Types(), rows[:2]...), batchOf(allKinds.Types(), rows[2:]...))
			runSink(t, tbl, taskContext(1, 2), batchOf(allKinds.Types(), rows[0]))

			got, err := readTable(t, tbl, allCols(allKinds), 1)
			if err != nil {
				t.Fatal(err)
			}
			if opts[1] == "csv" && len(opts) == 2 {
				// Without a null literal, NULL reads back as '' in string columns.
				for c, col := range allKinds {
					if col.Type.IsString() {
						rows[2][c] = types.Datum{Type: col.Type}
					}
				}
			}
			want := showRows(batchOf(allKinds.Types(), append(rows, rows[0])...))
			if !slices.Equal(got, want) {
				t.Fatalf("read back\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestSinkJSONOutput(t *testing.T) {
	dir := t.TempDir()
	schema := types.Schema{{Name: "a", Type: types.Int}, {Name: "b", Type: types.String}, {Name: "c", Type: types.Decimal(5, 2)},
		{Name: "t", Type: types.Type{Kind: types.KindTimestamp, Precision: 3}}}
	tbl := newTable(schema, "path", dir, "format", "json")
	runSink(t, tbl, taskContext(0, 1), batchOf(schema.Types(),
		[]types.Datum{types.IntDatum(1), types.StringDatum("x"), types.DecimalDatum(-5, 5, 2), {Type: schema[3].Type, I: 1_700_000_000_123_000}},
		[]types.Datum{types.IntDatum(2), types.NullDatum(types.String), types.NullDatum(schema[2].Type), types.NullDatum(schema[3].Type)},
	))
	data, err := os.ReadFile(filepath.Join(dir, "part-job1-0-0.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":1,"b":"x","c":-0.05,"t":"2023-11-14 22:13:20.123"}` + "\n" + `{"a":2,"b":null,"c":null,"t":null}` + "\n"
	if string(data) != want {
		t.Fatalf("got\n%s\nwant\n%s", data, want)
	}
}

func TestSinkPartFiles(t *testing.T) {
	dir := t.TempDir()
	schema := types.Schema{{Name: "s", Type: types.String}}
	tbl := newTable(schema, "path", dir, "format", "csv", "sink.rolling-policy.file-size", "1kb")
	factory, err := Connector{}.NewSink(tbl, connectors.SinkRequest{JobID: "j/7"})
	if err != nil {
		t.Fatal(err)
	}
	op, _ := factory(0)
	sink := op.(*sink)
	if err := sink.Open(taskContext(3, 4)); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 700)
	write := func() {
		t.Helper()
		if err := sink.Process(batchOf(schema.Types(), []types.Datum{types.StringDatum(big)}), nil); err != nil {
			t.Fatal(err)
		}
	}
	visible := func() []string {
		files, err := listFiles(dir)
		if err != nil {
			t.Fatal(err)
		}
		for i := range files {
			files[i] = filepath.Base(files[i])
		}
		return files
	}
	write()
	if v := visible(); len(v) != 0 {
		t.Fatalf("in-progress data visible: %v", v)
	}
	write() // 1402 bytes ≥ 1kb: roll
	write()
	if v := visible(); !slices.Equal(v, []string{"part-j_7-3-0.csv"}) {
		t.Fatalf("after a roll: %v", v)
	}
	if err := sink.Process(batchOf(schema.Types()), nil); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if v := visible(); !slices.Equal(v, []string{"part-j_7-3-0.csv", "part-j_7-3-1.csv"}) {
		t.Fatalf("after Close: %v", v)
	}
	if err := sink.Process(batchOf(schema.Types()), nil); err == nil {
		t.Fatal("Process after Close succeeded")
	}

	// A second run of the same job does not overwrite committed parts.
	runSink(t, tbl, &exec.TaskContext{JobID: "j/7", Subtask: 3, Parallelism: 4}, batchOf(schema.Types(), []types.Datum{types.StringDatum("new")}))
	if v := visible(); !slices.Equal(v, []string{"part-j_7-3-0.csv", "part-j_7-3-1.csv", "part-j_7-3-2.csv"}) {
		t.Fatalf("after a rerun: %v", v)
	}
	if rows, err := readTable(t, tbl, []int{0}, 1); err != nil || len(rows) != 4 {
		t.Fatalf("read %d rows, %v", len(rows), err)
	}
}

func TestSinkRejectsUpdates(t *testing.T) {
	schema := types.Schema{{Name: "a", Type: types.Int}}
	tbl := newTable(schema, "path", t.TempDir(), "format", "json")
	if (Connector{}).AcceptsUpdates(tbl) {
		t.Fatal("AcceptsUpdates = true")
	}
	if _, err := (Connector{}).NewSink(tbl, connectors.SinkRequest{Mode: connectors.Retract}); err == nil {
		t.Fatal("NewSink accepted a retract changelog")
	}
	factory, _ := Connector{}.NewSink(tbl, connectors.SinkRequest{})
	op, _ := factory(0)
	op.(exec.Opener).Open(taskContext(0, 1))
	defer op.(exec.Closer).Close()
	b := types.NewBatch(schema.Types())
	b.AppendRow(types.Delete, []types.Datum{types.IntDatum(1)})
	if err := op.Process(b, nil); err == nil || !strings.Contains(err.Error(), "accepts only inserts (+I), got -D") {
		t.Fatalf("got %v", err)
	}
}

func TestSinkPathIsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	writeFile(t, file, "")
	factory, err := Connector{}.NewSink(newTable(types.Schema{{Name: "a", Type: types.Int}}, "path", file, "format", "json"), connectors.SinkRequest{})
	if err != nil {
		t.Fatal(err)
	}
	op, _ := factory(0)
	if err := op.(exec.Opener).Open(taskContext(0, 1)); err == nil {
		t.Fatal("Open succeeded with a file as path")
	}
	op.(exec.Closer).Close()
}
