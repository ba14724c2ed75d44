package faulttest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicesql/sluice/planner/session"
)

// upsertEvent is one record of the 'prices' topic: item's new category and
// price, or a tombstone (del).
type upsertEvent struct {
	item, cat string
	price     int
	del       bool
}

// upsertEvents returns n deterministic events over 40 items and 4
// categories: items change price and category, and about one event in
// seven is a tombstone (some of keys already deleted or never written).
func upsertEvents(n int) []upsertEvent {
	evs := make([]upsertEvent, n)
	x := uint32(12345)
	next := func() uint32 { x ^= x << 13; x ^= x >> 17; x ^= x << 5; return x }
	for i := range evs {
		item := fmt.Sprintf("i%02d", next()%40)
		if next()%7 == 0 {
			evs[i] = upsertEvent{item: item, del: true}
			continue
		}
		evs[i] = upsertEvent{item: item, cat: fmt.Sprintf("c%d", next()%4), price: int(next() % 1000)}
	}
	return evs
}

// expectedByCat is the aggregate of the last value of every item.
func expectedByCat(evs []upsertEvent) string {
	last := map[string]upsertEvent{}
	for _, e := range evs {
		if e.del {
			delete(last, e.item)
		} else {
			last[e.item] = e
		}
	}
	cnt, sum := map[string]int{}, map[string]int{}
	for _, e := range last {
		cnt[e.cat]++
		sum[e.cat] += e.price
	}
	var out []string
	for c := range cnt {
		out = append(out, fmt.Sprintf("%s %d %d", c, cnt[c], sum[c]))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// produceUpserts writes evs to the two-partition topic 'prices', keyed by
// item (the default partitioner keeps each item in one partition).
func produceUpserts(t *testing.T, addr string, evs []upsertEvent) {
	t.Helper()
	cl := newClient(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, "prices"); err != nil {
		t.Fatal(err)
	}
	recs := make([]*kgo.Record, len(evs))
	for i, e := range evs {
		recs[i] = &kgo.Record{Topic: "prices", Key: []byte(fmt.Sprintf(`{"item":"%s"}`, e.item))}
		if !e.del {
			recs[i].Value = []byte(fmt.Sprintf(`{"item":"%s","cat":"%s","price":%d}`, e.item, e.cat, e.price))
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// upsertSourceScript aggregates the upsert-kafka table 'prices' into the
// built-in table by_cat.
func upsertSourceScript(addr string) string {
	return fmt.Sprintf(`
CREATE TABLE prices (item STRING, cat STRING, price BIGINT, PRIMARY KEY (item) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'prices', 'properties.bootstrap.servers' = '%s',
  'key.format' = 'json', 'value.format' = 'json', 'scan.bounded.mode' = 'latest-offset');
CREATE TABLE by_cat (cat STRING, n BIGINT, total BIGINT, PRIMARY KEY (cat) NOT ENFORCED);
SET 'execution.checkpointing.interval' = '100 ms';
INSERT INTO by_cat SELECT cat, COUNT(*), SUM(price) FROM prices GROUP BY cat;
`, addr)
}

// queryRows runs a query and returns its rows, space-separated and sorted.
func queryRows(t *testing.T, ctx context.Context, s *session.Session, query string) string {
	t.Helper()
	var got []string
	err := s.Execute(ctx, query, func(r *session.Result) error {
		if r.Rows == nil {
			return nil
		}
		for {
			row, ok, err := r.Rows.Next(ctx)
			if err != nil || !ok {
				return err
			}
			var vs []string
			for _, d := range row.Values {
				vs = append(vs, d.String())
			}
			got = append(got, strings.Join(vs, " "))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	return strings.Join(got, "\n")
}

// TestUpsertKafkaSourceIntoAggregate reads an upsert-kafka topic (updates,
// category moves, tombstones, tombstones of absent keys) into a GROUP BY:
// the aggregate is that of the last value of every key.
func TestUpsertKafkaSourceIntoAggregate(t *testing.T) {
	addr := startBroker(t)
	evs := upsertEvents(3000)
	produceUpserts(t, addr, evs)
	s, err := session.Open(session.Config{StateDir: t.TempDir(), Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Execute(ctx, upsertSourceScript(addr), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitJobs(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := queryRows(t, ctx, s, "SELECT cat, n, total FROM by_cat;"), expectedByCat(evs); got != want {
		t.Fatalf("by_cat:\n%s\nwant\n%s", got, want)
	}
}

// byCatMismatch returns what is wrong with topic 'by_cat' (the last
// value of every category) for the first n events of evs, or "".
func byCatMismatch(t *testing.T, addr string, evs []upsertEvent, n int) string {
	t.Helper()
	last := map[string]string{}
	for _, r := range readCommitted(t, addr, "by_cat") {
		var key struct{ Cat string }
		if err := json.Unmarshal([]byte(r.key), &key); err != nil {
			return fmt.Sprintf("by_cat: key %q: %v", r.key, err)
		}
		if r.tombstone {
			delete(last, key.Cat)
			continue
		}
		var v struct {
			Cat      string
			N, Total int64
		}
		if err := json.Unmarshal([]byte(r.value), &v); err != nil || v.Cat != key.Cat {
			return fmt.Sprintf("by_cat: record key %q, value %q (%v)", r.key, r.value, err)
		}
		last[key.Cat] = fmt.Sprintf("%s %d %d", v.Cat, v.N, v.Total)
	}
	var got []string
	for _, s := range last {
		got = append(got, s)
	}
	sort.Strings(got)
	if g, w := strings.Join(got, "\n"), expectedByCat(evs[:n]); g != w {
		return fmt.Sprintf("by_cat after %d events:\n%s\nwant\n%s", n, g, w)
	}
	if o := openTransactions(t, addr, "by_cat"); o != 0 {
		return fmt.Sprintf("by_cat: %d records past the last stable offset (a transaction stayed open)", o)
	}
	return ""
}

// TestUpsertSourceKill9 runs upsert-kafka → GROUP BY → upsert-kafka
// (exactly-once) in a child engine while events keep arriving, kills it
// with SIGKILL 5 times at random moments (resuming it each time), then
// lets it catch up: the last value of every category is the aggregate of
// the last value of every item. The normalization's keyed state must be
// restored with the offsets for that: a lost or repeated update would
// leave a wrong count.
func TestUpsertSourceKill9(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(envSeed); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", envSeed, err)
		}
		seed = n
	}
	t.Logf("seed %d (replay with %s=%d)", seed, envSeed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	addr := startBroker(t)
	evs := upsertEvents(400_000)
	produceUpserts(t, addr, evs[:1000])
	// Events keep coming while the engine is killed and resumed.
	stop, fed := make(chan struct{}), make(chan int)
	cl := newClient(t, addr)
	go func() {
		i := 1000
		defer func() { fed <- i }()
		for i < len(evs) {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			var recs []*kgo.Record
			for _, e := range evs[i : i+200] {
				r := &kgo.Record{Topic: "prices", Key: []byte(fmt.Sprintf(`{"item":"%s"}`, e.item))}
				if !e.del {
					r.Value = []byte(fmt.Sprintf(`{"item":"%s","cat":"%s","price":%d}`, e.item, e.cat, e.price))
				}
				recs = append(recs, r)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			err := cl.ProduceSync(ctx, recs...).FirstErr()
			cancel()
			if err != nil {
				t.Errorf("produce: %v", err)
				return
			}
			i += 200
		}
	}()
	script := fmt.Sprintf(`
CREATE TABLE IF NOT EXISTS prices (item STRING, cat STRING, price BIGINT, PRIMARY KEY (item) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'prices', 'properties.bootstrap.servers' = '%[1]s',
  'key.format' = 'json', 'value.format' = 'json');
CREATE TABLE IF NOT EXISTS by_cat (cat STRING, n BIGINT, total BIGINT, PRIMARY KEY (cat) NOT ENFORCED) WITH (
  'connector' = 'upsert-kafka', 'topic' = 'by_cat', 'properties.bootstrap.servers' = '%[1]s',
  'key.format' = 'json', 'value.format' = 'json',
  'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'ft-by-cat');
SET 'execution.checkpointing.interval' = '100 ms';
INSERT INTO by_cat SELECT cat, COUNT(*), SUM(price) FROM prices GROUP BY cat;
`, addr)
	dir := t.TempDir()
	killRepeatedly(t, dir, script, 5, randomDelay(rng))
	close(stop)
	n := <-fed
	t.Logf("%d events", n)

	e := startEngine(t, dir, "") // resumes the job the kills left recorded
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m := byCatMismatch(t, addr, evs, n)
		if m == "" {
			break
		}
		select {
		case <-e.done:
			t.Fatalf("final run exited with status %d (%s):\n%s", e.exitCode(), m, e.out.String())
		case <-time.After(300 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("final run: after 2 min: %s", m)
		}
	}
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := e.exitCode(); code != 0 {
		t.Fatalf("final run: exit status %d after SIGTERM:\n%s", code, e.out.String())
	}
	if m := byCatMismatch(t, addr, evs, n); m != "" {
		t.Fatal(m)
	}
}
