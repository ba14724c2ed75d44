package planner

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/parser"
	"github.com/sluicesql/sluice/planner/sqlexpr"
)

// builder turns one statement's AST into a logical plan.
type builder struct {
	p          *Planner
	span       parser.Span
	ext        *parser.Extensions
	continuous bool
	// depth guards against views that reference themselves.
	depth int
}

func (b *builder) errAt(off int, format string, args ...any) error {
	return b.span.ErrorAt(off, fmt.Sprintf(format, args...))
}

func exprOffset(n ast.Node) int {
	if e, ok := n.(ast.ExprNode); ok {
		return e.OriginTextPosition()
	}
	return 0
}

// converter turns an AST expression into a compiled expression over some
// input.
type converter func(n ast.ExprNode) (expr.Expr, error)

func (b *builder) convert(sc sqlexpr.Scope, n ast.ExprNode) (expr.Expr, error) {
	return b.convertHook(sc, nil, n)
}

func (b *builder) convertHook(sc sqlexpr.Scope, hook func(ast.ExprNode) (expr.Expr, bool, error), n ast.ExprNode) (expr.Expr, error) {
	ctx := &sqlexpr.Context{Scope: sc, Span: b.span, Ext: b.ext, Hook: hook}
	e, err := sqlexpr.Convert(ctx, n)
	if err != nil {
		return nil, err
	}
	return expr.Fold(e)
}

func (b *builder) resultSet(n ast.ResultSetNode) (Node, error) {
	switch n := n.(type) {
	case *ast.SelectStmt:
		return b.selectStmt(n)
	case *ast.SetOprStmt:
		return b.setOpr(n)
	case *ast.TableSource:
		return b.tableSource(n)
	case *ast.Join:
		return b.join(n)
	}
	return nil, b.errAt(0, "unsupported query form %T", n)
}

func (b *builder) selectStmt(sel *ast.SelectStmt) (Node, error) {
	if sel.With != nil {
		return nil, b.errAt(0, "WITH (common table expressions) is not supported yet")
	}
	if sel.Kind == ast.SelectStmtKindValues {
		return b.values(sel.Lists)
	}
	if sel.Kind == ast.SelectStmtKindTable {
		return nil, b.errAt(0, "TABLE statements are not supported; use SELECT * FROM")
	}
	var in Node
	if sel.From != nil && sel.From.TableRefs != nil {
		var err error
		in, err = b.resultSet(sel.From.TableRefs)
		if err != nil {
			return nil, err
		}
	} else {
		in = &Values{Rows: [][]types.Datum{{}}}
	}
	if sel.Where != nil {
		c, err := b.where(&in, sel.Where)
		if err != nil {
			return nil, err
		}
		if c != nil {
			in = &Filter{Input: in, Cond: c}
		}
	}
	if len(sel.WindowSpecs) > 0 {
		return nil, b.errAt(0, "WINDOW clauses are not supported yet")
	}
	if sel.GroupBy != nil || hasAggregate(sel) {
		if err := b.rejectWindowFuncs(sel); err != nil {
			return nil, err
		}
		return b.aggSelect(sel, in)
	}
	if sel.Having != nil {
		return nil, b.errAt(b.keywordBefore(exprOffset(sel.Having.Expr), "having"), "HAVING needs GROUP BY or an aggregate function")
	}
	inSc := &scope{fields: in.Fields()}
	from := in
	subq, rank := b.scalarSubquery(&in), b.rankHook(&in, inSc.fields)
	hook := func(n ast.ExprNode) (expr.Expr, bool, error) {
		if e, handled, err := rank(n); handled {
			return e, true, err
		}
		return subq(n)
	}
	conv := func(n ast.ExprNode) (expr.Expr, error) { return b.convertHook(inSc, hook, n) }
	proj, err := b.projection(sel.Fields, from, conv)
	if err != nil {
		return nil, err
	}
	// Scalar subqueries in the select list joined their rows to the input.
	proj.Input = in
	if sel.Distinct {
		return b.distinct(sel, proj)
	}
	return b.orderLimit(sel.OrderBy, sel.Limit, proj, in.Bounded(), conv)
}

