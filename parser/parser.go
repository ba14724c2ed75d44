package parser

import (
	"strings"
)

// Parse parses a script of statements separated by ';' (a last statement
// may go without). A script of only blanks and comments has no statements.
// The error, if any, is an *Error locating the first problem in script.
func Parse(script string) ([]Statement, error) {
	stmts, err := splitTokens(script)
	if err != nil {
		return nil, err
	}
	out := make([]Statement, 0, len(stmts))
	for _, st := range stmts {
		s, err := parseStatement(newCursorTokens(st.sp, st.toks))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// parseStatement parses the statement of cursor c by its first keywords.
func parseStatement(c *cursor) (Statement, error) {
	sp := c.sp
	if c.isOp("(") {
		return parseQueryCursor(c)
	}
	switch strings.ToUpper(c.text(c.peek())) {
	case "SELECT", "WITH", "VALUES", "TABLE":
		return parseQueryCursor(c)
	case "INSERT":
		return parseInsert(c)
	case "CREATE":
		return parseCreate(c)
	case "DROP":
		return parseDrop(c)
	case "EXECUTE", "STATEMENT":
		if c.isKw("EXECUTE", "STATEMENT") || c.isKw("STATEMENT", "SET") {
			return parseStatementSet(c)
		}
	case "SET":
		return parseSet(c)
	case "RESET":
		return parseReset(c)
	case "SHOW":
		return parseShow(c)
	case "DESCRIBE", "DESC":
		return parseDescribe(c)
	case "EXPLAIN":
		return parseExplain(c)
	case "STOP":
		return parseStopJob(c)
	case "FLUSH":
		if len(c.toks) == 1 {
			return &Flush{Span: sp}, nil
		}
	case "DELETE", "UPDATE":
		return parseDML(c)
	}
	return nil, unsupported(c)
}

// unsupported is the error for a statement Sluice does not parse: "statement
// not supported" if TiDB accepts it (CREATE INDEX, GRANT, ALTER ...),
// otherwise TiDB's syntax error.
func unsupported(c *cursor) error {
	r := newRewriter(c)
	buf, m := r.build(0, len(c.src), false)
	if _, err := r.tidb(buf, m); err != nil {
		return err
	}
	first := c.tok(0)
	what := strings.ToUpper(c.text(first))
	switch what {
	case "CREATE", "DROP", "ALTER", "SHOW", "FLUSH", "RENAME", "TRUNCATE":
		if t := c.tok(1); t.kind == tkIdent {
			what += " " + strings.ToUpper(c.text(t))
		}
	}
	return c.sp.ErrorAt(first.pos, "statement not supported: "+what)
}
