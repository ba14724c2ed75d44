package faulttest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The pipeline of these tests: n input records {"id":i,"k":i%keys,"v":...}
// on topic 'in' (record i on partition i%2, so at offset i/2), read by
// two bounded jobs:
//
//	filtered  kafka → filter → kafka (exactly-once, keyed by k), with the
//	          source's partition and offset as METADATA columns
//	agg       kafka → GROUP BY k → upsert-kafka (exactly-once)
const keys = 17

func value(i int) int { return i * 7 % 101 }

// produceInput writes the n input records.
func produceInput(t *testing.T, addr string, n int) { produceInputRange(t, addr, 0, n) }

// produceInputRange writes input records [from, to).
func produceInputRange(t *testing.T, addr string, from, to int) {
	t.Helper()
	cl := newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if from == 0 {
		if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, "in"); err != nil {
			t.Fatal(err)
		}
	}
	if err := produceRange(ctx, cl, from, to); err != nil {
		t.Fatal(err)
	}
}

// produceRange writes input records [from, to) with cl, whose partitioner
// must be kgo.ManualPartitioner.
func produceRange(ctx context.Context, cl *kgo.Client, from, to int) error {
	recs := make([]*kgo.Record, 0, to-from)
	for i := from; i < to; i++ {
		recs = append(recs, &kgo.Record{Topic: "in", Partition: int32(i % 2),
			Value: fmt.Appendf(nil, `{"id":%d,"k":%d,"v":%d}`, i, i%keys, value(i))})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("produce input [%d, %d): %w", from, to, err)
	}
	return nil
}

// pipelineScript returns the script that creates the tables and starts
// both jobs, with the given checkpoint interval.
func pipelineScript(addr, interval string) string {
	common := fmt.Sprintf(`'properties.bootstrap.servers' = '%s'`, addr)
	return fmt.Sprintf(`
CREATE TABLE src (
  id BIGINT, k BIGINT, v BIGINT,
  part INT METADATA FROM 'partition' VIRTUAL,
  off BIGINT METADATA FROM 'offset' VIRTUAL
) WITH ('connector' = 'kafka', 'topic' = 'in', 'format' = 'json', %[1]s,
  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
CREATE TABLE filtered (id BIGINT, k BIGINT, v BIGINT, part INT, off BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'filtered', %[1]s,
  'key.format' = 'json', 'key.fields' = 'k', 'value.format' = 'json',
  'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'ft-filtered');
CREATE TABLE agg (k BIGINT, cnt BIGINT, total BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'agg', %[1]s,
  'key.format' = 'json', 'value.format' = 'json',
  'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'ft-agg');
SET 'execution.checkpointing.interval' = '%[2]s';
INSERT INTO filtered SELECT id, k, v, part, off FROM src WHERE v %% 3 <> 0;
INSERT INTO agg SELECT k, COUNT(*) AS cnt, SUM(v) AS total FROM src GROUP BY k;
`, common, interval)
}

// pipelineScriptOneJob is pipelineScript with an unbounded source and both
// INSERTs in one statement set (one job); the tables are created IF NOT
// EXISTS, so the script can run again after a kill that came before the
// job was recorded.
func pipelineScriptOneJob(addr, interval string) string {
	s := strings.ReplaceAll(pipelineScript(addr, interval), "CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ")
	s = strings.Replace(s, ", 'scan.bounded.mode' = 'latest-offset'", "", 1)
	i := strings.Index(s, "INSERT INTO filtered")
	return s[:i] + "EXECUTE STATEMENT SET BEGIN\n" + s[i:] + "END;\n"
}

// checkFiltered checks that topic 'filtered' holds exactly one record per
// input record that passes the filter, keyed by k.
func checkFiltered(t *testing.T, addr string, n int) {
	t.Helper()
	if m := filteredMismatch(t, addr, n); m != "" {
		t.Fatal(m)
	}
}

// filteredRecords returns, sorted, the "key value" records that topic
// 'filtered' should hold for the first n input records and those a
// read_committed consumer sees in it.
func filteredRecords(t *testing.T, addr string, n int) (want, got []string) {
	t.Helper()
	for i := range n {
		if value(i)%3 != 0 {
			want = append(want, fmt.Sprintf(`{"k":%d} {"id":%d,"k":%d,"v":%d,"part":%d,"off":%d}`, i%keys, i, i%keys, value(i), i%2, i/2))
		}
	}
	for _, r := range readCommitted(t, addr, "filtered") {
		got = append(got, r.key+" "+r.value)
	}
	sort.Strings(want)
	sort.Strings(got)
	return want, got
}