// distinct removes duplicate rows of proj; ORDER BY may then only name
// output columns.
func (b *builder) distinct(sel *ast.SelectStmt, proj *Project) (Node, error) {
	d := distinctOf(proj)
	out := identity(d, "")
	conv := func(n ast.ExprNode) (expr.Expr, error) {
		return nil, b.errAt(exprOffset(n), "with SELECT DISTINCT, ORDER BY expressions must appear in the select list")
	}
	return b.orderLimit(sel.OrderBy, sel.Limit, out, d.Bounded(), conv)
}

// distinctOf groups by every column of n.
func distinctOf(n Node) *Aggregate {
	fs := n.Fields()
	a := &Aggregate{Input: n}
	for i, f := range fs {
		a.GroupCols = append(a.GroupCols, i)
		a.Names = append(a.Names, f.Name)
	}
	return a
}

// identity projects every column of n unchanged (a place for ORDER BY's
// hidden columns and for renaming).
func identity(n Node, qualifier string) *Project {
	p := &Project{Input: n, Qualifier: qualifier}
	for i, f := range n.Fields() {
		p.Exprs = append(p.Exprs, expr.Col(i, f.Type, f.Name))
		p.Names = append(p.Names, f.Name)
	}
	return p
}

func hasAggregate(sel *ast.SelectStmt) bool {
	found := false
	v := visitorFunc(func(n ast.Node) bool {
		switch n.(type) {
		case *ast.AggregateFuncExpr:
			found = true
			return false
		case *ast.SubqueryExpr, *ast.TableSource:
			return false
		}
		return !found
	})
	if sel.Fields != nil {
		sel.Fields.Accept(v)
	}
	if sel.Having != nil {
		sel.Having.Accept(v)
	}
	if sel.OrderBy != nil {
		sel.OrderBy.Accept(v)
	}
	return found
}

// rejectWindowFuncs points at the first OVER (...) window function.
func (b *builder) rejectWindowFuncs(sel *ast.SelectStmt) error {
	var found *ast.WindowFuncExpr
	v := visitorFunc(func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.WindowFuncExpr:
			found = x
			return false
		case *ast.SubqueryExpr, *ast.TableSource:
			return false
		}
		return found == nil
	})
	if sel.Fields != nil {
		sel.Fields.Accept(v)
	}
	if found != nil {
		return b.errAt(found.OriginTextPosition(), "window function %s is not supported yet", strings.ToUpper(found.Name))
	}
	return nil
}

type visitorFunc func(ast.Node) bool

func (f visitorFunc) Enter(n ast.Node) (ast.Node, bool) { return n, !f(n) }
func (f visitorFunc) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// keywordBefore returns the offset of the last occurrence of kw before off
// (for clauses whose nodes carry no position), or off.
func (b *builder) keywordBefore(off int, kw string) int {
	text := strings.ToLower(b.span.Text())
	if off > len(text) || off <= 0 {
		off = len(text)
	}
	if i := strings.LastIndex(text[:off], kw); i >= 0 {
		return i
	}
	return off
}

// keywordAfter returns the offset of the first occurrence of kw at or after off.
func (b *builder) keywordAfter(off int, kw string) int {
	text := strings.ToLower(b.span.Text())
	if i := strings.Index(text[off:], kw); i >= 0 {
		return off + i
	}
	return off
}

// projection builds the SELECT list over in.
func (b *builder) projection(fl *ast.FieldList, in Node, conv converter) (*Project, error) {
	p := &Project{Input: in}
	for _, f := range fl.Fields {
		if f.WildCard != nil {
			sc := &scope{fields: in.Fields()}
			q := f.WildCard.Table.O
			n := 0
			for i, fd := range sc.fields {
				if q != "" && !strings.EqualFold(fd.Qualifier, q) {
					continue
				}
				p.Exprs = append(p.Exprs, expr.Col(i, fd.Type, fd.Name))
				p.Names = append(p.Names, fd.Name)
				n++
			}
			if n == 0 && q != "" {
				return nil, b.errAt(b.keywordAfter(f.Offset, strings.ToLower(q)), "Unknown table '%s'", q)
			}
			continue
		}
		e, err := conv(f.Expr)
		if err != nil {
			return nil, err
		}
		name := f.AsName.O
		if name == "" {
			if c, ok := unparen(f.Expr).(*ast.ColumnNameExpr); ok {
				name = c.Name.Name.O
			} else {
				name = fmt.Sprintf("EXPR$%d", len(p.Exprs))
			}
		}
		p.Exprs = append(p.Exprs, e)
		p.Names = append(p.Names, name)
	}
	return p, nil
}

