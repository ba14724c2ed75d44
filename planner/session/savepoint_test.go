package session

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicesql/sluice/checkpoint"
)

// aggDDL is a bounded, throttled datagen source (about a second at
// parallelism 2) and built-in upsert sinks for a keyed aggregation.
const aggDDL = `
	CREATE TABLE gen (id BIGINT, k BIGINT, v BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '30000',
		'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '30000',
		'fields.k.min' = '0', 'fields.k.max' = '49', 'fields.v.min' = '1', 'fields.v.max' = '1000');
	CREATE TABLE dst (k BIGINT, n BIGINT, s BIGINT, mx BIGINT, PRIMARY KEY (k) NOT ENFORCED);
	CREATE TABLE dst1 (k BIGINT, n BIGINT, s BIGINT, mx BIGINT, PRIMARY KEY (k) NOT ENFORCED);
	CREATE TABLE dst4 (k BIGINT, n BIGINT, s BIGINT, mx BIGINT, PRIMARY KEY (k) NOT ENFORCED);
	CREATE TABLE base (k BIGINT, n BIGINT, s BIGINT, mx BIGINT, PRIMARY KEY (k) NOT ENFORCED);`

func aggJob(sink string) string {
	return "INSERT INTO " + sink + " SELECT k, COUNT(*), SUM(v), MAX(id) FROM gen GROUP BY k;"
}

// failureFree runs the aggregation without interruption into base.
func failureFree(t *testing.T, s *Session) []string {
	t.Helper()
	mustExec(t, s, aggJob("base")+"FLUSH;")
	rows := sortedRows(t, s, "SELECT * FROM base ORDER BY k;")
	if len(rows) != 50 {
		t.Fatalf("failure-free run: %d keys", len(rows))
	}
	return rows
}

// TestSavepointRescale (acceptance 3): a keyed aggregation stopped with a
// savepoint at parallelism 2 and restored at parallelism 1 and 4 into
// fresh sinks ends with the failure-free results.
func TestSavepointRescale(t *testing.T) {
	s := openTest(t, t.TempDir(), 2)
	defer s.Close()
	mustExec(t, s, aggDDL+"SET 'execution.checkpointing.interval' = '50 ms';")
	want := failureFree(t, s)

	id := startJob(t, s, aggJob("dst"))
	// Let it take a checkpoint or two, so the savepoint is mid-way.
	if err := s.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	var path string
	err := s.Execute(context.Background(), "STOP JOB '"+id+"' WITH SAVEPOINT;", func(r *Result) error {
		row, _, err := r.Rows.Next(context.Background())
		path = row.Values[0].String()
		return err
	})
	if err != nil {
		t.Fatalf("STOP JOB WITH SAVEPOINT: %v", err)
	}
	if row := jobRow(t, s, id); row[2] != "STOPPED" {
		t.Fatalf("job after STOP JOB WITH SAVEPOINT: %v", row)
	}
	partial := sortedRows(t, s, "SELECT * FROM dst ORDER BY k;")
	if strings.Join(partial, ";") == strings.Join(want, ";") {
		t.Fatal("the savepoint was taken after the job had read everything; make the source slower")
	}
	if _, err := os.Stat(filepath.Join(path, "_metadata")); err != nil {
		t.Fatalf("savepoint %s: %v", path, err)
	}

	for _, par := range []string{"1", "4"} {
		mustExec(t, s, "SET 'parallelism.default' = '"+par+"'; SET 'execution.state-recovery.path' = '"+path+"';")
		rid := startJob(t, s, aggJob("dst"+par))
		mustExec(t, s, "RESET 'execution.state-recovery.path'; FLUSH;")
		if row := waitJob(t, s, rid); row[2] != "FINISHED" {
			t.Fatalf("restored at parallelism %s: %v", par, row)
		}
		got := sortedRows(t, s, "SELECT * FROM dst"+par+" ORDER BY k;")
		if strings.Join(got, ";") != strings.Join(want, ";") {
			t.Fatalf("restored at parallelism %s:\n got %v\nwant %v", par, got, want)
		}
	}
}

