package ops

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
)

// Accumulators of GroupAgg.
//
// Every call keeps one accVal per group. Which fields it uses depends on
// its mode, chosen once per call by compileCall:
//
//	modeCount     COUNT(x), COUNT(*)             n = counted rows
//	modeSumI      SUM/AVG of I64-class args      n = non-NULL values, i = their sum
//	modeSumF      SUM/AVG of F64-class args      n = non-NULL values, f = their sum
//	modeSet       MIN/MAX on updating input,     set = multiset of the values;
//	              and every DISTINCT call        for DISTINCT, n = distinct values
//	                                             present and i/f = their sum
//	modeExtremum  MIN/MAX on insert-only input   n = values seen, i/f/s = extremum
//
// All of them support retraction except modeExtremum, which exists because a
// multiset of every value seen is expensive when the planner knows nothing
// will ever be retracted (GroupAggSpec.InsertOnly).

// accMode is how a call accumulates; see the table above.
type accMode uint8

const (
	modeCount accMode = iota
	modeSumI
	modeSumF
	modeSet
	modeExtremum
)

// accVal is the accumulator of one call for one group.
type accVal struct {
	n   int64
	i   int64
	f   float64
	s   string
	set *valueSet
}

// accRecord is the state of one group: its row count (adds minus
// retractions, all calls and filters aside) and one accumulator per call.
// vals points into inl when there are at most len(inl) calls, which saves
// an allocation and a cache miss per group. mapKey is used by mapStore
// only.
//
// The fields are ordered for mapStore lookups, which compare the key and
// then read rows and vals: they share the record's first cache line.
type accRecord struct {
	mapKey
	rows   int64
	access int64 // last access, processing time in ms (with a state TTL)
	vals   []accVal
	inl    [2]accVal
}

// newAccRecord returns a record with n zero accumulators.
func newAccRecord(n int) *accRecord {
	r := &accRecord{}
	if n <= len(r.inl) {
		r.vals = r.inl[:n:n]
	} else {
		r.vals = make([]accVal, n)
	}
	return r
}

// aggResult is the value of one call: NULL, or i/f/s by the output class.
type aggResult struct {
	null bool
	i    int64
	f    float64
	s    string
}

// equal reports whether two results of the same call are the same value
// (floats compare by bits, so an update from -0 to +0 is still emitted).
func (r *aggResult) equal(o *aggResult) bool {
	if r.null || o.null {
		return r.null == o.null
	}
	return r.i == o.i && math.Float64bits(r.f) == math.Float64bits(o.f) && r.s == o.s
}

// callPlan is an AggCall checked against the input types, with what the
// hot loops need precomputed.
type callPlan struct {
	AggCall
	mode     accMode
	argClass types.Class // class of the argument (ClassI64 for COUNT(*))
	outClass types.Class
	inScale  int    // scale of a DECIMAL argument, else 0
	outScale int    // scale of a DECIMAL result, else 0
	outPrec  int    // precision of a DECIMAL result, else 0 (no bound below int64)
	fastSum  bool   // a SUM whose result is the int64 sum as is (BIGINT of integers)
	name     string // the call as SQL text, for error messages
}

var aggKindNames = [...]string{AggCount: "COUNT", AggCountStar: "COUNT", AggSum: "SUM", AggAvg: "AVG", AggMin: "MIN", AggMax: "MAX"}

// String returns the SQL name of k.
func (k AggKind) String() string {
	if int(k) < len(aggKindNames) {
		return aggKindNames[k]
	}
	return fmt.Sprintf("AggKind(%d)", k)
}

