// Package sqltests runs sqllogictest files (*.slt) against a SQL engine.
//
// The files of this folder test Sluice end to end; `sluice slt` and the
// package's TestSLT run them. The format is SQLite's sqllogictest
// (https://www.sqlite.org/sqllogictest/doc/trunk/about.wiki) with a few
// additions from CockroachDB's logic tests and three streaming directives.
//
// # The test language
//
// A file is a sequence of records separated by blank lines. Lines starting
// with '#' between records are comments. Every record of a file runs, in
// order, on one fresh engine that is closed at the end of the file.
//
// Statements. The SQL follows on the next lines, up to a blank line:
//
//	statement ok
//	CREATE TABLE t (a INT, b VARCHAR(20), PRIMARY KEY (a) NOT ENFORCED)
//
//	statement error table 'nope' does not exist
//	INSERT INTO nope VALUES (1)
//
// `statement ok` passes when the statement succeeds (a query's rows are read
// and ignored). The SQL may be a script of several statements separated by
// ';' if the engine takes scripts; a query's result is then its last one's. `statement error [regex]` passes when it fails with an error
// whose text the Go regular expression matches anywhere (use ^ and $ to
// anchor, (?i) to ignore case); without a regex any error passes. The regex
// is the rest of the line, trailing '#' included.
//
// Queries:
//
//	query ITR rowsort
//	SELECT a, b, c FROM t
//	----
//	1
//	x
//	1.500
//	2
//	(empty)
//	NULL
//
// The type string has one letter per result column: I (integer), R (real) or
// T (text); a query returning another number of columns fails. The optional
// sort mode is nosort (the default: rows compared in the engine's order),
// rowsort (rows sorted by their rendered values, left to right, bytewise) or
// valuesort (all values sorted, ignoring rows). Always use rowsort or ORDER BY
// for multi-row queries: Sluice runs them in parallel. After the sort mode
// an optional label may follow: every query of the file with the same label
// must return the same values (same count and hash), whatever their SQL; a
// labelled query written without "----" is checked against its label only
// (the first query with the label then only sets it).
//
// Values render, whatever the letter, NULL as `NULL` and the empty string as
// `(empty)`. In an I column integers print with %d, booleans as 1 and 0,
// decimals and floats are truncated toward zero (as SQLite does: 2.7 → 2,
// -2.7 → -2) and strings holding a number are converted likewise. In an R
// column numbers print with %.3f. In a T column values print as
// types.Datum.String() does: booleans TRUE and FALSE, decimals with their
// scale (0.3333, 1.50), doubles in their shortest form, dates and timestamps
// in ISO form. Control characters print as '@'. Use T to check the exact
// type of a numeric result (1/3 prints 0.3333 as DECIMAL, 0.333 under R).
//
// Expected results follow "----" up to a blank line (a query may omit
// "----" and what follows when it returns no rows). They are written either
// one value per line, row after row (SQLite's form, which keeps values with
// spaces unambiguous), or one row per line with values separated by tabs or
// spaces (CockroachDB's form); both are flattened into one list of values
// and compared with the actual values, after sorting both by the sort mode,
// so hand-written expectations need not be in sorted order. The row form is
// recognised when every line splits into exactly as many values as there
// are columns: write values holding spaces one per line, or separate a
// row's values with tabs. Equivalent forms of the same result:
//
//	query IT rowsort        query IT rowsort
//	SELECT a, b FROM t      SELECT a, b FROM t
//	----                    ----
//	1 x                     1
//	2 (empty)               x
//	                        2
//	                        (empty)
//
// Large results may be written as their hash:
//
//	hash-threshold 8
//
//	query I rowsort
//	SELECT id FROM g   -- the numbers 1 to 10
//	----
//	10 values hashing to ff2650590d3f27ea6644b5573ccc37ba
//
// "N values hashing to H" compares the value count and H, the md5 (lower-case
// hex) of every value (rendered and sorted as above) followed by "\n", which
// is exactly SQLite's hash (rowsort orders text bytewise: 1, 10, 2, ...;
// unlike SQLite, bytes >= 0x80 are kept, so UTF-8 text hashes as written).
// `hash-threshold N` (default 0: never) sets, for
// the rest of the file, the size above which a failure report shows the
// actual result as its hash too; values written out in the file are always
// compared one by one.
//
//	query error Unknown column 'x'
//	SELECT x FROM t
//
// `query error [regex]` is a query that must fail, as `statement error`.
//
// Conditions. `skipif <engine>` and `onlyif <engine>` lines placed before a
// record (several may be stacked) skip it on the named engine, or on every
// other engine. This engine is named "sluice" (Options.EngineName), and only
// that: records of SQLite's corpus under `onlyif mysql` are skipped, those
// under `skipif mysql` run. Skipped tests count as skipped.
//
//	skipif sluice # BUG: what is wrong and where
//	query I
//	SELECT 1
//	----
//	1
//
// Control records:
//
//	halt             stop the file here (with onlyif, only on that engine)
//	include <file>   run the records of another file here, on the same engine;
//	                 the path is relative to the including file's folder.
//	                 Files whose name begins with '_' are run only through
//	                 include, never on their own when a folder is run.
//	hash-threshold N see above
//
// Streaming directives (Sluice's additions), each a record of its own:
//
//	flush            run the statement FLUSH: wait until running jobs have
//	                 absorbed every change so far. Put it after INSERT INTO
//	                 before querying what the insert wrote.
//	checkpoint       take a checkpoint (Engine.Checkpoint)
//	restart          restart the engine from its last checkpoint
//	                 (Engine.Restart); records that follow run on the
//	                 restarted engine. A failed restart ends the file.
//	sleep <duration> pause, e.g. sleep 200ms (Go duration syntax)
//
// checkpoint and restart count as skipped when the engine returns
// ErrNotSupported. Conditions apply to every record type.
//
// Substitution: __TEST_DIR__ in SQL text is replaced by the path of an
// empty temporary folder made for the file (removed after it), for
// connectors that need a path:
//
//	statement ok
//	CREATE TABLE out (a INT) WITH ('connector' = 'filesystem',
//	  'path' = '__TEST_DIR__/out', 'format' = 'csv')
//
// # Counting
//
// Each statement, query, flush, checkpoint and restart record is one test;
// it passes, fails or is skipped. A file that cannot be parsed, or whose
// engine cannot be created or closed, counts one failure. Run ends with the
// line "N passed, M failed" (", K skipped" appended when K > 0).
package sqltests

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/sluicesql/sluice/exec/types"
)

