package session

import (
	"context"
	"strings"
	"testing"
	"time"

	"math"

	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// runQuery executes script and returns the rows of its last query as text.
func runQuery(t *testing.T, s *Session, script string) [][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rows [][]string
	err := s.Execute(ctx, script, func(r *Result) error {
		if r.Kind != ResultRows {
			return nil
		}
		rows = nil
		for {
			row, ok, err := r.Rows.Next(ctx)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			var out []string
			for _, d := range row.Values {
				out = append(out, d.String())
			}
			rows = append(rows, out)
		}
	})
	if err != nil {
		t.Fatalf("%s\n%v", script, err)
	}
	return rows
}

func openTest(t *testing.T, dir string, par int) *Session {
	t.Helper()
	s, err := Open(Config{StateDir: dir, Parallelism: par})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestErrorFormat(t *testing.T) {
	s := openTest(t, t.TempDir(), 2)
	defer s.Close()
	setup := "CREATE TABLE IF NOT EXISTS t (a INT, b VARCHAR(10), PRIMARY KEY (a) NOT ENFORCED);\n"
	cases := []struct {
		name, script, want string
	}{
		{"syntax", setup + "SELECT a\n  FROM t;\nSELECT a,\n  b FROM WHERE t;\n",
			"ERROR at line 5, column 10: syntax error near 'WHERE'\n  b FROM WHERE t;\n         ^"},
		{"unknown column", setup + "SELECT a FROM t;\nSELECT a,\n       nope\nFROM t;\n",
			"ERROR at line 4, column 8: Unknown column 'nope'\n       nope\n       ^"},
		{"type error", setup + "SELECT 1;\nSELECT a\n  FROM t WHERE b + a > 1;\n",
			"ERROR at line 4, column 18: cannot apply '+' to VARCHAR and INT\n  FROM t WHERE b + a > 1;\n                 ^"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.Execute(context.Background(), c.script, func(r *Result) error { return nil })
			if err == nil {
				t.Fatal("expected an error")
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got:\n%s\nwant prefix:\n%s", err, c.want)
			}
		})
	}
}

func TestCatalogSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, 2)
	runQuery(t, s, `CREATE TABLE t (a INT, b VARCHAR(10), PRIMARY KEY (a) NOT ENFORCED);
		CREATE VIEW v AS SELECT a * 10 AS x FROM t WHERE a > 1;
		INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three');
		FLUSH;`)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, 2)
	defer s.Close()
	got := runQuery(t, s, "SELECT x FROM v ORDER BY x;")
	if len(got) != 2 || got[0][0] != "20" || got[1][0] != "30" {
		t.Fatalf("after restart: %v", got)
	}
	tables := runQuery(t, s, "SHOW TABLES;")
	if len(tables) != 1 || tables[0][0] != "t" {
		t.Fatalf("SHOW TABLES after restart: %v", tables)
	}
}

func TestFailedDDLLeavesNoTrace(t *testing.T) {
	s := openTest(t, t.TempDir(), 1)
	defer s.Close()
	bad := []string{
		"CREATE TABLE g (a INT) WITH ('connector' = 'datagen', 'no-such-option' = '1');",
		"CREATE TABLE g (a INT, PRIMARY KEY (b) NOT ENFORCED);",
		"CREATE TABLE g (a INT, a INT);",
		"CREATE VIEW g AS SELECT nope FROM nowhere;",
	}
	for _, sql := range bad {
		if err := s.Execute(context.Background(), sql, nil); err == nil {
			t.Fatalf("%s: expected an error", sql)
		}
		if rows := runQuery(t, s, "SHOW TABLES;"); len(rows) != 0 {
			t.Fatalf("%s left a table: %v", sql, rows)
		}
		if rows := runQuery(t, s, "SHOW VIEWS;"); len(rows) != 0 {
			t.Fatalf("%s left a view: %v", sql, rows)
		}
	}
	// The name is still free.
	runQuery(t, s, "CREATE TABLE g (a INT);")
}

