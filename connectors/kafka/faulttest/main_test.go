package faulttest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	_ "github.com/sluicesql/sluice/connectors/all"
	"github.com/sluicesql/sluice/connectors/kafka/devbroker"
	"github.com/sluicesql/sluice/planner/session"
)

// The test binary runs as a child process in one of these modes, chosen by
// an environment variable.
const (
	// envBroker: run a dev broker; the value is its data directory.
	// envBrokerPort sets its port (default: a free one).
	envBroker     = "SLUICE_KAFKA_FT_BROKER"
	envBrokerPort = "SLUICE_KAFKA_FT_BROKER_PORT"
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
	if dir, ok := os.LookupEnv(envBroker); ok {
		os.Exit(runBroker(dir))
	}
	if dir, ok := os.LookupEnv(envEngine); ok {
		os.Exit(runEngine(dir, os.Getenv(envScript)))
	}
	os.Exit(m.Run())
}

func runBroker(dir string) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	port := 0
	if v := os.Getenv(envBrokerPort); v != "" {
		var err error
		if port, err = strconv.Atoi(v); err != nil {
			fmt.Fprintln(os.Stderr, envBrokerPort+":", err)
			return 1
		}
	}
	b, err := devbroker.Start(devbroker.Config{DataDir: dir, Port: port, Partitions: 2})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(b.Addr())
	<-sigs
	b.Close()
	return 0
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

// startBroker runs a broker process for the test and returns its address.
func startBroker(t *testing.T) string { return startBrokerProc(t, t.TempDir(), 0).addr }

// brokerProc is a dev broker in a child process.
type brokerProc struct {
	t    testing.TB
	dir  string
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

// startBrokerProc runs a broker process on data directory dir and port
// (0: a free one); the test's cleanup stops it.
func startBrokerProc(t testing.TB, dir string, port int) *brokerProc {
	t.Helper()
	b := &brokerProc{t: t, dir: dir, done: make(chan struct{})}
	b.cmd = exec.Command(os.Args[0], "-test.run=^$")
	b.cmd.Env = append(os.Environ(), envBroker+"="+dir, envBrokerPort+"="+strconv.Itoa(port))
	b.cmd.Stderr = os.Stderr
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.stop(syscall.SIGTERM) })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("broker did not start: %v", err)
	}
	b.addr = strings.TrimSpace(line)
	go func() {
		_, _ = io.Copy(io.Discard, out)
		_ = b.cmd.Wait()
		close(b.done)
	}()
	return b
}

// stop sends sig to the broker and waits for it to exit.
func (b *brokerProc) stop(sig syscall.Signal) {
	_ = b.cmd.Process.Signal(sig)
	<-b.done
}

// restart starts the broker again on the same data directory and port.
func (b *brokerProc) restart() *brokerProc {
	b.t.Helper()
	_, port, err := net.SplitHostPort(b.addr)
	if err != nil {
		b.t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		b.t.Fatal(err)
	}
	return startBrokerProc(b.t, b.dir, p)
}

func newClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClient(t, addr))
	lso, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	parts := map[int32]kgo.Offset{}
	stop := map[int32]int64{}
	lso.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			parts[o.Partition] = kgo.NewOffset().AtStart()
			stop[o.Partition] = o.Offset
		}
	})
	if len(parts) == 0 {
		return nil
	}
	cl := newClient(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	byPart := map[int32][]record{}
	for len(stop) > 0 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("read %s: %v", topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := stop[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if !r.Attrs.IsControl() {
				byPart[r.Partition] = append(byPart[r.Partition], record{key: string(r.Key), value: string(r.Value), tombstone: r.Value == nil})
			}
			if r.Offset+1 >= end {
				delete(stop, r.Partition)
			}
		})
	}
	var ps []int32
	for p := range byPart {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	var out []record
	for _, p := range ps {
		out = append(out, byPart[p]...)
	}
	return out
}

// openTransactions returns how many records of topic are past its last
// stable offsets (written by transactions still open).
func openTransactions(t *testing.T, addr, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClient(t, addr))
	l, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	h, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	h.Each(func(o kadm.ListedOffset) { n += o.Offset })
	l.Each(func(o kadm.ListedOffset) { n -= o.Offset })
	return n
}
