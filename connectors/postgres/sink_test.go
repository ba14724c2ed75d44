package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/types"
)

func TestUpsertsAndDeletes(t *testing.T) {
	exectest.CheckLeaks(t)
	d := connect(t)
	d.exec("CREATE TABLE kv (k bigint PRIMARY KEY, v text)")
	d.exec("INSERT INTO kv VALUES (9, 'old')")
	j := startJob(t, d.sinkTable("kv", kvSchema, []int{0}), jobOpts{})
	j.send(`+I 1 a / +I 2 b / +I 3 c`)
	j.send(`-U 2 b / +U 2 bb / -D 3 c / +I 4 d / -D 9 old`)
	j.checkpoint(1)
	// Nothing is visible before checkpoint 1 completes.
	if got := d.dump("SELECT k, v FROM kv ORDER BY k"); got != "9 old" {
		t.Fatalf("before completion: %q", got)
	}
	j.job.NotifyCheckpointComplete(1)
	eventually(t, "checkpoint 1 applied", func() bool { return d.progress(j.sinkID, 0) == 1 })
	if got, want := d.dump("SELECT k, v FROM kv ORDER BY k"), "1 a\n2 bb\n4 d"; got != want {
		t.Fatalf("after checkpoint 1:\n%s\nwant:\n%s", got, want)
	}
	// Checkpoint 2 is never completed (aborted): checkpoint 3's completion
	// applies both, in order.
	j.send(`-D 1 a / +I 3 x / -U 4 d / +U 4 e`)
	j.checkpoint(2)
	j.send(`-U 3 x / +U 3 y / +I 5 'with space'`)
	j.checkpoint(3)
	j.job.NotifyCheckpointComplete(3)
	eventually(t, "checkpoint 3 applied", func() bool { return d.progress(j.sinkID, 0) == 3 })
	if got, want := d.dump("SELECT k, v FROM kv ORDER BY k"), "2 bb\n3 y\n4 e\n5 with space"; got != want {
		t.Fatalf("after checkpoint 3:\n%s\nwant:\n%s", got, want)
	}
	j.crash()
}

// TestCrashAndRestore crashes a job after checkpoint 2 completed but before
// the sink applied it, restarts it from 2 and replays what followed.
func TestCrashAndRestore(t *testing.T) {
	for _, keyed := range []bool{true, false} {
		t.Run(map[bool]string{true: "upsert", false: "append"}[keyed], func(t *testing.T) {
			d := connect(t)
			var pk []int
			if keyed {
				d.exec("CREATE TABLE t (k bigint PRIMARY KEY, v text)")
				pk = []int{0}
			} else {
				d.exec("CREATE TABLE t (k bigint, v text)")
			}
			table := d.sinkTable("t", kvSchema, pk)
			query := "SELECT k, v FROM t ORDER BY k, v"

			j := startJob(t, table, jobOpts{jobID: "crash"})
			j.send("+I 1 a / +I 2 b")
			j.checkpoint(1)
			j.job.NotifyCheckpointComplete(1)
			eventually(t, "checkpoint 1", func() bool { return d.progress(j.sinkID, 0) == 1 })
			j.send("+I 3 c")
			snaps := j.checkpoint(2) // complete, but the sink is never told
			j.send("+I 4 lost")      // after checkpoint 2: replayed after the crash
			j.crash()
			if got := d.dump(query); got != "1 a\n2 b" {
				t.Fatalf("after the crash: %q", got)
			}

			j = startJob(t, table, jobOpts{jobID: "crash", restore: restoreFrom(2, snaps, 1)})
			// Restore applies checkpoint 2 before any input.
			eventually(t, "checkpoint 2 restored", func() bool { return d.progress(j.sinkID, 0) == 2 })
			if got := d.dump(query); got != "1 a\n2 b\n3 c" {
				t.Fatalf("after restore: %q", got)
			}
			j.send("+I 4 d")
			j.checkpoint(3)
			j.job.NotifyCheckpointComplete(3)
			eventually(t, "checkpoint 3", func() bool { return d.progress(j.sinkID, 0) == 3 })
			j.crash()

			// Restoring again from 2, older than the last checkpoint applied
			// (a rewind, as to an older savepoint), changes nothing for
			// checkpoint 2 and applies what is replayed after it again: the
			// keyed table converges, the append-only one gets those rows a
			// second time (docs/connectors/postgres.md, Guarantees). The
			// progress row says 3 before (and 2 in between), so the test
			// waits for the table itself.
			j = startJob(t, table, jobOpts{jobID: "crash", restore: restoreFrom(2, snaps, 1)})
			j.send("+I 4 d")
			j.checkpoint(3)
			j.job.NotifyCheckpointComplete(3)
			want := "1 a\n2 b\n3 c\n4 d"
			if !keyed {
				want += "\n4 d"
			}
			eventually(t, "checkpoint 3 applied again", func() bool {
				return d.dump(query) == want && d.progress(j.sinkID, 0) == 3
			})
			j.crash()
		})
	}
}

