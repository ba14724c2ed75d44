package builtin

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// idleWait is how long Next waits for changes before returning an empty
// batch (the Source contract asks for ~100 ms at most).
const idleWait = 50 * time.Millisecond

// subscriber is one continuous reader subtask's position in its table's
// change log.
type subscriber struct {
	// next is the next version to read (table.logMu).
	next                 uint64
	emitted              atomic.Uint64
	jobID                string
	subtask, par, maxPar int
}

// ReaderProgress describes one continuous reader subtask of a table.
type ReaderProgress struct {
	JobID       string
	Subtask     int
	Parallelism int
	// Emitted is the table version up to which this subtask has returned
	// every change it owns from Next (0 until its snapshot is emitted).
	Emitted uint64
}

// Readers returns the continuous readers currently subscribed to table id.
func (s *Store) Readers(id uint64) []ReaderProgress {
	s.mu.Lock()
	t := s.tables[id]
	s.mu.Unlock()
	if t == nil {
		return nil
	}
	t.logMu.Lock()
	defer t.logMu.Unlock()
	out := make([]ReaderProgress, 0, len(t.subs))
	for _, sub := range t.subs {
		out = append(out, ReaderProgress{JobID: sub.jobID, Subtask: sub.subtask, Parallelism: sub.par,
			Emitted: sub.emitted.Load()})
	}
	return out
}

