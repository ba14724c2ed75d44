package parser

import (
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// TestOffsets checks, for every TiDB node of a multi-statement, multi-line
// script, that OriginTextPosition() + Span.Start points at the node's text.
func TestOffsets(t *testing.T) {
	script := `-- a script
CREATE TABLE bid (
  price BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '4' SECOND
) WITH ('connector' = 'datagen');

SELECT 1;   /* x; y */
SELECT CAST(price AS INT) + price AS p,   -- the INT cast makes TiDB's text longer
       COUNT(*) FILTER (WHERE price > 10 AND CAST(ts AS BOOL)),
       f(price, INTERVAL '1' MINUTE, 'tail')
FROM TABLE(
  TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '10' SECOND)) AS w
WHERE price IN (SELECT x FROM (VALUES (1), (2)) AS v(x))
GROUP BY window_start, window_end;
CREATE VIEW v AS
  SELECT price * 2 AS d FROM bid;
EXPLAIN
  INSERT INTO s SELECT CAST(d AS STRING), d FROM v;
EXECUTE STATEMENT SET BEGIN
  INSERT INTO a SELECT price FROM bid;
  INSERT INTO b VALUES (1, 'x');
END;
UPDATE bid SET price = CAST(price AS INT) + 1 WHERE ts IS NULL;
DELETE FROM bid WHERE price < 0
`
	stmts, err := Parse(script)
	if err != nil {
		t.Fatal(err)
	}
	type tree struct {
		sp Span
		n  ast.Node
	}
	var trees []tree
	var add func(st Statement)
	add = func(st Statement) {
		switch s := st.(type) {
		case *CreateTable:
			trees = append(trees, tree{s.Span, s.Watermark.Expr})
		case *Query:
			trees = append(trees, tree{s.Span, s.Node})
			for _, c := range s.Ext.AggFilters {
				trees = append(trees, tree{s.Span, c})
			}
		case *CreateView:
			add(s.Query)
		case *Insert:
			add(s.Query)
		case *Explain:
			add(s.Stmt)
		case *StatementSet:
			for _, ins := range s.Inserts {
				add(ins)
			}
		case *Update:
			trees = append(trees, tree{s.Span, s.Where})
			for _, a := range s.Set {
				trees = append(trees, tree{s.Span, a.Expr})
			}
		case *Delete:
			trees = append(trees, tree{s.Span, s.Where})
		}
	}
	for _, st := range stmts {
		add(st)
	}
	checked := 0
	for _, tr := range trees {
		for _, c := range nodes[*ast.ColumnNameExpr](tr.n) {
			name := c.Name.Name.O
			if strings.HasPrefix(name, "__ivl") {
				name = "INTERVAL"
			}
			wantAt(t, tr.sp, c, name)
			checked++
		}
		for _, c := range nodes[*ast.FuncCastExpr](tr.n) {
			wantAt(t, tr.sp, c, "CAST(")
			checked++
		}
		for _, a := range nodes[*ast.AggregateFuncExpr](tr.n) {
			wantAt(t, tr.sp, a, "COUNT(*)")
			checked++
		}
		for _, f := range nodes[*ast.SelectField](tr.n) {
			if f.WildCard == nil && f.Offset > 0 {
				if got, want := at(tr.sp, f.Offset), at(tr.sp, f.Expr.OriginTextPosition()); got != want {
					t.Errorf("select field at %.20q, its expression at %.20q", got, want)
				}
			}
		}
		for _, v := range nodes[ast.ValueExpr](tr.n) {
			if v.OriginTextPosition() > 0 {
				got := at(tr.sp, v.OriginTextPosition())
				if s := v.GetString(); s != "" && !strings.HasPrefix(got, "'"+s+"'") && !strings.HasPrefix(got, s) {
					t.Errorf("value %q at %.20q", s, got)
				}
				checked++
			}
		}
	}
	t.Logf("%d nodes checked", checked)
	if checked < 30 {
		t.Errorf("only %d nodes checked", checked)
	}
}

// TestRewrittenText checks what TiDB is given for the package
// documentation's example.
func TestRewrittenText(t *testing.T) {
	sql := "SELECT window_start, COUNT(*) FILTER (WHERE price > 10), CAST(price AS STRING)\n" +
		"FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))\n" +
		"GROUP BY window_start, window_end"
	c, err := newCursor(Span{Script: sql, End: len(sql)})
	if err != nil {
		t.Fatal(err)
	}
	r := newRewriter(c)
	if err := r.scan(0, len(c.toks)); err != nil {
		t.Fatal(err)
	}
	got, m := r.build(0, len(sql), false)
	want := "SELECT window_start, COUNT(*)                          , CAST(price AS CHAR  )\n" +
		"FROM __tvf0__" + strings.Repeat(" ", len("TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))")-len("__tvf0__")) + "\n" +
		"GROUP BY window_start, window_end"
	if got != want || !m.identity() {
		t.Errorf("rewritten\n%q\nwant\n%q", got, want)
	}
}

// TestOffsetsSurviveLaterParses is a regression test: TiDB's parser reuses
// its symbol cache, and a later parse (here the FILTER condition's) could set
// the offsets of an earlier, already remapped tree back to TiDB's.
func TestOffsetsSurviveLaterParses(t *testing.T) {
	sql := "SELECT COUNT(*) FILTER (WHERE a) FROM t WHERE CAST(y AS BOOL) AND C"
	q := parseOne[*Query](t, sql)
	cols := nodes[*ast.ColumnNameExpr](q.Node)
	wantAt(t, q.Span, cols[len(cols)-1], "C")
	if _, err := Parse("SELECT 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 + 14 + 15 + 16 + 17 + 18 + 19"); err != nil {
		t.Fatal(err)
	}
	wantAt(t, q.Span, cols[len(cols)-1], "C")
}
