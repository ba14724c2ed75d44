package session

import (
	"bytes"
	"context"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicesql/sluice/checkpoint"
)

// unboundedDDL is an endless, throttled datagen source and a blackhole.
const unboundedDDL = `
	CREATE TABLE gen (k BIGINT, v BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '2000',
		'fields.k.min' = '0', 'fields.k.max' = '99');
	CREATE TABLE bh (k BIGINT, n BIGINT) WITH ('connector' = 'blackhole');`

const unboundedJob = "INSERT INTO bh SELECT k, COUNT(*) FROM gen GROUP BY k;"

// TestIntervalTakesPeriodicCheckpoints: with an interval, checkpoints
// appear by themselves; with 0, only FLUSH takes one.
func TestIntervalTakesPeriodicCheckpoints(t *testing.T) {
	s := openTest(t, t.TempDir(), 2)
	defer s.Close()
	mustExec(t, s, unboundedDDL+"SET 'execution.checkpointing.interval' = '20 ms';")
	id := startJob(t, s, unboundedJob)
	waitUntil(t, "3 periodic checkpoints", func() bool {
		return countStatus(history(t, s, id), checkpoint.StatusCompleted) >= 3
	})
	for _, st := range history(t, s, id) {
		if st.Savepoint {
			t.Fatalf("periodic checkpoint %d is a savepoint", st.ID)
		}
	}
	mustExec(t, s, "STOP JOB '"+id+"';")

	mustExec(t, s, "SET 'execution.checkpointing.interval' = '0';")
	id = startJob(t, s, unboundedJob)
	// Give a periodic trigger every chance to happen (20 ms would have
	// taken several by now); none may.
	time.Sleep(200 * time.Millisecond)
	if h := history(t, s, id); len(h) != 0 {
		t.Fatalf("interval 0: checkpoints without FLUSH: %+v", h)
	}
	mustExec(t, s, "FLUSH;")
	mustExec(t, s, "FLUSH;")
	h := history(t, s, id)
	if len(h) != 2 || countStatus(h, checkpoint.StatusCompleted) != 2 {
		t.Fatalf("interval 0: after two FLUSHes: %+v", h)
	}
}

// TestAtLeastOnceMode: a join (two inputs, so barriers would be aligned in
// EXACTLY_ONCE) runs to the exact result with unaligned barriers.
func TestAtLeastOnceMode(t *testing.T) {
	want := []string(nil)
	for _, mode := range []string{"EXACTLY_ONCE", "AT_LEAST_ONCE"} {
		s := openTest(t, t.TempDir(), 2)
		mustExec(t, s, `
			SET 'execution.checkpointing.mode' = '`+mode+`';
			SET 'execution.checkpointing.interval' = '10 ms';
			CREATE TABLE l (k BIGINT, a BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '20000',
				'fields.k.kind' = 'sequence', 'fields.k.start' = '1', 'fields.k.end' = '4000',
				'fields.a.min' = '0', 'fields.a.max' = '1000');
			CREATE TABLE r (k BIGINT, b BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '20000',
				'fields.k.kind' = 'sequence', 'fields.k.start' = '1', 'fields.k.end' = '4000',
				'fields.b.min' = '0', 'fields.b.max' = '1000');
			CREATE TABLE dst (m BIGINT, n BIGINT, s BIGINT, PRIMARY KEY (m) NOT ENFORCED);`)
		id := startJob(t, s, "INSERT INTO dst SELECT l.k % 7, COUNT(*), SUM(l.a + r.b) FROM l JOIN r ON l.k = r.k GROUP BY l.k % 7;")
		waitUntil(t, "a periodic checkpoint", func() bool {
			s.mu.Lock()
			rj := s.jobs[id]
			s.mu.Unlock()
			return rj == nil || rj.run.LastCompleted() > 0
		})
		if row := waitJob(t, s, id); row[2] != "FINISHED" {
			t.Fatalf("%s: job %v", mode, row)
		}
		got := sortedRows(t, s, "SELECT * FROM dst ORDER BY m;")
		if len(got) != 7 {
			t.Fatalf("%s: %v", mode, got)
		}
		if want == nil {
			want = got
		} else if strings.Join(got, ";") != strings.Join(want, ";") {
			t.Fatalf("%s: got %v, EXACTLY_ONCE gave %v", mode, got, want)
		}
		s.Close()
	}
}

