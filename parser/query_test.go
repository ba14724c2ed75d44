package parser

import (
	"slices"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluicesql/sluice/exec/types"
)

func TestQueries(t *testing.T) {
	tests := []struct{ sql, restored string }{
		{"SELECT a, b FROM t WHERE a > 1", "SELECT `a`,`b` FROM `t` WHERE `a`>1"},
		{"SELECT a FROM t UNION ALL SELECT b FROM u", "SELECT `a` FROM `t` UNION ALL SELECT `b` FROM `u`"},
		{"(SELECT 1) UNION (SELECT 2)", "(SELECT 1) UNION (SELECT 2)"},
		{"SELECT * FROM (SELECT a FROM t) WHERE a IN (SELECT b FROM u)",
			"SELECT * FROM (SELECT `a` FROM `t`) WHERE `a` IN (SELECT `b` FROM `u`)"},
		{"WITH x AS (SELECT 1 AS a) SELECT a FROM x", "WITH `x` AS (SELECT 1 AS `a`) SELECT `a` FROM `x`"},
		{"SELECT COUNT ( * ), SUM ( a ) FROM t", "SELECT COUNT(1),SUM(`a`) FROM `t`"},
		{"SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY x DESC) AS rn FROM t) WHERE rn <= 3",
			"SELECT * FROM (SELECT *,ROW_NUMBER() OVER (PARTITION BY `k` ORDER BY `x` DESC) AS `rn` FROM `t`) WHERE `rn`<=3"},
		{"SELECT * FROM a JOIN b ON a.id = b.id AND a.ts BETWEEN b.ts - INTERVAL '1' HOUR AND b.ts",
			"SELECT * FROM `a` JOIN `b` ON `a`.`id`=`b`.`id` AND `a`.`ts` BETWEEN DATE_SUB(`b`.`ts`, INTERVAL '1' HOUR) AND `b`.`ts`"},
		{"SELECT \"x\" || 'y', ts + INTERVAL '1:30' MINUTE TO SECOND FROM t",
			"SELECT 'x' OR 'y',DATE_ADD(`ts`, INTERVAL '1:30' MINUTE_SECOND) FROM `t`"},
		{"VALUES (1, 'a'), (2, 'b')", "VALUES ROW(1,'a'), ROW(2,'b')"},
		{"VALUES 1, 2", "VALUES ROW(1), ROW(2)"},
		{"VALUES ROW(1, 'a')", "VALUES ROW(1,'a')"},
		{"SELECT * FROM (VALUES (1, 'a')) AS t(a, b)", "SELECT * FROM (VALUES ROW(1,'a')) AS `t`"},
		{"SELECT 1 UNION ALL VALUES (2), (3)", "SELECT 1 UNION ALL VALUES ROW(2), ROW(3)"},
		{"SELECT * FROM t WHERE a IN (VALUES 1, 2)", "SELECT * FROM `t` WHERE `a` IN (VALUES ROW(1), ROW(2))"},
		{"SELECT f(a, INTERVAL '1' MINUTE) FROM t", "SELECT F(`a`, `__ivl0__`) FROM `t`"},
		{"SELECT DATE_ADD(ts, INTERVAL 1 DAY) FROM t", "SELECT DATE_ADD(`ts`, INTERVAL 1 DAY) FROM `t`"},
	}
	for _, tt := range tests {
		q := parseOne[*Query](t, tt.sql)
		if got := restore(t, q.Node); got != tt.restored {
			t.Errorf("Parse(%q)\n got %s\nwant %s", tt.sql, got, tt.restored)
		}
	}
}

