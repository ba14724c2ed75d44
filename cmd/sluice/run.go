package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sluicesql/sluice/planner/session"
)

const runSynopsis = "sluice run [--state-dir D] [--parallelism N] [-f FILE | -e 'SQL;...'] [--format table|tsv|csv|json]"

// cmdRun runs a script (-f or -e) and waits for the jobs it started, or,
// with neither, resumes the durable jobs of the state dir and waits for them.
func cmdRun(args []string, std stdio) int {
	var ef engineFlags
	fs := newFlagSet("run", runSynopsis, std.err, &ef, defaultStateDir, stateDirUsage)
	file := fs.String("f", "", "read the script from `FILE` (- reads standard input)")
	script := fs.String("e", "", "run the statements `SQL` (separated by ;)")
	formatName := fs.String("format", "table", "query result format: table, tsv, csv or json")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	usageErr := func(msg string) int {
		fmt.Fprintf(std.err, "sluice run: %s\n", msg)
		fs.Usage()
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usageErr(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	hasFile, hasScript := isSet(fs, "f"), isSet(fs, "e")
	if hasFile && hasScript {
		return usageErr("-f and -e cannot be used together")
	}
	f, err := parseFormat(*formatName)
	if err != nil {
		return usageErr(err.Error())
	}
	if _, err := ef.config(); err != nil {
		return usageErr(err.Error())
	}
	if hasFile {
		if *script, err = readScript(*file, std.in); err != nil {
			fmt.Fprintf(std.err, "sluice run: %v\n", err)
			return exitError
		}
	}

	sigs := newSignalCatcher(nil)
	defer sigs.stop()
	ctx, release := sigs.context(context.Background())
	defer release()

	s, err := ef.openSession()
	if err != nil {
		fmt.Fprintf(std.err, "sluice run: %v\n", err)
		return exitError
	}
	if hasFile || hasScript {
		err = resumeThenRun(ctx, s, *script, f, std, ef.stateDir)
	} else {
		err = resumeJobs(ctx, s, ef.stateDir, std.err)
	}
	// Close stops jobs still running (after a signal) and the engine; durable
	// jobs stay in the catalog and resume with the next "sluice run".
	closeErr := s.Close()
	if sig := sigs.received(); sig != nil {
		fmt.Fprintf(std.err, "sluice run: %v: stopped (durable jobs resume with \"sluice run\")\n", sig)
		return exitCodeFor(sig)
	}
	if err != nil {
		// SQL errors already read "ERROR at line L, column C: ..." with
		// the line and a caret: print them as they are.
		fmt.Fprintln(std.err, err)
		return exitError
	}
	if closeErr != nil {
		fmt.Fprintf(std.err, "sluice run: close: %v\n", closeErr)
		return exitError
	}
	return exitOK
}

// isSet reports whether flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// readScript reads the script file name, or in when name is "-".
func readScript(name string, in io.Reader) (string, error) {
	var (
		b   []byte
		err error
	)
	if name == "-" {
		b, err = io.ReadAll(in)
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return "", fmt.Errorf("read script: %w", err)
	}
	return string(b), nil
}

// runScript executes script: messages (such as "Job ... started") go to
// std.err, query results to std.out in format f. Then it waits for the jobs
// the script started.
func runScript(ctx context.Context, s *session.Session, script string, f format, std stdio) error {
	out := bufio.NewWriter(std.out)
	err := s.Execute(ctx, script, func(r *session.Result) error {
		if r.Kind == session.ResultRows {
			_, err := printRows(ctx, out, f, r)
			return err
		}
		fmt.Fprintln(std.err, r.Message)
		return nil
	})
	if err != nil {
		return err
	}
	return s.WaitJobs(ctx)
}

// resumeThenRun resumes the jobs of an earlier run, which continue
// alongside the script's, then runs the script.
func resumeThenRun(ctx context.Context, s *session.Session, script string, f format, std stdio, stateDir string) error {
	n, err := s.ResumeJobs(ctx)
	if err != nil {
		return fmt.Errorf("resume jobs: %w", err)
	}
	if n > 0 {
		fmt.Fprintf(std.err, "Resumed %d job(s) from %s.\n", n, stateDir)
	}
	return runScript(ctx, s, script, f, std)
}

// resumeJobs restarts the durable jobs of the state dir and waits for them.
func resumeJobs(ctx context.Context, s *session.Session, stateDir string, msgs io.Writer) error {
	n, err := s.ResumeJobs(ctx)
	if err != nil {
		return fmt.Errorf("resume jobs: %w", err)
	}
	if n == 0 {
		fmt.Fprintf(msgs, "No durable jobs to resume in %s (use -f FILE or -e SQL to run a script).\n", stateDir)
		return nil
	}
	fmt.Fprintf(msgs, "Resumed %d job(s) from %s; waiting for them (Ctrl-C stops).\n", n, stateDir)
	return s.WaitJobs(ctx)
}

// printRows writes the rows of r to w in format f, flushing w after every
// row of an unbounded result, and closes r.Rows. It returns how many rows it
// wrote; when ctx is cancelled it prints what came so far and returns
// ctx's error.
func printRows(ctx context.Context, w *bufio.Writer, f format, r *session.Result) (n int, err error) {
	defer func() {
		if cerr := r.Rows.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close query: %w", cerr)
		}
	}()
	rw, err := newResultWriter(w, f, r.Columns, r.Changelog, !r.Bounded)
	if err != nil {
		return 0, fmt.Errorf("write results: %w", err)
	}
	var readErr error
	for {
		row, ok, err := r.Rows.Next(ctx)
		if err != nil {
			readErr = err
			break
		}
		if !ok {
			break
		}
		if err := rw.WriteRow(row.Op, row.Values); err != nil {
			return n, fmt.Errorf("write results: %w", err)
		}
		n++
		if !r.Bounded {
			if err := w.Flush(); err != nil {
				return n, fmt.Errorf("write results: %w", err)
			}
		}
	}
	if err := rw.Close(); err != nil {
		return n, fmt.Errorf("write results: %w", err)
	}
	if err := w.Flush(); err != nil {
		return n, fmt.Errorf("write results: %w", err)
	}
	return n, readErr
}
