package ops

import (
	"fmt"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
)

// ColumnRef is implemented by expressions other than exec/expr's column
// references (which expr.ColumnIndex recognises) that return one input
// column unchanged. ColumnIndex returns the column's index and true.
// Project moves such columns instead of evaluating them.
type ColumnRef interface {
	ColumnIndex() (int, bool)
}

// Project computes one output column per expression.
//
// A plain column reference (expr.ColumnIndex, or ColumnRef) moves the input vector into the
// output batch without copying: the vectors are swapped, so the input
// batch, released afterwards, carries the output batch's old empty vectors
// back to the pool. A column referenced twice is moved once and copied
// otherwise. Other expressions are evaluated into the output batch's
// (pooled) vectors, before any move. The change ops move along. Steady
// state allocates nothing.
type Project struct {
	Exprs []expr.Expr

	prepared bool
	types    []types.Type
	moveFrom []int // input column moved to output k, -1 if not a move
	copyFrom []int // input column copied to output k, -1 if not a copy
}

// ProjectFactory returns a factory of Projects, each with its own clones of
// exprs.
func ProjectFactory(exprs []expr.Expr) exec.OperatorFactory {
	return func(int) (exec.Operator, error) {
		cl := make([]expr.Expr, len(exprs))
		for i, e := range exprs {
			cl[i] = e.Clone()
		}
		return &Project{Exprs: cl}, nil
	}
}

// OutTypes returns the output column types.
func (p *Project) OutTypes() []types.Type {
	p.prepare()
	return p.types
}

func (p *Project) prepare() {
	if p.prepared {
		return
	}
	p.prepared = true
	n := len(p.Exprs)
	p.types = make([]types.Type, n)
	p.moveFrom = make([]int, n)
	p.copyFrom = make([]int, n)
	moved := map[int]bool{}
	for k, e := range p.Exprs {
		p.types[k] = e.Type()
		p.moveFrom[k], p.copyFrom[k] = -1, -1
		c, ok := expr.ColumnIndex(e)
		if r, isRef := e.(ColumnRef); !ok && isRef {
			c, ok = r.ColumnIndex()
		}
		switch {
		case !ok:
		case moved[c]:
			p.copyFrom[k] = c
		default:
			moved[c] = true
			p.moveFrom[k] = c
		}
	}
}

// Process implements exec.Operator.
func (p *Project) Process(b *types.Batch, out exec.Collector) error {
	p.prepare()
	nb := types.NewBatch(p.types)
	for k, e := range p.Exprs {
		if p.moveFrom[k] >= 0 || p.copyFrom[k] >= 0 {
			if c := max(p.moveFrom[k], p.copyFrom[k]); c >= len(b.Cols) {
				b.Release()
				nb.Release()
				return fmt.Errorf("project: column $%d of a %d-column batch", c, len(b.Cols))
			}
			continue
		}
		if err := e.Eval(b, &nb.Cols[k]); err != nil {
			b.Release()
			nb.Release()
			return fmt.Errorf("project %s: %w", e, err)
		}
	}
	for k, c := range p.copyFrom {
		if c >= 0 {
			exec.CopyVector(&nb.Cols[k], &b.Cols[c])
		}
	}
	for k, c := range p.moveFrom {
		if c >= 0 {
			nb.Cols[k], b.Cols[c] = b.Cols[c], nb.Cols[k]
			nb.Cols[k].Type = p.types[k]
		}
	}
	nb.Ops, b.Ops = b.Ops, nb.Ops
	b.Release()
	return out.Collect(nb)
}
