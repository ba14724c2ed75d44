package expr

import (
	"strings"

	"github.com/sluicesql/sluice/exec/types"
)

// caseExpr is a searched CASE: CASE WHEN c1 THEN r1 ... [ELSE e] END.
//
// Evaluation decides rows in order: each condition runs only over the rows
// no earlier condition took (the first over all of them), and each result
// only over the rows that chose it. A constant result is written straight
// into its rows; column results are copied from the column. Expressions
// that cannot compute a subset of rows (see rowsEvaler) run over the whole
// batch and, if that fails, again over just the rows that need them, so a
// failure in a branch no row takes never surfaces. When every condition
// compares one operand with a constant (a simple CASE, or q21's WHEN x =
// 'a' ... WHEN x = 'b'), the operand is evaluated once and each row finds
// its branch in an index of the constants (see caseLookup); if moreover
// every result is a constant or a column, one pass writes them.
type caseExpr struct {
	args    []Expr // conditions, then results, then the optional ELSE
	nw      int
	hasElse bool
	t       types.Type
	bufs    []types.Vector
	s       caseScratch
}

// caseScratch is a caseExpr's per-instance working space.
type caseScratch struct {
	und  []int32 // rows not yet decided
	rows []int32 // decided rows by branch: branch k's are rows[off[k]:off[k+1]]
	off  []int   // nw+2 offsets; branch nw is the ELSE (or NULL)
	pick []int32 // the lookup's branch per undecided row
	cnt  []int   // the lookup's per-branch counts and cursors
	// writeDirect's sources and masks
	masks, nmasks []int
	nsrcs         [][]bool
	nulls         []bool
	i64s          pickSources[int64]
	f64s          pickSources[float64]
	strs          pickSources[string]
	lk            *caseLookup
	// lkTried is set once the lookup was looked for (lk nil: not possible).
	lkTried bool
}

// Case returns a searched CASE. whens are conditions (BOOLEAN or numeric),
// thens the results, els the ELSE result or nil (NULL). The result type is
// the common type of thens and els. A simple CASE x WHEN v ... is built
// with conditions x = v.
func Case(whens, thens []Expr, els Expr) (Expr, error) {
	if len(whens) == 0 || len(whens) != len(thens) {
		return nil, typeErr("CASE needs at least one WHEN and one THEN per WHEN")
	}
	conds := make([]Expr, len(whens))
	for i, w := range whens {
		c, err := toBool("CASE", w)
		if err != nil {
			return nil, typeErr("CASE condition must be BOOLEAN, got %s", w.Type().Kind)
		}
		conds[i] = c
	}
	results := append([]Expr(nil), thens...)
	if els != nil {
		results = append(results, els)
	}
	results, t, err := unify("CASE", results)
	if err != nil {
		return nil, err
	}
	if isNull(t) {
		t = types.Null
	}
	c := &caseExpr{args: append(conds, results...), nw: len(whens), hasElse: els != nil, t: t}
	c.bufs = make([]types.Vector, len(c.args))
	return c, nil
}

func (c *caseExpr) Type() types.Type { return c.t }
func (c *caseExpr) children() []Expr { return c.args }
func (c *caseExpr) Clone() Expr {
	return &caseExpr{args: cloneAll(c.args), nw: c.nw, hasElse: c.hasElse, t: c.t,
		bufs: make([]types.Vector, len(c.args))}
}

func (c *caseExpr) String() string {
	var sb strings.Builder
	sb.WriteString("CASE")
	for i := 0; i < c.nw; i++ {
		sb.WriteString(" WHEN " + c.args[i].String() + " THEN " + c.args[c.nw+i].String())
	}
	if c.hasElse {
		sb.WriteString(" ELSE " + c.args[2*c.nw].String())
	}
	sb.WriteString(" END")
	return sb.String()
}

func (c *caseExpr) Eval(b *types.Batch, out *types.Vector) error {
	prepare(out, c.t, b.Len())
	return c.evalSel(b, nil, out)
}

// evalRows computes the rows sel only (see rowsEvaler).
func (c *caseExpr) evalRows(b *types.Batch, sel []int32, out *types.Vector) (bool, error) {
	prepare(out, c.t, b.Len())
	return true, c.evalSel(b, sel, out)
}