func TestValues(t *testing.T) {
	q := parseOne[*Query](t, "VALUES (1, 'a'),\n       (2, 'b')")
	sel := q.Node.(*ast.SelectStmt)
	if sel.Kind != ast.SelectStmtKindValues || len(sel.Lists) != 2 || len(sel.Lists[1].Values) != 2 {
		t.Fatalf("VALUES: %+v", sel)
	}
	wantAt(t, q.Span, sel.Lists[1], "(2, 'b')")
	wantAt(t, q.Span, sel.Lists[1].Values[1], "'b'")

	q = parseOne[*Query](t, "SELECT a, b FROM (VALUES (1, 'a'), (2, 'b')) AS t(a, b) JOIN (SELECT 1 AS c) u ON a = c")
	srcs := nodes[*ast.TableSource](q.Node)
	if len(q.Ext.ColumnAliases) != 1 || !slices.Equal(q.Ext.ColumnAliases[srcs[0]], []string{"a", "b"}) {
		t.Errorf("column aliases %v", q.Ext.ColumnAliases)
	}

	q = parseOne[*Query](t, "SELECT * FROM (SELECT * FROM (VALUES (1)) AS t(x)) AS t(y), (VALUES (2)) v (z)")
	srcs = nodes[*ast.TableSource](q.Node)
	got := map[string][]string{}
	for s, cols := range q.Ext.ColumnAliases {
		got[restore(t, s.Source)] = cols
	}
	want := map[string][]string{
		"SELECT * FROM (VALUES ROW(1)) AS `t`": {"y"},
		"VALUES ROW(1)":                        {"x"},
		"VALUES ROW(2)":                        {"z"},
	}
	if len(got) != len(want) {
		t.Fatalf("column aliases %v (%d sources)", got, len(srcs))
	}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("column aliases of %s = %v, want %v", k, got[k], v)
		}
	}

	e := parseErr(t, "VALUES (1, 2), (3)")
	if e.Msg != "VALUES rows have different numbers of columns" || e.Column != 16 {
		t.Errorf("ragged VALUES: %v", e)
	}
}

func TestCastTypes(t *testing.T) {
	ts := func(k types.Kind, p int) types.Type { return types.Type{Kind: k, Precision: p} }
	tests := []struct {
		typ  string
		want types.Type
	}{
		{"INTEGER", types.Int}, {"INT", types.Int}, {"TINYINT", types.TinyInt}, {"SMALLINT", types.SmallInt},
		{"BIGINT", types.BigInt}, {"SIGNED", types.BigInt}, {"SIGNED INTEGER", types.BigInt},
		{"BOOLEAN", types.Bool}, {"BOOL", types.Bool},
		{"TEXT", types.String}, {"STRING", types.String}, {"VARCHAR", types.String},
		{"VARCHAR(10)", types.Varchar(10)}, {"CHAR(3)", types.Type{Kind: types.KindChar, Length: 3}},
		{"REAL", types.Double}, {"DOUBLE", types.Double}, {"FLOAT", types.Float},
		{"DECIMAL(10, 2)", types.Decimal(10, 2)}, {"NUMERIC", types.Decimal(10, 0)}, {"DECIMAL(5)", types.Decimal(5, 0)},
		{"TIMESTAMP(3)", ts(types.KindTimestamp, 3)}, {"TIMESTAMP", ts(types.KindTimestamp, 6)},
		{"DATETIME(0)", ts(types.KindTimestamp, 0)},
		{"TIMESTAMP_LTZ(3)", ts(types.KindTimestampLTZ, 3)}, {"TIMESTAMP(3) WITH LOCAL TIME ZONE", ts(types.KindTimestampLTZ, 3)},
		{"DATE", types.Date}, {"TIME", types.Time}, {"TIME(3)", ts(types.KindTime, 3)},
		{"BYTES", types.Bytes}, {"VARBINARY", types.Bytes}, {"BINARY(4)", types.Bytes},
	}
	for _, tt := range tests {
		sql := "SELECT 1 + CAST(x AS " + tt.typ + ") + y FROM t"
		q := parseOne[*Query](t, sql)
		casts := nodes[*ast.FuncCastExpr](q.Node)
		if len(casts) != 1 {
			t.Fatalf("%s: %d casts", sql, len(casts))
		}
		if got := q.Ext.CastTypes[casts[0]]; got != tt.want {
			t.Errorf("CAST(x AS %s) = %v, want %v", tt.typ, got, tt.want)
		}
		wantAt(t, q.Span, casts[0], "CAST(x")
		wantAt(t, q.Span, casts[0].Expr, "x AS")
		cols := nodes[*ast.ColumnNameExpr](q.Node)
		wantAt(t, q.Span, cols[len(cols)-1], "y FROM")
	}

	q := parseOne[*Query](t, "SELECT CAST(CAST(a AS INT) AS STRING), CONVERT(b, BOOLEAN), BINARY c, CONVERT(d USING utf8mb4) FROM t")
	casts := nodes[*ast.FuncCastExpr](q.Node)
	var got []string
	for _, c := range casts {
		got = append(got, q.Ext.CastTypes[c].String())
	}
	if want := []string{"STRING", "INT", "BOOLEAN", "BYTES"}; !slices.Equal(got, want) || len(q.Ext.CastTypes) != 3+1 {
		t.Errorf("cast types %v, want %v", got, want)
	}

	for _, sql := range []string{"SELECT CAST(x AS JSON)", "SELECT CAST(x AS DECIMAL(30, 2))", "SELECT CAST(x AS INT UNSIGNED)"} {
		e := parseErr(t, sql)
		if !strings.HasPrefix(sql[e.Offset:], strings.Fields(sql[len("SELECT CAST(x AS "):])[0][:3]) {
			t.Errorf("Parse(%q): error %q at %q", sql, e.Msg, sql[e.Offset:])
		}
	}
}

