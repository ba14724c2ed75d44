package sqlexpr

import (
	"testing"

	tidb "github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// tidbExpr parses "SELECT <expr> FROM t" with the TiDB parser and returns
// the first field's expression.
func tidbExpr(t *testing.T, sql string) ast.ExprNode {
	t.Helper()
	st, err := tidb.New().ParseOneStmt(sql, "", "")
	if err != nil {
		t.Fatalf("parse %q: %v", sql, err)
	}
	return st.(*ast.SelectStmt).Fields.Fields[0].Expr
}
