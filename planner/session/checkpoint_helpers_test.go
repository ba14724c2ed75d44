package session

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicesql/sluice/checkpoint"
	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// stallConnector is a test-only sink ('connector' = 'test-stall') whose
// first 'slow-snapshots' snapshots (counted per table across subtasks and
// attempts) each take 'snapshot-delay' milliseconds, so checkpoints can be
// made to outlast execution.checkpointing.timeout without production code.
type stallConnector struct{}

var (
	stallMu     sync.Mutex
	stallCounts = map[string]int{} // table name -> snapshots taken
)

func init() { connectors.Register(stallConnector{}) }

func (stallConnector) Name() string { return "test-stall" }

func (stallConnector) Validate(t *connectors.Table) error {
	return connectors.CheckOptions(t.Name, t.Options, []string{"snapshot-delay", "slow-snapshots"}, nil)
}

func (stallConnector) AcceptsUpdates(*connectors.Table) bool { return true }

func (stallConnector) NewSink(t *connectors.Table, _ connectors.SinkRequest) (exec.OperatorFactory, error) {
	delay, err := strconv.Atoi(t.Options["snapshot-delay"])
	if err != nil {
		return nil, fmt.Errorf("test-stall 'snapshot-delay': %w", err)
	}
	slow := 1 << 30
	if v, ok := t.Options["slow-snapshots"]; ok {
		if slow, err = strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("test-stall 'slow-snapshots': %w", err)
		}
	}
	name := t.Name
	return func(int) (exec.Operator, error) {
		return &stallSink{name: name, delay: time.Duration(delay) * time.Millisecond, slow: slow}, nil
	}, nil
}

type stallSink struct {
	name  string
	delay time.Duration
	slow  int
}

func (s *stallSink) Process(b *types.Batch, _ exec.Collector) error {
	b.Release()
	return nil
}

// Snapshot implements exec.Snapshotter: it stalls for the first slow
// snapshots of the table.
func (s *stallSink) Snapshot(int64) ([]byte, error) {
	stallMu.Lock()
	stallCounts[s.name]++
	n := stallCounts[s.name]
	stallMu.Unlock()
	if n <= s.slow {
		time.Sleep(s.delay)
	}
	return nil, nil
}

// resetStall forgets the snapshot count of table name.
func resetStall(name string) {
	stallMu.Lock()
	delete(stallCounts, name)
	stallMu.Unlock()
}

// exec runs script, failing the test on error.
func mustExec(t testing.TB, s *Session, script string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Execute(ctx, script, nil); err != nil {
		t.Fatalf("%s\n%v", script, err)
	}
}

// startJob runs an INSERT (or statement set) and returns its job id.
func startJob(t testing.TB, s *Session, script string) string {
	t.Helper()
	id := ""
	err := s.Execute(context.Background(), script, func(r *Result) error {
		if r.JobID != "" {
			id = r.JobID
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s\n%v", script, err)
	}
	if id == "" {
		t.Fatalf("%s started no job", script)
	}
	return id
}

// jobRow returns the SHOW JOBS row of job id (columns: id, name, status,
// uptime, restarts, last checkpoint, error).
func jobRow(t *testing.T, s *Session, id string) []string {
	t.Helper()
	for _, r := range runQuery(t, s, "SHOW JOBS;") {
		if r[0] == id {
			return r
		}
	}
	t.Fatalf("job %s not in SHOW JOBS", id)
	return nil
}

// waitJob waits until job id has ended and returns its SHOW JOBS row.
func waitJob(t *testing.T, s *Session, id string) []string {
	t.Helper()
	s.mu.Lock()
	rj := s.jobs[id]
	s.mu.Unlock()
	if rj != nil {
		select {
		case <-rj.done:
		case <-time.After(60 * time.Second):
			t.Fatalf("job %s did not end", id)
		}
	}
	return jobRow(t, s, id)
}

// history returns the checkpoint statistics of running job id.
func history(t *testing.T, s *Session, id string) []checkpoint.Stats {
	t.Helper()
	s.mu.Lock()
	rj := s.jobs[id]
	s.mu.Unlock()
	if rj == nil {
		t.Fatalf("job %s is not running", id)
	}
	return rj.run.History()
}

// waitUntil polls cond until it holds, failing after a generous deadline.
// It never asserts on how long that took.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func countStatus(h []checkpoint.Stats, status string) int {
	n := 0
	for _, st := range h {
		if st.Status == status {
			n++
		}
	}
	return n
}

// sortedRows returns the rows of query as one line each.
func sortedRows(t *testing.T, s *Session, query string) []string {
	t.Helper()
	var out []string
	for _, r := range runQuery(t, s, query) {
		out = append(out, strings.Join(r, ","))
	}
	return out
}
