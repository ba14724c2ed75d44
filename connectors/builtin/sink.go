package builtin

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// sink is the operator of one sink subtask of a built-in table.
//
// Direct mode (the table has a primary key, or the job takes no
// checkpoints): Process applies each batch with Apply. With a primary key
// this is also correct under checkpoints: a job recovered from checkpoint
// n replays the rows after n, and upserts and deletes by key are
// idempotent, so the table converges to the result of a failure-free run
// (readers may briefly see a key's older value while the replay catches
// up). Without checkpoints a rerun after a failure appends its rows again.
//
// Staged mode (no primary key and the job takes checkpoints), a two-phase
// commit through the table's staging area in Badger (see staging.go):
//
//   - Process appends the rows (op and encoded row) to an in-memory chunk;
//     a full chunk (about half a Badger transaction once applied) is
//     written to Badger as staged under (job, subtask, base, seq), where
//     base is the last checkpoint this subtask snapshotted: the rows
//     belong to the next one. Memory is thus bounded by one chunk.
//   - Snapshot(c) writes the last partial chunk and syncs Badger: the rows
//     of checkpoint c are durable, not visible.
//   - NotifyCheckpointComplete(c) applies, in order, every chunk staged
//     before the barrier of c (base < c), each in one Badger transaction
//     that also deletes the chunk: a chunk exists exactly until its rows
//     are applied, so its deletion is the progress record and a crash in
//     the middle leaves no row applied twice. The applied rows are
//     published to continuous readers like any Apply's.
//   - Restore(c, snaps) applies what is left of the chunks before c of the
//     subtasks whose snapshots it gets (a lost notification) and deletes
//     their chunks from c on (rows after the checkpoint, to be replayed),
//     and deletes the chunks of this job's other subtasks mapped to it
//     (j mod parallelism = subtask) that had no snapshot. A fresh start
//     deletes this job's chunks mapped to the subtask before it stages.
//   - Finish stages nothing more: the job's final checkpoint commits the
//     rest. Close drops what is not staged.
//
// Contract: exec.Operator's; all methods run on the subtask's goroutine.
type sink struct {
	s       *Store
	id      uint64
	name    string
	types   []types.Type
	pk      []int
	jobID   string
	subtask int

	staged      bool // staged mode, set by Open
	parallelism int
	ready       bool  // leftovers settled (Restore or first use)
	base        int64 // last checkpoint snapshotted or restored
	seq         uint64
	chunk       []byte // rows not yet staged
	rows        int64
	cost        int64 // estimated transaction size of applying chunk
	maxCost     int64
	maxRows     int64
}

var (
	_ exec.Opener             = (*sink)(nil)
	_ exec.Finisher           = (*sink)(nil)
	_ exec.Closer             = (*sink)(nil)
	_ exec.Snapshotter        = (*sink)(nil)
	_ exec.Restorer           = (*sink)(nil)
	_ exec.CheckpointListener = (*sink)(nil)
)

// Open chooses the mode (see the type's comment).
func (k *sink) Open(tc *exec.TaskContext) error {
	k.subtask = tc.Subtask
	k.parallelism = max(tc.Parallelism, 1)
	k.staged = tc.Checkpointing && len(k.pk) == 0
	if !k.staged {
		return nil
	}
	if k.jobID == "" {
		k.jobID = tc.JobID
	}
	if k.jobID == "" {
		var r [8]byte
		if _, err := rand.Read(r[:]); err != nil {
			return fmt.Errorf("built-in table '%s': %w", k.name, err)
		}
		k.jobID = "adhoc-" + hex.EncodeToString(r[:])
	}
	// Half a transaction: applying a chunk also deletes it and writes the
	// counters, and the estimate below is only close.
	k.maxCost = k.s.db.MaxBatchSize() / 2
	k.maxRows = k.s.db.MaxBatchCount() / 2
	return nil
}

// Process applies b (direct mode) or stages it, and releases it.
func (k *sink) Process(b *types.Batch, _ exec.Collector) error {
	defer b.Release()
	if !k.staged {
		return k.s.Apply(k.id, k.types, k.pk, b)
	}
	if len(b.Cols) != len(k.types) {
		return fmt.Errorf("built-in table '%s': batch has %d columns, table %d", k.name, len(b.Cols), len(k.types))
	}
	if err := k.settle(); err != nil {
		return err
	}
	keyLen := len(rowPrefix(k.id)) + 16
	threshold := k.s.db.Opts().ValueThreshold
	for i := range b.Len() {
		start := len(k.chunk)
		k.chunk = append(k.chunk, byte(b.Ops[i]), 0, 0, 0, 0)
		k.chunk = state.EncodeBatchRow(k.chunk, b, i)
		n := len(k.chunk) - start - 5
		binary.BigEndian.PutUint32(k.chunk[start+1:], uint32(n))
		// An added row writes its key and value; a removed one deletes a
		// key; the counters and the chunk's deletion are in the margin.
		c := int64(keyLen) + 12
		if b.Ops[i].IsAdd() {
			if int64(n) < threshold {
				c += int64(n)
			} else {
				c += 12
			}
		}
		k.rows++
		k.cost += c
		if k.cost >= k.maxCost || k.rows >= k.maxRows {
			if err := k.stageChunk(); err != nil {
				return err
			}
		}
	}
	return nil
}

