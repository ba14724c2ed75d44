package sqltests

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

// fakeEngine answers statements from canned results.
type fakeEngine struct {
	results       map[string]canned
	log           *[]string
	checkpointErr error
	restartErr    error
	closeErr      error
}

type canned struct {
	cols []types.Column
	rows [][]types.Datum
	err  error
	pnc  bool
}

func (e *fakeEngine) Exec(_ context.Context, sql string) ([]types.Column, [][]types.Datum, error) {
	*e.log = append(*e.log, sql)
	if strings.HasPrefix(sql, "ECHO ") {
		return []types.Column{strCol("echo")}, [][]types.Datum{{types.StringDatum(sql[5:])}}, nil
	}
	c, ok := e.results[sql]
	if !ok {
		return nil, nil, fmt.Errorf("fake: no canned result for %q", sql)
	}
	if c.pnc {
		panic("boom")
	}
	return c.cols, c.rows, c.err
}

func (e *fakeEngine) Checkpoint(context.Context) error {
	*e.log = append(*e.log, "<checkpoint>")
	return e.checkpointErr
}

func (e *fakeEngine) Restart(context.Context) error {
	*e.log = append(*e.log, "<restart>")
	return e.restartErr
}

func (e *fakeEngine) Close() error {
	*e.log = append(*e.log, "<close>")
	return e.closeErr
}

func intCol(name string) types.Column { return types.Column{Name: name, Type: types.BigInt} }
func strCol(name string) types.Column { return types.Column{Name: name, Type: types.String} }

func ints(vs ...int64) [][]types.Datum {
	var rows [][]types.Datum
	for _, v := range vs {
		rows = append(rows, []types.Datum{types.IntDatum(v)})
	}
	return rows
}

// baseResults are canned results every test engine knows.
func baseResults() map[string]canned {
	return map[string]canned{
		"CREATE TABLE t (a INT)": {},
		"FLUSH":                  {},
		"SELECT 1":               {cols: []types.Column{intCol("1")}, rows: ints(1)},
		"SELECT a FROM t":        {cols: []types.Column{intCol("a")}, rows: ints(3, 1, 2)},
		"SELECT a, b FROM t": {cols: []types.Column{intCol("a"), strCol("b")}, rows: [][]types.Datum{
			{types.IntDatum(2), types.StringDatum("b c")},
			{types.IntDatum(1), types.StringDatum("")},
			{types.IntDatum(3), types.NullDatum(types.String)},
		}},
		"SELECT nope":  {err: errors.New("ERROR at line 1, column 8: Unknown column 'nope' in 'field list'")},
		"SELECT panic": {pnc: true},
	}
}

type harness struct {
	t       *testing.T
	dir     string
	log     []string
	results map[string]canned
	eng     fakeEngine
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, dir: t.TempDir(), results: baseResults()}
	return h
}

func (h *harness) write(name, text string) string {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.TrimLeft(text, "\n")), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) run(opts Options, paths ...string) (Summary, string) {
	h.t.Helper()
	var out bytes.Buffer
	sum, err := Run(context.Background(), paths, opts, func() (Engine, error) {
		e := h.eng
		e.results = h.results
		e.log = &h.log
		return &e, nil
	}, &out)
	if err != nil {
		h.t.Fatalf("Run: %v", err)
	}
	return sum, out.String()
}

func (h *harness) expect(sum Summary, out string, passed, failed, skipped int) {
	h.t.Helper()
	if sum.Passed != passed || sum.Failed != failed || sum.Skipped != skipped {
		h.t.Fatalf("got %s, want %d passed, %d failed, %d skipped; output:\n%s", sum, passed, failed, skipped, out)
	}
	if !strings.HasSuffix(out, "\n"+sum.String()+"\n") && out != sum.String()+"\n" {
		h.t.Fatalf("output does not end with the summary line %q:\n%s", sum.String(), out)
	}
}

