package ops

import (
	"errors"
	"fmt"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// ErrTooManyRows is returned when a scalar subquery produces more than one
// row.
var ErrTooManyRows = errors.New("a scalar subquery returned more than one row")

// SingleRow passes its input through and fails the job when more than one
// row is live at the end of a batch (added rows minus retracted ones): the
// check of a scalar subquery. It must run in one subtask.
type SingleRow struct {
	live int64
}

// SingleRowFactory returns a factory of SingleRow checks.
func SingleRowFactory() exec.OperatorFactory {
	return func(int) (exec.Operator, error) { return &SingleRow{}, nil }
}

// Process implements exec.Operator.
func (s *SingleRow) Process(b *types.Batch, out exec.Collector) error {
	for _, op := range b.Ops {
		if op.IsAdd() {
			s.live++
		} else {
			s.live--
		}
	}
	if s.live > 1 {
		b.Release()
		return fmt.Errorf("%w (%d rows)", ErrTooManyRows, s.live)
	}
	return out.Collect(b)
}