// compileCall validates c against the input types and chooses its mode.
func compileCall(c AggCall, in []types.Type, insertOnly bool) (callPlan, error) {
	p := callPlan{AggCall: c, argClass: types.ClassI64, outClass: c.OutType.Class()}
	if int(c.Kind) >= len(aggKindNames) {
		return p, fmt.Errorf("%w: unknown aggregate kind %d", ErrAggSpec, c.Kind)
	}
	arg := "*"
	if c.Kind == AggCountStar {
		if c.Arg != -1 || c.Distinct {
			return p, fmt.Errorf("%w: COUNT(*) with an argument or DISTINCT", ErrAggSpec)
		}
	} else {
		if c.Arg < 0 || c.Arg >= len(in) {
			return p, fmt.Errorf("%w: %s argument column %d of a %d-column input", ErrAggSpec, c.Kind, c.Arg, len(in))
		}
		p.argClass = in[c.Arg].Class()
		arg = fmt.Sprintf("$%d", c.Arg)
	}
	if c.Distinct {
		arg = "DISTINCT " + arg
	}
	p.name = c.Kind.String() + "(" + arg + ")"
	if c.Filter >= 0 {
		if c.Filter >= len(in) || in[c.Filter].Class() != types.ClassI64 {
			return p, fmt.Errorf("%w: %s: FILTER column %d is not a BOOLEAN column of the input", ErrAggSpec, p.name, c.Filter)
		}
	} else if c.Filter != -1 {
		return p, fmt.Errorf("%w: %s: FILTER column %d", ErrAggSpec, p.name, c.Filter)
	}
	if c.OutType.Kind == types.KindDecimal {
		if c.OutType.Scale < 0 || c.OutType.Scale > types.MaxDecimalPrecision ||
			c.OutType.Precision <= 0 || c.OutType.Precision > types.MaxDecimalPrecision {
			return p, fmt.Errorf("%w: %s: result type %v", ErrAggSpec, p.name, c.OutType)
		}
		p.outScale, p.outPrec = c.OutType.Scale, c.OutType.Precision
	}
	if c.Arg >= 0 && in[c.Arg].Kind == types.KindDecimal {
		p.inScale = in[c.Arg].Scale
		if p.inScale < 0 || p.inScale > types.MaxDecimalPrecision {
			return p, fmt.Errorf("%w: %s: argument type %v", ErrAggSpec, p.name, in[c.Arg])
		}
	}
	badOut := func() (callPlan, error) {
		return p, fmt.Errorf("%w: %s of %v cannot return %v", ErrAggSpec, p.name, in[max(c.Arg, 0)], c.OutType)
	}
	switch c.Kind {
	case AggCount, AggCountStar:
		if p.outClass != types.ClassI64 {
			return badOut()
		}
		p.mode = modeCount
	case AggSum, AggAvg:
		switch {
		case p.argClass == types.ClassStr || in[c.Arg].IsTemporal():
			return p, fmt.Errorf("%w: %s of %v", ErrAggSpec, p.name, in[c.Arg])
		case p.outClass == types.ClassStr:
			return badOut()
		case p.argClass == types.ClassF64 && p.outClass != types.ClassF64:
			return badOut()
		case p.argClass == types.ClassF64:
			p.mode = modeSumF
		default:
			p.mode = modeSumI
		}
	case AggMin, AggMax:
		if p.outClass != p.argClass {
			return badOut()
		}
		p.mode = modeSet
		if insertOnly {
			p.mode = modeExtremum
		}
	}
	if c.Distinct && c.Kind != AggMin && c.Kind != AggMax {
		p.mode = modeSet
	}
	p.fastSum = p.mode == modeSumI && c.Kind == AggSum && p.outClass == types.ClassI64 &&
		p.outPrec == 0 && p.inScale == p.outScale
	return p, nil
}

// usesSet reports whether the call keeps a valueSet.
func (p *callPlan) usesSet() bool { return p.mode == modeSet }

// overflow returns the error of a BIGINT/DECIMAL result out of range.
func (p *callPlan) overflow() error {
	return fmt.Errorf("%v value is out of range in '%s': %w", p.OutType.Nullable(), p.name, expr.ErrOutOfRange)
}

// result computes the value of the call from its accumulator. It fails
// only when a SUM or AVG does not fit the result type.
func (p *callPlan) result(a *accVal) (aggResult, error) {
	switch p.Kind {
	case AggCount, AggCountStar:
		return aggResult{i: a.n}, nil
	case AggMin, AggMax:
		if p.mode == modeExtremum {
			if a.n <= 0 {
				return aggResult{null: true}, nil
			}
			return aggResult{i: a.i, f: a.f, s: a.s}, nil
		}
		if a.set == nil || a.set.len() == 0 {
			return aggResult{null: true}, nil
		}
		k := 0
		if p.Kind == AggMax {
			k = a.set.len() - 1
		}
		return a.set.value(k), nil
	}
	if a.n <= 0 {
		return aggResult{null: true}, nil
	}
	if p.argClass == types.ClassF64 {
		if p.Kind == AggSum {
			return aggResult{f: a.f}, nil
		}
		return aggResult{f: a.f / float64(a.n)}, nil
	}
	if p.outClass == types.ClassF64 {
		f := float64(a.i) / float64(types.Pow10[p.inScale])
		if p.Kind == AggAvg {
			f /= float64(a.n)
		}
		return aggResult{f: f}, nil
	}
	n := int64(1)
	if p.Kind == AggAvg {
		n = a.n
	}
	v, ok := divRound(a.i, n, p.outScale-p.inScale)
	if !ok || (p.outPrec > 0 && (v >= types.Pow10[p.outPrec] || v <= -types.Pow10[p.outPrec])) {
		return aggResult{}, p.overflow()
	}
	return aggResult{i: v}, nil
}