// ErrNotSupported is returned by an Engine for an operation it does not
// support yet; the runner counts the record as skipped.
var ErrNotSupported = errors.New("not supported yet")

// Engine is what the runner drives. One Engine serves the records of one
// file, from one goroutine, and is closed at the end of the file.
type Engine interface {
	// Exec runs one statement. For a query it returns the result columns'
	// types and all rows; the result must be bounded.
	Exec(ctx context.Context, sql string) (cols []types.Column, rows [][]types.Datum, err error)
	// Checkpoint takes a checkpoint; it may return ErrNotSupported.
	Checkpoint(ctx context.Context) error
	// Restart restarts the engine from its last checkpoint, as after a
	// crash; it may return ErrNotSupported.
	Restart(ctx context.Context) error
	// Close releases the engine.
	Close() error
}

// Options configure Run. The zero value is usable.
type Options struct {
	// Verbose prints every record's outcome, not only failures.
	Verbose bool
	// FailFast stops at the first failure.
	FailFast bool
	// EngineName is the name skipif and onlyif compare with
	// (default "sluice").
	EngineName string
	// Timeout bounds each record's Exec, Checkpoint or Restart
	// (default 0: no limit beyond ctx).
	Timeout time.Duration
	// RestartEachStatement restarts the engine (Engine.Restart) after
	// every statement record that passed, so every file also checks that
	// what it built survives a crash at any point.
	RestartEachStatement bool
}

// Failure is one failed test.
type Failure struct {
	// Pos is "file:line".
	Pos string
	// Report is the full failure text as printed.
	Report string
}

// Summary counts the outcomes of a Run.
type Summary struct {
	Passed, Failed, Skipped int
	Failures                []Failure
}

// String returns the summary line: "N passed, M failed[, K skipped]".
func (s Summary) String() string {
	out := fmt.Sprintf("%d passed, %d failed", s.Passed, s.Failed)
	if s.Skipped > 0 {
		out += fmt.Sprintf(", %d skipped", s.Skipped)
	}
	return out
}

// errStop ends a Run early (FailFast).
var errStop = errors.New("stop")

// Run runs the test files named by paths (files, or folders searched
// recursively for *.slt files, in sorted order) and writes failures (all
// outcomes with Verbose) and finally the summary line to out. Each file
// runs on a fresh engine made by newEngine. The error is non-nil when a path
// cannot be read or ctx ends; test failures are reported in the Summary.
func Run(ctx context.Context, paths []string, opts Options, newEngine func() (Engine, error), out io.Writer) (Summary, error) {
	if opts.EngineName == "" {
		opts.EngineName = "sluice"
	}
	files, err := collectFiles(paths)
	if err != nil {
		return Summary{}, err
	}
	r := &runner{opts: opts, out: out, newEngine: newEngine}
	for _, f := range files {
		if err := r.runFile(ctx, f); err != nil {
			if errors.Is(err, errStop) {
				break
			}
			fmt.Fprintln(out, r.sum.String())
			return r.sum, err
		}
	}
	fmt.Fprintln(out, r.sum.String())
	return r.sum, nil
}