// evalSel computes the rows sel of b (nil: every row) into out, prepared
// with b.Len() rows of c.t.
func (c *caseExpr) evalSel(b *types.Batch, sel []int32, out *types.Vector) error {
	n := b.Len()
	s := &c.s
	if sel == nil {
		s.und = iotaRows(s.und, n)
	} else {
		s.und = append(s.und[:0], sel...)
	}
	if len(s.und) == 0 {
		return nil
	}
	var err error
	switch lk := c.lookup(); {
	case lk == nil:
		err = c.pickByConds(b, s.und)
	case c.directResults():
		if err = c.pickByLookup(lk, b, s.und); err == nil {
			err = c.writeDirect(b, s.und, out)
		}
		return err
	default:
		if err = c.pickByLookup(lk, b, s.und); err == nil {
			c.groupPicked(s.und)
		}
	}
	if err != nil {
		return err
	}
	for k := 0; k <= c.nw; k++ {
		rows := s.rows[s.off[k]:s.off[k+1]]
		if len(rows) == 0 {
			continue
		}
		if k == c.nw && !c.hasElse {
			nulls := ensureNulls(out, n)
			for _, r := range rows {
				nulls[r] = true
			}
			continue
		}
		if err := fillRows(c.args[c.nw+k], b, rows, &c.bufs[c.nw+k], out); err != nil {
			return err
		}
	}
	return nil
}

// pickByConds sorts the rows und (consumed) into branches by evaluating
// the conditions in turn over the rows still undecided.
func (c *caseExpr) pickByConds(b *types.Batch, und []int32) error {
	n := b.Len()
	s := &c.s
	rows := growInt32(s.rows, len(und))
	off := append(s.off[:0], 0)
	p := 0
	for w := 0; w < c.nw; w++ {
		if len(und) > 0 {
			cond, err := evalSelected(c.args[w], b, und, &c.bufs[w])
			if err != nil {
				return err
			}
			v := cond.I64[:n]
			j := 0
			// Each row goes to rows (taken) or back into und (not yet):
			// p and j never pass the row being read.
			if cn := nullsOf(cond, n); cn != nil {
				for _, r := range und {
					rows[p], und[j] = r, r
					if v[r] != 0 && !cn[r] {
						p++
					} else {
						j++
					}
				}
			} else {
				for _, r := range und {
					rows[p], und[j] = r, r
					if v[r] != 0 {
						p++
					} else {
						j++
					}
				}
			}
			und = und[:j]
		}
		off = append(off, p)
	}
	p += copy(rows[p:], und)
	s.rows, s.off = rows, append(off, p)
	return nil
}

// pickByLookup picks the branch of each row of und (into s.pick, with
// per-branch counts in s.cnt[1:]) with one evaluation of the lookup's
// operand and one index probe per row.
func (c *caseExpr) pickByLookup(lk *caseLookup, b *types.Batch, und []int32) error {
	n := b.Len()
	x, err := evalSelected(lk.x, b, und, &c.bufs[0])
	if err != nil {
		return err
	}
	s := &c.s
	pick := growInt32(s.pick, len(und))
	cnt := growInt(s.cnt, c.nw+2)
	clear(cnt)
	xn := nullsOf(x, n)
	miss := int32(c.nw) // no WHEN matches: the ELSE
	switch x.Type.Class() {
	case types.ClassStr:
		vals := x.Str[:n]
		for j, r := range und {
			k := miss
			if xn == nil || !xn[r] {
				if f := lk.strs.find(vals[r]); f >= 0 {
					k = f
				}
			}
			pick[j] = k
			cnt[k+1]++
		}
	case types.ClassF64:
		vals := x.F64[:n]
		for j, r := range und {
			k := miss
			if xn == nil || !xn[r] {
				if f := lk.f64s.find(vals[r]); f >= 0 {
					k = f
				}
			}
			pick[j] = k
			cnt[k+1]++
		}
	default:
		vals := x.I64[:n]
		for j, r := range und {
			k := miss
			if xn == nil || !xn[r] {
				if f := lk.i64s.find(vals[r]); f >= 0 {
					k = f
				}
			}
			pick[j] = k
			cnt[k+1]++
		}
	}
	s.pick, s.cnt = pick, cnt
	return nil
}

