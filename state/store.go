package state

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// LayoutVersion is the version of the key layout described in doc.go. It is
// written under NSMeta on first open; a store written with another version is
// refused rather than misread.
//
// Version 2 moved operator state (NSOperator) out of the main database into
// the versioned state database (<dir>/badger-state); a version-1 store kept
// it in the main database, where this build would not find it.
const LayoutVersion = 2

// Options configures Open.
type Options struct {
	// InMemory keeps everything in memory (tests only): nothing is written to
	// dir, and nothing survives Close.
	InMemory bool
	// SyncWrites fsyncs every commit. Off by default: a killed process
	// (kill -9) loses nothing either way because committed writes are in the
	// OS page cache; only a machine crash can lose the last commits.
	// Exactly-once sinks that need durability against power loss set it.
	// It applies to the main database only: the state database is made
	// durable at checkpoints by SyncState.
	SyncWrites bool
	// Logger receives Badger's messages. Nil means: errors go to the
	// standard logger, everything else is discarded; setting the environment
	// variable SLUICE_BADGER_DEBUG=1 logs everything down to debug level.
	Logger badger.Logger
}

// The Badger settings below trade peak write throughput for a small, bounded
// memory footprint. With Badger's defaults a store holding one million small
// rows sits around 600 MB RSS (five 64 MB memtables, 256 MB block cache);
// with these it stays near 150 MB (see TestFootprint).
const (
	// memTableSize is the size of one memtable. Each memtable is a Go heap
	// arena of about memTableSize plus its WAL file, which is mmapped, so a
	// memtable costs up to twice this in RSS. It also bounds the largest
	// transaction: Badger refuses a transaction above 15% of it
	// (ErrTxnTooBig), i.e. ~2.4 MB of keys and inline values.
	memTableSize = 16 << 20
	// numMemtables is the number of memtables kept in memory: the one being
	// written and up to two being flushed to L0. Two would halve the
	// worst case but stalls writes whenever a flush is slower than filling
	// one memtable; three smooths that out.
	numMemtables = 3
	// blockCacheSize caches decompressed SSTable blocks (needed because
	// blocks are Snappy-compressed). 32 MB holds the hot part of tables
	// well beyond memory size; reads beyond it cost a decompression.
	blockCacheSize = 32 << 20
	// indexCacheSize bounds the memory for SSTable indexes and bloom
	// filters. With 0 (Badger's default) every table's index stays in
	// memory, which grows with the data; a bounded cache keeps the
	// footprint flat at the cost of re-reading evicted indexes.
	indexCacheSize = 16 << 20
	// numCompactors: two is Badger's minimum (compactor 0 prioritises L0);
	// more only helps write-heavy loads on many cores.
	numCompactors = 2
	// valueThreshold: values of this size or more go to the value log,
	// smaller ones stay inline in the LSM tree. Rows are usually far
	// smaller, so they are read with the key and compaction alone reclaims
	// their space; only large rows need value-log GC (run in background).
	// It also keeps large rows from eating the 2.4 MB transaction budget:
	// a value-log entry counts only its 12-byte pointer.
	valueThreshold = 1 << 10
	// valueLogFileSize: the value log only holds values >= valueThreshold,
	// so small files are enough and let GC reclaim space in small steps
	// (Badger's default is 1 GB per file).
	valueLogFileSize = 64 << 20
	// gcInterval is how often the background goroutine runs value-log GC.
	// Operator state puts values from 256 bytes on in the value log
	// (stateValueThreshold), so every write-back of a join head or Top-N
	// partition leaves its old value there as garbage: GC runs every
	// minute and, each time, until nothing is worth rewriting (at most
	// gcMaxRewrites files per database), so reclaiming keeps up with a
	// steady write rate instead of 16 files (1 GB) per five minutes.
	gcInterval = time.Minute
	// gcMaxRewrites bounds the value-log files one GC round rewrites per
	// database (64 MB each).
	gcMaxRewrites = 64
	// gcDiscardRatio: rewrite a value-log file when at least half of it is
	// garbage.
	gcDiscardRatio = 0.5
)

