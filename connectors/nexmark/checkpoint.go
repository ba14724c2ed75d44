package nexmark

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sluicesql/sluice/exec"
)

// snapshotVersion is the first byte of a nexmark position snapshot.
const snapshotVersion = 1

var (
	_ exec.Snapshotter = (*Source)(nil)
	_ exec.Restorer    = (*Source)(nil)
)

// Snapshot implements exec.Snapshotter: the subtask's position (Position)
// with its subtask index and parallelism, so that Restore can refuse a
// snapshot taken by another subtask layout:
//
//	version(1) uvarint(subtask) uvarint(parallelism) uvarint(next row)
func (s *Source) Snapshot(int64) ([]byte, error) {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64)
	b = append(b, snapshotVersion)
	b = binary.AppendUvarint(b, uint64(s.subtask))
	b = binary.AppendUvarint(b, uint64(s.parallelism))
	b = binary.AppendUvarint(b, uint64(s.next))
	return b, nil
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
	if len(snaps) != 1 {
		return fmt.Errorf("nexmark subtask %d of %d: checkpoint %d holds %d positions for it, want exactly 1 "+
			"(a nexmark source must be restored at its checkpointed parallelism)", s.subtask, s.parallelism, id, len(snaps))
	}
	sub, par, next, err := decodeSnapshot(snaps[0])
	if err != nil {
		return fmt.Errorf("nexmark subtask %d: checkpoint %d: %w", s.subtask, id, err)
	}
	if sub != s.subtask || par != s.parallelism {
		return fmt.Errorf("nexmark subtask %d of %d: checkpoint %d recorded the position of subtask %d of %d "+
			"(a nexmark source must be restored at its checkpointed parallelism)", s.subtask, s.parallelism, id, sub, par)
	}
	s.SeekTo(next)
	return nil
}

var errBadSnapshot = errors.New("corrupt nexmark position snapshot")

func decodeSnapshot(b []byte) (subtask, parallelism, next int64, err error) {
	if len(b) == 0 || b[0] != snapshotVersion {
		return 0, 0, 0, errBadSnapshot
	}
	b = b[1:]
	var vals [3]int64
	for i := range vals {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > 1<<62 {
			return 0, 0, 0, errBadSnapshot
		}
		vals[i] = int64(v)
		b = b[n:]
	}
	if len(b) != 0 || vals[1] == 0 || vals[0] >= vals[1] {
		return 0, 0, 0, errBadSnapshot
	}
	return vals[0], vals[1], vals[2], nil
}
