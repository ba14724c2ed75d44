package sqltests

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind is the kind of a record of a test file.
type Kind uint8

// Record kinds.
const (
	// KindStatement is `statement ok` or `statement error [regex]`.
	KindStatement Kind = iota
	// KindQuery is `query <types> [sort] [label]` or `query error [regex]`.
	KindQuery
	// KindHashThreshold is `hash-threshold N`.
	KindHashThreshold
	// KindHalt is `halt`.
	KindHalt
	// KindFlush is the `flush` directive (runs the statement FLUSH).
	KindFlush
	// KindCheckpoint is the `checkpoint` directive (Engine.Checkpoint).
	KindCheckpoint
	// KindRestart is the `restart` directive (Engine.Restart).
	KindRestart
	// KindSleep is `sleep <duration>`.
	KindSleep
)

var kindNames = [...]string{
	KindStatement: "statement", KindQuery: "query", KindHashThreshold: "hash-threshold",
	KindHalt: "halt", KindFlush: "flush", KindCheckpoint: "checkpoint", KindRestart: "restart",
	KindSleep: "sleep",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// SortMode is how a query's result is ordered before it is compared.
type SortMode uint8

// Sort modes.
const (
	// NoSort compares rows in the order the engine returned them.
	NoSort SortMode = iota
	// RowSort sorts rows, comparing their rendered values left to right.
	RowSort
	// ValueSort sorts all rendered values, ignoring row boundaries.
	ValueSort
)

func (m SortMode) String() string {
	switch m {
	case RowSort:
		return "rowsort"
	case ValueSort:
		return "valuesort"
	}
	return "nosort"
}

// Record is one record of a test file, with its includes expanded.
type Record struct {
	Kind Kind
	// File and Line locate the record's first line (its first condition
	// line, if it has conditions).
	File string
	Line int
	// SkipIf and OnlyIf are the engine names of the record's skipif and
	// onlyif lines.
	SkipIf, OnlyIf []string

	// SQL is the statement or query text (lines joined with "\n").
	SQL string
	// ExpectError is set by `statement error` and `query error`; ErrorRe
	// then matches the error text (nil matches any error).
	ExpectError bool
	ErrorRe     *regexp.Regexp

	// Types is a query's type string, one letter (I, R or T) per column.
	Types string
	Sort  SortMode
	// Label is a query's optional label.
	Label string
	// Expected holds the result lines after "----", as written.
	Expected []string
	// HashCount and Hash are set when the result is written as
	// "N values hashing to H".
	HashCount int
	Hash      string
	// ResultLine is the line of "----" (0 when absent).
	ResultLine int

	// Threshold is the value of hash-threshold.
	Threshold int
	// Sleep is the duration of sleep.
	Sleep time.Duration
}

// Pos returns "file:line".
func (r *Record) Pos() string { return fmt.Sprintf("%s:%d", r.File, r.Line) }

// IsTest reports whether the record counts as a test (passed, failed or
// skipped) in a Summary.
func (r *Record) IsTest() bool {
	switch r.Kind {
	case KindStatement, KindQuery, KindFlush, KindCheckpoint, KindRestart:
		return true
	}
	return false
}

// ParseError is a malformed record.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// maxIncludeDepth bounds include nesting (and so include cycles).
const maxIncludeDepth = 16

var (
	typesRe = regexp.MustCompile(`^[ITR]+$`)
	hashRe  = regexp.MustCompile(`^(\d+) values hashing to ([0-9a-f]{32})$`)
)

// ParseFile reads and parses the test file at path, expanding includes.
func ParseFile(path string) ([]Record, error) {
	return parseFile(path, 0)
}

func parseFile(path string, depth int) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parse(path, f, depth)
}

// Parse parses a test file read from r; name is used in positions and to
// resolve includes (relative to name's folder).
func Parse(name string, r io.Reader) ([]Record, error) {
	return parse(name, r, 0)
}

type lineReader struct {
	lines []string
	i     int // index of the next line; line number is i+1
}

func (lr *lineReader) next() (string, bool) {
	if lr.i >= len(lr.lines) {
		return "", false
	}
	l := lr.lines[lr.i]
	lr.i++
	return l, true
}