// Store is Sluice's state store: a main Badger database holding the
// catalog and the rows of built-in tables, and a managed-mode Badger
// database holding versioned operator state, each key namespace in one of
// them (see doc.go).
//
// A Store is safe for concurrent use. Close it exactly once when the engine
// stops; further calls to Close return the first result.
type Store struct {
	db  *badger.DB // main database, normal mode
	sdb *badger.DB // state database, managed mode (NSOperator, state meta)
	dir string

	// clock is the last timestamp NextTs handed out; every version in sdb
	// is at or below it.
	clock atomic.Uint64

	leaseMu  sync.Mutex
	leaseEnd atomic.Uint64 // the clock may run up to here (see tick)
	leaseErr error         // a failed lease extension, returned by SyncState

	pinMu sync.Mutex
	pins  map[string]uint64 // owner → pinned ts (persisted in sdb, see Pin)

	stopGC   chan struct{}
	gcDone   chan struct{}
	trimDone chan struct{} // closed when trimLoop (filepages.go) returned

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the store: the main database in
// <dir>/badger and the state database in <dir>/badger-state. With
// opts.InMemory, dir is unused and may be empty and both live in memory.
func Open(dir string, opts Options) (*Store, error) {
	bdir, sdir := "", ""
	if !opts.InMemory {
		bdir = filepath.Join(dir, "badger")
		sdir = filepath.Join(dir, "badger-state")
		for _, d := range []string{bdir, sdir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, fmt.Errorf("state: create %s: %w", d, err)
			}
		}
	}
	db, err := badger.Open(badgerOptions(bdir, opts))
	if err != nil {
		return nil, fmt.Errorf("state: open badger in %s: %w", bdir, err)
	}
	s := &Store{db: db, dir: dir, stopGC: make(chan struct{}), gcDone: make(chan struct{})}
	if err := s.checkLayout(); err != nil {
		_ = db.Close()
		return nil, err
	}
	sdb, err := badger.OpenManaged(stateBadgerOptions(sdir, opts))
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("state: open state badger in %s: %w", sdir, err)
	}
	s.sdb = sdb
	err = s.initClock()
	if err == nil {
		err = s.loadPins()
	}
	if err != nil {
		_ = sdb.Close()
		_ = db.Close()
		return nil, err
	}
	s.trimDone = make(chan struct{})
	if opts.InMemory {
		close(s.gcDone)
		close(s.trimDone)
	} else {
		go s.gcLoop()
		go trimLoop(mappedDirs(bdir, sdir), s.stopGC, s.trimDone)
	}
	return s, nil
}

// valueThresholdFor returns the value threshold vt for a database opened
// with opts: in memory there is no value log, and Badger refuses values at
// or above the threshold, so it is raised to Badger's maximum (1 MB).
func valueThresholdFor(opts Options, vt int64) int64 {
	if opts.InMemory {
		return 1 << 20
	}
	return vt
}

func badgerOptions(dir string, opts Options) badger.Options {
	bo := badger.DefaultOptions(dir).
		WithInMemory(opts.InMemory).
		WithSyncWrites(opts.SyncWrites).
		WithMemTableSize(memTableSize).
		WithNumMemtables(numMemtables).
		WithBlockCacheSize(blockCacheSize).
		WithIndexCacheSize(indexCacheSize).
		WithNumCompactors(numCompactors).
		WithValueThreshold(valueThresholdFor(opts, valueThreshold)).
		WithValueLogFileSize(valueLogFileSize).
		// Snappy is cheap and roughly halves the disk and cache footprint
		// of typical rows.
		WithCompression(options.Snappy).
		// Metrics publish expvars process-wide; Sluice has its own.
		WithMetricsEnabled(false).
		// One version per key: Sluice reads at the latest commit only.
		WithNumVersionsToKeep(1)
	return withLogger(bo, opts)
}

func withLogger(bo badger.Options, opts Options) badger.Options {
	switch {
	case opts.Logger != nil:
		return bo.WithLogger(opts.Logger)
	case os.Getenv("SLUICE_BADGER_DEBUG") != "":
		return bo.WithLogger(stdLogger{debug: true})
	default:
		return bo.WithLogger(stdLogger{})
	}
}