// groupPicked sorts the rows und into branches by the lookup's picks (a
// counting sort).
func (c *caseExpr) groupPicked(und []int32) {
	s := &c.s
	cnt, pick := s.cnt, s.pick
	for k := 1; k < len(cnt); k++ {
		cnt[k] += cnt[k-1]
	}
	off := append(s.off[:0], cnt...)
	rows := growInt32(s.rows, len(und))
	for j, r := range und {
		k := pick[j]
		rows[cnt[k]] = r
		cnt[k]++
	}
	s.rows, s.off = rows, off
}

// directResults reports whether every result is a literal or a column, or
// absent (no ELSE).
func (c *caseExpr) directResults() bool {
	for _, a := range c.args[c.nw:] {
		switch a.(type) {
		case *litExpr, *colExpr:
		default:
			return false
		}
	}
	return true
}

// Single-value sources for constant results in writeDirect.
var (
	falseOne = []bool{false}
	trueOne  = []bool{true}
)

// writeDirect writes the picked results of rows und into out in one pass,
// when every result is a constant or a column: each branch is a source
// slice, read at the row (a column) or at 0 (a constant, a one-value
// slice), so the pass has no branch per row.
func (c *caseExpr) writeDirect(b *types.Batch, und []int32, out *types.Vector) error {
	n := b.Len()
	s := &c.s
	nb := c.nw + 1
	s.masks = growInt(s.masks, nb)
	s.nmasks = growInt(s.nmasks, nb)
	if cap(s.nsrcs) < nb {
		s.nsrcs = make([][]bool, nb)
	}
	nsrcs := s.nsrcs[:nb]
	mayNull, colNulls := false, false
	var err error
	switch c.t.Class() {
	case types.ClassF64:
		err = directSources(c, b, &s.f64s, func(v *types.Vector) []float64 { return v.F64 },
			func(d types.Datum) float64 { return d.F })
	case types.ClassStr:
		err = directSources(c, b, &s.strs, func(v *types.Vector) []string { return v.Str },
			func(d types.Datum) string { return d.S })
	default:
		err = directSources(c, b, &s.i64s, func(v *types.Vector) []int64 { return v.I64 },
			func(d types.Datum) int64 { return d.I })
	}
	if err != nil {
		return err
	}
	// NULL sources: a NULL constant, no ELSE, a column with NULLs.
	for k := 0; k < nb; k++ {
		nsrcs[k], s.nmasks[k] = falseOne, 0
		var a Expr
		if k < c.nw || c.hasElse {
			a = c.args[c.nw+k]
		}
		switch x := a.(type) {
		case nil:
			nsrcs[k], mayNull = trueOne, true
		case *litExpr:
			if x.d.Null {
				nsrcs[k], mayNull = trueOne, true
			}
		case *colExpr:
			v, _ := x.column(b) // checked by directSources
			if vn := nullsOf(v, n); vn != nil {
				nsrcs[k], s.nmasks[k], mayNull, colNulls = vn, -1, true, true
			}
		}
	}
	pick, nmasks := s.pick[:len(und)], s.nmasks[:nb]
	switch c.t.Class() {
	case types.ClassF64:
		writeByPick(out.F64[:n], und, pick, s.f64s.srcs, s.masks)
	case types.ClassStr:
		writeByPick(out.Str[:n], und, pick, s.strs.srcs, s.masks)
	default:
		writeByPick(out.I64[:n], und, pick, s.i64s.srcs, s.masks)
	}
	if !mayNull {
		return nil
	}
	// Flags go to scratch first so that out gets a null slice only when
	// some row is NULL.
	s.nulls = growBool(s.nulls, n)
	flags := s.nulls
	some := false
	for j, r := range und {
		k := pick[j]
		isNull := nsrcs[k][int(r)&nmasks[k]]
		flags[r] = isNull
		some = some || isNull
	}
	if !some {
		return nil
	}
	nulls := ensureNulls(out, n)
	for _, r := range und {
		if flags[r] {
			nulls[r] = true
			if colNulls {
				clearSlot(out, int(r))
			}
		}
	}
	return nil
}

// pickSources holds writeDirect's value sources of one class.
type pickSources[T any] struct {
	srcs [][]T
	one  []T // constants' values
}