// collectFiles expands paths into the list of files to run.
func collectFiles(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".slt") && !strings.HasPrefix(d.Name(), "_") {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		slices.Sort(found)
		files = append(files, found...)
	}
	return files, nil
}

type runner struct {
	opts      Options
	out       io.Writer
	newEngine func() (Engine, error)
	sum       Summary
}

// fileState is what one file's run carries from record to record.
type fileState struct {
	eng       Engine
	threshold int
	labels    map[string]labelResult
	// testDir is the folder __TEST_DIR__ stands for, made on first use.
	testDir string
}

// testDirToken is replaced in SQL by a per-file temporary folder.
const testDirToken = "__TEST_DIR__"

// expand replaces __TEST_DIR__ in sql, making the folder on first use.
func (st *fileState) expand(sql string) (string, error) {
	if !strings.Contains(sql, testDirToken) {
		return sql, nil
	}
	if st.testDir == "" {
		d, err := os.MkdirTemp("", "slt-")
		if err != nil {
			return "", err
		}
		st.testDir = d
	}
	return strings.ReplaceAll(sql, testDirToken, filepath.ToSlash(st.testDir)), nil
}

type labelResult struct {
	pos   string
	count int
	hash  string
}

func (r *runner) pass(rec *Record) {
	r.sum.Passed++
	if r.opts.Verbose {
		fmt.Fprintf(r.out, "%s: ok %s\n", rec.Pos(), rec.Kind)
	}
}

func (r *runner) skip(rec *Record, why string) {
	r.sum.Skipped++
	if r.opts.Verbose {
		fmt.Fprintf(r.out, "%s: skipped %s (%s)\n", rec.Pos(), rec.Kind, why)
	}
}

// fail records a failure at pos; it returns errStop under FailFast.
func (r *runner) fail(pos, report string) error {
	r.sum.Failed++
	report = strings.TrimRight(report, "\n")
	r.sum.Failures = append(r.sum.Failures, Failure{Pos: pos, Report: report})
	fmt.Fprintf(r.out, "--- FAIL %s\n", report)
	if r.opts.FailFast {
		return errStop
	}
	return nil
}

func (r *runner) runFile(ctx context.Context, file string) (err error) {
	recs, err := ParseFile(file)
	if err != nil {
		var pe *ParseError
		pos := file
		if errors.As(err, &pe) {
			pos = fmt.Sprintf("%s:%d", pe.File, pe.Line)
		}
		return r.fail(pos, fmt.Sprintf("%s: cannot parse the file: %v", pos, err))
	}
	eng, err := r.newEngine()
	if err != nil {
		return r.fail(file, fmt.Sprintf("%s: cannot create the engine: %v", file, err))
	}
	st := &fileState{eng: eng, labels: map[string]labelResult{}}
	defer func() {
		if cerr := st.eng.Close(); cerr != nil && err == nil {
			err = r.fail(file, fmt.Sprintf("%s: closing the engine: %v", file, cerr))
		}
		if st.testDir != "" {
			os.RemoveAll(st.testDir)
		}
	}()
	for i := range recs {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := &recs[i]
		if why, skip := r.skipped(rec); skip {
			if rec.IsTest() {
				r.skip(rec, why)
			}
			continue
		}
		stop, err := r.runRecord(ctx, st, rec)
		if err != nil || stop {
			return err
		}
	}
	return nil
}

// skipped reports whether rec's conditions exclude it on this engine.
func (r *runner) skipped(rec *Record) (string, bool) {
	for _, e := range rec.SkipIf {
		if e == r.opts.EngineName {
			return "skipif " + e, true
		}
	}
	for _, e := range rec.OnlyIf {
		if e != r.opts.EngineName {
			return "onlyif " + e, true
		}
	}
	return "", false
}

