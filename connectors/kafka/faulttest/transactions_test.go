package faulttest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicesql/sluice/planner/session"
)

// TestShowTransactions: SHOW TRANSACTIONS FOR JOB lists the open and
// pre-committed transactions of a running exactly-once Kafka sink, with
// their transactional ids (prefix-subtask-slot).
func TestShowTransactions(t *testing.T) {
	addr := startBroker(t)
	produceInput(t, addr, 2000)
	s, err := session.Open(session.Config{StateDir: t.TempDir(), Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	script := fmt.Sprintf(`
CREATE TABLE src (id BIGINT, k BIGINT, v BIGINT) WITH ('connector' = 'kafka', 'topic' = 'in',
  'format' = 'json', 'properties.bootstrap.servers' = '%[1]s', 'scan.startup.mode' = 'earliest-offset');
CREATE TABLE out (id BIGINT, k BIGINT, v BIGINT) WITH ('connector' = 'kafka', 'topic' = 'txn-out',
  'format' = 'json', 'properties.bootstrap.servers' = '%[1]s',
  'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'show-txn');
SET 'execution.checkpointing.interval' = '2 min';
INSERT INTO out SELECT * FROM src;`, addr)
	if err := s.Execute(ctx, script, nil); err != nil {
		t.Fatal(err)
	}
	// With minutes between checkpoints the sink's transactions stay open.
	var got string
	for ctx.Err() == nil {
		got = queryRows(t, ctx, s, "SHOW TRANSACTIONS FOR JOB 'job-1';")
		if strings.Contains(got, "OPEN") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(got, "out ") || !strings.Contains(got, "show-txn-") || !strings.Contains(got, "OPEN") {
		t.Fatalf("SHOW TRANSACTIONS:\n%s", got)
	}
	if err := s.Execute(ctx, "SHOW TRANSACTIONS FOR JOB 'job-9';", nil); err == nil {
		t.Fatal("SHOW TRANSACTIONS of an unknown job succeeded")
	}
}