func TestWindowTVF(t *testing.T) {
	iv := func(v, u string) Interval { return Interval{Value: v, Unit: u} }
	tests := []struct {
		from      string
		kind      WindowKind
		table     string
		partition []string
		timeCol   string
		args      []Interval
	}{
		{"TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))", Tumble, "bid", nil, "dateTime",
			[]Interval{iv("10", "SECOND")}},
		{"TABLE(TUMBLE(TABLE db.bid, DESCRIPTOR(ts), INTERVAL '1' HOUR, INTERVAL '5' MINUTES)) AS w", Tumble, "db.bid", nil, "ts",
			[]Interval{iv("1", "HOUR"), iv("5", "MINUTE")}},
		{"TABLE(HOP(TABLE bid, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL 10 SECOND))", Hop, "bid", nil, "ts",
			[]Interval{iv("5", "SECOND"), iv("10", "SECOND")}},
		{"TABLE(CUMULATE(TABLE bid, DESCRIPTOR(ts), INTERVAL '2' MINUTE, INTERVAL '10' MINUTE)) w", Cumulate, "bid", nil, "ts",
			[]Interval{iv("2", "MINUTE"), iv("10", "MINUTE")}},
		{"TABLE(SESSION(TABLE bid PARTITION BY k, DESCRIPTOR(ts), INTERVAL '5' MINUTE))", Session, "bid", []string{"k"}, "ts",
			[]Interval{iv("5", "MINUTE")}},
		{"TABLE(SESSION(TABLE bid PARTITION BY (k1, k2), DESCRIPTOR(ts), INTERVAL '5' MINUTE))", Session, "bid", []string{"k1", "k2"}, "ts",
			[]Interval{iv("5", "MINUTE")}},
		{"TABLE(\n  hop(\n    DATA => TABLE bid,\n    TIMECOL => DESCRIPTOR(ts),\n    SIZE => INTERVAL '10' MINUTES,\n    SLIDE => INTERVAL '5' MINUTES))",
			Hop, "bid", nil, "ts", []Interval{iv("5", "MINUTE"), iv("10", "MINUTE")}},
	}
	for _, tt := range tests {
		sql := "SELECT window_start, COUNT(*)\nFROM " + tt.from + "\nGROUP BY window_start, window_end"
		q := parseOne[*Query](t, sql)
		names := nodes[*ast.TableName](q.Node)
		if len(names) != 1 || names[0].Name.L != "__tvf0__" {
			t.Fatalf("%s: table names %v", sql, names)
		}
		w := q.Ext.WindowTVFs["__tvf0__"]
		if w == nil || w.Kind != tt.kind || w.Table != tt.table || !slices.Equal(w.PartitionBy, tt.partition) || w.TimeCol != tt.timeCol {
			t.Fatalf("%s: tvf %+v", sql, w)
		}
		if !strings.HasPrefix(at(q.Span, w.Offset), "TABLE(") {
			t.Errorf("tvf offset points at %.10q", at(q.Span, w.Offset))
		}
		if len(w.Args) != len(tt.args) {
			t.Fatalf("%s: args %+v", sql, w.Args)
		}
		for i, a := range w.Args {
			if a.Value != tt.args[i].Value || a.Unit != tt.args[i].Unit || !strings.HasPrefix(at(q.Span, a.Offset), "INTERVAL") {
				t.Errorf("%s: arg %d = %+v", sql, i, a)
			}
		}
		if alias := strings.Fields(tt.from[strings.LastIndex(tt.from, ")")+1:]); len(alias) > 0 {
			ts := nodes[*ast.TableSource](q.Node)[0]
			if ts.AsName.O != alias[len(alias)-1] {
				t.Errorf("%s: alias %q", sql, ts.AsName.O)
			}
		}
		cols := nodes[*ast.ColumnNameExpr](q.Node)
		wantAt(t, q.Span, cols[len(cols)-1], "window_end")
	}

	q := parseOne[*Query](t, "SELECT * FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(ts), INTERVAL '1' SECOND)) x "+
		"JOIN TABLE(TUMBLE(TABLE b, DESCRIPTOR(ts), INTERVAL '1' SECOND)) y ON x.window_start = y.window_start")
	if q.Ext.WindowTVFs["__tvf0__"].Table != "a" || q.Ext.WindowTVFs["__tvf1__"].Table != "b" {
		t.Errorf("window join: %+v", q.Ext.WindowTVFs)
	}

	errs := []struct{ sql, msg string }{
		{"SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts)))", "TUMBLE needs a SIZE interval"},
		{"SELECT * FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND))", "HOP needs a SIZE interval"},
		{"SELECT * FROM TABLE(TUMBLE(DESCRIPTOR(ts), INTERVAL '1' SECOND))", "TUMBLE needs a TABLE argument"},
		{"SELECT * FROM TABLE(TUMBLE(TABLE t, INTERVAL '1' SECOND))", "TUMBLE needs a DESCRIPTOR(time column) argument"},
		{"SELECT * FROM TABLE(TUMBLE(TABLE t PARTITION BY k, DESCRIPTOR(ts), INTERVAL '1' SECOND))",
			"PARTITION BY is only allowed in SESSION windows"},
		{"SELECT * FROM TABLE(SESSION(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '1' SECOND))",
			"too many arguments for SESSION"},
		{"SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), GAP => INTERVAL '1' SECOND))", "TUMBLE has no argument GAP"},
		{"SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), 5))",
			"syntax error near '5', expected TABLE, DESCRIPTOR or INTERVAL"},
	}
	for _, tt := range errs {
		if e := parseErr(t, tt.sql); e.Msg != tt.msg {
			t.Errorf("Parse(%q) = %q, want %q", tt.sql, e.Msg, tt.msg)
		}
	}
}

