package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/peterh/liner"

	"github.com/sluicesql/sluice/planner/session"
)

const (
	shellSynopsis = "sluice shell [--state-dir D] [--parallelism N]"
	promptFirst   = "sluice> "
	promptMore    = "     -> "
	historyName   = ".sluice_history"
)

const shellHelp = `Statements end with ';' and may span several lines.

  CREATE TABLE t (a INT, b STRING, PRIMARY KEY (a) NOT ENFORCED) [WITH ('connector' = '...', ...)];
  CREATE VIEW v AS SELECT ...;        CREATE MATERIALIZED VIEW mv AS SELECT ...;
  INSERT INTO t VALUES (1, 'x');      INSERT INTO sink SELECT ...;   -- starts a durable job
  EXECUTE STATEMENT SET BEGIN INSERT INTO a ...; INSERT INTO b ...; END;
  SELECT ...;                         -- live results for unbounded sources; Ctrl-C stops the query
  FLUSH;                              -- wait until running jobs absorbed all built-in table changes
  SET 'key' = 'value';  RESET 'key';  RESET;
  SHOW TABLES | VIEWS | JOBS;  SHOW CHECKPOINTS FOR JOB 'id';  DESCRIBE t;
  EXPLAIN [CHANGELOG_MODE] SELECT ...;
  STOP JOB 'id' [WITH SAVEPOINT];     DROP TABLE | VIEW | MATERIALIZED VIEW [IF EXISTS] x;

Shortcuts (alone on a line):
  help, \h     this help
  \c           clear the statement being typed (Ctrl-C at the prompt too)
  quit, exit, \q, Ctrl-D
               leave the shell (running jobs stop; "sluice run" resumes durable jobs)

Results of a changelog query show each row's change in an "op" column:
+I insert, -U update before, +U update after, -D delete.
`

// cmdShell runs the interactive shell, or reads statements from standard
// input without prompts when it is not a terminal.
func cmdShell(args []string, std stdio) int {
	var ef engineFlags
	fs := newFlagSet("shell", shellSynopsis, std.err, &ef, defaultStateDir, stateDirUsage)
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(std.err, "sluice shell: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return exitUsage
	}
	if _, err := ef.config(); err != nil {
		fmt.Fprintf(std.err, "sluice shell: %v\n", err)
		return exitUsage
	}
	s, err := ef.openSession()
	if err != nil {
		fmt.Fprintf(std.err, "sluice shell: %v\n", err)
		return exitError
	}
	if n, err := s.ResumeJobs(context.Background()); err != nil {
		fmt.Fprintf(std.err, "sluice shell: resume jobs: %v\n", err)
	} else if n > 0 {
		fmt.Fprintf(std.err, "Resumed %d job(s) from %s.\n", n, ef.stateDir)
	}
	sh := &shell{s: s, out: bufio.NewWriter(std.out), errw: std.err}
	var code int
	if isTerminal(std.in) {
		code = sh.interactive(historyPath(ef.stateDir))
	} else {
		code = sh.batch(std.in)
	}
	if err := s.Close(); err != nil && code == exitOK {
		fmt.Fprintf(std.err, "sluice shell: close: %v\n", err)
		code = exitError
	}
	return code
}

// shell reads statements line by line and prints their results.
type shell struct {
	s    *session.Session
	out  *bufio.Writer
	errw io.Writer
	sigs *signalCatcher

	buf    string // the statement being typed
	failed bool   // a statement failed
}

// interactive runs the line-editing REPL on the terminal.
func (sh *shell) interactive(histPath string) int {
	line := liner.NewLiner()
	defer line.Close()
	line.SetCtrlCAborts(true)
	loadHistory(line, histPath)
	// At the prompt liner reads Ctrl-C as a key that aborts the line (on
	// terminals it cannot drive, Ctrl-C at the prompt does nothing); while
	// a statement runs, SIGINT cancels it. SIGTERM at the prompt leaves.
	sh.sigs = newSignalCatcher(func(sig os.Signal) {
		if sig == syscall.SIGTERM {
			line.Close()
			os.Exit(exitCodeFor(sig))
		}
	})
	defer sh.sigs.stop()

	fmt.Fprintf(sh.out, "Welcome to Sluice %s. Type 'help' or '\\h' for help, 'quit' or '\\q' to leave.\n\n", version)
	sh.out.Flush()
	code := exitOK
	for {
		prompt := promptFirst
		if sh.buf != "" {
			prompt = promptMore
		}
		text, err := line.Prompt(prompt)
		if errors.Is(err, liner.ErrPromptAborted) {
			sh.buf = ""
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(sh.errw, "sluice shell: read input: %v\n", err)
			code = exitError
			break
		}
		done, c := sh.feed(text, func(stmt string) { appendHistory(line, stmt) })
		if done {
			code = c
			break
		}
	}
	saveHistory(line, histPath, sh.errw)
	fmt.Fprintln(sh.out, "Bye")
	sh.out.Flush()
	return code
}