// divRound returns sum·10^shift / n rounded half away from zero, computed
// exactly in 128 bits; ok is false when the result does not fit an int64.
// n must be positive and |shift| at most 18.
func divRound(sum, n int64, shift int) (int64, bool) {
	if n <= 0 || shift > 18 || shift < -18 {
		return 0, false
	}
	if shift == 0 && n == 1 {
		return sum, true
	}
	neg := sum < 0
	u := uint64(sum)
	if neg {
		u = -u // two's complement magnitude; also right for MinInt64
	}
	var hi, lo uint64
	den := uint64(n)
	if shift >= 0 {
		hi, lo = bits.Mul64(u, uint64(types.Pow10[shift]))
	} else {
		dh, dl := bits.Mul64(den, uint64(types.Pow10[-shift]))
		if dh != 0 {
			// den > 2^64 > 2·|sum|: the quotient is below 1/2.
			return 0, true
		}
		lo, den = u, dl
	}
	if hi >= den {
		return 0, false
	}
	q, r := bits.Div64(hi, lo, den)
	if r >= den-r {
		q++
	}
	if q > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(q), true
	}
	return int64(q), true
}

// addChecked returns a + d·v for d = ±1, and false on int64 overflow.
func addChecked(a, v, d int64) (int64, bool) {
	if d > 0 {
		s := a + v
		return s, (s^a)&(s^v) >= 0
	}
	s := a - v
	return s, (a^v)&(a^s) >= 0
}

// valueSet is a multiset of the non-NULL values of one argument: values
// kept sorted (ints and strings as Compare orders them, floats with -0
// folded onto +0 and NaN above every number), each with its count. It lets
// MIN/MAX find the next extremum when the current one is retracted, and
// DISTINCT know when a value appears or disappears. Only the slice of
// class is used.
//
// Counts are normally positive: an entry reaching 0 is removed. Retractions
// of values never added (inconsistent input) leave negative counts that
// balance later additions in the same batch; prune drops whatever is left
// negative at the end of the batch.
type valueSet struct {
	class  types.Class
	ints   []int64
	floats []float64
	strs   []string
	counts []int64
	negs   int // entries with a negative count
}

func (s *valueSet) len() int { return len(s.counts) }

// value returns entry k as a result.
func (s *valueSet) value(k int) aggResult {
	switch s.class {
	case types.ClassF64:
		return aggResult{f: s.floats[k]}
	case types.ClassStr:
		return aggResult{s: s.strs[k]}
	}
	return aggResult{i: s.ints[k]}
}

// bump adds d to the count of entry k, removing it at zero, and returns the
// count before and after.
func (s *valueSet) bump(k int, d int64) (before, after int64) {
	before = s.counts[k]
	after = before + d
	if before < 0 {
		s.negs--
	}
	if after < 0 {
		s.negs++
	}
	if after != 0 {
		s.counts[k] = after
		return before, after
	}
	s.counts = slices.Delete(s.counts, k, k+1)
	switch s.class {
	case types.ClassF64:
		s.floats = slices.Delete(s.floats, k, k+1)
	case types.ClassStr:
		s.strs = slices.Delete(s.strs, k, k+1)
	default:
		s.ints = slices.Delete(s.ints, k, k+1)
	}
	return before, after
}

func (s *valueSet) inserted(k int, d int64) (before, after int64) {
	s.counts = slices.Insert(s.counts, k, d)
	if d < 0 {
		s.negs++
	}
	return 0, d
}

// addInt adds d (±1) occurrences of v.
func (s *valueSet) addInt(v, d int64) (before, after int64) {
	k, found := slices.BinarySearch(s.ints, v)
	if found {
		return s.bump(k, d)
	}
	s.ints = slices.Insert(s.ints, k, v)
	return s.inserted(k, d)
}

// addFloat adds d (±1) occurrences of v.
func (s *valueSet) addFloat(v float64, d int64) (before, after int64) {
	if v == 0 {
		v = 0 // fold -0 onto +0
	}
	k, found := slices.BinarySearchFunc(s.floats, v, compareFloat)
	if found {
		return s.bump(k, d)
	}
	s.floats = slices.Insert(s.floats, k, v)
	return s.inserted(k, d)
}

