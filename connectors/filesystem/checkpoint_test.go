package filesystem

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/connectors/datagen"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// snapKey names one operator's snapshot: vertex, subtask, operator (-1:
// the source).
type snapKey [3]int

// driver plays the checkpoint coordinator for one exec.Job: it injects
// barriers, collects acknowledgements and snapshots, and completes
// checkpoints only when the test says so.
type driver struct {
	t        *testing.T
	job      *exec.Job
	subtasks int // acknowledgements that complete a checkpoint
	sources  int

	mu    sync.Mutex
	acks  map[int64]int
	snaps map[int64]map[snapKey][]byte
	ended int

	acked     chan int64    // checkpoints every subtask acknowledged
	sourcesAt chan struct{} // closed when every source subtask reached its end
}

// runJob starts g with checkpointing and a final checkpoint, restored from
// checkpoint id with snaps when snaps is not nil.
func runJob(t *testing.T, g *exec.JobGraph, jobID string, id int64, snaps map[snapKey][]byte) *driver {
	t.Helper()
	d := &driver{t: t, acks: map[int64]int{}, snaps: map[int64]map[snapKey][]byte{},
		acked: make(chan int64, 64), sourcesAt: make(chan struct{})}
	for _, v := range g.Vertices {
		d.subtasks += v.Parallelism
		if v.Source != nil {
			d.sources += v.Parallelism
		}
	}
	opts := exec.RunOptions{
		JobID: jobID, StartTs: 1, FinalCheckpoint: true, ChannelCapacity: 2,
		OnAck: d.onAck, OnSourceEnded: d.onSourceEnded,
	}
	if snaps != nil {
		opts.Restore = &exec.Restore{CheckpointID: id, Snapshots: func(v, s, op int) [][]byte {
			if b, ok := snaps[snapKey{v, s, op}]; ok {
				return [][]byte{b}
			}
			return nil
		}}
	}
	job, err := exec.Run(context.Background(), g, opts)
	if err != nil {
		t.Fatal(err)
	}
	d.job = job
	t.Cleanup(func() { job.Cancel(); job.Wait() })
	return d
}

func (d *driver) onAck(a exec.Ack) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.snaps[a.CheckpointID]
	if m == nil {
		m = map[snapKey][]byte{}
		d.snaps[a.CheckpointID] = m
	}
	for _, s := range a.Snapshots {
		m[snapKey{a.Vertex, a.Subtask, s.Op}] = s.Data
	}
	d.acks[a.CheckpointID]++
	if d.acks[a.CheckpointID] == d.subtasks {
		d.acked <- a.CheckpointID
	}
}

func (d *driver) onSourceEnded(int, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ended++
	if d.ended == d.sources {
		close(d.sourcesAt)
	}
}