// directSources sets up the value sources of c's results (and s.masks):
// a column is read at the row, a constant (NULL: the zero value) at 0.
func directSources[T any](c *caseExpr, b *types.Batch, ps *pickSources[T],
	vals func(*types.Vector) []T, val func(types.Datum) T) error {
	nb := c.nw + 1
	if cap(ps.srcs) < nb {
		ps.srcs, ps.one = make([][]T, nb), make([]T, nb)
	}
	ps.srcs, ps.one = ps.srcs[:nb], ps.one[:nb]
	var zero T
	for k := 0; k < nb; k++ {
		var a Expr
		if k < c.nw || c.hasElse {
			a = c.args[c.nw+k]
		}
		c.s.masks[k] = 0
		ps.one[k] = zero
		ps.srcs[k] = ps.one[k : k+1]
		switch x := a.(type) {
		case *litExpr:
			if !x.d.Null {
				ps.one[k] = val(x.d)
			}
		case *colExpr:
			v, err := x.column(b)
			if err != nil {
				return err
			}
			ps.srcs[k], c.s.masks[k] = vals(v), -1
		}
	}
	return nil
}

// writeByPick sets o[r] for the rows und from their picked source.
func writeByPick[T any](o []T, und, pick []int32, srcs [][]T, masks []int) {
	for j, r := range und {
		k := pick[j]
		o[r] = srcs[k][int(r)&masks[k]]
	}
}

// caseLookup serves a CASE whose conditions all test one operand for
// equality with constants (CASE x WHEN 'a' THEN ... WHEN 'b' ..., or
// WHEN x = 1 ... WHEN x = 2 ...): the operand is evaluated once and each
// row finds its branch in an index of the constants (the first WHEN of
// equal constants wins; a NULL operand matches none). It remembers the
// nodes it was built from so that a rewritten tree is noticed.
type caseLookup struct {
	x     Expr // the operand, as in the first condition
	conds []*cmpExpr
	args  [][2]Expr
	strs  *strIndex
	i64s  *numIndex[int64]
	f64s  *numIndex[float64]
}

// lookup returns c's lookup, or nil when its conditions do not fit one.
func (c *caseExpr) lookup() *caseLookup {
	s := &c.s
	if s.lk != nil && !s.lk.matches(c) {
		s.lk, s.lkTried = nil, false
	}
	if !s.lkTried {
		s.lk, s.lkTried = newCaseLookup(c), true
	}
	return s.lk
}

func (lk *caseLookup) matches(c *caseExpr) bool {
	for w, cmp := range lk.conds {
		if c.args[w] != Expr(cmp) || cmp.args[0] != lk.args[w][0] || cmp.args[1] != lk.args[w][1] {
			return false
		}
	}
	return true
}

func newCaseLookup(c *caseExpr) *caseLookup {
	if c.nw < 2 {
		return nil
	}
	lk := &caseLookup{}
	var key string
	var mode cmpMode
	var ks []types.Datum
	for w := 0; w < c.nw; w++ {
		cmp, ok := c.args[w].(*cmpExpr)
		if !ok || (cmp.op != opEQ && cmp.op != opNullEQ) {
			return nil
		}
		x, k, _, ok := cmp.constOperand()
		if !ok {
			return nil
		}
		if w == 0 {
			if !Deterministic(x) {
				return nil
			}
			lk.x, key, mode = x, cseKey(x), cmp.mode
		} else if cmp.mode != mode || cseKey(x) != key {
			return nil
		}
		lk.conds = append(lk.conds, cmp)
		lk.args = append(lk.args, [2]Expr{cmp.args[0], cmp.args[1]})
		ks = append(ks, k)
	}
	ids := make([]int32, len(ks))
	for i := range ids {
		ids[i] = int32(i)
	}
	switch mode {
	case cmpStr:
		vals := make([]string, len(ks))
		for i, k := range ks {
			vals[i] = k.S
		}
		lk.strs = newStrIndex(vals, ids)
	case cmpF64:
		vals := make([]float64, len(ks))
		for i, k := range ks {
			vals[i] = k.F
		}
		lk.f64s = newNumIndex(vals, ids)
	default:
		vals := make([]int64, len(ks))
		for i, k := range ks {
			vals[i] = k.I
		}
		lk.i64s = newNumIndex(vals, ids)
	}
	return lk
}

