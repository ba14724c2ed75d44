package ops

import (
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// Limit passes rows Offset..Offset+Limit-1 of its input (counted across
// batches, in arrival order) and drops the rest. It is meant for bounded,
// insert-only input: on a changelog it would count retractions as rows.
// With parallelism > 1 each subtask limits its own share; a global LIMIT
// runs at parallelism 1.
type Limit struct {
	// Limit is the number of rows to pass, -1 for all.
	Limit int64
	// Offset is the number of leading rows to drop (≤ 0: none).
	Offset int64

	seen int64
	keep []bool
}

// LimitFactory returns a factory of Limits.
func LimitFactory(limit, offset int64) exec.OperatorFactory {
	return func(int) (exec.Operator, error) { return &Limit{Limit: limit, Offset: offset}, nil }
}

// Process implements exec.Operator.
func (l *Limit) Process(b *types.Batch, out exec.Collector) error {
	n := int64(b.Len())
	first := l.seen
	l.seen += n
	lo := max(l.Offset, 0) - first // keep rows [lo, hi) of b
	hi := n
	if l.Limit >= 0 {
		hi = min(hi, max(l.Offset, 0)+l.Limit-first)
	}
	lo = max(lo, 0)
	if lo >= hi {
		b.Release()
		return nil
	}
	if lo > 0 || hi < n {
		if int64(cap(l.keep)) < n {
			l.keep = make([]bool, n)
		}
		keep := l.keep[:n]
		for i := range keep {
			keep[i] = int64(i) >= lo && int64(i) < hi
		}
		b.Filter(keep)
	}
	return out.Collect(b)
}
