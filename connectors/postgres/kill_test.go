package postgres_test

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicesql/sluice/planner/session"
	"github.com/sluicesql/sluice/sqltests/fault"
	"github.com/sluicesql/sluice/sqltests/pgtest"
)

var (
	flagKills = flag.Int("pg.kills", 5, "how many times TestKill9IntoPostgres kills sluice (issue 6 asks for >= 20 in the long form)")
	flagSeed  = flag.Uint64("pg.seed", 0, "seed of TestKill9IntoPostgres's kill delays (0: from the clock; logged)")
)

// The job under test runs in a child sluice process at parallelism 1 (so a
// checkpoint is atomic over the whole table) and reads a datagen source of
// sequence ids 1..rows in order. The processed input at any checkpoint is
// therefore a prefix 1..P, and a committed checkpoint leaves tables a
// reader can check on their own:
//
//   - agg (keyed upserts): n and mx of every key k are those of the ids
//     1..P with id % 37 = k, where P = max(mx);
//   - app (append-only, no key): exactly the multiples of 7 up to max(id),
//     each once.
//
// Half a checkpoint breaks these: some keys' counts would lag the others.
const killSetupSQL = `
CREATE TABLE gen (id BIGINT, x INT) WITH (
  'connector' = 'datagen', 'rows-per-second' = '%d',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '%d',
  'fields.x.min' = '-1000', 'fields.x.max' = '1000');
`

const killJobSQL = `
CREATE TABLE agg (k BIGINT, n BIGINT, mx BIGINT, total BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH (%s);
CREATE TABLE app (id BIGINT, x INT) WITH (%s);
EXECUTE STATEMENT SET BEGIN
  INSERT INTO agg SELECT id %% 37, COUNT(*), MAX(id), SUM(CAST(x AS BIGINT)) FROM gen GROUP BY id %% 37;
  INSERT INTO app SELECT id, x FROM gen WHERE id %% 7 = 0;
END;
`

// killEnv is one state directory and Postgres schema for the job above.
type killEnv struct {
	t      *testing.T
	pg     *pgtest.Conn
	sluice *fault.Sluice
	script string
	setup  string
}

func newKillEnv(t *testing.T, rows, rate int) *killEnv {
	if testing.Short() {
		t.Skip("-short: runs sluice as a child process")
	}
	pg := pgtest.Connect(t)
	bin := fault.Binary(t)
	dir := t.TempDir()
	s := fault.New(t, bin, dir+"/state")
	s.Args = []string{"--parallelism", "1"}
	s.WriteConfig(dir, map[string]string{
		"execution.checkpointing.interval": "150 ms",
		"restart-strategy.type":            "none",
	})
	with := func(name string) string {
		return fmt.Sprintf("'connector' = 'postgres', 'url' = '%s', 'table-name' = '%s.%s', 'sink.create-table' = 'true'",
			pg.DSN, pg.Schema, name)
	}
	setup := fmt.Sprintf(killSetupSQL, rate, rows)
	script := fault.WriteScript(t, dir, "job.sql", setup+fmt.Sprintf(killJobSQL, with("agg"), with("app")))
	return &killEnv{t: t, pg: pg, sluice: s, script: script, setup: setup}
}

// sampler reads both tables in one snapshot, again and again, until stop,
// and checks the invariants above on each sample.
type sampler struct {
	samples, nonEmpty int
	prefixes          map[int64]bool
	err               error
}

func (e *killEnv) startSampler() (stop func() *sampler) {
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.Connect(ctx, e.pg.DSN)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SET search_path TO "+pgx.Identifier{e.pg.Schema}.Sanitize()); err != nil {
		e.t.Fatal(err)
	}
	res := &sampler{prefixes: map[int64]bool{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer conn.Close(context.Background())
		for ctx.Err() == nil && res.err == nil {
			err := sampleOnce(ctx, conn, res)
			if err != nil && ctx.Err() == nil {
				res.err = err
			}
			select {
			case <-ctx.Done():
			case <-time.After(3 * time.Millisecond):
			}
		}
	}()
	return func() *sampler {
		cancel()
		wg.Wait()
		return res
	}
}

