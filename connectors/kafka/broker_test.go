package kafka

import (
	"context"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicesql/sluice/connectors/kafka/kafkatest"
)

func TestMain(m *testing.M) {
	if code, ok := kafkatest.BrokerChild(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// startBroker runs a one-partition broker process for the test and
// returns its address.
func startBroker(t *testing.T) string { return kafkatest.StartBroker(t, t.TempDir(), 0, 1).Addr }

func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	return kafkatest.NewClient(t, addr, opts...)
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
	var vals []string
	for _, r := range kafkatest.ReadCommitted(t, addr, topic) {
		vals = append(vals, r.Value)
	}
	sort.Strings(vals)
	return vals
}

// stableOffsets returns the sum of the last stable offsets and of the high
// watermarks of topic: they differ while a transaction is open.
func stableOffsets(t *testing.T, addr, topic string) (lso, hw int64) {
	return kafkatest.StableOffsets(t, addr, topic)
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
