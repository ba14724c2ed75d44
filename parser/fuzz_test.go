package parser

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// FuzzParse checks that Parse never panics, that its errors are *Error
// inside the script, and that the spans and node offsets of what it returns
// stay inside the script. Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add("SELECT a, COUNT(*) FILTER (WHERE b > 1) FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY a;")
	f.Add("CREATE TABLE t (a INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('k' = 'v');")
	f.Add("EXECUTE STATEMENT SET BEGIN INSERT INTO a VALUES (1, 'x'); END; SELECT CAST(x AS INT) FROM (VALUES (1)) AS v(x)")
	f.Fuzz(func(t *testing.T, script string) {
		stmts, err := Parse(script)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			if e.Line < 1 || e.Column < 1 || e.Offset < 0 || e.Offset > len(script) {
				t.Fatalf("error out of the script: %+v", e)
			}
			_ = e.Error()
			return
		}
		for _, st := range stmts {
			checkStatement(t, st)
		}
	})
}

// checkStatement verifies that st's span and the offsets of its TiDB nodes
// lie inside its script.
func checkStatement(t *testing.T, st Statement) {
	sp := st.StatementSpan()
	if sp.Start < 0 || sp.Start > sp.End || sp.End > len(sp.Script) {
		t.Fatalf("%T span [%d, %d) outside the script (%d bytes)", st, sp.Start, sp.End, len(sp.Script))
	}
	tree := func(n ast.Node) {
		if n == nil {
			return
		}
		v := &offsetChecker{t: t, limit: sp.End - sp.Start, text: sp.Text()}
		n.Accept(v)
	}
	switch s := st.(type) {
	case *Query:
		tree(s.Node)
		for _, c := range s.Ext.AggFilters {
			tree(c)
		}
	case *Insert:
		checkStatement(t, s.Query)
	case *CreateView:
		checkStatement(t, s.Query)
	case *Explain:
		checkStatement(t, s.Stmt)
	case *StatementSet:
		for _, ins := range s.Inserts {
			checkStatement(t, ins)
		}
	case *CreateTable:
		if s.Watermark != nil {
			tree(s.Watermark.Expr)
		}
		for _, c := range s.Columns {
			tree(c.Computed)
		}
	case *Update:
		tree(s.Where)
		for _, a := range s.Set {
			tree(a.Expr)
		}
	case *Delete:
		tree(s.Where)
	}
}

type offsetChecker struct {
	t     *testing.T
	limit int
	text  string
}

func (v *offsetChecker) Enter(n ast.Node) (ast.Node, bool) {
	if p := n.OriginTextPosition(); p < 0 || p > v.limit {
		v.t.Fatalf("%T at offset %d outside its statement %q", n, p, v.text)
	}
	return n, false
}

func (v *offsetChecker) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// TestTruncatedSeeds runs the fuzz checks on every prefix of every seed: cut
// statements are where hand-written parsers tend to index out of range.
func TestTruncatedSeeds(t *testing.T) {
	files, err := filepath.Glob("testdata/fuzz/FuzzParse/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, lit, ok := strings.Cut(strings.TrimSpace(string(b)), "\n")
		lit = strings.TrimSuffix(strings.TrimPrefix(lit, "string("), ")")
		seed, err := strconv.Unquote(lit)
		if !ok || err != nil {
			t.Fatalf("%s: bad seed file: %v", f, err)
		}
		for n := 0; n <= len(seed); n++ {
			script := seed[:n]
			stmts, err := Parse(script)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Line < 1 || e.Offset < 0 || e.Offset > len(script) {
					t.Fatalf("Parse(%q): bad error %v", script, err)
				}
				continue
			}
			for _, st := range stmts {
				checkStatement(t, st)
			}
		}
	}
}