// TestProgressPreventsDoubleApply applies the same epoch twice, as a retry
// after a lost COMMIT answer would: the second is skipped.
func TestProgressPreventsDoubleApply(t *testing.T) {
	d := connect(t)
	d.exec("CREATE TABLE t (k bigint, v text)")
	cfg, err := parseOptions(d.sinkTable("t", kvSchema, nil))
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter(cfg, true)
	defer w.close()
	b := newBuffer(kvSchema.Types(), nil)
	if err := b.add(exectest.MustParse(t, kvSchema.Types(), "+I 1 a / +I 2 b")); err != nil {
		t.Fatal(err)
	}
	ep := &epoch{id: 7, sinkID: "s", subtask: 0, rows: b.take()}
	ctx := context.Background()
	for i, want := range []bool{true, false} {
		written, err := w.apply(ctx, "test", ep, true)
		if err != nil {
			t.Fatal(err)
		}
		if written != want {
			t.Errorf("apply #%d: written = %v, want %v", i+1, written, want)
		}
	}
	if got := d.dump("SELECT count(*) FROM t"); got != "2" {
		t.Fatalf("%s rows, want 2", got)
	}
	// An older epoch is skipped too; claiming the row for a run restored
	// from checkpoint 5 lets epoch 6 through.
	ep.id = 6
	if written, err := w.apply(ctx, "test", ep, true); err != nil || written {
		t.Fatalf("epoch 6 after 7: written %v, err %v", written, err)
	}
	if err := w.claim(ctx, "s", 0, 5); err != nil {
		t.Fatal(err)
	}
	if written, err := w.apply(ctx, "test", ep, true); err != nil || !written {
		t.Fatalf("epoch 6 after claim: written %v, err %v", written, err)
	}
	if p := d.progress("s", 0); p != 6 {
		t.Fatalf("progress %d, want 6", p)
	}
}