// filteredMismatch returns what is wrong with topic 'filtered', or "".
func filteredMismatch(t *testing.T, addr string, n int) string {
	t.Helper()
	want, got := filteredRecords(t, addr, n)
	missing, extra := diff(want, got)
	if len(missing) > 0 || len(extra) > 0 {
		return fmt.Sprintf("filtered: %d records, want %d: %d missing (first %v), %d unexpected or repeated (first %v)",
			len(got), len(want), len(missing), first(missing), len(extra), first(extra))
	}
	if o := openTransactions(t, addr, "filtered"); o != 0 {
		return fmt.Sprintf("filtered: %d records past the last stable offset (a transaction stayed open)", o)
	}
	return ""
}

// filteredMissing returns which records that pass the filter are missing
// from topic 'filtered', or "" (at-least-once: repeats are allowed).
func filteredMissing(t *testing.T, addr string, n int) string {
	t.Helper()
	want, got := filteredRecords(t, addr, n)
	got = slices.Compact(got)
	if missing, _ := diff(want, got); len(missing) > 0 {
		return fmt.Sprintf("filtered: %d distinct records, %d missing (first %v)", len(got), len(missing), first(missing))
	}
	return ""
}

// filteredExtra returns which records of topic 'filtered' are repeated or
// not expected from the first n input records, or "".
func filteredExtra(t *testing.T, addr string, n int) string {
	t.Helper()
	want, got := filteredRecords(t, addr, n)
	if _, extra := diff(want, got); len(extra) > 0 {
		return fmt.Sprintf("filtered: %d records repeated or unexpected (first %v)", len(extra), first(extra))
	}
	return ""
}

// checkAgg checks that the last record of every key of topic 'agg' holds
// the key's count and sum.
func checkAgg(t *testing.T, addr string, n int) {
	t.Helper()
	if m := aggMismatch(t, addr, n); m != "" {
		t.Fatal(m)
	}
}

// aggMismatch returns what is wrong with topic 'agg', or "".
func aggMismatch(t *testing.T, addr string, n int) string {
	t.Helper()
	type agg struct{ cnt, total int64 }
	want := map[int64]agg{}
	for i := range n {
		a := want[int64(i%keys)]
		a.cnt++
		a.total += int64(value(i))
		want[int64(i%keys)] = a
	}
	last := map[int64]agg{}
	for _, r := range readCommitted(t, addr, "agg") {
		var key struct{ K int64 }
		if err := json.Unmarshal([]byte(r.key), &key); err != nil {
			return fmt.Sprintf("agg: key %q: %v", r.key, err)
		}
		if r.tombstone {
			delete(last, key.K)
			continue
		}
		var v struct{ K, Cnt, Total int64 }
		if err := json.Unmarshal([]byte(r.value), &v); err != nil {
			return fmt.Sprintf("agg: value %q: %v", r.value, err)
		}
		if v.K != key.K {
			return fmt.Sprintf("agg: record key %q, value %q", r.key, r.value)
		}
		last[key.K] = agg{v.Cnt, v.Total}
	}
	if len(last) != len(want) {
		return fmt.Sprintf("agg: %d keys, want %d", len(last), len(want))
	}
	for k, w := range want {
		if g := last[k]; g != w {
			return fmt.Sprintf("agg: key %d: last value count %d sum %d, want %d %d", k, g.cnt, g.total, w.cnt, w.total)
		}
	}
	if o := openTransactions(t, addr, "agg"); o != 0 {
		return fmt.Sprintf("agg: %d records past the last stable offset (a transaction stayed open)", o)
	}
	return ""
}

// diff returns the elements of sorted want missing from sorted got, and
// those of got not in want (as multisets).
func diff(want, got []string) (missing, extra []string) {
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j >= len(got) || (i < len(want) && want[i] < got[j]):
			missing = append(missing, want[i])
			i++
		case i >= len(want) || got[j] < want[i]:
			extra = append(extra, got[j])
			j++
		default:
			i++
			j++
		}
	}
	return missing, extra
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return strings.Join(s[:min(3, len(s))], " | ")
}
