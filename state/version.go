package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Versioned operator state: the state database is a managed-mode Badger
// database whose versions are timestamps from one store-wide logical clock
// (NextTs). See doc.go, "Versions and checkpoints", for the protocol.

// LatestTs reads the newest version of every key: a read timestamp above
// every timestamp NextTs will ever hand out.
const LatestTs = math.MaxUint64

// isStatePrefix reports whether keys under prefix live in the state
// database.
func isStatePrefix(prefix []byte) bool { return len(prefix) > 0 && prefix[0] == NSOperator }

func checkStatePrefix(prefix []byte) error {
	if !isStatePrefix(prefix) {
		return fmt.Errorf("state: prefix %x is not operator state (must start with NSOperator)", prefix)
	}
	return nil
}

// NextTs returns a fresh timestamp of the state database, greater than
// every version ever written to it and every timestamp returned before
// (the clock starts at the database's largest version when it is opened).
// With no pins (Pin), it also moves the discard timestamp up to it.
//
// Timestamps are even: the clock advances by two, so no version is ever
// written at an odd timestamp. RestoreNamespace relies on it to let
// Badger skip the tables whose newest version is the checkpoint's own
// timestamp (see there). Writers using StateDB directly must keep to it.
func (s *Store) NextTs() uint64 {
	ts := s.tick()
	s.pinMu.Lock()
	if len(s.pins) == 0 {
		s.sdb.SetDiscardTs(ts)
	}
	s.pinMu.Unlock()
	return ts
}

// The clock must not go back across a restart even when the newest
// timestamps handed out were never written at (a checkpoint's WriteTs may
// be an epoch that changed nothing), or a restarted job could write below
// a checkpoint timestamp and have its writes counted in that checkpoint.
// So the clock is leased: NSMeta "clock" holds a timestamp above every one
// handed out; when the clock reaches it, tick writes a new one leaseSpan
// further before returning. Open starts the clock at the larger of the
// lease and the newest version.
const leaseSpan = 1 << 20

var clockKey = []byte{NSMeta, 'c', 'l', 'o', 'c', 'k'}

// tick advances the clock to the next even timestamp, extending the lease
// first when needed, and returns it. A failed lease write is kept in
// s.leaseErr and returned by the next SyncState, so no checkpoint
// completes on a timestamp a restart could hand out again.
func (s *Store) tick() uint64 {
	ts := s.clock.Add(2)
	if ts < s.leaseEnd.Load() {
		return ts
	}
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	if ts < s.leaseEnd.Load() {
		return ts
	}
	end := ts + leaseSpan
	wb := s.sdb.NewWriteBatchAt(ts)
	err := wb.Set(clockKey, binary.BigEndian.AppendUint64(nil, end))
	if err == nil {
		err = wb.Flush()
	} else {
		wb.Cancel()
	}
	if err != nil {
		s.leaseErr = fmt.Errorf("state: extend clock lease to %d: %w", end, err)
		return ts
	}
	s.leaseEnd.Store(end)
	s.leaseErr = nil // the new lease covers what the failed one did not
	return ts
}

// initClock starts the clock at the lease or the largest version in the
// state database, whichever is larger, rounded up to even.
func (s *Store) initClock() error {
	m := s.sdb.MaxVersion()
	txn := s.sdb.NewTransactionAt(LatestTs, false)
	defer txn.Discard()
	item, err := txn.Get(clockKey)
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
	case err != nil:
		return fmt.Errorf("state: read clock lease: %w", err)
	default:
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("state: read clock lease: %w", err)
		}
		if len(v) != 8 {
			return fmt.Errorf("%w: clock lease of %d bytes", ErrCorrupt, len(v))
		}
		m = max(m, binary.BigEndian.Uint64(v))
	}
	s.clock.Store(m + m&1)
	return nil
}

// Pins are persisted in the state database under NSMeta "pin" 0x00 owner
// → ts (8 bytes big-endian), so that they hold from the moment a restarted
// engine opens the store, before its jobs pin again.
var pinPrefix = []byte{NSMeta, 'p', 'i', 'n', 0}

func pinKey(owner string) []byte { return append(slices.Clip(pinPrefix), owner...) }

// Pin keeps every version needed to read the state database at timestamp
// ts (and at any later one) until Unpin(owner): Badger's discard timestamp
// is the smallest pinned ts (with no pins it follows NextTs). A job pins
// the write timestamp of its oldest retained checkpoint, and must pin its
// first epoch's timestamp before writing at any later one (otherwise the
// versions of a checkpoint that completes before the pin could already be
// compacted away). A pin only moves forward: a ts at or below the owner's
// current pin is ignored. The pin is written to the state database, so it
// survives a restart once SyncState (or Close) has made it durable.
func (s *Store) Pin(owner string, ts uint64) error {
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	if old, ok := s.pins[owner]; ok && ts <= old {
		return nil
	}
	wb := s.sdb.NewWriteBatchAt(s.tick())
	if err := wb.Set(pinKey(owner), binary.BigEndian.AppendUint64(nil, ts)); err != nil {
		wb.Cancel()
		return fmt.Errorf("state: pin %q at %d: %w", owner, ts, err)
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("state: pin %q at %d: %w", owner, ts, err)
	}
	s.pins[owner] = ts
	s.setDiscardLocked()
	return nil
}

