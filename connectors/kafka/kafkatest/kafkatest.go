package kafkatest

import (
	"bufio"
	"context"
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

	"github.com/sluicesql/sluice/connectors/kafka/devbroker"
)

// The child broker's settings travel in the environment.
const (
	envDir        = "SLUICE_KAFKATEST_BROKER_DIR"
	envPort       = "SLUICE_KAFKATEST_BROKER_PORT"
	envPartitions = "SLUICE_KAFKATEST_BROKER_PARTITIONS"
)

// BrokerChild runs the broker when this process was started by
// StartBroker, until SIGTERM or SIGINT, and returns its exit code with
// ok = true; otherwise it returns ok = false at once.
func BrokerChild() (code int, ok bool) {
	dir, ok := os.LookupEnv(envDir)
	if !ok {
		return 0, false
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	port, _ := strconv.Atoi(os.Getenv(envPort))
	parts, _ := strconv.Atoi(os.Getenv(envPartitions))
	b, err := devbroker.Start(devbroker.Config{DataDir: dir, Port: port, Partitions: max(parts, 1)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1, true
	}
	fmt.Println(b.Addr())
	<-sigs
	b.Close()
	return 0, true
}

// Broker is a dev broker in a child process.
type Broker struct {
	t          testing.TB
	Dir, Addr  string
	partitions int
	cmd        *exec.Cmd
	done       chan struct{}
}

// StartBroker runs a broker with data directory dir on port (0: a free
// one) whose new topics get partitions partitions; the test's cleanup
// stops it with SIGTERM.
func StartBroker(t testing.TB, dir string, port, partitions int) *Broker {
	t.Helper()
	b := &Broker{t: t, Dir: dir, partitions: partitions, done: make(chan struct{})}
	b.cmd = exec.Command(os.Args[0], "-test.run=^$")
	b.cmd.Env = append(os.Environ(), envDir+"="+dir, envPort+"="+strconv.Itoa(port),
		envPartitions+"="+strconv.Itoa(partitions))
	b.cmd.Stderr = os.Stderr
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop(syscall.SIGTERM) })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("broker did not start: %v", err)
	}
	b.Addr = strings.TrimSpace(line)
	go func() {
		_, _ = io.Copy(io.Discard, out)
		_ = b.cmd.Wait()
		close(b.done)
	}()
	return b
}

// Stop sends sig to the broker and waits for it to exit.
func (b *Broker) Stop(sig syscall.Signal) {
	_ = b.cmd.Process.Signal(sig)
	<-b.done
}

// Restart starts the broker again on the same data directory and port.
func (b *Broker) Restart() *Broker {
	b.t.Helper()
	_, port, err := net.SplitHostPort(b.Addr)
	if err != nil {
		b.t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		b.t.Fatal(err)
	}
	return StartBroker(b.t, b.Dir, p, b.partitions)
}

// NewClient returns a client of the broker at addr, closed by the test's
// cleanup.
func NewClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Record is a record as a read_committed consumer sees it.
type Record struct {
	Partition  int32
	Key, Value string
	Tombstone  bool // the value is null
}

// ReadCommitted returns the records a read_committed consumer sees in
// topic up to its last stable offsets, in partition then offset order.
func ReadCommitted(t testing.TB, addr, topic string) []Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lso, err := kadm.NewClient(NewClient(t, addr)).ListCommittedOffsets(ctx, topic)
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
	cl := NewClient(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	byPart := map[int32][]Record{}
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
				byPart[r.Partition] = append(byPart[r.Partition], Record{Partition: r.Partition,
					Key: string(r.Key), Value: string(r.Value), Tombstone: r.Value == nil})
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
	var out []Record
	for _, p := range ps {
		out = append(out, byPart[p]...)
	}
	return out
}

// StableOffsets returns the sums of topic's last stable offsets and high
// watermarks: they differ while a transaction is open.
func StableOffsets(t testing.TB, addr, topic string) (lso, hw int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := kadm.NewClient(NewClient(t, addr))
	l, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	h, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	l.Each(func(o kadm.ListedOffset) { lso += o.Offset })
	h.Each(func(o kadm.ListedOffset) { hw += o.Offset })
	return lso, hw
}