func TestAggFilter(t *testing.T) {
	sql := "SELECT k,\n  COUNT ( * ) FILTER (WHERE price > 10 AND CAST(c AS STRING) = 'x') AS n,\n  SUM(price) FILTER(where k <> 2),\n  MAX(price)\nFROM t GROUP BY k"
	q := parseOne[*Query](t, sql)
	aggs := nodes[*ast.AggregateFuncExpr](q.Node)
	if len(aggs) != 3 || len(q.Ext.AggFilters) != 2 {
		t.Fatalf("aggregates %d, filters %d", len(aggs), len(q.Ext.AggFilters))
	}
	wantAt(t, q.Span, aggs[0], "COUNT ( * )")
	cond := q.Ext.AggFilters[aggs[0]]
	wantAt(t, q.Span, cond, "price > 10 AND")
	if got := restore(t, cond); got != "`price`>10 AND CAST(`c` AS CHAR)=_UTF8MB4'x'" && got != "`price`>10 AND CAST(`c` AS CHAR)='x'" {
		t.Errorf("filter condition %s", got)
	}
	cast := nodes[*ast.FuncCastExpr](cond)[0]
	if q.Ext.CastTypes[cast] != types.String {
		t.Errorf("cast in filter: %v", q.Ext.CastTypes)
	}
	wantAt(t, q.Span, q.Ext.AggFilters[aggs[1]], "k <> 2")
	if _, ok := q.Ext.AggFilters[aggs[2]]; ok {
		t.Errorf("MAX has no filter")
	}
	if n := nodes[*ast.SelectField](q.Node)[1]; n.AsName.O != "n" {
		t.Errorf("alias after FILTER: %q", n.AsName.O)
	}

	for _, sql := range []string{"SELECT f(x) FILTER (WHERE a) FROM t", "SELECT COUNT(*) FILTER (WHERE a, b) FROM t"} {
		e := parseErr(t, sql)
		if !strings.Contains(e.Msg, "FILTER") && !strings.Contains(e.Msg, "expression") {
			t.Errorf("Parse(%q): %v", sql, e)
		}
	}
}

