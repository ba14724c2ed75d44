package filesystem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sluicesql/sluice/checkpoint/crash"
)

// sinkSnapshotVersion is the first byte of a sink snapshot.
const sinkSnapshotVersion = 1

// sinkSnapshot is what a sink subtask records in a checkpoint:
//
//	version(1) str(job id) uvarint(subtask) uvarint(next part)
//	uvarint(count) count × (uvarint(checkpoint) str(final name))
//
// where str is uvarint(len) followed by the bytes.
type sinkSnapshot struct {
	id      string
	subtask int
	next    int
	pending []pendingPart
}

func (p *sinkSnapshot) encode() []byte {
	str := func(b []byte, s string) []byte { return append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	b := []byte{sinkSnapshotVersion}
	b = str(b, p.id)
	b = binary.AppendUvarint(b, uint64(p.subtask))
	b = binary.AppendUvarint(b, uint64(p.next))
	b = binary.AppendUvarint(b, uint64(len(p.pending)))
	for _, pp := range p.pending {
		b = binary.AppendUvarint(b, uint64(pp.ckpt))
		b = str(b, pp.final)
	}
	return b
}

var errBadSinkSnapshot = errors.New("corrupt filesystem sink snapshot")

func decodeSinkSnapshot(b []byte) (*sinkSnapshot, error) {
	if len(b) == 0 || b[0] != sinkSnapshotVersion {
		return nil, errBadSinkSnapshot
	}
	b = b[1:]
	bad := false
	uv := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > 1<<62 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	str := func() string {
		n := uv()
		if bad || n > uint64(len(b)) {
			bad = true
			return ""
		}
		s := string(b[:n])
		b = b[n:]
		return s
	}
	p := &sinkSnapshot{id: str(), subtask: int(uv()), next: int(uv())}
	n := uv()
	if bad || n > uint64(len(b)) {
		return nil, errBadSinkSnapshot
	}
	for range n {
		pp := pendingPart{ckpt: int64(uv()), final: str()}
		if bad || pp.final == "" || strings.ContainsAny(pp.final, `/\`) {
			return nil, errBadSinkSnapshot
		}
		p.pending = append(p.pending, pp)
	}
	if bad || len(b) != 0 {
		return nil, errBadSinkSnapshot
	}
	return p, nil
}

// Snapshot implements exec.Snapshotter: the first phase of the commit (see
// the sink type). Every part written before the barrier is durable under
// its pending name when Snapshot returns.
func (s *sink) Snapshot(id int64) ([]byte, error) {
	if err := s.settle(); err != nil {
		return nil, err
	}
	p, err := s.closePart()
	if err != nil {
		return nil, err
	}
	if p != nil {
		s.rolled = append(s.rolled, p)
	}
	for _, p := range s.rolled {
		final := filepath.Base(p.final)
		if err := os.Rename(p.tmp, filepath.Join(s.dir, pendingName(final, id))); err != nil {
			return nil, fmt.Errorf("filesystem sink: checkpoint %d: %w", id, err)
		}
		s.pending = append(s.pending, pendingPart{ckpt: id, final: final})
	}
	if len(s.rolled) > 0 {
		s.rolled = s.rolled[:0]
		if err := syncDir(s.dir); err != nil {
			return nil, fmt.Errorf("filesystem sink '%s': checkpoint %d: %w", s.dir, id, err)
		}
	}
	snap := sinkSnapshot{id: s.id, subtask: s.subtask, next: s.next, pending: s.pending}
	return snap.encode(), nil
}

// NotifyCheckpointComplete implements exec.CheckpointListener: it commits
// the parts pending for checkpoints ≤ id.
func (s *sink) NotifyCheckpointComplete(id int64) error { return s.commitPending(id) }

// commitPending commits the pending parts of checkpoints ≤ upTo, then
// fsyncs the directory.
func (s *sink) commitPending(upTo int64) error {
	n := 0
	for n < len(s.pending) && s.pending[n].ckpt <= upTo {
		if err := s.commitPart(s.pending[n]); err != nil {
			return err
		}
		// Fault tests: a crash here leaves this commit half done (the
		// renames so far, no directory fsync).
		crash.Point("during-commit", upTo)
		n++
	}
	if n == 0 {
		return nil
	}
	s.pending = append(s.pending[:0], s.pending[n:]...)
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("filesystem sink '%s': commit checkpoint %d: %w", s.dir, upTo, err)
	}
	return nil
}

// commitPart renames a pending part to its final name. A pending file that
// is gone was committed before (a restore repeating a commit); if its
// final file is gone too, it was committed and then moved away by a
// consumer, which is not an error either.
func (s *sink) commitPart(p pendingPart) error {
	src := filepath.Join(s.dir, pendingName(p.final, p.ckpt))
	err := os.Rename(src, filepath.Join(s.dir, p.final))
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return fmt.Errorf("filesystem sink: commit checkpoint %d: %w", p.ckpt, err)
}

// Restore implements exec.Restorer: it commits the parts the snapshots
// list as pending (checkpoint id completed, so they are all due), then
// deletes the hidden leftovers of the subtasks it takes over. The part
// counter continues from this subtask's own snapshot.
func (s *sink) Restore(id int64, snaps [][]byte) error {
	owners := map[string]bool{}
	for _, b := range snaps {
		snap, err := decodeSinkSnapshot(b)
		if err != nil {
			return fmt.Errorf("filesystem sink of table %s: checkpoint %d: %w", s.cfg.table, id, err)
		}
		for _, p := range snap.pending {
			if p.ckpt > id {
				continue // not part of checkpoint id: cleaned up below
			}
			if err := s.commitPart(p); err != nil {
				return err
			}
		}
		owners[partPrefix(snap.id, snap.subtask)] = true
		if snap.id == s.id && snap.subtask == s.subtask {
			s.next = max(s.next, snap.next)
		}
	}
	if len(snaps) > 0 {
		if err := syncDir(s.dir); err != nil {
			return fmt.Errorf("filesystem sink '%s': restore checkpoint %d: %w", s.dir, id, err)
		}
	}
	s.pending = nil
	if err := s.cleanup(owners); err != nil {
		return err
	}
	s.ready = true
	return nil
}

// cleanup deletes the hidden in-progress and pending parts of this job's
// subtasks j with j mod parallelism = subtask, and those of the part
// prefixes in owners ("part-<id>-<subtask>-", from the snapshots of another
// job id), then fsyncs the directory.
func (s *sink) cleanup(owners map[string]bool) error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("filesystem sink '%s': clean up: %w", s.dir, err)
	}
	removed := false
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !s.leftover(name, owners) {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("filesystem sink: clean up: %w", err)
		}
		removed = true
	}
	if removed {
		if err := syncDir(s.dir); err != nil {
			return fmt.Errorf("filesystem sink '%s': clean up: %w", s.dir, err)
		}
	}
	return nil
}

// leftover reports whether name is a hidden part that cleanup deletes.
func (s *sink) leftover(name string, owners map[string]bool) bool {
	rest, ok := strings.CutPrefix(name, ".part-")
	if !ok {
		return false
	}
	for p := range owners {
		if r, ok := strings.CutPrefix(name, "."+p); ok && s.hiddenPartRest(r) {
			return true
		}
	}
	// This job's subtask j: "<id>-<j>-<n>.<ext><state suffix>".
	r, ok := strings.CutPrefix(rest, s.id+"-")
	if !ok {
		return false
	}
	i := strings.IndexByte(r, '-')
	if i <= 0 {
		return false
	}
	j, err := strconv.Atoi(r[:i])
	if err != nil || j < 0 || j%s.parallelism != s.subtask {
		return false
	}
	return s.hiddenPartRest(r[i+1:])
}

// hiddenPartRest reports whether r is "<n>.<ext>.inprogress" or
// "<n>.<ext>.ckpt-<c>.pending" with decimal n and c.
func (s *sink) hiddenPartRest(r string) bool {
	i := 0
	for i < len(r) && r[i] >= '0' && r[i] <= '9' {
		i++
	}
	if i == 0 {
		return false
	}
	r, ok := strings.CutPrefix(r[i:], "."+s.ext)
	if !ok {
		return false
	}
	if r == ".inprogress" {
		return true
	}
	c, ok := strings.CutPrefix(r, ".ckpt-")
	if !ok {
		return false
	}
	c, ok = strings.CutSuffix(c, ".pending")
	if !ok || c == "" {
		return false
	}
	for k := range len(c) {
		if c[k] < '0' || c[k] > '9' {
			return false
		}
	}
	return true
}