func (lr *lineReader) peek() (string, bool) {
	if lr.i >= len(lr.lines) {
		return "", false
	}
	return lr.lines[lr.i], true
}

func isBlank(l string) bool { return strings.TrimSpace(l) == "" }

func isComment(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "#") }

// controlFields splits a control line into words, dropping a trailing
// "# comment".
func controlFields(l string) []string {
	f := strings.Fields(l)
	for i, w := range f {
		if strings.HasPrefix(w, "#") {
			return f[:i]
		}
	}
	return f
}

func parse(name string, r io.Reader, depth int) ([]Record, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		lines = append(lines, strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lr := &lineReader{lines: lines}
	var out []Record
	perr := func(line int, format string, args ...any) error {
		return &ParseError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	for {
		// Skip blank lines and comments between records.
		l, ok := lr.peek()
		for ok && (isBlank(l) || isComment(l)) {
			lr.next()
			l, ok = lr.peek()
		}
		if !ok {
			return out, nil
		}
		rec := Record{File: name, Line: lr.i + 1}
		// Conditions.
		var f []string
		for {
			l, ok = lr.next()
			if !ok || isBlank(l) {
				return nil, perr(rec.Line, "condition without a record")
			}
			f = controlFields(l)
			if len(f) == 0 { // a comment line inside the header
				continue
			}
			if f[0] != "skipif" && f[0] != "onlyif" {
				break
			}
			if len(f) != 2 {
				return nil, perr(lr.i, "%s needs one engine name", f[0])
			}
			if f[0] == "skipif" {
				rec.SkipIf = append(rec.SkipIf, f[1])
			} else {
				rec.OnlyIf = append(rec.OnlyIf, f[1])
			}
		}
		headLine := lr.i
		switch f[0] {
		case "statement":
			rec.Kind = KindStatement
			if len(f) < 2 {
				return nil, perr(headLine, "statement needs ok or error")
			}
			switch f[1] {
			case "ok":
				if len(f) > 2 {
					return nil, perr(headLine, "unexpected %q after statement ok", strings.Join(f[2:], " "))
				}
			case "error":
				rec.ExpectError = true
				re, err := errorRegex(l, "error")
				if err != nil {
					return nil, perr(headLine, "%v", err)
				}
				rec.ErrorRe = re
			default:
				return nil, perr(headLine, "statement needs ok or error, not %q", f[1])
			}
			sql, sep := readSQL(lr)
			if sep {
				return nil, perr(lr.i, "---- after a statement (use query)")
			}
			if sql == "" {
				return nil, perr(headLine, "statement without SQL")
			}
			rec.SQL = sql
		case "query":
			rec.Kind = KindQuery
			if len(f) < 2 {
				return nil, perr(headLine, "query needs a type string or error")
			}
			if f[1] == "error" {
				rec.ExpectError = true
				re, err := errorRegex(l, "error")
				if err != nil {
					return nil, perr(headLine, "%v", err)
				}
				rec.ErrorRe = re
				sql, sep := readSQL(lr)
				if sep {
					return nil, perr(lr.i, "---- after query error")
				}
				if sql == "" {
					return nil, perr(headLine, "query without SQL")
				}
				rec.SQL = sql
				break
			}
			if !typesRe.MatchString(f[1]) {
				return nil, perr(headLine, "bad type string %q (letters I, R, T)", f[1])
			}
			rec.Types = f[1]
			rest := f[2:]
			if len(rest) > 0 {
				switch rest[0] {
				case "nosort":
					rec.Sort, rest = NoSort, rest[1:]
				case "rowsort":
					rec.Sort, rest = RowSort, rest[1:]
				case "valuesort":
					rec.Sort, rest = ValueSort, rest[1:]
				}
			}
			if len(rest) > 1 {
				return nil, perr(headLine, "unexpected %q after query label", strings.Join(rest[1:], " "))
			}
			if len(rest) == 1 {
				if strings.HasSuffix(rest[0], "sort") {
					return nil, perr(headLine, "unknown sort mode %q", rest[0])
				}
				rec.Label = rest[0]
			}
			sql, sep := readSQL(lr)
			if sql == "" {
				return nil, perr(headLine, "query without SQL")
			}
			rec.SQL = sql
			if sep {
				rec.ResultLine = lr.i
				for {
					l, ok := lr.peek()
					if !ok || isBlank(l) {
						break
					}
					lr.next()
					rec.Expected = append(rec.Expected, l)
				}
				if len(rec.Expected) == 1 {
					if m := hashRe.FindStringSubmatch(strings.TrimSpace(rec.Expected[0])); m != nil {
						rec.HashCount, _ = strconv.Atoi(m[1])
						rec.Hash = m[2]
						rec.Expected = nil
					}
				}
			}
		case "hash-threshold":
			rec.Kind = KindHashThreshold
			if len(f) != 2 {
				return nil, perr(headLine, "hash-threshold needs a number")
			}
			n, err := strconv.Atoi(f[1])
			if err != nil || n < 0 {
				return nil, perr(headLine, "hash-threshold needs a number, not %q", f[1])
			}
			rec.Threshold = n
		case "halt", "flush", "checkpoint", "restart":
			if len(f) != 1 {
				return nil, perr(headLine, "unexpected %q after %s", strings.Join(f[1:], " "), f[0])
			}
			rec.Kind = map[string]Kind{"halt": KindHalt, "flush": KindFlush,
				"checkpoint": KindCheckpoint, "restart": KindRestart}[f[0]]
		case "sleep":
			if len(f) != 2 {
				return nil, perr(headLine, "sleep needs a duration such as 100ms")
			}
			d, err := time.ParseDuration(f[1])
			if err != nil || d < 0 {
				return nil, perr(headLine, "sleep needs a duration such as 100ms, not %q", f[1])
			}
			rec.Kind, rec.Sleep = KindSleep, d
		case "include":
			if len(f) != 2 {
				return nil, perr(headLine, "include needs one file name")
			}
			if len(rec.SkipIf)+len(rec.OnlyIf) > 0 {
				return nil, perr(headLine, "include cannot have conditions")
			}
			if depth >= maxIncludeDepth {
				return nil, perr(headLine, "includes nested deeper than %d (a cycle?)", maxIncludeDepth)
			}
			p := f[1]
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(name), p)
			}
			inc, err := parseFile(p, depth+1)
			if err != nil {
				if _, ok := err.(*ParseError); ok {
					return nil, err
				}
				return nil, perr(headLine, "include: %v", err)
			}
			out = append(out, inc...)
			if err := expectEnd(lr, perr); err != nil {
				return nil, err
			}
			continue
		default:
			return nil, perr(headLine, "unknown record type %q", f[0])
		}
		if rec.Kind != KindStatement && rec.Kind != KindQuery {
			if err := expectEnd(lr, perr); err != nil {
				return nil, err
			}
		}
		out = append(out, rec)
	}
}