// Settings of the state database (operator state) where they differ from
// the main database's. It holds the bulk of a running engine's writes
// (every write-back of keyed state) but is read mostly through the
// operators' own caches, so it gets smaller Badger caches; together with
// the main database the store stays within roughly twice the main
// database's footprint in the worst case (all memtables full).
const (
	// stateMemTableSize: 32 MB memtables (Go heap; the WAL is mmapped
	// too). Smaller ones made Badger's flushes and L0 compactions a third
	// to a half of the CPU of state-heavy jobs (Nexmark q18 at 3 M events:
	// 16–20 CPU s with 8 MB, 11 s with 32 MB, 9 s with 32 MB and
	// stateLevelZeroTables 10). A write-back batch larger than 15% of it is
	// split by badger.WriteBatch into several transactions at the same
	// commit ts, which is harmless for state (see writeBack).
	stateMemTableSize = 32 << 20
	// stateLevelZeroTables: L0 tables before compaction into L1 starts
	// (Badger's default 5); stalls start at three times as many. Fewer,
	// larger L0→L1 compactions rewrite L1 less often.
	stateLevelZeroTables = 10
	// stateNumMemtables: as numMemtables, so a flush to L0 slower than
	// filling a memtable does not stall write-backs at once.
	stateNumMemtables = 3
	// stateCompression: none. Snappy made every table read of a cache
	// miss a decompression into a fresh buffer (Go heap, so also GC work)
	// and every flush and compaction a compression, for a smaller disk
	// footprint that only the page cache cares about: with None, Nexmark q7
	// at 2 M events 17.5 -> 15.6 CPU s, q9 at 3 M 20.7 -> 19.7 (see
	// stateValueThreshold for the combined figures).
	stateCompression = options.None
	// stateBlockCacheSize: none. Badger needs a block cache only to keep
	// decompressed or decrypted blocks; an uncompressed block is a slice of
	// the mapped table file (table.block reads it in place), so a cache hit
	// saved little more than parsing the block's entry offsets, while every
	// read paid a ristretto lookup and every miss an insertion. Operators
	// cache decoded values themselves (KeyedState) anyway. Badger refuses
	// to open (panics) with compression on and no block cache, so the two
	// settings go together (TestStateOptions).
	stateBlockCacheSize = 0
	// stateIndexCacheSize: none. Badger's index cache holds only the
	// indexes of encrypted tables (table.fetchIndex); an unencrypted
	// table's index and bloom filter are read in place from its mapped
	// file whatever this is set to, so a bounded cache bought nothing
	// (q7 at 2 M events, q9 at 3 M with 64 MB: unchanged).
	stateIndexCacheSize = 0
	// stateValueThreshold: values of 64 bytes or more go to the value
	// log. (256 until join rows added blind, exec/ops/join_blind.go: one
	// record per row of ~130 bytes, which inline were rewritten by every
	// compaction. A/B at 10 M events, CPU s 256 -> 64: q7 107 -> 82, q18
	// 51 -> 34, q8 7.5 -> 6.9, q20 45 -> 45 (33 -> 28 s wall), q4, q5, q9,
	// q16, q19 unchanged within noise, q17 14.8 -> 16.9; peak RSS equal or
	// lower except q5 733 -> 776 MiB.) Why not Badger's 1 KiB: join
	// chunks (up to ~4 KB) and heads (up to ~1 KB) are most of the
	// state's bytes; inline in the LSM tree, each was written to the
	// memtable's WAL, again to an L0 table and again at every compaction
	// (an msync per new table), and Badger's table writes and compactions
	// were a quarter of q9's CPU. In the value log a value is written once
	// and compactions move only its 12-byte pointer: bytes written per run
	// roughly halve (q9 at 3 M events 1018 -> 531 MB, q7 at 2 M 658 -> 506
	// MB) and so do the flushes, at the cost of a second lookup (a mapped
	// read) when a value is read and of value-log garbage that only value-
	// log GC (gcLoop) reclaims. Before blind appends, 64 bytes measured as
	// 256 (q9 3 M 18.4 s, 541 MB written). Measured then (cpu_seconds,
	// peak RSS; 2 cores shared with other
	// benchmarks at load 5-10, so single figures are off by up to a fifth):
	//   Snappy, 16 MB block cache, 1 KiB  q9 3 M 20.9-24.6 s; q9 10 M 154 s,
	//                                     1043 MiB; q7 5 M 142 s, 1041 MiB
	//   None, no block cache, 1 KiB       q9 3 M 20.0-21.9 s; q7 5 M 103 s,
	//                                     1020 MiB
	//   Snappy, 256 B                     q9 3 M 16.4-16.5 s
	//   None, no block cache, 256 B       q9 10 M 63 s, 875 MiB (6.3 -> 1.8
	//                                     GB written); q7 5 M 91-114 s,
	//                                     674-753 MiB
	// and unchanged within noise: q4, q5, q16, q18, q19, q20 at 3 M.
	stateValueThreshold = 64
)

