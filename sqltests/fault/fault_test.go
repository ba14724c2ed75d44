package fault

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	flagKills = flag.Int("fault.kills", 5, "how many times TestKill9 kills the job (issue 4 asks for >= 20 in the long form)")
	flagRows  = flag.Int("fault.rows", 1_000_000, "rows of the fault tests' datagen source")
	flagSeed  = flag.Uint64("fault.seed", 0, "seed of TestKill9's kill delays (0: from the clock; the seed is logged)")
)

// The job under test reads a bounded datagen source with sequence ids and
// writes, in one statement set: a keyed aggregation into a built-in table
// with a primary key (upserts), a filter into an exactly-once filesystem
// sink (two-phase commit of part files) and a filter into a built-in table
// without a primary key (rows staged per checkpoint, applied when it
// completes).
const setupSQL = `
CREATE TABLE gen (id BIGINT, r INT) WITH (
  'connector' = 'datagen',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '%d',
  'fields.r.min' = '0', 'fields.r.max' = '1000000',
  'rows-per-second' = '%d');
CREATE TABLE agg (k BIGINT, cnt BIGINT, total BIGINT, rsum BIGINT, PRIMARY KEY (k) NOT ENFORCED);
CREATE TABLE files_out (id BIGINT, r INT) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE TABLE staged (id BIGINT, r INT);
`

// inserts are the statements of the job, by sink.
var inserts = map[string]string{
	"agg":       "INSERT INTO agg SELECT id % 1000, COUNT(*), SUM(id), SUM(CAST(r AS BIGINT)) FROM gen GROUP BY id % 1000;",
	"files_out": "INSERT INTO files_out SELECT id, r FROM gen WHERE id % 7 = 0;",
	"staged":    "INSERT INTO staged SELECT id, r FROM gen WHERE id % 11 = 0;",
}

// allSinks lists every sink of the job.
var allSinks = []string{"agg", "files_out", "staged"}

// jobSQL returns the script of the job writing into sinks.
func jobSQL(sinks []string) string {
	var b strings.Builder
	b.WriteString("SET 'execution.checkpointing.interval' = '300 ms';\nEXECUTE STATEMENT SET BEGIN\n")
	for _, s := range sinks {
		b.WriteString("  " + inserts[s] + "\n")
	}
	b.WriteString("END;\n")
	return b.String()
}

// config is given to every run with --config: a resumed run has no script,
// and a failure inside the process must fail the test rather than be
// absorbed by a restart.
var config = map[string]string{
	"execution.checkpointing.interval": "300 ms",
	"restart-strategy.type":            "none",
}

// results are the contents of the job's three sinks.
type results struct {
	agg, files, staged []string
}

// job is one state directory set up for the job under test.
type job struct {
	s      *Sluice
	script string
	out    string
}

// newJob creates the tables (without faults) in a fresh state directory
// and writes the script of a job into sinks; the source produces rate rows
// per second (0: unlimited).
func newJob(t *testing.T, rows, rate int, sinks []string) *job {
	t.Helper()
	dir := t.TempDir()
	j := &job{s: New(t, Binary(t), filepath.Join(dir, "state")), out: filepath.Join(dir, "out")}
	j.s.Args = []string{"--parallelism", "2"}
	j.s.WriteConfig(dir, config)
	if err := os.Mkdir(j.out, 0o755); err != nil {
		t.Fatal(err)
	}
	j.s.MustRun("-f", WriteScript(t, dir, "setup.sql", fmt.Sprintf(setupSQL, rows, rate, j.out)))
	j.script = WriteScript(t, dir, "job.sql", jobSQL(sinks))
	return j
}

// results reads the sinks of a finished job; it fails t when the
// filesystem sink left hidden files.
func (j *job) results(t *testing.T) results {
	t.Helper()
	files, hidden := PartFiles(t, j.out)
	if len(hidden) > 0 {
		t.Errorf("filesystem sink left %d hidden files: %q", len(hidden), first(hidden, 10))
	}
	return results{
		agg:    j.s.Query("SELECT k, cnt, total, rsum FROM agg"),
		files:  files,
		staged: j.s.Query("SELECT id, r FROM staged"),
	}
}

// check compares the sinks of got with a failure-free run's results (of
// the job into all sinks: each sink's rows depend only on the source).
func (r results) check(t *testing.T, got results, sinks []string) {
	t.Helper()
	for _, s := range sinks {
		var err error
		switch s {
		case "agg":
			err = Diff(r.agg, got.agg)
		case "files_out":
			err = Diff(r.files, got.files)
		case "staged":
			err = Diff(r.staged, got.staged)
		}
		if err != nil {
			t.Errorf("sink %s: %v", s, err)
		}
	}
}

// reference caches failure-free results by row count.
var reference struct {
	sync.Mutex
	r map[int]results
}