// addStr adds d (±1) occurrences of v; a new value is cloned, so the set
// never pins an input buffer.
func (s *valueSet) addStr(v string, d int64) (before, after int64) {
	k, found := slices.BinarySearch(s.strs, v)
	if found {
		return s.bump(k, d)
	}
	s.strs = slices.Insert(s.strs, k, strings.Clone(v))
	return s.inserted(k, d)
}

// prune removes the entries left with a negative count.
func (s *valueSet) prune() {
	if s.negs == 0 {
		return
	}
	j := 0
	for k, c := range s.counts {
		if c <= 0 {
			continue
		}
		s.counts[j] = c
		switch s.class {
		case types.ClassF64:
			s.floats[j] = s.floats[k]
		case types.ClassStr:
			s.strs[j] = s.strs[k]
		default:
			s.ints[j] = s.ints[k]
		}
		j++
	}
	s.counts = s.counts[:j]
	switch s.class {
	case types.ClassF64:
		s.floats = s.floats[:j]
	case types.ClassStr:
		clear(s.strs[j:])
		s.strs = s.strs[:j]
	default:
		s.ints = s.ints[:j]
	}
	s.negs = 0
}

// reset empties s, keeping its memory.
func (s *valueSet) reset() {
	clear(s.strs)
	s.ints, s.floats, s.strs, s.counts = s.ints[:0], s.floats[:0], s.strs[:0], s.counts[:0]
	s.negs = 0
}

// newValueSet returns an empty set for values of class c.
func newValueSet(c types.Class) *valueSet { return &valueSet{class: c} }

// newRecord returns an empty record from the store, sets allocated.
func (g *GroupAgg) newRecord() *accRecord {
	r := g.store.create(len(g.calls))
	r.rows = 0
	for c := range g.calls {
		if g.calls[c].usesSet() {
			r.vals[c].set = newValueSet(g.calls[c].argClass)
		}
	}
	return r
}

// results computes the results of every call for the entries: before the
// batch (which = 0, groups with state) or after it (which = 1, active
// groups). It runs call by call, so the choice of code is made once per
// call and batch.
func (g *GroupAgg) results(which int) error {
	nc := len(g.calls)
	if need := 2 * nc * len(g.entries); cap(g.res) < need {
		g.res = make([]aggResult, need)
	} else {
		g.res = g.res[:need]
	}
	for c := range g.calls {
		p := &g.calls[c]
		for e := range g.entries {
			ent := &g.entries[e]
			if (which == 0 && !ent.found) || !ent.active {
				continue
			}
			a := &g.vals[e][c]
			r := &g.res[(2*e+which)*nc+c]
			switch {
			case p.mode == modeCount:
				*r = aggResult{i: a.n}
			case p.fastSum:
				*r = aggResult{null: a.n <= 0, i: a.i}
			default:
				v, err := p.result(a)
				if err != nil {
					return err
				}
				*r = v
			}
		}
	}
	return nil
}

// selectRows returns the rows of b that count for call c: rows of a group,
// with the filter TRUE and the argument not NULL.
func (g *GroupAgg) selectRows(c int, b *types.Batch) []int32 {
	p := &g.calls[c]
	n := b.Len()
	var filt, arg *types.Vector
	if p.Filter >= 0 {
		filt = &b.Cols[p.Filter]
	}
	if p.Arg >= 0 && b.Cols[p.Arg].HasNulls() {
		arg = &b.Cols[p.Arg]
	}
	if filt == nil && arg == nil && !g.ignored {
		return g.allRows[:n]
	}
	sel := g.sel[:0]
	for i, e := range g.rowEntry[:n] {
		if e < 0 || (filt != nil && (filt.IsNull(i) || filt.I64[i] == 0)) || (arg != nil && arg.IsNull(i)) {
			continue
		}
		sel = append(sel, int32(i))
	}
	g.sel = sel
	return sel
}

