package faulttest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicesql/sluice/planner/session"
)

// envBenchRecords sets the input size of BenchmarkKafkaFilterKafka
// (default 1000000).
const envBenchRecords = "SLUICE_KAFKA_BENCH_RECORDS"

// benchValue is input record i of the benchmark, a JSON object of about
// 100 bytes.
func benchValue(i int) []byte {
	return fmt.Appendf(nil, `{"id":%d,"user":"user-%06d","amount":%d,"region":"eu-west-%d","ts":%d,"src":"web"}`,
		i, i%100000, i*37%1000, i%4, 1700000000000+int64(i))
}

// BenchmarkKafkaFilterKafka measures kafka (json) → filter → kafka (json),
// exactly-once with 1 s checkpoints, parallelism 2, against a dev broker in
// a child process: each iteration runs a bounded job over the whole input
// topic (2 partitions) into a new output topic, from job start until the
// final checkpoint committed its transactions. records/s counts input
// records.
//
//	go test ./connectors/kafka/faulttest/ -run '^$' -bench KafkaFilterKafka -benchtime 3x
func BenchmarkKafkaFilterKafka(b *testing.B) {
	n := 1000000
	if v := os.Getenv(envBenchRecords); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("%s: %v", envBenchRecords, err)
		}
	}
	addr := startBrokerProc(b, b.TempDir(), 0).Addr
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cl := newClient(b, addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProducerLinger(5*time.Millisecond))
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, "bench-in"); err != nil {
		b.Fatal(err)
	}
	bytes := 0
	for i := 0; i < n; i += 10000 {
		recs := make([]*kgo.Record, 0, 10000)
		for j := i; j < min(n, i+10000); j++ {
			v := benchValue(j)
			bytes += len(v)
			recs = append(recs, &kgo.Record{Topic: "bench-in", Value: v})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d input records, %d bytes of values on average", n, bytes/n)
	b.ResetTimer()
	var elapsed time.Duration
	for it := range b.N {
		b.StopTimer()
		s, err := session.Open(session.Config{StateDir: b.TempDir(), Parallelism: 2})
		if err != nil {
			b.Fatal(err)
		}
		script := fmt.Sprintf(`
CREATE TABLE src (id BIGINT, `+"`user`"+` STRING, amount INT, region STRING, ts BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'bench-in', 'format' = 'json',
  'properties.bootstrap.servers' = '%[1]s',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
CREATE TABLE dst (id BIGINT, `+"`user`"+` STRING, amount INT, region STRING, ts BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'bench-out-%[2]d', 'format' = 'json',
  'properties.bootstrap.servers' = '%[1]s',
  'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'bench-%[2]d');
SET 'execution.checkpointing.interval' = '1 s';
INSERT INTO dst SELECT * FROM src WHERE amount %% 10 <> 0;
`, addr, it)
		b.StartTimer()
		start := time.Now()
		if err := s.Execute(ctx, script, nil); err != nil {
			b.Fatal(err)
		}
		if err := s.WaitJobs(ctx); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		b.StopTimer()
		if got := committedCount(b, addr, fmt.Sprintf("bench-out-%d", it)); got != int64(n)*9/10 {
			b.Fatalf("output: %d records, want %d", got, n*9/10)
		}
		s.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "records/s")
}

// committedCount returns how many data records a read_committed consumer
// sees in topic, up to its last stable offsets.
func committedCount(tb testing.TB, addr, topic string) int64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lso, err := kadm.NewClient(newClient(tb, addr)).ListCommittedOffsets(ctx, topic)
	if err != nil {
		tb.Fatal(err)
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
		return 0
	}
	cl := newClient(tb, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	var n int64
	for len(stop) > 0 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			tb.Fatalf("read %s: %v", topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := stop[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if !r.Attrs.IsControl() {
				n++
			}
			if r.Offset+1 >= end {
				delete(stop, r.Partition)
			}
		})
	}
	return n
}
