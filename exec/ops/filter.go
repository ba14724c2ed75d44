package ops

import (
	"fmt"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
)

// Filter keeps the rows for which Cond is true; FALSE and NULL drop the
// row (expr.Filter decides truth: numbers are true when nonzero, as in
// MySQL). Rows keep their change op, so a filtered changelog stays a valid
// changelog as long as Cond is deterministic.
//
// The batch is compacted in place; a batch with no row left is released.
// The selection slice is kept between batches, so Process does not
// allocate in steady state.
type Filter struct {
	Cond expr.Expr

	keep []bool
}

// FilterFactory returns a factory of Filters, each with its own clone of cond.
func FilterFactory(cond expr.Expr) exec.OperatorFactory {
	return func(int) (exec.Operator, error) { return &Filter{Cond: cond.Clone()}, nil }
}

// Process implements exec.Operator.
func (f *Filter) Process(b *types.Batch, out exec.Collector) error {
	keep, err := expr.Filter(f.Cond, b, f.keep)
	f.keep = keep
	if err != nil {
		b.Release()
		return fmt.Errorf("filter %s: %w", f.Cond, err)
	}
	kept := 0
	for _, k := range keep {
		if k {
			kept++
		}
	}
	switch kept {
	case 0:
		b.Release()
		return nil
	case len(keep):
	default:
		b.Filter(keep)
	}
	return out.Collect(b)
}