// Unpin removes owner's pin (no-op without one); versions only it needed
// may then be dropped by compaction.
func (s *Store) Unpin(owner string) error {
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	if _, ok := s.pins[owner]; !ok {
		return nil
	}
	wb := s.sdb.NewWriteBatchAt(s.tick())
	if err := wb.Delete(pinKey(owner)); err != nil {
		wb.Cancel()
		return fmt.Errorf("state: unpin %q: %w", owner, err)
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("state: unpin %q: %w", owner, err)
	}
	delete(s.pins, owner)
	s.setDiscardLocked()
	return nil
}

// Pins returns a copy of the current pins by owner.
func (s *Store) Pins() map[string]uint64 {
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	m := make(map[string]uint64, len(s.pins))
	for k, v := range s.pins {
		m[k] = v
	}
	return m
}

// setDiscardLocked sets Badger's discard ts to the smallest pin, or to the
// clock without pins. s.pinMu must be held.
func (s *Store) setDiscardLocked() {
	d := s.clock.Load()
	for _, ts := range s.pins {
		d = min(d, ts)
	}
	s.sdb.SetDiscardTs(d)
}

// loadPins reads the persisted pins when the store is opened.
func (s *Store) loadPins() error {
	s.pins = map[string]uint64{}
	txn := s.sdb.NewTransactionAt(LatestTs, false)
	defer txn.Discard()
	o := badger.DefaultIteratorOptions
	o.Prefix = pinPrefix
	it := txn.NewIterator(o)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("state: read pin %x: %w", item.Key(), err)
		}
		if len(v) != 8 {
			return fmt.Errorf("%w: pin %x has a %d-byte value", ErrCorrupt, item.Key(), len(v))
		}
		s.pins[string(item.Key()[len(pinPrefix):])] = binary.BigEndian.Uint64(v)
	}
	s.pinMu.Lock()
	s.setDiscardLocked()
	s.pinMu.Unlock()
	return nil
}

// SyncState makes every write to the state database that completed before
// the call durable against a killed process and against power loss. The
// checkpoint coordinator calls it after every subtask flushed its epoch and
// before the checkpoint counts as complete. It is a no-op in memory.
//
// Badger's DB.Sync alone is not enough without SyncWrites: it syncs the
// active memtable's WAL and the newest value-log file only, while the WALs
// of full memtables waiting to be flushed to L0 and older value-log files
// were never fsynced (Badger syncs them only with SyncWrites). SSTables are
// msynced when written and the manifest on each change, but new files'
// directory entries are not. So SyncState calls DB.Sync, then fsyncs every
// WAL (.mem) and value-log (.vlog) file and the directory. Files that are
// already clean cost next to nothing; a WAL deleted meanwhile was flushed
// to an SSTable first.
//
// SyncState also fails while the clock's lease could not be extended (see
// tick): a checkpoint must not complete on a timestamp that a restart
// could hand out again.
func (s *Store) SyncState() error {
	s.leaseMu.Lock()
	err := s.leaseErr
	s.leaseMu.Unlock()
	if err != nil {
		return err
	}
	if s.sdb.Opts().InMemory {
		return nil
	}
	if err := s.sdb.Sync(); err != nil {
		return fmt.Errorf("state: sync state badger: %w", err)
	}
	dirs := []string{s.sdb.Opts().Dir}
	if vd := s.sdb.Opts().ValueDir; vd != dirs[0] {
		dirs = append(dirs, vd)
	}
	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("state: sync state badger: %w", err)
		}
		for _, e := range ents {
			if n := e.Name(); strings.HasSuffix(n, ".mem") || strings.HasSuffix(n, ".vlog") {
				if err := fsyncPath(filepath.Join(dir, n)); err != nil {
					return err
				}
			}
		}
		if err := fsyncPath(dir); err != nil {
			return err
		}
	}
	return nil
}

// fsyncPath fsyncs a file or directory; a file that no longer exists is
// skipped.
func fsyncPath(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state: sync %s: %w", path, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("state: sync %s: %w", path, err)
	}
	return nil
}

