package parser

import (
	"slices"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluicesql/sluice/exec/types"
)

const bidDDL = `CREATE TABLE IF NOT EXISTS bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR(64), url TEXT,
  dateTime TIMESTAMP(3), extra TEXT,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND,
  PRIMARY KEY (auction, bidder) NOT ENFORCED
) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'localhost:9092',
        'scan.startup.mode' = 'earliest-offset', 'Format' = 'json', 'quote' = 'it''s', 'path' = 'C:\dir')`

func TestCreateTable(t *testing.T) {
	ct := parseOne[*CreateTable](t, bidDDL)
	if ct.Name != "bid" || !ct.IfNotExists {
		t.Errorf("name %q, if not exists %v", ct.Name, ct.IfNotExists)
	}
	wantCols := []struct {
		name string
		typ  types.Type
	}{
		{"auction", types.BigInt}, {"bidder", types.BigInt}, {"price", types.BigInt},
		{"channel", types.Varchar(64)}, {"url", types.String},
		{"dateTime", types.Type{Kind: types.KindTimestamp, Precision: 3}}, {"extra", types.String},
	}
	if len(ct.Columns) != len(wantCols) {
		t.Fatalf("%d columns, want %d", len(ct.Columns), len(wantCols))
	}
	for i, w := range wantCols {
		c := ct.Columns[i]
		if c.Name != w.name || c.Type != w.typ {
			t.Errorf("column %d = %s %v, want %s %v", i, c.Name, c.Type, w.name, w.typ)
		}
		if !strings.HasPrefix(at(ct.Span, c.Offset), w.name) {
			t.Errorf("column %s offset %d points at %.10q", c.Name, c.Offset, at(ct.Span, c.Offset))
		}
	}
	if !slices.Equal(ct.PrimaryKey, []string{"auction", "bidder"}) {
		t.Errorf("primary key %v", ct.PrimaryKey)
	}
	wm := ct.Watermark
	if wm == nil || wm.Column != "dateTime" {
		t.Fatalf("watermark %+v", wm)
	}
	if !strings.HasPrefix(at(ct.Span, wm.Offset), "WATERMARK") {
		t.Errorf("watermark offset points at %.10q", at(ct.Span, wm.Offset))
	}
	wantAt(t, ct.Span, wm.Expr, "dateTime - INTERVAL '4' SECOND")
	if got := restore(t, wm.Expr); got != "DATE_SUB(`dateTime`, INTERVAL '4' SECOND)" {
		t.Errorf("watermark expr %s", got)
	}
	wantOpts := []Option{
		{Key: "connector", Value: "kafka"}, {Key: "topic", Value: "bids"},
		{Key: "properties.bootstrap.servers", Value: "localhost:9092"},
		{Key: "scan.startup.mode", Value: "earliest-offset"}, {Key: "format", Value: "json"},
		{Key: "quote", Value: "it's"}, {Key: "path", Value: `C:\dir`},
	}
	if len(ct.Options) != len(wantOpts) {
		t.Fatalf("options %+v", ct.Options)
	}
	for i, w := range wantOpts {
		o := ct.Options[i]
		if o.Key != w.Key || o.Value != w.Value {
			t.Errorf("option %d = %q=%q, want %q=%q", i, o.Key, o.Value, w.Key, w.Value)
		}
		if !strings.HasPrefix(at(ct.Span, o.Offset), "'") {
			t.Errorf("option %s offset points at %.10q", o.Key, at(ct.Span, o.Offset))
		}
	}
}