func TestInsertSelectAcrossTables(t *testing.T) {
	for _, par := range []int{1, 4} {
		s := openTest(t, t.TempDir(), par)
		rows := runQuery(t, s, `
			CREATE TABLE src (id BIGINT, v INT) WITH ('connector' = 'datagen', 'number-of-rows' = '100',
				'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '100',
				'fields.v.kind' = 'sequence', 'fields.v.start' = '1', 'fields.v.end' = '100');
			CREATE TABLE dst (id BIGINT, doubled INT, PRIMARY KEY (id) NOT ENFORCED);
			INSERT INTO dst SELECT id, v * 2 FROM src WHERE id % 10 = 0;
			FLUSH;
			SELECT * FROM dst ORDER BY id DESC LIMIT 3;`)
		want := [][]string{{"100", "200"}, {"90", "180"}, {"80", "160"}}
		if len(rows) != 3 || rows[0][1] != want[0][1] || rows[2][0] != want[2][0] {
			t.Fatalf("parallelism %d: got %v want %v", par, rows, want)
		}
		s.Close()
	}
}

func TestContinuousJobFollowsBuiltinTable(t *testing.T) {
	s := openTest(t, t.TempDir(), 2)
	defer s.Close()
	runQuery(t, s, `CREATE TABLE a (k INT, v VARCHAR(10), PRIMARY KEY (k) NOT ENFORCED);
		CREATE TABLE b (k INT, v VARCHAR(10), PRIMARY KEY (k) NOT ENFORCED);
		INSERT INTO b SELECT k, UPPER(v) FROM a;
		INSERT INTO a VALUES (1, 'x'), (2, 'y');
		FLUSH;`)
	got := runQuery(t, s, "SELECT * FROM b ORDER BY k;")
	if len(got) != 2 || got[0][1] != "X" || got[1][1] != "Y" {
		t.Fatalf("first flush: %v", got)
	}
	runQuery(t, s, "INSERT INTO a VALUES (2, 'z'), (3, 'w'); FLUSH;")
	got = runQuery(t, s, "SELECT * FROM b ORDER BY k;")
	if len(got) != 3 || got[1][1] != "Z" || got[2][1] != "W" {
		t.Fatalf("second flush: %v", got)
	}
}

func TestUpdatingIntoAppendOnlySinkRefused(t *testing.T) {
	s := openTest(t, t.TempDir(), 1)
	defer s.Close()
	dir := t.TempDir()
	runQuery(t, s, `CREATE TABLE a (k INT, v VARCHAR(10), PRIMARY KEY (k) NOT ENFORCED);
		CREATE TABLE out_fs (k INT, v VARCHAR(10)) WITH ('connector' = 'filesystem', 'path' = '`+dir+`', 'format' = 'json');`)
	err := s.Execute(context.Background(), "INSERT INTO out_fs SELECT * FROM a;", nil)
	if err == nil || !strings.Contains(err.Error(), "only accepts append-only input") {
		t.Fatalf("got %v", err)
	}
}

var _ = types.Insert

// TestEndedJobStateDropped: a running job's operator state reaches Badger
// at a barrier (FLUSH); once the job ends (STOP JOB) it is deleted, since
// nothing restores it.
func TestEndedJobStateDropped(t *testing.T) {
	s := openTest(t, t.TempDir(), 2)
	defer s.Close()
	runQuery(t, s, `
		CREATE TABLE src (k BIGINT, v BIGINT, PRIMARY KEY (v) NOT ENFORCED);
		CREATE TABLE dst (k BIGINT, n BIGINT, PRIMARY KEY (k) NOT ENFORCED);
		INSERT INTO dst SELECT k, COUNT(*) FROM src GROUP BY k;
		INSERT INTO src VALUES (1, 1), (1, 2), (2, 3);
		FLUSH;`)
	if rows := runQuery(t, s, "SELECT n FROM dst WHERE k = 1;"); len(rows) != 1 || rows[0][0] != "2" {
		t.Fatalf("dst: %v", rows)
	}
	jobs := runQuery(t, s, "SHOW JOBS;")
	id := jobs[0][0]
	stateKeys := func() int64 {
		n, err := s.store.NamespaceKeys(state.JobNamespace(id), math.MaxUint64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := stateKeys(); n == 0 {
		t.Fatalf("no state keys for running job %s after FLUSH", id)
	}
	runQuery(t, s, "STOP JOB '"+id+"';")
	if n := stateKeys(); n != 0 {
		t.Fatalf("%d state keys left for stopped job %s", n, id)
	}
}
