package builtin

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// change is one committed version of a table: its effective changelog rows
// (all stored columns) and each row's routing hash. It is shared, read-only,
// by every subscriber.
type change struct {
	version uint64
	rows    *types.Batch
	hashes  []uint64
}

// Apply applies the changelog batch b (columns: the table's stored columns
// schema, primary key column indexes pk, empty for none) to table id, and
// publishes the effective change to continuous readers. It does not take
// ownership of b.
//
// With a primary key, +I and +U upsert by key and -U and -D delete by key.
// Without one, +I and +U append a row under a fresh row id and -U and -D
// delete one stored row with equal values (NULL equal to NULL), found
// through the row's hash in O(log n); an unmatched delete does nothing.
//
// Rows are applied in order in one Badger transaction, so b takes effect
// atomically: readers see all of it or none. A batch larger than a Badger
// transaction (~2.4 MB of keys and values) is split into consecutive atomic
// chunks, each with its own version; if a later chunk fails, earlier ones
// stay applied and the error is returned (the writing job then fails).
//
// The effective change is the table's own changelog: an insert of a new
// key is +I; overwriting a key emits -U old, +U new (nothing if the row is
// unchanged); a delete emits -D with the stored row, and nothing if there
// was none; an input -U immediately followed by +U becomes -U old, +U new.
// It is published after the commit, under the table's lock, to the log
// every continuous reader reads from. Back-pressure: before taking the lock,
// Apply waits while the slowest reader has QueueLen or more versions
// unread (it never waits while holding the lock, so opening readers and
// other tables are never blocked by a slow reader). With no reader
// subscribed, keyed writes skip reading the old rows: there is nobody to
// tell, and the stored result is the same.
func (s *Store) Apply(id uint64, schema []types.Type, pk []int, b *types.Batch) error {
	if len(b.Cols) != len(schema) {
		return fmt.Errorf("built-in table %d: batch has %d columns, table %d", id, len(b.Cols), len(schema))
	}
	t, err := s.table(id, "", schema, pk)
	if err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	t.waitRoom(s.queueLen())
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dropped {
		return fmt.Errorf("built-in table '%s' %w", t.display(), ErrDropped)
	}
	a := newApplier(s, t)
	defer a.discard()
	if err := a.apply(b); err != nil {
		return fmt.Errorf("built-in table '%s': %w", t.display(), err)
	}
	if err := a.commit(); err != nil {
		return fmt.Errorf("built-in table '%s': %w", t.display(), err)
	}
	return nil
}

// Truncate deletes every row of table id, publishing a -D per row, in
// chunks of one transaction each.
func (s *Store) Truncate(id uint64, schema []types.Type, pk []int) error {
	t, err := s.table(id, "", schema, pk)
	if err != nil {
		return err
	}
	t.waitRoom(s.queueLen())
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dropped {
		return fmt.Errorf("built-in table '%s' %w", t.display(), ErrDropped)
	}
	a := newApplier(s, t)
	defer a.discard()
	prefix := rowPrefix(id)
	err = s.db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = prefix
		it := txn.NewIterator(o)
		defer it.Close()
		var row []types.Datum
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			err := item.Value(func(v []byte) error {
				var err error
				row, err = state.DecodeRow(v, t.types, row)
				return err
			})
			if err != nil {
				return err
			}
			key := a.keep(item.Key())
			h, err := a.storedHash(key, row)
			if err != nil {
				return err
			}
			if err := a.delete(key); err != nil {
				return err
			}
			a.emitDatums(types.Delete, row, h)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("built-in table '%s': truncate: %w", t.display(), err)
	}
	if err := a.commit(); err != nil {
		return fmt.Errorf("built-in table '%s': truncate: %w", t.display(), err)
	}
	return nil
}

// errTooBig is returned by an atomic applier whose work does not fit in one
// Badger transaction.
var errTooBig = errors.New("changes do not fit in one transaction")

// pendingRow is a row written by the current Apply (no primary key).
type pendingRow struct{ key, val []byte }

