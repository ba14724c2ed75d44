package kafka

import (
	"context"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
)

// openSink opens subtask sub of an exactly-once sink of tbl for job.
func openSink(t *testing.T, tbl *connectors.Table, job string, sub int) (exec.Operator, error) {
	t.Helper()
	f, err := Connector{}.NewSink(tbl, connectors.SinkRequest{Mode: connectors.AppendOnly, JobID: job, Checkpointing: checkpointing})
	if err != nil {
		t.Fatal(err)
	}
	op, err := f(sub)
	if err != nil {
		t.Fatal(err)
	}
	return op, op.(exec.Opener).Open(&exec.TaskContext{Ctx: context.Background(), JobID: job, Subtask: sub, Parallelism: 2})
}

// TestSinkPrefixSharedByRunningJob: a second job (or a second table of one
// job) whose exactly-once sink uses a transactional-id prefix a running
// sink holds is refused at start, naming the other job; once every subtask
// of the first has closed the prefix is free again.
func TestSinkPrefixSharedByRunningJob(t *testing.T) {
	tbl := sinkTable("localhost:1", "shared")
	a0, err := openSink(t, tbl, "job-a", 0)
	if err != nil {
		t.Fatal(err)
	}
	a1, err := openSink(t, tbl, "job-a", 1) // the same sink's other subtask
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openSink(t, tbl, "job-b", 0); err == nil || !strings.Contains(err.Error(), "running job 'job-a'") {
		t.Fatalf("second job: err = %v, want it to name job-a", err)
	}
	other := sinkTable("localhost:1", "shared")
	other.Name = "out2"
	if _, err := openSink(t, other, "job-a", 0); err == nil || !strings.Contains(err.Error(), "table out of the same job") {
		t.Fatalf("second table: err = %v, want it to name table out", err)
	}
	// Another prefix is fine.
	b, err := openSink(t, sinkTable("localhost:1", "own"), "job-b", 0)
	if err != nil {
		t.Fatal(err)
	}
	closeOp(t, b)
	closeOp(t, a0)
	if _, err := openSink(t, tbl, "job-b", 0); err == nil {
		t.Fatal("job-b opened while a subtask of job-a still runs")
	}
	closeOp(t, a1)
	b, err = openSink(t, tbl, "job-b", 0)
	if err != nil {
		t.Fatalf("after job-a closed: %v", err)
	}
	closeOp(t, b)
}

func closeOp(t *testing.T, op exec.Operator) {
	t.Helper()
	if err := op.(exec.Closer).Close(); err != nil {
		t.Fatal(err)
	}
}
