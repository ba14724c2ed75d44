package parser

import (
	"strings"
)

// keyOrValue parses a SET/RESET key or a SET value: a quoted string, or the
// raw text of the tokens up to stop (table.exec.mini-batch.enabled, 10s).
func (c *cursor) keyOrValue(stop func(i int) bool) string {
	t := c.peek()
	if t.kind == tkString || t.kind == tkQIdent {
		c.next()
		return unquote(c.text(t))
	}
	return c.rawUntil(stop)
}

// parseSet parses SET; | SET 'key' = 'value' | SET a.b.c = value.
func parseSet(c *cursor) (*Set, error) {
	c.next() // SET
	s := &Set{Span: c.sp}
	if c.atEnd() {
		return s, nil
	}
	s.Key = c.keyOrValue(func(i int) bool { return c.opAt(i, "=") })
	if s.Key == "" {
		return nil, c.errNear("a key")
	}
	if err := c.expectOp("="); err != nil {
		return nil, err
	}
	if c.atEnd() {
		return nil, c.errNear("a value")
	}
	s.Value = c.keyOrValue(func(int) bool { return false })
	return s, c.expectEnd()
}

// parseReset parses RESET; | RESET 'key' | RESET a.b.c.
func parseReset(c *cursor) (*Reset, error) {
	c.next() // RESET
	r := &Reset{Span: c.sp}
	r.Key = c.keyOrValue(func(int) bool { return false })
	return r, c.expectEnd()
}

// jobID parses a job id: 'id' (or an unquoted word or number).
func (c *cursor) jobID() (string, error) {
	switch t := c.peek(); t.kind {
	case tkString, tkQIdent:
		c.next()
		return unquote(c.text(t)), nil
	case tkIdent, tkNumber:
		c.next()
		return c.text(t), nil
	}
	return "", c.errNear("a job id")
}

// parseShow parses SHOW TABLES | VIEWS | MATERIALIZED VIEWS | JOBS |
// CONNECTORS | CHECKPOINTS FOR JOB 'id' | TRANSACTIONS FOR JOB 'id' | CREATE
// TABLE name.
func parseShow(c *cursor) (Statement, error) {
	c.next() // SHOW
	s := &Show{Span: c.sp}
	var err error
	switch {
	case c.acceptKw("TABLES"):
		s.Kind = ShowTables
	case c.acceptKw("VIEWS"):
		s.Kind = ShowViews
	case c.acceptKw("MATERIALIZED", "VIEWS"):
		s.Kind = ShowMaterializedViews
	case c.acceptKw("JOBS"):
		s.Kind = ShowJobs
	case c.acceptKw("CONNECTORS"):
		s.Kind = ShowConnectors
	case c.isKw("CHECKPOINTS"), c.isKw("TRANSACTIONS"):
		s.Kind = ShowCheckpoints
		if c.isKw("TRANSACTIONS") {
			s.Kind = ShowTransactions
		}
		c.next()
		if err := c.expectKw("FOR", "JOB"); err != nil {
			return nil, err
		}
		if s.Target, err = c.jobID(); err != nil {
			return nil, err
		}
	case c.acceptKw("CREATE", "TABLE"):
		s.Kind = ShowCreateTable
		if s.Target, err = c.name(); err != nil {
			return nil, err
		}
	default:
		return nil, unsupported(c)
	}
	return s, c.expectEnd()
}

// parseDescribe parses DESCRIBE name | DESC name.
func parseDescribe(c *cursor) (Statement, error) {
	c.next()
	if c.peek().kind != tkIdent && c.peek().kind != tkQIdent || c.isQueryStart(c.i) {
		return nil, unsupported(c)
	}
	name, err := c.name()
	if err != nil {
		return nil, err
	}
	return &Describe{Span: c.sp, Name: name}, c.expectEnd()
}

// parseExplain parses EXPLAIN [PLAN FOR | CHANGELOG_MODE[, ...]] followed by
// a query, an INSERT or a statement set, parsed alone.
func parseExplain(c *cursor) (*Explain, error) {
	c.next() // EXPLAIN
	e := &Explain{Span: c.sp}
	if !c.acceptKw("PLAN", "FOR") {
	details:
		for {
			switch d := strings.ToUpper(c.text(c.peek())); {
			case c.acceptKw("CHANGELOG_MODE"):
				e.ChangelogMode = true
			case d == "ESTIMATED_COST" || d == "JSON_EXECUTION_PLAN" || d == "PLAN_ADVICE":
				return nil, c.sp.ErrorAt(c.peek().pos, "EXPLAIN "+d+" is not supported")
			default:
				break details
			}
			if !c.isOp(",") {
				break
			}
			c.next()
		}
	}
	var err error
	switch {
	case c.isQueryStart(c.i):
		e.Stmt, err = parseQuery(c.rest())
	case c.isKw("INSERT"), c.isKw("EXECUTE", "STATEMENT"), c.isKw("STATEMENT", "SET"):
		var ic *cursor
		if ic, err = newCursor(c.rest()); err != nil {
			return nil, err
		}
		if c.isKw("INSERT") {
			e.Stmt, err = parseInsert(ic)
		} else {
			e.Stmt, err = parseStatementSet(ic)
		}
	default:
		return nil, c.errNear("a query, INSERT or STATEMENT SET")
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

// parseStopJob parses STOP JOB 'id' [WITH SAVEPOINT].
func parseStopJob(c *cursor) (Statement, error) {
	c.next() // STOP
	if !c.isKw("JOB") {
		return nil, unsupported(c)
	}
	c.next()
	id, err := c.jobID()
	if err != nil {
		return nil, err
	}
	s := &StopJob{Span: c.sp, ID: id}
	if c.acceptKw("WITH") {
		if err := c.expectKw("SAVEPOINT"); err != nil {
			return nil, err
		}
		s.WithSavepoint = true
	}
	return s, c.expectEnd()
}

// parseStatementSet parses [EXECUTE] STATEMENT SET BEGIN insert; ... END.
// Each INSERT is parsed alone with its own span.
func parseStatementSet(c *cursor) (*StatementSet, error) {
	ss := &StatementSet{Span: c.sp}
	c.acceptKw("EXECUTE")
	if err := c.expectKw("STATEMENT", "SET", "BEGIN"); err != nil {
		return nil, err
	}
	begin := c.toks[c.i-1].pos
	for {
		j, caseDepth := c.i, 0
	scan:
		for ; j < len(c.toks); j++ {
			switch {
			case c.opAt(j, ";"):
				break scan
			case c.kwAt(j, "CASE"):
				caseDepth++
			case c.kwAt(j, "END"):
				if caseDepth == 0 {
					break scan
				}
				caseDepth--
			}
		}
		if j > c.i {
			if !c.isKw("INSERT") {
				return nil, c.sp.ErrorAt(c.peek().pos, "only INSERT statements are allowed in a STATEMENT SET")
			}
			ic, err := newCursor(c.subSpan(c.i, j))
			if err != nil {
				return nil, err
			}
			ins, err := parseInsert(ic)
			if err != nil {
				return nil, err
			}
			ss.Inserts = append(ss.Inserts, ins)
		}
		c.i = j
		if c.atEnd() {
			return nil, c.errNear("END")
		}
		if c.acceptKw("END") {
			break
		}
		c.next() // ;
	}
	if len(ss.Inserts) == 0 {
		return nil, c.sp.ErrorAt(begin, "a STATEMENT SET needs at least one INSERT")
	}
	return ss, c.expectEnd()
}
