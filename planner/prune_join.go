package planner

import "github.com/sluicesql/sluice/exec/expr"

// pruneJoin narrows both inputs of a join to the columns used above it
// and by the join itself (keys, residual, interval and window columns), so
// join state holds only those: q4's auction ⋈ bid keeps 4 of 10 and 3 of 7
// columns instead of all. need lists j's used output columns.
func (pl *Planner) pruneJoin(j *Join, need []bool) (Node, []int, error) {
	nl, nr := len(j.Left.Fields()), len(j.Right.Fields())
	semi := j.Kind == SemiJoin || j.Kind == AntiJoin
	lneed, rneed := make([]bool, nl), make([]bool, nr)
	copy(lneed, need)
	if !semi {
		copy(rneed, need[nl:])
	}
	// all marks a column of the concatenated left ++ right row.
	all := func(c int) {
		if c < nl {
			lneed[c] = true
		} else {
			rneed[c-nl] = true
		}
	}
	for _, k := range j.LeftKeys {
		lneed[k] = true
	}
	for _, k := range j.RightKeys {
		rneed[k] = true
	}
	if j.Residual != nil {
		for _, c := range expr.Columns(j.Residual) {
			all(c)
		}
	}
	// Without keys, Cond is still read (EXPLAIN, interval detection); with
	// keys it is fully represented by the keys, the residual and the
	// filters planJoins pushed into the inputs, and is dropped.
	keepCond := len(j.LeftKeys) == 0 && j.Cond != nil
	if keepCond {
		for _, c := range expr.Columns(j.Cond) {
			all(c)
		}
	}
	if iv := j.Interval; iv != nil {
		lneed[iv.LeftTime], rneed[iv.RightTime] = true, true
	}
	if w := j.Window; w != nil {
		lneed[w.LeftStart], lneed[w.LeftEnd] = true, true
		rneed[w.RightStart], rneed[w.RightEnd] = true, true
	}
	left, ml, err := pl.pruneNode(j.Left, lneed)
	if err != nil {
		return nil, nil, err
	}
	right, mr, err := pl.pruneNode(j.Right, rneed)
	if err != nil {
		return nil, nil, err
	}
	newNL := len(left.Fields())
	// m maps old concatenated positions to new ones.
	m := make([]int, nl+nr)
	copy(m, ml)
	for i, c := range mr {
		m[nl+i] = -1
		if c >= 0 {
			m[nl+i] = newNL + c
		}
	}
	out := *j
	out.Left, out.Right = left, right
	out.LeftKeys = remapCols(j.LeftKeys, ml)
	out.RightKeys = remapCols(j.RightKeys, mr)
	if j.Residual != nil {
		if out.Residual, err = expr.Remap(j.Residual, m); err != nil {
			return nil, nil, err
		}
	}
	out.Cond = nil
	if keepCond {
		if out.Cond, err = expr.Remap(j.Cond, m); err != nil {
			return nil, nil, err
		}
	}
	if iv := j.Interval; iv != nil {
		b := *iv
		b.LeftTime, b.RightTime = ml[iv.LeftTime], mr[iv.RightTime]
		out.Interval = &b
	}
	if w := j.Window; w != nil {
		out.Window = &WindowJoinCols{LeftStart: ml[w.LeftStart], LeftEnd: ml[w.LeftEnd],
			RightStart: mr[w.RightStart], RightEnd: mr[w.RightEnd]}
	}
	if semi {
		return &out, ml, nil
	}
	return &out, m, nil
}

// pruneRank narrows a (non-window) Top-N's input to the columns used above
// it plus its partition and order columns.
func (pl *Planner) pruneRank(r *Rank, need []bool) (Node, []int, error) {
	n := len(r.Input.Fields())
	inNeed := make([]bool, n)
	copy(inNeed, need[:n])
	for _, c := range r.PartitionCols {
		inNeed[c] = true
	}
	for _, k := range r.Order {
		inNeed[k.Col] = true
	}
	in, m, err := pl.pruneNode(r.Input, inNeed)
	if err != nil {
		return nil, nil, err
	}
	out := *r
	out.Input = in
	out.PartitionCols = remapCols(r.PartitionCols, m)
	out.Order = make([]SortKey, len(r.Order))
	for i, k := range r.Order {
		out.Order[i] = SortKey{Col: m[k.Col], Desc: k.Desc}
	}
	// The row number follows the input's columns.
	om := append(append([]int(nil), m...), len(in.Fields()))
	return &out, om, nil
}

// remapCols maps column positions through m (all of them kept).
func remapCols(cols, m []int) []int {
	if cols == nil {
		return nil
	}
	out := make([]int, len(cols))
	for i, c := range cols {
		out[i] = m[c]
	}
	return out
}
