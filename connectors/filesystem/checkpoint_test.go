package filesystem

import (
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/connectors/datagen"
	"github.com/sluicesql/sluice/connectors/splitpos"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/types"
)

// datagenToFiles builds datagen (id BIGINT sequence 0..rows-1, s STRING)
// with parallelism 2 → hash on id → filesystem sink with parallelism 2,
// and returns the graph, the sink's table and the counter of rows that
// reached the sink.
func datagenToFiles(t *testing.T, dir string, rows, rate int, sinkOpts ...string) (*exec.JobGraph, *connectors.Table, *atomic.Int64) {
	t.Helper()
	schema := types.Schema{{Name: "id", Type: types.BigInt}, {Name: "s", Type: types.String}}
	gen := &connectors.Table{Name: "gen", Schema: schema, Options: map[string]string{
		"connector": "datagen", "rows-per-second": strconv.Itoa(rate),
		"fields.id.kind": "sequence", "fields.id.start": "0", "fields.id.end": strconv.Itoa(rows - 1),
		"fields.s.length": "12",
	}}
	spec, err := datagen.Connector{}.NewSource(gen, connectors.SourceRequest{Columns: []int{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	out := newTable(schema, append([]string{"path", dir, "format", "json"}, sinkOpts...)...)
	sinkF, err := Connector{}.NewSink(out, connectors.SinkRequest{Mode: connectors.AppendOnly})
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	ts := schema.Types()
	g := &exec.JobGraph{Vertices: []exec.Vertex{
		{Name: "datagen", Parallelism: 2, Source: spec.Factory, InTypes: ts, OutTypes: ts},
		{Name: "sink", Parallelism: 2, InTypes: ts, Inputs: []exec.Edge{{From: 0, Exchange: exec.Hash, KeyCols: []int{0}}},
			Ops: []exec.OperatorFactory{func(int) (exec.Operator, error) { return exectest.RowCounter{N: &n}, nil }, sinkF}},
	}}
	return g, out, &n
}

// committedIDs reads the committed files of the table and returns the ids,
// sorted.
func committedIDs(t *testing.T, tbl *connectors.Table) []int64 {
	t.Helper()
	rows, err := readTable(t, tbl, []int{0}, 1)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(r, "+I["), "]"), 10, 64)
		if err != nil {
			t.Fatalf("row %q: %v", r, err)
		}
		ids[i] = v
	}
	slices.Sort(ids)
	return ids
}

// hiddenFiles lists the names in dir that start with '.'.
func hiddenFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, n := range names(t, dir) {
		if strings.HasPrefix(n, ".") {
			out = append(out, n)
		}
	}
	return out
}

// sourceCut returns the ids the datagen source (vertex 0, parallelism 2)
// had produced before the checkpoint whose snapshots are snaps.
func sourceCut(t *testing.T, snaps exectest.Snapshots) []int64 {
	t.Helper()
	ids, err := splitpos.Produced(snaps.Sources(0, 2)...)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func seq(n int) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	return ids
}

// TestExactlyOnceAfterCrash: datagen → filesystem sink with checkpoints; a
// crash after checkpoint 2 completed (its notification lost) and while
// checkpoint 3 is in flight; a restore from checkpoint 2 then commits
// exactly the rows of a failure-free run.
func TestExactlyOnceAfterCrash(t *testing.T) {
	const rows = 24000
	dir := t.TempDir()
	g, tbl, n := datagenToFiles(t, dir, rows, 40000, "sink.rolling-policy.file-size", "16kb")

	d := exectest.RunCheckpointed(t, g, "job1", 0, nil)
	exectest.WaitRows(t, n, 2000)
	snaps1 := d.Checkpoint(1, false)
	d.Job.NotifyCheckpointComplete(1)
	exectest.WaitRows(t, n, 5000)
	snaps2 := d.Checkpoint(2, false) // completed, but the notification is lost
	exectest.WaitRows(t, n, 8000)
	d.Checkpoint(3, false) // pre-committed, never completed
	// Crash once rows after checkpoint 3 are being written.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(strings.Join(hiddenFiles(t, dir), " "), ".inprogress") {
		if time.Now().After(deadline) {
			t.Fatal("no in-progress part after checkpoint 3")
		}
		time.Sleep(time.Millisecond)
	}
	d.Crash()

	// Only checkpoint 1's rows are visible; the rest is hidden.
	if got, want := committedIDs(t, tbl), sourceCut(t, snaps1); !slices.Equal(got, want) {
		t.Fatalf("after the crash: %d committed rows, want the %d of checkpoint 1", len(got), len(want))
	}
	hidden := strings.Join(hiddenFiles(t, dir), " ")
	for _, want := range []string{".ckpt-2.pending", ".ckpt-3.pending", ".inprogress"} {
		if !strings.Contains(hidden, want) {
			t.Errorf("no hidden %s file after the crash: %s", want, hidden)
		}
	}

	// Recover from checkpoint 2: its pending parts are committed, 3's and
	// the in-progress ones deleted, and the rest of the input replayed.
	g2, _, n2 := datagenToFiles(t, dir, rows, 40000, "sink.rolling-policy.file-size", "16kb")
	d2 := exectest.RunCheckpointed(t, g2, "job1", 2, snaps2)
	exectest.WaitRows(t, n2, 1000)
	d2.Checkpoint(4, false)
	d2.Job.NotifyCheckpointComplete(4)
	d2.Finish(5)

	if got := committedIDs(t, tbl); !slices.Equal(got, seq(rows)) {
		t.Fatalf("after recovery: %d committed rows, want ids 0..%d exactly once", len(got), rows-1)
	}
	if h := hiddenFiles(t, dir); len(h) != 0 {
		t.Fatalf("hidden files left after the final checkpoint: %v", h)
	}
}

// TestRestoreRepeatsCommit: a crash right after a completion
// was notified; the restore repeats its commits (idempotent) and a fresh
// run of another job in the same directory does not touch the files.
func TestRestoreRepeatsCommit(t *testing.T) {
	const rows = 6000
	dir := t.TempDir()
	g, tbl, n := datagenToFiles(t, dir, rows, 30000)
	d := exectest.RunCheckpointed(t, g, "job1", 0, nil)
	exectest.WaitRows(t, n, 1000)
	snaps := d.Checkpoint(7, false)
	d.Job.NotifyCheckpointComplete(7)
	// Wait for the commit: the rows of checkpoint 7 become visible.
	want := sourceCut(t, snaps)
	deadline := time.Now().Add(20 * time.Second)
	for !slices.Equal(committedIDs(t, tbl), want) {
		if time.Now().After(deadline) {
			t.Fatal("checkpoint 7 was not committed")
		}
		time.Sleep(time.Millisecond)
	}
	d.Crash()

	g2, _, _ := datagenToFiles(t, dir, rows, 0)
	exectest.RunCheckpointed(t, g2, "job1", 7, snaps).Finish(8)
	if got := committedIDs(t, tbl); !slices.Equal(got, seq(rows)) {
		t.Fatalf("after recovery: %d committed rows, want %d", len(got), rows)
	}

	// Another job writing into the same directory leaves job1's files be.
	g3, _, _ := datagenToFiles(t, dir, 10, 0)
	exectest.RunCheckpointed(t, g3, "job2", 0, nil).Finish(1)
	if got := committedIDs(t, tbl); len(got) != rows+10 {
		t.Fatalf("after a second job: %d rows, want %d", len(got), rows+10)
	}
}
