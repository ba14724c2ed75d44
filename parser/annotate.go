package parser

import (
	"cmp"
	"slices"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluicesql/sluice/exec/types"
)

// collector gathers the nodes annotate works on.
type collector struct {
	casts []*ast.FuncCastExpr
	aggs  []*ast.AggregateFuncExpr
	sels  []*ast.SelectStmt
	srcs  []*ast.TableSource
}

func (v *collector) Enter(n ast.Node) (ast.Node, bool) {
	switch n := n.(type) {
	case *ast.FuncCastExpr:
		v.casts = append(v.casts, n)
	case *ast.AggregateFuncExpr:
		v.aggs = append(v.aggs, n)
	case *ast.SelectStmt:
		v.sels = append(v.sels, n)
	case *ast.TableSource:
		v.srcs = append(v.srcs, n)
	}
	return n, false
}

func (v *collector) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// annotate records in ext what the pre-parser lifted out of the tree n
// (already remapped to statement offsets): the type of every CAST, VALUES
// lists, derived table column lists; it also indexes the aggregates for
// FILTER clauses.
func (r *rewriter) annotate(n ast.Node, ext *Extensions) error {
	if n == nil {
		return nil
	}
	var v collector
	n.Accept(&v)
	for _, c := range v.casts {
		t, ok := r.casts[c.OriginTextPosition()]
		if !ok {
			t = typeFromFieldType(c.Tp)
		}
		if ext.CastTypes == nil {
			ext.CastTypes = map[*ast.FuncCastExpr]types.Type{}
		}
		ext.CastTypes[c] = t
	}
	for _, a := range v.aggs {
		if r.aggs == nil {
			r.aggs = map[int]*ast.AggregateFuncExpr{}
		}
		r.aggs[a.OriginTextPosition()] = a
	}
	for _, s := range v.sels {
		if err := r.valuesStmt(s); err != nil {
			return err
		}
	}
	for _, s := range v.srcs {
		r.columnAliases(s, ext)
	}
	return nil
}

// valuesStmt turns the SELECT (..), (..) the pre-parser made of a VALUES
// list back into a VALUES statement: Kind SelectStmtKindValues, one
// *ast.RowExpr per row in Lists.
func (r *rewriter) valuesStmt(s *ast.SelectStmt) error {
	if s.Kind != ast.SelectStmtKindSelect || s.Fields == nil || len(s.Fields.Fields) == 0 {
		return nil
	}
	kw, ok := r.values[s.Fields.Fields[0].Offset]
	if !ok {
		return nil
	}
	if s.From != nil || s.Where != nil || s.GroupBy != nil || s.Having != nil || s.WindowSpecs != nil || s.Distinct {
		return r.sp.ErrorAt(kw, "VALUES takes a list of rows only")
	}
	rows := make([]*ast.RowExpr, 0, len(s.Fields.Fields))
	for _, f := range s.Fields.Fields {
		if f.WildCard != nil || f.AsName.L != "" || f.Expr == nil {
			return r.sp.ErrorAt(f.Offset, "VALUES takes a list of rows only")
		}
		row, ok := f.Expr.(*ast.RowExpr)
		if !ok {
			e := f.Expr
			if p, ok := e.(*ast.ParenthesesExpr); ok {
				e = p.Expr
			}
			row = &ast.RowExpr{Values: []ast.ExprNode{e}}
			row.SetOriginTextPosition(f.Offset)
		}
		if len(rows) > 0 && len(row.Values) != len(rows[0].Values) {
			return r.sp.ErrorAt(f.Offset, "VALUES rows have different numbers of columns")
		}
		rows = append(rows, row)
	}
	s.Kind = ast.SelectStmtKindValues
	s.Lists = rows
	s.Fields = &ast.FieldList{Fields: []*ast.SelectField{{WildCard: &ast.WildCardField{}}}}
	return nil
}

// columnAliases attaches a recorded (derived table) AS t(a, b) column list
// to its table source: the innermost recorded parentheses holding the
// derived table's first node.
func (r *rewriter) columnAliases(s *ast.TableSource, ext *Extensions) {
	if len(r.aliases) == 0 || s.AsName.L == "" {
		return
	}
	if _, ok := s.Source.(*ast.TableName); ok {
		return
	}
	first := minOffset(s.Source)
	var best *aliasRec
	for _, a := range r.aliases {
		if !a.used && a.name == s.AsName.L && a.open < first && first < a.close &&
			(best == nil || a.open > best.open) {
			best = a
		}
	}
	if best == nil {
		return
	}
	best.used = true
	if ext.ColumnAliases == nil {
		ext.ColumnAliases = map[*ast.TableSource][]string{}
	}
	ext.ColumnAliases[s] = best.cols
}

// minOffset returns the smallest positive node offset under n.
func minOffset(n ast.Node) int {
	v := &minVisitor{min: -1}
	n.Accept(v)
	return v.min
}

type minVisitor struct{ min int }

func (v *minVisitor) Enter(n ast.Node) (ast.Node, bool) {
	p := n.OriginTextPosition()
	if f, ok := n.(*ast.SelectField); ok {
		p = f.Offset
	}
	if p > 0 && (v.min < 0 || p < v.min) {
		v.min = p
	}
	return n, false
}

func (v *minVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// complete parses the FILTER conditions and copies the window TVFs and
// interval placeholders into ext. It runs after annotate saw every tree of
// the statement.
func (r *rewriter) complete(ext *Extensions) error {
	slices.SortFunc(r.filters, func(a, b filterRec) int { return cmp.Compare(a.kw, b.kw) })
	for _, f := range r.filters {
		agg := r.aggs[f.agg]
		if agg == nil {
			return r.sp.ErrorAt(f.kw, "FILTER (WHERE ...) is only allowed on aggregate functions")
		}
		cond, err := r.parseExpr(f.lo, f.hi)
		if err != nil {
			return err
		}
		if err := r.annotate(cond, ext); err != nil {
			return err
		}
		if ext.AggFilters == nil {
			ext.AggFilters = map[*ast.AggregateFuncExpr]ast.ExprNode{}
		}
		ext.AggFilters[agg] = cond
	}
	ext.WindowTVFs = r.tvfs
	ext.Intervals = r.ivls
	return nil
}
