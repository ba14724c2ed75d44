package parser

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// parseCreate dispatches CREATE TABLE, CREATE [MATERIALIZED] VIEW.
func parseCreate(c *cursor) (Statement, error) {
	switch {
	case c.isKw("CREATE", "TABLE"):
		return parseCreateTable(c)
	case c.isKw("CREATE", "VIEW"), c.isKw("CREATE", "MATERIALIZED", "VIEW"):
		return parseCreateView(c)
	}
	return nil, unsupported(c)
}

// tableBuilder collects a CREATE TABLE and where its names stand, for the
// checks at the end.
type tableBuilder struct {
	ct     *CreateTable
	r      *rewriter
	pkAt   []int // offsets of the primary key column names
	wmAt   int   // offset of the watermark column name
	colsAt []int // offsets of the column names
}

// parseCreateTable parses
//
//	CREATE TABLE [IF NOT EXISTS] name (element, ...) [COMMENT '...'] [WITH ('k' = 'v', ...)]
//
// where an element is a column (name type [NOT NULL] [METADATA [FROM 'key']
// [VIRTUAL]] [PRIMARY KEY [NOT ENFORCED]] [COMMENT '...']), a computed
// column (name AS expr), WATERMARK FOR col AS expr, or [CONSTRAINT name]
// PRIMARY KEY (cols) [NOT ENFORCED].
func parseCreateTable(c *cursor) (*CreateTable, error) {
	c.i += 2
	b := &tableBuilder{ct: &CreateTable{Span: c.sp, Ext: &Extensions{}}, r: newRewriter(c)}
	ct := b.ct
	ct.IfNotExists = c.acceptKw("IF", "NOT", "EXISTS")
	name, err := c.name()
	if err != nil {
		return nil, err
	}
	ct.Name = name
	if c.isKw("AS") || c.isKw("LIKE") {
		return nil, c.sp.ErrorAt(c.peek().pos, "statement not supported: CREATE TABLE ... "+strings.ToUpper(c.text(c.peek())))
	}
	if err := c.expectOp("("); err != nil {
		return nil, err
	}
	for {
		if err := b.element(c); err != nil {
			return nil, err
		}
		if c.isOp(",") {
			c.next()
			continue
		}
		if err := c.expectOp(")"); err != nil {
			return nil, err
		}
		break
	}
	if c.acceptKw("COMMENT") {
		if ct.Comment, err = c.str("a quoted comment"); err != nil {
			return nil, err
		}
	}
	if c.isKw("PARTITIONED") {
		return nil, c.sp.ErrorAt(c.peek().pos, "statement not supported: CREATE TABLE ... PARTITIONED BY")
	}
	if c.acceptKw("WITH") {
		if ct.Options, err = parseOptions(c); err != nil {
			return nil, err
		}
	}
	if err := c.expectEnd(); err != nil {
		return nil, err
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	if err := b.r.complete(ct.Ext); err != nil {
		return nil, err
	}
	return ct, nil
}

// element parses one element of the CREATE TABLE list.
func (b *tableBuilder) element(c *cursor) error {
	ct := b.ct
	t := c.peek()
	switch {
	case c.isKw("WATERMARK", "FOR"):
		if ct.Watermark != nil {
			return c.sp.ErrorAt(t.pos, "a table has at most one WATERMARK")
		}
		c.i += 2
		b.wmAt = c.peek().pos
		col, err := c.ident()
		if err != nil {
			return err
		}
		if err := c.expectKw("AS"); err != nil {
			return err
		}
		e, err := b.expr(c)
		if err != nil {
			return err
		}
		ct.Watermark = &Watermark{Column: col, Expr: e, Offset: t.pos}
		return nil
	case c.isKw("PRIMARY", "KEY"), c.isKw("CONSTRAINT"):
		if c.acceptKw("CONSTRAINT") {
			if _, err := c.ident(); err != nil {
				return err
			}
		}
		if err := c.expectKw("PRIMARY", "KEY"); err != nil {
			return err
		}
		if ct.PrimaryKey != nil {
			return c.sp.ErrorAt(t.pos, "a table has at most one PRIMARY KEY")
		}
		at := c.peek().pos
		cols, err := c.nameList()
		if err != nil {
			return err
		}
		ct.PrimaryKey = cols
		for range cols {
			b.pkAt = append(b.pkAt, at)
		}
		c.acceptKw("NOT", "ENFORCED")
		return nil
	}
	return b.column(c)
}

// column parses a physical, metadata or computed column.
func (b *tableBuilder) column(c *cursor) error {
	t := c.peek()
	name, err := c.ident()
	if err != nil {
		return err
	}
	col := ColumnDef{Name: name, Offset: t.pos}
	if c.acceptKw("AS") {
		if col.Computed, err = b.expr(c); err != nil {
			return err
		}
	} else if col.Type, err = c.parseType(); err != nil {
		return err
	}
	for {
		at := c.peek().pos
		switch {
		case col.Computed == nil && c.acceptKw("NOT", "NULL"):
			col.Type.NotNull = true
		case col.Computed == nil && c.acceptKw("NULL"):
			col.Type.NotNull = false
		case col.Computed == nil && c.acceptKw("METADATA"):
			col.Metadata = name
			if c.acceptKw("FROM") {
				if col.Metadata, err = c.str("a quoted metadata key"); err != nil {
					return err
				}
			}
			col.Virtual = c.acceptKw("VIRTUAL")
		case c.acceptKw("PRIMARY", "KEY"):
			if b.ct.PrimaryKey != nil {
				return c.sp.ErrorAt(at, "a table has at most one PRIMARY KEY")
			}
			b.ct.PrimaryKey = []string{name}
			b.pkAt = append(b.pkAt, t.pos)
			c.acceptKw("NOT", "ENFORCED")
		case c.acceptKw("COMMENT"):
			if col.Comment, err = c.str("a quoted comment"); err != nil {
				return err
			}
		default:
			b.ct.Columns = append(b.ct.Columns, col)
			b.colsAt = append(b.colsAt, t.pos)
			return nil
		}
	}
}

// expr parses the expression that runs from the cursor to the next ',' or
// ')' (or COMMENT) of the element list; its offsets are statement offsets.
func (b *tableBuilder) expr(c *cursor) (ast.ExprNode, error) {
	s := c.i
	j := s
	for j < len(c.toks) && !c.opAt(j, ",") && !c.opAt(j, ")") && !c.kwAt(j, "COMMENT") {
		if c.opAt(j, "(") && c.match[j] > j {
			j = c.match[j]
		}
		j++
	}
	if j == s {
		return nil, c.errNear("an expression")
	}
	if err := b.r.scan(s, j); err != nil {
		return nil, err
	}
	e, err := b.r.parseExpr(c.toks[s].pos, c.toks[j-1].end)
	if err != nil {
		return nil, err
	}
	if err := b.r.annotate(e, b.ct.Ext); err != nil {
		return nil, err
	}
	c.i = j
	return e, nil
}

// check verifies the column names of the primary key and the watermark.
func (b *tableBuilder) check() error {
	ct := b.ct
	has := func(name string) bool {
		return slices.ContainsFunc(ct.Columns, func(col ColumnDef) bool { return strings.EqualFold(col.Name, name) })
	}
	for i, col := range ct.Columns {
		for _, prev := range ct.Columns[:i] {
			if strings.EqualFold(prev.Name, col.Name) {
				return ct.ErrorAt(b.colsAt[i], fmt.Sprintf("duplicate column name '%s'", col.Name))
			}
		}
	}
	for i, k := range ct.PrimaryKey {
		if !has(k) {
			return ct.ErrorAt(b.pkAt[i], fmt.Sprintf("primary key column '%s' is not defined", k))
		}
	}
	if ct.Watermark != nil && !has(ct.Watermark.Column) {
		return ct.ErrorAt(b.wmAt, fmt.Sprintf("watermark column '%s' is not defined", ct.Watermark.Column))
	}
	return nil
}

// parseOptions parses ('key' = 'value', ...): keys lower-cased, values as
// written (doubled quotes undone; a number or a word is taken as is).
func parseOptions(c *cursor) ([]Option, error) {
	if err := c.expectOp("("); err != nil {
		return nil, err
	}
	var opts []Option
	for {
		at := c.peek().pos
		k, err := c.str("a quoted option key")
		if err != nil {
			return nil, err
		}
		k = strings.ToLower(k)
		if slices.ContainsFunc(opts, func(o Option) bool { return o.Key == k }) {
			return nil, c.sp.ErrorAt(at, fmt.Sprintf("duplicate option '%s'", k))
		}
		if err := c.expectOp("="); err != nil {
			return nil, err
		}
		var v string
		switch t := c.peek(); t.kind {
		case tkNumber, tkIdent:
			c.next()
			v = c.text(t)
		default:
			if v, err = c.str("a quoted option value"); err != nil {
				return nil, err
			}
		}
		opts = append(opts, Option{Key: k, Value: v, Offset: at})
		if c.isOp(",") {
			c.next()
			continue
		}
		return opts, c.expectOp(")")
	}
}

// parseCreateView parses CREATE [MATERIALIZED] VIEW [IF NOT EXISTS] name
// [(cols)] [COMMENT '...'] AS query. The query is parsed alone.
func parseCreateView(c *cursor) (*CreateView, error) {
	c.next() // CREATE
	cv := &CreateView{Span: c.sp}
	cv.Materialized = c.acceptKw("MATERIALIZED")
	c.next() // VIEW
	cv.IfNotExists = c.acceptKw("IF", "NOT", "EXISTS")
	name, err := c.name()
	if err != nil {
		return nil, err
	}
	cv.Name = name
	if c.isOp("(") {
		if cv.Columns, err = c.nameList(); err != nil {
			return nil, err
		}
	}
	if c.acceptKw("COMMENT") {
		if _, err := c.str("a quoted comment"); err != nil {
			return nil, err
		}
	}
	if err := c.expectKw("AS"); err != nil {
		return nil, err
	}
	if !c.isQueryStart(c.i) {
		return nil, c.errNear("a query")
	}
	sub := c.rest()
	cv.QueryText = sub.Text()
	if cv.Query, err = parseQuery(sub); err != nil {
		return nil, err
	}
	return cv, nil
}

// parseDrop parses DROP TABLE | VIEW | MATERIALIZED VIEW [IF EXISTS] a, b.
func parseDrop(c *cursor) (Statement, error) {
	c.next() // DROP
	d := &Drop{Span: c.sp}
	switch {
	case c.acceptKw("TABLE"):
		d.Kind = ObjTable
	case c.acceptKw("VIEW"):
		d.Kind = ObjView
	case c.acceptKw("MATERIALIZED", "VIEW"):
		d.Kind = ObjMaterializedView
	default:
		return nil, unsupported(c)
	}
	d.IfExists = c.acceptKw("IF", "EXISTS")
	for {
		n, err := c.name()
		if err != nil {
			return nil, err
		}
		d.Names = append(d.Names, n)
		if !c.isOp(",") {
			break
		}
		c.next()
	}
	return d, c.expectEnd()
}
