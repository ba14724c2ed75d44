package filesystem

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

var oneCol = types.Schema{{Name: "s", Type: types.String}}

// openSink opens a sink subtask of a job that takes checkpoints.
func openSink(t *testing.T, tbl *connectors.Table, job string, subtask, p int) *sink {
	t.Helper()
	factory, err := Connector{}.NewSink(tbl, connectors.SinkRequest{Mode: connectors.AppendOnly})
	if err != nil {
		t.Fatal(err)
	}
	op, _ := factory(subtask)
	s := op.(*sink)
	tc := &exec.TaskContext{Ctx: context.Background(), JobID: job, Subtask: subtask, Parallelism: p, Checkpointing: true}
	if err := s.Open(tc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func write(t *testing.T, s *sink, vals ...string) {
	t.Helper()
	b := types.NewBatch(oneCol.Types())
	for _, v := range vals {
		b.AppendRow(types.Insert, []types.Datum{types.StringDatum(v)})
	}
	if err := s.Process(b, nil); err != nil {
		t.Fatal(err)
	}
}

func snapshot(t *testing.T, s *sink, id int64) []byte {
	t.Helper()
	b, err := s.Snapshot(id)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func readRows(t *testing.T, tbl *connectors.Table) []string {
	t.Helper()
	rows, err := readTable(t, tbl, []int{0}, 1)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(rows)
	return rows
}

func TestSinkTwoPhaseCommit(t *testing.T) {
	dir := t.TempDir()
	tbl := newTable(oneCol, "path", dir, "format", "csv")
	s := openSink(t, tbl, "j", 0, 1)

	// An empty checkpoint interval produces no file.
	snapshot(t, s, 1)
	if n := names(t, dir); len(n) != 0 {
		t.Fatalf("files after an empty checkpoint: %v", n)
	}
	write(t, s, "a", "b")
	if n := names(t, dir); !slices.Equal(n, []string{".part-j-0-0.csv.inprogress"}) {
		t.Fatalf("while writing: %v", n)
	}
	snapshot(t, s, 2)
	write(t, s, "c")
	snapshot(t, s, 3) // aborted: its parts are committed by the next completion
	write(t, s, "d")
	snapshot(t, s, 4)
	write(t, s, "e")
	if got := readRows(t, tbl); len(got) != 0 {
		t.Fatalf("visible before any completion: %v", got)
	}
	want := []string{".part-j-0-0.csv.ckpt-2.pending", ".part-j-0-1.csv.ckpt-3.pending",
		".part-j-0-2.csv.ckpt-4.pending", ".part-j-0-3.csv.inprogress"}
	if n := names(t, dir); !slices.Equal(n, want) {
		t.Fatalf("pending parts: %v, want %v", n, want)
	}
	if err := s.NotifyCheckpointComplete(3); err != nil {
		t.Fatal(err)
	}
	if got := readRows(t, tbl); !slices.Equal(got, []string{"+I[a]", "+I[b]", "+I[c]"}) {
		t.Fatalf("after completing 3: %v", got)
	}
	if err := s.Finish(nil); err != nil {
		t.Fatal(err)
	}
	if got := readRows(t, tbl); len(got) != 3 {
		t.Fatalf("Finish committed with checkpointing: %v", got)
	}
	snapshot(t, s, 5)
	if err := s.NotifyCheckpointComplete(5); err != nil {
		t.Fatal(err)
	}
	want = []string{"part-j-0-0.csv", "part-j-0-1.csv", "part-j-0-2.csv", "part-j-0-3.csv"}
	if n := names(t, dir); !slices.Equal(n, want) {
		t.Fatalf("after completing 5: %v, want %v", n, want)
	}
	if got := readRows(t, tbl); len(got) != 5 {
		t.Fatalf("after completing 5: %v", got)
	}
}

// TestSinkRestoreAfterRescale: two subtasks crash with pending and
// in-progress parts; one subtask restores both from the completed
// checkpoint: listed parts are committed (also one whose commit already
// happened), leftovers deleted, other jobs' files untouched.
func TestSinkRestoreAfterRescale(t *testing.T) {
	dir := t.TempDir()
	tbl := newTable(oneCol, "path", dir, "format", "json")
	s0, s1 := openSink(t, tbl, "job", 0, 2), openSink(t, tbl, "job", 1, 2)
	write(t, s0, "a")
	write(t, s1, "b")
	snapshot(t, s0, 1)
	snapshot(t, s1, 1)
	if err := s0.NotifyCheckpointComplete(1); err != nil { // s1's notification is lost
		t.Fatal(err)
	}
	write(t, s0, "c")
	write(t, s1, "d")
	snap0, snap1 := snapshot(t, s0, 2), snapshot(t, s1, 2) // completed, nobody notified
	write(t, s0, "e")
	snapshot(t, s0, 3) // not completed
	write(t, s0, "f")
	write(t, s1, "g")
	s0.Close()
	s1.Close()
	// Files of another job, and of a job whose id extends this one's.
	foreign := []string{".part-other-0-0.json.inprogress", ".part-job-1-0-0.json.ckpt-9.pending", "part-other-0-1.json"}
	for _, f := range foreign {
		writeFile(t, filepath.Join(dir, f), `{"s":"x"}`+"\n")
	}

	r := openSink(t, tbl, "job", 0, 1)
	if err := r.Restore(2, [][]byte{snap0, snap1}); err != nil {
		t.Fatal(err)
	}
	var hidden []string
	for _, n := range names(t, dir) {
		if strings.HasPrefix(n, ".") {
			hidden = append(hidden, n)
		}
	}
	want := slices.Sorted(slices.Values(foreign[:2]))
	if !slices.Equal(hidden, want) {
		t.Fatalf("hidden files after restore: %v, want only %v", hidden, want)
	}
	if got := readRows(t, tbl); !slices.Equal(got, []string{"+I[a]", "+I[b]", "+I[c]", "+I[d]", "+I[x]"}) {
		t.Fatalf("after restore: %v", got)
	}
	// New parts continue the numbering of the snapshot (parts 2 and 3 of the
	// crashed attempt were deleted) and commit normally.
	write(t, r, "h")
	snapshot(t, r, 3)
	if err := r.NotifyCheckpointComplete(3); err != nil {
		t.Fatal(err)
	}
	if got := readRows(t, tbl); len(got) != 6 {
		t.Fatalf("after the restored subtask's checkpoint: %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "part-job-0-2.json")); err != nil {
		t.Fatalf("part numbering: %v (files %v)", err, names(t, dir))
	}
}

func TestSinkFreshStartCleansUp(t *testing.T) {
	dir := t.TempDir()
	tbl := newTable(oneCol, "path", dir, "format", "json")
	left := []string{".part-job-0-0.json.inprogress", ".part-job-2-0.json.ckpt-1.pending"}
	kept := []string{".part-job-1-0.json.inprogress", ".part-job-0-x.json.inprogress", ".part-job-0-0.csv.inprogress"}
	for _, f := range append(slices.Clone(left), kept...) {
		writeFile(t, filepath.Join(dir, f), "{}\n")
	}
	s := openSink(t, tbl, "job", 0, 2)
	write(t, s, "a")
	want := slices.Sorted(slices.Values(append([]string{".part-job-0-0.json.inprogress"}, kept...)))
	if n := names(t, dir); !slices.Equal(n, want) {
		t.Fatalf("after a fresh start: %v", n)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, left[0])); len(data) != 0 {
		t.Fatalf("the leftover was not replaced: %q", data)
	}
}

func TestSinkRolloverInterval(t *testing.T) {
	dir := t.TempDir()
	tbl := newTable(oneCol, "path", dir, "format", "json", "sink.rolling-policy.rollover-interval", "1 min")
	factory, err := Connector{}.NewSink(tbl, connectors.SinkRequest{Mode: connectors.AppendOnly, JobID: "j"})
	if err != nil {
		t.Fatal(err)
	}
	op, _ := factory(0)
	s := op.(*sink)
	clock := time.Unix(1000, 0)
	s.now = func() time.Time { return clock }
	if err := s.Open(taskContext(0, 1)); err != nil {
		t.Fatal(err)
	}
	write(t, s, "a")
	clock = clock.Add(59 * time.Second)
	write(t, s, "b")
	if n := names(t, dir); len(n) != 1 || !strings.HasPrefix(n[0], ".") {
		t.Fatalf("rolled before the interval: %v", n)
	}
	clock = clock.Add(time.Second)
	write(t, s, "c") // the part is a minute old: roll
	write(t, s, "d")
	if n := names(t, dir); !slices.Equal(n, []string{".part-j-0-1.json.inprogress", "part-j-0-0.json"}) {
		t.Fatalf("after the interval: %v", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readRows(t, tbl); len(got) != 4 {
		t.Fatalf("rows: %v", got)
	}
}

func TestSinkSnapshotRejectsCorruption(t *testing.T) {
	s := openSink(t, newTable(oneCol, "path", t.TempDir(), "format", "json"), "j", 0, 1)
	good := (&sinkSnapshot{id: "j", pending: []pendingPart{{ckpt: 1, final: "part-j-0-0.json"}}}).encode()
	for _, bad := range [][]byte{nil, {7}, good[:len(good)-1], append(slices.Clone(good), 0),
		(&sinkSnapshot{id: "j", pending: []pendingPart{{ckpt: 1, final: "../x"}}}).encode()} {
		if err := s.Restore(1, [][]byte{bad}); err == nil || !strings.Contains(err.Error(), "corrupt filesystem sink snapshot") {
			t.Errorf("Restore(%x) = %v", bad, err)
		}
	}
}