// stateBadgerOptions returns the options of the managed-mode state
// database. Left at Badger's defaults after measuring (q7 at 2 M events,
// q9 at 3 M; no gain beyond noise in CPU or in bytes written): base
// table size 8 MB, base level size 64 or 256 MB (also with a level
// multiplier of 5), three compactors, a bloom false-positive rate of 0.1%.
func stateBadgerOptions(dir string, opts Options) badger.Options {
	bo := badger.DefaultOptions(dir).
		WithInMemory(opts.InMemory).
		// Durability comes from SyncState at checkpoints; versions written
		// after the last synced checkpoint are discarded on recovery anyway.
		WithSyncWrites(false).
		WithMemTableSize(stateMemTableSize).
		WithNumMemtables(stateNumMemtables).
		WithNumLevelZeroTables(stateLevelZeroTables).
		WithNumLevelZeroTablesStall(3 * stateLevelZeroTables).
		WithBlockCacheSize(stateBlockCacheSize).
		WithIndexCacheSize(stateIndexCacheSize).
		WithNumCompactors(numCompactors).
		WithValueThreshold(valueThresholdFor(opts, stateValueThreshold)).
		WithValueLogFileSize(valueLogFileSize).
		WithCompression(stateCompression).
		WithMetricsEnabled(false).
		// Each key has one writer (the subtask owning its key group), so
		// there is nothing to detect; and in managed mode Badger keeps the
		// conflict keys of every commit above the discard ts, which a
		// pinned checkpoint would let grow without bound.
		WithDetectConflicts(false).
		// With the discard ts (Pin) compaction keeps every version above
		// it and the newest one at or below it: exactly what reads at the
		// pinned checkpoints need.
		WithNumVersionsToKeep(1)
	return withLogger(bo, opts)
}

// stdLogger logs Badger errors (and, when debugging, everything else) to the
// standard logger.
type stdLogger struct{ debug bool }

func (l stdLogger) Errorf(f string, a ...any) { log.Printf("badger ERROR: "+f, a...) }
func (l stdLogger) Warningf(f string, a ...any) {
	if l.debug {
		log.Printf("badger WARNING: "+f, a...)
	}
}
func (l stdLogger) Infof(f string, a ...any) {
	if l.debug {
		log.Printf("badger INFO: "+f, a...)
	}
}
func (l stdLogger) Debugf(f string, a ...any) {
	if l.debug {
		log.Printf("badger DEBUG: "+f, a...)
	}
}

var layoutKey = []byte{NSMeta, 'l', 'a', 'y', 'o', 'u', 't'}

// checkLayout records LayoutVersion in a new store and refuses a store
// written with another one.
func (s *Store) checkLayout() error {
	return s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(layoutKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set(layoutKey, []byte(strconv.Itoa(LayoutVersion)))
		}
		if err != nil {
			return fmt.Errorf("state: read layout version: %w", err)
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("state: read layout version: %w", err)
		}
		if string(v) != strconv.Itoa(LayoutVersion) {
			return fmt.Errorf("state: %s was written with state layout version %s; this build reads version %d",
				s.dir, v, LayoutVersion)
		}
		return nil
	})
}

