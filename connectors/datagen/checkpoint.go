package datagen

import (
	"github.com/sluicesql/sluice/connectors/splitpos"
	"github.com/sluicesql/sluice/exec"
)

var (
	_ exec.Snapshotter = (*Source)(nil)
	_ exec.Restorer    = (*Source)(nil)
)

// Snapshot implements exec.Snapshotter: the subtask's position (Position)
// with its subtask index and parallelism, so that Restore can refuse a
// snapshot taken by another subtask layout (a splitpos.Position).
func (s *Source) Snapshot(int64) ([]byte, error) {
	return splitpos.Position{Subtask: s.subtask, Parallelism: s.parallelism, Next: s.next}.Encode(), nil
}

// Restore implements exec.Restorer: the subtask continues right after the
// last row it had produced before checkpoint id.
//
// A datagen subtask's rows are the row numbers n ≡ subtask (mod
// parallelism), so a position only means something at the parallelism it
// was taken at: datagen sources must be restored at their checkpointed
// parallelism (the job driver keeps the parallelism of source vertices
// when it rescales a job). Restore therefore wants exactly one snapshot,
// taken by this very subtask at this parallelism, and refuses anything
// else with an error rather than produce rows twice or lose some.
func (s *Source) Restore(id int64, snaps [][]byte) error {
	next, err := splitpos.Restore("datagen", s.subtask, s.parallelism, id, snaps)
	if err != nil {
		return err
	}
	s.SeekTo(next)
	return nil
}
