package planner

import (
	"github.com/sluicesql/sluice/exec/expr"
)

// optimize rewrites a logical plan: predicates move down through
// projections and into UNION ALL branches, adjacent filters and projections
// merge, subexpressions a filter and projection repeat are computed once,
// and scans read only the columns the plan uses.
func (pl *Planner) optimize(n Node) (Node, error) {
	n, err := pushFilters(n)
	if err != nil {
		return nil, err
	}
	if n, err = pl.planWindows(n); err != nil {
		return nil, err
	}
	if n, err = pl.planJoins(n); err != nil {
		return nil, err
	}
	if n, err = pl.limitRanks(n); err != nil {
		return nil, err
	}
	n, err = mergeProjects(n)
	if err != nil {
		return nil, err
	}
	return pl.prune(shareSubexprs(n))
}

// pushFilters moves each Filter below Projects (substituting the projected
// expressions) and into Union branches, and merges stacked Filters.
func pushFilters(n Node) (Node, error) {
	var err error
	switch x := n.(type) {
	case *Filter:
		in, err := pushFilters(x.Input)
		if err != nil {
			return nil, err
		}
		switch child := in.(type) {
		case *Project:
			if !deterministic(child.Exprs) {
				break
			}
			cond, err := expr.Substitute(x.Cond, child.Exprs)
			if err != nil {
				return nil, err
			}
			pushed, err := pushFilters(&Filter{Input: child.Input, Cond: cond})
			if err != nil {
				return nil, err
			}
			return &Project{Input: pushed, Exprs: child.Exprs, Names: child.Names, Qualifier: child.Qualifier}, nil
		case *Union:
			u := &Union{Schema: child.Schema}
			for _, branch := range child.In {
				pushed, err := pushFilters(&Filter{Input: branch, Cond: x.Cond.Clone()})
				if err != nil {
					return nil, err
				}
				u.In = append(u.In, pushed)
			}
			return u, nil
		case *Filter:
			cond, err := expr.Call("AND", child.Cond, x.Cond)
			if err != nil {
				return nil, err
			}
			return &Filter{Input: child.Input, Cond: cond}, nil
		case *Join:
			if child.Kind == InnerJoin {
				cond := x.Cond
				if child.Cond != nil {
					if cond, err = expr.Call("AND", child.Cond, x.Cond); err != nil {
						return nil, err
					}
				}
				j := *child
				j.Cond = cond
				return &j, nil
			}
		}
		return &Filter{Input: in, Cond: x.Cond}, nil
	case *Project:
		x2 := *x
		x2.Input, err = pushFilters(x.Input)
		return &x2, err
	case *Sort:
		x2 := *x
		x2.Input, err = pushFilters(x.Input)
		return &x2, err
	case *Sink:
		x2 := *x
		x2.Input, err = pushFilters(x.Input)
		return &x2, err
	case *Union, *Join, *Aggregate, *Rank, *SingleRow, *WindowTVF, *WindowAggregate:
		ins := n.Inputs()
		for i, in := range ins {
			p, err := pushFilters(in)
			if err != nil {
				return nil, err
			}
			ins[i] = p
		}
		return withInputs(n, ins), nil
	}
	return n, nil
}

func deterministic(es []expr.Expr) bool {
	for _, e := range es {
		if !expr.Deterministic(e) {
			return false
		}
	}
	return true
}

// mergeProjects composes a Project over a Project into one.
func mergeProjects(n Node) (Node, error) {
	ins := n.Inputs()
	for i, in := range ins {
		m, err := mergeProjects(in)
		if err != nil {
			return nil, err
		}
		ins[i] = m
	}
	n = withInputs(n, ins)
	p, ok := n.(*Project)
	if !ok {
		return n, nil
	}
	child, ok := p.Input.(*Project)
	if !ok || !deterministic(child.Exprs) {
		return n, nil
	}
	exprs := make([]expr.Expr, len(p.Exprs))
	for i, e := range p.Exprs {
		s, err := expr.Substitute(e, child.Exprs)
		if err != nil {
			return nil, err
		}
		if exprs[i], err = expr.Fold(s); err != nil {
			return nil, err
		}
	}
	return &Project{Input: child.Input, Exprs: exprs, Names: p.Names, Qualifier: p.Qualifier}, nil
}

// withInputs returns n with its children replaced by ins.
func withInputs(n Node, ins []Node) Node {
	switch x := n.(type) {
	case *Filter:
		return &Filter{Input: ins[0], Cond: x.Cond}
	case *Project:
		return &Project{Input: ins[0], Exprs: x.Exprs, Names: x.Names, Qualifier: x.Qualifier}
	case *Sort:
		return &Sort{Input: ins[0], Keys: x.Keys, Limit: x.Limit, Offset: x.Offset}
	case *Sink:
		return &Sink{Input: ins[0], Table: x.Table, UpsertKey: x.UpsertKey}
	case *Union:
		return &Union{In: ins, Schema: x.Schema}
	case *Aggregate:
		return &Aggregate{Input: ins[0], GroupCols: x.GroupCols, Calls: x.Calls, Names: x.Names}
	case *Join:
		j := *x
		j.Left, j.Right = ins[0], ins[1]
		return &j
	case *Rank:
		r := *x
		r.Input = ins[0]
		return &r
	case *SingleRow:
		return &SingleRow{Input: ins[0]}
	case *WindowTVF:
		w := *x
		w.Input = ins[0]
		return &w
	case *WindowAggregate:
		w := *x
		w.Input = ins[0]
		return &w
	}
	return n
}