// applier applies one batch under the table lock.
type applier struct {
	s      *Store
	t      *table
	prefix []byte

	// blind: no continuous reader is subscribed (stable while t.mu is
	// held), so no effective changelog is needed and keyed writes skip
	// reading the old row.
	blind bool

	txn *badger.Txn
	// atomic forbids splitting the work into several transactions:
	// what does not fit in one fails with errTooBig instead (staged
	// chunks, whose apply must commit with the removal of the chunk).
	atomic      bool
	size, count int64
	maxSize     int64
	maxCount    int64
	threshold   int64
	wrote       bool

	arena []byte // keys and values handed to Badger, valid until commit

	out     *types.Batch
	outHash []uint64
	// lastDel is the index in out of the -D emitted for an input -U by
	// the previous row (-1 if none), and lastDelVal its stored encoding.
	lastDel    int
	lastDelVal []byte

	oldVal []byte
	row    []types.Datum

	// Tables without a primary key.
	ro      *badger.Txn
	roIt    *badger.Iterator
	pending map[uint64][]pendingRow
	deleted map[string]bool
	cand    []types.Datum
	allCols []int
}

func newApplier(s *Store, t *table) *applier {
	a := &applier{
		s: s, t: t, prefix: rowPrefix(t.id),
		maxSize: s.db.MaxBatchSize(), maxCount: s.db.MaxBatchCount(),
		threshold: s.db.Opts().ValueThreshold,
		lastDel:   -1,
	}
	t.logMu.Lock()
	a.blind = len(t.subs) == 0
	t.logMu.Unlock()
	a.txn = s.db.NewTransaction(true)
	a.newOut()
	return a
}

func (a *applier) newOut() {
	a.out = &types.Batch{}
	a.out.Reset(a.t.types)
	a.outHash = nil
	a.lastDel = -1
}

func (a *applier) discard() {
	if a.roIt != nil {
		a.roIt.Close()
		a.roIt = nil
	}
	if a.ro != nil {
		a.ro.Discard()
		a.ro = nil
	}
	if a.txn != nil {
		a.txn.Discard()
		a.txn = nil
	}
}

// keep copies b into the arena and returns the copy.
func (a *applier) keep(b []byte) []byte {
	if cap(a.arena)-len(a.arena) < len(b) {
		n := 64 << 10
		if len(b) > n {
			n = len(b)
		}
		a.arena = make([]byte, 0, n)
	}
	start := len(a.arena)
	a.arena = append(a.arena, b...)
	return a.arena[start:len(a.arena):len(a.arena)]
}

// room commits the current chunk first if one more entry of this size
// (plus the counters entry written at commit) might not fit.
func (a *applier) room(k, v []byte) error {
	const metaReserve = 64
	if a.count == 0 {
		return nil
	}
	if a.count+2 >= a.maxCount || a.size+entrySize(k, v, a.threshold)+metaReserve >= a.maxSize {
		if a.atomic {
			return errTooBig
		}
		return a.commitChunk()
	}
	return nil
}

func (a *applier) set(k, v []byte) error {
	if err := a.room(k, v); err != nil {
		return err
	}
	err := a.txn.Set(k, v)
	if errors.Is(err, badger.ErrTxnTooBig) && a.count > 0 && !a.atomic {
		if err = a.commitChunk(); err == nil {
			err = a.txn.Set(k, v)
		}
	}
	if err != nil {
		return err
	}
	a.size += entrySize(k, v, a.threshold)
	a.count++
	a.wrote = true
	return nil
}

func (a *applier) delete(k []byte) error {
	if err := a.room(k, nil); err != nil {
		return err
	}
	err := a.txn.Delete(k)
	if errors.Is(err, badger.ErrTxnTooBig) && a.count > 0 && !a.atomic {
		if err = a.commitChunk(); err == nil {
			err = a.txn.Delete(k)
		}
	}
	if err != nil {
		return err
	}
	a.size += entrySize(k, nil, a.threshold)
	a.count++
	a.wrote = true
	return nil
}