// referenceResults runs the job once without faults (cached per row
// count) and checks its results against what the sequence implies.
func referenceResults(t *testing.T, rows int) results {
	t.Helper()
	reference.Lock()
	defer reference.Unlock()
	if r, ok := reference.r[rows]; ok {
		return r
	}
	start := time.Now()
	j := newJob(t, rows, 0, allSinks)
	j.s.MustRun("-f", j.script)
	j.s.CheckFinished()
	r := j.results(t)
	t.Logf("failure-free run of %d rows: %v", rows, time.Since(start).Round(time.Millisecond))
	checkClosedForm(t, rows, r)
	if reference.r == nil {
		reference.r = map[int]results{}
	}
	reference.r[rows] = r
	return r
}

// checkClosedForm checks a failure-free run against the sequence 1..rows:
// the aggregation's counts and id sums, and the ids of the two filters.
func checkClosedForm(t *testing.T, rows int, r results) {
	t.Helper()
	want := map[int64][2]int64{}
	for id := int64(1); id <= int64(rows); id++ {
		c := want[id%1000]
		want[id%1000] = [2]int64{c[0] + 1, c[1] + id}
	}
	if len(r.agg) != len(want) {
		t.Fatalf("failure-free run: agg has %d rows, want %d", len(r.agg), len(want))
	}
	for _, line := range r.agg {
		f := strings.Split(line, "\t")
		k, err1 := strconv.ParseInt(f[0], 10, 64)
		cnt, err2 := strconv.ParseInt(f[1], 10, 64)
		total, err3 := strconv.ParseInt(f[2], 10, 64)
		if len(f) != 4 || err1 != nil || err2 != nil || err3 != nil || want[k] != [2]int64{cnt, total} {
			t.Fatalf("failure-free run: agg row %q, want count and sum %v", line, want[k])
		}
	}
	checkIDs := func(name string, lines []string, sep string, mod int) {
		seen := make([]bool, rows+1)
		for _, line := range lines {
			id, err := strconv.Atoi(strings.Split(line, sep)[0])
			if err != nil || id < 1 || id > rows || id%mod != 0 || seen[id] {
				t.Fatalf("failure-free run: %s has row %q (bad, filtered out or twice)", name, line)
			}
			seen[id] = true
		}
		if len(lines) != rows/mod {
			t.Fatalf("failure-free run: %s has %d rows, want %d", name, len(lines), rows/mod)
		}
	}
	checkIDs("files_out", r.files, ",", 7)
	checkIDs("staged", r.staged, "\t", 11)
}

// killRate is the source's rate under kills: the job takes about
// rows/killRate seconds without faults, so that kills land while it runs.
const killRate = 100_000

// TestKill9 is issue 4's acceptance 1: the job is killed with SIGKILL at
// random moments -fault.kills times, resumed after each kill, and its
// results must equal a failure-free run's exactly.
func TestKill9(t *testing.T) {
	rows, kills := *flagRows, *flagKills
	ref := referenceResults(t, rows)
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -fault.seed=%d -fault.kills=%d -fault.rows=%d)", seed, seed, kills, rows)
	j := newJob(t, rows, killRate, allSinks)
	// Each delay is at most the throttled duration d over kills+1, so all
	// of them together stay below d; a run gets less done than its delay
	// (start-up, work after the last checkpoint), so the job outlives the
	// planned kills. (Delays up to twice that let the sum exceed d: with
	// fast restarts the job then finished before its last kill.)
	d := time.Duration(rows) * time.Second / killRate
	plan := KillPlan{Seed: seed, Kills: kills, MinDelay: 100 * time.Millisecond,
		MaxDelay: max(500*time.Millisecond, d/time.Duration(kills+1))}
	rep := j.s.RunWithKills(j.script, plan)
	t.Logf("%d runs (%d of the script), kill delays %v", rep.Runs, rep.Scripts, rep.Delays)
	if len(rep.Delays) < kills {
		t.Errorf("the job finished after %d kills, want %d: give it more rows (-fault.rows)", len(rep.Delays), kills)
	}
	ref.check(t, j.results(t), allSinks)
}

// TestCrashSteps crashes the job at each step of the checkpoint protocol
// (SLUICE_CRASH_AT), resumes it and checks its results exactly. It runs a
// quarter of -fault.rows at killRate: about ten checkpoints, the crash at
// the second or third.
func TestCrashSteps(t *testing.T) {
	rows := max(*flagRows/4, 1000)
	ref := referenceResults(t, rows)
	for _, c := range []struct {
		name, step string
		id         int64
		sinks      []string
	}{
		{"before-snapshot", "before-snapshot", 3, allSinks},
		{"after-snapshot", "after-snapshot", 2, allSinks},
		{"after-complete", "after-complete", 3, allSinks},
		{"during-commit", "during-commit", 2, allSinks},
		// One exactly-once sink at a time, so that each one's commit is
		// the one interrupted.
		{"during-commit/files", "during-commit", 3, []string{"files_out"}},
		{"during-commit/staged", "during-commit", 3, []string{"staged"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := newJob(t, rows, killRate, c.sinks)
			j.s.CrashAt(j.script, c.step, c.id)
			ref.check(t, j.results(t), c.sinks)
		})
	}
}
