package session

import (
	"context"
	"fmt"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluicesql/sluice/catalog"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/parser"
)

// DELETE and UPDATE on built-in tables read the rows they touch with a
// snapshot query and apply the changes as a changelog (-D, or -U/+U), which
// running jobs and materialized views then follow. Each batch of up to
// 1024 rows is applied atomically; a statement over more rows is applied
// batch by batch.

// dmlTarget resolves the built-in table a DELETE or UPDATE changes.
func (s *Session) dmlTarget(span parser.Span, name string) (*catalog.Table, error) {
	t, v, err := s.cat.Lookup(name)
	if err != nil {
		return nil, span.ErrorAt(nameOff(span, name), err.Error())
	}
	if v != nil {
		return nil, span.ErrorAt(nameOff(span, name), fmt.Sprintf("cannot change view '%s'; change its input tables", name))
	}
	if t.Options["connector"] != "" {
		return nil, span.ErrorAt(nameOff(span, name), fmt.Sprintf(
			"DELETE and UPDATE change built-in tables only; '%s' is bound to connector '%s'", name, t.Options["connector"]))
	}
	return t, nil
}

// dmlQuery builds SELECT <fields> FROM name [WHERE where] over the
// statement's own text positions.
func dmlQuery(span parser.Span, ext *parser.Extensions, name string, extra []ast.ExprNode, where ast.ExprNode) *parser.Query {
	fields := []*ast.SelectField{{WildCard: &ast.WildCardField{}}}
	for _, e := range extra {
		fields = append(fields, &ast.SelectField{Expr: e})
	}
	sel := &ast.SelectStmt{
		SelectStmtOpts: &ast.SelectStmtOpts{},
		Kind:           ast.SelectStmtKindSelect,
		From: &ast.TableRefsClause{TableRefs: &ast.Join{Left: &ast.TableSource{
			Source: &ast.TableName{Name: ast.NewCIStr(name)}}}},
		Fields: &ast.FieldList{Fields: fields},
		Where:  where,
	}
	if ext == nil {
		ext = &parser.Extensions{}
	}
	return &parser.Query{Span: span, Node: sel, Ext: ext}
}

func (s *Session) deleteRows(ctx context.Context, d *parser.Delete) (*Result, error) {
	t, err := s.dmlTarget(d.Span, d.Table)
	if err != nil {
		return nil, err
	}
	n, err := s.applyDML(ctx, t, dmlQuery(d.Span, d.Ext, d.Table, nil, d.Where), nil)
	if err != nil {
		return nil, err
	}
	return ok(fmt.Sprintf("%d row(s) deleted from '%s'.", n, t.Name)), nil
}

func (s *Session) updateRows(ctx context.Context, u *parser.Update) (*Result, error) {
	t, err := s.dmlTarget(u.Span, u.Table)
	if err != nil {
		return nil, err
	}
	schema := types.Schema{}
	for _, c := range t.Columns {
		schema = append(schema, types.Column{Name: c.Name, Type: c.Type})
	}
	targets := make([]int, len(u.Set))
	var exprs []ast.ExprNode
	for i, a := range u.Set {
		idx := schema.Index(a.Column)
		if idx < 0 {
			return nil, u.ErrorAt(nameOff(u.Span, a.Column), fmt.Sprintf("Unknown column '%s' in table '%s'", a.Column, t.Name))
		}
		targets[i] = idx
		exprs = append(exprs, a.Expr)
	}
	n, err := s.applyDML(ctx, t, dmlQuery(u.Span, u.Ext, u.Table, exprs, u.Where), targets)
	if err != nil {
		return nil, err
	}
	return ok(fmt.Sprintf("%d row(s) updated in '%s'.", n, t.Name)), nil
}

// applyDML runs q (the table's columns, then one value per target column
// for an UPDATE) and applies its rows to t: -D per row for a DELETE
// (targets nil), -U old / +U new for an UPDATE. It returns the row count.
func (s *Session) applyDML(ctx context.Context, t *catalog.Table, q *parser.Query, targets []int) (int, error) {
	pl := s.planner()
	plan, err := pl.PlanQuery(q, false)
	if err != nil {
		return 0, err
	}
	width := len(t.Columns)
	colTypes := make([]types.Type, width)
	for i, c := range t.Columns {
		colTypes[i] = c.Type
	}
	// Casts from each new value's type to its column's type.
	fs := plan.Root.Fields()
	casts := make([]expr.Expr, len(targets))
	for i, c := range targets {
		from := fs[width+i].Type
		if from.Equal(colTypes[c]) {
			continue
		}
		cast, err := expr.Cast(expr.Col(0, from, ""), colTypes[c].Nullable())
		if err != nil {
			return 0, q.ErrorAt(0, fmt.Sprintf("column '%s': %v", t.Columns[c].Name, err))
		}
		casts[i] = cast
	}
	var pk []int
	for _, k := range t.PrimaryKey {
		for i, c := range t.Columns {
			if c.Name == k {
				pk = append(pk, i)
			}
		}
	}
	// Read everything first: applying while the snapshot query still runs
	// would be fine for Badger but makes the row count unclear on error.
	var rows []Row
	qr, err := s.runQuery(q, pl, plan)
	if err != nil {
		return 0, err
	}
	res := qr.Rows
	defer res.Close()
	for {
		r, more, err := res.Next(ctx)
		if err != nil {
			return 0, err
		}
		if !more {
			break
		}
		rows = append(rows, r)
	}
	b := types.NewBatch(colTypes)
	defer func() { b.Release() }()
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		if err := s.tables.Apply(t.ID, colTypes, pk, b); err != nil {
			return fmt.Errorf("apply to '%s': %w", t.Name, err)
		}
		b.Reset(colTypes)
		return nil
	}
	for _, r := range rows {
		old := r.Values[:width]
		if targets == nil {
			b.AppendRow(types.Delete, old)
		} else {
			nu := append([]types.Datum(nil), old...)
			for i, c := range targets {
				d := r.Values[width+i]
				if casts[i] != nil {
					if d, err = expr.EvalRow(casts[i], []types.Datum{d}); err != nil {
						return 0, fmt.Errorf("column '%s': %w", t.Columns[c].Name, err)
					}
				}
				if d.Null && colTypes[c].NotNull {
					return 0, fmt.Errorf("column '%s' is NOT NULL", t.Columns[c].Name)
				}
				d.Type = colTypes[c]
				nu[c] = d
			}
			b.AppendRow(types.UpdateBefore, old)
			b.AppendRow(types.UpdateAfter, nu)
		}
		if b.Len() >= types.DefaultBatchSize {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return len(rows), nil
}
