package planner

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
)

// AggFunc is an aggregate function.
type AggFunc uint8

// Aggregate functions.
const (
	AggCount AggFunc = iota
	AggCountStar
	AggSum
	AggAvg
	AggMin
	AggMax
)

var aggNames = [...]string{"COUNT", "COUNT", "SUM", "AVG", "MIN", "MAX"}

// AggCall is one aggregate of an Aggregate node. Arg and Filter index the
// Aggregate's input (-1 when absent).
type AggCall struct {
	Func     AggFunc
	Arg      int
	Distinct bool
	Filter   int
	Type     types.Type
}

// Aggregate groups its input by GroupCols and computes Calls per group.
// Its output is the group columns followed by one column per call; it is
// an updating changelog keyed by the group columns.
type Aggregate struct {
	Input     Node
	GroupCols []int
	Calls     []AggCall
	// Names are the output column names (group columns, then calls).
	Names []string
}

// Fields implements Node.
func (a *Aggregate) Fields() []Field {
	in := a.Input.Fields()
	fs := make([]Field, 0, len(a.GroupCols)+len(a.Calls))
	for i, c := range a.GroupCols {
		fs = append(fs, Field{Name: a.Names[i], Qualifier: in[c].Qualifier, Type: in[c].Type})
	}
	for i, c := range a.Calls {
		fs = append(fs, Field{Name: a.Names[len(a.GroupCols)+i], Type: c.Type})
	}
	return fs
}

// Inputs implements Node.
func (a *Aggregate) Inputs() []Node { return []Node{a.Input} }

// Mode implements Node.
func (a *Aggregate) Mode() connectors.ChangelogMode {
	// A window aggregate (rewritten by the optimizer) emits each window's
	// final rows once: append-only. Sink modes are checked before the
	// rewrite, so the mode must already say so here.
	if p, err := windowAggregate(a); err == nil && p != nil {
		return connectors.AppendOnly
	}
	return connectors.Retract
}

// Bounded implements Node.
func (a *Aggregate) Bounded() bool { return a.Input.Bounded() }

func (a *Aggregate) describe() string {
	in := a.Input.Fields()
	var keys, calls []string
	for _, c := range a.GroupCols {
		keys = append(keys, in[c].Name)
	}
	for _, c := range a.Calls {
		calls = append(calls, c.describe(in))
	}
	out := "GroupAggregate("
	if len(keys) > 0 {
		out += "groupBy=[" + strings.Join(keys, ", ") + "]"
		if len(calls) > 0 {
			out += ", "
		}
	}
	if len(calls) > 0 {
		out += "select=[" + strings.Join(calls, ", ") + "]"
	}
	return out + ")"
}

func (c AggCall) describe(in []Field) string {
	arg := "*"
	if c.Arg >= 0 {
		arg = in[c.Arg].Name
	}
	if c.Distinct {
		arg = "DISTINCT " + arg
	}
	s := aggNames[c.Func] + "(" + arg + ")"
	if c.Filter >= 0 {
		s += " FILTER " + in[c.Filter].Name
	}
	return s
}

// aggType is the result type of an aggregate over an argument of type t.
func aggType(f AggFunc, t types.Type) (types.Type, error) {
	switch f {
	case AggCount, AggCountStar:
		return types.Type{Kind: types.KindBigInt, NotNull: true}, nil
	case AggSum:
		switch {
		case t.IsInteger() || t.Kind == types.KindBool:
			return types.BigInt, nil
		case t.Kind == types.KindDecimal:
			return types.Decimal(types.MaxDecimalPrecision, t.Scale), nil
		case t.IsFloat():
			return types.Double, nil
		}
	case AggAvg:
		switch {
		case t.IsInteger() || t.Kind == types.KindBool:
			return types.Decimal(types.MaxDecimalPrecision, 4), nil
		case t.Kind == types.KindDecimal:
			return types.Decimal(types.MaxDecimalPrecision, min(t.Scale+4, types.MaxDecimalPrecision)), nil
		case t.IsFloat():
			return types.Double, nil
		}
	case AggMin, AggMax:
		return t.Nullable(), nil
	}
	return types.Type{}, fmt.Errorf("%s does not accept %s", aggNames[f], t)
}

