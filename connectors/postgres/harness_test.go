package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/sqltests/pgtest"
)

// pushSource emits the batches the test pushes, and empty batches while
// there are none; closing the channel ends it.
type pushSource struct{ ch chan *types.Batch }

func (s *pushSource) Open(*exec.TaskContext) error { return nil }
func (s *pushSource) Close() error                 { return nil }

func (s *pushSource) Next(b *types.Batch) (bool, error) {
	select {
	case in, ok := <-s.ch:
		if !ok {
			return true, nil
		}
		for i := range in.Len() {
			b.AppendFrom(in, i)
		}
		in.Release()
	case <-time.After(2 * time.Millisecond):
	}
	return false, nil
}

// db is a test's database: a connection whose schema holds the tables.
type db struct {
	*pgtest.Conn
	t testing.TB
}

func connect(t testing.TB) *db { return &db{pgtest.Connect(t), t} }

func (d *db) exec(sql string, args ...any) {
	d.t.Helper()
	if _, err := d.Exec(context.Background(), sql, args...); err != nil {
		d.t.Fatalf("%s: %v", sql, err)
	}
}

// dump returns the rows of query, one per line, values separated by
// blanks (NULL for NULL).
func (d *db) dump(query string) string {
	d.t.Helper()
	rows, err := d.Query(context.Background(), query)
	if err != nil {
		d.t.Fatalf("%s: %v", query, err)
	}
	var lines []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			d.t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = fmt.Sprint(v)
			}
		}
		lines = append(lines, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		d.t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// progress returns the checkpoint recorded for sinkID's subtask (0 when
// there is no row).
func (d *db) progress(sinkID string, subtask int) int64 {
	d.t.Helper()
	var n int64
	err := d.QueryRow(context.Background(), "SELECT checkpoint FROM "+pgx.Identifier{d.Schema, progressTable}.Sanitize()+
		" WHERE sink_id = $1 AND subtask = $2", sinkID, subtask).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0
	}
	if err != nil {
		d.t.Fatal(err)
	}
	return n
}

// eventually polls cond until it holds, failing the test after 20 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sinkTable describes the Sluice side of a test's sink.
func (d *db) sinkTable(name string, schema types.Schema, pk []int, opts ...string) *connectors.Table {
	o := map[string]string{"connector": "postgres", "url": d.DSN, "table-name": d.Schema + "." + name,
		"sink.max-retries": "5"}
	for i := 0; i+1 < len(opts); i += 2 {
		o[opts[i]] = opts[i+1]
	}
	return &connectors.Table{Name: name, Schema: schema, PrimaryKey: pk, Options: o}
}

// jobOpts configure a test job.
type jobOpts struct {
	jobID string
	// par is the sink's parallelism (default 1).
	par int
	// noCheckpoints runs without checkpointing (an ad-hoc job).
	noCheckpoints bool
	restore       *exec.Restore
}

// job is a running source → sink job driven by the test.
type job struct {
	t    testing.TB
	job  *exec.Job
	src  chan *types.Batch
	ts   []types.Type
	par  int
	acks chan exec.Ack
	// sinkID is the sink's progress id (vertex 1, operator 0).
	sinkID string
}

