package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

var idName = []types.Type{types.BigInt, types.String}

func sinkTable(addr, topic string, extra ...string) *connectors.Table {
	opts := map[string]string{"connector": "kafka", "topic": topic, "format": "json",
		"properties.bootstrap.servers": addr, "sink.delivery-guarantee": "exactly-once",
		"sink.transactional-id-prefix": "test-" + topic}
	for i := 0; i+1 < len(extra); i += 2 {
		opts[extra[i]] = extra[i+1]
	}
	return &connectors.Table{Name: "out", Options: opts,
		Schema: types.Schema{{Name: "id", Type: types.BigInt}, {Name: "name", Type: types.String}}}
}

var checkpointing = connectors.CheckpointSettings{Enabled: true, ExactlyOnce: true,
	Interval: time.Second, Timeout: 10 * time.Second, MaxRestartDelay: 10 * time.Second}

// sinkJob runs ids [restored position, limit) from an idSource through
// `parallelism` kafka sink subtasks.
func sinkJob(t *testing.T, tbl *connectors.Table, parallelism int, limit int64, cps *checkpoints, restore *exec.Restore) (*exec.Job, *atomic.Int64) {
	t.Helper()
	sinkF, err := Connector{}.NewSink(tbl, connectors.SinkRequest{Mode: connectors.AppendOnly, JobID: "j", Checkpointing: checkpointing})
	if err != nil {
		t.Fatal(err)
	}
	emitted := new(atomic.Int64)
	g := &exec.JobGraph{Vertices: []exec.Vertex{
		{Name: "source", Parallelism: 1, InTypes: idName, OutTypes: idName,
			Source: func(int) (exec.Source, error) { return &idSource{limit: limit, emitted: emitted}, nil }},
		{Name: "sink", Parallelism: parallelism, InTypes: idName, Inputs: []exec.Edge{{From: 0, Exchange: exec.Rebalance}},
			Ops: []exec.OperatorFactory{sinkF}},
	}}
	job, err := exec.Run(context.Background(), g, exec.RunOptions{OnAck: cps.onAck, Restore: restore})
	if err != nil {
		t.Fatal(err)
	}
	return job, emitted
}

func expectedValues(n int) []string {
	var vs []string
	for i := range n {
		vs = append(vs, fmt.Sprintf(`{"id":%d,"name":"n%d"}`, i, i))
	}
	return sortedCopy(vs)
}

