package planner

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
)

// JoinKind is the kind of a join.
type JoinKind uint8

// Join kinds. Semi and anti joins output only the left side's columns.
const (
	InnerJoin JoinKind = iota
	LeftJoin
	RightJoin
	FullJoin
	SemiJoin
	AntiJoin
)

var joinNames = [...]string{"InnerJoin", "LeftOuterJoin", "RightOuterJoin", "FullOuterJoin", "LeftSemiJoin", "LeftAntiJoin"}

// Join joins Left and Right on Cond, an expression over the left columns
// followed by the right columns. Before compilation, keysAndResidual splits
// Cond into equality keys and a residual predicate.
type Join struct {
	Left, Right Node
	Kind        JoinKind
	Cond        expr.Expr
	// LeftKeys and RightKeys are set by planJoins.
	LeftKeys, RightKeys []int
	Residual            expr.Expr
	// Interval is set by planJoins when the join is an interval join: both
	// inputs append-only with rowtime attributes that Cond bounds (the
	// bounds are then not in Residual).
	Interval *IntervalBounds
	// Window is set by planJoins when the join is a window join: both
	// inputs carry windows whose starts and ends Cond equates (see
	// window_join.go); they are then keys too.
	Window *WindowJoinCols
}

// IntervalBounds are the time bounds of an interval join: a pair joins
// when right.RightTime + Lower <= left.LeftTime <= right.RightTime + Upper
// (microseconds, inclusive). LeftTime indexes the left input, RightTime
// the right one.
type IntervalBounds struct {
	LeftTime, RightTime int
	Lower, Upper        int64
	// LowerOpen and UpperOpen record that a bound was written strict (<
	// or >), for EXPLAIN; Lower and Upper already account for it.
	LowerOpen, UpperOpen bool
}

// Fields implements Node.
func (j *Join) Fields() []Field {
	l := j.Left.Fields()
	if j.Kind == SemiJoin || j.Kind == AntiJoin {
		return l
	}
	r := j.Right.Fields()
	fs := make([]Field, 0, len(l)+len(r))
	for _, f := range l {
		if j.Kind == RightJoin || j.Kind == FullJoin {
			f.Type = f.Type.Nullable()
		}
		fs = append(fs, f)
	}
	for _, f := range r {
		if j.Kind == LeftJoin || j.Kind == FullJoin {
			f.Type = f.Type.Nullable()
		}
		fs = append(fs, f)
	}
	return fs
}

// interval returns the interval bounds of j: Interval once planJoins has
// run, before that what planJoins will find in Cond.
func (j *Join) interval() *IntervalBounds {
	if j.Interval != nil || j.Cond == nil || j.LeftKeys != nil || j.Residual != nil {
		return j.Interval
	}
	iv, _ := intervalBounds(j, expr.Conjuncts(j.Cond))
	return iv
}

// Inputs implements Node.
func (j *Join) Inputs() []Node { return []Node{j.Left, j.Right} }

// Mode implements Node.
func (j *Join) Mode() connectors.ChangelogMode {
	if j.window() != nil {
		return connectors.AppendOnly // over windowed, hence append-only, inputs
	}
	appendOnly := j.Left.Mode() == connectors.AppendOnly && j.Right.Mode() == connectors.AppendOnly
	if appendOnly && (j.Kind == InnerJoin || j.Kind == SemiJoin || j.interval() != nil) {
		return connectors.AppendOnly
	}
	return connectors.Retract
}

// Bounded implements Node.
func (j *Join) Bounded() bool { return j.Left.Bounded() && j.Right.Bounded() }