// stallDDL is a small bounded source into a sink whose snapshots stall.
func stallDDL(slow int) string {
	return `
	CREATE TABLE small (k BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '100', 'rows-per-second' = '0');
	CREATE TABLE stall (k BIGINT) WITH ('connector' = 'test-stall', 'snapshot-delay' = '150',
		'slow-snapshots' = '` + strconv.Itoa(slow) + `');`
}

// TestTimeoutAndTolerableFailures: a checkpoint that outlasts the timeout
// fails with the timeout as reason; the job fails at the
// (tolerable-failed-checkpoints + 1)th failure in a row, and finishes when
// a checkpoint completes before that.
func TestTimeoutAndTolerableFailures(t *testing.T) {
	const always = 1 << 30
	cases := []struct {
		tolerable, slow int
		wantStatus      string
	}{
		{0, always, "FAILED"},
		{2, always, "FAILED"},
		{1000, 1, "FINISHED"},
	}
	for _, c := range cases {
		resetStall("stall")
		s := openTest(t, t.TempDir(), 1)
		mustExec(t, s, stallDDL(c.slow)+`
			SET 'execution.checkpointing.interval' = '0';
			SET 'execution.checkpointing.timeout' = '20 ms';
			SET 'restart-strategy.type' = 'none';
			SET 'execution.checkpointing.tolerable-failed-checkpoints' = '`+strconv.Itoa(c.tolerable)+`';`)
		id := startJob(t, s, "INSERT INTO stall SELECT k FROM small;")
		row := waitJob(t, s, id)
		if row[2] != c.wantStatus {
			t.Fatalf("tolerable %d, %d slow snapshots: job %v, want %s", c.tolerable, c.slow, row, c.wantStatus)
		}
		if c.wantStatus == "FAILED" {
			for _, want := range []string{
				"too many failed checkpoints: " + strconv.Itoa(c.tolerable+1) + " in a row",
				"execution.checkpointing.tolerable-failed-checkpoints = " + strconv.Itoa(c.tolerable),
				"timed out after 20 ms (execution.checkpointing.timeout)"} {
				if !strings.Contains(row[6], want) {
					t.Fatalf("error %q lacks %q", row[6], want)
				}
			}
		}
		s.Close()
	}
}

// TestTimeoutShownInCheckpoints: SHOW CHECKPOINTS lists a timed-out
// checkpoint as FAILED with the reason.
func TestTimeoutShownInCheckpoints(t *testing.T) {
	resetStall("stall")
	s := openTest(t, t.TempDir(), 1)
	defer s.Close()
	mustExec(t, s, unboundedDDL+`
		CREATE TABLE stall (k BIGINT, n BIGINT) WITH ('connector' = 'test-stall', 'snapshot-delay' = '100', 'slow-snapshots' = '1');
		SET 'execution.checkpointing.interval' = '0';
		SET 'execution.checkpointing.timeout' = '20 ms';
		SET 'execution.checkpointing.tolerable-failed-checkpoints' = '200';`)
	// Tolerate as many failures as the FLUSH retries below: on a loaded
	// machine later checkpoints can time out too, and a failed job would
	// take its checkpoint history with it.
	id := startJob(t, s, "INSERT INTO stall SELECT k, COUNT(*) FROM gen GROUP BY k;")
	if err := s.Execute(context.Background(), "FLUSH;", nil); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("FLUSH with a stalled checkpoint: %v", err)
	}
	// The stalled snapshot may still hold up the next checkpoint or two.
	for i := 0; s.Execute(context.Background(), "FLUSH;", nil) != nil; i++ {
		if i == 100 {
			t.Fatal("FLUSH never completed after the stalled checkpoint")
		}
	}
	rows := runQuery(t, s, "SHOW CHECKPOINTS FOR JOB '"+id+"';")
	last := len(rows) - 1
	if len(rows) < 2 || rows[0][0] != "1" || rows[0][2] != "FAILED" ||
		!strings.Contains(rows[0][7], "timed out after 20 ms (execution.checkpointing.timeout)") ||
		rows[last][2] != "COMPLETED" || rows[last][7] != "" {
		t.Fatalf("SHOW CHECKPOINTS: %v", rows)
	}
}

