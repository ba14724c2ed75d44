package parser

import (
	"github.com/pingcap/tidb/pkg/parser/ast"
)

// isQueryStart reports whether token i can start a query.
func (c *cursor) isQueryStart(i int) bool {
	return c.opAt(i, "(") || c.kwAt(i, "SELECT") || c.kwAt(i, "WITH") || c.kwAt(i, "VALUES") || c.kwAt(i, "TABLE")
}

// parseInsert parses INSERT { INTO | OVERWRITE } [TABLE] t [(cols)] query.
// The query is parsed alone, as a *Query with its own span.
func parseInsert(c *cursor) (*Insert, error) {
	ins := &Insert{Span: c.sp}
	c.next() // INSERT
	switch {
	case c.acceptKw("OVERWRITE"):
		ins.Overwrite = true
	case !c.acceptKw("INTO"):
		return nil, c.errNear("INTO or OVERWRITE")
	}
	c.acceptKw("TABLE")
	name, err := c.name()
	if err != nil {
		return nil, err
	}
	ins.Table = name
	if c.isKw("PARTITION") {
		return nil, c.sp.ErrorAt(c.peek().pos, "INSERT ... PARTITION is not supported")
	}
	if c.isOp("(") && !c.isQueryStart(c.i+1) {
		if ins.Columns, err = c.nameList(); err != nil {
			return nil, err
		}
	}
	if !c.isQueryStart(c.i) {
		return nil, c.errNear("SELECT or VALUES")
	}
	if ins.Query, err = parseQuery(c.rest()); err != nil {
		return nil, err
	}
	return ins, nil
}

// parseDML parses DELETE FROM t [WHERE cond] and UPDATE t SET c = e, ...
// [WHERE cond] with TiDB.
func parseDML(c *cursor) (Statement, error) {
	r := newRewriter(c)
	if err := r.scan(0, len(c.toks)); err != nil {
		return nil, err
	}
	buf, m := r.build(0, len(c.src), false)
	stmt, err := r.tidb(buf, m)
	if err != nil {
		return nil, err
	}
	ext := &Extensions{}
	if err := r.annotate(stmt, ext); err != nil {
		return nil, err
	}
	if err := r.complete(ext); err != nil {
		return nil, err
	}
	at := c.tok(0).pos
	switch s := stmt.(type) {
	case *ast.DeleteStmt:
		if s.IsMultiTable || s.Order != nil || s.Limit != nil || s.With != nil {
			return nil, c.sp.ErrorAt(at, "statement not supported: DELETE with WITH, several tables, ORDER BY or LIMIT")
		}
		table, err := singleTable(c, s.TableRefs)
		if err != nil {
			return nil, err
		}
		return &Delete{Span: c.sp, Table: table, Where: s.Where, Ext: ext}, nil
	case *ast.UpdateStmt:
		if s.MultipleTable || s.Order != nil || s.Limit != nil || s.With != nil {
			return nil, c.sp.ErrorAt(at, "statement not supported: UPDATE with WITH, several tables, ORDER BY or LIMIT")
		}
		table, err := singleTable(c, s.TableRefs)
		if err != nil {
			return nil, err
		}
		u := &Update{Span: c.sp, Table: table, Where: s.Where, Ext: ext}
		for _, a := range s.List {
			u.Set = append(u.Set, Assignment{Column: a.Column.Name.O, Expr: a.Expr})
		}
		return u, nil
	}
	return nil, unsupported(c)
}

// singleTable returns the name of the one table, without alias, of a DELETE
// or UPDATE.
func singleTable(c *cursor, refs *ast.TableRefsClause) (string, error) {
	at := c.tok(0).pos
	if refs == nil || refs.TableRefs == nil || refs.TableRefs.Right != nil {
		return "", c.sp.ErrorAt(at, "statement not supported: DELETE or UPDATE of a join")
	}
	ts, ok := refs.TableRefs.Left.(*ast.TableSource)
	if !ok {
		return "", c.sp.ErrorAt(at, "statement not supported: DELETE or UPDATE of a join")
	}
	tn, ok := ts.Source.(*ast.TableName)
	if !ok || ts.AsName.L != "" {
		return "", c.sp.ErrorAt(at, "statement not supported: DELETE or UPDATE of a subquery or with a table alias")
	}
	return tableName(tn), nil
}

// tableName returns [schema.]name as written.
func tableName(tn *ast.TableName) string {
	if tn.Schema.O != "" {
		return tn.Schema.O + "." + tn.Name.O
	}
	return tn.Name.O
}