// TestCorruptSavepointRefused: a savepoint whose metadata was altered is
// refused with the file and the damage named.
func TestCorruptSavepointRefused(t *testing.T) {
	s := openTest(t, t.TempDir(), 2)
	defer s.Close()
	mustExec(t, s, aggDDL+"SET 'restart-strategy.type' = 'none';")
	id := startJob(t, s, aggJob("dst"))
	var path string
	err := s.Execute(context.Background(), "STOP JOB '"+id+"' WITH SAVEPOINT;", func(r *Result) error {
		row, _, err := r.Rows.Next(context.Background())
		path = row.Values[0].String()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(path, "_metadata")
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(md, b, 0o644); err != nil {
		t.Fatal(err)
	}
	mustExec(t, s, "SET 'execution.state-recovery.path' = '"+path+"';")
	err = s.Execute(context.Background(), aggJob("dst1"), nil)
	msg := ""
	if err != nil {
		msg = err.Error()
	} else {
		row := waitJob(t, s, jobRow(t, s, "job-2")[0])
		if row[2] != "FAILED" {
			t.Fatalf("job from a corrupt savepoint: %v", row)
		}
		msg = row[6]
	}
	if !strings.Contains(msg, "checksum mismatch") || !strings.Contains(msg, path) {
		t.Fatalf("corrupt savepoint: %q does not name the file and the damage", msg)
	}
	if rows := runQuery(t, s, "SELECT * FROM dst1;"); len(rows) != 0 {
		t.Fatalf("a job from a corrupt savepoint wrote %v", rows)
	}
}

// TestResumeAfterEngineStop: closing the session mid-job leaves the job
// RUNNING; reopening and ResumeJobs continues it from its latest
// checkpoint to the failure-free result, also when the newest checkpoint's
// metadata is corrupt (the previous one is used).
func TestResumeAfterEngineStop(t *testing.T) {
	for _, corrupt := range []bool{false, true} {
		dir := t.TempDir()
		s := openTest(t, dir, 2)
		mustExec(t, s, aggDDL+`SET 'execution.checkpointing.interval' = '0';
			SET 'execution.checkpointing.num-retained' = '2';`)
		want := failureFree(t, s)
		id := startJob(t, s, aggJob("dst"))
		for i := 0; i < 2; i++ {
			if err := s.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		store := &checkpoint.Store{Dir: filepath.Join(dir, "checkpoints")}
		ids, err := store.List(id)
		if err != nil || len(ids) != 2 {
			t.Fatalf("checkpoints after Close: %v %v", ids, err)
		}
		if corrupt {
			md := filepath.Join(store.CheckpointDir(id, ids[1]), "_metadata")
			b, err := os.ReadFile(md)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(md, b[:len(b)-3], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		s = openTest(t, dir, 2)
		if row := jobRow(t, s, id); row[2] != "RUNNING" {
			t.Fatalf("job after Close: %v", row)
		}
		if corrupt {
			rows := runQuery(t, s, "SHOW CHECKPOINTS FOR JOB '"+id+"';")
			if len(rows) != 2 || rows[1][2] != "CORRUPT" || !strings.Contains(rows[1][7], "truncated") {
				t.Fatalf("SHOW CHECKPOINTS with a torn newest checkpoint: %v", rows)
			}
		}
		n, err := s.ResumeJobs(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("ResumeJobs: %d, %v", n, err)
		}
		if err := s.WaitJobs(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := sortedRows(t, s, "SELECT * FROM dst ORDER BY k;")
		if strings.Join(got, ";") != strings.Join(want, ";") {
			t.Fatalf("corrupt newest %v: after resume\n got %v\nwant %v", corrupt, got, want)
		}
		s.Close()
	}
}

// TestShowJobsAndCheckpointsColumns checks the columns of SHOW JOBS and
// SHOW CHECKPOINTS FOR JOB and what a running job shows.
func TestShowJobsAndCheckpointsColumns(t *testing.T) {
	s := openTest(t, t.TempDir(), 2)
	defer s.Close()
	mustExec(t, s, unboundedDDL+"SET 'execution.checkpointing.interval' = '0';")
	id := startJob(t, s, unboundedJob)
	// Let the source produce rows first: a FLUSH right at the start can
	// checkpoint an aggregation that has seen none yet (state size 0,
	// seen once in CI under load).
	time.Sleep(200 * time.Millisecond)
	mustExec(t, s, "FLUSH;")
	var cols []string
	var rows [][]string
	err := s.Execute(context.Background(), "SHOW JOBS; SHOW CHECKPOINTS FOR JOB '"+id+"';", func(r *Result) error {
		var names []string
		for _, c := range r.Columns {
			names = append(names, c.Name)
		}
		cols = append(cols, strings.Join(names, "|"))
		for {
			row, ok, err := r.Rows.Next(context.Background())
			if err != nil || !ok {
				return err
			}
			var out []string
			for _, d := range row.Values {
				out = append(out, d.String())
			}
			rows = append(rows, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	wantCols := []string{"job id|name|status|uptime|restarts|last checkpoint|error",
		"id|type|status|trigger time|duration|alignment|state size|failure"}
	if strings.Join(cols, ";") != strings.Join(wantCols, ";") {
		t.Fatalf("columns:\n got %v\nwant %v", cols, wantCols)
	}
	if len(rows) != 2 {
		t.Fatalf("rows: %v", rows)
	}
	job, chk := rows[0], rows[1]
	if job[0] != id || !strings.HasPrefix(job[1], "INSERT INTO bh SELECT k, COUNT(*)") || job[2] != "RUNNING" ||
		!strings.HasSuffix(job[3], "s") || job[4] != "0" || job[5] != "1" || job[6] != "" {
		t.Fatalf("SHOW JOBS row: %v", job)
	}
	if chk[0] != "1" || chk[1] != "checkpoint" || chk[2] != "COMPLETED" || len(chk[3]) != len("2006-01-02 15:04:05.000") ||
		chk[6] == "0" || chk[7] != "" {
		t.Fatalf("SHOW CHECKPOINTS row: %v", chk)
	}
	if err := s.Execute(context.Background(), "SHOW CHECKPOINTS FOR JOB 'nope';", nil); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("SHOW CHECKPOINTS of an unknown job: %v", err)
	}
}