// runRecord runs one record; stop ends the file.
func (r *runner) runRecord(ctx context.Context, st *fileState, rec *Record) (stop bool, err error) {
	switch rec.Kind {
	case KindHalt:
		return true, nil
	case KindHashThreshold:
		st.threshold = rec.Threshold
		return false, nil
	case KindSleep:
		t := time.NewTimer(rec.Sleep)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return true, ctx.Err()
		}
		return false, nil
	case KindFlush:
		_, _, xerr := r.exec(ctx, st.eng, "FLUSH")
		if xerr != nil {
			return false, r.fail(rec.Pos(), fmt.Sprintf("%s: flush failed: %v", rec.Pos(), xerr))
		}
		r.pass(rec)
		return false, nil
	case KindCheckpoint, KindRestart:
		var xerr error
		r.call(ctx, func(ctx context.Context) error {
			if rec.Kind == KindCheckpoint {
				xerr = st.eng.Checkpoint(ctx)
			} else {
				xerr = st.eng.Restart(ctx)
			}
			return xerr
		}, &xerr)
		switch {
		case xerr == nil:
			r.pass(rec)
		case errors.Is(xerr, ErrNotSupported):
			r.skip(rec, xerr.Error())
		case rec.Kind == KindRestart:
			return true, r.fail(rec.Pos(), fmt.Sprintf("%s: restart failed (rest of the file not run): %v", rec.Pos(), xerr))
		default:
			return false, r.fail(rec.Pos(), fmt.Sprintf("%s: checkpoint failed: %v", rec.Pos(), xerr))
		}
		return false, nil
	case KindStatement:
		sql, xerr := st.expand(rec.SQL)
		if xerr == nil {
			_, _, xerr = r.exec(ctx, st.eng, sql)
		}
		if msg, lines := checkError(rec, xerr); msg != "" {
			return false, r.fail(rec.Pos(), report(rec, msg, lines))
		}
		if r.opts.RestartEachStatement {
			var rerr error
			r.call(ctx, func(ctx context.Context) error { rerr = st.eng.Restart(ctx); return rerr }, &rerr)
			if rerr != nil && !errors.Is(rerr, ErrNotSupported) {
				return true, r.fail(rec.Pos(), fmt.Sprintf("%s: restart after the statement failed (rest of the file not run): %v", rec.Pos(), rerr))
			}
		}
		r.pass(rec)
		return false, nil
	case KindQuery:
		sql, xerr := st.expand(rec.SQL)
		var cols []types.Column
		var rows [][]types.Datum
		if xerr == nil {
			cols, rows, xerr = r.exec(ctx, st.eng, sql)
		}
		if rec.ExpectError || xerr != nil {
			if msg, lines := checkError(rec, xerr); msg != "" {
				return false, r.fail(rec.Pos(), report(rec, msg, lines))
			}
			r.pass(rec)
			return false, nil
		}
		if msg, lines := r.checkResult(st, rec, cols, rows); msg != "" {
			return false, r.fail(rec.Pos(), report(rec, msg, lines))
		}
		r.pass(rec)
		return false, nil
	}
	return false, fmt.Errorf("%s: unknown record kind %v", rec.Pos(), rec.Kind)
}

// exec runs sql with the per-record timeout, turning a panic into an error.
func (r *runner) exec(ctx context.Context, eng Engine, sql string) (cols []types.Column, rows [][]types.Datum, err error) {
	r.call(ctx, func(ctx context.Context) error {
		cols, rows, err = eng.Exec(ctx, sql)
		return err
	}, &err)
	return cols, rows, err
}

// call runs fn under the per-record timeout; a panic in fn is stored in
// *perr as an error with its stack.
func (r *runner) call(ctx context.Context, fn func(context.Context) error, perr *error) {
	if r.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.opts.Timeout)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			*perr = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	fn(ctx)
}

// checkError compares a statement's outcome with what rec expects; it
// returns "" when they agree, else a message and the error's lines.
func checkError(rec *Record, err error) (string, []string) {
	switch {
	case !rec.ExpectError && err != nil:
		return "unexpected error:", errorLines(err)
	case rec.ExpectError && err == nil:
		if rec.ErrorRe != nil {
			return fmt.Sprintf("expected an error matching %q, but it succeeded", rec.ErrorRe.String()), nil
		}
		return "expected an error, but it succeeded", nil
	case rec.ExpectError && rec.ErrorRe != nil && !rec.ErrorRe.MatchString(err.Error()):
		return fmt.Sprintf("error does not match %q:", rec.ErrorRe.String()), errorLines(err)
	}
	return "", nil
}

func errorLines(err error) []string {
	return strings.Split(strings.TrimRight(err.Error(), "\n"), "\n")
}

