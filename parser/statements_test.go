package parser

import (
	"strings"
	"testing"
)

func TestSetReset(t *testing.T) {
	sets := []struct{ sql, key, value string }{
		{"SET 'execution.checkpointing.interval' = '10s'", "execution.checkpointing.interval", "10s"},
		{"SET 'a' = 'it''s'", "a", "it's"},
		{"SET table.exec.mini-batch.enabled = true", "table.exec.mini-batch.enabled", "true"},
		{"SET parallelism.default = 4", "parallelism.default", "4"},
		{"SET `a.b.c` = \"x y\"", "a.b.c", "x y"},
		{"SET", "", ""},
	}
	for _, tt := range sets {
		s := parseOne[*Set](t, tt.sql)
		if s.Key != tt.key || s.Value != tt.value {
			t.Errorf("Parse(%q) = %q=%q, want %q=%q", tt.sql, s.Key, s.Value, tt.key, tt.value)
		}
	}
	resets := []struct{ sql, key string }{{"RESET 'a.b'", "a.b"}, {"RESET a.b-c", "a.b-c"}, {"reset", ""}}
	for _, tt := range resets {
		if r := parseOne[*Reset](t, tt.sql); r.Key != tt.key {
			t.Errorf("Parse(%q) = %q, want %q", tt.sql, r.Key, tt.key)
		}
	}
	for _, sql := range []string{"SET 'a'", "SET = 'b'", "SET 'a' =", "SET 'a' = 'b' 'c'", "RESET 'a' 'b'"} {
		parseErr(t, sql)
	}
}

func TestShow(t *testing.T) {
	tests := []struct {
		sql    string
		kind   ShowKind
		target string
	}{
		{"SHOW TABLES", ShowTables, ""},
		{"show views", ShowViews, ""},
		{"SHOW MATERIALIZED VIEWS", ShowMaterializedViews, ""},
		{"SHOW JOBS", ShowJobs, ""},
		{"SHOW CONNECTORS", ShowConnectors, ""},
		{"SHOW CHECKPOINTS FOR JOB 'j-1'", ShowCheckpoints, "j-1"},
		{"SHOW TRANSACTIONS FOR JOB 'j2'", ShowTransactions, "j2"},
		{"SHOW CREATE TABLE db.t", ShowCreateTable, "db.t"},
	}
	for _, tt := range tests {
		s := parseOne[*Show](t, tt.sql)
		if s.Kind != tt.kind || s.Target != tt.target {
			t.Errorf("Parse(%q) = %+v", tt.sql, s)
		}
	}
	if e := parseErr(t, "SHOW CHECKPOINTS FOR 'j'"); e.Msg != "syntax error near ''j'', expected JOB" {
		t.Errorf("SHOW CHECKPOINTS: %v", e)
	}
}

func TestSimpleStatements(t *testing.T) {
	if d := parseOne[*Describe](t, "DESCRIBE t"); d.Name != "t" {
		t.Errorf("describe %+v", d)
	}
	if d := parseOne[*Describe](t, "desc `my t`"); d.Name != "my t" {
		t.Errorf("desc %+v", d)
	}
	if s := parseOne[*StopJob](t, "STOP JOB 'abc'"); s.ID != "abc" || s.WithSavepoint {
		t.Errorf("stop %+v", s)
	}
	if s := parseOne[*StopJob](t, "STOP JOB 'abc' WITH SAVEPOINT"); s.ID != "abc" || !s.WithSavepoint {
		t.Errorf("stop with savepoint %+v", s)
	}
	if f := parseOne[*Flush](t, "FLUSH"); f.Text() != "FLUSH" {
		t.Errorf("flush %+v", f)
	}
	for _, sql := range []string{"STOP JOB", "STOP JOB 'a' WITH DRAIN", "DESCRIBE", "DESCRIBE a b"} {
		parseErr(t, sql)
	}
}

