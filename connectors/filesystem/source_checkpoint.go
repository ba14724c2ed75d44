package filesystem

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sluicesql/sluice/exec"
)

// sourceSnapshotVersion is the first byte of a source snapshot.
const sourceSnapshotVersion = 1

var (
	_ exec.Snapshotter = (*Source)(nil)
	_ exec.Restorer    = (*Source)(nil)
)

// Snapshot implements exec.Snapshotter: the work the subtask has left, that
// is the file it is reading with the position of its next record
// (Position) followed by its files not started yet:
//
//	version(1) uvarint(count) count × (uvarint(len) file uvarint(offset) uvarint(line))
//
// A subtask that has read everything snapshots an empty list (still a
// non-empty snapshot, so that Restore can tell it from a subtask that did
// not exist).
func (s *Source) Snapshot(int64) ([]byte, error) {
	b := []byte{sourceSnapshotVersion}
	n := max(len(s.work)-s.fileIdx, 0)
	b = binary.AppendUvarint(b, uint64(n))
	for i := s.fileIdx; i < len(s.work); i++ {
		p := s.work[i]
		if i == s.fileIdx {
			p = s.Position()
		}
		b = binary.AppendUvarint(b, uint64(len(p.File)))
		b = append(b, p.File...)
		b = binary.AppendUvarint(b, uint64(p.Offset))
		b = binary.AppendUvarint(b, uint64(p.Line))
	}
	return b, nil
}

// Restore implements exec.Restorer: the subtask's work becomes the work
// left in the snapshots, in order, each file resumed at its recorded
// record, so every record is read exactly once across the checkpoint.
// The files are those listed when the job was first planned: files added
// to the directory since are not read, and a listed file that disappeared
// fails the job when its turn comes.
//
// Because the snapshot lists files by name, the source can be restored at
// another parallelism: after a rescale a subtask takes over the work of the
// old subtasks mapped to it, and a subtask given no snapshot (one that the
// old parallelism did not have) has nothing to read.
func (s *Source) Restore(id int64, snaps [][]byte) error {
	s.closeFile()
	s.work = s.work[:0]
	for _, snap := range snaps {
		work, err := decodeSourceSnapshot(snap)
		if err != nil {
			return fmt.Errorf("filesystem source of table %s: checkpoint %d: %w", s.cfg.table, id, err)
		}
		s.work = append(s.work, work...)
	}
	s.seek = nil
	s.startFile(0)
	return nil
}

var errBadSourceSnapshot = errors.New("corrupt filesystem source snapshot")

func decodeSourceSnapshot(b []byte) ([]Position, error) {
	if len(b) == 0 || b[0] != sourceSnapshotVersion {
		return nil, errBadSourceSnapshot
	}
	b = b[1:]
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	n, ok := uv()
	if !ok || n > uint64(len(b)) {
		return nil, errBadSourceSnapshot
	}
	work := make([]Position, 0, n)
	for range n {
		l, ok := uv()
		if !ok || l > uint64(len(b)) {
			return nil, errBadSourceSnapshot
		}
		file := string(b[:l])
		b = b[l:]
		off, ok1 := uv()
		line, ok2 := uv()
		if !ok1 || !ok2 || off > 1<<62 || line > 1<<62 {
			return nil, errBadSourceSnapshot
		}
		work = append(work, Position{File: file, Offset: int64(off), Line: int64(line)})
	}
	if len(b) != 0 {
		return nil, errBadSourceSnapshot
	}
	return work, nil
}
