package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/planner/session"
	"github.com/sluicesql/sluice/sqltests"
)

const sltSynopsis = "sluice slt [--state-dir D] [--parallelism N] [-v] [--fail-fast] [--timeout T] PATH..."

// cmdSLT runs sqllogictest files (or folders of them) and prints failures
// and the line "N passed, M failed". It exits non-zero when a test failed.
func cmdSLT(args []string, std stdio) int {
	var ef engineFlags
	fs := newFlagSet("slt", sltSynopsis, std.err, &ef, "",
		"`directory` under which each test file gets a fresh state dir, removed after it (default: the system's temporary folder)")
	verbose := fs.Bool("v", false, "print every record's outcome, not only failures")
	failFast := fs.Bool("fail-fast", false, "stop at the first failure")
	timeout := fs.Duration("timeout", 0, "limit for each record (0: none)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(std.err, "sluice slt: no test files or folders given")
		fs.Usage()
		return exitUsage
	}
	cfg, err := ef.config()
	if err != nil {
		fmt.Fprintf(std.err, "sluice slt: %v\n", err)
		return exitUsage
	}
	// Every file runs on an engine of its own, in a fresh folder under
	// --state-dir, removed when the file is done.
	base := ef.stateDir
	if base == "" {
		base = os.TempDir()
	} else if err := os.MkdirAll(base, 0o755); err != nil {
		fmt.Fprintf(std.err, "sluice slt: %v\n", err)
		return exitError
	}
	newEngine := func() (sqltests.Engine, error) { return newSessionEngine(cfg, base) }

	sigs := newSignalCatcher(nil)
	defer sigs.stop()
	ctx, release := sigs.context(context.Background())
	defer release()

	opts := sqltests.Options{Verbose: *verbose, FailFast: *failFast, Timeout: *timeout}
	sum, err := sqltests.Run(ctx, fs.Args(), opts, newEngine, std.out)
	if sig := sigs.received(); sig != nil {
		return exitCodeFor(sig)
	}
	if err != nil {
		fmt.Fprintf(std.err, "sluice slt: %v\n", err)
		return exitError
	}
	if sum.Failed > 0 {
		return exitError
	}
	return exitOK
}

// sessionEngine is a sqltests.Engine over a Session with a state dir of its
// own, removed by Close.
type sessionEngine struct {
	cfg session.Config
	s   *session.Session
}

func newSessionEngine(cfg session.Config, base string) (*sessionEngine, error) {
	dir, err := os.MkdirTemp(base, "slt-")
	if err != nil {
		return nil, fmt.Errorf("state dir for a test file: %w", err)
	}
	cfg.StateDir = dir
	s, err := session.Open(cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &sessionEngine{cfg: cfg, s: s}, nil
}

// errUnbounded rejects a test query whose result would never end.
var errUnbounded = errors.New("query result is unbounded: a test query must read bounded sources")

// Exec implements sqltests.Engine. A script of several statements returns
// the rows of the last query.
func (e *sessionEngine) Exec(ctx context.Context, sql string) (cols []types.Column, rows [][]types.Datum, err error) {
	err = e.s.Execute(ctx, sql, func(r *session.Result) error {
		if r.Kind != session.ResultRows {
			return nil
		}
		if !r.Bounded {
			return errUnbounded
		}
		cols, rows = r.Columns, nil
		for {
			row, ok, err := r.Rows.Next(ctx)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			rows = append(rows, row.Values)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return cols, rows, nil
}

// Checkpoint implements sqltests.Engine: a checkpoint of every running job.
func (e *sessionEngine) Checkpoint(ctx context.Context) error { return e.s.Checkpoint(ctx) }

// Restart implements sqltests.Engine: it closes the session and opens the
// same state dir again, resuming its durable jobs.
func (e *sessionEngine) Restart(ctx context.Context) error {
	// The client keeps its SET values across the restart.
	cfg := e.cfg
	cfg.Settings = e.s.Settings()
	if err := e.s.Close(); err != nil {
		return fmt.Errorf("close for restart: %w", err)
	}
	s, err := session.Open(cfg)
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	e.s = s
	if _, err := s.ResumeJobs(ctx); err != nil {
		return fmt.Errorf("resume jobs: %w", err)
	}
	return nil
}

// Close implements sqltests.Engine.
func (e *sessionEngine) Close() error {
	err := e.s.Close()
	if rerr := os.RemoveAll(e.cfg.StateDir); err == nil && rerr != nil {
		err = fmt.Errorf("remove state dir: %w", rerr)
	}
	return err
}
