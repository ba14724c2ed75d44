package postgres

import (
	"io"
	"math"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/types"
)

func testTable(opts map[string]string, pk ...int) *connectors.Table {
	o := map[string]string{"connector": "postgres", "url": "postgres://u:s3cret@localhost:5432/db", "table-name": "t"}
	for k, v := range opts {
		o[k] = v
	}
	return &connectors.Table{Name: "sinkt", Options: o, PrimaryKey: pk,
		Schema: types.Schema{{Name: "k", Type: types.BigInt}, {Name: "v", Type: types.String}}}
}

func TestValidate(t *testing.T) {
	c := &Connector{}
	if err := c.Validate(testTable(nil, 0)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"sink.max-retries": "x"}, "option 'sink.max-retries': invalid retry count 'x'"},
		{map[string]string{"sink.delivery-guarantee": "twice"}, "expected 'exactly-once' or 'at-least-once'"},
		{map[string]string{"sink.buffer-flush.interval": "5 fortnights"}, "unknown unit 'fortnights'"},
		{map[string]string{"sink.create-table": "yes"}, "invalid boolean 'yes'"},
		{map[string]string{"table-name": "a.b.c"}, "more than two parts"},
		{map[string]string{"url": "mysql://u:s3cret@h/db"}, "'mysql://u:xxxxx@h/db' is not a postgres:// URL"},
		{map[string]string{"url": "postgres://u:s3cret@h:notaport/db"}, "option 'url'"},
		{map[string]string{"sink.typo": "1"}, "unsupported option 'sink.typo'"},
	} {
		err := c.Validate(testTable(tc.opts))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want it to contain %q", tc.opts, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%v: the password appears in %q", tc.opts, err)
		}
	}
}

