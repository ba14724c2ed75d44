package parser

import (
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   []string
	}{
		{"empty", "", nil},
		{"blanks and comments", " \n-- only a comment; here\n/* and ; this */\n\t", nil},
		{"hash comment", "# a; comment\nSELECT 1", []string{"SELECT 1"}},
		{"empty statements", ";;SELECT 1;;", []string{"SELECT 1"}},
		{"trailing without semicolon", "SELECT 1; SELECT 2", []string{"SELECT 1", "SELECT 2"}},
		{"single quotes", "SELECT 'a;b', 'it''s;'; SELECT 2;", []string{"SELECT 'a;b', 'it''s;'", "SELECT 2"}},
		{"backslash escape", `SELECT 'a\';b'; SELECT 2`, []string{`SELECT 'a\';b'`, "SELECT 2"}},
		{"double quotes", `SELECT "x;y"; SELECT 2`, []string{`SELECT "x;y"`, "SELECT 2"}},
		{"backticks", "SELECT `a;b` FROM t; SELECT 2", []string{"SELECT `a;b` FROM t", "SELECT 2"}},
		{"line comment", "SELECT 1 -- x; y\n, 2; SELECT 3", []string{"SELECT 1 -- x; y\n, 2", "SELECT 3"}},
		{"dash comment without space", "SELECT 1 --x; y\n; SELECT 3", []string{"SELECT 1", "SELECT 3"}},
		{"block comment", "SELECT /* ; */ 1; /* lead */ SELECT 2 /* trail */;", []string{"SELECT /* ; */ 1", "SELECT 2"}},
		{"comment at end", "SELECT 1; -- done", []string{"SELECT 1"}},
		{
			"statement set",
			"EXECUTE STATEMENT SET BEGIN\nINSERT INTO a SELECT 1;\nINSERT INTO b SELECT 2;\nEND;\nSELECT 3;",
			[]string{"EXECUTE STATEMENT SET BEGIN\nINSERT INTO a SELECT 1;\nINSERT INTO b SELECT 2;\nEND", "SELECT 3"},
		},
		{
			"statement set with CASE ... END",
			"execute statement set begin insert into a select case when x then 1 end; end; select 3",
			[]string{"execute statement set begin insert into a select case when x then 1 end; end", "select 3"},
		},
		{
			"explain statement set",
			"EXPLAIN STATEMENT SET BEGIN INSERT INTO a SELECT 1; END; SELECT 2",
			[]string{"EXPLAIN STATEMENT SET BEGIN INSERT INTO a SELECT 1; END", "SELECT 2"},
		},
		{"set is not a statement set", "SET 'a' = 'b'; SELECT 1", []string{"SET 'a' = 'b'", "SELECT 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spans, err := split(tt.script)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, sp := range spans {
				got = append(got, sp.Text())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("split(%q) = %q, want %q", tt.script, got, tt.want)
			}
		})
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		script, msg string
		line, col   int
	}{
		{"SELECT 1;\nSELECT 'abc", "unterminated string literal", 2, 8},
		{"SELECT `abc", "unterminated quoted identifier", 1, 8},
		{"SELECT 1 /* open", "unterminated comment", 1, 10},
	}
	for _, tt := range tests {
		e := parseErr(t, tt.script)
		if e.Msg != tt.msg || e.Line != tt.line || e.Column != tt.col {
			t.Errorf("Parse(%q) = %q at %d:%d, want %q at %d:%d", tt.script, e.Msg, e.Line, e.Column, tt.msg, tt.line, tt.col)
		}
	}
}

func TestParseEmpty(t *testing.T) {
	for _, s := range []string{"", "  ", ";", "-- x\n/* y */ ;\n"} {
		stmts, err := Parse(s)
		if err != nil || len(stmts) != 0 {
			t.Errorf("Parse(%q) = %v, %v; want no statements", s, stmts, err)
		}
	}
}