func (j *Join) describe() string {
	if j.Window != nil {
		return j.describeWindow()
	}
	all := append(append([]Field(nil), j.Left.Fields()...), j.Right.Fields()...)
	var parts []string
	if len(j.LeftKeys) > 0 {
		var eqs []string
		for i := range j.LeftKeys {
			eqs = append(eqs, all[j.LeftKeys[i]].Name+" = "+all[len(j.Left.Fields())+j.RightKeys[i]].Name)
		}
		parts = append(parts, "keys=["+strings.Join(eqs, ", ")+"]")
	}
	if iv := j.Interval; iv != nil {
		l, r := all[iv.LeftTime], all[len(j.Left.Fields())+iv.RightTime]
		ln, rn := l.Name, r.Name
		if l.Qualifier != "" && r.Qualifier != "" {
			ln, rn = l.Qualifier+"."+ln, r.Qualifier+"."+rn
		}
		lo, lop := iv.Lower, ">="
		if iv.LowerOpen {
			lo, lop = lo-1, ">"
		}
		hi, hop := iv.Upper, "<="
		if iv.UpperOpen {
			hi, hop = hi+1, "<"
		}
		parts = append(parts, fmt.Sprintf("interval=[%s %s %s%s AND %s %s %s%s]", ln, lop, rn, signedMicros(lo), ln, hop, rn, signedMicros(hi)))
		if j.Residual != nil {
			parts = append(parts, "residual=["+exprString(j.Residual, all)+"]")
		}
		return "IntervalJoin(type=[" + joinNames[j.Kind] + "], " + strings.Join(parts, ", ") + ")"
	}
	if len(j.LeftKeys) > 0 {
		if j.Residual != nil {
			parts = append(parts, "residual=["+exprString(j.Residual, all)+"]")
		}
	} else if j.Cond != nil {
		parts = append(parts, "condition=["+exprString(j.Cond, all)+"]")
	}
	return joinNames[j.Kind] + "(" + strings.Join(parts, ", ") + ")"
}

// join builds a FROM-clause join.
func (b *builder) join(j *ast.Join) (Node, error) {
	if j.Right == nil {
		return b.resultSet(j.Left)
	}
	if j.NaturalJoin || len(j.Using) > 0 {
		return nil, b.errAt(b.keywordAfter(0, "join"), "NATURAL joins and JOIN ... USING are not supported yet; write ON a.x = b.x")
	}
	left, err := b.resultSet(j.Left)
	if err != nil {
		return nil, err
	}
	right, err := b.resultSet(j.Right)
	if err != nil {
		return nil, err
	}
	kind := InnerJoin
	switch j.Tp {
	case ast.LeftJoin:
		kind = LeftJoin
	case ast.RightJoin:
		kind = RightJoin
	}
	if j.StraightJoin {
		// The pre-parser hands FULL [OUTER] JOIN to TiDB as STRAIGHT_JOIN.
		kind = FullJoin
	}
	n := &Join{Left: left, Right: right, Kind: kind}
	if j.On != nil {
		sc := &scope{fields: append(append([]Field(nil), left.Fields()...), right.Fields()...)}
		c, err := b.convert(sc, j.On.Expr)
		if err != nil {
			return nil, err
		}
		n.Cond = c
	} else if kind != InnerJoin {
		return nil, b.errAt(b.keywordAfter(0, "join"), "an outer join needs an ON condition")
	}
	return n, nil
}

// where converts a WHERE clause. Conjuncts that are IN (subquery), EXISTS
// or NOT EXISTS become semi and anti joins of in; the rest are returned as
// one condition (nil when none).
func (b *builder) where(in *Node, w ast.ExprNode) (expr.Expr, error) {
	var rest []expr.Expr
	for _, c := range splitAnd(w) {
		handled, err := b.subqueryConjunct(in, c)
		if err != nil {
			return nil, err
		}
		if handled {
			continue
		}
		subq := b.scalarSubquery(in)
		var inOK map[*ast.PatternInExpr]bool
		if positiveInSubqueries(c, &inOK) {
			mark := b.markJoin(in, inOK)
			inner := subq
			subq = func(n ast.ExprNode) (expr.Expr, bool, error) {
				if e, handled, err := mark(n); handled {
					return e, true, err
				}
				return inner(n)
			}
		}
		x, err := b.convertHook(&scope{fields: (*in).Fields()}, subq, c)
		if err != nil {
			return nil, err
		}
		rest = append(rest, x)
	}
	return andAll(rest)
}

