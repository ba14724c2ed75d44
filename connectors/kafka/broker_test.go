package kafka

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicesql/sluice/connectors/kafka/devbroker"
)

// envBroker makes the test binary run a dev broker instead of the tests:
// its value is the data directory. Tests start the broker this way, in a
// process of its own, as the engine meets a real Kafka.
const envBroker = "SLUICE_KAFKA_TEST_BROKER"

func TestMain(m *testing.M) {
	if dir, ok := os.LookupEnv(envBroker); ok {
		os.Exit(runBroker(dir))
	}
	os.Exit(m.Run())
}

func runBroker(dir string) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	b, err := devbroker.Start(devbroker.Config{DataDir: dir, Partitions: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(b.Addr())
	<-sigs
	b.Close()
	return 0
}

// startBroker runs a broker process for the test and returns its address.
func startBroker(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envBroker+"="+t.TempDir())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("broker did not start: %v", err)
	}
	return strings.TrimSpace(line)
}

func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func createTopic(t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, partitions, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
}

// produce writes values to topic, partition i % partitions for value i
// (partitions 0: any).
func produce(t *testing.T, addr, topic string, partitions int32, values ...string) {
	t.Helper()
	cl := newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for i, v := range values {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(i) % max(partitions, 1), Value: []byte(v)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// readCommitted returns the values a read_committed consumer sees in
// topic up to its last stable offsets, sorted.
func readCommitted(t *testing.T, addr, topic string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
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
	var vals []string
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
				vals = append(vals, string(r.Value))
			}
			if r.Offset+1 >= end {
				delete(stop, r.Partition)
			}
		})
	}
	sort.Strings(vals)
	return vals
}

// stableOffsets returns the sum of the last stable offsets and of the high
// watermarks of topic: they differ while a transaction is open.
func stableOffsets(t *testing.T, addr, topic string) (lso, hw int64) {
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
	l.Each(func(o kadm.ListedOffset) { lso += o.Offset })
	h.Each(func(o kadm.ListedOffset) { hw += o.Offset })
	return lso, hw
}

func newAdmin(t *testing.T, addr string) *kadm.Client { return kadm.NewClient(newClient(t, addr)) }

func offsetsAt(topic string, part int32, at int64) kadm.Offsets {
	os := kadm.Offsets{}
	os.Add(kadm.Offset{Topic: topic, Partition: part, At: at, LeaderEpoch: -1})
	return os
}

// fence initialises transactional id id, aborting its open transaction.
func fence(t *testing.T, addr, id string) {
	t.Helper()
	cl := newClient(t, addr, kgo.TransactionalID(id))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := cl.ProducerID(ctx); err != nil {
		t.Fatal(err)
	}
}