// aggBuilder plans one aggregating query block: group keys and aggregate
// calls are computed by a projection below the Aggregate; expressions above
// it (select list, HAVING, ORDER BY) read its output.
type aggBuilder struct {
	b    *builder
	in   Node
	inSc *scope
	// pre are the expressions of the projection below the Aggregate: the
	// group keys first, then aggregate arguments and filters.
	pre     []expr.Expr
	nKeys   int
	keyAST  []string // restored text of each group key, for matching
	keyCol  []int    // input column of a key that is a plain column, else -1
	keyName []string
	calls   []AggCall
	callKey []string // restored text of each call, for reuse
}

// restore prints an AST expression in a normal form (keywords upper-case,
// names quoted), to compare expressions written the same way.
func restore(n ast.Node) string {
	var sb strings.Builder
	ctx := format.NewRestoreCtx(format.RestoreStringSingleQuotes|format.RestoreNameBackQuotes|format.RestoreKeyWordUppercase, &sb)
	if err := n.Restore(ctx); err != nil {
		return fmt.Sprintf("%p", n)
	}
	// Not lower-cased: string literals differ by case ('paid' <> 'PAID').
	return sb.String()
}

func (b *builder) aggSelect(sel *ast.SelectStmt, in Node) (Node, error) {
	ab := &aggBuilder{b: b, in: in, inSc: &scope{fields: in.Fields()}}
	if sel.GroupBy != nil {
		for _, item := range sel.GroupBy.Items {
			if err := ab.addKey(sel, item.Expr); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range sel.Fields.Fields {
		if f.WildCard != nil {
			return nil, b.errAt(f.Offset, "SELECT * cannot be used with GROUP BY or aggregates; list the columns")
		}
	}
	post := &aggScope{ab: ab}
	// Scalar subqueries above the aggregate (in HAVING, the select list or
	// ORDER BY) are joined to the Aggregate's output once its width is
	// known; until then their columns have placeholder indexes.
	var subs []Node
	hook := func(n ast.ExprNode) (expr.Expr, bool, error) {
		if e, handled, err := ab.hook(n); handled {
			return e, true, err
		}
		sub, ok := n.(*ast.SubqueryExpr)
		if !ok || sub.Exists {
			return nil, false, nil
		}
		right, err := b.resultSet(sub.Query)
		if err != nil {
			return nil, true, err
		}
		rf := right.Fields()
		if len(rf) != 1 {
			return nil, true, b.errAt(sub.OriginTextPosition(), "a scalar subquery must return one column, this one returns %d", len(rf))
		}
		name := fmt.Sprintf("$subquery%d", len(subs))
		subs = append(subs, &Project{Input: &SingleRow{Input: right}, Qualifier: "$",
			Exprs: []expr.Expr{expr.Col(0, rf[0].Type, rf[0].Name)}, Names: []string{name}})
		return expr.Col(subqueryBase+len(subs)-1, rf[0].Type.Nullable(), name), true, nil
	}
	conv := func(n ast.ExprNode) (expr.Expr, error) { return b.convertHook(post, hook, n) }
	proj, err := b.projection(sel.Fields, nil, conv)
	if err != nil {
		return nil, err
	}
	var having expr.Expr
	if sel.Having != nil {
		if having, err = conv(sel.Having.Expr); err != nil {
			return nil, err
		}
	}
	// ORDER BY may add aggregate calls, so it is planned before the
	// Aggregate node is built.
	out, err := b.orderLimit(sel.OrderBy, sel.Limit, proj, in.Bounded(), conv)
	if err != nil {
		return nil, err
	}
	agg := ab.build()
	var above Node = agg
	if len(subs) > 0 {
		width := len(agg.Fields())
		m := make([]int, subqueryBase+len(subs))
		for i := range m {
			m[i] = -1
			if i < width {
				m[i] = i
			}
		}
		for k, sub := range subs {
			above = &Join{Left: above, Right: sub, Kind: LeftJoin}
			m[subqueryBase+k] = width + k
		}
		for i, e := range proj.Exprs {
			if proj.Exprs[i], err = expr.Remap(e, m); err != nil {
				return nil, err
			}
		}
		if having != nil {
			if having, err = expr.Remap(having, m); err != nil {
				return nil, err
			}
		}
	}
	if having != nil {
		above = &Filter{Input: above, Cond: having}
	}
	proj.Input = above
	if sel.Distinct {
		if out != Node(proj) {
			return nil, b.errAt(0, "SELECT DISTINCT with GROUP BY and ORDER BY/LIMIT is not supported yet")
		}
		return distinctOf(proj), nil
	}
	return out, nil
}

// subqueryBase is the first placeholder column index of a scalar subquery
// above an Aggregate (beyond any real column of a query block).
const subqueryBase = 4096

// addKey adds a GROUP BY item: an input expression, a select-list alias or
// a select-list position.
func (ab *aggBuilder) addKey(sel *ast.SelectStmt, e ast.ExprNode) error {
	e = unparen(e)
	if v, ok := e.(*driver.ValueExpr); ok {
		if n, ok := v.GetValue().(int64); ok {
			if n < 1 || int(n) > len(sel.Fields.Fields) || sel.Fields.Fields[n-1].Expr == nil {
				return ab.b.errAt(v.OriginTextPosition(), "GROUP BY position %d is not in the select list", n)
			}
			e = sel.Fields.Fields[n-1].Expr
		}
	}
	if c, ok := e.(*ast.ColumnNameExpr); ok && c.Name.Table.O == "" {
		if _, _, err := ab.inSc.Column("", c.Name.Name.O); err != nil {
			for _, f := range sel.Fields.Fields {
				if f.Expr != nil && strings.EqualFold(f.AsName.O, c.Name.Name.O) {
					e = f.Expr
					break
				}
			}
		}
	}
	x, err := ab.b.convert(ab.inSc, e)
	if err != nil {
		return err
	}
	col, name := -1, fmt.Sprintf("EXPR$%d", ab.nKeys)
	if i, ok := expr.ColumnIndex(x); ok {
		col, name = i, ab.inSc.fields[i].Name
	}
	ab.pre = append(ab.pre, x)
	ab.keyAST = append(ab.keyAST, restore(e))
	ab.keyCol = append(ab.keyCol, col)
	ab.keyName = append(ab.keyName, name)
	ab.nKeys++
	return nil
}

// hook resolves aggregate calls and group-key expressions above the
// Aggregate.
func (ab *aggBuilder) hook(n ast.ExprNode) (expr.Expr, bool, error) {
	if agg, ok := n.(*ast.AggregateFuncExpr); ok {
		idx, err := ab.addCall(agg)
		if err != nil {
			return nil, true, err
		}
		return expr.Col(ab.nKeys+idx, ab.calls[idx].Type, ab.callKey[idx]), true, nil
	}
	if _, isCol := n.(*ast.ColumnNameExpr); isCol {
		return nil, false, nil
	}
	text := restore(n)
	for i, k := range ab.keyAST {
		if ab.keyCol[i] < 0 && k == text {
			return expr.Col(i, ab.pre[i].Type(), ab.keyName[i]), true, nil
		}
	}
	return nil, false, nil
}

func (ab *aggBuilder) addCall(agg *ast.AggregateFuncExpr) (int, error) {
	b := ab.b
	key := restore(agg)
	if f, ok := b.ext.AggFilters[agg]; ok {
		key += " filter " + restore(f)
	}
	for i, k := range ab.callKey {
		if k == key {
			return i, nil
		}
	}
	var fn AggFunc
	switch strings.ToLower(agg.F) {
	case "count":
		fn = AggCount
	case "sum":
		fn = AggSum
	case "avg":
		fn = AggAvg
	case "min":
		fn = AggMin
	case "max":
		fn = AggMax
	default:
		return 0, b.errAt(agg.OriginTextPosition(), "aggregate function %s is not supported yet", strings.ToUpper(agg.F))
	}
	if len(agg.Args) != 1 {
		return 0, b.errAt(agg.OriginTextPosition(), "%s takes one argument", strings.ToUpper(agg.F))
	}
	call := AggCall{Func: fn, Arg: -1, Distinct: agg.Distinct, Filter: -1}
	arg := agg.Args[0]
	if fn == AggCount && !agg.Distinct && isCountStarArg(arg) {
		call.Func = AggCountStar
	} else {
		if hasAggregateNode(arg) {
			return 0, b.errAt(agg.OriginTextPosition(), "aggregate functions cannot be nested")
		}
		x, err := b.convert(ab.inSc, arg)
		if err != nil {
			return 0, err
		}
		call.Arg = len(ab.pre)
		ab.pre = append(ab.pre, x)
		if call.Type, err = aggType(fn, x.Type()); err != nil {
			return 0, b.errAt(agg.OriginTextPosition(), "%v", err)
		}
	}
	if call.Func == AggCountStar {
		call.Type, _ = aggType(AggCountStar, types.BigInt)
	}
	if f, ok := b.ext.AggFilters[agg]; ok {
		x, err := b.convert(ab.inSc, f)
		if err != nil {
			return 0, err
		}
		if x.Type().Kind != types.KindBool {
			if x, err = expr.Call("IS TRUE", x); err != nil {
				return 0, b.errAt(exprOffset(f), "FILTER needs a boolean condition: %v", err)
			}
		}
		call.Filter = len(ab.pre)
		ab.pre = append(ab.pre, x)
	}
	ab.calls = append(ab.calls, call)
	ab.callKey = append(ab.callKey, key)
	return len(ab.calls) - 1, nil
}

// isCountStarArg reports whether a COUNT argument is * (TiDB passes it as
// the constant 1) or another non-NULL constant.
func isCountStarArg(e ast.ExprNode) bool {
	v, ok := e.(*driver.ValueExpr)
	return ok && v.GetValue() != nil
}

func hasAggregateNode(n ast.Node) bool {
	found := false
	n.Accept(visitorFunc(func(n ast.Node) bool {
		if _, ok := n.(*ast.AggregateFuncExpr); ok {
			found = true
		}
		return !found
	}))
	return found
}

// build returns the projection of keys and arguments and the Aggregate
// over it.
func (ab *aggBuilder) build() *Aggregate {
	pre := &Project{Input: ab.in}
	for i, e := range ab.pre {
		pre.Exprs = append(pre.Exprs, e)
		if i < ab.nKeys {
			pre.Names = append(pre.Names, ab.keyName[i])
		} else {
			pre.Names = append(pre.Names, fmt.Sprintf("$arg%d", i))
		}
	}
	if ab.nKeys > 0 {
		// Keep the qualifiers of plain-column keys so qualified names
		// resolve above the Aggregate.
		pre.Qualifier = ""
	}
	a := &Aggregate{Input: pre, Calls: ab.calls}
	for i := 0; i < ab.nKeys; i++ {
		a.GroupCols = append(a.GroupCols, i)
		a.Names = append(a.Names, ab.keyName[i])
	}
	a.Names = append(a.Names, ab.callKey...)
	return a
}

// aggScope resolves column names above an Aggregate: only group keys that
// are plain input columns can be named.
type aggScope struct{ ab *aggBuilder }

// Column implements sqlexpr.Scope.
func (s *aggScope) Column(qualifier, name string) (int, types.Type, error) {
	idx, _, err := s.ab.inSc.Column(qualifier, name)
	if err != nil {
		return 0, types.Type{}, err
	}
	for i, c := range s.ab.keyCol {
		if c == idx {
			return i, s.ab.pre[i].Type(), nil
		}
	}
	return 0, types.Type{}, fmt.Errorf("column '%s' must appear in the GROUP BY clause or be used in an aggregate function", name)
}
