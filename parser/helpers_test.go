package parser

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
)

// parseOne parses sql, which must hold one statement of type T.
func parseOne[T Statement](t *testing.T, sql string) T {
	t.Helper()
	stmts, err := Parse(sql)
	if err != nil {
		t.Fatalf("Parse(%q): %v", sql, err)
	}
	if len(stmts) != 1 {
		t.Fatalf("Parse(%q): %d statements, want 1", sql, len(stmts))
	}
	st, ok := stmts[0].(T)
	if !ok {
		t.Fatalf("Parse(%q): got %T", sql, stmts[0])
	}
	return st
}

// parseErr parses sql, which must fail, and returns the *Error.
func parseErr(t *testing.T, sql string) *Error {
	t.Helper()
	_, err := Parse(sql)
	if err == nil {
		t.Fatalf("Parse(%q): no error", sql)
	}
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("Parse(%q): error %T is not *Error: %v", sql, err, err)
	}
	return pe
}

// nodes returns the nodes of type T under n, in visiting order.
func nodes[T ast.Node](n ast.Node) []T {
	v := &finder[T]{}
	n.Accept(v)
	return v.found
}

type finder[T ast.Node] struct{ found []T }

func (f *finder[T]) Enter(n ast.Node) (ast.Node, bool) {
	if x, ok := n.(T); ok {
		f.found = append(f.found, x)
	}
	return n, false
}

func (f *finder[T]) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// restore prints n back as SQL.
func restore(t *testing.T, n ast.Node) string {
	t.Helper()
	var b strings.Builder
	if err := n.Restore(format.NewRestoreCtx(format.RestoreStringSingleQuotes|format.RestoreKeyWordUppercase|
		format.RestoreNameBackQuotes|format.RestoreStringWithoutCharset, &b)); err != nil {
		t.Fatalf("restore: %v", err)
	}
	return b.String()
}

// at returns the script text at a node offset of statement span sp.
func at(sp Span, off int) string {
	if off < 0 || off > sp.End-sp.Start {
		return fmt.Sprintf("<offset %d outside the statement>", off)
	}
	return sp.Script[sp.Start+off:]
}

// wantAt checks that the script text at node n of span sp starts with want.
func wantAt(t *testing.T, sp Span, n ast.Node, want string) {
	t.Helper()
	if got := at(sp, n.OriginTextPosition()); !strings.HasPrefix(got, want) {
		t.Errorf("node %T at %d: text %.30q, want prefix %q", n, n.OriginTextPosition(), got, want)
	}
}

type columnName = ast.ColumnNameExpr