// rowsEvaler is implemented by nodes that can compute just some rows of a
// batch, for CASE branches and conditions that only some rows reach.
type rowsEvaler interface {
	// evalRows resets out to b.Len() rows of the node's type and computes
	// the rows sel (ascending, fewer than b.Len()); out's other rows hold
	// unspecified values. Errors are those of the rows sel. It reports
	// false, having evaluated nothing, when this node cannot.
	evalRows(b *types.Batch, sel []int32, out *types.Vector) (bool, error)
}

// evalSelected evaluates e at the rows sel of b (ascending) and returns a
// vector of b.Len() rows whose rows sel hold e's values (the others are
// unspecified). Columns and literals are returned in place; a node that
// cannot compute a subset runs over the whole batch and, if that fails,
// again over just the rows sel, so only their errors surface.
func evalSelected(e Expr, b *types.Batch, sel []int32, buf *types.Vector) (*types.Vector, error) {
	n := b.Len()
	if len(sel) < n {
		switch x := e.(type) {
		case *colExpr:
			return x.column(b)
		case *litExpr:
			return x.broadcast(n), nil
		case rowsEvaler:
			if ok, err := x.evalRows(b, sel, buf); ok {
				if err != nil {
					return nil, err
				}
				return buf, nil
			}
		}
	}
	v, err := evalArg(e, b, buf)
	if err == nil || len(sel) == n {
		return v, err
	}
	mask := make([]bool, n)
	for _, r := range sel {
		mask[r] = true
	}
	return evalSubset(e, b, mask, buf)
}

// fillRows writes e's values at the rows of b listed in rows into out
// (b.Len() rows of e's class): a constant directly, anything else through
// evalSelected into buf.
func fillRows(e Expr, b *types.Batch, rows []int32, buf, out *types.Vector) error {
	if d, ok := LitValue(e); ok {
		fillConst(out, d, rows)
		return nil
	}
	v, err := evalSelected(e, b, rows, buf)
	if err != nil {
		return err
	}
	gatherRows(out, v, rows)
	return nil
}

// fillConst writes d into the rows of out (prepared: zero and not NULL).
func fillConst(out *types.Vector, d types.Datum, rows []int32) {
	if d.Null {
		nulls := ensureNulls(out, out.Len())
		for _, r := range rows {
			nulls[r] = true
		}
		return
	}
	switch out.Type.Class() {
	case types.ClassF64:
		o, x := out.F64, d.F
		for _, r := range rows {
			o[r] = x
		}
	case types.ClassStr:
		o, x := out.Str, d.S
		for _, r := range rows {
			o[r] = x
		}
	default:
		o, x := out.I64, d.I
		for _, r := range rows {
			o[r] = x
		}
	}
}

// gatherRows copies the rows of src listed in rows into out (same class),
// NULLs included.
func gatherRows(out, src *types.Vector, rows []int32) {
	n := out.Len()
	switch out.Type.Class() {
	case types.ClassF64:
		o, x := out.F64, src.F64[:n]
		for _, r := range rows {
			o[r] = x[r]
		}
	case types.ClassStr:
		o, x := out.Str, src.Str[:n]
		for _, r := range rows {
			o[r] = x[r]
		}
	default:
		o, x := out.I64, src.I64[:n]
		for _, r := range rows {
			o[r] = x[r]
		}
	}
	sn := nullsOf(src, n)
	if sn == nil {
		return
	}
	var nulls []bool
	for _, r := range rows {
		if sn[r] {
			if nulls == nil {
				nulls = ensureNulls(out, n)
			}
			nulls[r] = true
			clearSlot(out, int(r))
		}
	}
}

// clearSlot zeroes row i's value (a NULL row holds the zero value).
func clearSlot(v *types.Vector, i int) {
	switch v.Type.Class() {
	case types.ClassF64:
		v.F64[i] = 0
	case types.ClassStr:
		v.Str[i] = ""
	default:
		v.I64[i] = 0
	}
}