func TestParseOptions(t *testing.T) {
	cfg, err := parseOptions(testTable(map[string]string{
		"table-name": `"My.Schema"."Orders"`, "sink.buffer-flush.max-rows": "10",
		"sink.buffer-flush.interval": "250 ms", "sink.max-retries": "0",
		"sink.delivery-guarantee": "AT-LEAST-ONCE", "sink.create-table": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.target.Sanitize(); got != `"My.Schema"."Orders"` {
		t.Errorf("target %s", got)
	}
	if cfg.maxRows != 10 || cfg.interval.Milliseconds() != 250 || cfg.maxRetries != 0 || cfg.exactlyOnce || !cfg.createTable {
		t.Errorf("cfg = %+v", cfg)
	}
	if cfg.redacted != "postgres://u:xxxxx@localhost:5432/db" {
		t.Errorf("redacted = %s", cfg.redacted)
	}
	if got := redactDSN("postgres://h/db?user=u&password=s3cret"); strings.Contains(got, "s3cret") {
		t.Errorf("redactDSN kept the password: %s", got)
	}
	if _, err := (&Connector{}).NewSink(testTable(nil), connectors.SinkRequest{Mode: connectors.Upsert}); err == nil ||
		!strings.Contains(err.Error(), "declare PRIMARY KEY") {
		t.Errorf("updating input without a key: err = %v", err)
	}
}

func TestCreateTableSQL(t *testing.T) {
	tb := testTable(map[string]string{"table-name": `s.Weird "name"`}, 0)
	tb.Schema = append(tb.Schema, types.Column{Name: "amount", Type: types.Decimal(10, 2)},
		types.Column{Name: "at", Type: types.Type{Kind: types.KindTimestampLTZ, Precision: 3}})
	cfg, err := parseOptions(tb)
	if err != nil {
		t.Fatal(err)
	}
	want := `CREATE TABLE IF NOT EXISTS "s"."Weird ""name""" ("k" bigint NOT NULL, "v" text, "amount" numeric(10, 2), ` +
		`"at" timestamp(3) with time zone, PRIMARY KEY ("k"))`
	if got := createTableSQL(cfg); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestBufferFolds(t *testing.T) {
	ts := []types.Type{types.BigInt, types.String}
	b := newBuffer(ts, []int{0})
	in := exectest.MustParse(t, ts, `
		+I 1 a
		+I 2 b
		-U 1 a
		+U 1 a2
		-D 2 b
		+I 3 c
		-U 3 c`)
	if err := b.add(in); err != nil {
		t.Fatal(err)
	}
	if b.len() != 3 {
		t.Fatalf("len = %d, want 3", b.len())
	}
	r := b.take()
	if r.count != 3 || r.delete != 2 {
		t.Fatalf("count %d delete %d, want 3 and 2", r.count, r.delete)
	}
	if got := copyText(t, r.data, ts, true); got != "f\t1\ta2\nt\t2\tb\nt\t3\tc\n" {
		t.Errorf("copy text %q", got)
	}
	if b.len() != 0 || b.bytes() != 0 {
		t.Errorf("buffer not empty after take")
	}
	// Append-only keeps every row in order and refuses other ops.
	a := newBuffer(ts, nil)
	if err := a.add(exectest.MustParse(t, ts, "+I 1 a / +I 1 a")); err != nil {
		t.Fatal(err)
	}
	if got := copyText(t, a.take().data, ts, false); got != "1\ta\n1\ta\n" {
		t.Errorf("append copy text %q", got)
	}
	if err := a.add(exectest.MustParse(t, ts, "-D 1 a")); err == nil || !strings.Contains(err.Error(), "PRIMARY KEY") {
		t.Errorf("delete without key: err = %v", err)
	}
}

func TestBufferCompacts(t *testing.T) {
	ts := []types.Type{types.BigInt, types.String}
	b := newBuffer(ts, []int{0})
	long := strings.Repeat("x", 1000)
	for i := range 10_000 {
		in := types.NewBatch(ts)
		in.AppendRow(types.Insert, []types.Datum{types.IntDatum(int64(i % 3)), types.StringDatum(long)})
		if err := b.add(in); err != nil {
			t.Fatal(err)
		}
	}
	if b.len() != 3 || len(b.arena) > 2*compactAt {
		t.Fatalf("len %d arena %d bytes: not compacted", b.len(), len(b.arena))
	}
}

func copyText(t *testing.T, data []byte, ts []types.Type, withOp bool) string {
	t.Helper()
	out, err := io.ReadAll(newCopyReader(data, ts, withOp))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestCopyValues(t *testing.T) {
	ts := []types.Type{types.Bool, types.Decimal(10, 3), types.Decimal(5, 2), types.Float, types.Double,
		types.Double, types.Bytes, types.String, types.Date, types.Date, types.Time,
		types.Timestamp, {Kind: types.KindTimestampLTZ, Precision: 6}, types.Timestamp, types.Int}
	in := types.NewBatch(ts)
	in.AppendRow(types.Insert, []types.Datum{
		{Type: ts[0], I: 1}, {Type: ts[1], I: -1234}, {Type: ts[2], I: 5},
		{Type: ts[3], F: 0.1}, {Type: ts[4], F: math.Inf(-1)}, {Type: ts[5], F: math.NaN()},
		{Type: ts[6], S: "\x00\xff"}, {Type: ts[7], S: "a\tb\nc\\d\rü"},
		{Type: ts[8], I: 0}, {Type: ts[9], I: -719528}, // 0000-01-01 = 1 January 1 BC
		{Type: ts[10], I: 13*3_600_000_000 + 5*60_000_000 + 7_000_001},
		{Type: ts[11], I: -1}, {Type: ts[12], I: 1_700_000_000_000_000}, {Type: ts[13], I: 0},
		types.NullDatum(ts[14]),
	})
	b := newBuffer(ts, nil)
	if err := b.add(in); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(copyText(t, b.take().data, ts, false), "\n"), "\t")
	want := []string{"t", "-1.234", "0.05", "0.1", "-Infinity", "NaN", `\\x00ff`, `a\tb\nc\\d\rü`,
		"1970-01-01", "0001-01-01 BC", "13:05:07.000001", "1969-12-31 23:59:59.999999",
		"2023-11-14 22:13:20+00", "1970-01-01 00:00:00", `\N`}
	if len(got) != len(want) {
		t.Fatalf("got %d fields %q, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column %d (%v): got %q, want %q", i, ts[i], got[i], want[i])
		}
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	ts := []types.Type{types.BigInt, types.String}
	b := newBuffer(ts, []int{0})
	if err := b.add(exectest.MustParse(t, ts, "+I 1 a / -D 2 x")); err != nil {
		t.Fatal(err)
	}
	eps := []*epoch{{id: 4, sinkID: "job/t/1.0", subtask: 2, rows: b.take()}, {id: 5, sinkID: "job/t/1.0", subtask: 2}}
	data := encodeSnapshot(eps, ts)
	got, err := decodeSnapshot(data, ts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].id != 4 || got[0].sinkID != "job/t/1.0" || got[0].subtask != 2 ||
		got[0].count != 2 || got[0].delete != 1 || string(got[0].data) != string(eps[0].data) || got[1].id != 5 {
		t.Fatalf("round trip: %+v", got)
	}
	if _, err := decodeSnapshot(data, []types.Type{types.Double, types.String}); err == nil {
		t.Error("a snapshot of other column types was accepted")
	}
	if _, err := decodeSnapshot(data[:len(data)-1], ts); err == nil {
		t.Error("a truncated snapshot was accepted")
	}
	if encodeSnapshot(nil, ts) != nil {
		t.Error("no epochs should give an empty snapshot")
	}
}

func TestRetriable(t *testing.T) {
	if retriable(&permanentError{io.EOF}) || !retriable(io.ErrUnexpectedEOF) {
		t.Error("classification of client errors")
	}
}

func TestRedactOptions(t *testing.T) {
	opts := testTable(nil).Options
	got := (&Connector{}).RedactOptions(opts)
	if got["url"] != "postgres://u:xxxxx@localhost:5432/db" || got["table-name"] != "t" {
		t.Fatalf("redacted options %v", got)
	}
	if opts["url"] != "postgres://u:s3cret@localhost:5432/db" {
		t.Fatal("RedactOptions changed its argument")
	}
}