// prune narrows scans to the columns used above them. need lists the output
// columns of n its parent uses (nil = all); it returns the rewritten node
// and, because pruning changes column positions, the mapping from n's old
// output positions to new ones.
func (pl *Planner) prune(n Node) (Node, error) {
	out, _, err := pl.pruneNode(n, nil)
	return out, err
}

func allCols(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}

// pruneNode returns the rewritten node and a map old output index → new
// output index (-1 when dropped). need[i] says whether output i is used.
func (pl *Planner) pruneNode(n Node, need []bool) (Node, []int, error) {
	width := len(n.Fields())
	if need == nil {
		need = allCols(width)
	}
	identity := func() []int {
		m := make([]int, width)
		for i := range m {
			m[i] = i
		}
		return m
	}
	switch x := n.(type) {
	case *Scan:
		var cols []int
		m := make([]int, width)
		if x.Watermark != nil {
			// The watermark assigner after the source reads these.
			need = append([]bool(nil), need...)
			for _, wc := range x.Watermark.columns() {
				for i, c := range x.Columns {
					if c == wc {
						need[i] = true
					}
				}
			}
		}
		for i, c := range x.Columns {
			if need[i] {
				m[i] = len(cols)
				cols = append(cols, c)
			} else {
				m[i] = -1
			}
		}
		if len(cols) == 0 && len(x.Columns) > 0 {
			// Keep one column so batches still carry their row count.
			cols = append(cols, x.Columns[0])
			m[0] = 0
		}
		if len(cols) == len(x.Columns) {
			return x, identity(), nil
		}
		s := &Scan{Table: x.Table, Alias: x.Alias, Columns: cols, Continuous: x.Continuous, Watermark: x.Watermark}
		if err := s.refresh(pl); err != nil {
			return nil, nil, err
		}
		return s, m, nil
	case *Project:
		inNeed := make([]bool, len(x.Input.Fields()))
		for i, e := range x.Exprs {
			if need[i] {
				for _, c := range expr.Columns(e) {
					inNeed[c] = true
				}
			}
		}
		in, m, err := pl.pruneNode(x.Input, inNeed)
		if err != nil {
			return nil, nil, err
		}
		p := &Project{Input: in, Qualifier: x.Qualifier}
		out := make([]int, width)
		for i, e := range x.Exprs {
			if !need[i] {
				out[i] = -1
				continue
			}
			r, err := expr.Remap(e, m)
			if err != nil {
				return nil, nil, err
			}
			out[i] = len(p.Exprs)
			p.Exprs = append(p.Exprs, r)
			p.Names = append(p.Names, x.Names[i])
		}
		return p, out, nil
	case *Filter:
		inNeed := append([]bool(nil), need...)
		for _, c := range expr.Columns(x.Cond) {
			inNeed[c] = true
		}
		in, m, err := pl.pruneNode(x.Input, inNeed)
		if err != nil {
			return nil, nil, err
		}
		cond, err := expr.Remap(x.Cond, m)
		if err != nil {
			return nil, nil, err
		}
		return &Filter{Input: in, Cond: cond}, m, nil
	case *Sort:
		inNeed := append([]bool(nil), need...)
		for _, k := range x.Keys {
			inNeed[k.Col] = true
		}
		in, m, err := pl.pruneNode(x.Input, inNeed)
		if err != nil {
			return nil, nil, err
		}
		s := &Sort{Input: in, Limit: x.Limit, Offset: x.Offset}
		for _, k := range x.Keys {
			s.Keys = append(s.Keys, SortKey{Col: m[k.Col], Desc: k.Desc})
		}
		return s, m, nil
	case *Sink:
		in, _, err := pl.pruneNode(x.Input, nil)
		if err != nil {
			return nil, nil, err
		}
		return &Sink{Input: in, Table: x.Table, UpsertKey: x.UpsertKey}, identity(), nil
	case *Join:
		return pl.pruneJoin(x, need)
	case *Rank:
		if x.window() == nil {
			return pl.pruneRank(x, need)
		}
		ins := []Node{x.Input}
		p, _, err := pl.pruneNode(x.Input, nil)
		if err != nil {
			return nil, nil, err
		}
		ins[0] = p
		return withInputs(n, ins), identity(), nil
	case *Aggregate, *SingleRow, *WindowTVF, *WindowAggregate:
		// Their inputs keep every column (a projection below an
		// Aggregate already computes only what it needs).
		ins := n.Inputs()
		for i, in := range ins {
			p, _, err := pl.pruneNode(in, nil)
			if err != nil {
				return nil, nil, err
			}
			ins[i] = p
		}
		return withInputs(n, ins), identity(), nil
	case *Union:
		// Every branch keeps every column: positions must line up.
		u := &Union{Schema: x.Schema}
		for _, in := range x.In {
			p, _, err := pl.pruneNode(in, nil)
			if err != nil {
				return nil, nil, err
			}
			u.In = append(u.In, p)
		}
		return u, identity(), nil
	}
	return n, identity(), nil
}