// TestMinPause: periodic checkpoints start at least min-pause after the
// previous one ended, however short the interval.
func TestMinPause(t *testing.T) {
	s := openTest(t, t.TempDir(), 2)
	defer s.Close()
	const pause = 100 * time.Millisecond
	mustExec(t, s, unboundedDDL+`
		SET 'execution.checkpointing.interval' = '10 ms';
		SET 'execution.checkpointing.min-pause' = '100 ms';`)
	id := startJob(t, s, unboundedJob)
	var h []checkpoint.Stats
	waitUntil(t, "4 checkpoints", func() bool {
		h = history(t, s, id)
		return countStatus(h, checkpoint.StatusCompleted) >= 4
	})
	for i := 1; i < len(h); i++ {
		prev, cur := h[i-1], h[i]
		if prev.Status != checkpoint.StatusCompleted {
			continue
		}
		if gap := cur.TriggerTime.Sub(prev.TriggerTime.Add(prev.Duration)); gap < pause {
			t.Fatalf("checkpoint %d triggered %v after %d ended, min-pause is %v", cur.ID, gap, prev.ID, pause)
		}
	}
}

// TestMaxConcurrentCheckpoints: with a sink that stalls every snapshot,
// up to max-concurrent-checkpoints are in progress at once, never more.
func TestMaxConcurrentCheckpoints(t *testing.T) {
	for _, maxc := range []int{1, 3} {
		resetStall("stall")
		s := openTest(t, t.TempDir(), 1)
		mustExec(t, s, unboundedDDL+`
			CREATE TABLE stall (k BIGINT, n BIGINT) WITH ('connector' = 'test-stall', 'snapshot-delay' = '60');
			SET 'execution.checkpointing.interval' = '10 ms';
			SET 'execution.checkpointing.max-concurrent-checkpoints' = '`+strconv.Itoa(maxc)+`';`)
		id := startJob(t, s, "INSERT INTO stall SELECT k, COUNT(*) FROM gen GROUP BY k;")
		most := 0
		for completed := 0; completed < 6; {
			h := history(t, s, id)
			most = max(most, countStatus(h, checkpoint.StatusInProgress))
			completed = countStatus(h, checkpoint.StatusCompleted)
			time.Sleep(2 * time.Millisecond)
		}
		if most > maxc || (maxc > 1 && most < 2) {
			t.Fatalf("max-concurrent %d: up to %d checkpoints in progress at once", maxc, most)
		}
		s.Close()
	}
}