// checkpoint takes checkpoint id and returns its snapshots once every
// subtask has acknowledged it (it does not complete it).
func (d *driver) checkpoint(id int64, final bool) map[snapKey][]byte {
	d.t.Helper()
	d.job.InjectBarrier(exec.Barrier{CheckpointID: id, Final: final})
	select {
	case got := <-d.acked:
		if got != id {
			d.t.Fatalf("checkpoint %d acknowledged, want %d", got, id)
		}
	case <-d.job.Done():
		d.t.Fatalf("job ended during checkpoint %d: %v", id, d.job.Err())
	case <-time.After(20 * time.Second):
		d.t.Fatalf("checkpoint %d not acknowledged", id)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.snaps[id]
}

// finish waits for the sources to end, takes the final checkpoint id,
// completes it and waits for the job to end.
func (d *driver) finish(id int64) {
	d.t.Helper()
	select {
	case <-d.sourcesAt:
	case <-time.After(20 * time.Second):
		d.t.Fatal("sources did not end")
	}
	d.checkpoint(id, true)
	d.job.NotifyCheckpointComplete(id)
	if err := d.job.Wait(); err != nil {
		d.t.Fatal(err)
	}
}

// crash stops the job as a failure would: nothing is completed any more.
func (d *driver) crash() {
	d.job.Cancel()
	if err := d.job.Wait(); !errors.Is(err, exec.ErrCancelled) {
		d.t.Fatalf("cancelled job ended with %v", err)
	}
}

// counter passes batches on and counts their rows.
type counter struct{ n *atomic.Int64 }

func (c counter) Process(b *types.Batch, out exec.Collector) error {
	c.n.Add(int64(b.Len()))
	return out.Collect(b)
}

// waitRows waits until n has reached at least want.
func waitRows(t *testing.T, n *atomic.Int64, want int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for n.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("only %d rows arrived, waiting for %d", n.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

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
			Ops: []exec.OperatorFactory{func(int) (exec.Operator, error) { return counter{&n}, nil }, sinkF}},
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
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// sourceCut returns the ids the datagen subtasks had produced before the
// checkpoint whose snapshots are snaps (source vertex 0, parallelism 2):
// row n belongs to subtask n mod 2, and a position is the next row number.
func sourceCut(t *testing.T, snaps map[snapKey][]byte) []int64 {
	t.Helper()
	var ids []int64
	for s := range 2 {
		b := snaps[snapKey{0, s, -1}]
		if len(b) == 0 {
			t.Fatalf("no datagen snapshot for subtask %d", s)
		}
		// version, subtask, parallelism, next: all one-byte or longer uvarints.
		pos := decodeLastUvarint(t, b)
		for n := int64(s); n < pos; n += 2 {
			ids = append(ids, n)
		}
	}
	slices.Sort(ids)
	return ids
}

func decodeLastUvarint(t *testing.T, b []byte) int64 {
	t.Helper()
	// Skip version byte and the two uvarints before the position.
	rest := b[1:]
	for range 2 {
		i := 0
		for rest[i]&0x80 != 0 {
			i++
		}
		rest = rest[i+1:]
	}
	var v uint64
	for i, c := range rest {
		v |= uint64(c&0x7f) << (7 * i)
	}
	return int64(v)
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

	d := runJob(t, g, "job1", 0, nil)
	waitRows(t, n, 2000)
	snaps1 := d.checkpoint(1, false)
	d.job.NotifyCheckpointComplete(1)
	waitRows(t, n, 5000)
	snaps2 := d.checkpoint(2, false) // completed, but the notification is lost
	waitRows(t, n, 8000)
	d.checkpoint(3, false) // pre-committed, never completed
	// Crash once rows after checkpoint 3 are being written.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(strings.Join(hiddenFiles(t, dir), " "), ".inprogress") {
		if time.Now().After(deadline) {
			t.Fatal("no in-progress part after checkpoint 3")
		}
		time.Sleep(time.Millisecond)
	}
	d.crash()

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
	d2 := runJob(t, g2, "job1", 2, snaps2)
	waitRows(t, n2, 1000)
	d2.checkpoint(4, false)
	d2.job.NotifyCheckpointComplete(4)
	d2.finish(5)

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
	d := runJob(t, g, "job1", 0, nil)
	waitRows(t, n, 1000)
	snaps := d.checkpoint(7, false)
	d.job.NotifyCheckpointComplete(7)
	// Wait for the commit: the rows of checkpoint 7 become visible.
	want := sourceCut(t, snaps)
	deadline := time.Now().Add(20 * time.Second)
	for !slices.Equal(committedIDs(t, tbl), want) {
		if time.Now().After(deadline) {
			t.Fatal("checkpoint 7 was not committed")
		}
		time.Sleep(time.Millisecond)
	}
	d.crash()

	g2, _, _ := datagenToFiles(t, dir, rows, 0)
	runJob(t, g2, "job1", 7, snaps).finish(8)
	if got := committedIDs(t, tbl); !slices.Equal(got, seq(rows)) {
		t.Fatalf("after recovery: %d committed rows, want %d", len(got), rows)
	}

	// Another job writing into the same directory leaves job1's files be.
	g3, _, _ := datagenToFiles(t, dir, 10, 0)
	runJob(t, g3, "job2", 0, nil).finish(1)
	if got := committedIDs(t, tbl); len(got) != rows+10 {
		t.Fatalf("after a second job: %d rows, want %d", len(got), rows+10)
	}
}
