package nexmark

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
// Subtask s owns the rows k ≡ s (mod p), so a position means something
// only at the parallelism it was taken at (as for datagen, source vertices
// keep their parallelism when a job is rescaled). Restore wants exactly one
// snapshot, taken by this subtask at this parallelism, and refuses anything
// else rather than produce events twice or lose some.
func (s *Source) Restore(id int64, snaps [][]byte) error {
	next, err := splitpos.Restore("nexmark", s.subtask, s.parallelism, id, snaps)
	if err != nil {
		return err
	}
	s.SeekTo(next)
	return nil
}
