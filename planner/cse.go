package planner

import (
	"fmt"

	"github.com/sluicesql/sluice/exec/expr"
)

// shareSubexprs computes a deterministic subexpression that one fused
// Filter → Project (or one Project) uses more than once a single time per
// batch: a Project below computes it into an extra column that the filter
// condition and the projection read (see expr.CommonSubexprs for which
// subexpressions qualify; sharing never changes results or errors).
//
//	Project(f(x) AS a, g(f(x)) AS b)         Project(a=$cse0, b=g($cse0))
//	  Filter(f(x) IS NOT NULL)         ──▶     Filter($cse0 IS NOT NULL)
//	    X                                        Project(X's columns, $cse0=f(x))
//	                                               X
//
// It runs after mergeProjects (so the new Project is not merged back) and
// before prune, which drops the input columns only the shared
// subexpressions read.
func shareSubexprs(n Node) Node {
	if p, ok := n.(*Project); ok {
		if f, ok := p.Input.(*Filter); ok {
			return shareFilterProject(p, f, shareSubexprs(f.Input))
		}
		return shareProject(p, shareSubexprs(p.Input))
	}
	ins := n.Inputs()
	for i, in := range ins {
		ins[i] = shareSubexprs(in)
	}
	return withInputs(n, ins)
}

// shareFilterProject rewrites Project p over Filter f over in.
func shareFilterProject(p *Project, f *Filter, in Node) Node {
	width := len(in.Fields())
	defs, conds, exprs := expr.CommonSubexprs([]expr.Expr{f.Cond}, p.Exprs, width)
	if len(defs) == 0 {
		return &Project{Input: &Filter{Input: in, Cond: f.Cond}, Exprs: p.Exprs, Names: p.Names, Qualifier: p.Qualifier}
	}
	below := sharedProject(in, defs)
	return &Project{Input: &Filter{Input: below, Cond: conds[0]}, Exprs: exprs, Names: p.Names, Qualifier: p.Qualifier}
}

// shareProject rewrites Project p over in.
func shareProject(p *Project, in Node) Node {
	defs, exprs, _ := expr.CommonSubexprs(p.Exprs, nil, len(in.Fields()))
	if len(defs) == 0 {
		return &Project{Input: in, Exprs: p.Exprs, Names: p.Names, Qualifier: p.Qualifier}
	}
	return &Project{Input: sharedProject(in, defs), Exprs: exprs, Names: p.Names, Qualifier: p.Qualifier}
}

// sharedProject passes in's columns through and appends defs as columns
// $cse0, $cse1, ...
func sharedProject(in Node, defs []expr.Expr) *Project {
	fields := in.Fields()
	p := &Project{Input: in}
	for i, fd := range fields {
		p.Exprs = append(p.Exprs, expr.Col(i, fd.Type, ""))
		p.Names = append(p.Names, fd.Name)
	}
	for i, d := range defs {
		p.Exprs = append(p.Exprs, d)
		p.Names = append(p.Names, fmt.Sprintf("$cse%d", i))
	}
	return p
}