// commitChunk commits the current transaction with the table's counters,
// publishes its changes as the next version, and starts a new transaction.
func (a *applier) commitChunk() error {
	t := a.t
	if !a.wrote {
		return nil
	}
	ver := t.version.Load() + 1
	meta := appendUvarint(make([]byte, 0, 20), ver)
	meta = appendUvarint(meta, t.nextRow)
	if err := a.txn.Set(metaKey(t.id), meta); err != nil {
		return err
	}
	if err := a.txn.Commit(); err != nil {
		return err
	}
	a.txn = a.s.db.NewTransaction(true)
	a.size, a.count, a.wrote = 0, 0, false
	a.arena = nil
	t.publish(&change{version: ver, rows: a.out, hashes: a.outHash})
	t.version.Store(ver)
	a.newOut()
	return nil
}

func (a *applier) commit() error { return a.commitChunk() }

func appendUvarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

func (s *Store) queueLen() int {
	if s.QueueLen > 0 {
		return s.QueueLen
	}
	return DefaultQueueLen
}

// waitRoom blocks while the change log holds max or more versions some
// subscriber has not read. The bound is soft: it is checked before the
// table lock is taken, so concurrent writers and chunked batches can
// overshoot it by a little.
func (t *table) waitRoom(max int) {
	for {
		t.logMu.Lock()
		if len(t.log) < max || len(t.subs) == 0 || t.dropped {
			t.logMu.Unlock()
			return
		}
		ch := t.space
		t.logMu.Unlock()
		<-ch
	}
}

// publish appends c to the change log (t.mu held, so the log is in
// commit order) and wakes waiting readers. Without subscribers nothing is
// kept.
func (t *table) publish(c *change) {
	t.logMu.Lock()
	defer t.logMu.Unlock()
	if len(t.subs) > 0 {
		if len(t.log) == 0 {
			t.logBase = c.version
		}
		t.log = append(t.log, c)
	}
	close(t.newData)
	t.newData = make(chan struct{})
}

// trim drops the log entries every subscriber has read (logMu held).
func (t *table) trim() {
	if len(t.subs) == 0 {
		if len(t.log) > 0 {
			t.log = nil
			close(t.space)
			t.space = make(chan struct{})
		}
		return
	}
	min := t.subs[0].next
	for _, sub := range t.subs[1:] {
		if sub.next < min {
			min = sub.next
		}
	}
	if min <= t.logBase || len(t.log) == 0 {
		return
	}
	k := int(min - t.logBase)
	if k > len(t.log) {
		k = len(t.log)
	}
	clear(t.log[:k])
	t.log = t.log[k:]
	t.logBase += uint64(k)
	close(t.space)
	t.space = make(chan struct{})
}

// emitFrom appends row i of b to the output with op.
func (a *applier) emitFrom(op types.Op, b *types.Batch, i int, h uint64) {
	a.out.AppendFrom(b, i)
	a.out.Ops[len(a.out.Ops)-1] = op
	a.outHash = append(a.outHash, h)
}

func (a *applier) emitDatums(op types.Op, row []types.Datum, h uint64) {
	a.out.AppendRow(op, row)
	a.outHash = append(a.outHash, h)
}

// dropLast removes the last output row.
func (a *applier) dropLast() {
	n := a.out.Len() - 1
	a.out.Ops = a.out.Ops[:n]
	for c := range a.out.Cols {
		v := &a.out.Cols[c]
		switch v.Type.Class() {
		case types.ClassF64:
			v.F64 = v.F64[:n]
		case types.ClassStr:
			v.Str[n] = ""
			v.Str = v.Str[:n]
		default:
			v.I64 = v.I64[:n]
		}
		if len(v.Nulls) > n {
			v.Nulls = v.Nulls[:n]
		}
	}
	a.outHash = a.outHash[:n]
}