func TestSummaryLine(t *testing.T) {
	for _, c := range []struct {
		s    Summary
		want string
	}{
		{Summary{Passed: 3, Failed: 1}, "3 passed, 1 failed"},
		{Summary{Passed: 3, Skipped: 2}, "3 passed, 0 failed, 2 skipped"},
		{Summary{}, "0 passed, 0 failed"},
	} {
		if got := c.s.String(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	dec := func(v int64, s int) types.Datum { return types.DecimalDatum(v, 10, s) }
	for _, c := range []struct {
		d    types.Datum
		typ  byte
		want string
	}{
		{types.IntDatum(-42), 'I', "-42"},
		{types.IntDatum(42), 'R', "42.000"},
		{types.IntDatum(42), 'T', "42"},
		{types.BoolDatum(true), 'I', "1"},
		{types.BoolDatum(false), 'I', "0"},
		{types.BoolDatum(true), 'T', "TRUE"},
		{types.BoolDatum(false), 'T', "FALSE"},
		{types.BoolDatum(true), 'R', "1.000"},
		{dec(27, 1), 'I', "2"},
		{dec(-27, 1), 'I', "-2"},
		{dec(3333, 4), 'T', "0.3333"},
		{dec(3333, 4), 'R', "0.333"},
		{dec(150, 2), 'T', "1.50"},
		{types.DoubleDatum(2.7), 'I', "2"},
		{types.DoubleDatum(-2.7), 'I', "-2"},
		{types.DoubleDatum(0.5), 'R', "0.500"},
		{types.DoubleDatum(2.0 / 3), 'R', "0.667"},
		{types.DoubleDatum(1.5), 'T', "1.5"},
		{types.StringDatum("12"), 'I', "12"},
		{types.StringDatum("1.9"), 'I', "1"},
		{types.StringDatum("abc"), 'I', "abc"},
		{types.StringDatum("2.5"), 'R', "2.500"},
		{types.StringDatum("a b"), 'T', "a b"},
		{types.StringDatum(""), 'T', "(empty)"},
		{types.StringDatum(""), 'I', "(empty)"},
		{types.StringDatum("a\nb\tc"), 'T', "a@b@c"},
		{types.NullDatum(types.BigInt), 'I', "NULL"},
		{types.NullDatum(types.String), 'T', "NULL"},
		{types.NullDatum(types.Null), 'R', "NULL"},
		{types.Datum{Type: types.Date, I: 1}, 'T', "1970-01-02"},
	} {
		if got := FormatValue(c.d, c.typ); got != c.want {
			t.Errorf("FormatValue(%v %s, %c) = %q, want %q", c.d.Type, c.d.String(), c.typ, got, c.want)
		}
	}
}

func TestHashValuesMatchesMD5(t *testing.T) {
	want := fmt.Sprintf("%x", md5.Sum([]byte("1\n2\n3\n")))
	if got := HashValues([]string{"1", "2", "3"}); got != want {
		t.Fatalf("HashValues = %s, want %s", got, want)
	}
}

func TestStatementsAndQueries(t *testing.T) {
	h := newHarness(t)
	p := h.write("a.slt", `
# a comment
statement ok
CREATE TABLE t (a INT)

query I
SELECT 1
----
1

query I rowsort
SELECT a FROM t
----
1
2
3
`)
	sum, out := h.run(Options{}, p)
	h.expect(sum, out, 3, 0, 0)
	want := []string{"CREATE TABLE t (a INT)", "SELECT 1", "SELECT a FROM t", "<close>"}
	if fmt.Sprint(h.log) != fmt.Sprint(want) {
		t.Fatalf("engine saw %q, want %q", h.log, want)
	}
}

func TestSortModes(t *testing.T) {
	h := newHarness(t)
	p := h.write("a.slt", `
# engine order is 3 1 2
query I nosort
SELECT a FROM t
----
3
1
2

query I nosort
SELECT a FROM t
----
1
2
3

query I rowsort
SELECT a FROM t
----
1
2
3

# expected values are sorted too, so any order passes under rowsort
query I rowsort
SELECT a FROM t
----
2
3
1

query IT rowsort
SELECT a, b FROM t
----
1
(empty)
2
b c
3
NULL

query IT valuesort
SELECT a, b FROM t
----
(empty)
1
2
3
NULL
b c

query IT rowsort
SELECT a, b FROM t
----
1
(empty)
2
b c
3
4
`)
	sum, out := h.run(Options{}, p)
	h.expect(sum, out, 5, 2, 0)
	if !strings.Contains(out, "a.slt:9:") || !strings.Contains(out, "a.slt:51:") {
		t.Fatalf("failures should be at lines 9 and 51:\n%s", out)
	}
}

func TestRowPerLineForm(t *testing.T) {
	h := newHarness(t)
	h.results["SELECT x, y"] = canned{cols: []types.Column{intCol("x"), intCol("y")},
		rows: [][]types.Datum{{types.IntDatum(1), types.IntDatum(2)}, {types.IntDatum(3), types.IntDatum(4)}}}
	p := h.write("a.slt", `
query II
SELECT x, y
----
1 2
3 4

query II
SELECT x, y
----
1	2
3   4

query II rowsort
SELECT x, y
----
3 4
1 2

query II
SELECT x, y
----
1 2
3 5

# a value with a space in a row line needs tabs
query IT rowsort
SELECT a, b FROM t
----
1	(empty)
2	b c
3	NULL
`)
	sum, out := h.run(Options{}, p)
	h.expect(sum, out, 4, 1, 0)
	if !strings.Contains(out, "! 3 5") || !strings.Contains(out, "| 3 4") {
		t.Fatalf("failure should show rows side by side:\n%s", out)
	}
}

func TestHashing(t *testing.T) {
	h := newHarness(t)
	// rowsort sorts 3 1 2 to 1 2 3; compute the hash independently.
	sum123 := fmt.Sprintf("%x", md5.Sum([]byte("1\n2\n3\n")))
	sum312 := fmt.Sprintf("%x", md5.Sum([]byte("3\n1\n2\n")))
	p := h.write("a.slt", fmt.Sprintf(`
query I rowsort
SELECT a FROM t
----
3 values hashing to %[1]s

query I nosort
SELECT a FROM t
----
3 values hashing to %[2]s

query I nosort
SELECT a FROM t
----
3 values hashing to %[1]s

query I rowsort
SELECT a FROM t
----
4 values hashing to %[1]s

hash-threshold 2

query I rowsort
SELECT a FROM t
----
1
2
4
`, sum123, sum312))
	sum, out := h.run(Options{}, p)
	h.expect(sum, out, 2, 3, 0)
	if !strings.Contains(out, "actual:   3 values hashing to "+sum312) {
		t.Fatalf("hash failure should show the actual hash:\n%s", out)
	}
	if !strings.Contains(out, "actual: 3 values hashing to "+sum123) {
		t.Fatalf("results above the threshold should also be shown hashed:\n%s", out)
	}
}

func TestLabels(t *testing.T) {
	h := newHarness(t)
	h.results["SELECT a FROM u"] = canned{cols: []types.Column{intCol("a")}, rows: ints(2, 3, 1)}
	h.results["SELECT a FROM v"] = canned{cols: []types.Column{intCol("a")}, rows: ints(2, 3)}
	p := h.write("a.slt", `
query I rowsort same
SELECT a FROM t
----
1
2
3

query I rowsort same
SELECT a FROM u

query I rowsort same
SELECT a FROM v
`)
	sum, out := h.run(Options{}, p)
	h.expect(sum, out, 2, 1, 0)
	if !strings.Contains(out, `a.slt:11:`) || !strings.Contains(out, `label "same" at `) {
		t.Fatalf("label failure expected at line 11:\n%s", out)
	}
}

func TestErrors(t *testing.T) {
	h := newHarness(t)
	p := h.write("a.slt", `
statement error Unknown column 'nope'
SELECT nope

statement error
SELECT nope

query error column \d+: Unknown
SELECT nope

statement error ^Unknown
SELECT nope

statement error something else
SELECT nope

statement error
SELECT 1

query error .*
SELECT 1

statement ok
SELECT nope

query I
SELECT nope
----
1
`)
	sum, out := h.run(Options{}, p)
	h.expect(sum, out, 3, 6, 0)
	for _, want := range []string{
		`a.slt:10: statement error: error does not match "^Unknown"`,
		`a.slt:16: statement error: expected an error, but it succeeded`,
		`a.slt:22: statement ok: unexpected error:`,
		"    ERROR at line 1, column 8: Unknown column 'nope' in 'field list'",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestConditions(t *testing.T) {
	h := newHarness(t)
	p := h.write("a.slt", `
skipif sluice
statement ok
SELECT nope

onlyif mysql
statement ok
SELECT nope

skipif mysql
query I
SELECT 1
----
1

onlyif sluice
query I
SELECT 1
----
1

skipif postgresql # a comment
onlyif sluice
query I
SELECT 1
----
1

onlyif mysql
halt

onlyif sluice
flush
`)
	sum, out := h.run(Options{Verbose: true}, p)
	h.expect(sum, out, 4, 0, 2)
	if !strings.Contains(out, "a.slt:1: skipped statement (skipif sluice)") {
		t.Fatalf("verbose output lacks the skip:\n%s", out)
	}
	// Under another engine name the conditions flip.
	h.log = nil
	sum, out = h.run(Options{EngineName: "mysql"}, p)
	h.expect(sum, out, 0, 2, 3)
}

func TestIncludeAndHalt(t *testing.T) {
	h := newHarness(t)
	h.write("sub/_setup.slt", `
statement ok
CREATE TABLE t (a INT)
`)
	h.write("sub/_bad.slt", `
statement ok
CREATE TABLE t (a INT)
----
`)
	p := h.write("a.slt", `
include sub/_setup.slt

query I
SELECT 1
----
1

halt

query I
SELECT 1
----
2
`)
	sum, out := h.run(Options{}, p)
	h.expect(sum, out, 2, 0, 0)
	if h.log[0] != "CREATE TABLE t (a INT)" {
		t.Fatalf("include did not run first: %q", h.log)
	}
	// Running the folder skips _ files and runs a.slt once.
	h.log = nil
	sum, out = h.run(Options{}, h.dir)
	h.expect(sum, out, 2, 0, 0)

	// A parse error in an included file points into that file.
	q := h.write("b.slt", "include sub/_bad.slt\n")
	sum, out = h.run(Options{}, q)
	h.expect(sum, out, 0, 1, 0)
	if !strings.Contains(out, "_bad.slt:3: cannot parse the file") {
		t.Fatalf("parse error should name the included file and line:\n%s", out)
	}
}

func TestDirectives(t *testing.T) {
	h := newHarness(t)
	h.eng.checkpointErr = fmt.Errorf("checkpoint: %w", ErrNotSupported)
	p := h.write("a.slt", `
statement ok
CREATE TABLE t (a INT)

flush

checkpoint

restart

sleep 1ms

query I
SELECT 1
----
1
`)
	sum, out := h.run(Options{}, p)
	h.expect(sum, out, 4, 0, 1)
	want := []string{"CREATE TABLE t (a INT)", "FLUSH", "<checkpoint>", "<restart>", "SELECT 1", "<close>"}
	if fmt.Sprint(h.log) != fmt.Sprint(want) {
		t.Fatalf("engine saw %q, want %q", h.log, want)
	}

	// A failed restart fails and ends the file.
	h.log = nil
	h.eng.restartErr = errors.New("disk on fire")
	sum, out = h.run(Options{}, p)
	h.expect(sum, out, 2, 1, 1)
	if !strings.Contains(out, "a.slt:8: restart failed") {
		t.Fatalf("restart failure not reported:\n%s", out)
	}
}

func TestFailureReport(t *testing.T) {
	h := newHarness(t)
	p := h.write("a.slt", `
query IT rowsort
SELECT a, b FROM t
----
1
(empty)
2
b  c
3
NULL
`)
	sum, out := h.run(Options{}, p)
	h.expect(sum, out, 0, 1, 0)
	for _, want := range []string{
		"--- FAIL " + p + ":1: query IT rowsort: wrong result",
		"    SELECT a, b FROM t",
		"expected | actual",
		"! b  c     | b c",
		"(6 values expected, 6 returned)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if len(sum.Failures) != 1 || sum.Failures[0].Pos != p+":1" {
		t.Fatalf("Failures = %+v", sum.Failures)
	}
}

func TestColumnCountAndPanic(t *testing.T) {
	h := newHarness(t)
	p := h.write("a.slt", `
query II
SELECT 1
----
1

statement ok
SELECT panic

query I
SELECT 1
----
1
`)
	sum, out := h.run(Options{}, p)
	h.expect(sum, out, 1, 2, 0)
	if !strings.Contains(out, `the query returned 1 columns, the type string "II" has 2`) ||
		!strings.Contains(out, "panic: boom") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestFailFast(t *testing.T) {
	h := newHarness(t)
	a := h.write("a.slt", "statement ok\nSELECT nope\n\nstatement ok\nSELECT nope\n")
	b := h.write("b.slt", "query I\nSELECT 1\n----\n1\n")
	sum, out := h.run(Options{FailFast: true}, a, b)
	h.expect(sum, out, 0, 1, 0)
	sum, out = h.run(Options{}, a, b)
	h.expect(sum, out, 1, 2, 0)
}

func TestEngineErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.slt")
	os.WriteFile(p, []byte("query I\nSELECT 1\n----\n1\n"), 0o644)
	var out bytes.Buffer
	sum, err := Run(context.Background(), []string{p}, Options{}, func() (Engine, error) {
		return nil, errors.New("no disk")
	}, &out)
	if err != nil || sum.Failed != 1 || !strings.Contains(out.String(), "cannot create the engine: no disk") {
		t.Fatalf("sum %v err %v out:\n%s", sum, err, out.String())
	}
	if _, err := Run(context.Background(), []string{filepath.Join(dir, "missing.slt")}, Options{}, nil, &out); err == nil {
		t.Fatal("a missing path should be an error")
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		text string
		line int
		msg  string
	}{
		{"statement maybe\nSELECT 1\n", 1, "statement needs ok or error"},
		{"statement ok\n\n", 1, "statement without SQL"},
		{"\n\nquery X\nSELECT 1\n", 3, "bad type string"},
		{"query I randomsort\nSELECT 1\n", 1, "unknown sort mode"},
		{"query I rowsort a b\nSELECT 1\n", 1, "unexpected"},
		{"frobnicate\n", 1, "unknown record type"},
		{"skipif\nstatement ok\nSELECT 1\n", 1, "needs one engine name"},
		{"skipif sluice\n\nstatement ok\nSELECT 1\n", 1, "condition without a record"},
		{"statement ok\nSELECT 1\n----\n1\n", 3, "---- after a statement"},
		{"statement error (\nSELECT 1\n", 1, "bad error regex"},
		{"hash-threshold x\n", 1, "hash-threshold needs a number"},
		{"flush\nSELECT 1\n", 2, "separated by blank lines"},
		{"sleep forever\n", 1, "sleep needs a duration"},
		{"include nothere.slt\n", 1, "include:"},
	} {
		_, err := Parse("x.slt", strings.NewReader(c.text))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != c.line || !strings.Contains(pe.Msg, c.msg) {
			t.Errorf("Parse(%q) = %v, want line %d containing %q", c.text, err, c.line, c.msg)
		}
	}
}

func TestParseRecords(t *testing.T) {
	recs, err := Parse("x.slt", strings.NewReader(`
skipif mysql
onlyif sluice
query ITR valuesort lbl
SELECT a,
  b
----
5 values hashing to 0123456789abcdef0123456789abcdef

statement error does not exist
DROP TABLE x

query I
SELECT 1

hash-threshold 10
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("got %d records", len(recs))
	}
	q := recs[0]
	if q.Kind != KindQuery || q.Line != 2 || q.Types != "ITR" || q.Sort != ValueSort || q.Label != "lbl" ||
		q.SQL != "SELECT a,\n  b" || q.HashCount != 5 || q.Hash != "0123456789abcdef0123456789abcdef" ||
		fmt.Sprint(q.SkipIf, q.OnlyIf) != "[mysql] [sluice]" || q.ResultLine != 7 {
		t.Fatalf("query record: %+v", q)
	}
	s := recs[1]
	if s.Kind != KindStatement || !s.ExpectError || s.ErrorRe.String() != "does not exist" || s.Line != 10 {
		t.Fatalf("statement record: %+v", s)
	}
	if recs[2].ResultLine != 0 || recs[2].Expected != nil || recs[3].Threshold != 10 {
		t.Fatalf("records: %+v", recs[2:])
	}
}

func TestTestDir(t *testing.T) {
	h := newHarness(t)
	p := h.write("a.slt", `
statement ok
ECHO __TEST_DIR__/out

query T
ECHO no dir here
----
no dir here
`)
	sum, out := h.run(Options{}, p)
	h.expect(sum, out, 2, 0, 0)
	got := strings.TrimPrefix(h.log[0], "ECHO ")
	if strings.Contains(got, "__TEST_DIR__") || !strings.HasSuffix(got, "/out") {
		t.Fatalf("__TEST_DIR__ not replaced: %q", got)
	}
	if _, err := os.Stat(filepath.Dir(got)); !os.IsNotExist(err) {
		t.Fatalf("the test folder %s should be removed after the file, stat: %v", filepath.Dir(got), err)
	}
}