// TestReaderNeverSeesPartialCheckpoint rewrites every key at each
// checkpoint while a reader samples the table: it must always see all keys
// with one value.
func TestReaderNeverSeesPartialCheckpoint(t *testing.T) {
	d := connect(t)
	d.exec("CREATE TABLE t (k bigint PRIMARY KEY, v bigint NOT NULL)")
	schema := types.Schema{{Name: "k", Type: types.BigInt}, {Name: "v", Type: types.BigInt}}
	j := startJob(t, d.sinkTable("t", schema, []int{0}), jobOpts{})
	reader := connect(t) // a connection of its own
	const keys, checkpoints = 3000, 8
	var stop atomic.Bool
	var samples atomic.Int64
	var wg sync.WaitGroup
	var bad error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			var n, lo, hi int64
			err := reader.QueryRow(context.Background(), "SELECT count(*), coalesce(min(v), 0), coalesce(max(v), 0) FROM "+
				d.Schema+".t").Scan(&n, &lo, &hi)
			if err == nil && ((n != 0 && n != keys) || lo != hi) {
				err = fmt.Errorf("reader saw %d rows with values %d..%d", n, lo, hi)
			}
			if err != nil {
				bad = err
				return
			}
			samples.Add(1)
		}
	}()
	for cp := int64(1); cp <= checkpoints; cp++ {
		for start := 0; start < keys; start += 500 {
			b := types.NewBatch(schema.Types())
			for k := start; k < start+500; k++ {
				if cp > 1 {
					b.AppendRow(types.UpdateBefore, []types.Datum{types.IntDatum(int64(k)), types.IntDatum(cp - 1)})
					b.AppendRow(types.UpdateAfter, []types.Datum{types.IntDatum(int64(k)), types.IntDatum(cp)})
				} else {
					b.AppendRow(types.Insert, []types.Datum{types.IntDatum(int64(k)), types.IntDatum(cp)})
				}
			}
			j.sendBatch(b)
		}
		j.checkpoint(cp)
		j.job.NotifyCheckpointComplete(cp)
		eventually(t, fmt.Sprintf("checkpoint %d", cp), func() bool { return d.progress(j.sinkID, 0) == cp })
	}
	stop.Store(true)
	wg.Wait()
	if bad != nil {
		t.Fatal(bad)
	}
	if got := d.dump("SELECT count(*), min(v), max(v) FROM t"); got != fmt.Sprintf("%d %d %d", keys, checkpoints, checkpoints) {
		t.Fatalf("final: %s", got)
	}
	t.Logf("%d consistent samples", samples.Load())
	j.crash()
}

// TestRescaledRestore takes checkpoint 2 with two sink subtasks, crashes
// before it is applied and restores it into one subtask.
func TestRescaledRestore(t *testing.T) {
	d := connect(t)
	d.exec("CREATE TABLE t (k bigint PRIMARY KEY, v text)")
	table := d.sinkTable("t", kvSchema, []int{0})
	j := startJob(t, table, jobOpts{jobID: "rescale", par: 2})
	j.send("+I 1 a / +I 2 b / +I 3 c / +I 4 d")
	j.checkpoint(1)
	j.job.NotifyCheckpointComplete(1)
	eventually(t, "checkpoint 1", func() bool { return d.dump("SELECT count(*) FROM t") == "4" })
	j.send("-D 1 a / -U 2 b / +U 2 B / +I 5 e / +I 6 f / +I 7 g / +I 8 h / +I 9 i / +I 10 j")
	snaps := j.checkpoint(2)
	if len(snaps) != 2 {
		t.Fatalf("%d sink snapshots, want 2", len(snaps))
	}
	j.crash()
	j = startJob(t, table, jobOpts{jobID: "rescale", par: 1, restore: restoreFrom(2, snaps, 1)})
	eventually(t, "restore", func() bool { return d.dump("SELECT count(*) FROM t") == "9" })
	if got, want := d.dump("SELECT k, v FROM t ORDER BY k"), "2 B\n3 c\n4 d\n5 e\n6 f\n7 g\n8 h\n9 i\n10 j"; got != want {
		t.Fatalf("after restore:\n%s\nwant:\n%s", got, want)
	}
	j.crash()
}