// chkDirs lists the chk-* directories of job under dir.
func chkDirs(t *testing.T, dir, job string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, job, "chk-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCheckpointDirRetentionAndNumRetained: checkpoints go under
// state.checkpoints.dir, num-retained of them are kept, and STOP JOB
// deletes them (DELETE_ON_CANCELLATION) or keeps them
// (RETAIN_ON_CANCELLATION).
func TestCheckpointDirRetentionAndNumRetained(t *testing.T) {
	for _, retention := range []string{"DELETE_ON_CANCELLATION", "RETAIN_ON_CANCELLATION"} {
		stateDir, ckDir := t.TempDir(), t.TempDir()
		s := openTest(t, stateDir, 2)
		mustExec(t, s, unboundedDDL+`
			SET 'execution.checkpointing.interval' = '0';
			SET 'execution.checkpointing.num-retained' = '3';
			SET 'state.checkpoints.dir' = 'file://`+ckDir+`';
			SET 'execution.checkpointing.externalized-checkpoint-retention' = '`+retention+`';`)
		id := startJob(t, s, unboundedJob)
		mustExec(t, s, "FLUSH; FLUSH; FLUSH; FLUSH; FLUSH;")
		got := chkDirs(t, ckDir, id)
		if len(got) != 3 || filepath.Base(got[0]) != "chk-3" || filepath.Base(got[2]) != "chk-5" {
			t.Fatalf("num-retained 3 after 5 checkpoints: %v", got)
		}
		if d := chkDirs(t, filepath.Join(stateDir, "checkpoints"), id); len(d) != 0 {
			t.Fatalf("checkpoints written to the default dir too: %v", d)
		}
		if last := jobRow(t, s, id)[5]; last != "5" {
			t.Fatalf("SHOW JOBS last checkpoint %q, want 5", last)
		}
		mustExec(t, s, "STOP JOB '"+id+"';")
		got = chkDirs(t, ckDir, id)
		if retention == "DELETE_ON_CANCELLATION" && len(got) != 0 {
			t.Fatalf("%s: checkpoints left after STOP JOB: %v", retention, got)
		}
		if retention == "RETAIN_ON_CANCELLATION" {
			if len(got) != 3 {
				t.Fatalf("%s: checkpoints after STOP JOB: %v", retention, got)
			}
			// Shown from disk now that the job is not running.
			rows := runQuery(t, s, "SHOW CHECKPOINTS FOR JOB '"+id+"';")
			if len(rows) != 3 || rows[0][0] != "3" || rows[2][2] != "COMPLETED" {
				t.Fatalf("SHOW CHECKPOINTS of a stopped job: %v", rows)
			}
		}
		s.Close()
	}
}

// captureLog collects the standard logger's output until the returned
// function is called, which returns it.
func captureLog(t *testing.T) func() string {
	var mu sync.Mutex
	var buf bytes.Buffer
	prev := log.Writer()
	log.SetOutput(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}))
	t.Cleanup(func() { log.SetOutput(prev) })
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// badCSV writes a csv directory whose second file has a malformed line.
func badCSV(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.csv"), []byte("1,10\n2,20\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.csv"), []byte("3,30\nnot-a-number,40\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRestartStrategies: a job failing on bad input is restarted as the
// strategy allows, then FAILED with the strategy's reason.
func TestRestartStrategies(t *testing.T) {
	cases := []struct {
		name     string
		settings string
		restarts int
		reason   string
	}{
		{"none", `SET 'restart-strategy.type' = 'none';`, 0, "restarts are disabled (restart-strategy.type = none)"},
		{"fixed-delay", `SET 'restart-strategy.type' = 'fixed-delay';
			SET 'restart-strategy.fixed-delay.attempts' = '3';
			SET 'restart-strategy.fixed-delay.delay' = '5 ms';`, 3, "fixed-delay gave up after 3 restart attempts"},
		{"failure-rate", `SET 'restart-strategy.type' = 'failure-rate';
			SET 'restart-strategy.failure-rate.max-failures-per-interval' = '2';
			SET 'restart-strategy.failure-rate.failure-rate-interval' = '10 min';
			SET 'restart-strategy.failure-rate.delay' = '5 ms';`, 2, "failure-rate gave up: 3 failures within 10 min"},
		{"exponential-delay", `SET 'restart-strategy.type' = 'exponential-delay';
			SET 'restart-strategy.exponential-delay.initial-backoff' = '1 ms';
			SET 'restart-strategy.exponential-delay.max-backoff' = '8 ms';
			SET 'restart-strategy.exponential-delay.backoff-multiplier' = '2';
			SET 'restart-strategy.exponential-delay.jitter-factor' = '0';
			SET 'restart-strategy.exponential-delay.reset-backoff-threshold' = '10 min';
			SET 'restart-strategy.exponential-delay.attempts-before-reset-backoff' = '4';`, 4, "exponential-delay gave up after 4 restart attempts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logs := captureLog(t)
			s := openTest(t, t.TempDir(), 1)
			defer s.Close()
			mustExec(t, s, c.settings+`
				CREATE TABLE src (k BIGINT, v BIGINT) WITH ('connector' = 'filesystem', 'path' = '`+badCSV(t)+`', 'format' = 'csv');
				CREATE TABLE dst (k BIGINT, v BIGINT, PRIMARY KEY (k) NOT ENFORCED);`)
			id := startJob(t, s, "INSERT INTO dst SELECT * FROM src;")
			row := waitJob(t, s, id)
			if row[2] != "FAILED" || !strings.Contains(row[6], c.reason) || !strings.Contains(row[6], "not-a-number") {
				t.Fatalf("job %v; want FAILED with %q and the bad value", row, c.reason)
			}
			if n := strings.Count(logs(), "job "+id+" failed: "); n != c.restarts {
				t.Fatalf("%d restarts logged, want %d:\n%s", n, c.restarts, logs())
			}
		})
	}
}

