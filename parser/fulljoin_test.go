package parser

import (
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// TestFullJoin: FULL [OUTER] JOIN reaches the planner as a join marked
// StraightJoin (TiDB has no full join), and offsets after it stay exact.
func TestFullJoin(t *testing.T) {
	for _, sql := range []string{
		"SELECT a.x FROM a FULL OUTER JOIN b ON a.x = b.y WHERE b.y > 1",
		"SELECT a.x FROM a full join b ON a.x = b.y WHERE b.y > 1",
	} {
		stmts, err := Parse(sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		sel := stmts[0].(*Query).Node.(*ast.SelectStmt)
		j := sel.From.TableRefs
		if !j.StraightJoin || j.Right == nil {
			t.Fatalf("%s: join not marked full: %+v", sql, j)
		}
		where := sel.Where.(*ast.BinaryOperationExpr)
		if got, want := where.OriginTextPosition(), strings.Index(sql, "b.y > 1"); got != want {
			t.Fatalf("%s: WHERE offset %d, want %d", sql, got, want)
		}
	}
	if _, err := Parse("SELECT * FROM a STRAIGHT_JOIN b ON a.x = b.x"); err == nil ||
		!strings.Contains(err.Error(), "STRAIGHT_JOIN is not supported") {
		t.Fatalf("STRAIGHT_JOIN: %v", err)
	}
}
