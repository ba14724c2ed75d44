package builtin

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/sluicesql/sluice/checkpoint/crash"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// The staging area of a table holds the rows that exactly-once sinks (see
// sink) have made durable for a checkpoint but not applied yet:
//
//	BuiltinTablePrefix(id) 0x02 len(2) job subtask(4) base(8) seq(8) → chunk
//
// base is the last checkpoint the subtask had snapshotted when it staged
// the chunk (its rows belong to the next checkpoint), seq orders the
// chunks of one base, so key order is write order. A chunk is a sequence
// of rows: op(1) len(4, big-endian) state.EncodeBatchRow. Staged rows are
// not rows of the table: readers and Truncate only see subRow, and a
// dropped table's staging area goes with its prefix.
const subStage = 0x02

// stageOwnerPrefix returns the prefix of the chunks of job's subtasks (all
// of them when subtask < 0).
func stageOwnerPrefix(id uint64, job string, subtask int) []byte {
	k := append(state.BuiltinTablePrefix(id), subStage)
	k = binary.BigEndian.AppendUint16(k, uint16(len(job)))
	k = append(k, job...)
	if subtask >= 0 {
		k = binary.BigEndian.AppendUint32(k, uint32(subtask))
	}
	return k
}

func stageKey(id uint64, job string, subtask int, base int64, seq uint64) []byte {
	k := stageOwnerPrefix(id, job, subtask)
	k = binary.BigEndian.AppendUint64(k, uint64(base))
	return binary.BigEndian.AppendUint64(k, seq)
}

// stage writes one chunk.
func (s *Store) stage(key, chunk []byte) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set(key, chunk) })
}

// stagedKeys returns the keys under prefix, in order, for which keep(key
// without prefix) is true.
func (s *Store) stagedKeys(prefix []byte, keep func(rest []byte) bool) ([][]byte, error) {
	var keys [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = prefix
		o.PrefetchValues = false
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if keep(k[len(prefix):]) {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
		}
		return nil
	})
	return keys, err
}

// baseOf returns the base of a chunk key's rest after its owner prefix.
func baseOf(rest []byte) (int64, bool) {
	if len(rest) != 16 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(rest)), true
}

// applyStaged applies, in order, the chunks of (job, subtask) staged before
// the barrier of checkpoint upTo (base < upTo).
func (s *Store) applyStaged(id uint64, job string, subtask int, upTo int64) error {
	keys, err := s.stagedKeys(stageOwnerPrefix(id, job, subtask), func(rest []byte) bool {
		b, ok := baseOf(rest)
		return ok && b < upTo
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.applyChunk(id, k); err != nil {
			return err
		}
		// Fault tests: a crash here leaves the chunks after k staged.
		crash.Point("during-commit", upTo)
	}
	return nil
}

// applyChunk applies the chunk under key, if it is still there, and
// deletes it in the same transaction, then publishes the change like Apply.
func (s *Store) applyChunk(id uint64, key []byte) error {
	t, err := s.table(id, "", nil, nil)
	if err != nil {
		return err
	}
	t.waitRoom(s.queueLen())
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dropped {
		return fmt.Errorf("built-in table '%s' %w", t.display(), ErrDropped)
	}
	if !t.bound {
		return fmt.Errorf("built-in table '%s': staged rows for a table whose schema is not bound", t.display())
	}
	a := newApplier(s, t)
	a.atomic = true
	defer a.discard()
	item, err := a.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil // applied already
	}
	if err != nil {
		return err
	}
	chunk, err := item.ValueCopy(nil)
	if err != nil {
		return err
	}
	b, err := decodeChunk(chunk, t.types)
	if err != nil {
		return err
	}
	if err := a.apply(b); err != nil {
		return err
	}
	if err := a.delete(key); err != nil {
		return err
	}
	return a.commit()
}

func decodeChunk(chunk []byte, ts []types.Type) (*types.Batch, error) {
	b := types.NewBatch(ts)
	var row []types.Datum
	for len(chunk) > 0 {
		if len(chunk) < 5 {
			return nil, fmt.Errorf("%w: staged chunk", state.ErrCorrupt)
		}
		op := types.Op(chunk[0])
		n := binary.BigEndian.Uint32(chunk[1:5])
		if uint64(n) > uint64(len(chunk)-5) {
			return nil, fmt.Errorf("%w: staged chunk", state.ErrCorrupt)
		}
		var err error
		if row, err = state.DecodeRow(chunk[5:5+n], ts, row); err != nil {
			return nil, err
		}
		b.AppendRow(op, row)
		chunk = chunk[5+n:]
	}
	return b, nil
}

// dropStagedFrom deletes the chunks of (job, subtask) staged after the
// barrier of checkpoint from (base >= from).
func (s *Store) dropStagedFrom(id uint64, job string, subtask int, from int64) error {
	keys, err := s.stagedKeys(stageOwnerPrefix(id, job, subtask), func(rest []byte) bool {
		b, ok := baseOf(rest)
		return ok && b >= from
	})
	if err != nil {
		return err
	}
	return s.deleteKeys(keys)
}

// dropStaged deletes every chunk of job's subtasks j with j mod
// parallelism = subtask, except those of the owners in keep.
func (s *Store) dropStaged(id uint64, job string, parallelism, subtask int, keep map[stageOwner]bool) error {
	keys, err := s.stagedKeys(stageOwnerPrefix(id, job, -1), func(rest []byte) bool {
		if len(rest) != 4+16 {
			return false
		}
		j := int(binary.BigEndian.Uint32(rest))
		return j%parallelism == subtask && !keep[stageOwner{job: job, subtask: j}]
	})
	if err != nil {
		return err
	}
	return s.deleteKeys(keys)
}

func (s *Store) deleteKeys(keys [][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			return err
		}
	}
	return wb.Flush()
}