func TestExplain(t *testing.T) {
	script := "EXPLAIN SELECT 1;\nEXPLAIN CHANGELOG_MODE\n  INSERT INTO s SELECT a FROM t;\nEXPLAIN PLAN FOR EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; END"
	stmts, err := Parse(script)
	if err != nil {
		t.Fatal(err)
	}
	e := stmts[0].(*Explain)
	if q, ok := e.Stmt.(*Query); !ok || e.ChangelogMode || q.Text() != "SELECT 1" {
		t.Errorf("explain query %+v", e)
	}
	e = stmts[1].(*Explain)
	ins, ok := e.Stmt.(*Insert)
	if !ok || !e.ChangelogMode || ins.Table != "s" || ins.Text() != "INSERT INTO s SELECT a FROM t" {
		t.Fatalf("explain insert %+v", e)
	}
	wantAt(t, ins.Query.Span, nodes[*columnName](ins.Query.Node)[0], "a FROM t")
	e = stmts[2].(*Explain)
	if ss, ok := e.Stmt.(*StatementSet); !ok || len(ss.Inserts) != 1 {
		t.Errorf("explain statement set %+v", e)
	}
	for _, sql := range []string{"EXPLAIN", "EXPLAIN CREATE TABLE t (a INT)", "EXPLAIN ESTIMATED_COST SELECT 1"} {
		parseErr(t, sql)
	}
}

func TestStatementSet(t *testing.T) {
	script := "EXECUTE STATEMENT SET\nBEGIN\n  INSERT INTO a SELECT x FROM t;\n  INSERT INTO b (k) SELECT CASE WHEN x > 1 THEN 1 END FROM t;\nEND;\nSELECT 1"
	stmts, err := Parse(script)
	if err != nil {
		t.Fatal(err)
	}
	if len(stmts) != 2 {
		t.Fatalf("%d statements", len(stmts))
	}
	ss := stmts[0].(*StatementSet)
	if len(ss.Inserts) != 2 || ss.Inserts[0].Table != "a" || ss.Inserts[1].Table != "b" {
		t.Fatalf("statement set %+v", ss)
	}
	if got := ss.Inserts[1].Text(); got != "INSERT INTO b (k) SELECT CASE WHEN x > 1 THEN 1 END FROM t" {
		t.Errorf("second insert %q", got)
	}
	q := ss.Inserts[1].Query
	wantAt(t, q.Span, nodes[*columnName](q.Node)[0], "x > 1")

	errs := []struct{ sql, msg string }{
		{"EXECUTE STATEMENT SET BEGIN SELECT 1; END", "only INSERT statements are allowed in a STATEMENT SET"},
		{"EXECUTE STATEMENT SET BEGIN END", "a STATEMENT SET needs at least one INSERT"},
		{"EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1;", "syntax error at end of input, expected END"},
		{"EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; END junk", "syntax error near 'junk'"},
	}
	for _, tt := range errs {
		if e := parseErr(t, tt.sql); e.Msg != tt.msg {
			t.Errorf("Parse(%q) = %q, want %q", tt.sql, e.Msg, tt.msg)
		}
	}
}

func TestUnsupported(t *testing.T) {
	tests := []struct{ sql, msg string }{
		{"CREATE INDEX i ON t (a)", "statement not supported: CREATE INDEX"},
		{"GRANT SELECT ON t TO u", "statement not supported: GRANT"},
		{"ALTER TABLE t ADD COLUMN b INT", "statement not supported: ALTER TABLE"},
		{"  SHOW DATABASES", "statement not supported: SHOW DATABASES"},
		{"DROP DATABASE d", "statement not supported: DROP DATABASE"},
		{"FLUSH PRIVILEGES", "statement not supported: FLUSH PRIVILEGES"},
		{"FOO BAR", "syntax error near 'FOO'"},
		{"SHOW FOO", "syntax error near 'FOO'"},
		{"CREATE FOO x", "syntax error near 'FOO'"},
	}
	for _, tt := range tests {
		e := parseErr(t, tt.sql)
		if e.Msg != tt.msg {
			t.Errorf("Parse(%q) = %q, want %q", tt.sql, e.Msg, tt.msg)
		}
		if strings.HasPrefix(tt.msg, "statement") && e.Offset != len(tt.sql)-len(strings.TrimLeft(tt.sql, " ")) {
			t.Errorf("Parse(%q): caret at %d, want the first keyword", tt.sql, e.Offset)
		}
	}
}