func unparen(e ast.ExprNode) ast.ExprNode {
	for {
		p, ok := e.(*ast.ParenthesesExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// orderLimit applies ORDER BY and LIMIT to a projection. ORDER BY items may
// name output columns (by alias or position) or any expression over the
// projection's input; the latter are computed as hidden columns and dropped
// after sorting.
func (b *builder) orderLimit(ob *ast.OrderByClause, lim *ast.Limit, proj *Project, bounded bool, conv converter) (Node, error) {
	if ob == nil && lim == nil {
		return proj, nil
	}
	visible := len(proj.Exprs)
	var keys []SortKey
	if ob != nil {
		for _, item := range ob.Items {
			col, err := b.orderItem(item.Expr, proj, conv)
			if err != nil {
				return nil, err
			}
			keys = append(keys, SortKey{Col: col, Desc: item.Desc})
		}
	}
	limit, offset, err := b.limit(lim)
	if err != nil {
		return nil, err
	}
	var out Node = &Sort{Input: proj, Keys: keys, Limit: limit, Offset: offset}
	if !bounded && len(keys) > 0 {
		return nil, b.errAt(b.keywordBefore(exprOffset(ob.Items[0].Expr), "order"),
			"ORDER BY over an unbounded input is not supported: the result never ends (read a bounded source, or drop ORDER BY)")
	}
	if len(proj.Exprs) > visible {
		exprs := make([]expr.Expr, visible)
		for i := range exprs {
			exprs[i] = expr.Col(i, proj.Exprs[i].Type(), proj.Names[i])
		}
		out = &Project{Input: out, Exprs: exprs, Names: proj.Names[:visible:visible]}
	}
	return out, nil
}

func (b *builder) orderItem(e ast.ExprNode, proj *Project, conv converter) (int, error) {
	e = unparen(e)
	if pos, ok := e.(*ast.PositionExpr); ok {
		if pos.N < 1 || pos.N > len(proj.Exprs) {
			return 0, b.errAt(0, "ORDER BY position %d is out of range (1..%d)", pos.N, len(proj.Exprs))
		}
		return pos.N - 1, nil
	}
	if v, ok := e.(*driver.ValueExpr); ok {
		if n, ok := v.GetValue().(int64); ok {
			if n < 1 || int(n) > len(proj.Exprs) {
				return 0, b.errAt(v.OriginTextPosition(), "ORDER BY position %d is out of range (1..%d)", n, len(proj.Exprs))
			}
			return int(n - 1), nil
		}
	}
	if c, ok := e.(*ast.ColumnNameExpr); ok && c.Name.Table.O == "" {
		match := -1
		for i, n := range proj.Names {
			if strings.EqualFold(n, c.Name.Name.O) {
				if match >= 0 {
					return 0, b.errAt(c.OriginTextPosition(), "Column '%s' in order clause is ambiguous", c.Name.Name.O)
				}
				match = i
			}
		}
		if match >= 0 {
			return match, nil
		}
	}
	x, err := conv(e)
	if err != nil {
		return 0, err
	}
	proj.Exprs = append(proj.Exprs, x)
	proj.Names = append(proj.Names, fmt.Sprintf("$order%d", len(proj.Exprs)))
	return len(proj.Exprs) - 1, nil
}

func (b *builder) limit(lim *ast.Limit) (limit, offset int64, err error) {
	limit, offset = -1, 0
	if lim == nil {
		return
	}
	get := func(e ast.ExprNode) (int64, error) {
		v, ok := e.(*driver.ValueExpr)
		if ok {
			switch n := v.GetValue().(type) {
			case int64:
				if n >= 0 {
					return n, nil
				}
			case uint64:
				return int64(n), nil
			}
		}
		return 0, b.errAt(exprOffset(e), "LIMIT and OFFSET take a non-negative integer literal")
	}
	if lim.Count != nil {
		if limit, err = get(lim.Count); err != nil {
			return
		}
	}
	if lim.Offset != nil {
		if offset, err = get(lim.Offset); err != nil {
			return
		}
	}
	return
}

func (b *builder) values(rows []*ast.RowExpr) (Node, error) {
	sc := &scope{}
	v := &Values{}
	var colTypes []types.Type
	for r, row := range rows {
		if r > 0 && len(row.Values) != len(colTypes) {
			return nil, b.errAt(exprOffset(row), "VALUES rows must all have %d columns, row %d has %d", len(colTypes), r+1, len(row.Values))
		}
		out := make([]types.Datum, len(row.Values))
		for i, x := range row.Values {
			e, err := b.convert(sc, x)
			if err != nil {
				return nil, err
			}
			if !expr.IsConst(e) {
				return nil, b.errAt(exprOffset(x), "VALUES takes constant expressions")
			}
			d, err := expr.EvalRow(e, nil)
			if err != nil {
				return nil, b.errAt(exprOffset(x), "%v", err)
			}
			out[i] = d
			if r == 0 {
				colTypes = append(colTypes, d.Type)
			} else {
				t, err := valuesType(colTypes[i], d.Type)
				if err != nil {
					return nil, b.errAt(exprOffset(x), "VALUES column %d: %v", i+1, err)
				}
				colTypes[i] = t
			}
		}
		v.Rows = append(v.Rows, out)
	}
	// Cast every datum to its column's common type.
	for _, row := range v.Rows {
		for i := range row {
			if row[i].Type.Equal(colTypes[i]) {
				continue
			}
			c, err := expr.Cast(expr.Lit(row[i]), colTypes[i])
			if err != nil {
				return nil, b.errAt(0, "VALUES column %d: %v", i+1, err)
			}
			d, err := expr.EvalRow(c, nil)
			if err != nil {
				return nil, b.errAt(0, "VALUES column %d: %v", i+1, err)
			}
			if d.Null && !row[i].Null {
				return nil, b.errAt(0, "VALUES column %d: cannot convert '%s' to %s", i+1, row[i], colTypes[i])
			}
			row[i] = d
		}
	}
	for i, t := range colTypes {
		if t.Kind == types.KindNull {
			t = types.String
			for _, row := range v.Rows {
				row[i] = types.NullDatum(t)
			}
		}
		v.Schema = append(v.Schema, Field{Name: fmt.Sprintf("EXPR$%d", i), Type: t})
	}
	return v, nil
}

func (b *builder) tableSource(ts *ast.TableSource) (Node, error) {
	alias := ts.AsName.O
	var n Node
	var err error
	switch src := ts.Source.(type) {
	case *ast.TableName:
		n, err = b.tableName(src, alias)
	case *ast.SelectStmt, *ast.SetOprStmt:
		n, err = b.resultSet(src)
	default:
		return b.resultSet(src)
	}
	if err != nil {
		return nil, err
	}
	cols := ts.ColumnNames
	if b.ext != nil {
		for _, c := range b.ext.ColumnAliases[ts] {
			cols = append(cols, ast.NewCIStr(c))
		}
	}
	if _, isName := ts.Source.(*ast.TableName); isName && len(cols) == 0 {
		return n, nil
	}
	return b.requalify(n, alias, cols)
}

// requalify gives a derived table its alias and optional column names.
func (b *builder) requalify(n Node, alias string, cols []ast.CIStr) (Node, error) {
	fs := n.Fields()
	if len(cols) > 0 && len(cols) != len(fs) {
		return nil, b.errAt(b.keywordAfter(0, strings.ToLower(alias)), "derived table '%s' has %d columns but %d names", alias, len(fs), len(cols))
	}
	p := &Project{Input: n, Qualifier: alias}
	for i, f := range fs {
		name := f.Name
		if len(cols) > 0 {
			name = cols[i].O
		}
		p.Exprs = append(p.Exprs, expr.Col(i, f.Type, f.Name))
		p.Names = append(p.Names, name)
	}
	return p, nil
}

func (b *builder) tableName(tn *ast.TableName, alias string) (Node, error) {
	name := tn.Name.O
	if tn.Schema.O != "" {
		name = tn.Schema.O + "." + name
	}
	if tvf, ok := b.ext.WindowTVFs[strings.ToLower(tn.Name.O)]; ok {
		return b.windowTVF(tvf, alias)
	}
	if alias == "" {
		alias = tn.Name.O
	}
	rel, err := b.p.Catalog.Relation(name)
	if err != nil {
		return nil, b.errAt(NameOffset(b.span, tn.Name.O), "%v", err)
	}
	if rel.Table == nil {
		return b.view(rel, alias)
	}
	t := rel.Table
	cols := make([]int, len(t.Schema))
	for i := range cols {
		cols[i] = i
	}
	s := &Scan{Table: t, Alias: alias, Columns: cols, Continuous: b.continuous}
	if err := s.refresh(b.p); err != nil {
		return nil, b.errAt(NameOffset(b.span, tn.Name.O), "%v", err)
	}
	if s.Watermark, err = b.p.scanWatermark(t); err != nil {
		return nil, b.errAt(NameOffset(b.span, tn.Name.O), "%v", err)
	}
	n, err := b.withProctime(s, t.Name) // window_proctime.go
	if err != nil {
		return nil, b.errAt(NameOffset(b.span, tn.Name.O), "%v", err)
	}
	return n, nil
}

// refresh asks the connector for the source of the scan's columns.
func (s *Scan) refresh(p *Planner) error {
	conn, err := p.connector(connectorName(s.Table))
	if err != nil {
		return err
	}
	sc, ok := conn.(connectors.SourceConnector)
	if !ok {
		return fmt.Errorf("connector '%s' of table '%s' cannot be read", connectorName(s.Table), s.Table.Name)
	}
	spec, err := sc.NewSource(s.Table, connectors.SourceRequest{Columns: s.Columns, Continuous: s.Continuous})
	if err != nil {
		return fmt.Errorf("table '%s': %w", s.Table.Name, err)
	}
	s.Spec = spec
	return nil
}

func (b *builder) view(rel *Relation, alias string) (Node, error) {
	if b.depth > 32 {
		return nil, b.errAt(0, "view '%s' is nested too deeply (does it reference itself?)", rel.ViewName)
	}
	stmts, err := parser.Parse(rel.ViewQuery)
	if err != nil {
		return nil, fmt.Errorf("in view '%s': %w", rel.ViewName, err)
	}
	if len(stmts) != 1 {
		return nil, b.errAt(0, "view '%s' does not hold one query", rel.ViewName)
	}
	q, ok := stmts[0].(*parser.Query)
	if !ok {
		return nil, b.errAt(0, "view '%s' does not hold a query", rel.ViewName)
	}
	vb := &builder{p: b.p, span: q.Span, ext: q.Ext, continuous: b.continuous, depth: b.depth + 1}
	n, err := vb.resultSet(q.Node)
	if err != nil {
		return nil, fmt.Errorf("in view '%s': %w", rel.ViewName, err)
	}
	cols := make([]ast.CIStr, len(rel.ViewColumns))
	for i, c := range rel.ViewColumns {
		cols[i] = ast.NewCIStr(c)
	}
	return b.requalify(n, alias, cols)
}

func (b *builder) setOpr(s *ast.SetOprStmt) (Node, error) {
	if s.With != nil {
		return nil, b.errAt(0, "WITH (common table expressions) is not supported yet")
	}
	// Set operators associate to the left: a UNION b UNION ALL c is
	// (a UNION b) UNION ALL c. Runs of UNION ALL are unioned in one node.
	var run []Node
	for i, sel := range s.SelectList.Selects {
		var n Node
		var err error
		switch x := sel.(type) {
		case *ast.SelectStmt:
			n, err = b.selectStmt(x)
		case *ast.SetOprSelectList:
			n, err = b.setOpr(&ast.SetOprStmt{SelectList: x, OrderBy: x.OrderBy, Limit: x.Limit})
		default:
			err = b.errAt(0, "unsupported set operand %T", sel)
		}
		if err != nil {
			return nil, err
		}
		if i == 0 {
			run = []Node{n}
			continue
		}
		var tp *ast.SetOprType
		switch x := sel.(type) {
		case *ast.SelectStmt:
			tp = x.AfterSetOperator
		case *ast.SetOprSelectList:
			tp = x.AfterSetOperator
		}
		switch {
		case tp == nil || *tp == ast.UnionAll:
			run = append(run, n)
		case *tp == ast.Union:
			acc, err := b.union(append(run, n))
			if err != nil {
				return nil, err
			}
			run = []Node{distinctOf(acc)}
		default:
			return nil, b.errAt(b.keywordAfter(0, strings.ToLower(strings.Fields(tp.String())[0])),
				"%s is not supported yet (UNION and UNION ALL are)", strings.ToUpper(tp.String()))
		}
	}
	u, err := b.union(run)
	if err != nil {
		return nil, err
	}
	if s.OrderBy == nil && s.Limit == nil {
		return u, nil
	}
	proj := identity(u, "")
	uSc := &scope{fields: u.Fields()}
	conv := func(n ast.ExprNode) (expr.Expr, error) { return b.convert(uSc, n) }
	return b.orderLimit(s.OrderBy, s.Limit, proj, u.Bounded(), conv)
}

// union aligns the inputs' column types and unions them.
func (b *builder) union(inputs []Node) (Node, error) {
	if len(inputs) == 1 {
		return inputs[0], nil
	}
	first := inputs[0].Fields()
	ts := make([]types.Type, len(first))
	for i, f := range first {
		ts[i] = f.Type
	}
	for k, in := range inputs[1:] {
		fs := in.Fields()
		if len(fs) != len(ts) {
			return nil, b.errAt(b.keywordAfter(0, "union"), "UNION operands have different numbers of columns: %d and %d (operand %d)", len(ts), len(fs), k+2)
		}
		for i, f := range fs {
			t, err := commonType(ts[i], f.Type)
			if err != nil {
				return nil, b.errAt(b.keywordAfter(0, "union"), "UNION column %d (%s): %v", i+1, first[i].Name, err)
			}
			ts[i] = t
		}
	}
	u := &Union{}
	for i, f := range first {
		u.Schema = append(u.Schema, Field{Name: f.Name, Type: ts[i]})
	}
	for _, in := range inputs {
		cast, err := castTo(in, ts)
		if err != nil {
			return nil, b.errAt(0, "%v", err)
		}
		u.In = append(u.In, cast)
	}
	return u, nil
}

// castTo projects n so its columns have types ts (a no-op when they do).
func castTo(n Node, ts []types.Type) (Node, error) {
	fs := n.Fields()
	same := true
	for i, f := range fs {
		if !f.Type.Equal(ts[i]) {
			same = false
		}
	}
	if same {
		return n, nil
	}
	p := &Project{Input: n}
	for i, f := range fs {
		var e expr.Expr = expr.Col(i, f.Type, f.Name)
		if !f.Type.Equal(ts[i]) {
			c, err := expr.Cast(e, ts[i])
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", f.Name, err)
			}
			e = c
		}
		p.Exprs = append(p.Exprs, e)
		p.Names = append(p.Names, f.Name)
	}
	return p, nil
}

// alignToTable maps the query's columns onto the table's: by the INSERT's
// column list (missing columns are NULL) or by position, casting each to the
// column type when it is assignable.
func (b *builder) alignToTable(ins *parser.Insert, src Node, t *connectors.Table) (Node, error) {
	fs := src.Fields()
	target := make([]int, len(fs)) // query column i → table column target[i]
	if len(ins.Columns) > 0 {
		if len(ins.Columns) != len(fs) {
			return nil, ins.ErrorAt(NameOffset(ins.Span, ins.Table), fmt.Sprintf(
				"INSERT INTO %s names %d columns but the query produces %d", t.Name, len(ins.Columns), len(fs)))
		}
		seen := map[int]bool{}
		for i, c := range ins.Columns {
			idx := t.Schema.Index(c)
			if idx < 0 {
				return nil, ins.ErrorAt(NameOffset(ins.Span, c), fmt.Sprintf("Unknown column '%s' in table '%s'", c, t.Name))
			}
			if seen[idx] {
				return nil, ins.ErrorAt(NameOffset(ins.Span, c), fmt.Sprintf("column '%s' is named twice", c))
			}
			seen[idx] = true
			target[i] = idx
		}
	} else {
		if len(fs) != len(t.Schema) {
			return nil, ins.ErrorAt(NameOffset(ins.Span, ins.Table), fmt.Sprintf(
				"INSERT INTO %s: the table has %d columns but the query produces %d", t.Name, len(t.Schema), len(fs)))
		}
		for i := range target {
			target[i] = i
		}
	}
	p := &Project{Input: src}
	for ci, col := range t.Schema {
		var e expr.Expr
		qi := -1
		for i, tc := range target {
			if tc == ci {
				qi = i
			}
		}
		if qi < 0 {
			if col.Type.NotNull {
				return nil, ins.ErrorAt(NameOffset(ins.Span, ins.Table), fmt.Sprintf("column '%s' is NOT NULL and has no value", col.Name))
			}
			e = expr.Lit(types.NullDatum(col.Type))
		} else {
			e = expr.Col(qi, fs[qi].Type, fs[qi].Name)
			if !assignable(fs[qi].Type, col.Type) {
				return nil, ins.ErrorAt(NameOffset(ins.Span, ins.Table), fmt.Sprintf(
					"cannot write %s into column '%s' of type %s", fs[qi].Type, col.Name, col.Type))
			}
			if !fs[qi].Type.Equal(col.Type) {
				c, err := expr.Cast(e, col.Type.Nullable())
				if err != nil {
					return nil, ins.ErrorAt(NameOffset(ins.Span, ins.Table), fmt.Sprintf("column '%s': %v", col.Name, err))
				}
				e = c
			}
		}
		p.Exprs = append(p.Exprs, e)
		p.Names = append(p.Names, col.Name)
	}
	return p, nil
}

// assignable reports whether a value of type from may be stored in a column
// of type to with an implicit cast: within numbers, within strings, within
// temporal types, NULL into anything, and string literals' types into
// temporal columns are handled by the caller's CAST.
func assignable(from, to types.Type) bool {
	switch {
	case from.Kind == types.KindNull || from.Equal(to):
		return true
	case from.IsNumeric() && to.IsNumeric():
		return true
	case from.IsString() && to.IsString():
		return true
	case from.IsTemporal() && to.IsTemporal():
		return true
	case from.Kind == types.KindBool && to.Kind == types.KindBool:
		return true
	case from.IsString() && (to.IsTemporal() || to.IsNumeric() || to.Kind == types.KindBool):
		// Strings are parsed by CAST (NULL when they do not parse).
		return true
	}
	return false
}

// valuesType is commonType for VALUES columns, whose values are all
// constants: a string literal meeting a number, date or boolean takes that
// type (and must convert).
func valuesType(a, b types.Type) (types.Type, error) {
	t, err := commonType(a, b)
	if err == nil {
		return t, nil
	}
	switch {
	case a.IsString() && !b.IsString():
		return b.Nullable(), nil
	case b.IsString() && !a.IsString():
		return a.Nullable(), nil
	}
	return t, err
}

// commonType is the type both a and b widen to, for UNION and VALUES.
func commonType(a, b types.Type) (types.Type, error) {
	switch {
	case a.Equal(b):
		return a.Nullable(), nil
	case a.Kind == types.KindNull:
		return b.Nullable(), nil
	case b.Kind == types.KindNull:
		return a.Nullable(), nil
	case a.IsString() && b.IsString():
		if a.Kind == types.KindBytes || b.Kind == types.KindBytes {
			return types.Bytes, nil
		}
		return types.String, nil
	case a.IsNumeric() && b.IsNumeric():
		if a.IsFloat() || b.IsFloat() {
			return types.Double, nil
		}
		if a.Kind == types.KindDecimal || b.Kind == types.KindDecimal {
			da, db := decimalOf(a), decimalOf(b)
			scale := max(da.Scale, db.Scale)
			intDigits := max(da.Precision-da.Scale, db.Precision-db.Scale)
			p := min(intDigits+scale, types.MaxDecimalPrecision)
			return types.Decimal(p, scale), nil
		}
		if a.Kind > b.Kind {
			return a.Nullable(), nil
		}
		return b.Nullable(), nil
	case a.IsTemporal() && b.IsTemporal():
		if a.Kind == types.KindTime || b.Kind == types.KindTime {
			break
		}
		p := max(a.Precision, b.Precision)
		return types.Type{Kind: types.KindTimestamp, Precision: p}, nil
	}
	return types.Type{}, fmt.Errorf("types %s and %s have no common type", a, b)
}

// decimalOf describes an exact numeric type as a decimal.
func decimalOf(t types.Type) types.Type {
	switch t.Kind {
	case types.KindDecimal:
		return t
	case types.KindTinyInt:
		return types.Decimal(3, 0)
	case types.KindSmallInt:
		return types.Decimal(5, 0)
	case types.KindInt:
		return types.Decimal(10, 0)
	}
	return types.Decimal(18, 0)
}