// checkResult compares a query's result with rec's expectation; it returns
// "" when they agree, or a message and the lines that show the difference.
func (r *runner) checkResult(st *fileState, rec *Record, cols []types.Column, rows [][]types.Datum) (string, []string) {
	ncols := len(rec.Types)
	if len(cols) != ncols {
		return fmt.Sprintf("the query returned %d columns, the type string %q has %d", len(cols), rec.Types, ncols), nil
	}
	actual := make([]string, 0, len(rows)*ncols)
	for i, row := range rows {
		if len(row) != ncols {
			return fmt.Sprintf("row %d has %d values for %d columns", i+1, len(row), ncols), nil
		}
		for j, d := range row {
			actual = append(actual, FormatValue(d, rec.Types[j]))
		}
	}
	sortValues(actual, ncols, rec.Sort)
	hash := HashValues(actual)

	var msg string
	var lines []string
	switch {
	case rec.ResultLine == 0 && rec.Label != "":
		// A labelled query without "----" is checked against its label only.
	case rec.Hash != "":
		if rec.HashCount != len(actual) || rec.Hash != hash {
			msg = "wrong result"
			lines = append(lines,
				"expected: "+fmt.Sprintf("%d values hashing to %s", rec.HashCount, rec.Hash),
				"actual:   "+fmt.Sprintf("%d values hashing to %s", len(actual), hash),
				"actual values:")
			lines = append(lines, rowLines(actual, ncols, ncols > 1)...)
		}
	default:
		exp, rowForm := expectedValues(rec.Expected, ncols, len(actual))
		if len(exp)%ncols == 0 {
			sortValues(exp, ncols, rec.Sort)
		}
		if !slices.Equal(exp, actual) {
			msg = "wrong result"
			lines = sideBySide(rowLines(exp, ncols, rowForm), rowLines(actual, ncols, rowForm))
			if st.threshold > 0 && len(actual) > st.threshold {
				lines = append(lines, fmt.Sprintf("actual: %d values hashing to %s", len(actual), hash))
			}
		}
	}
	if msg == "" && rec.Label != "" {
		if prev, ok := st.labels[rec.Label]; ok {
			if prev.count != len(actual) || prev.hash != hash {
				return fmt.Sprintf("result differs from label %q at %s: %d values hashing to %s, here %d values hashing to %s",
					rec.Label, prev.pos, prev.count, prev.hash, len(actual), hash), nil
			}
		} else {
			st.labels[rec.Label] = labelResult{pos: rec.Pos(), count: len(actual), hash: hash}
		}
	}
	return msg, lines
}

// rowLines lays values out one row per line (space separated) or one value
// per line.
func rowLines(vals []string, ncols int, rowForm bool) []string {
	if !rowForm || ncols <= 1 {
		return vals
	}
	var out []string
	for i := 0; i < len(vals); i += ncols {
		out = append(out, strings.Join(vals[i:min(i+ncols, len(vals))], " "))
	}
	return out
}

// sideBySide prints expected and actual lines in two columns, marking lines
// that differ with '!'.
func sideBySide(exp, act []string) []string {
	w := len("expected")
	for _, l := range exp {
		w = max(w, len(l))
	}
	const maxLines = 200
	n := max(len(exp), len(act))
	out := []string{fmt.Sprintf("  %-*s | %s", w, "expected", "actual")}
	for i := 0; i < n && i < maxLines; i++ {
		var e, a string
		var he, ha bool
		if i < len(exp) {
			e, he = exp[i], true
		}
		if i < len(act) {
			a, ha = act[i], true
		}
		mark := " "
		if he != ha || e != a {
			mark = "!"
		}
		if !he {
			e = "-"
		}
		if !ha {
			a = "-"
		}
		out = append(out, fmt.Sprintf("%s %-*s | %s", mark, w, e, a))
	}
	if n > maxLines {
		out = append(out, fmt.Sprintf("  ... %d more lines", n-maxLines))
	}
	out = append(out, fmt.Sprintf("  (%d values expected, %d returned)", len(exp), len(act)))
	return out
}

// report formats a failure: position, message, the SQL, then detail lines
// (the error, or expected and actual results).
func report(rec *Record, msg string, lines []string) string {
	var b strings.Builder
	kind := rec.Kind.String()
	if rec.ExpectError {
		kind += " error"
	} else if rec.Kind == KindStatement {
		kind += " ok"
	} else if rec.Kind == KindQuery {
		kind += " " + rec.Types + " " + rec.Sort.String()
	}
	fmt.Fprintf(&b, "%s: %s: %s\n", rec.Pos(), kind, msg)
	b.WriteString(indent(rec.SQL))
	b.WriteByte('\n')
	for _, l := range lines {
		b.WriteString("    ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

var lineStart = regexp.MustCompile(`(?m)^`)

func indent(s string) string { return lineStart.ReplaceAllString(strings.TrimRight(s, "\n"), "    ") }