func TestConstraintViolationFailsJob(t *testing.T) {
	d := connect(t)
	d.exec("CREATE TABLE t (k bigint PRIMARY KEY, v text CHECK (v <> 'bad'))")
	j := startJob(t, d.sinkTable("t", kvSchema, []int{0}), jobOpts{})
	j.send("+I 1 a / +I 7 bad / +I 8 c")
	j.checkpoint(1)
	j.job.NotifyCheckpointComplete(1)
	err := j.job.Wait()
	var pe *Error
	if !errors.As(err, &pe) || pe.Retriable {
		t.Fatalf("err = %v, want a non-retriable *Error", err)
	}
	for _, want := range []string{"table t", "commit checkpoint 1", "check constraint", "(7, bad)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if got := d.dump("SELECT count(*) FROM t"); got != "0" {
		t.Errorf("%s rows written: the checkpoint was half-applied", got)
	}

	// A value COPY rejects in the staging table names the row's key.
	d.exec("CREATE TABLE short (k bigint PRIMARY KEY, v varchar(3))")
	j = startJob(t, d.sinkTable("short", kvSchema, []int{0}), jobOpts{})
	j.send("+I 1 a / +I 2 toolong")
	j.checkpoint(1)
	j.job.NotifyCheckpointComplete(1)
	if err := j.job.Wait(); err == nil || !strings.Contains(err.Error(), "row with key (k)=(2): ERROR: value too long") {
		t.Fatalf("err = %v", err)
	}

	// Without a key, COPY reports the line, and the error names the row.
	d.exec("CREATE TABLE a (k bigint NOT NULL, v text)")
	j = startJob(t, d.sinkTable("a", kvSchema, nil), jobOpts{})
	j.send("+I 1 a / +I NULL b")
	j.checkpoint(1)
	j.job.NotifyCheckpointComplete(1)
	err = j.job.Wait()
	if err == nil || !strings.Contains(err.Error(), "commit checkpoint 1: row (k, v)=(NULL, b): ERROR: null value in column") || !strings.Contains(err.Error(), "not-null") {
		t.Fatalf("err = %v", err)
	}
}

func TestChecksAtStart(t *testing.T) {
	d := connect(t)
	d.exec(`CREATE TABLE t (k bigint PRIMARY KEY, v integer)`)
	d.exec(`CREATE TABLE nokey (k bigint, v text)`)
	d.exec(`CREATE TABLE extra (k bigint PRIMARY KEY, v text, w text NOT NULL)`)
	d.exec(`CREATE TABLE tz (k bigint PRIMARY KEY, at timestamptz)`)
	d.exec(`CREATE TABLE otherkey (k bigint, v text PRIMARY KEY)`)
	for _, tc := range []struct {
		table  string
		schema types.Schema
		pk     []int
		want   string
	}{
		{"t", kvSchema, []int{0}, `column v: type STRING does not fit Postgres column "v" of type integer`},
		{"missing", kvSchema, []int{0}, `does not exist (create it, or set 'sink.create-table' = 'true')`},
		{"nokey", kvSchema, []int{0}, `primary key (k) does not match Postgres table`},
		{"otherkey", kvSchema, []int{0}, `it has primary key (v)`},
		{"extra", kvSchema, []int{0}, `column w: Postgres table`},
		{"tz", types.Schema{{Name: "k", Type: types.BigInt}, {Name: "at", Type: types.Timestamp}}, []int{0},
			"declare the column TIMESTAMP_LTZ"},
		{"nokey", types.Schema{{Name: "k", Type: types.BigInt}, {Name: "x", Type: types.String}}, nil,
			"column x: Postgres table"},
	} {
		table := d.sinkTable(tc.table, tc.schema, tc.pk)
		table.Options["url"] = strings.Replace(d.DSN, "postgres@", "postgres:s3cret@", 1)
		j := startJob(t, table, jobOpts{})
		err := j.job.Wait()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.table, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the password appears in %q", tc.table, err)
		}
	}
}