// settle deletes the staged chunks of earlier attempts before a fresh
// start (no Restore) stages anything.
func (k *sink) settle() error {
	if k.ready {
		return nil
	}
	if err := k.s.dropStaged(k.id, k.jobID, k.parallelism, k.subtask, nil); err != nil {
		return fmt.Errorf("built-in table '%s': clean up staged rows: %w", k.name, err)
	}
	k.ready = true
	return nil
}

// stageChunk writes the buffered rows as the next staged chunk.
func (k *sink) stageChunk() error {
	if k.rows == 0 {
		return nil
	}
	key := stageKey(k.id, k.jobID, k.subtask, k.base, k.seq)
	if err := k.s.stage(key, k.chunk); err != nil {
		return fmt.Errorf("built-in table '%s': stage rows: %w", k.name, err)
	}
	k.seq++
	k.chunk, k.rows, k.cost = k.chunk[:0], 0, 0
	return nil
}

// Snapshot stages the rows before the barrier of checkpoint id and makes
// them durable (staged mode); it records the job and subtask they are
// staged under.
func (k *sink) Snapshot(id int64) ([]byte, error) {
	if !k.staged {
		return nil, nil
	}
	if err := k.settle(); err != nil {
		return nil, err
	}
	if err := k.stageChunk(); err != nil {
		return nil, err
	}
	if err := k.s.db.Sync(); err != nil {
		return nil, fmt.Errorf("built-in table '%s': sync staged rows of checkpoint %d: %w", k.name, id, err)
	}
	k.base, k.seq = id, 0
	return encodeStageSnapshot(k.jobID, k.subtask), nil
}

// NotifyCheckpointComplete applies the rows staged for checkpoints ≤ id.
func (k *sink) NotifyCheckpointComplete(id int64) error {
	if !k.staged {
		return nil
	}
	if err := k.s.applyStaged(k.id, k.jobID, k.subtask, id); err != nil {
		return fmt.Errorf("built-in table '%s': commit checkpoint %d: %w", k.name, id, err)
	}
	return nil
}

// Restore settles the staging area of the subtasks in snaps and of this
// job's subtasks mapped to this one (see the type's comment).
func (k *sink) Restore(id int64, snaps [][]byte) error {
	if !k.staged {
		return nil
	}
	owners := map[stageOwner]bool{}
	for _, b := range snaps {
		o, err := decodeStageSnapshot(b)
		if err != nil {
			return fmt.Errorf("built-in table '%s': checkpoint %d: %w", k.name, id, err)
		}
		if err := k.s.applyStaged(k.id, o.job, o.subtask, id); err != nil {
			return fmt.Errorf("built-in table '%s': commit checkpoint %d on restore: %w", k.name, id, err)
		}
		if err := k.s.dropStagedFrom(k.id, o.job, o.subtask, id); err != nil {
			return fmt.Errorf("built-in table '%s': restore checkpoint %d: %w", k.name, id, err)
		}
		owners[o] = true
	}
	if err := k.s.dropStaged(k.id, k.jobID, k.parallelism, k.subtask, owners); err != nil {
		return fmt.Errorf("built-in table '%s': restore checkpoint %d: %w", k.name, id, err)
	}
	k.base, k.seq, k.ready = id, 0, true
	return nil
}

// Finish has nothing to do: in direct mode every batch is applied by
// Process, in staged mode the final checkpoint commits the rest.
func (k *sink) Finish(exec.Collector) error { return nil }

// Close drops the rows not staged (idempotent).
func (k *sink) Close() error {
	k.chunk, k.rows, k.cost = nil, 0, 0
	return nil
}

// stageSnapshotVersion is the first byte of a sink snapshot:
// version(1) uvarint(len) job uvarint(subtask).
const stageSnapshotVersion = 1

var errBadStageSnapshot = errors.New("corrupt built-in table sink snapshot")

// stageOwner is a sink subtask that stages rows.
type stageOwner struct {
	job     string
	subtask int
}

func encodeStageSnapshot(job string, subtask int) []byte {
	b := []byte{stageSnapshotVersion}
	b = binary.AppendUvarint(b, uint64(len(job)))
	b = append(b, job...)
	return binary.AppendUvarint(b, uint64(subtask))
}

func decodeStageSnapshot(b []byte) (stageOwner, error) {
	if len(b) == 0 || b[0] != stageSnapshotVersion {
		return stageOwner{}, errBadStageSnapshot
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n == 0 || n > uint64(len(b)-k) || n > 0xffff {
		return stageOwner{}, errBadStageSnapshot
	}
	job := string(b[k : k+int(n)])
	b = b[k+int(n):]
	sub, k := binary.Uvarint(b)
	if k <= 0 || k != len(b) || sub > 1<<31 {
		return stageOwner{}, errBadStageSnapshot
	}
	return stageOwner{job: job, subtask: int(sub)}, nil
}
