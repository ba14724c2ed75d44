package faulttest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicesql/sluice/planner/session"
)

// TestDebeziumIntoAggregate reads hand-written Debezium change events
// (snapshot, inserts, updates, a delete with its tombstone, both envelope
// forms) through 'debezium-json' and aggregates them into a built-in table:
// the aggregate reflects the final state of the source table.
func TestDebeziumIntoAggregate(t *testing.T) {
	addr := startBroker(t)
	row := func(id int, city string, amount int) string {
		return fmt.Sprintf(`{"id":%d,"city":"%s","amount":%d}`, id, city, amount)
	}
	src := `"source":{"connector":"mysql","db":"shop","table":"users"},"ts_ms":1700000000000`
	ev := func(op, before, after string) string {
		return fmt.Sprintf(`{"before":%s,"after":%s,%s,"op":"%s"}`, before, after, src, op)
	}
	events := []struct {
		key int
		val string // "" is a tombstone
	}{
		{1, ev("r", "null", row(1, "a", 10))},
		{2, ev("c", "null", row(2, "a", 5))},
		{3, `{"schema":{"type":"struct","optional":false},"payload":` + ev("c", "null", row(3, "b", 7)) + `}`},
		{1, ev("u", row(1, "a", 10), row(1, "b", 20))},
		{2, ev("d", row(2, "a", 5), "null")},
		{2, ""},
		{4, ev("c", "null", row(4, "c", 1))},
		{3, `{"schema":{"type":"struct"},"payload":` + ev("u", row(3, "b", 7), row(3, "b", 8)) + `}`},
	}
	// Keyed records: the default partitioner keeps each row's events in order.
	cl := newClient(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, "users"); err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		rec := &kgo.Record{Topic: "users", Key: []byte(fmt.Sprintf(`{"id":%d}`, e.key))}
		if e.val != "" {
			rec.Value = []byte(e.val)
		}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	s, err := session.Open(session.Config{StateDir: t.TempDir(), Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	script := fmt.Sprintf(`
CREATE TABLE users (id BIGINT, city STRING, amount BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'users', 'format' = 'debezium-json',
  'properties.bootstrap.servers' = '%s',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
CREATE TABLE by_city (city STRING, cnt BIGINT, total BIGINT, PRIMARY KEY (city) NOT ENFORCED);
SET 'execution.checkpointing.interval' = '200 ms';
INSERT INTO by_city SELECT city, COUNT(*), SUM(amount) FROM users GROUP BY city;
`, addr)
	if err := s.Execute(ctx, script, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitJobs(ctx); err != nil {
		t.Fatal(err)
	}
	got := queryRows(t, ctx, s, "SELECT city, cnt, total FROM by_city;")
	if want := "b 2 28\nc 1 1"; got != want {
		t.Fatalf("by_city:\n%s\nwant\n%s", got, want)
	}
}
