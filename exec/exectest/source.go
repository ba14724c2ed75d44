package exectest

import (
	"sync/atomic"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// Source is a mock exec.Source that emits copies of Batches in order.
//
// With Loop it repeats them until Limit batches have been emitted (0: no
// limit); with Unbounded it then keeps returning empty batches (after a
// short sleep) until the job is cancelled; otherwise it ends. Err, when
// set, is returned by Next once the batches are exhausted. The counters
// let tests check the lifecycle; read them after Job.Wait.
type Source struct {
	Batches   []*types.Batch
	Loop      bool
	Limit     int
	Unbounded bool
	Err       error

	Opened, Closed atomic.Int32
	Emitted        atomic.Int64 // batches emitted so far
}

var _ exec.Source = (*Source)(nil)

// Open implements exec.Source.
func (s *Source) Open(*exec.TaskContext) error {
	s.Opened.Add(1)
	return nil
}

// Next implements exec.Source.
func (s *Source) Next(b *types.Batch) (bool, error) {
	n := int(s.Emitted.Load())
	exhausted := len(s.Batches) == 0 ||
		(!s.Loop && n >= len(s.Batches)) ||
		(s.Loop && s.Limit > 0 && n >= s.Limit)
	if exhausted {
		if s.Err != nil {
			return false, s.Err
		}
		if s.Unbounded {
			time.Sleep(time.Millisecond)
			return false, nil
		}
		return true, nil
	}
	exec.CopyBatch(b, s.Batches[n%len(s.Batches)])
	s.Emitted.Add(1)
	return false, nil
}

// Close implements exec.Source.
func (s *Source) Close() error {
	s.Closed.Add(1)
	return nil
}

// Sources returns a factory handing out srcs[subtask].
func Sources(srcs ...*Source) exec.SourceFactory {
	return func(subtask int) (exec.Source, error) { return srcs[subtask], nil }
}