// RestoreNamespace rolls the state under prefix (an NSOperator prefix, e.g.
// JobNamespace) back to timestamp ts: afterwards, reads at every timestamp
// >= startTs see exactly what reads at ts saw (the versions <= ts). It
// finds every key under prefix with a version above ts and writes, at one
// fresh timestamp B, its value as of ts (or a delete when it had none);
// it returns startTs = NextTs() > B, for the restarted job's first epoch,
// and n, the number of keys rewritten. Versions needed to read at ts must
// not have been discarded (Pin). Nothing may write under prefix meanwhile.
// After an error, calling RestoreNamespace again with the same ts is safe.
//
// Cost: the scan uses IteratorOptions.SinceTs (ts+1, see NextTs), and
// Badger's iterator (IteratorOptions.pickTable / pickTables in
// iterator.go, used by levelHandler.appendIterators) does not open any
// SSTable whose largest version is below SinceTs, and skips every entry at
// or below it. So the
// scan reads the memtables (bounded: at most stateNumMemtables) and the
// tables holding versions above ts; right after a crash those are the
// recent L0 tables, not the bulk of the state. Once compaction has merged
// recent versions into older tables, these tables are read whole (their
// entries at or below ts are skipped, not decoded).
func (s *Store) RestoreNamespace(prefix []byte, ts uint64) (startTs uint64, n int, err error) {
	if err := checkStatePrefix(prefix); err != nil {
		return 0, 0, err
	}
	b := s.NextTs()
	// Every version under prefix is below b; reading at b-1 keeps the
	// rewrite's own commits out of the scan.
	scan := s.sdb.NewTransactionAt(b-1, false)
	defer scan.Discard()
	at := s.sdb.NewTransactionAt(ts, false)
	defer at.Discard()
	wb := s.sdb.NewWriteBatchAt(b)

	o := badger.DefaultIteratorOptions
	o.PrefetchValues = false
	o.Prefix = prefix
	// Versions above ts are wanted. Badger skips tables whose newest
	// version is below SinceTs and entries at or below it; with an even
	// ts (every timestamp NextTs hands out), ts+1 is never a version, so
	// SinceTs = ts+1 loses nothing and also skips the tables written at
	// ts itself, typically the checkpoint's own flush.
	o.SinceTs = ts
	if ts%2 == 0 && ts < LatestTs {
		o.SinceTs = ts + 1
	}
	o.AllVersions = true // to see deletes, which a latest-only scan skips
	it := scan.NewIterator(o)
	defer it.Close()
	var last []byte
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if last != nil && bytes.Equal(k, last) {
			continue // an older version of the same key
		}
		last = slices.Clone(k)
		if err := restoreKey(wb, at, last); err != nil {
			wb.Cancel()
			return 0, n, fmt.Errorf("state: restore %x to %d: %w", prefix, ts, err)
		}
		n++
	}
	if err := wb.Flush(); err != nil {
		return 0, n, fmt.Errorf("state: restore %x to %d: %w", prefix, ts, err)
	}
	return s.NextTs(), n, nil
}

// restoreKey writes to wb the value key had in at (or a delete).
func restoreKey(wb *badger.WriteBatch, at *badger.Txn, key []byte) error {
	item, err := at.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return wb.Delete(key)
	}
	if err != nil {
		return err
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return err
	}
	return wb.Set(key, v)
}

// NamespaceKeys counts the keys under prefix (an NSOperator prefix) that
// have a value at timestamp ts (LatestTs: the newest versions).
func (s *Store) NamespaceKeys(prefix []byte, ts uint64) (int64, error) {
	if err := checkStatePrefix(prefix); err != nil {
		return 0, err
	}
	txn := s.sdb.NewTransactionAt(ts, false)
	defer txn.Discard()
	o := badger.DefaultIteratorOptions
	o.PrefetchValues = false
	o.Prefix = prefix
	it := txn.NewIterator(o)
	defer it.Close()
	var n int64
	for it.Rewind(); it.Valid(); it.Next() {
		n++
	}
	return n, nil
}

// deleteStatePrefix deletes, at writeTs, every key under prefix that has a
// value at readTs, in batches of bounded size, and returns how many.
// readTs must be >= writeTs so that each round sees the previous rounds'
// deletes (a later write at the same ts wins). Each round starts after the
// last key of the previous one: seeking from the prefix again would make
// Badger step over every key deleted so far, quadratic in the keys.
func (s *Store) deleteStatePrefix(prefix []byte, readTs, writeTs uint64) (int, error) {
	const chunk = 4096
	n := 0
	from := prefix
	for {
		var keys [][]byte
		txn := s.sdb.NewTransactionAt(readTs, false)
		o := badger.DefaultIteratorOptions
		o.PrefetchValues = false
		o.Prefix = prefix
		it := txn.NewIterator(o)
		for it.Seek(from); it.Valid() && len(keys) < chunk; it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		it.Close()
		txn.Discard()
		if len(keys) == 0 {
			return n, nil
		}
		wb := s.sdb.NewWriteBatchAt(writeTs)
		for _, k := range keys {
			if err := wb.Delete(k); err != nil {
				wb.Cancel()
				return n, fmt.Errorf("state: delete prefix %x: %w", prefix, err)
			}
		}
		if err := wb.Flush(); err != nil {
			return n, fmt.Errorf("state: delete prefix %x: %w", prefix, err)
		}
		n += len(keys)
		if len(keys) < chunk {
			return n, nil
		}
		from = append(keys[len(keys)-1], 0) // the smallest key after the last one
	}
}

// viewState runs fn in a read-only transaction of the state database at
// readTs.
func (s *Store) viewState(readTs uint64, fn func(txn *badger.Txn) error) error {
	txn := s.sdb.NewTransactionAt(readTs, false)
	defer txn.Discard()
	return fn(txn)
}