// iotaRows returns 0, 1, ..., n-1 in s's storage.
func iotaRows(s []int32, n int) []int32 {
	s = growInt32(s, n)
	for i := range s {
		s[i] = int32(i)
	}
	return s
}

// growInt32 returns s resized to n, reallocated if too small (contents
// unspecified).
func growInt32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n, n+n/4)
	}
	return s[:n]
}

func growBool(s []bool, n int) []bool {
	if cap(s) < n {
		return make([]bool, n)
	}
	return s[:n]
}

func growInt(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}

// coalesceExpr returns its first non-NULL argument.
type coalesceExpr struct {
	name string
	args []Expr
	t    types.Type
	bufs []types.Vector
	rem  []int32 // rows still NULL
}

// Coalesce returns COALESCE(args...): the first non-NULL argument, of the
// arguments' common type. Later arguments are evaluated only while some
// row is still NULL, and only over those rows where they can be (see
// rowsEvaler).
func Coalesce(args ...Expr) (Expr, error) { return newCoalesce("COALESCE", args) }

func newCoalesce(name string, args []Expr) (Expr, error) {
	if len(args) == 0 {
		return nil, newErr(ErrArity, "function %s expects at least 1 argument, got 0", name)
	}
	args, t, err := unify(name, args)
	if err != nil {
		return nil, err
	}
	return &coalesceExpr{name: name, args: args, t: t, bufs: make([]types.Vector, len(args))}, nil
}

func (c *coalesceExpr) Type() types.Type { return c.t }
func (c *coalesceExpr) children() []Expr { return c.args }
func (c *coalesceExpr) Clone() Expr {
	return &coalesceExpr{name: c.name, args: cloneAll(c.args), t: c.t, bufs: make([]types.Vector, len(c.args))}
}
func (c *coalesceExpr) String() string { return callString(c.name, c.args) }

func (c *coalesceExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	prepare(out, c.t, n)
	c.rem = iotaRows(c.rem, n)
	rem := c.rem
	for k, arg := range c.args {
		if len(rem) == 0 {
			break
		}
		if d, ok := LitValue(arg); ok {
			if !d.Null {
				fillConst(out, d, rem)
				rem = rem[:0]
			}
			continue
		}
		v, err := evalSelected(arg, b, rem, &c.bufs[k])
		if err != nil {
			return err
		}
		vn := nullsOf(v, n)
		if vn == nil {
			gatherRows(out, v, rem)
			rem = rem[:0]
			break
		}
		// Rows where v is NULL stay in rem; j never passes the row read.
		j := 0
		switch c.t.Class() {
		case types.ClassF64:
			o, x := out.F64, v.F64[:n]
			for _, r := range rem {
				rem[j] = r
				if vn[r] {
					j++
				} else {
					o[r] = x[r]
				}
			}
		case types.ClassStr:
			o, x := out.Str, v.Str[:n]
			for _, r := range rem {
				rem[j] = r
				if vn[r] {
					j++
				} else {
					o[r] = x[r]
				}
			}
		default:
			o, x := out.I64, v.I64[:n]
			for _, r := range rem {
				rem[j] = r
				if vn[r] {
					j++
				} else {
					o[r] = x[r]
				}
			}
		}
		rem = rem[:j]
	}
	if len(rem) > 0 {
		nulls := ensureNulls(out, n)
		for _, r := range rem {
			nulls[r] = true
		}
	}
	return nil
}

// If returns IF(cond, a, b).
func If(cond, a, b Expr) (Expr, error) { return Case([]Expr{cond}, []Expr{a}, b) }

// nullIfExpr is NULLIF(a, b): NULL when a = b, otherwise a.
type nullIfExpr struct {
	args []Expr // a, a = b
	bufs [2]types.Vector
}

// NullIf returns NULLIF(a, b).
func NullIf(a, b Expr) (Expr, error) {
	eq, err := newCompare(opEQ, a, b)
	if err != nil {
		return nil, err
	}
	return &nullIfExpr{args: []Expr{a, eq}}, nil
}