func TestCreateTableForms(t *testing.T) {
	ct := parseOne[*CreateTable](t, `CREATE TABLE t (a INT, b TEXT, PRIMARY KEY (a) NOT ENFORCED)`)
	if ct.Options != nil || ct.Watermark != nil || !slices.Equal(ct.PrimaryKey, []string{"a"}) || len(ct.Columns) != 2 {
		t.Errorf("built-in table: %+v", ct)
	}

	ct = parseOne[*CreateTable](t, "CREATE TABLE db.`my t` (\n"+
		"  id INT NOT NULL PRIMARY KEY NOT ENFORCED COMMENT 'the id',\n"+
		"  ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,\n"+
		"  part INT METADATA VIRTUAL,\n"+
		"  off BIGINT METADATA,\n"+
		"  proc AS PROCTIME(),\n"+
		"  s AS CAST(id AS STRING) COMMENT 'computed',\n"+
		"  `select` BOOLEAN NULL\n"+
		") COMMENT 'a table' WITH ('connector' = 'datagen', 'rows-per-second' = 10)")
	if ct.Name != "db.my t" || ct.Comment != "a table" {
		t.Errorf("name %q comment %q", ct.Name, ct.Comment)
	}
	cols := ct.Columns
	if len(cols) != 7 {
		t.Fatalf("columns %+v", cols)
	}
	if !cols[0].Type.NotNull || cols[0].Comment != "the id" || !slices.Equal(ct.PrimaryKey, []string{"id"}) {
		t.Errorf("id column %+v, pk %v", cols[0], ct.PrimaryKey)
	}
	if cols[1].Type != (types.Type{Kind: types.KindTimestampLTZ, Precision: 3}) || cols[1].Metadata != "timestamp" || !cols[1].Virtual {
		t.Errorf("ts column %+v", cols[1])
	}
	if cols[2].Metadata != "part" || !cols[2].Virtual || cols[3].Metadata != "off" || cols[3].Virtual {
		t.Errorf("metadata columns %+v %+v", cols[2], cols[3])
	}
	if cols[4].Computed == nil || restore(t, cols[4].Computed) != "PROCTIME()" {
		t.Errorf("proc column %+v", cols[4])
	}
	wantAt(t, ct.Span, cols[4].Computed, "PROCTIME()")
	if cols[5].Computed == nil || cols[5].Comment != "computed" {
		t.Fatalf("s column %+v", cols[5])
	}
	wantAt(t, ct.Span, cols[5].Computed, "CAST(id AS STRING)")
	casts := nodes[*ast.FuncCastExpr](cols[5].Computed)
	if len(casts) != 1 || ct.Ext.CastTypes[casts[0]] != types.String {
		t.Errorf("computed cast types %v", ct.Ext.CastTypes)
	}
	if cols[6].Name != "select" || cols[6].Type != types.Bool {
		t.Errorf("select column %+v", cols[6])
	}
	if ct.Options[1].Value != "10" {
		t.Errorf("unquoted option value %+v", ct.Options[1])
	}

	ct = parseOne[*CreateTable](t, "CREATE TABLE t (ts TIMESTAMP(3) WITH LOCAL TIME ZONE, u TIMESTAMP WITHOUT TIME ZONE, "+
		"WATERMARK FOR ts AS ts - INTERVAL '5' SECONDS, CONSTRAINT pk PRIMARY KEY (u))")
	if ct.Columns[0].Type.Kind != types.KindTimestampLTZ || ct.Columns[1].Type != types.Timestamp {
		t.Errorf("timestamp types %v %v", ct.Columns[0].Type, ct.Columns[1].Type)
	}
	if got := restore(t, ct.Watermark.Expr); got != "DATE_SUB(`ts`, INTERVAL '5' SECOND)" {
		t.Errorf("plural interval unit: %s", got)
	}
}

