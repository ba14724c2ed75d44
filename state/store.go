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
	gcInterval = 5 * time.Minute
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

// valueThresholdFor returns the value threshold: in memory there is no
// value log, and Badger refuses values at or above the threshold, so it is
// raised to Badger's maximum (1 MB).
func valueThresholdFor(opts Options) int64 {
	if opts.InMemory {
		return 1 << 20
	}
	return valueThreshold
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
		WithValueThreshold(valueThresholdFor(opts)).
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
	// stateBlockCacheSize: operators cache decoded values themselves
	// (KeyedState), so Badger's block cache only serves cache misses.
	stateBlockCacheSize = 16 << 20
	// stateIndexCacheSize bounds table indexes and bloom filters, as
	// indexCacheSize.
	stateIndexCacheSize = 8 << 20
)

// stateBadgerOptions returns the options of the managed-mode state
// database.
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
		WithValueThreshold(valueThresholdFor(opts)).
		WithValueLogFileSize(valueLogFileSize).
		WithCompression(options.Snappy).
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
			// RunValueLogGC rewrites at most one file per call and returns
			// ErrNoRewrite when there is nothing worth rewriting. In the
			// managed state database it keeps what the discard ts keeps.
			for _, db := range []*badger.DB{s.db, s.sdb} {
				for i := 0; i < 16; i++ {
					if db.RunValueLogGC(gcDiscardRatio) != nil {
						break
					}
					select {
					case <-s.stopGC:
						return
					default:
					}
				}
			}
		}
	}
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