func (e *nullIfExpr) Type() types.Type { return e.args[0].Type() }
func (e *nullIfExpr) children() []Expr { return e.args }
func (e *nullIfExpr) Clone() Expr      { return &nullIfExpr{args: cloneAll(e.args)} }
func (e *nullIfExpr) String() string {
	if eq, ok := e.args[1].(*cmpExpr); ok {
		return callString("NULLIF", eq.args)
	}
	return "NULLIF(" + e.args[0].String() + ", <" + e.args[1].String() + ">)"
}
func (e *nullIfExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	v, err := evalArg(e.args[0], b, &e.bufs[0])
	if err != nil {
		return err
	}
	eq, err := evalArg(e.args[1], b, &e.bufs[1])
	if err != nil {
		return err
	}
	t := e.Type()
	copyVector(out, v, t, n)
	en := nullsOf(eq, n)
	for i, x := range eq.I64[:n] {
		if x != 0 && (en == nil || !en[i]) {
			out.SetNull(i)
		}
	}
	return nil
}

// inExpr is e [NOT] IN (list).
type inExpr struct {
	args []Expr // e, list...
	not  bool
	// Constant lists are precomputed.
	constList bool
	hasNull   bool
	i64s      *numIndex[int64]
	f64s      *numIndex[float64]
	strs      *strIndex
	bufs      []types.Vector
}

func (*inExpr) isOperator() {}

// In returns e [NOT] IN (list). The value and the list are converted to
// their common type. NULL semantics: NULL when e is NULL, or when e is not
// found and the list holds a NULL.
func In(e Expr, list []Expr, not bool) (Expr, error) {
	if len(list) == 0 {
		return nil, typeErr("IN needs at least one value")
	}
	all, _, err := unify("IN", append([]Expr{e}, list...))
	if err != nil {
		return nil, inTypeError(e, list, err)
	}
	in := &inExpr{args: all, not: not, bufs: make([]types.Vector, len(all))}
	in.constList = true
	for _, x := range all[1:] {
		if !IsConst(x) {
			in.constList = false
		}
	}
	if in.constList {
		var i64s []int64
		var f64s []float64
		var strs []string
		for i, x := range all[1:] {
			d, err := constValue(x)
			if err != nil {
				return nil, err
			}
			all[i+1] = Lit(d)
			switch {
			case d.Null:
				in.hasNull = true
			case d.Type.Class() == types.ClassF64:
				f64s = append(f64s, d.F)
			case d.Type.Class() == types.ClassStr:
				strs = append(strs, d.S)
			default:
				i64s = append(i64s, d.I)
			}
		}
		in.i64s = newNumIndex(i64s, make([]int32, len(i64s)))
		in.f64s = newNumIndex(f64s, make([]int32, len(f64s)))
		in.strs = newStrIndex(strs, make([]int32, len(strs)))
	}
	return in, nil
}

func inTypeError(e Expr, list []Expr, err error) error {
	if !errorsIsType(err) {
		return err
	}
	for _, x := range list {
		if _, ok := commonType(e.Type(), x.Type()); !ok {
			return typeErr("cannot compare %s with %s", e.Type().Kind, x.Type().Kind)
		}
	}
	return err
}

func (e *inExpr) Type() types.Type { return types.Bool }
func (e *inExpr) children() []Expr { return e.args }
func (e *inExpr) Clone() Expr {
	c := *e
	c.args = cloneAll(e.args)
	c.bufs = make([]types.Vector, len(e.args))
	return &c
}

func (e *inExpr) String() string {
	var sb strings.Builder
	sb.WriteString(paren(e.args[0]))
	if e.not {
		sb.WriteString(" NOT")
	}
	sb.WriteString(" IN (")
	for i, x := range e.args[1:] {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(x.String())
	}
	sb.WriteString(")")
	return sb.String()
}