// accumulate folds the selected rows of b into call c's accumulators.
func (g *GroupAgg) accumulate(c int, b *types.Batch, sel []int32) error {
	p := &g.calls[c]
	vals, ent, delta := g.vals, g.rowEntry, g.delta
	switch p.mode {
	case modeCount:
		for _, i := range sel {
			vals[ent[i]][c].n += delta[i]
		}
	case modeSumI:
		in := b.Cols[p.Arg].I64
		for _, i := range sel {
			a := &vals[ent[i]][c]
			s, ok := addChecked(a.i, in[i], delta[i])
			if !ok {
				return p.overflow()
			}
			a.i = s
			a.n += delta[i]
		}
	case modeSumF:
		in := b.Cols[p.Arg].F64
		for _, i := range sel {
			a := &vals[ent[i]][c]
			a.f += float64(delta[i]) * in[i]
			a.n += delta[i]
		}
	case modeSet:
		return g.accumulateSet(c, b, sel)
	case modeExtremum:
		return g.accumulateExtremum(c, b, sel)
	}
	return nil
}

// accumulateSet updates multisets, and for DISTINCT calls the count and sum
// of the values present (a value is present while its count is positive).
func (g *GroupAgg) accumulateSet(c int, b *types.Batch, sel []int32) error {
	p := &g.calls[c]
	arg := &b.Cols[p.Arg]
	sums := p.Distinct && (p.Kind == AggSum || p.Kind == AggAvg)
	for _, i := range sel {
		a := &g.vals[g.rowEntry[i]][c]
		d := g.delta[i]
		var before, after int64
		switch p.argClass {
		case types.ClassF64:
			before, after = a.set.addFloat(arg.F64[i], d)
		case types.ClassStr:
			before, after = a.set.addStr(arg.Str[i], d)
		default:
			before, after = a.set.addInt(arg.I64[i], d)
		}
		was, is := before > 0, after > 0
		if was == is {
			continue
		}
		sg := int64(1)
		if was {
			sg = -1
		}
		a.n += sg
		if !sums {
			continue
		}
		if p.argClass == types.ClassF64 {
			a.f += float64(sg) * arg.F64[i]
			continue
		}
		s, ok := addChecked(a.i, arg.I64[i], sg)
		if !ok {
			return p.overflow()
		}
		a.i = s
	}
	return nil
}

// accumulateExtremum keeps the running MIN or MAX of an insert-only input.
func (g *GroupAgg) accumulateExtremum(c int, b *types.Batch, sel []int32) error {
	p := &g.calls[c]
	arg := &b.Cols[p.Arg]
	sign := 1
	if p.Kind == AggMin {
		sign = -1
	}
	for _, i := range sel { // no retraction: resolve refuses them
		a := &g.vals[g.rowEntry[i]][c]
		first := a.n == 0
		a.n++
		switch p.argClass {
		case types.ClassF64:
			if v := arg.F64[i]; first || compareFloat(v, a.f)*sign > 0 {
				a.f = v
			}
		case types.ClassStr:
			if v := arg.Str[i]; first || strings.Compare(v, a.s)*sign > 0 {
				a.s = v
			}
		default:
			if v := arg.I64[i]; first || (sign > 0 && v > a.i) || (sign < 0 && v < a.i) {
				a.i = v
			}
		}
	}
	return nil
}

// settle brings the accumulators of the touched groups to rest after a
// batch: multisets lose their negative entries, an emptied global group
// returns to its initial state, float sums over no value return to 0, and
// string extrema taken from the input are copied (or the stored copy kept
// when equal), so state never pins an input batch.
func (g *GroupAgg) settle() {
	nc := len(g.calls)
	for e := range g.entries {
		ent := &g.entries[e]
		if !ent.active {
			continue
		}
		vals := g.vals[e]
		if g.global && ent.rec.rows <= 0 {
			ent.rec.rows = 0
			for c := range vals {
				set := vals[c].set
				vals[c] = accVal{}
				if set != nil {
					set.reset()
					vals[c].set = set
				}
			}
			continue
		}
		if g.hasSets {
			for c := range vals {
				if s := vals[c].set; s != nil {
					s.prune()
				}
			}
		}
		if g.hasFSum {
			// A float sum over no value restarts from an exact zero rather
			// than the rounding residue of its additions and retractions.
			for c := range vals {
				if vals[c].n == 0 && g.calls[c].argClass == types.ClassF64 {
					vals[c].f = 0
				}
			}
		}
		if !g.hasExtS {
			continue
		}
		for c := range vals {
			p := &g.calls[c]
			if p.mode != modeExtremum || p.argClass != types.ClassStr || vals[c].n == 0 {
				continue
			}
			if old := &g.res[2*e*nc+c]; ent.found && !old.null && old.s == vals[c].s {
				vals[c].s = old.s
			} else {
				vals[c].s = strings.Clone(vals[c].s)
			}
		}
	}
}
