package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicesql/sluice/planner/session"
	"github.com/sluicesql/sluice/sqltests/pgtest"
)

// These tests drive the sink through SQL (planner/session), the way users
// do, and compare the Postgres table Sluice wrote with the same query run
// by Postgres itself over the same input.

// sqlEnv is a session plus a Postgres schema to write into.
type sqlEnv struct {
	t  *testing.T
	pg *pgtest.Conn
	s  *session.Session
}

// newSQLEnv opens a session (parallelism 2, checkpoints every 100 ms, no
// restarts) over a fresh state directory.
func newSQLEnv(t *testing.T, settings ...string) *sqlEnv {
	t.Helper()
	pg := pgtest.Connect(t)
	set := map[string]string{
		"execution.checkpointing.interval": "100 ms",
		"restart-strategy.type":            "none",
	}
	for i := 0; i+1 < len(settings); i += 2 {
		set[settings[i]] = settings[i+1]
	}
	s, err := session.Open(session.Config{StateDir: t.TempDir(), Parallelism: 2, Settings: set})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the session: %v", err)
		}
	})
	return &sqlEnv{t: t, pg: pg, s: s}
}

// with returns the WITH clause of a Postgres sink table named name in the
// test's schema.
func (e *sqlEnv) with(name string, extra ...string) string {
	opts := []string{"'connector' = 'postgres'", fmt.Sprintf("'url' = '%s'", e.pg.DSN),
		fmt.Sprintf("'table-name' = '%s.%s'", e.pg.Schema, name), "'sink.max-retries' = '2'"}
	for i := 0; i+1 < len(extra); i += 2 {
		opts = append(opts, fmt.Sprintf("'%s' = '%s'", extra[i], extra[i+1]))
	}
	return " WITH (" + strings.Join(opts, ", ") + ")"
}

// sluice runs a script, failing the test on an error.
func (e *sqlEnv) sluice(script string) {
	e.t.Helper()
	if err := e.try(script); err != nil {
		e.t.Fatalf("%s\n=> %v", script, err)
	}
}

// try runs a script and returns its error.
func (e *sqlEnv) try(script string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return e.s.Execute(ctx, script, func(r *session.Result) error {
		if r.Rows != nil {
			return r.Rows.Close()
		}
		return nil
	})
}

// query returns the rows of a bounded Sluice query, one line each.
func (e *sqlEnv) query(sql string) []string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var lines []string
	err := e.s.Execute(ctx, sql, func(r *session.Result) error {
		if r.Rows == nil {
			return nil
		}
		defer r.Rows.Close()
		for {
			row, ok, err := r.Rows.Next(ctx)
			if err != nil || !ok {
				return err
			}
			parts := make([]string, len(row.Values))
			for i, v := range row.Values {
				parts[i] = v.String()
			}
			lines = append(lines, strings.Join(parts, "|"))
		}
	})
	if err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return lines
}

// wait waits for the session's jobs to end.
func (e *sqlEnv) wait() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return e.s.WaitJobs(ctx)
}

// pgExec runs statements in the test's schema.
func (e *sqlEnv) pgExec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.pg.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("postgres: %s: %v", sql, err)
	}
}

// pgRows returns a Postgres query's rows as text, one line each, columns
// separated by '|' (NULL for NULL).
func pgRows(t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatalf("postgres: %s: %v", sql, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		raw := rows.RawValues()
		parts := make([]string, len(raw))
		for i, v := range raw {
			if v == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = string(v)
			}
		}
		lines = append(lines, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("postgres: %s: %v", sql, err)
	}
	return strings.Join(lines, "\n")
}

// same compares the table Sluice wrote (got) with Postgres's own answer
// (want), both as ordered queries.
func (e *sqlEnv) same(got, want string) {
	e.t.Helper()
	g, w := pgRows(e.t, e.pg.Conn, got), pgRows(e.t, e.pg.Conn, want)
	if w == "" {
		e.t.Fatalf("the expected result is empty: the test checks nothing\n%s", want)
	}
	if g != w {
		e.t.Fatalf("Sluice's table differs from Postgres's answer\n%s:\n%s\n%s:\n%s", got, g, want, w)
	}
}

