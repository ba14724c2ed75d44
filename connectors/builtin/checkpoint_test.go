package builtin

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/connectors/datagen"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// The driver below is the filesystem package's test driver (test code is
// not shared between packages).

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

// datagenToTable builds datagen (k BIGINT sequence 0..rows-1, v STRING,
// n DOUBLE) with parallelism 2 → rebalance → sink into ct with parallelism
// 2, and returns the graph and the counter of rows that reached the sink.
func (e *env) datagenToTable(t *testing.T, ct *connectors.Table, job string, rows, rate int) (*exec.JobGraph, *atomic.Int64) {
	t.Helper()
	gen := &connectors.Table{Name: "gen", Schema: ct.Schema, Options: map[string]string{
		"connector": "datagen", "rows-per-second": strconv.Itoa(rate),
		"fields.k.kind": "sequence", "fields.k.start": "0", "fields.k.end": strconv.Itoa(rows - 1),
		"fields.v.length": "8",
	}}
	spec, err := datagen.Connector{}.NewSource(gen, connectors.SourceRequest{Columns: allCols(ct)})
	if err != nil {
		t.Fatal(err)
	}
	sinkF, err := e.bs.NewSink(ct, connectors.SinkRequest{Mode: connectors.AppendOnly, JobID: job})
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	ts := ct.Schema.Types()
	g := &exec.JobGraph{Vertices: []exec.Vertex{
		{Name: "datagen", Parallelism: 2, Source: spec.Factory, InTypes: ts, OutTypes: ts},
		{Name: "sink", Parallelism: 2, InTypes: ts, Inputs: []exec.Edge{{From: 0, Exchange: exec.Rebalance}},
			Ops: []exec.OperatorFactory{func(int) (exec.Operator, error) { return counter{&n}, nil }, sinkF}},
	}}
	return g, &n
}

func (e *env) keys(t *testing.T, ct *connectors.Table) []int64 {
	t.Helper()
	var ks []int64
	for _, r := range e.contents(t, ct) {
		ks = append(ks, r.k)
	}
	slices.Sort(ks)
	return ks
}

// TestUnkeyedTableExactlyOnceAfterCrash: datagen → built-in table without
// a primary key; a crash after checkpoint 2 completed without its
// notification and with checkpoint 3 in flight; the restore from 2 then
// yields exactly the rows of a failure-free run.
func TestUnkeyedTableExactlyOnceAfterCrash(t *testing.T) {
	const rows = 20000
	e := newEnv(t, t.TempDir())
	bt, id := e.createTable(t, "bag", false)

	g, n := e.datagenToTable(t, bt, "job1", rows, 40000)
	d := runJob(t, g, "job1", 0, nil)
	waitRows(t, n, 2000)
	snaps1 := d.checkpoint(1, false)
	d.job.NotifyCheckpointComplete(1)
	waitRows(t, n, 5000)
	snaps2 := d.checkpoint(2, false) // completed, notification lost
	waitRows(t, n, 8000)
	d.checkpoint(3, false)
	waitRows(t, n, 9000)
	d.crash()
	if got, want := e.keys(t, bt), sourceCut(t, snaps1); !slices.Equal(got, want) {
		t.Fatalf("%d rows visible after the crash, want the %d of checkpoint 1", len(got), len(want))
	}

	g2, n2 := e.datagenToTable(t, bt, "job1", rows, 40000)
	d2 := runJob(t, g2, "job1", 2, snaps2)
	waitRows(t, n2, 1000)
	d2.checkpoint(4, false)
	d2.job.NotifyCheckpointComplete(4)
	d2.finish(5)

	got := e.keys(t, bt)
	for i, k := range got {
		if k != int64(i) {
			t.Fatalf("after recovery: %d rows; row %d has k = %d, want ids 0..%d exactly once", len(got), i, k, rows-1)
		}
	}
	if len(got) != rows {
		t.Fatalf("after recovery: %d rows, want %d", len(got), rows)
	}
	if c := e.stagedChunks(t, id); c != 0 {
		t.Fatalf("%d staged chunks left after the final checkpoint", c)
	}
}
