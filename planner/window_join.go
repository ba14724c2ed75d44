package planner

import (
	"fmt"
	"strings"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
)

// Window joins.
//
// A join (INNER, LEFT, RIGHT or FULL) of two inputs that carry windows —
// window TVFs or window aggregates, through filters and column projections
// (windowRoles) — whose condition equates the window_start columns of both
// sides and their window_end columns is a window join, as in Flink:
//
//	FROM (SELECT * FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(ts), INTERVAL '5' MINUTE))) l
//	JOIN (SELECT * FROM TABLE(TUMBLE(TABLE b, DESCRIPTOR(ts), INTERVAL '5' MINUTE))) r
//	ON l.id = r.id AND l.window_start = r.window_start AND l.window_end = r.window_end
//
// Both equalities stay join keys (so windows spread over subtasks); the
// join runs as ops.WindowJoin, which buffers each window's rows and joins
// them when the watermark passes the window's end. Its output is
// append-only, also for outer joins: the NULL-padded rows are final.

// WindowJoinCols are the window columns of a window join's inputs: input
// column indexes of each side's window_start and window_end.
type WindowJoinCols struct {
	LeftStart, LeftEnd, RightStart, RightEnd int
}

// windowJoinOf returns the window columns of j when it is a window join
// with equality keys lkeys = rkeys (rkeys over the left columns followed
// by the right ones), else nil. Inputs with window columns are
// append-only (see rankWindow).
func windowJoinOf(j *Join, lkeys, rkeys []expr.Expr) *WindowJoinCols {
	if j.Kind > FullJoin {
		return nil
	}
	nl := len(j.Left.Fields())
	var lroles, rroles []uint8
	w := &WindowJoinCols{LeftStart: -1, LeftEnd: -1, RightStart: -1, RightEnd: -1}
	for i := range lkeys {
		lc, lok := expr.ColumnIndex(lkeys[i])
		rc, rok := expr.ColumnIndex(rkeys[i])
		if !lok || !rok || lc >= nl || rc < nl || !lkeys[i].Type().Equal(rkeys[i].Type()) {
			continue
		}
		rc -= nl
		if lroles == nil {
			lroles, rroles = windowRoles(j.Left), windowRoles(j.Right)
		}
		switch {
		case lroles[lc] == roleStart && rroles[rc] == roleStart && w.LeftStart < 0:
			w.LeftStart, w.RightStart = lc, rc
		case lroles[lc] == roleEnd && rroles[rc] == roleEnd && w.LeftEnd < 0:
			w.LeftEnd, w.RightEnd = lc, rc
		}
	}
	if w.LeftStart < 0 || w.LeftEnd < 0 {
		return nil
	}
	return w
}

// window returns the window columns of j: Window once planJoins has run,
// before that what planJoins will find in Cond.
func (j *Join) window() *WindowJoinCols {
	if j.Window != nil || j.Cond == nil || j.LeftKeys != nil || j.Residual != nil {
		return j.Window
	}
	nl := len(j.Left.Fields())
	var lkeys, rkeys []expr.Expr
	for _, c := range expr.Conjuncts(j.Cond) {
		l, r, ok := expr.Equality(c)
		if !ok {
			continue
		}
		switch ls, rs := sideOf(l, nl), sideOf(r, nl); {
		case ls == sideLeft && rs == sideRight:
			lkeys, rkeys = append(lkeys, l), append(rkeys, r)
		case ls == sideRight && rs == sideLeft:
			lkeys, rkeys = append(lkeys, r), append(rkeys, l)
		}
	}
	return windowJoinOf(j, lkeys, rkeys)
}

// describeWindow prints a window join for EXPLAIN: its window columns, its
// other keys and its residual.
func (j *Join) describeWindow() string {
	lf, rf := j.Left.Fields(), j.Right.Fields()
	w := j.Window
	name := func(f Field) string {
		if f.Qualifier != "" {
			return f.Qualifier + "." + f.Name
		}
		return f.Name
	}
	parts := []string{"type=[" + joinNames[j.Kind] + "]",
		fmt.Sprintf("window=[%s = %s, %s = %s]", name(lf[w.LeftStart]), name(rf[w.RightStart]), name(lf[w.LeftEnd]), name(rf[w.RightEnd]))}
	var eqs []string
	for i := range j.LeftKeys {
		l, r := j.LeftKeys[i], j.RightKeys[i]
		if (l == w.LeftStart && r == w.RightStart) || (l == w.LeftEnd && r == w.RightEnd) {
			continue
		}
		eqs = append(eqs, lf[l].Name+" = "+rf[r].Name)
	}
	if len(eqs) > 0 {
		parts = append(parts, "keys=["+strings.Join(eqs, ", ")+"]")
	}
	if j.Residual != nil {
		all := append(append([]Field(nil), lf...), rf...)
		parts = append(parts, "residual=["+exprString(j.Residual, all)+"]")
	}
	return "WindowJoin(" + strings.Join(parts, ", ") + ")"
}

// windowJoin compiles a window join: both inputs hash-exchanged by their
// keys (which include the window) into ops.WindowJoin.
func (c *compiler) windowJoin(x *Join) (frag, error) {
	lf, err := c.node(x.Left)
	if err != nil {
		return frag{}, err
	}
	rf, err := c.node(x.Right)
	if err != nil {
		return frag{}, err
	}
	name := "Window" + joinNames[x.Kind]
	v := exec.Vertex{Name: name, Parallelism: c.parallelism(), InTypes: lf.types,
		OutTypes: fieldTypes(x.Fields()),
		Inputs: []exec.Edge{
			{From: lf.vertex, Exchange: exec.Hash, KeyCols: x.LeftKeys, Types: lf.types},
			{From: rf.vertex, Exchange: exec.Hash, KeyCols: x.RightKeys, Types: rf.types},
		}}
	f := c.addVertex(v, name)
	c.desc[f.vertex] = nil
	spec := windowJoinSpec(x, lf.types, rf.types)
	return c.addOp(f, x.describe(), v.OutTypes, ops.WindowJoinFactory(spec)), nil
}

// windowJoinSpec returns the operator spec of a window join.
func windowJoinSpec(x *Join, lt, rt []types.Type) ops.WindowJoinSpec {
	return ops.WindowJoinSpec{Type: joinKinds[x.Kind], LeftKeys: x.LeftKeys, RightKeys: x.RightKeys,
		LeftTypes: lt, RightTypes: rt, Residual: x.Residual, LeftEnd: x.Window.LeftEnd, RightEnd: x.Window.RightEnd}
}