// batch reads statements from a pipe or file, without prompts, and runs
// each as soon as it is complete; a last statement without ';' runs at the
// end of the input. It returns exitError when any statement failed.
func (sh *shell) batch(in io.Reader) int {
	sh.sigs = newSignalCatcher(func(sig os.Signal) { os.Exit(exitCodeFor(sig)) })
	defer sh.sigs.stop()
	r := bufio.NewReader(in)
	for {
		text, err := r.ReadString('\n')
		if text != "" || err == nil {
			if done, code := sh.feed(strings.TrimSuffix(text, "\n"), nil); done {
				return code
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(sh.errw, "sluice shell: read input: %v\n", err)
			return exitError
		}
	}
	if strings.TrimSpace(sh.buf) != "" {
		if done, code := sh.run(sh.buf); done {
			return code
		}
	}
	if sh.failed {
		return exitError
	}
	return exitOK
}

// feed takes one input line: a shortcut when no statement is being typed,
// else part of a statement, which runs once its ';' is there. history, if
// not nil, records each complete input. done reports that the shell should
// leave, with exit code code.
func (sh *shell) feed(text string, history func(string)) (done bool, code int) {
	if strings.TrimSpace(sh.buf) == "" {
		switch strings.ToLower(strings.TrimSuffix(strings.TrimSpace(text), ";")) {
		case "quit", "exit", `\q`:
			if history != nil {
				history(strings.TrimSpace(text))
			}
			return true, exitOK
		case "help", `\h`:
			fmt.Fprint(sh.out, shellHelp)
			sh.out.Flush()
			return false, 0
		}
	}
	if strings.TrimSpace(text) == `\c` {
		sh.buf = ""
		return false, 0
	}
	sh.buf += text + "\n"
	complete, rest := cutComplete(sh.buf)
	sh.buf = rest
	if complete == "" {
		return false, 0
	}
	if history != nil {
		history(complete)
	}
	return sh.run(complete)
}

// run executes script and prints its results; errors print and the shell
// goes on. done reports that a SIGTERM asks the shell to leave.
func (sh *shell) run(script string) (done bool, code int) {
	sh.sigs.reset()
	ctx, release := sh.sigs.context(context.Background())
	start := time.Now()
	err := sh.s.Execute(ctx, script, func(r *session.Result) error {
		defer func() { start = time.Now() }()
		if r.Kind != session.ResultRows {
			fmt.Fprintf(sh.out, "%s\n\n", r.Message)
			return sh.out.Flush()
		}
		n, err := printRows(ctx, sh.out, formatTable, r)
		if err == nil || ctx.Err() != nil {
			fmt.Fprintf(sh.out, "%s\n\n", rowsSummary(n, time.Since(start).Seconds()))
		}
		return err
	})
	release()
	switch {
	case err == nil:
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// Cancelled by the user: not a failure.
		fmt.Fprintf(sh.out, "Query cancelled.\n\n")
	default:
		sh.failed = true
		sh.out.Flush()
		fmt.Fprintf(sh.errw, "%v\n\n", err)
	}
	sh.out.Flush()
	if sig := sh.sigs.received(); sig == syscall.SIGTERM {
		return true, exitCodeFor(sig)
	}
	return false, 0
}

// isTerminal reports whether r is a terminal (a character device).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// historyPath returns <stateDir>/.sluice_history when the state dir is
// writable, else ~/.sluice_history ("" when neither is known).
func historyPath(stateDir string) string {
	p := filepath.Join(stateDir, historyName)
	if f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		f.Close()
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, historyName)
	}
	return ""
}

func loadHistory(line *liner.State, path string) {
	if path == "" {
		return
	}
	if f, err := os.Open(path); err == nil {
		line.ReadHistory(f)
		f.Close()
	}
}

func saveHistory(line *liner.State, path string, errw io.Writer) {
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		_, err = line.WriteHistory(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(errw, "sluice shell: save history: %v\n", err)
	}
}

// appendHistory records a complete input as one history entry: its lines
// joined by spaces, or line by line when a "--" comment would swallow the
// lines after it.
func appendHistory(line *liner.State, stmt string) {
	lines := strings.Split(strings.TrimSpace(stmt), "\n")
	if strings.Contains(stmt, "--") {
		for _, l := range lines {
			if l = strings.TrimSpace(l); l != "" {
				line.AppendHistory(l)
			}
		}
		return
	}
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	line.AppendHistory(strings.Join(lines, " "))
}