// expectEnd checks that a one-line record is followed by a blank line, a
// comment or the end of the file.
func expectEnd(lr *lineReader, perr func(int, string, ...any) error) error {
	if l, ok := lr.peek(); ok && !isBlank(l) && !isComment(l) {
		return perr(lr.i+1, "unexpected %q (records are separated by blank lines)", l)
	}
	return nil
}

// errorRegex compiles what follows the word after the record type ("error")
// on line l; an empty rest matches any error.
func errorRegex(l, word string) (*regexp.Regexp, error) {
	i := strings.Index(l, word)
	rest := strings.TrimSpace(l[i+len(word):])
	if rest == "" {
		return nil, nil
	}
	re, err := regexp.Compile(rest)
	if err != nil {
		return nil, fmt.Errorf("bad error regex %q: %v", rest, err)
	}
	return re, nil
}

// readSQL reads SQL lines until a blank line, "----" or the end; sep reports
// whether it stopped at "----" (which it consumes).
func readSQL(lr *lineReader) (sql string, sep bool) {
	var b []string
	for {
		l, ok := lr.peek()
		if !ok || isBlank(l) {
			break
		}
		lr.next()
		if strings.TrimSpace(l) == "----" {
			sep = true
			break
		}
		b = append(b, l)
	}
	return strings.Join(b, "\n"), sep
}