// TestShowJobsCountsRestarts: the restarts column counts restarts of a
// running job.
func TestShowJobsCountsRestarts(t *testing.T) {
	s := openTest(t, t.TempDir(), 1)
	defer s.Close()
	mustExec(t, s, `SET 'restart-strategy.type' = 'fixed-delay';
		SET 'restart-strategy.fixed-delay.attempts' = '1';
		SET 'restart-strategy.fixed-delay.delay' = '10 min';
		CREATE TABLE src (k BIGINT, v BIGINT) WITH ('connector' = 'filesystem', 'path' = '`+badCSV(t)+`', 'format' = 'csv');
		CREATE TABLE dst (k BIGINT, v BIGINT, PRIMARY KEY (k) NOT ENFORCED);`)
	id := startJob(t, s, "INSERT INTO dst SELECT * FROM src;")
	var row []string
	waitUntil(t, "a restart", func() bool {
		row = jobRow(t, s, id)
		return row[4] == "1"
	})
	if row[2] != "RUNNING" {
		t.Fatalf("job waiting for its restart: %v", row)
	}
}

// TestBadSettingsRejected: SET rejects bad values of every checkpoint key
// with the key and the value in the message.
func TestBadSettingsRejected(t *testing.T) {
	s := openTest(t, t.TempDir(), 1)
	defer s.Close()
	bad := map[string]string{
		"execution.checkpointing.interval":                                 "soon",
		"execution.checkpointing.mode":                                     "TWICE",
		"execution.checkpointing.timeout":                                  "1 ms",
		"execution.checkpointing.min-pause":                                "-5 s",
		"execution.checkpointing.max-concurrent-checkpoints":               "0",
		"execution.checkpointing.tolerable-failed-checkpoints":             "-1",
		"execution.checkpointing.externalized-checkpoint-retention":        "KEEP_FOREVER",
		"execution.checkpointing.num-retained":                             "0",
		"restart-strategy.type":                                            "sometimes",
		"restart-strategy.fixed-delay.attempts":                            "many",
		"restart-strategy.fixed-delay.delay":                               "later",
		"restart-strategy.failure-rate.max-failures-per-interval":          "0",
		"restart-strategy.failure-rate.failure-rate-interval":              "0",
		"restart-strategy.exponential-delay.initial-backoff":               "0",
		"restart-strategy.exponential-delay.backoff-multiplier":            "0.5",
		"restart-strategy.exponential-delay.jitter-factor":                 "2",
		"restart-strategy.exponential-delay.attempts-before-reset-backoff": "x",
		"execution.checkpointing.no-such-key":                              "1",
	}
	for key, value := range bad {
		err := s.Execute(context.Background(), "SET '"+key+"' = '"+value+"';", nil)
		if err == nil {
			t.Errorf("SET '%s' = '%s' accepted", key, value)
			continue
		}
		if !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), value) {
			t.Errorf("SET '%s' = '%s': error %q does not name both", key, value, err)
		}
	}
	if rows := runQuery(t, s, "SET;"); len(rows) != 0 {
		t.Fatalf("rejected settings were stored: %v", rows)
	}
	// A combination only Parse can check is refused when a job starts.
	mustExec(t, s, `SET 'restart-strategy.exponential-delay.initial-backoff' = '1 min';
		SET 'restart-strategy.exponential-delay.max-backoff' = '1 s';
		CREATE TABLE gen (k BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '10');
		CREATE TABLE bh (k BIGINT) WITH ('connector' = 'blackhole');`)
	err := s.Execute(context.Background(), "INSERT INTO bh SELECT k FROM gen;", nil)
	if err == nil || !strings.Contains(err.Error(), "max-backoff") {
		t.Fatalf("max-backoff < initial-backoff: %v", err)
	}
}
