package faulttest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	_ "github.com/sluicesql/sluice/connectors/all"
	"github.com/sluicesql/sluice/connectors/kafka/kafkatest"
	"github.com/sluicesql/sluice/planner/session"
)

// The test binary runs as a child process in one of these modes, chosen by
// an environment variable.
const (
	// (The broker child is kafkatest.BrokerChild's.)
	// envEngine: run an engine on the state directory named by the value:
	// resume its running jobs, run the script of envScript if set, and wait
	// for the jobs (SIGTERM stops it, as `sluice run`).
	envEngine = "SLUICE_KAFKA_FT_ENGINE"
	envScript = "SLUICE_KAFKA_FT_SCRIPT"
)

// exitNothingToResume is the engine's exit status when it has no script
// and no job to resume (it was killed before its job was recorded).
const exitNothingToResume = 3

func TestMain(m *testing.M) {
	if code, ok := kafkatest.BrokerChild(); ok {
		os.Exit(code)
	}
	if dir, ok := os.LookupEnv(envEngine); ok {
		os.Exit(runEngine(dir, os.Getenv(envScript)))
	}
	os.Exit(m.Run())
}

func runEngine(dir, script string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	s, err := session.Open(session.Config{StateDir: dir, Parallelism: 2})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	n, err := s.ResumeJobs(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "resume:", err)
		return 1
	}
	if n == 0 && script == "" {
		// Either the job finished (exit 0) or it was never recorded.
		statuses, err := jobStatuses(ctx, s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "show jobs:", err)
			return 1
		}
		if len(statuses) == 0 {
			return exitNothingToResume
		}
		for _, st := range statuses {
			if st != "FINISHED" {
				fmt.Fprintln(os.Stderr, "job status:", st)
				return 1
			}
		}
		return 0
	}
	if script != "" {
		if err := s.Execute(ctx, script, nil); err != nil {
			fmt.Fprintln(os.Stderr, "script:", err)
			return 1
		}
	}
	if err := s.WaitJobs(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "jobs:", err)
		return 1
	}
	return 0
}

// jobStatuses returns the status of every job of the catalog.
func jobStatuses(ctx context.Context, s *session.Session) ([]string, error) {
	var out []string
	err := s.Execute(ctx, "SHOW JOBS", func(r *session.Result) error {
		for {
			row, ok, err := r.Rows.Next(ctx)
			if err != nil || !ok {
				return err
			}
			out = append(out, row.Values[2].String()+" "+row.Values[6].String())
		}
	})
	for i, st := range out {
		out[i] = strings.TrimSpace(st)
	}
	return out, err
}

// startBroker runs a two-partition broker process for the test and
// returns its address.
func startBroker(t *testing.T) string { return startBrokerProc(t, t.TempDir(), 0).Addr }

// brokerProc is a dev broker in a child process.
type brokerProc = kafkatest.Broker

// startBrokerProc runs a two-partition broker process on data directory
// dir and port (0: a free one); the test's cleanup stops it.
func startBrokerProc(t testing.TB, dir string, port int) *brokerProc {
	return kafkatest.StartBroker(t, dir, port, 2)
}

func newClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	return kafkatest.NewClient(t, addr, opts...)
}

// record is a record as a read_committed consumer sees it.
type record struct {
	key, value string
	tombstone  bool
}

// produce writes keyless values to topic, round-robin over its partitions.
func produce(t *testing.T, addr, topic string, values []string) {
	t.Helper()
	cl := newClient(t, addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: topic, Value: []byte(v)}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// readCommitted returns the records a read_committed consumer sees in
// topic up to its last stable offsets, in partition then offset order.
func readCommitted(t *testing.T, addr, topic string) []record {
	t.Helper()
	var out []record
	for _, r := range kafkatest.ReadCommitted(t, addr, topic) {
		out = append(out, record{key: r.Key, value: r.Value, tombstone: r.Tombstone})
	}
	return out
}

// openTransactions returns how many records of topic are past its last
// stable offsets (written by transactions still open).
func openTransactions(t *testing.T, addr, topic string) int64 {
	lso, hw := kafkatest.StableOffsets(t, addr, topic)
	return hw - lso
}
