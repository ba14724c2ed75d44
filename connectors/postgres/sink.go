package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// sink is the postgres sink operator of one subtask (see the package
// comment for the protocol).
//
// Contract: exec.Operator's. The runtime calls it from the subtask's
// goroutine; in at-least-once mode a timer goroutine also flushes, so the
// buffer and the connection are guarded by mu. It releases the batches it
// is given.
type sink struct {
	cfg   *config
	jobID string // from the SinkRequest; the task's when empty

	ctx     context.Context
	subtask int
	sinkID  string
	exactly bool // the effective mode: exactly-once and the job checkpoints

	mu       sync.Mutex
	w        *writer
	buf      *buffer
	pending  []*epoch // exactly-once: snapshotted epochs awaiting completion, by id
	floor    int64    // the checkpoint this run was restored from (0: fresh)
	claimed  bool     // the progress row was claimed for this run
	flushErr error    // a failed timer flush, returned by the next call
	last     time.Time

	stop chan struct{} // closed by Close to end the flusher
	done chan struct{} // closed when the flusher has ended
	once sync.Once
}

var (
	_ exec.Operator           = (*sink)(nil)
	_ exec.Opener             = (*sink)(nil)
	_ exec.Snapshotter        = (*sink)(nil)
	_ exec.Restorer           = (*sink)(nil)
	_ exec.CheckpointListener = (*sink)(nil)
	_ exec.Finisher           = (*sink)(nil)
	_ exec.Closer             = (*sink)(nil)
)

// SinkID returns the id under which the sink of table in job jobID,
// running as operator op of vertex, records its progress in
// sluice_sink_progress (one row per subtask).
func SinkID(jobID, table string, vertex, op int) string {
	return fmt.Sprintf("%s/%s/%d.%d", jobID, table, vertex, op)
}

// Open implements exec.Opener: it connects, checks (or creates) the target
// table and, in exactly-once mode, the progress table.
func (s *sink) Open(tc *exec.TaskContext) error {
	s.ctx = tc.Ctx
	if s.ctx == nil {
		s.ctx = context.Background()
	}
	s.subtask = tc.Subtask
	jobID := s.jobID
	if jobID == "" {
		jobID = tc.JobID
	}
	s.sinkID = SinkID(jobID, s.cfg.table, tc.VertexID, tc.OperatorIndex)
	// Exactly-once needs checkpoints to commit at and a durable job to
	// name the progress; without them the sink writes as at-least-once.
	s.exactly = s.cfg.exactlyOnce && tc.Checkpointing && jobID != ""
	s.buf = newBuffer(s.cfg.schema.Types(), s.cfg.primaryKey)
	s.w = newWriter(s.cfg, s.exactly)
	s.last = time.Now()
	if err := s.w.retry(s.ctx, "open", func(*pgx.Conn) error { return nil }); err != nil {
		return err
	}
	if !s.exactly && s.cfg.interval > 0 {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.flusher()
	}
	return nil
}

// flusher writes the buffer every cfg.interval in at-least-once mode.
func (s *sink) flusher() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			if s.flushErr == nil && s.buf.len() > 0 && time.Since(s.last) >= s.cfg.interval {
				s.flushErr = s.flushLocked()
			}
			s.mu.Unlock()
		}
	}
}

// Process implements exec.Operator: it folds b into the buffer; in
// at-least-once mode it writes the buffer once it holds max-rows rows.
func (s *sink) Process(b *types.Batch, _ exec.Collector) error {
	defer b.Release()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flushErr != nil {
		return s.flushErr
	}
	if err := s.buf.add(b); err != nil {
		return &Error{Table: s.cfg.table, Op: "write", Err: err}
	}
	if !s.exactly && s.cfg.maxRows > 0 && s.buf.len() >= s.cfg.maxRows {
		return s.flushLocked()
	}
	return nil
}

// flushLocked writes the buffer in one transaction (at-least-once).
func (s *sink) flushLocked() error {
	s.last = time.Now()
	if s.buf.len() == 0 {
		return nil
	}
	ep := &epoch{rows: s.buf.take()}
	_, err := s.w.apply(s.ctx, "flush", ep, false)
	return err
}

// Snapshot implements exec.Snapshotter. Exactly-once: the buffered rows
// become the pending epoch of checkpoint id, and the snapshot holds every
// pending epoch (those of earlier checkpoints not yet known complete
// included). At-least-once: the buffer is written, the snapshot is empty.
func (s *sink) Snapshot(id int64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flushErr != nil {
		return nil, s.flushErr
	}
	if !s.exactly {
		return nil, s.flushLocked()
	}
	if s.buf.len() > 0 {
		s.pending = append(s.pending, &epoch{id: id, sinkID: s.sinkID, subtask: s.subtask, rows: s.buf.take()})
	}
	return encodeSnapshot(s.pending, s.buf.cols), nil
}

// NotifyCheckpointComplete implements exec.CheckpointListener: every
// pending epoch up to id is applied, each in its own transaction with its
// progress row, in checkpoint order.
func (s *sink) NotifyCheckpointComplete(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.exactly || len(s.pending) == 0 || s.pending[0].id > id {
		return nil
	}
	if !s.claimed {
		if err := s.w.claim(s.ctx, s.sinkID, s.subtask, s.floor); err != nil {
			return err
		}
		s.claimed = true
	}
	for len(s.pending) > 0 && s.pending[0].id <= id {
		ep := s.pending[0]
		if _, err := s.w.apply(s.ctx, fmt.Sprintf("commit checkpoint %d", ep.id), ep, true); err != nil {
			return err
		}
		s.pending[0] = nil
		s.pending = s.pending[1:]
	}
	return nil
}

// Restore implements exec.Restorer: the epochs the snapshots of completed
// checkpoint id list are applied unless their progress row shows them
// applied already (each in checkpoint order, in its own transaction);
// nothing newer than id can be in them.
func (s *sink) Restore(id int64, snaps [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var eps []*epoch
	for _, data := range snaps {
		e, err := decodeSnapshot(data, s.buf.cols)
		if err != nil {
			return &Error{Table: s.cfg.table, Op: fmt.Sprintf("restore from checkpoint %d", id), Err: err}
		}
		eps = append(eps, e...)
	}
	slices.SortStableFunc(eps, func(a, b *epoch) int {
		if a.id != b.id {
			return cmpInt(a.id, b.id)
		}
		return cmpInt(int64(a.subtask), int64(b.subtask))
	})
	for _, ep := range eps {
		if ep.id > id {
			continue // not covered by the completed checkpoint: replayed
		}
		if _, err := s.w.apply(s.ctx, fmt.Sprintf("restore checkpoint %d", ep.id), ep, true); err != nil {
			return err
		}
	}
	s.floor = id
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Finish implements exec.Finisher. Without checkpoints (or in
// at-least-once mode) the rest of the buffer is written; with exactly-once
// checkpoints the final checkpoint commits it.
func (s *sink) Finish(exec.Collector) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flushErr != nil {
		return s.flushErr
	}
	if s.exactly {
		return nil
	}
	return s.flushLocked()
}

// Close implements exec.Closer: it stops the flusher and closes the
// connection. Unapplied epochs are dropped: the checkpoints hold them. It
// is idempotent and safe before Open.
func (s *sink) Close() error {
	s.once.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
		s.mu.Lock()
		if s.w != nil {
			s.w.close()
		}
		s.mu.Unlock()
	})
	return nil
}