// scalarSubquery returns a conversion hook that plans an uncorrelated
// scalar subquery (SELECT MAX(x) FROM t) as a left join of *in with the
// subquery's single row, and reads the joined column. No row gives NULL;
// more than one row fails the query, as in SQL.
func (b *builder) scalarSubquery(in *Node) func(ast.ExprNode) (expr.Expr, bool, error) {
	return func(n ast.ExprNode) (expr.Expr, bool, error) {
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
		left := *in
		nl := len(left.Fields())
		// The joined column gets a name no query can write, so it never
		// makes the outer query's names ambiguous.
		name := fmt.Sprintf("$subquery%d", nl)
		hidden := &Project{Input: &SingleRow{Input: right}, Exprs: []expr.Expr{expr.Col(0, rf[0].Type, rf[0].Name)}, Names: []string{name}, Qualifier: "$"}
		*in = &Join{Left: left, Right: hidden, Kind: LeftJoin}
		return expr.Col(nl, rf[0].Type.Nullable(), name), true, nil
	}
}

func andAll(es []expr.Expr) (expr.Expr, error) {
	var out expr.Expr
	for _, e := range es {
		if out == nil {
			out = e
			continue
		}
		var err error
		if out, err = expr.Call("AND", out, e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// splitAnd splits an AST condition on AND.
func splitAnd(e ast.ExprNode) []ast.ExprNode {
	e = unparen(e)
	if bin, ok := e.(*ast.BinaryOperationExpr); ok && bin.Op == opcode.LogicAnd {
		return append(splitAnd(bin.L), splitAnd(bin.R)...)
	}
	return []ast.ExprNode{e}
}

// subqueryConjunct plans x IN (SELECT ...), EXISTS (...) and NOT EXISTS
// (...) as semi/anti joins of *in.
func (b *builder) subqueryConjunct(in *Node, c ast.ExprNode) (bool, error) {
	switch x := c.(type) {
	case *ast.PatternInExpr:
		if x.Sel == nil {
			return false, nil
		}
		sub, ok := x.Sel.(*ast.SubqueryExpr)
		if !ok {
			return false, nil
		}
		right, err := b.resultSet(sub.Query)
		if err != nil {
			return true, err
		}
		rf := right.Fields()
		if len(rf) != 1 {
			return true, b.errAt(x.OriginTextPosition(), "IN (subquery) needs a subquery with one column, it has %d", len(rf))
		}
		left := *in
		lf := left.Fields()
		l, err := b.convert(&scope{fields: lf}, x.Expr)
		if err != nil {
			return true, err
		}
		r := expr.Col(len(lf), rf[0].Type, rf[0].Name)
		cond, err := expr.Call("=", l, r)
		if err != nil {
			return true, b.errAt(x.OriginTextPosition(), "%v", err)
		}
		if !x.Not {
			*in = &Join{Left: left, Right: right, Kind: SemiJoin, Cond: cond}
			return true, nil
		}
		// x NOT IN (S) keeps a row when no s in S has x = s, x IS NULL or
		// s IS NULL: a NULL on either side makes NOT IN unknown, which
		// WHERE rejects, unless S is empty. Without an equality key this
		// anti join runs in one subtask and compares every pair.
		for _, side := range []expr.Expr{l, r} {
			isNull, err := expr.Call("IS NULL", side)
			if err != nil {
				return true, b.errAt(x.OriginTextPosition(), "%v", err)
			}
			if cond, err = expr.Call("OR", cond, isNull); err != nil {
				return true, b.errAt(x.OriginTextPosition(), "%v", err)
			}
		}
		*in = &Join{Left: left, Right: right, Kind: AntiJoin, Cond: cond}
		return true, nil
	case *ast.ExistsSubqueryExpr:
		sub, ok := x.Sel.(*ast.SubqueryExpr)
		if !ok {
			return false, nil
		}
		sel, ok := sub.Query.(*ast.SelectStmt)
		if !ok || sel.GroupBy != nil || sel.Having != nil || sel.From == nil || hasAggregate(sel) {
			return true, b.errAt(x.OriginTextPosition(), "EXISTS supports a plain SELECT ... FROM ... [WHERE ...] subquery")
		}
		right, err := b.resultSet(sel.From.TableRefs)
		if err != nil {
			return true, err
		}
		left := *in
		lf, rf := left.Fields(), right.Fields()
		var cond expr.Expr
		if sel.Where != nil {
			// Inner columns shadow outer ones; the condition reads
			// left (outer) columns then right (inner) ones.
			sc := &layeredScope{outer: lf, inner: rf}
			if cond, err = b.convert(sc, sel.Where); err != nil {
				return true, err
			}
		}
		kind := SemiJoin
		if x.Not {
			kind = AntiJoin
		}
		*in = &Join{Left: left, Right: right, Kind: kind, Cond: cond}
		return true, nil
	case *ast.UnaryOperationExpr:
		if x.Op == opcode.Not {
			switch e := unparen(x.V).(type) {
			case *ast.ExistsSubqueryExpr:
				flipped := *e
				flipped.Not = !e.Not
				return b.subqueryConjunct(in, &flipped)
			case *ast.PatternInExpr:
				if e.Sel != nil {
					flipped := *e
					flipped.Not = !e.Not
					return b.subqueryConjunct(in, &flipped)
				}
			}
		}
	}
	return false, nil
}

// layeredScope resolves names in a correlated subquery: its own (inner)
// columns first, then the outer query's. Indexes are in the layout outer
// columns followed by inner columns.
type layeredScope struct{ outer, inner []Field }

// Column implements sqlexpr.Scope.
func (s *layeredScope) Column(qualifier, name string) (int, types.Type, error) {
	if i, t, err := (&scope{fields: s.inner}).Column(qualifier, name); err == nil {
		return len(s.outer) + i, t, nil
	} else if !strings.HasPrefix(err.Error(), "Unknown column") {
		return 0, types.Type{}, err
	}
	return (&scope{fields: s.outer}).Column(qualifier, name)
}

// planJoins splits every join condition into equality keys and a residual,
// pushing single-side conjuncts of inner joins into the inputs, and adds
// projections for keys that are expressions or need a common type.
func (pl *Planner) planJoins(n Node) (Node, error) {
	ins := n.Inputs()
	for i, in := range ins {
		p, err := pl.planJoins(in)
		if err != nil {
			return nil, err
		}
		ins[i] = p
	}
	n = withInputs(n, ins)
	j, ok := n.(*Join)
	if !ok {
		return n, nil
	}
	return splitJoin(j)
}

func splitJoin(j *Join) (Node, error) {
	nl := len(j.Left.Fields())
	nr := len(j.Right.Fields())
	left, right := j.Left, j.Right
	var lkeys, rkeys []expr.Expr
	var residual []expr.Expr
	var toLeft, toRight []expr.Expr
	if j.Cond != nil {
		for _, c := range expr.Conjuncts(j.Cond) {
			side := sideOf(c, nl)
			switch {
			case side == sideLeft && (j.Kind == InnerJoin || j.Kind == RightJoin):
				toLeft = append(toLeft, c)
				continue
			case side == sideRight && (j.Kind == InnerJoin || j.Kind == LeftJoin || j.Kind == SemiJoin || j.Kind == AntiJoin):
				toRight = append(toRight, c)
				continue
			}
			if l, r, ok := expr.Equality(c); ok {
				ls, rs := sideOf(l, nl), sideOf(r, nl)
				if ls == sideLeft && rs == sideRight {
					lkeys, rkeys = append(lkeys, l), append(rkeys, r)
					continue
				}
				if ls == sideRight && rs == sideLeft {
					lkeys, rkeys = append(lkeys, r), append(rkeys, l)
					continue
				}
			}
			residual = append(residual, c)
		}
	}
	window := windowJoinOf(j, lkeys, rkeys)
	var interval *IntervalBounds
	if window == nil {
		interval, residual = intervalBounds(j, residual)
	}
	if len(lkeys) == 0 && (j.Kind == RightJoin || j.Kind == FullJoin || j.Kind == LeftJoin && j.Cond != nil) {
		return nil, fmt.Errorf("%s needs at least one equality condition between its two inputs (outer joins without one are not supported)", joinNames[j.Kind])
	}
	if cond, err := andAll(toLeft); err != nil {
		return nil, err
	} else if cond != nil {
		left = &Filter{Input: left, Cond: cond}
	}
	if cond, err := andAll(toRight); err != nil {
		return nil, err
	} else if cond != nil {
		if cond, err = expr.Remap(cond, shiftDown(nl, nr)); err != nil {
			return nil, err
		}
		right = &Filter{Input: right, Cond: cond}
	}
	// Keys: plain columns of equal types are used as they are; others are
	// computed (and cast to a common type) by a projection on their side.
	out := &Join{Kind: j.Kind, Interval: interval, Window: window}
	lproj, rproj := identity(left, ""), identity(right, "")
	for i := range lkeys {
		l := lkeys[i]
		r, err := expr.Remap(rkeys[i], shiftDown(nl, nr))
		if err != nil {
			return nil, err
		}
		lt, rt := l.Type(), r.Type()
		if !keyCompatible(lt, rt) {
			ct, ok := expr.CommonType(lt, rt)
			if !ok {
				return nil, fmt.Errorf("cannot join %s with %s", lt, rt)
			}
			if l, err = expr.Cast(l, ct); err != nil {
				return nil, err
			}
			if r, err = expr.Cast(r, ct); err != nil {
				return nil, err
			}
		}
		out.LeftKeys = append(out.LeftKeys, keyColumn(lproj, l))
		out.RightKeys = append(out.RightKeys, keyColumn(rproj, r))
	}
	out.Left, out.Right = trimIdentity(lproj), trimIdentity(rproj)
	extraL := len(lproj.Exprs) - nl
	if len(residual) > 0 {
		res, err := andAll(residual)
		if err != nil {
			return nil, err
		}
		// Right columns move right by the extra left key columns.
		m := make([]int, nl+nr)
		for i := range m {
			m[i] = i
			if i >= nl {
				m[i] = i + extraL
			}
		}
		if out.Residual, err = expr.Remap(res, m); err != nil {
			return nil, err
		}
	}
	out.Cond = j.Cond
	if extraL == 0 && len(rproj.Exprs) == nr {
		return out, nil
	}
	// Drop the computed key columns again.
	fs := out.Fields()
	p := &Project{Input: out}
	keep := func(i int) {
		p.Exprs = append(p.Exprs, expr.Col(i, fs[i].Type, fs[i].Name))
		p.Names = append(p.Names, fs[i].Name)
	}
	for i := 0; i < nl; i++ {
		keep(i)
	}
	if j.Kind != SemiJoin && j.Kind != AntiJoin {
		for i := 0; i < nr; i++ {
			keep(nl + extraL + i)
		}
	}
	return p, nil
}

// keyCompatible reports whether two key types encode equal values the same
// way.
func keyCompatible(a, b types.Type) bool {
	if a.Equal(b) {
		return true
	}
	if (a.IsInteger() || a.Kind == types.KindBool) && (b.IsInteger() || b.Kind == types.KindBool) {
		return true
	}
	return a.IsString() && b.IsString() && a.Kind != types.KindBytes && b.Kind != types.KindBytes
}

// keyColumn returns the column of p holding e, adding it when e is not a
// plain column of p's input.
func keyColumn(p *Project, e expr.Expr) int {
	if i, ok := expr.ColumnIndex(e); ok && p.Exprs[i].Type().Equal(e.Type()) {
		return i
	}
	p.Exprs = append(p.Exprs, e)
	p.Names = append(p.Names, fmt.Sprintf("$key%d", len(p.Exprs)))
	return len(p.Exprs) - 1
}

// trimIdentity returns p's input when p projects it unchanged.
func trimIdentity(p *Project) Node {
	if len(p.Exprs) == len(p.Input.Fields()) {
		return p.Input
	}
	return p
}

func shiftDown(nl, nr int) []int {
	m := make([]int, nl+nr)
	for i := range m {
		m[i] = i - nl
	}
	return m
}

type side uint8

const (
	sideNone side = iota
	sideLeft
	sideRight
	sideBoth
)

// sideOf says which join input the columns of e come from.
func sideOf(e expr.Expr, nl int) side {
	s := sideNone
	for _, c := range expr.Columns(e) {
		cs := sideLeft
		if c >= nl {
			cs = sideRight
		}
		if s == sideNone {
			s = cs
		} else if s != cs {
			return sideBoth
		}
	}
	return s
}

// positiveInSubqueries finds the x IN (SELECT ...) nodes of a WHERE
// conjunct that stand under AND/OR only (no NOT, no comparison), where an
// unknown result and FALSE reject a row alike. It returns false when there
// is none.
func positiveInSubqueries(e ast.ExprNode, found *map[*ast.PatternInExpr]bool) bool {
	switch x := unparen(e).(type) {
	case *ast.BinaryOperationExpr:
		if x.Op == opcode.LogicOr || x.Op == opcode.LogicAnd {
			l := positiveInSubqueries(x.L, found)
			r := positiveInSubqueries(x.R, found)
			return l || r
		}
	case *ast.PatternInExpr:
		if x.Sel != nil && !x.Not {
			if *found == nil {
				*found = map[*ast.PatternInExpr]bool{}
			}
			(*found)[x] = true
			return true
		}
	}
	return false
}

// markJoin returns a conversion hook for the IN (subquery) nodes in ok: each
// becomes a left join of *in with the subquery's distinct values on
// x = value, and the test "a value matched". Distinct values make the join
// match at most once, so rows are not repeated. Used inside OR, where a
// semi join cannot express the condition.
func (b *builder) markJoin(in *Node, ok map[*ast.PatternInExpr]bool) func(ast.ExprNode) (expr.Expr, bool, error) {
	return func(n ast.ExprNode) (expr.Expr, bool, error) {
		x, isIn := n.(*ast.PatternInExpr)
		if !isIn || !ok[x] {
			return nil, false, nil
		}
		sub, isSub := x.Sel.(*ast.SubqueryExpr)
		if !isSub {
			return nil, false, nil
		}
		right, err := b.resultSet(sub.Query)
		if err != nil {
			return nil, true, err
		}
		rf := right.Fields()
		if len(rf) != 1 {
			return nil, true, b.errAt(x.OriginTextPosition(), "IN (subquery) needs a subquery with one column, it has %d", len(rf))
		}
		left := *in
		lf := left.Fields()
		l, err := b.convert(&scope{fields: lf}, x.Expr)
		if err != nil {
			return nil, true, err
		}
		name := fmt.Sprintf("$in%d", len(lf))
		values := &Project{Input: distinctOf(right), Qualifier: "$",
			Exprs: []expr.Expr{expr.Col(0, rf[0].Type, rf[0].Name)}, Names: []string{name}}
		r := expr.Col(len(lf), rf[0].Type.Nullable(), name)
		cond, err := expr.Call("=", l, r)
		if err != nil {
			return nil, true, b.errAt(x.OriginTextPosition(), "%v", err)
		}
		*in = &Join{Left: left, Right: values, Kind: LeftJoin, Cond: cond}
		matched, err := expr.Call("IS NOT NULL", r)
		if err != nil {
			return nil, true, b.errAt(x.OriginTextPosition(), "%v", err)
		}
		return matched, true, nil
	}
}
