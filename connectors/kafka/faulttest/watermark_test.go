package faulttest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicesql/sluice/planner/session"
)

// TestWindowOverLaggingPartition runs a tumbling-window count over a
// two-partition topic read by one source subtask, where partition 1's
// event time lags all of partition 0's (written after it, covering the
// same ten minutes). With one watermark per subtask, partition 1's rows
// would arrive behind partition 0's watermark and be dropped as late; with
// per-partition watermarks every window counts both partitions exactly.
func TestWindowOverLaggingPartition(t *testing.T) {
	addr := startBroker(t)
	cl := newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, "clicks"); err != nil {
		t.Fatal(err)
	}
	const perPart = 600 // one row a second for ten minutes
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var recs []*kgo.Record
	for p := range int32(2) {
		for i := range perPart {
			ts := base.Add(time.Duration(i) * time.Second).Format("2006-01-02 15:04:05")
			recs = append(recs, &kgo.Record{Topic: "clicks", Partition: p,
				Value: []byte(fmt.Sprintf(`{"p":%d,"ts":"%s"}`, p, ts))})
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	s, err := session.Open(session.Config{StateDir: t.TempDir(), Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	script := fmt.Sprintf(`
CREATE TABLE clicks (p INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH (
  'connector' = 'kafka', 'topic' = 'clicks', 'format' = 'json',
  'properties.bootstrap.servers' = '%s',
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
CREATE TABLE per_minute (ws TIMESTAMP(3), p0 BIGINT, p1 BIGINT);
SET 'execution.checkpointing.interval' = '200 ms';
INSERT INTO per_minute
SELECT window_start, COUNT(*) FILTER (WHERE p = 0), COUNT(*) FILTER (WHERE p = 1)
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;
`, addr)
	if err := s.Execute(ctx, script, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitJobs(ctx); err != nil {
		t.Fatal(err)
	}
	got := queryRows(t, ctx, s, "SELECT ws, p0, p1 FROM per_minute;")
	var want []string
	for m := range 10 {
		want = append(want, fmt.Sprintf("2024-01-01 00:%02d:00.000 60 60", m))
	}
	if got != strings.Join(want, "\n") {
		t.Fatalf("per_minute:\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}