func sortedCopy(vs []string) []string {
	out := append([]string(nil), vs...)
	for i := 1; i < len(out); i++ { // insertion sort keeps the helper dependency-free
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func sameValues(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("read_committed sees %d records, want %d\ngot  %.300v\nwant %.300v", len(got), len(want), got, want)
	}
}

// TestSinkExactlyOnceThroughCrashes crashes the job at each step of the
// two-phase commit and recovers: a read_committed consumer sees every row
// exactly once, and nothing of an uncommitted checkpoint before that.
func TestSinkExactlyOnceThroughCrashes(t *testing.T) {
	addr := startBroker(t)
	const topic = "out"
	createTopic(t, addr, topic, 3)
	tbl := sinkTable(addr, topic)

	// Run 1: rows 0..299, checkpoint 1 pre-commits them, more rows follow,
	// then a crash before checkpoint 1's completion is notified.
	cps := newCheckpoints(3)
	job, emitted := sinkJob(t, tbl, 2, 300, cps, nil)
	waitFor(t, "300 rows", func() bool { return emitted.Load() == 300 })
	cps.take(t, job, 1)
	if lso, hw := stableOffsets(t, addr, topic); lso != 0 || hw == 0 {
		t.Fatalf("after pre-commit: last stable offsets %d, high watermarks %d: want pending data invisible", lso, hw)
	}
	if got := readCommitted(t, addr, topic); len(got) != 0 {
		t.Fatalf("read_committed sees %d records before any commit", len(got))
	}
	stopJob(t, job)

	// Run 2 recovers from checkpoint 1 (its transactions get committed),
	// continues to 500, checkpoint 2 completes and commits, then rows up to
	// 500 are written after it and the job crashes again.
	job, emitted = sinkJob(t, tbl, 2, 500, cps, cps.restore(1))
	waitFor(t, "500 rows", func() bool { return emitted.Load() == 500 })
	// The source does not wait for the sink subtasks' Restore: wait for
	// both to have committed checkpoint 1's transactions.
	waitFor(t, "checkpoint 1 committed by the restore", func() bool { return len(readCommitted(t, addr, topic)) >= 300 })
	sameValues(t, readCommitted(t, addr, topic), expectedValues(300))
	cps.take(t, job, 2)
	job.NotifyCheckpointComplete(2)
	waitFor(t, "checkpoint 2 committed", func() bool { return len(readCommitted(t, addr, topic)) == 500 })
	stopJob(t, job)

	// Run 3 recovers from checkpoint 2, whose transactions are committed
	// already (the restore's commit is a retry), and finishes at 700.
	job, emitted = sinkJob(t, tbl, 2, 700, cps, cps.restore(2))
	waitFor(t, "700 rows", func() bool { return emitted.Load() == 700 })
	cps.take(t, job, 3)
	job.NotifyCheckpointComplete(3)
	waitFor(t, "checkpoint 3 committed", func() bool { return len(readCommitted(t, addr, topic)) >= 700 })
	stopJob(t, job)
	sameValues(t, readCommitted(t, addr, topic), expectedValues(700))

	// No transaction of the job stays open.
	if lso, hw := stableOffsets(t, addr, topic); lso != hw {
		t.Fatalf("last stable offsets %d < high watermarks %d: a transaction is still open", lso, hw)
	}
}

// TestSinkSafetyChecks refuses settings that cannot be exactly-once.
func TestSinkSafetyChecks(t *testing.T) {
	tbl := sinkTable("localhost:1", "x")
	for _, tc := range []struct {
		name string
		cp   connectors.CheckpointSettings
		opts []string
		want string
	}{
		{"no checkpointing", connectors.CheckpointSettings{}, nil, "needs checkpointing"},
		{"at-least-once checkpoints", connectors.CheckpointSettings{Enabled: true}, nil, "EXACTLY_ONCE"},
		{"short timeout", checkpointing, []string{"properties.transaction.timeout.ms", "15000"}, "shorter than checkpoint interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl := sinkTable("localhost:1", "x", tc.opts...)
			_, err := Connector{}.NewSink(tbl, connectors.SinkRequest{Mode: connectors.AppendOnly, JobID: "j", Checkpointing: tc.cp})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
	if _, err := (Connector{}).NewSink(tbl, connectors.SinkRequest{Mode: connectors.AppendOnly, JobID: "j", Checkpointing: checkpointing}); err != nil {
		t.Fatal(err)
	}
}

// TestSinkAbortedTransactionIsDataLoss: a pre-committed transaction that
// the broker aborted (here: its id initialised by another producer) makes
// the recovery fail loudly instead of skipping its records.
func TestSinkAbortedTransactionIsDataLoss(t *testing.T) {
	addr := startBroker(t)
	createTopic(t, addr, "lost", 1)
	tbl := sinkTable(addr, "lost")
	cps := newCheckpoints(2)
	job, emitted := sinkJob(t, tbl, 1, 50, cps, nil)
	waitFor(t, "50 rows", func() bool { return emitted.Load() == 50 })
	cps.take(t, job, 1)
	stopJob(t, job)

	// A producer with the sink's transactional id fences the pending
	// transaction, as a transaction timeout would abort it.
	fence(t, addr, txnID("test-lost", 0, 0))

	job, _ = sinkJob(t, tbl, 1, 50, cps, cps.restore(1))
	err := job.Wait()
	if !errors.Is(err, ErrPossibleDataLoss) {
		t.Fatalf("err = %v, want ErrPossibleDataLoss", err)
	}
	t.Log(err)
}