// startJob runs a job of a push source (parallelism 1) and the sink of
// table (hash-partitioned by its key, or rebalanced).
func startJob(t testing.TB, table *connectors.Table, o jobOpts) *job {
	t.Helper()
	if o.jobID == "" {
		o.jobID = "job-" + t.Name()
	}
	if o.par == 0 {
		o.par = 1
	}
	mode := connectors.AppendOnly
	if len(table.PrimaryKey) > 0 {
		mode = connectors.Retract
	}
	factory, err := (&Connector{}).NewSink(table, connectors.SinkRequest{Mode: mode, JobID: o.jobID})
	if err != nil {
		t.Fatal(err)
	}
	ts := table.Schema.Types()
	edge := exec.Edge{From: 0, Exchange: exec.Rebalance}
	if len(table.PrimaryKey) > 0 {
		edge = exec.Edge{From: 0, Exchange: exec.Hash, KeyCols: table.PrimaryKey}
	}
	if o.par == 1 {
		edge = exec.Edge{From: 0, Exchange: exec.Forward}
	}
	src := make(chan *types.Batch)
	g := &exec.JobGraph{Vertices: []exec.Vertex{
		{Name: "source", Parallelism: 1, InTypes: ts, OutTypes: ts,
			Source: func(int) (exec.Source, error) { return &pushSource{ch: src}, nil }},
		{Name: "sink", Parallelism: o.par, InTypes: ts, Inputs: []exec.Edge{edge},
			Ops: []exec.OperatorFactory{factory}},
	}}
	j := &job{t: t, src: src, ts: ts, par: o.par, acks: make(chan exec.Ack, 64),
		sinkID: SinkID(o.jobID, table.Name, 1, 0)}
	opts := exec.RunOptions{JobID: o.jobID, Restore: o.restore,
		OnAck: func(a exec.Ack) {
			if a.Sink {
				j.acks <- a
			}
		}}
	if !o.noCheckpoints {
		opts.StartTs = 1
	}
	j.job, err = exec.Run(context.Background(), g, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		j.job.Cancel()
		_ = j.job.Wait()
	})
	return j
}

// send pushes rows in the batch notation; it returns once the source has
// taken them, so a barrier injected next follows them.
func (j *job) send(text string) {
	j.t.Helper()
	b := exectest.MustParse(j.t, j.ts, text)
	select {
	case j.src <- b:
	case <-j.job.Done():
		j.t.Fatalf("job ended: %v", j.job.Err())
	}
}

// sendBatch pushes a batch (taking ownership).
func (j *job) sendBatch(b *types.Batch) {
	select {
	case j.src <- b:
	case <-j.job.Done():
		j.t.Fatalf("job ended: %v", j.job.Err())
	}
}

// checkpoint injects barrier id and waits for every sink subtask to
// acknowledge it; it returns their snapshots by subtask.
func (j *job) checkpoint(id int64) map[int][]byte {
	j.t.Helper()
	j.job.InjectBarrier(exec.Barrier{CheckpointID: id})
	snaps := map[int][]byte{}
	for n := 0; n < j.par; {
		select {
		case a := <-j.acks:
			if a.CheckpointID != id {
				continue
			}
			n++
			for _, s := range a.Snapshots {
				if s.Op == 0 {
					snaps[a.Subtask] = s.Data
				}
			}
		case <-j.job.Done():
			j.t.Fatalf("job ended before checkpoint %d: %v", id, j.job.Err())
		case <-time.After(20 * time.Second):
			j.t.Fatalf("no acknowledgement of checkpoint %d", id)
		}
	}
	return snaps
}

// crash cancels the job, as a crash would stop it.
func (j *job) crash() {
	j.job.Cancel()
	_ = j.job.Wait()
}

// end closes the source and waits for the job to finish.
func (j *job) end() error {
	close(j.src)
	return j.job.Wait()
}

// restoreFrom builds the Restore of checkpoint id from snapshots taken at
// oldPar and maps them to newPar subtasks (j % newPar).
func restoreFrom(id int64, snaps map[int][]byte, newPar int) *exec.Restore {
	return &exec.Restore{CheckpointID: id, Snapshots: func(vertex, subtask, op int) [][]byte {
		if vertex != 1 || op != 0 {
			return nil
		}
		var out [][]byte
		for old := 0; old < 64; old++ {
			if s, ok := snaps[old]; ok && old%newPar == subtask {
				out = append(out, s)
			}
		}
		return out
	}}
}

var kvSchema = types.Schema{{Name: "k", Type: types.BigInt}, {Name: "v", Type: types.String}}
