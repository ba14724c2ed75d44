package parser

import (
	"github.com/pingcap/tidb/pkg/parser/ast"
)

// parseQuery parses the query of span sp (SELECT, UNION, VALUES, WITH ...).
func parseQuery(sp Span) (*Query, error) {
	c, err := newCursor(sp)
	if err != nil {
		return nil, err
	}
	return parseQueryCursor(c)
}

// parseQueryCursor parses the query of cursor c.
func parseQueryCursor(c *cursor) (*Query, error) {
	sp := c.sp
	r := newRewriter(c)
	if err := r.scan(0, len(c.toks)); err != nil {
		return nil, err
	}
	buf, m := r.build(0, len(c.src), false)
	stmt, err := r.tidb(buf, m)
	if err != nil {
		return nil, err
	}
	var node ast.ResultSetNode
	switch s := stmt.(type) {
	case *ast.SelectStmt:
		node = s
	case *ast.SetOprStmt:
		node = s
	default:
		return nil, sp.ErrorAt(c.tok(0).pos, "expected a query")
	}
	ext := &Extensions{}
	if err := r.annotate(stmt, ext); err != nil {
		return nil, err
	}
	if err := r.complete(ext); err != nil {
		return nil, err
	}
	return &Query{Span: sp, Node: node, Ext: ext}, nil
}

// ParseExpr parses one SQL expression, with the same rewrites as queries
// (CAST(x AS STRING) and the like). Node offsets are relative to the start
// of text; an error is an *Error located in text.
func ParseExpr(text string) (ast.ExprNode, error) {
	e, _, err := ParseExprExt(text)
	return e, err
}

// ParseExprExt is ParseExpr that also returns what the pre-parser lifted out
// of the expression (CAST types, interval placeholders ...).
func ParseExprExt(text string) (ast.ExprNode, *Extensions, error) {
	sp := Span{Script: text, Start: 0, End: len(text)}
	c, err := newCursor(sp)
	if err != nil {
		return nil, nil, err
	}
	if len(c.toks) == 0 {
		return nil, nil, sp.ErrorAt(len(text), "syntax error at end of input, expected an expression")
	}
	r := newRewriter(c)
	if err := r.scan(0, len(c.toks)); err != nil {
		return nil, nil, err
	}
	e, err := r.parseExpr(0, len(text))
	if err != nil {
		return nil, nil, err
	}
	ext := &Extensions{}
	if err := r.annotate(e, ext); err != nil {
		return nil, nil, err
	}
	if err := r.complete(ext); err != nil {
		return nil, nil, err
	}
	return e, ext, nil
}
