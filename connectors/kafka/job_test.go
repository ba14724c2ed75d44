package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// checkpoints drives a job's checkpoints by hand and keeps what every
// subtask snapshotted, to restore a later job from it.
type checkpoints struct {
	mu    sync.Mutex
	snaps map[int64]map[[3]int][]byte // checkpoint → (vertex, subtask, op) → data
	acks  map[int64]int
	ackCh chan int64
	total int // subtasks in the job
}

func newCheckpoints(total int) *checkpoints {
	return &checkpoints{snaps: map[int64]map[[3]int][]byte{}, acks: map[int64]int{},
		ackCh: make(chan int64, 64), total: total}
}

func (c *checkpoints) onAck(a exec.Ack) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snaps[a.CheckpointID] == nil {
		c.snaps[a.CheckpointID] = map[[3]int][]byte{}
	}
	for _, s := range a.Snapshots {
		c.snaps[a.CheckpointID][[3]int{a.Vertex, a.Subtask, s.Op}] = s.Data
	}
	c.acks[a.CheckpointID]++
	if c.acks[a.CheckpointID] == c.total {
		c.ackCh <- a.CheckpointID
	}
}

// take injects barrier id and waits until every subtask acknowledged it.
func (c *checkpoints) take(t *testing.T, job *exec.Job, id int64) {
	t.Helper()
	job.InjectBarrier(exec.Barrier{CheckpointID: id})
	select {
	case got := <-c.ackCh:
		if got != id {
			t.Fatalf("checkpoint %d completed, want %d", got, id)
		}
	case <-job.Done():
		t.Fatalf("job ended before checkpoint %d: %v", id, job.Err())
	case <-time.After(20 * time.Second):
		t.Fatalf("checkpoint %d not acknowledged", id)
	}
}

func (c *checkpoints) restore(id int64) *exec.Restore {
	c.mu.Lock()
	snaps := c.snaps[id]
	c.mu.Unlock()
	return &exec.Restore{CheckpointID: id, Snapshots: func(v, s, op int) [][]byte {
		if b, ok := snaps[[3]int{v, s, op}]; ok {
			return [][]byte{b}
		}
		return nil
	}}
}

// stopJob cancels a job, as a crash would stop it: nothing after the last
// completed checkpoint survives.
func stopJob(t *testing.T, job *exec.Job) {
	t.Helper()
	job.Cancel()
	if err := job.Wait(); err != nil && !errors.Is(err, exec.ErrCancelled) {
		t.Fatalf("job: %v", err)
	}
}

var idType = []types.Type{types.BigInt}

// rowCollector is a sink operator that keeps the ids it receives and, per
// checkpoint, how many it had received at the barrier.
type rowCollector struct {
	mu    sync.Mutex
	ids   []int64
	atCP  map[int64]int
	count atomic.Int64
}

func (r *rowCollector) factory() exec.OperatorFactory {
	return func(int) (exec.Operator, error) { return (*collectOp)(r), nil }
}

type collectOp rowCollector

func (o *collectOp) Process(b *types.Batch, _ exec.Collector) error {
	o.mu.Lock()
	o.ids = append(o.ids, b.Cols[0].I64...)
	o.mu.Unlock()
	o.count.Add(int64(b.Len()))
	b.Release()
	return nil
}