// TestSQLAggregateFromFiles aggregates a CSV file into a keyed Postgres
// table; HAVING makes groups appear and disappear, so the changelog has
// updates and deletes.
func TestSQLAggregateFromFiles(t *testing.T) {
	e := newSQLEnv(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	var csv strings.Builder
	e.pgExec("CREATE TABLE orders_in (id bigint, customer int, amount numeric(10,2), note text)")
	var rows [][]any
	for id := 1; id <= 3000; id++ {
		customer := rng.IntN(60)
		cents := rng.IntN(100000)
		note := []string{"plain", "ünïcödé ✓", "with, comma", "", "x"}[rng.IntN(5)]
		fmt.Fprintf(&csv, "%d,%d,%d.%02d,\"%s\"\n", id, customer, cents/100, cents%100, note)
		rows = append(rows, []any{int64(id), int32(customer), fmt.Sprintf("%d.%02d", cents/100, cents%100), note})
	}
	if err := os.WriteFile(filepath.Join(dir, "orders.csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	loadRows(t, e.pg, "orders_in", []string{"id", "customer", "amount", "note"}, rows)

	e.sluice(fmt.Sprintf(`
CREATE TABLE orders (id BIGINT, customer INT, amount DECIMAL(10, 2), note STRING)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE TABLE totals (customer INT, n BIGINT, spent DECIMAL(18, 2), biggest DECIMAL(10, 2), notes BIGINT,
  PRIMARY KEY (customer) NOT ENFORCED)`+e.with("totals", "sink.create-table", "true")+`;
INSERT INTO totals
  SELECT customer, COUNT(*), SUM(amount), MAX(amount), COUNT(DISTINCT note)
  FROM orders GROUP BY customer HAVING COUNT(*) %% 4 <> 0;`, dir))
	if err := e.wait(); err != nil {
		t.Fatal(err)
	}
	e.same("SELECT * FROM totals ORDER BY customer",
		`SELECT customer, count(*), sum(amount), max(amount), count(DISTINCT note)
		 FROM orders_in GROUP BY customer HAVING count(*) % 4 <> 0 ORDER BY customer`)
}

// TestSQLJoinAndAggregateWithUpdates joins built-in tables that then take
// updates and deletes; the same statements run in Postgres give the
// expected tables.
func TestSQLJoinAndAggregateWithUpdates(t *testing.T) {
	e := newSQLEnv(t)
	// Input tables, identical in Sluice (built-in) and in Postgres.
	e.sluice(`
CREATE TABLE customers (id BIGINT, name STRING, region STRING, PRIMARY KEY (id) NOT ENFORCED);
CREATE TABLE orders (id BIGINT, customer BIGINT, amount INT, PRIMARY KEY (id) NOT ENFORCED);`)
	e.pgExec("CREATE TABLE customers (id bigint PRIMARY KEY, name text, region text)")
	e.pgExec("CREATE TABLE orders (id bigint PRIMARY KEY, customer bigint, amount int)")
	// Sink tables, made by the user in Postgres.
	e.pgExec(`CREATE TABLE enriched (order_id bigint PRIMARY KEY, name text, region text, amount int)`)
	e.pgExec(`CREATE TABLE by_region (region text PRIMARY KEY, orders bigint NOT NULL, total bigint, customers bigint)`)
	e.sluice(`
CREATE TABLE enriched (order_id BIGINT, name STRING, region STRING, amount INT,
  PRIMARY KEY (order_id) NOT ENFORCED)` + e.with("enriched") + `;
CREATE TABLE by_region (region STRING, orders BIGINT, total BIGINT, customers BIGINT,
  PRIMARY KEY (region) NOT ENFORCED)` + e.with("by_region") + `;
EXECUTE STATEMENT SET BEGIN
INSERT INTO enriched SELECT o.id, c.name, c.region, o.amount FROM orders o JOIN customers c ON o.customer = c.id;
INSERT INTO by_region SELECT c.region, COUNT(*), SUM(o.amount), COUNT(DISTINCT c.id)
  FROM orders o JOIN customers c ON o.customer = c.id GROUP BY c.region;
END;`)

	rng := rand.New(rand.NewPCG(3, 4))
	regions := []string{"north", "south", "east", "west", "ünïcode ✓"}
	var customers, orders []string
	for id := 1; id <= 40; id++ {
		customers = append(customers, fmt.Sprintf("(%d, 'c%d', '%s')", id, id, regions[rng.IntN(len(regions))]))
	}
	for id := 1; id <= 400; id++ {
		orders = append(orders, fmt.Sprintf("(%d, %d, %d)", id, 1+rng.IntN(45), rng.IntN(1000)))
	}
	// INSERT runs as a job, DELETE and UPDATE at once: a FLUSH after each
	// INSERT keeps Sluice's order of changes that of Postgres.
	script := []string{"INSERT INTO customers VALUES " + strings.Join(customers, ", "), "FLUSH",
		"INSERT INTO orders VALUES " + strings.Join(orders, ", "), "FLUSH"}
	// Rounds of changes: moves between regions, new and deleted customers,
	// updated and deleted orders; a FLUSH between rounds commits them.
	for round := 0; round < 4; round++ {
		for range 8 {
			switch rng.IntN(5) {
			case 0:
				script = append(script, fmt.Sprintf("UPDATE customers SET region = '%s' WHERE id = %d", regions[rng.IntN(len(regions))], 1+rng.IntN(45)))
			case 1:
				script = append(script, fmt.Sprintf("DELETE FROM customers WHERE id = %d", 1+rng.IntN(45)))
			case 2:
				id := 1 + rng.IntN(45)
				script = append(script, fmt.Sprintf("DELETE FROM customers WHERE id = %d", id),
					fmt.Sprintf("INSERT INTO customers VALUES (%d, 'n%d', '%s')", id, id, regions[rng.IntN(len(regions))]), "FLUSH")
			case 3:
				script = append(script, fmt.Sprintf("UPDATE orders SET amount = amount + %d WHERE customer = %d", rng.IntN(50), 1+rng.IntN(45)))
			case 4:
				script = append(script, fmt.Sprintf("DELETE FROM orders WHERE id %% 7 = %d AND customer < %d", rng.IntN(7), 1+rng.IntN(45)))
			}
		}
		script = append(script, "FLUSH")
	}
	// A region emptied entirely must disappear from by_region.
	script = append(script, "DELETE FROM orders WHERE customer IN (SELECT id FROM customers WHERE region = 'west')", "FLUSH")
	for _, st := range script {
		if st == "FLUSH" {
			e.sluice("FLUSH;")
			continue
		}
		e.sluice(st + ";")
		e.pgExec(st)
	}
	e.same("SELECT * FROM enriched ORDER BY order_id",
		"SELECT o.id, c.name, c.region, o.amount FROM orders o JOIN customers c ON o.customer = c.id ORDER BY o.id")
	e.same("SELECT * FROM by_region ORDER BY region",
		`SELECT c.region, count(*), sum(o.amount), count(DISTINCT c.id) FROM orders o JOIN customers c ON o.customer = c.id
		 GROUP BY c.region ORDER BY region`)
	if got := pgRows(t, e.pg.Conn, "SELECT count(*) FROM by_region WHERE region = 'west'"); got != "0" {
		t.Fatalf("the emptied region is still there: %s", got)
	}
}

// TestSQLDatagenAggregate aggregates generated rows (read back through a
// Sluice query and loaded into Postgres) with an append-only copy into a
// table without a key.
func TestSQLDatagenAggregate(t *testing.T) {
	e := newSQLEnv(t)
	e.sluice(`
CREATE TABLE gen (id BIGINT, k INT, v INT, s STRING) WITH ('connector' = 'datagen', 'number-of-rows' = '5000',
  'rows-per-second' = '0',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '5000',
  'fields.k.min' = '1', 'fields.k.max' = '50', 'fields.v.min' = '-1000', 'fields.v.max' = '1000',
  'fields.v.null-rate' = '0.1', 'fields.s.length' = '5');`)
	var rows [][]any
	for _, line := range e.query("SELECT id, k, v, s FROM gen") {
		f := strings.Split(line, "|")
		var v any
		if f[2] != "NULL" {
			v = f[2]
		}
		rows = append(rows, []any{f[0], f[1], v, f[3]})
	}
	if len(rows) != 5000 {
		t.Fatalf("read %d generated rows, want 5000", len(rows))
	}
	e.pgExec("CREATE TABLE gen_in (id bigint, k int, v int, s text)")
	loadRows(t, e.pg, "gen_in", []string{"id", "k", "v", "s"}, rows)
	e.pgExec("CREATE TABLE stats (k int PRIMARY KEY, n bigint, nv bigint, total bigint, lo int, hi int)")
	e.pgExec("CREATE TABLE positives (id bigint, k int, v int, s text)") // no key: append-only
	e.sluice(`
CREATE TABLE stats (k INT, n BIGINT, nv BIGINT, total BIGINT, lo INT, hi INT, PRIMARY KEY (k) NOT ENFORCED)` + e.with("stats") + `;
CREATE TABLE positives (id BIGINT, k INT, v INT, s STRING)` + e.with("positives") + `;
EXECUTE STATEMENT SET BEGIN
INSERT INTO stats SELECT k, COUNT(*), COUNT(v), SUM(v), MIN(v), MAX(v) FROM gen GROUP BY k;
INSERT INTO positives SELECT id, k, v, s FROM gen WHERE v > 0;
END;`)
	if err := e.wait(); err != nil {
		t.Fatal(err)
	}
	e.same("SELECT * FROM stats ORDER BY k",
		"SELECT k, count(*), count(v), sum(v), min(v), max(v) FROM gen_in GROUP BY k ORDER BY k")
	e.same("SELECT * FROM positives ORDER BY id", "SELECT * FROM gen_in WHERE v > 0 ORDER BY id")
}

// loadRows inserts rows (values as text, or nil for NULL) into a Postgres
// table: one JSON parameter that Postgres converts to the columns' types.
func loadRows(t *testing.T, pg *pgtest.Conn, table string, cols []string, rows [][]any) {
	t.Helper()
	recs := make([]map[string]any, len(rows))
	for i, r := range rows {
		rec := map[string]any{}
		for j, v := range r {
			if v != nil {
				v = fmt.Sprint(v)
			}
			rec[cols[j]] = v
		}
		recs[i] = rec
	}
	data, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	name := pgx.Identifier{table}.Sanitize()
	if _, err := pg.Exec(context.Background(), "INSERT INTO "+name+" SELECT * FROM json_populate_recordset(NULL::"+name+", $1::json)", string(data)); err != nil {
		t.Fatalf("loading %s: %v", table, err)
	}
}

// TestSQLShowCreateTableRedactsPassword checks that the url's password is
// not shown back.
func TestSQLShowCreateTableRedactsPassword(t *testing.T) {
	e := newSQLEnv(t)
	e.sluice(`CREATE TABLE t (k BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'postgres',
  'url' = 'postgres://app:s3cr%40t!@db.example:5432/shop?sslmode=require', 'table-name' = 't');
CREATE TABLE u (k BIGINT) WITH ('connector' = 'postgres',
  'url' = 'postgresql://db.example/shop?user=app&password=hunter2&sslmode=disable', 'table-name' = 'u');`)
	for table, secret := range map[string]string{"t": "s3cr", "u": "hunter2"} {
		got := strings.Join(e.query("SHOW CREATE TABLE "+table), "\n")
		if strings.Contains(got, secret) || !strings.Contains(got, "db.example") {
			t.Errorf("SHOW CREATE TABLE %s:\n%s", table, got)
		}
	}
	if got := strings.Join(e.query("SHOW CREATE TABLE t"), "\n"); !strings.Contains(got, "postgres://app:******@db.example:5432/shop?sslmode=require") {
		t.Errorf("SHOW CREATE TABLE t should keep the user and host:\n%s", got)
	}
}

// TestSQLTypeMismatchAtStart fails the job at start with the column named,
// and writes nothing.
func TestSQLTypeMismatchAtStart(t *testing.T) {
	e := newSQLEnv(t)
	e.pgExec("CREATE TABLE t (k bigint PRIMARY KEY, v integer)")
	e.sluice(`
CREATE TABLE src (k BIGINT, v STRING, PRIMARY KEY (k) NOT ENFORCED);
INSERT INTO src VALUES (1, 'a');
CREATE TABLE t (k BIGINT, v STRING, PRIMARY KEY (k) NOT ENFORCED)` + e.with("t") + `;
INSERT INTO t SELECT k, v FROM src;`)
	// WaitJobs reports only failures it sees happen; SHOW JOBS keeps them.
	if err := e.wait(); err != nil {
		t.Logf("WaitJobs: %v", err)
	}
	jobs := strings.Join(e.query("SHOW JOBS"), "\n")
	for _, want := range []string{"FAILED", "column v", "type STRING", `"v" of type integer`} {
		if !strings.Contains(jobs, want) {
			t.Errorf("SHOW JOBS does not say %q:\n%s", want, jobs)
		}
	}
	if got := pgRows(t, e.pg.Conn, "SELECT count(*) FROM t"); got != "0" {
		t.Fatalf("rows written: %s", got)
	}
}

// TestSQLConstraintViolationAtRunTime fails the job on a CHECK violation
// with the row's key and Postgres's message; the failing checkpoint is not
// applied at all, the earlier ones are. (Parallelism 1: checkpoints are
// atomic per sink subtask.)
func TestSQLConstraintViolationAtRunTime(t *testing.T) {
	e := newSQLEnv(t, "parallelism.default", "1")
	e.pgExec("CREATE TABLE t (k bigint PRIMARY KEY, v text CHECK (v <> 'bad'))")
	e.sluice(`
CREATE TABLE src (k BIGINT, v STRING, PRIMARY KEY (k) NOT ENFORCED);
CREATE TABLE t (k BIGINT, v STRING, PRIMARY KEY (k) NOT ENFORCED)` + e.with("t") + `;
INSERT INTO t SELECT k, v FROM src;
INSERT INTO src VALUES (1, 'a'), (2, 'b');
FLUSH;`)
	if got := pgRows(t, e.pg.Conn, "SELECT k, v FROM t ORDER BY k"); got != "1|a\n2|b" {
		t.Fatalf("after the first FLUSH: %q", got)
	}
	// One statement: the good and the bad rows land in one checkpoint.
	e.sluice("INSERT INTO src VALUES (3, 'c'), (42, 'bad'), (4, 'd');")
	_ = e.try("FLUSH;") // the job fails meanwhile; FLUSH does not report job failures
	if err := e.wait(); err != nil {
		t.Logf("WaitJobs: %v", err)
	}
	msg := strings.Join(e.query("SHOW JOBS"), "\n")
	for _, want := range []string{"FAILED", "postgres sink of table t", "checkpoint", "t_v_check", "(42, bad)", "23514"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if got := pgRows(t, e.pg.Conn, "SELECT k, v FROM t ORDER BY k"); got != "1|a\n2|b" {
		t.Fatalf("half a checkpoint applied: %q", got)
	}
}

// TestSQLExactlyOnceSinkRunsAsOneSubtask: in exactly-once mode the sink is
// one subtask (so each checkpoint is one Postgres transaction and readers
// never see part of it) whatever the job's parallelism; 'sink.parallelism'
// overrides it.
func TestSQLExactlyOnceSinkRunsAsOneSubtask(t *testing.T) {
	e := newSQLEnv(t)
	e.sluice(`SET 'parallelism.default' = '4';
CREATE TABLE g (k BIGINT, v BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '10');
CREATE TABLE eo (k BIGINT, n BIGINT, PRIMARY KEY (k) NOT ENFORCED)` + e.with("eo") + `;
CREATE TABLE wide (k BIGINT, n BIGINT, PRIMARY KEY (k) NOT ENFORCED)` + e.with("wide", "sink.parallelism", "3") + `;`)
	plan := strings.Join(e.query("EXPLAIN INSERT INTO eo SELECT k, COUNT(*) FROM g GROUP BY k"), "\n")
	if !regexp.MustCompile(`parallelism=1\]: [^\n]*Sink: eo`).MatchString(plan) {
		t.Errorf("exactly-once sink not at parallelism 1:\n%s", plan)
	}
	plan = strings.Join(e.query("EXPLAIN INSERT INTO wide SELECT k, COUNT(*) FROM g GROUP BY k"), "\n")
	if !regexp.MustCompile(`parallelism=3\]: [^\n]*Sink: wide`).MatchString(plan) {
		t.Errorf("'sink.parallelism' = '3' not honoured:\n%s", plan)
	}
}
