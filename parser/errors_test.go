package parser

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestErrorRendering(t *testing.T) {
	script := "CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1);\nSELECT frm t WHERE a = = 1;\nSELECT 4;\n"
	_, err := Parse(script)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v", err, err)
	}
	want := "ERROR at line 3, column 24: syntax error near '='\n" +
		"SELECT frm t WHERE a = = 1;\n" +
		"                       ^"
	if err.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", err.Error(), want)
	}
	if e.Line != 3 || e.Column != 24 || e.Offset != strings.Index(script, "= 1") || e.Source != "SELECT frm t WHERE a = = 1;" {
		t.Errorf("error fields %+v", e)
	}
}

func TestErrorPositions(t *testing.T) {
	tests := []struct {
		script   string
		line     int
		col      int
		rendered string
	}{
		// Tabs stay tabs on the caret line; columns count runes.
		{"SELECT\t1,\t'é' FORM t", 1, 20, "SELECT\t1,\t'é' FORM t\n      \t  \t         ^"},
		{"SELECT 'ü', 'ß'\nFROM t WHERE", 2, 13, "FROM t WHERE\n            ^"},
		{"SELECT 1;\r\nSELECT * FROM t WHERE\r\n", 2, 22, "SELECT * FROM t WHERE\n                     ^"},
	}
	for _, tt := range tests {
		e := parseErr(t, tt.script)
		if e.Line != tt.line || e.Column != tt.col || !strings.HasSuffix(e.Error(), tt.rendered) {
			t.Errorf("Parse(%q) = %d:%d\n%s\nwant %d:%d ...\n%s", tt.script, e.Line, e.Column, e.Error(), tt.line, tt.col, tt.rendered)
		}
	}
}

func TestNewError(t *testing.T) {
	script := "ab\ncdé\n"
	tests := []struct {
		off       int
		line, col int
		source    string
	}{
		{-5, 1, 1, "ab"}, {0, 1, 1, "ab"}, {2, 1, 3, "ab"}, {3, 2, 1, "cdé"}, {5, 2, 3, "cdé"},
		{6, 2, 3, "cdé"}, // inside é: moved to its start
		{7, 2, 4, "cdé"}, {8, 3, 1, ""}, {100, 3, 1, ""},
	}
	for _, tt := range tests {
		e := NewError(script, tt.off, "m")
		if e.Line != tt.line || e.Column != tt.col || e.Source != tt.source || e.Offset < 0 || e.Offset > len(script) {
			t.Errorf("NewError(%d) = %+v, want %d:%d %q", tt.off, e, tt.line, tt.col, tt.source)
		}
	}
	if got := NewError("", 0, "m").Error(); got != "ERROR at line 1, column 1: m\n\n^" {
		t.Errorf("empty script: %q", got)
	}
}

func TestTiDBErrorOffset(t *testing.T) {
	long := "SELECT * FROM t WHERE " + strings.Repeat("a + ", 1000) + "FORM"
	rest := long[len("SELECT * FROM t WHERE "):]
	tests := []struct {
		msg, buf string
		off      int
		extra    string
	}{
		{`line 1 column 13 near "FORM t" `, "SELECT * FORM t", 9, ""},
		{`line 1 column 21 near "" `, "SELECT * FROM t WHERE", 21, ""},
		{`line 1 column 12 near "x "y" z" `, `SELECT a FROM x "y" z`, 14, ""},
		{`line 1 column 9 near "1abc"integer literal: oops `, "SELECT 1abc", 7, "integer literal: oops"},
		{fmt.Sprintf(`line 1 column 30 near "%s" (total length %d)`, rest[:2048], len(rest)), long, len("SELECT * FROM t WHERE "), ""},
	}
	for _, tt := range tests {
		off, extra, ok := tidbErrorOffset(tt.msg, tt.buf)
		if !ok || off != tt.off || extra != tt.extra {
			t.Errorf("tidbErrorOffset(%.40q) = %d %q %v, want %d %q", tt.msg, off, extra, ok, tt.off, tt.extra)
		}
	}
	if _, _, ok := tidbErrorOffset("[parser:1115]Unknown character set: 'foo'", "x"); ok {
		t.Error("non-positional error reported a position")
	}
}

func TestLongStatementError(t *testing.T) {
	script := "SELECT 1;\nSELECT a FORM t WHERE " + strings.Repeat("a + ", 1000) + "1"
	e := parseErr(t, script)
	if e.Line != 2 || e.Msg != "syntax error near 't'" || !strings.HasPrefix(script[e.Offset:], "t WHERE") {
		t.Errorf("long statement: %d %q at %q", e.Line, e.Msg, script[e.Offset:])
	}
}

func TestNonPositionalTiDBError(t *testing.T) {
	e := parseErr(t, "SELECT 1;\nSELECT 1.5e999999 FROM t")
	if !strings.Contains(e.Msg, "1.5e999999") || e.Line != 2 || e.Column != 8 {
		t.Errorf("got %v", e)
	}
	e = parseErr(t, "SELECT 1;\nSELECT "+strings.Repeat("9", 90))
	if e.Msg != "numeric literal too long" || e.Column != 8 {
		t.Errorf("got %v", e)
	}
}