func (s *Store) gcLoop() {
	defer close(s.gcDone)
	t := time.NewTicker(gcInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopGC:
			return
		case <-t.C:
			for _, db := range []*badger.DB{s.db, s.sdb} {
				if gcValueLog(db, s.stopGC) < 0 {
					return
				}
			}
		}
	}
}

// gcValueLog runs value-log GC on db until nothing is worth rewriting or
// gcMaxRewrites files were rewritten, and returns how many were; -1 when
// stop was closed meanwhile. RunValueLogGC rewrites at most one file per
// call and returns ErrNoRewrite when there is nothing worth rewriting; in
// the managed state database it keeps what the discard ts keeps.
func gcValueLog(db *badger.DB, stop <-chan struct{}) int {
	n := 0
	for n < gcMaxRewrites {
		if db.RunValueLogGC(gcDiscardRatio) != nil {
			break
		}
		n++
		select {
		case <-stop:
			return -1
		default:
		}
	}
	return n
}

// DB returns the main Badger database (normal mode: catalog, built-in
// tables). Callers must keep to their own key namespace (doc.go). Operator
// state (NSOperator) is not in it but in the state database (StateDB).
func (s *Store) DB() *badger.DB { return s.db }

// StateDB returns the managed-mode Badger database holding operator state
// (NSOperator). Every transaction on it needs an explicit timestamp
// (NewTransactionAt, NewWriteBatchAt); writers must take theirs from
// NextTs or an Epoch, and should prefer KeyedState and the Store's
// methods. It is exposed for tests and diagnostics.
func (s *Store) StateDB() *badger.DB { return s.sdb }

// Dir returns the directory the store was opened in ("" in memory).
func (s *Store) Dir() string { return s.dir }

// Close stops background work and closes both Badger databases. It is
// idempotent: later calls return the result of the first. Close flushes
// memtables to disk but does not fsync what SyncState has not.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stopGC)
		<-s.gcDone
		<-s.trimDone
		var errs []error
		if err := s.sdb.Close(); err != nil {
			errs = append(errs, fmt.Errorf("state: close state badger: %w", err))
		}
		if err := s.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("state: close badger: %w", err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// DeletePrefix deletes every key that starts with prefix, in batches of
// bounded size, and returns how many it deleted. The deletion is not atomic:
// callers that need all-or-nothing semantics first make the keys unreachable
// in one transaction (e.g. delete the catalog entry that names the prefix)
// and record the pending deletion so it can be resumed after a crash (see
// package catalog).
//
// Badger's own DB.DropPrefix is deliberately not used: it blocks all writes
// to the whole database while it runs, and concurrent commits then fail with
// ErrBlockedWrites instead of waiting.
//
// A prefix starting with NSOperator is deleted in the state database: every
// live key is deleted at one fresh timestamp D = NextTs(), so reads at D or
// later see none of them while reads at pinned older timestamps (and
// RestoreNamespace to them) still do. Any other prefix is deleted in the
// main database.
func (s *Store) DeletePrefix(prefix []byte) (int, error) {
	if isStatePrefix(prefix) {
		ts := s.NextTs()
		return s.deleteStatePrefix(prefix, ts, ts)
	}
	const chunk = 4096
	n := 0
	// Each round starts after the last key of the previous one: seeking
	// from the prefix again would step over every key deleted so far
	// (quadratic in the keys), as in deleteStatePrefix.
	from := prefix
	for {
		var keys [][]byte
		err := s.db.View(func(txn *badger.Txn) error {
			io := badger.DefaultIteratorOptions
			io.PrefetchValues = false
			io.Prefix = prefix
			it := txn.NewIterator(io)
			defer it.Close()
			for it.Seek(from); it.ValidForPrefix(prefix) && len(keys) < chunk; it.Next() {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("state: scan prefix %x: %w", prefix, err)
		}
		if len(keys) == 0 {
			return n, nil
		}
		wb := s.db.NewWriteBatch()
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
