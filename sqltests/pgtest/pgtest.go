// Package pgtest gives tests a PostgreSQL database to compare Sluice with.
//
// Connect finds a server in this order:
//
//   - the URL in $PGTEST_DSN, when set;
//   - postgres://postgres@127.0.0.1:5432/test (trust authentication), when
//     it answers;
//   - a private cluster made with the installed binaries
//     (/usr/lib/postgresql/*/bin: initdb, pg_ctl) in a temporary folder, on a
//     free port, stopped and removed when the test ends. initdb refuses to
//     run as root, so as root the cluster runs as the user postgres
//     (runuser -u postgres --).
//
// When none works the test is skipped with the reasons. Set
// PGTEST_PRIVATE=1 to skip the first two and always start a private
// cluster.
//
// Every connection gets a schema of its own (diff_<random>, first on its
// search_path, dropped with its contents at the end), so tests running at
// the same time against one server never see each other's tables.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultDSN is the shared local server tried before a private cluster.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Conn is a connection whose search_path starts with its own schema.
type Conn struct {
	*pgx.Conn
	// Schema is the connection's private schema.
	Schema string
	// DSN is the server's connection URL (without the schema).
	DSN string
}

// Connect returns a connection to a PostgreSQL server (see the package
// comment) with a fresh schema first on its search_path. The schema is
// dropped and the connection closed when t ends; t is skipped when no
// server can be found or started.
func Connect(t testing.TB) *Conn {
	t.Helper()
	dsn := Server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", dsn, err)
	}
	schema := "diff_" + randomHex(6)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		conn.Close(context.Background())
		t.Fatalf("pgtest: %v", err)
	}
	if _, err := conn.Exec(ctx, "SET search_path TO "+schema); err != nil {
		conn.Close(context.Background())
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Logf("pgtest: dropping schema %s: %v", schema, err)
		}
		conn.Close(ctx)
	})
	return &Conn{Conn: conn, Schema: schema, DSN: dsn}
}

// Server returns the connection URL of a reachable server, starting a
// private cluster (stopped when t ends) if needed; it skips t when there is
// none.
func Server(t testing.TB) string {
	t.Helper()
	var why []string
	if os.Getenv("PGTEST_PRIVATE") == "" {
		candidates := []string{DefaultDSN}
		if env := os.Getenv("PGTEST_DSN"); env != "" {
			candidates = []string{env}
		}
		for _, dsn := range candidates {
			if err := ping(dsn); err != nil {
				why = append(why, fmt.Sprintf("%s: %v", redact(dsn), err))
				continue
			}
			return dsn
		}
	}
	dsn, err := startPrivate(t)
	if err != nil {
		why = append(why, "private cluster: "+err.Error())
		t.Skipf("pgtest: no PostgreSQL server: %s", strings.Join(why, "; "))
	}
	return dsn
}

func ping(dsn string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

func redact(dsn string) string {
	if i := strings.Index(dsn, "@"); i >= 0 {
		if j := strings.Index(dsn, "://"); j >= 0 && j < i {
			if k := strings.Index(dsn[j+3:i], ":"); k >= 0 {
				return dsn[:j+3+k] + ":***" + dsn[i:]
			}
		}
	}
	return dsn
}

// binDir returns the newest /usr/lib/postgresql/<version>/bin holding
// initdb and pg_ctl (or the folder of initdb on $PATH).
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isFile(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", errors.New("initdb and pg_ctl not found (/usr/lib/postgresql/*/bin, $PATH)")
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// startPrivate makes and starts a cluster in a temporary folder; t's
// cleanup stops and removes it.
func startPrivate(t testing.TB) (string, error) {
	bin, err := binDir()
	if err != nil {
		return "", err
	}
	// As root, run the server as postgres: the folder must be theirs, and
	// reachable (os.MkdirTemp under /tmp, not t.TempDir's 0700 parents).
	var runAs []string
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", fmt.Errorf("running as root and there is no user postgres to run initdb as: %v", err)
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			return "", fmt.Errorf("running as root and runuser is missing: %v", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return "", err
	}
	removeDir := func() { os.RemoveAll(dir) }
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			removeDir()
			return "", err
		}
	}
	data := filepath.Join(dir, "data")
	run := func(timeout time.Duration, args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		argv := append(append([]string{}, runAs...), args...)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
		return cmd.CombinedOutput()
	}
	if out, err := run(2*time.Minute, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"); err != nil {
		removeDir()
		return "", fmt.Errorf("initdb: %v: %s", err, lastLines(out, 5))
	}
	port, err := freePort()
	if err != nil {
		removeDir()
		return "", err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, dir)
	logFile := filepath.Join(dir, "server.log")
	if out, err := run(time.Minute, filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", logFile, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(logFile)
		removeDir()
		return "", fmt.Errorf("pg_ctl start: %v: %s %s", err, lastLines(out, 5), lastLines(log, 10))
	}
	t.Cleanup(func() {
		if out, err := run(time.Minute, filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"); err != nil {
			t.Logf("pgtest: pg_ctl stop: %v: %s", err, lastLines(out, 5))
		}
		removeDir()
	})
	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	var perr error
	for i := 0; i < 50; i++ {
		if perr = ping(dsn); perr == nil {
			return dsn, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", fmt.Errorf("private cluster on port %d does not answer: %v", port, perr)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 16)
	}
	return hex.EncodeToString(b)
}