func (o *collectOp) Snapshot(id int64) ([]byte, error) {
	o.mu.Lock()
	if o.atCP == nil {
		o.atCP = map[int64]int{}
	}
	o.atCP[id] = len(o.ids)
	o.mu.Unlock()
	return nil, nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func jsonValues(from, to int) []string {
	var vs []string
	for i := from; i < to; i++ {
		vs = append(vs, fmt.Sprintf(`{"id":%d,"name":"n%d"}`, i, i))
	}
	return vs
}

func sourceTable(addr, topic string, extra ...string) *connectors.Table {
	opts := map[string]string{"connector": "kafka", "topic": topic, "format": "json",
		"properties.bootstrap.servers": addr, "scan.startup.mode": "earliest-offset"}
	for i := 0; i+1 < len(extra); i += 2 {
		opts[extra[i]] = extra[i+1]
	}
	return &connectors.Table{Name: "src", Options: opts,
		Schema: types.Schema{{Name: "id", Type: types.BigInt}, {Name: "name", Type: types.String}}}
}

// TestSourceRestoresOffsetsExactly reads part of a topic, checkpoints,
// stops, and resumes from the checkpoint with more data arriving: every
// record is delivered exactly once over both runs.
func TestSourceRestoresOffsetsExactly(t *testing.T) {
	addr := startBroker(t)
	const topic = "in"
	createTopic(t, addr, topic, 3)
	produce(t, addr, topic, 3, jsonValues(0, 300)...)

	graph := func(tbl *connectors.Table, out *rowCollector) *exec.JobGraph {
		spec, err := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: []int{0}})
		if err != nil {
			t.Fatal(err)
		}
		return &exec.JobGraph{Vertices: []exec.Vertex{
			{Name: "source", Parallelism: 2, Source: spec.Factory, InTypes: idType, OutTypes: idType},
			{Name: "sink", Parallelism: 1, InTypes: idType, Inputs: []exec.Edge{{From: 0, Exchange: exec.Single}},
				Ops: []exec.OperatorFactory{out.factory()}},
		}}
	}

	// Run 1: read what is there, checkpoint, then more arrives and is
	// read, and the job stops before the next checkpoint.
	cps := newCheckpoints(3)
	first := &rowCollector{}
	job, err := exec.Run(context.Background(), graph(sourceTable(addr, topic), first), exec.RunOptions{OnAck: cps.onAck})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "300 rows", func() bool { return first.count.Load() == 300 })
	cps.take(t, job, 1)
	produce(t, addr, topic, 3, jsonValues(300, 400)...)
	waitFor(t, "400 rows", func() bool { return first.count.Load() == 400 })
	stopJob(t, job)

	// Run 2 resumes from checkpoint 1 and reads to the end.
	produce(t, addr, topic, 3, jsonValues(400, 450)...)
	second := &rowCollector{}
	job, err = exec.Run(context.Background(),
		graph(sourceTable(addr, topic, "scan.bounded.mode", "latest-offset"), second),
		exec.RunOptions{Restore: cps.restore(1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	got := append(append([]int64(nil), first.ids[:first.atCP[1]]...), second.ids...)
	checkIDs(t, got, 450)
}

func checkIDs(t *testing.T, got []int64, n int) {
	t.Helper()
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	if len(got) != n {
		t.Fatalf("got %d rows, want %d", len(got), n)
	}
	for i, id := range got {
		if id != int64(i) {
			t.Fatalf("row %d is id %d: ids are missing or duplicated", i, id)
		}
	}
}

// TestSourceOffsetBelowLogStartIsAnError restores from a checkpoint whose
// offsets were deleted: an explicit error, never a silent reset.
func TestSourceOffsetBelowLogStartIsAnError(t *testing.T) {
	addr := startBroker(t)
	createTopic(t, addr, "gone", 1)
	produce(t, addr, "gone", 1, jsonValues(0, 10)...)
	adm := newAdmin(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := adm.DeleteRecords(ctx, offsetsAt("gone", 0, 5)); err != nil {
		t.Fatal(err)
	}
	spec, err := Connector{}.NewSource(sourceTable(addr, "gone", "scan.bounded.mode", "latest-offset"), connectors.SourceRequest{Columns: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	snap := []byte(`{"parallelism":1,"offsets":{"gone":{"0":2}}}`)
	g := &exec.JobGraph{Vertices: []exec.Vertex{
		{Name: "source", Parallelism: 1, Source: spec.Factory, InTypes: idType, OutTypes: idType,
			Ops: []exec.OperatorFactory{(&rowCollector{}).factory()}},
	}}
	job, err := exec.Run(context.Background(), g, exec.RunOptions{Restore: &exec.Restore{CheckpointID: 3,
		Snapshots: func(_, _, op int) [][]byte {
			if op == -1 {
				return [][]byte{snap}
			}
			return nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	err = job.Wait()
	if !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("err = %v, want ErrOffsetOutOfRange", err)
	}
	t.Log(err)
}

// TestSourceMalformedRecord fails naming topic, partition and offset, or
// skips and counts with json.ignore-parse-errors.
func TestSourceMalformedRecord(t *testing.T) {
	addr := startBroker(t)
	createTopic(t, addr, "bad", 1)
	produce(t, addr, "bad", 1, `{"id":1}`, `{"id":2`, `{"id":3}`)
	run := func(tbl *connectors.Table) (*rowCollector, error) {
		spec, err := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: []int{0}})
		if err != nil {
			t.Fatal(err)
		}
		out := &rowCollector{}
		job, err := exec.Run(context.Background(), &exec.JobGraph{Vertices: []exec.Vertex{
			{Name: "source", Parallelism: 1, Source: spec.Factory, InTypes: idType, OutTypes: idType,
				Ops: []exec.OperatorFactory{out.factory()}}}}, exec.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return out, job.Wait()
	}
	_, err := run(sourceTable(addr, "bad", "scan.bounded.mode", "latest-offset"))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Topic != "bad" || pe.Partition != 0 || pe.Offset != 1 {
		t.Fatalf("err = %v, want a ParseError at bad/0/1", err)
	}
	out, err := run(sourceTable(addr, "bad", "scan.bounded.mode", "latest-offset", "json.ignore-parse-errors", "true"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out.ids) != "[1 3]" {
		t.Fatalf("ids %v, want [1 3]", out.ids)
	}
}

// idSource emits ids pos..limit-1 in batches of 10, then idles; its
// position is checkpointed.
type idSource struct {
	pos, limit int64
	emitted    *atomic.Int64
}

func (s *idSource) Open(*exec.TaskContext) error { return nil }
func (s *idSource) Close() error                 { return nil }

func (s *idSource) Next(b *types.Batch) (bool, error) {
	if s.pos >= s.limit {
		time.Sleep(time.Millisecond)
		return false, nil
	}
	for i := 0; i < 10 && s.pos < s.limit; i++ {
		b.AppendRow(types.Insert, []types.Datum{types.IntDatum(s.pos), types.StringDatum("n" + strconv.FormatInt(s.pos, 10))})
		s.pos++
	}
	s.emitted.Store(s.pos)
	return false, nil
}

func (s *idSource) Snapshot(int64) ([]byte, error) { return []byte(strconv.FormatInt(s.pos, 10)), nil }

func (s *idSource) Restore(_ int64, snaps [][]byte) error {
	for _, b := range snaps {
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return err
		}
		s.pos = n
	}
	return nil
}