// TestTypesAndCreateTable creates the table from the Sluice schema and
// reads every type back as Postgres prints it.
func TestTypesAndCreateTable(t *testing.T) {
	d := connect(t)
	schema := types.Schema{
		{Name: "id", Type: types.Int}, {Name: "b", Type: types.Bool}, {Name: "ti", Type: types.TinyInt},
		{Name: "si", Type: types.SmallInt}, {Name: "bi", Type: types.BigInt}, {Name: "f", Type: types.Float},
		{Name: "d", Type: types.Double}, {Name: "dec", Type: types.Decimal(18, 4)}, {Name: "c", Type: types.Type{Kind: types.KindChar, Length: 3}},
		{Name: "vc", Type: types.Varchar(10)}, {Name: "s", Type: types.String}, {Name: "by", Type: types.Bytes},
		{Name: "dt", Type: types.Date}, {Name: "tm", Type: types.Time},
		{Name: "ts", Type: types.Timestamp}, {Name: "ltz", Type: types.Type{Kind: types.KindTimestampLTZ, Precision: 6}},
		{Name: "Mixed Case", Type: types.String},
	}
	table := d.sinkTable("all types", schema, []int{0}, "sink.create-table", "true")
	j := startJob(t, table, jobOpts{})
	ts := schema.Types()
	big := strings.Repeat("ünicode ✓ ", 100_000) // ~1.2 MB
	b := types.NewBatch(ts)
	b.AppendRow(types.Insert, []types.Datum{
		{Type: ts[0], I: 1}, {Type: ts[1], I: 1}, {Type: ts[2], I: -128}, {Type: ts[3], I: 32767},
		{Type: ts[4], I: -9223372036854775808}, {Type: ts[5], F: 1.5}, {Type: ts[6], F: 1e-300},
		{Type: ts[7], I: -123456789012345678}, {Type: ts[8], S: "abc"}, {Type: ts[9], S: "tab\there"},
		{Type: ts[10], S: big}, {Type: ts[11], S: "\x00\x01\xfe"}, {Type: ts[12], I: -719528},
		{Type: ts[13], I: 86_399_999_999}, {Type: ts[14], I: 1_700_000_000_123_456},
		{Type: ts[15], I: -1}, {Type: ts[16], S: `quote " and \ backslash`},
	})
	nulls := make([]types.Datum, len(ts))
	nulls[0] = types.Datum{Type: ts[0], I: 2}
	for i := 1; i < len(ts); i++ {
		nulls[i] = types.NullDatum(ts[i])
	}
	b.AppendRow(types.Insert, nulls)
	j.sendBatch(b)
	j.checkpoint(1)
	j.job.NotifyCheckpointComplete(1)
	eventually(t, "checkpoint 1", func() bool { return d.progress(j.sinkID, 0) == 1 })
	d.exec("SET TIME ZONE 'UTC'")
	got := d.dump(`SELECT b::text, ti::text, si::text, bi::text, f::text, d::text, dec::text, c::text, vc::text,
		s = repeat('ünicode ✓ ', 100000), encode(by, 'hex'), dt::text, tm::text, ts::text, ltz::text, "Mixed Case"
		FROM "all types" ORDER BY id`)
	want := "true -128 32767 -9223372036854775808 1.5 1e-300 -12345678901234.5678 abc tab\there true 0001fe " +
		"0001-01-01 BC 23:59:59.999999 2023-11-14 22:13:20.123456 1969-12-31 23:59:59.999999+00 quote \" and \\ backslash\n" +
		"NULL NULL NULL NULL NULL NULL NULL NULL NULL NULL NULL NULL NULL NULL NULL NULL"
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	j.crash()
}