// sampleOnce takes one sample; tables that do not exist yet count as empty.
func sampleOnce(ctx context.Context, conn *pgx.Conn, res *sampler) error {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return ctxErr(ctx, err)
	}
	defer tx.Rollback(context.Background())
	var exists int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename IN ('agg', 'app')").Scan(&exists); err != nil || exists < 2 {
		return nil
	}
	res.samples++
	// agg: every key's count and max are those of the prefix 1..P.
	rows, err := tx.Query(ctx, "SELECT k, n, mx FROM agg")
	if err != nil {
		return ctxErr(ctx, err)
	}
	type kv struct{ k, n, mx int64 }
	var aggRows []kv
	var p int64
	for rows.Next() {
		var r kv
		if err := rows.Scan(&r.k, &r.n, &r.mx); err != nil {
			return err
		}
		aggRows = append(aggRows, r)
		p = max(p, r.mx)
	}
	if err := rows.Err(); err != nil {
		return ctxErr(ctx, err)
	}
	wantKeys := min(p, 37)
	if int64(len(aggRows)) != wantKeys {
		return fmt.Errorf("agg has %d keys while its max id is %d: a partial checkpoint", len(aggRows), p)
	}
	for _, r := range aggRows {
		// ids in 1..p with id % 37 = k
		first := r.k
		if first == 0 {
			first = 37
		}
		wantN := int64(0)
		wantMx := int64(0)
		if first <= p {
			wantN = (p-first)/37 + 1
			wantMx = first + (wantN-1)*37
		}
		if r.n != wantN || r.mx != wantMx {
			return fmt.Errorf("agg key %d: n=%d mx=%d, want n=%d mx=%d for the prefix 1..%d: a partial checkpoint", r.k, r.n, r.mx, wantN, wantMx, p)
		}
	}
	// app: the multiples of 7 up to its max, each once.
	var n, distinct, mx, bad int64
	if err := tx.QueryRow(ctx, "SELECT count(*), count(DISTINCT id), coalesce(max(id), 0), count(*) FILTER (WHERE id % 7 <> 0) FROM app").
		Scan(&n, &distinct, &mx, &bad); err != nil {
		return ctxErr(ctx, err)
	}
	if n != distinct || bad != 0 || n != mx/7 {
		return fmt.Errorf("app: %d rows, %d distinct ids, max id %d, %d not multiples of 7: want each multiple of 7 up to the max once", n, distinct, mx, bad)
	}
	if p > 0 {
		res.nonEmpty++
		res.prefixes[p] = true
	}
	return nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// checkFinal compares the tables with the same queries run by Postgres