func (e *inExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	v, err := evalArg(e.args[0], b, &e.bufs[0])
	if err != nil {
		return err
	}
	prepare(out, types.Bool, n)
	o := out.I64[:n]
	found := o // 1 where found
	if e.constList {
		switch v.Type.Class() {
		case types.ClassF64:
			idx := e.f64s
			for i, x := range v.F64[:n] {
				found[i] = b2i(idx.find(x) >= 0)
			}
		case types.ClassStr:
			idx := e.strs
			for i, x := range v.Str[:n] {
				found[i] = b2i(idx.find(x) >= 0)
			}
		default:
			idx := e.i64s
			for i, x := range v.I64[:n] {
				found[i] = b2i(idx.find(x) >= 0)
			}
		}
		e.finish(out, v, nil, n)
		return nil
	}
	// General list: compare with each item; remember NULL items per row.
	clear(found)
	sawNull := ensureNulls(out, n) // reused as "some item was NULL"
	for k := 1; k < len(e.args); k++ {
		item, err := evalArg(e.args[k], b, &e.bufs[k])
		if err != nil {
			return err
		}
		in := nullsOf(item, n)
		for i := range found {
			if in != nil && in[i] {
				sawNull[i] = true
				continue
			}
			var eq bool
			switch v.Type.Class() {
			case types.ClassF64:
				eq = v.F64[i] == item.F64[i]
			case types.ClassStr:
				eq = v.Str[i] == item.Str[i]
			default:
				eq = v.I64[i] == item.I64[i]
			}
			if eq {
				found[i] = 1
			}
		}
	}
	e.finish(out, v, sawNull, n)
	return nil
}

// evalRows computes a constant list's rows sel only (see rowsEvaler).
func (e *inExpr) evalRows(b *types.Batch, sel []int32, out *types.Vector) (bool, error) {
	if !e.constList {
		return false, nil
	}
	n := b.Len()
	v, err := evalSelected(e.args[0], b, sel, &e.bufs[0])
	if err != nil {
		return true, err
	}
	prepare(out, types.Bool, n)
	o := out.I64[:n]
	switch v.Type.Class() {
	case types.ClassF64:
		idx, x := e.f64s, v.F64[:n]
		for _, i := range sel {
			o[i] = b2i(idx.find(x[i]) >= 0)
		}
	case types.ClassStr:
		idx, x := e.strs, v.Str[:n]
		for _, i := range sel {
			o[i] = b2i(idx.find(x[i]) >= 0)
		}
	default:
		idx, x := e.i64s, v.I64[:n]
		for _, i := range sel {
			o[i] = b2i(idx.find(x[i]) >= 0)
		}
	}
	vn := nullsOf(v, n)
	neg := b2i(e.not)
	if vn == nil && !e.hasNull {
		if neg != 0 {
			for _, i := range sel {
				o[i] ^= 1
			}
		}
		return true, nil
	}
	nulls := ensureNulls(out, n)
	for _, i := range sel {
		if (vn != nil && vn[i]) || (o[i] == 0 && e.hasNull) {
			nulls[i] = true
			o[i] = 0
		} else {
			o[i] ^= neg
		}
	}
	return true, nil
}

// finish turns found flags into the three-valued result.
func (e *inExpr) finish(out, v *types.Vector, sawNull []bool, n int) {
	o := out.I64[:n]
	vn := nullsOf(v, n)
	if vn == nil && !e.hasNull && sawNull == nil {
		if e.not {
			for i := range o {
				o[i] ^= 1
			}
		}
		return
	}
	var nulls []bool
	if vn != nil || e.hasNull || sawNull != nil {
		nulls = ensureNulls(out, n)
	}
	neg := b2i(e.not)
	for i := range o {
		isNull := (vn != nil && vn[i]) || (o[i] == 0 && (e.hasNull || (sawNull != nil && sawNull[i])))
		if nulls != nil {
			nulls[i] = isNull
		}
		if isNull {
			o[i] = 0
		} else {
			o[i] ^= neg
		}
	}
}

// Between returns e [NOT] BETWEEN lo AND hi, as e >= lo AND e <= hi (or
// e < lo OR e > hi).
func Between(e, lo, hi Expr, not bool) (Expr, error) {
	if not {
		a, err := newCompare(opLT, e, lo)
		if err != nil {
			return nil, err
		}
		b, err := newCompare(opGT, e, hi)
		if err != nil {
			return nil, err
		}
		return Or(a, b)
	}
	a, err := newCompare(opGE, e, lo)
	if err != nil {
		return nil, err
	}
	b, err := newCompare(opLE, e, hi)
	if err != nil {
		return nil, err
	}
	return And(a, b)
}

func callString(name string, args []Expr) string {
	var sb strings.Builder
	sb.WriteString(name)
	sb.WriteByte('(')
	for i, a := range args {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(a.String())
	}
	sb.WriteByte(')')
	return sb.String()
}