func TestIntervalArgument(t *testing.T) {
	q := parseOne[*Query](t, "SELECT my_udf(ts, INTERVAL '1' MINUTE), g(INTERVAL '2' DAY) FROM t")
	if len(q.Ext.Intervals) != 2 {
		t.Fatalf("intervals %v", q.Ext.Intervals)
	}
	iv := q.Ext.Intervals["__ivl0__"]
	if iv.Value != "1" || iv.Unit != "MINUTE" || !strings.HasPrefix(at(q.Span, iv.Offset), "INTERVAL '1'") {
		t.Errorf("interval %+v", iv)
	}
	cols := nodes[*ast.ColumnNameExpr](q.Node)
	if cols[1].Name.Name.L != "__ivl0__" {
		t.Errorf("placeholder %v", cols[1].Name)
	}
	wantAt(t, q.Span, cols[1], "INTERVAL '1' MINUTE")
}

func TestInsert(t *testing.T) {
	script := "SELECT 1;\nINSERT INTO t (a, b)\nVALUES (1, 'x'), (2, 'y');\nINSERT OVERWRITE db.t SELECT * FROM (SELECT 1);\ninsert into t (select a from u)"
	stmts, err := Parse(script)
	if err != nil {
		t.Fatal(err)
	}
	ins := stmts[1].(*Insert)
	if ins.Table != "t" || !slices.Equal(ins.Columns, []string{"a", "b"}) || ins.Overwrite {
		t.Errorf("insert %+v", ins)
	}
	sel := ins.Query.Node.(*ast.SelectStmt)
	if sel.Kind != ast.SelectStmtKindValues || len(sel.Lists) != 2 {
		t.Fatalf("insert values %s", restore(t, sel))
	}
	if ins.Query.Text() != "VALUES (1, 'x'), (2, 'y')" {
		t.Errorf("query span %q", ins.Query.Text())
	}
	wantAt(t, ins.Query.Span, sel.Lists[1].Values[1], "'y'")

	ins = stmts[2].(*Insert)
	if ins.Table != "db.t" || !ins.Overwrite || ins.Columns != nil {
		t.Errorf("insert overwrite %+v", ins)
	}
	ins = stmts[3].(*Insert)
	if ins.Columns != nil || ins.Query.Text() != "(select a from u)" {
		t.Errorf("insert with parenthesized query %+v %q", ins, ins.Query.Text())
	}

	e := parseErr(t, "INSERT INTO t SET a = 1")
	if e.Msg != "syntax error near 'SET', expected SELECT or VALUES" {
		t.Errorf("INSERT SET: %v", e)
	}
}