// emitAdd emits the effective change of adding row i when no equal-key row
// existed: +I, or, if the input is -U then +U and the -U deleted a row, the
// pair -U old, +U new (or nothing when old and new are identical).
func (a *applier) emitAdd(b *types.Batch, i int, val []byte, h uint64) {
	// lastDel must be the row just emitted (a chunk commit in between
	// starts a new, empty output and breaks the pair).
	if b.Ops[i] == types.UpdateAfter && a.lastDel >= 0 && a.lastDel == a.out.Len()-1 &&
		a.out.Ops[a.lastDel] == types.Delete {
		if bytes.Equal(a.lastDelVal, val) {
			a.dropLast()
		} else {
			a.out.Ops[a.lastDel] = types.UpdateBefore
			a.emitFrom(types.UpdateAfter, b, i, h)
		}
		return
	}
	a.emitFrom(types.Insert, b, i, h)
}

func (a *applier) apply(b *types.Batch) error {
	n := b.Len()
	if cap(a.t.hashes) < n {
		a.t.hashes = make([]uint64, n)
	}
	hashes := a.t.hashes[:n]
	if len(a.t.pk) > 0 {
		state.HashColumns(b, a.t.pk, hashes)
		for i := 0; i < n; i++ {
			if err := a.applyKeyed(b, i, hashes[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if a.allCols == nil {
		a.allCols = make([]int, len(b.Cols))
		for i := range a.allCols {
			a.allCols[i] = i
		}
	}
	state.HashColumns(b, a.allCols, hashes)
	for i := 0; i < n; i++ {
		if err := a.applyUnkeyed(b, i, hashes[i]); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) applyKeyed(b *types.Batch, i int, h uint64) error {
	start := len(a.arena)
	kb := state.EncodeKeyColumns(append(a.arena, a.prefix...), b, a.t.pk, i)
	key := kb[start:len(kb):len(kb)]
	a.arena = kb
	if a.blind {
		// Same stored result as below, without reading the old row.
		if !b.Ops[i].IsAdd() {
			return a.delete(key)
		}
		start = len(a.arena)
		vb := state.EncodeBatchRow(a.arena, b, i)
		a.arena = vb
		return a.set(key, vb[start:len(vb):len(vb)])
	}
	exists := false
	item, err := a.txn.Get(key)
	switch {
	case err == nil:
		exists = true
		if a.oldVal, err = item.ValueCopy(a.oldVal[:0]); err != nil {
			return err
		}
	case !errors.Is(err, badger.ErrKeyNotFound):
		return err
	}
	op := b.Ops[i]
	lastDel := a.lastDel
	a.lastDel = -1
	if op.IsAdd() {
		start = len(a.arena)
		vb := state.EncodeBatchRow(a.arena, b, i)
		val := vb[start:len(vb):len(vb)]
		a.arena = vb
		if exists && bytes.Equal(a.oldVal, val) {
			return nil
		}
		if err := a.set(key, val); err != nil {
			return err
		}
		if exists {
			if a.row, err = state.DecodeRow(a.oldVal, a.t.types, a.row); err != nil {
				return err
			}
			a.emitDatums(types.UpdateBefore, a.row, h)
			a.emitFrom(types.UpdateAfter, b, i, h)
			return nil
		}
		a.lastDel = lastDel
		a.emitAdd(b, i, val, h)
		a.lastDel = -1
		return nil
	}
	if !exists {
		return nil
	}
	if err := a.delete(key); err != nil {
		return err
	}
	if a.row, err = state.DecodeRow(a.oldVal, a.t.types, a.row); err != nil {
		return err
	}
	a.emitDatums(types.Delete, a.row, h)
	if op == types.UpdateBefore {
		a.lastDel = a.out.Len() - 1
		a.lastDelVal = append(a.lastDelVal[:0], a.oldVal...)
	}
	return nil
}

func (a *applier) unkeyedKey(h, rowID uint64) []byte {
	start := len(a.arena)
	kb := append(a.arena, a.prefix...)
	kb = state.AppendUint64(kb, h)
	kb = state.AppendUint64(kb, rowID)
	a.arena = kb
	return kb[start:len(kb):len(kb)]
}

// storedHash returns the routing hash of a stored row with key key.
func (a *applier) storedHash(key []byte, row []types.Datum) (uint64, error) {
	rest := key[len(a.prefix):]
	if len(a.t.pk) > 0 {
		return state.HashEncodedKey(rest, keyTypes(a.t))
	}
	if len(rest) < 8 {
		return 0, state.ErrCorrupt
	}
	return beUint64(rest), nil
}

func (a *applier) applyUnkeyed(b *types.Batch, i int, h uint64) error {
	op := b.Ops[i]
	lastDel := a.lastDel
	a.lastDel = -1
	if op.IsAdd() {
		if a.pending == nil {
			a.pending = map[uint64][]pendingRow{}
		}
		id := a.t.nextRow
		a.t.nextRow++
		key := a.unkeyedKey(h, id)
		start := len(a.arena)
		vb := state.EncodeBatchRow(a.arena, b, i)
		val := vb[start:len(vb):len(vb)]
		a.arena = vb
		if err := a.set(key, val); err != nil {
			return err
		}
		a.pending[h] = append(a.pending[h], pendingRow{key: key, val: val})
		a.lastDel = lastDel
		a.emitAdd(b, i, val, h)
		a.lastDel = -1
		return nil
	}
	a.row = b.Row(i, a.row[:0])
	found, err := a.deletePending(h)
	if err != nil {
		return err
	}
	if !found {
		if found, err = a.deleteStored(h); err != nil {
			return err
		}
	}
	if found {
		a.emitDatums(types.Delete, a.cand, h)
		if op == types.UpdateBefore {
			a.lastDel = a.out.Len() - 1
			a.lastDelVal = state.EncodeRow(a.lastDelVal[:0], a.cand)
		}
	}
	return nil
}

// deletePending deletes a row equal to a.row among those this Apply wrote;
// the deleted row is left in a.cand.
func (a *applier) deletePending(h uint64) (bool, error) {
	rows := a.pending[h]
	for j, p := range rows {
		var err error
		if a.cand, err = state.DecodeRow(p.val, a.t.types, a.cand); err != nil {
			return false, err
		}
		if !state.DatumsEqual(a.cand, a.row) {
			continue
		}
		if err := a.delete(p.key); err != nil {
			return false, err
		}
		rows[j] = rows[len(rows)-1]
		a.pending[h] = rows[:len(rows)-1]
		return true, nil
	}
	return false, nil
}

// deleteStored deletes a row equal to a.row among those stored before this
// Apply (read from a snapshot taken at its start, skipping rows it already
// deleted); the deleted row is left in a.cand.
func (a *applier) deleteStored(h uint64) (bool, error) {
	if a.ro == nil {
		a.ro = a.s.db.NewTransaction(false)
		o := badger.DefaultIteratorOptions
		o.Prefix = a.prefix
		o.PrefetchValues = false
		a.roIt = a.ro.NewIterator(o)
		a.deleted = map[string]bool{}
	}
	hp := state.AppendUint64(append([]byte(nil), a.prefix...), h)
	for a.roIt.Seek(hp); a.roIt.ValidForPrefix(hp); a.roIt.Next() {
		item := a.roIt.Item()
		if a.deleted[string(item.Key())] {
			continue
		}
		err := item.Value(func(v []byte) error {
			var err error
			a.cand, err = state.DecodeRow(v, a.t.types, a.cand)
			return err
		})
		if err != nil {
			return false, err
		}
		if !state.DatumsEqual(a.cand, a.row) {
			continue
		}
		key := a.keep(item.Key())
		a.deleted[string(key)] = true
		if err := a.delete(key); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}

func keyTypes(t *table) []types.Type {
	ts := make([]types.Type, len(t.pk))
	for i, c := range t.pk {
		ts[i] = t.types[c]
	}
	return ts
}

func beUint64(b []byte) uint64 {
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}
