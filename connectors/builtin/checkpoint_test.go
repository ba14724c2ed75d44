package builtin

import (
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/connectors/datagen"
	"github.com/sluicesql/sluice/connectors/splitpos"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
)

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
			Ops: []exec.OperatorFactory{func(int) (exec.Operator, error) { return exectest.RowCounter{N: &n}, nil }, sinkF}},
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
	d := exectest.RunCheckpointed(t, g, "job1", 0, nil)
	exectest.WaitRows(t, n, 2000)
	snaps1 := d.Checkpoint(1, false)
	d.Job.NotifyCheckpointComplete(1)
	exectest.WaitRows(t, n, 5000)
	snaps2 := d.Checkpoint(2, false) // completed, notification lost
	exectest.WaitRows(t, n, 8000)
	d.Checkpoint(3, false)
	exectest.WaitRows(t, n, 9000)
	d.Crash()
	want, err := splitpos.Produced(snaps1.Sources(0, 2)...)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.keys(t, bt); !slices.Equal(got, want) {
		t.Fatalf("%d rows visible after the crash, want the %d of checkpoint 1", len(got), len(want))
	}

	g2, n2 := e.datagenToTable(t, bt, "job1", rows, 40000)
	d2 := exectest.RunCheckpointed(t, g2, "job1", 2, snaps2)
	exectest.WaitRows(t, n2, 1000)
	d2.Checkpoint(4, false)
	d2.Job.NotifyCheckpointComplete(4)
	d2.Finish(5)

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