// WaitEmitted blocks until every continuous reader subscribed to table id
// (now or while waiting) has emitted up to version (see Version), the
// context ends (its error is returned), or the table is dropped (nil).
func (s *Store) WaitEmitted(ctx context.Context, id uint64, version uint64) error {
	wait := 200 * time.Microsecond
	for {
		caught := true
		for _, r := range s.Readers(id) {
			if r.Emitted < version {
				caught = false
				break
			}
		}
		if caught {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		if wait < 5*time.Millisecond {
			wait *= 2
		}
	}
}

// source reads one subtask's share of a built-in table: the rows whose
// routing hash (primary key, or all columns without one) belongs to the
// subtask's key groups, as a snapshot and, if continuous, then the changes.
type source struct {
	s          *Store
	id         uint64
	name       string
	types      []types.Type
	pk         []int
	cols       []int
	need       []bool
	continuous bool

	t       *table
	ctx     context.Context
	subtask int
	par     int
	maxPar  int

	// Snapshot.
	txn      *badger.Txn
	it       *badger.Iterator
	prefix   []byte
	keyTypes []types.Type
	row      []types.Datum
	snapDone bool

	// Changes.
	snapVersion uint64
	sub         *subscriber
	cur         *change
	pos         int
	timer       *time.Timer
}

func (r *source) Open(tc *exec.TaskContext) error {
	r.ctx = context.Background()
	r.par, r.maxPar = 1, state.DefaultMaxParallelism
	jobID := ""
	if tc != nil {
		if tc.Ctx != nil {
			r.ctx = tc.Ctx
		}
		if tc.Parallelism > 0 {
			r.subtask = tc.Subtask
			r.par = tc.Parallelism
		}
		if tc.MaxParallelism > 0 {
			r.maxPar = tc.MaxParallelism
		}
		jobID = tc.JobID
	}
	t, err := r.s.table(r.id, r.name, r.types, r.pk)
	if err != nil {
		return err
	}
	r.t = t
	r.prefix = rowPrefix(r.id)
	r.keyTypes = keyTypes(t)
	r.need = make([]bool, len(r.types))
	for _, c := range r.cols {
		r.need[c] = true
	}

	// Snapshot and subscription are taken under the table lock, which
	// writers hold from commit to publish: the snapshot holds exactly the
	// versions before the first change the subscription reads. Writers
	// never wait for readers while holding it, so this waits at most for
	// one Apply.
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dropped {
		return fmt.Errorf("built-in table '%s' %w", r.name, ErrDropped)
	}
	r.txn = r.s.db.NewTransaction(false)
	r.snapVersion = t.version.Load()
	if r.continuous {
		r.sub = &subscriber{jobID: jobID, subtask: r.subtask, par: r.par, maxPar: r.maxPar,
			next: r.snapVersion + 1}
		t.logMu.Lock()
		t.subs = append(t.subs, r.sub)
		t.logMu.Unlock()
	}
	o := badger.DefaultIteratorOptions
	o.Prefix = r.prefix
	// With several subtasks and a primary key most rows belong to others:
	// fetch a value only for rows this subtask owns.
	o.PrefetchValues = r.par == 1 || len(r.pk) == 0
	r.it = r.txn.NewIterator(o)
	if len(r.pk) == 0 && r.par > 1 {
		// Rows are keyed by hash and key groups are contiguous hash
		// ranges: start at this subtask's first key group.
		first, last := state.KeyGroupRange(r.subtask, r.par, r.maxPar)
		if first > last {
			// No key groups (parallelism > max parallelism): seek past
			// the rows, leaving nothing to read.
			r.it.Seek(append(state.BuiltinTablePrefix(r.id), subRow+1))
		} else {
			r.it.Seek(state.AppendUint64(r.prefix[:len(r.prefix):len(r.prefix)], state.KeyGroupHashStart(first, r.maxPar)))
		}
	} else {
		r.it.Rewind()
	}
	return nil
}

func (r *source) Next(b *types.Batch) (bool, error) {
	if r.snapDone && !r.continuous {
		return true, nil
	}
	if !r.snapDone {
		full, err := r.nextSnapshot(b)
		if err != nil || full {
			return false, err
		}
		r.endSnapshot()
		if !r.continuous {
			return true, nil
		}
	}
	return false, r.nextChanges(b)
}

// nextSnapshot appends snapshot rows to b; full reports that b is full
// before the snapshot ended.
func (r *source) nextSnapshot(b *types.Batch) (full bool, err error) {
	for ; r.it.Valid(); r.it.Next() {
		if b.Len() >= types.DefaultBatchSize {
			return true, nil
		}
		item := r.it.Item()
		if r.par > 1 {
			rest := item.Key()[len(r.prefix):]
			var h uint64
			if len(r.pk) > 0 {
				if h, err = state.HashEncodedKey(rest, r.keyTypes); err != nil {
					return false, r.wrap(err)
				}
			} else {
				if len(rest) < 8 {
					return false, r.wrap(state.ErrCorrupt)
				}
				h = beUint64(rest)
			}
			owner := state.HashOwner(h, r.maxPar, r.par)
			if owner != r.subtask {
				if len(r.pk) == 0 && owner > r.subtask {
					return false, nil // past this subtask's hash range
				}
				continue
			}
		}
		err = item.Value(func(v []byte) error {
			var err error
			r.row, err = state.DecodeRowProjected(v, r.types, r.need, r.row)
			return err
		})
		if err != nil {
			return false, r.wrap(err)
		}
		b.Ops = append(b.Ops, types.Insert)
		for j, c := range r.cols {
			b.Cols[j].Append(r.row[c])
		}
	}
	return false, nil
}

func (r *source) wrap(err error) error {
	return fmt.Errorf("built-in table '%s': read snapshot: %w", r.name, err)
}

func (r *source) endSnapshot() {
	r.snapDone = true
	if r.it != nil {
		r.it.Close()
		r.it = nil
	}
	if r.txn != nil {
		r.txn.Discard()
		r.txn = nil
	}
	if r.sub != nil {
		r.sub.emitted.Store(r.snapVersion)
	}
}

// nextChanges appends this subtask's published changes to b, waiting up to
// idleWait for the first one when b is empty.
func (r *source) nextChanges(b *types.Batch) error {
	for b.Len() < types.DefaultBatchSize {
		if r.cur == nil {
			c, wait, err := r.fetch()
			if err != nil {
				return err
			}
			if c == nil {
				if b.Len() > 0 {
					return nil
				}
				if r.timer == nil {
					r.timer = time.NewTimer(idleWait)
				} else {
					r.timer.Reset(idleWait)
				}
				select {
				case <-wait:
					r.timer.Stop()
					continue
				case <-r.t.gone:
					r.timer.Stop()
					return fmt.Errorf("built-in table '%s' %w", r.name, ErrDropped)
				case <-r.timer.C:
					return nil
				case <-r.ctx.Done():
					r.timer.Stop()
					return nil
				}
			}
			r.cur, r.pos = c, 0
		}
		c := r.cur
		n := c.rows.Len()
		for ; r.pos < n && b.Len() < types.DefaultBatchSize; r.pos++ {
			if r.par > 1 && state.HashOwner(c.hashes[r.pos], r.maxPar, r.par) != r.subtask {
				continue
			}
			b.Ops = append(b.Ops, c.rows.Ops[r.pos])
			for j, col := range r.cols {
				b.Cols[j].AppendFrom(&c.rows.Cols[col], r.pos)
			}
		}
		if r.pos == n {
			r.consumed(c)
		}
	}
	return nil
}

// fetch returns the next unread change, or nil and a channel closed when
// one is published.
func (r *source) fetch() (*change, <-chan struct{}, error) {
	t := r.t
	t.logMu.Lock()
	defer t.logMu.Unlock()
	if t.dropped {
		return nil, nil, fmt.Errorf("built-in table '%s' %w", r.name, ErrDropped)
	}
	if len(t.log) > 0 && r.sub.next >= t.logBase {
		if i := r.sub.next - t.logBase; i < uint64(len(t.log)) {
			return t.log[i], nil, nil
		}
	}
	return nil, t.newData, nil
}

// consumed records that every row of c owned by this subtask was emitted.
func (r *source) consumed(c *change) {
	t := r.t
	t.logMu.Lock()
	r.sub.next = c.version + 1
	t.trim()
	t.logMu.Unlock()
	r.sub.emitted.Store(c.version)
	r.cur = nil
}

// Close releases the snapshot and unsubscribes. It is idempotent.
func (r *source) Close() error {
	if r.it != nil {
		r.it.Close()
		r.it = nil
	}
	if r.txn != nil {
		r.txn.Discard()
		r.txn = nil
	}
	if r.timer != nil {
		r.timer.Stop()
	}
	if r.sub != nil {
		sub := r.sub
		r.sub = nil
		t := r.t
		t.logMu.Lock()
		for i, x := range t.subs {
			if x == sub {
				t.subs = append(t.subs[:i], t.subs[i+1:]...)
				break
			}
		}
		t.trim() // may release writers waiting for this reader
		t.logMu.Unlock()
	}
	return nil
}