// over the same input: the generated rows, read with an in-process session
// and loaded into Postgres.
func (e *killEnv) checkFinal(rows int) {
	t := e.t
	s, err := session.Open(session.Config{InMemory: true, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	env := &sqlEnv{t: t, pg: e.pg, s: s}
	env.sluice(e.setup)
	var input [][]any
	for _, line := range env.query("SELECT id, x FROM gen") {
		id, x, _ := strings.Cut(line, "|")
		input = append(input, []any{id, x})
	}
	if len(input) != rows {
		t.Fatalf("read %d generated rows, want %d", len(input), rows)
	}
	env.pgExec("CREATE TABLE gen_in (id bigint, x int)")
	loadRows(t, e.pg, "gen_in", []string{"id", "x"}, input)
	env.same("SELECT k, n, mx, total FROM agg ORDER BY k",
		"SELECT id % 37, count(*), max(id), sum(x) FROM gen_in GROUP BY id % 37 ORDER BY 1")
	env.same("SELECT id, x FROM app ORDER BY id", "SELECT id, x FROM gen_in WHERE id % 7 = 0 ORDER BY id")
	if got := pgRows(t, e.pg.Conn, "SELECT count(*) - count(DISTINCT id) FROM app"); got != "0" {
		t.Fatalf("app has %s duplicate rows", got)
	}
}

// killEnvRate is the source rate (rows/s) of TestKill9IntoPostgres.
const killEnvRate = 10000

// TestKill9IntoPostgres kills the sluice process with SIGKILL at random
// moments (-pg.kills times; 5 by default, run with -args -pg.kills 20 for
// the long form) while a reader samples the tables: no sample shows a
// partial checkpoint, and the final tables are exact.
func TestKill9IntoPostgres(t *testing.T) {
	kills := *flagKills
	rows := 8000 * (kills + 2)
	e := newKillEnv(t, rows, killEnvRate)
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	stop := e.startSampler()
	// Each delay is at most the throttled duration d over kills+1, so the
	// job outlives the planned kills (delays up to 1.5 s let their sum
	// exceed d, and the job then finished before its last kill).
	d := time.Duration(rows) * time.Second / killEnvRate
	rep := e.sluice.RunWithKills(e.script, fault.KillPlan{Seed: seed, Kills: kills,
		MinDelay: 200 * time.Millisecond, MaxDelay: max(400*time.Millisecond, d/time.Duration(kills+1))})
	res := stop()
	if res.err != nil {
		t.Fatalf("seed %d: a reader saw: %v", seed, res.err)
	}
	t.Logf("seed %d: %d runs, kills after %v; %d samples, %d non-empty, %d distinct prefixes",
		seed, rep.Runs, rep.Delays, res.samples, res.nonEmpty, len(res.prefixes))
	if len(rep.Delays) != kills {
		t.Fatalf("%d kills, want %d", len(rep.Delays), kills)
	}
	if len(res.prefixes) < 2 {
		t.Fatalf("the reader saw %d distinct checkpoints: it checked nothing of the run", len(res.prefixes))
	}
	e.checkFinal(rows)
}

// TestCrashAtStepsIntoPostgres crashes sluice at the checkpoint steps that
// matter to the sink (checkpoint durable but not yet committed; inside the
// sink's transaction), then resumes it to the end.
func TestCrashAtStepsIntoPostgres(t *testing.T) {
	for _, step := range []string{"after-complete", "during-commit"} {
		t.Run(step, func(t *testing.T) {
			rows := 20000
			e := newKillEnv(t, rows, 20000)
			stop := e.startSampler()
			e.sluice.CrashAt(e.script, step, 3)
			res := stop()
			if res.err != nil {
				t.Fatalf("a reader saw: %v", res.err)
			}
			e.checkFinal(rows)
			var progress string
			if err := e.pg.QueryRow(context.Background(), "SELECT string_agg(checkpoint::text, ',') FROM sluice_sink_progress").Scan(&progress); err != nil {
				t.Fatal(err)
			}
			for _, c := range strings.Split(progress, ",") {
				if n, err := strconv.Atoi(c); err != nil || n < 3 {
					t.Fatalf("progress rows %q: want every sink past checkpoint 3", progress)
				}
			}
		})
	}
}

// TestSamplerSeesPartialCheckpoints checks the reader of the kill tests on
// hand-made tables: a consistent prefix passes, a lagging key or a
// duplicated row does not.
func TestSamplerSeesPartialCheckpoints(t *testing.T) {
	pg := pgtest.Connect(t)
	ctx := context.Background()
	exec := func(sql string) {
		t.Helper()
		if _, err := pg.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE TABLE agg (k bigint PRIMARY KEY, n bigint, mx bigint, total bigint)")
	exec("CREATE TABLE app (id bigint, x int)")
	// The state after the prefix 1..100.
	exec("INSERT INTO agg SELECT id % 37, count(*), max(id), 0 FROM generate_series(1, 100) id GROUP BY 1")
	exec("INSERT INTO app SELECT id, 0 FROM generate_series(7, 100, 7) id")
	res := &sampler{prefixes: map[int64]bool{}}
	if err := sampleOnce(ctx, pg.Conn, res); err != nil || res.nonEmpty != 1 || !res.prefixes[100] {
		t.Fatalf("a consistent prefix: %v, %+v", err, res)
	}
	for _, c := range []struct{ name, spoil, undo string }{
		{"lagging key", "UPDATE agg SET n = n - 1, mx = mx - 37 WHERE k = 5", "UPDATE agg SET n = n + 1, mx = mx + 37 WHERE k = 5"},
		{"missing key", "DELETE FROM agg WHERE k = 0", "INSERT INTO agg VALUES (0, 2, 74, 0)"},
		{"duplicate row", "INSERT INTO app VALUES (14, 0)", "DELETE FROM app WHERE ctid = (SELECT max(ctid) FROM app WHERE id = 14)"},
		{"missing row", "DELETE FROM app WHERE id = 49", "INSERT INTO app VALUES (49, 0)"},
	} {
		exec(c.spoil)
		if err := sampleOnce(ctx, pg.Conn, res); err == nil {
			t.Errorf("%s: the reader saw nothing wrong", c.name)
		}
		exec(c.undo)
		if err := sampleOnce(ctx, pg.Conn, res); err != nil {
			t.Fatalf("after undoing %s: %v", c.name, err)
		}
	}
}
