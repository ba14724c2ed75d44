package postgres

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicesql/sluice/sqltests/pgtest"
)

// privateDB starts a private cluster (never the shared server: these
// tests kill its connections and restart it).
func privateDB(t *testing.T) *db {
	if testing.Short() {
		t.Skip("-short: starts a private PostgreSQL cluster")
	}
	t.Setenv("PGTEST_PRIVATE", "1")
	return connect(t)
}

// reconnect returns a new connection to d's server and schema (after the
// server restarted).
func reconnect(t *testing.T, d *db) *db {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, d.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, "SET search_path TO "+pgx.Identifier{d.Schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return &db{&pgtest.Conn{Conn: conn, Schema: d.Schema, DSN: d.DSN}, t}
}

// slowOnce makes the first INSERT statement into table sleep (a statement
// trigger) so that a test can act while the sink is inside its commit
// transaction. The sequence it counts with is not transactional, so the
// retry does not sleep.
func slowOnce(d *db, table string) {
	seq := pgx.Identifier{d.Schema, table + "_hits"}.Sanitize()
	d.exec("CREATE SEQUENCE " + seq)
	d.exec(`CREATE FUNCTION ` + table + `_slow() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF nextval('` + strings.ReplaceAll(seq, "'", "''") + `') = 1 THEN PERFORM pg_sleep(60); END IF; RETURN NULL; END $$`)
	d.exec(`CREATE TRIGGER slow AFTER INSERT ON ` + table + ` FOR EACH STATEMENT EXECUTE FUNCTION ` + table + `_slow()`)
}

// waitSleeping returns the pid of the backend of application app once it
// sleeps in the trigger.
func waitSleeping(t *testing.T, dsn, app string) int32 {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var pid int32
	eventually(t, "the sink's commit to sleep", func() bool {
		err := conn.QueryRow(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'PgSleep'", app).Scan(&pid)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		return err == nil
	})
	return pid
}

func TestTerminateBackendDuringCommit(t *testing.T) {
	d := privateDB(t)
	d.exec("CREATE TABLE t (k bigint PRIMARY KEY, v text)")
	slowOnce(d, "t")
	table := d.sinkTable("t", kvSchema, []int{0})
	table.Options["url"] = d.DSN + "&application_name=sink_under_test"
	j := startJob(t, table, jobOpts{})
	j.send("+I 1 a / +I 2 b / -U 1 a / +U 1 c")
	j.checkpoint(1)
	j.job.NotifyCheckpointComplete(1)
	pid := waitSleeping(t, d.DSN, "sink_under_test")
	var killed bool
	if err := d.QueryRow(context.Background(), "SELECT pg_terminate_backend($1)", pid).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend: %v, %v", killed, err)
	}
	eventually(t, "checkpoint 1 after the retry", func() bool { return d.progress(j.sinkID, 0) == 1 })
	if got := d.dump("SELECT k, v FROM t ORDER BY k"); got != "1 c\n2 b" {
		t.Fatalf("table:\n%s", got)
	}
	if err := j.job.Err(); err != nil {
		t.Fatalf("the job failed: %v", err)
	}
	j.crash()
}

func TestServerRestartDuringCommit(t *testing.T) {
	d := privateDB(t)
	var dataDir string
	if err := d.QueryRow(context.Background(), "SHOW data_directory").Scan(&dataDir); err != nil {
		t.Fatal(err)
	}
	pgCtl, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(pgCtl) == 0 {
		t.Skip("pg_ctl not found")
	}
	d.exec("CREATE TABLE t (k bigint, v text)") // append-only: a double apply would show
	slowOnce(d, "t")
	table := d.sinkTable("t", kvSchema, nil)
	table.Options["url"] = d.DSN + "&application_name=sink_under_test"
	j := startJob(t, table, jobOpts{})
	j.send("+I 1 a / +I 2 b")
	j.checkpoint(1)
	j.job.NotifyCheckpointComplete(1)
	waitSleeping(t, d.DSN, "sink_under_test")

	argv := []string{pgCtl[len(pgCtl)-1], "-D", dataDir, "-m", "fast", "-w", "-t", "60",
		"-l", filepath.Join(filepath.Dir(dataDir), "restart.log"), "restart"}
	if os.Geteuid() == 0 {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl restart: %v\n%s", err, out)
	}
	d = reconnect(t, d)
	eventually(t, "checkpoint 1 after the restart", func() bool { return d.progress(j.sinkID, 0) == 1 })
	j.send("+I 3 c")
	j.checkpoint(2)
	j.job.NotifyCheckpointComplete(2)
	eventually(t, "checkpoint 2", func() bool { return d.progress(j.sinkID, 0) == 2 })
	if got := d.dump("SELECT k, v FROM t ORDER BY k"); got != "1 a\n2 b\n3 c" {
		t.Fatalf("table:\n%s", got)
	}
	j.crash()
}

func TestUnreachableServerFailsAfterRetries(t *testing.T) {
	d := connect(t)
	table := d.sinkTable("t", kvSchema, nil, "sink.max-retries", "2",
		"url", "postgres://app:s3cret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	j := startJob(t, table, jobOpts{})
	err := j.job.Wait()
	var pe *Error
	if !errors.As(err, &pe) || !pe.Retriable {
		t.Fatalf("err = %v, want a retriable *Error", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "after 2 retries") || !strings.Contains(msg, "postgres://app:xxxxx@127.0.0.1:1/db") ||
		strings.Contains(msg, "s3cret") {
		t.Fatalf("message %q", msg)
	}
}