func TestDeleteUpdate(t *testing.T) {
	d := parseOne[*Delete](t, "DELETE FROM t WHERE a = CAST('1' AS INTEGER)")
	if d.Table != "t" || d.Where == nil {
		t.Fatalf("delete %+v", d)
	}
	wantAt(t, d.Span, d.Where, "a = CAST")
	if len(d.Ext.CastTypes) != 1 {
		t.Errorf("delete cast types %v", d.Ext.CastTypes)
	}
	d = parseOne[*Delete](t, "DELETE FROM db.t")
	if d.Table != "db.t" || d.Where != nil {
		t.Errorf("delete all %+v", d)
	}

	u := parseOne[*Update](t, "UPDATE t SET a = a + 1, b = 'x' WHERE c > 2")
	if u.Table != "t" || len(u.Set) != 2 || u.Set[0].Column != "a" || u.Set[1].Column != "b" {
		t.Fatalf("update %+v", u)
	}
	wantAt(t, u.Span, u.Set[0].Expr, "a + 1")
	wantAt(t, u.Span, u.Where, "c > 2")

	for _, sql := range []string{"DELETE FROM t LIMIT 1", "UPDATE a JOIN b ON a.x = b.x SET a.y = 1", "DELETE FROM t AS x"} {
		if e := parseErr(t, sql); !strings.HasPrefix(e.Msg, "statement not supported") {
			t.Errorf("Parse(%q): %v", sql, e)
		}
	}
}

func TestParseExpr(t *testing.T) {
	e, err := ParseExpr("ts - INTERVAL '5' SECOND")
	if err != nil {
		t.Fatal(err)
	}
	if got := restore(t, e); got != "DATE_SUB(`ts`, INTERVAL '5' SECOND)" {
		t.Errorf("ParseExpr: %s", got)
	}
	e, ext, err := ParseExprExt("1 + CAST(a AS INT) * b")
	if err != nil {
		t.Fatal(err)
	}
	cols := nodes[*ast.ColumnNameExpr](e)
	if cols[0].OriginTextPosition() != 9 || cols[1].OriginTextPosition() != 21 {
		t.Errorf("expression offsets %d %d", cols[0].OriginTextPosition(), cols[1].OriginTextPosition())
	}
	if c := nodes[*ast.FuncCastExpr](e)[0]; ext.CastTypes[c] != types.Int || c.OriginTextPosition() != 4 {
		t.Errorf("cast %v at %d", ext.CastTypes[c], c.OriginTextPosition())
	}
	for _, bad := range []string{"", "a +", "a, b", "SELECT 1", "a FROM t"} {
		if _, err := ParseExpr(bad); err == nil {
			t.Errorf("ParseExpr(%q): no error", bad)
		}
	}
}

func TestFieldText(t *testing.T) {
	q := parseOne[*Query](t, "SELECT CAST(x AS STRING) AS c, CAST(y AS INT)+1, COUNT(*) FILTER (WHERE a > 1), z FROM t")
	var got []string
	for _, f := range nodes[*ast.SelectField](q.Node) {
		got = append(got, f.Text())
	}
	if want := []string{"CAST(x AS STRING) AS c", "CAST(y AS INT)+1", "COUNT(*)", "z"}; !slices.Equal(got, want) {
		t.Errorf("field texts %q, want %q", got, want)
	}
}