func TestCreateTableErrors(t *testing.T) {
	tests := []struct{ sql, msg, at string }{
		{"CREATE TABLE t (a JSON)", "unsupported type JSON", "JSON"},
		{"CREATE TABLE t (a ENUM('x'))", "unsupported type ENUM", "ENUM"},
		{"CREATE TABLE t (a DECIMAL(20, 2))", "DECIMAL precision 20 exceeds the maximum of 18", "DECIMAL"},
		{"CREATE TABLE t (a DECIMAL(5, 6))", "DECIMAL scale 6 exceeds the precision 5", "DECIMAL"},
		{"CREATE TABLE t (a TIMESTAMP(9))", "TIMESTAMP precision 9 exceeds the maximum of 6", "TIMESTAMP"},
		{"CREATE TABLE t (a INT, A INT)", "duplicate column name 'A'", "A INT"},
		{"CREATE TABLE t (a INT, PRIMARY KEY (b))", "primary key column 'b' is not defined", "(b)"},
		{"CREATE TABLE t (a INT, WATERMARK FOR ts AS ts)", "watermark column 'ts' is not defined", "ts AS"},
		{"CREATE TABLE t (a INT) WITH ('k' = 'v', 'K' = 'w')", "duplicate option 'k'", "'K'"},
		{"CREATE TABLE t (a INT) WITH (k = 'v')", "syntax error near 'k', expected a quoted option key", "k ="},
		{"CREATE TABLE t (a INT,)", "syntax error near ')', expected a name", ")"},
		{"CREATE TABLE t (a INT, b AS )", "syntax error near ')', expected an expression", ")"},
		{"CREATE TABLE t (a INT, b AS a +)", "syntax error near ')'", ")"},
		{"CREATE TABLE t (a INT) FOO", "syntax error near 'FOO'", "FOO"},
		{"CREATE TABLE t AS SELECT 1", "statement not supported: CREATE TABLE ... AS", "AS"},
		{"CREATE TABLE t (a INT, PRIMARY KEY (a), PRIMARY KEY (a))", "a table has at most one PRIMARY KEY", "PRIMARY KEY (a))"},
	}
	for _, tt := range tests {
		e := parseErr(t, tt.sql)
		if e.Msg != tt.msg || !strings.HasPrefix(tt.sql[e.Offset:], tt.at) {
			t.Errorf("Parse(%q) = %q at %.12q, want %q at %q", tt.sql, e.Msg, tt.sql[e.Offset:], tt.msg, tt.at)
		}
	}
}

func TestCreateView(t *testing.T) {
	script := "SELECT 0;\nCREATE VIEW v (x, y) AS\n  SELECT a, b FROM t"
	stmts, err := Parse(script)
	if err != nil {
		t.Fatal(err)
	}
	cv := stmts[1].(*CreateView)
	if cv.Name != "v" || cv.Materialized || !slices.Equal(cv.Columns, []string{"x", "y"}) {
		t.Errorf("view %+v", cv)
	}
	if cv.QueryText != "SELECT a, b FROM t" || cv.Query.Text() != cv.QueryText {
		t.Errorf("query text %q / %q", cv.QueryText, cv.Query.Text())
	}
	col := nodes[*ast.ColumnNameExpr](cv.Query.Node)[1]
	wantAt(t, cv.Query.Span, col, "b FROM t")

	mv := parseOne[*CreateView](t, "CREATE MATERIALIZED VIEW IF NOT EXISTS mv AS SELECT k, COUNT(*) FROM t GROUP BY k")
	if !mv.Materialized || !mv.IfNotExists || mv.Name != "mv" || mv.QueryText != "SELECT k, COUNT(*) FROM t GROUP BY k" {
		t.Errorf("materialized view %+v", mv)
	}
}

func TestDrop(t *testing.T) {
	tests := []struct {
		sql      string
		kind     ObjectKind
		names    []string
		ifExists bool
	}{
		{"DROP TABLE t", ObjTable, []string{"t"}, false},
		{"DROP VIEW IF EXISTS a, b", ObjView, []string{"a", "b"}, true},
		{"drop materialized view db.mv", ObjMaterializedView, []string{"db.mv"}, false},
	}
	for _, tt := range tests {
		d := parseOne[*Drop](t, tt.sql)
		if d.Kind != tt.kind || !slices.Equal(d.Names, tt.names) || d.IfExists != tt.ifExists {
			t.Errorf("Parse(%q) = %+v", tt.sql, d)
		}
	}
}
