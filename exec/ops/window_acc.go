package ops

import (
	"strings"

	"github.com/sluicesql/sluice/exec/types"
)

// Accumulators of window aggregation. Windows reuse GroupAgg's per-call
// plans (callPlan, compiled insert-only: MIN and MAX keep the running
// extremum, DISTINCT calls a multiset) and accumulators (accVal, encoded by
// accCodec; the zero accVal is an empty accumulator). Two operations
// GroupAgg does not need are added here: adding one row to the
// accumulators of a pane or session, and merging accumulators into others
// (panes into a window, sessions into a session).

// addRow folds row i of b into vals, the accumulators of calls: the row
// counts for a call when its filter is TRUE and its argument is not NULL.
func addRow(calls []callPlan, vals []accVal, b *types.Batch, i int) error {
	for c := range calls {
		p := &calls[c]
		if p.Filter >= 0 {
			if f := &b.Cols[p.Filter]; f.IsNull(i) || f.I64[i] == 0 {
				continue
			}
		}
		if p.Arg < 0 {
			vals[c].n++
			continue
		}
		arg := &b.Cols[p.Arg]
		if arg.IsNull(i) {
			continue
		}
		if err := p.addValue(&vals[c], arg, i); err != nil {
			return err
		}
	}
	return nil
}

// addValue adds the non-NULL value i of arg to a.
func (p *callPlan) addValue(a *accVal, arg *types.Vector, i int) error {
	switch p.mode {
	case modeCount:
		a.n++
	case modeSumI:
		s, ok := addChecked(a.i, arg.I64[i], 1)
		if !ok {
			return p.overflow()
		}
		a.i = s
		a.n++
	case modeSumF:
		a.f += arg.F64[i]
		a.n++
	case modeExtremum:
		var v aggResult
		switch p.argClass {
		case types.ClassF64:
			v.f = arg.F64[i]
		case types.ClassStr:
			v.s = arg.Str[i]
		default:
			v.i = arg.I64[i]
		}
		p.mergeExtremum(a, v, 1, true)
	case modeSet:
		if a.set == nil {
			a.set = newValueSet(p.argClass)
		}
		var v aggResult
		switch p.argClass {
		case types.ClassF64:
			v.f = arg.F64[i]
		case types.ClassStr:
			v.s = arg.Str[i]
		default:
			v.i = arg.I64[i]
		}
		return p.addToSet(a, v, 1)
	}
	return nil
}

// mergeExtremum folds value v, seen cnt times, into an insert-only MIN or
// MAX accumulator. clone copies a string that may point into a batch.
func (p *callPlan) mergeExtremum(a *accVal, v aggResult, cnt int64, clone bool) {
	first := a.n == 0
	a.n += cnt
	sign := 1
	if p.Kind == AggMin {
		sign = -1
	}
	switch p.argClass {
	case types.ClassF64:
		if first || compareFloat(v.f, a.f)*sign > 0 {
			a.f = v.f
		}
	case types.ClassStr:
		if first || strings.Compare(v.s, a.s)*sign > 0 {
			a.s = v.s
			if clone {
				a.s = strings.Clone(v.s)
			}
		}
	default:
		if first || (sign > 0 && v.i > a.i) || (sign < 0 && v.i < a.i) {
			a.i = v.i
		}
	}
}

// addToSet adds cnt occurrences of v to a multiset accumulator, keeping a
// DISTINCT call's count and sum of the values present.
func (p *callPlan) addToSet(a *accVal, v aggResult, cnt int64) error {
	var before, after int64
	switch p.argClass {
	case types.ClassF64:
		before, after = a.set.addFloat(v.f, cnt)
	case types.ClassStr:
		before, after = a.set.addStr(v.s, cnt)
	default:
		before, after = a.set.addInt(v.i, cnt)
	}
	if before > 0 || after <= 0 {
		return nil // the value was already present
	}
	a.n++
	if !p.Distinct || (p.Kind != AggSum && p.Kind != AggAvg) {
		return nil
	}
	if p.argClass == types.ClassF64 {
		a.f += v.f
		return nil
	}
	s, ok := addChecked(a.i, v.i, 1)
	if !ok {
		return p.overflow()
	}
	a.i = s
	return nil
}

// mergeVals folds the accumulators src of calls into dst.
func mergeVals(calls []callPlan, dst, src []accVal) error {
	for c := range calls {
		if err := calls[c].merge(&dst[c], &src[c]); err != nil {
			return err
		}
	}
	return nil
}

// merge folds accumulator src into dst.
func (p *callPlan) merge(dst, src *accVal) error {
	switch p.mode {
	case modeCount:
		dst.n += src.n
	case modeSumI:
		s, ok := addChecked(dst.i, src.i, 1)
		if !ok {
			return p.overflow()
		}
		dst.i, dst.n = s, dst.n+src.n
	case modeSumF:
		dst.f += src.f
		dst.n += src.n
	case modeExtremum:
		if src.n > 0 {
			p.mergeExtremum(dst, aggResult{i: src.i, f: src.f, s: src.s}, src.n, false)
		}
	case modeSet:
		if src.set == nil {
			return nil
		}
		if dst.set == nil {
			dst.set = newValueSet(p.argClass)
		}
		for k, cnt := range src.set.counts {
			if err := p.addToSet(dst, src.set.value(k), cnt); err != nil {
				return err
			}
		}
	}
	return nil
}

// resultDatum converts the result of call p into a datum of its type.
func (p *callPlan) resultDatum(a *accVal) (types.Datum, error) {
	r, err := p.result(a)
	if err != nil {
		return types.Datum{}, err
	}
	t := p.OutType.Nullable()
	if r.null {
		return types.NullDatum(t), nil
	}
	return types.Datum{Type: t, I: r.i, F: r.f, S: r.s}, nil
}