// TestAtLeastOnce flushes on size and at checkpoints, without a progress
// row, and in an ad-hoc job (no checkpoints) at the end of input.
func TestAtLeastOnce(t *testing.T) {
	d := connect(t)
	d.exec("CREATE TABLE t (k bigint PRIMARY KEY, v text)")
	table := d.sinkTable("t", kvSchema, []int{0}, "sink.delivery-guarantee", "at-least-once",
		"sink.buffer-flush.max-rows", "2", "sink.buffer-flush.interval", "0")
	j := startJob(t, table, jobOpts{})
	j.send("+I 1 a / +I 2 b") // reaches max-rows: written without a checkpoint
	eventually(t, "size flush", func() bool { return d.dump("SELECT count(*) FROM t") == "2" })
	j.send("-D 1 a")
	j.checkpoint(1) // the barrier flushes
	if got := d.dump("SELECT k, v FROM t ORDER BY k"); got != "2 b" {
		t.Fatalf("after the barrier: %q", got)
	}
	j.crash()
	if got := d.dump("SELECT count(*) FROM pg_tables WHERE tablename = 'sluice_sink_progress' AND schemaname = current_schema()"); got != "0" {
		t.Errorf("at-least-once created the progress table")
	}

	// Exactly-once requested, but the job does not checkpoint: the timer
	// flushes, and the end of input writes the rest.
	d.exec("CREATE TABLE a (k bigint, v text)")
	j = startJob(t, d.sinkTable("a", kvSchema, nil, "sink.buffer-flush.interval", "20ms"), jobOpts{noCheckpoints: true})
	j.send("+I 1 a")
	eventually(t, "timer flush", func() bool { return d.dump("SELECT count(*) FROM a") == "1" })
	j.send("+I 2 b")
	if err := j.end(); err != nil {
		t.Fatal(err)
	}
	if got := d.dump("SELECT k, v FROM a ORDER BY k"); got != "1 a\n2 b" {
		t.Fatalf("ad-hoc job wrote %q", got)
	}
}

// TestFinalCheckpoint runs a bounded job that ends with a final
// checkpoint: the sink writes nothing at Finish and commits the rest when
// the final checkpoint completes, before the job ends.
func TestFinalCheckpoint(t *testing.T) {
	d := connect(t)
	d.exec("CREATE TABLE t (k bigint PRIMARY KEY, n bigint NOT NULL, s text)")
	schema := types.Schema{{Name: "k", Type: types.BigInt}, {Name: "n", Type: types.BigInt}, {Name: "s", Type: types.String}}
	table := d.sinkTable("t", schema, []int{0})
	factory, err := (&Connector{}).NewSink(table, connectors.SinkRequest{Mode: connectors.Upsert, JobID: "final"})
	if err != nil {
		t.Fatal(err)
	}
	ts := schema.Types()
	g := &exec.JobGraph{Vertices: []exec.Vertex{
		{Name: "source", Parallelism: 1, InTypes: ts, OutTypes: ts,
			Source: func(int) (exec.Source, error) { return &upsertSource{total: 5000, keys: 700}, nil }},
		{Name: "sink", Parallelism: 2, InTypes: ts, Inputs: []exec.Edge{{From: 0, Exchange: exec.Hash, KeyCols: []int{0}}},
			Ops: []exec.OperatorFactory{factory}},
	}}
	acks := make(chan int64, 16)
	ended := make(chan struct{}, 1)
	job, err := exec.Run(context.Background(), g, exec.RunOptions{JobID: "final", StartTs: 1, FinalCheckpoint: true,
		OnAck: func(a exec.Ack) {
			if a.Sink {
				acks <- a.CheckpointID
			}
		},
		OnSourceEnded: func(int, int) { ended <- struct{}{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	go drive(job, 2, acks, ended)
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	// Key k's last upsert is the highest row number n < 5000 that maps to it.
	want := map[int64]int64{}
	src := &upsertSource{total: 5000, keys: 700}
	b := types.NewBatch(ts)
	for end := false; !end; {
		b.Reset(ts)
		end, _ = src.Next(b)
		for i := range b.Len() {
			want[b.Cols[0].I64[i]] = b.Cols[1].I64[i]
		}
	}
	var n, sum int64
	if err := d.QueryRow(context.Background(), "SELECT count(*), coalesce(sum(n), 0) FROM t").Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	var wantSum int64
	for _, v := range want {
		wantSum += v
	}
	if n != int64(len(want)) || sum != wantSum {
		t.Fatalf("table has %d rows summing to %d, want %d rows summing to %d", n, sum, len(want), wantSum)
	}
}

func TestCloseBeforeOpen(t *testing.T) {
	s := &sink{cfg: &config{table: "t"}}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
