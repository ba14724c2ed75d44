package builtin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/sluicesql/sluice/catalog"
	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// ErrDropped is wrapped by errors about a table dropped while in use.
var ErrDropped = errors.New("was dropped")

// Sub-keys after state.BuiltinTablePrefix(id).
const (
	subMeta = 0x00 // counters: uvarint version, uvarint next row id
	subRow  = 0x01 // rows
)

// DefaultQueueLen is the default bound, in change batches, on how far the
// slowest continuous reader of a table may lag (see Store.QueueLen).
const DefaultQueueLen = 64

// Store keeps the rows of built-in tables (and materialized views) in the
// state store and serves them as a connector. See the package doc for the
// contract. Create one per engine with NewStore and register it with
// Register.
type Store struct {
	st  *state.Store
	db  *badger.DB
	cat *catalog.Catalog

	// QueueLen bounds, in change batches (versions), how far the slowest
	// continuous reader of a table may lag behind its writers: an Apply
	// that finds that many unread versions waits (back-pressure) instead
	// of dropping changes. Set it before use.
	QueueLen int

	mu     sync.Mutex
	tables map[uint64]*table
}

// table is the in-process state of one built-in table.
type table struct {
	id   uint64
	name string

	// mu serialises writers, snapshot+subscribe and drop, so the change
	// stream is published in commit order and a subscriber's snapshot is
	// exactly the state before the first change it receives. It is never
	// held while waiting for readers.
	mu      sync.Mutex
	loaded  bool
	bound   bool
	types   []types.Type
	pk      []int
	nextRow uint64
	hashes  []uint64 // scratch for Apply

	version atomic.Uint64

	// logMu guards the change log and the subscribers. The log holds the
	// versions [logBase, logBase+len(log)) that some subscriber has not
	// read yet; every change is shared, read-only, by all subscribers.
	logMu   sync.Mutex
	dropped bool // set under mu and logMu
	log     []*change
	logBase uint64
	subs    []*subscriber
	newData chan struct{} // closed (and replaced) when a change is logged
	space   chan struct{} // closed (and replaced) when the log shrinks
	gone    chan struct{} // closed when the table is dropped
}

func newTable(id uint64) *table {
	return &table{id: id, newData: make(chan struct{}), space: make(chan struct{}), gone: make(chan struct{})}
}

// NewStore returns the built-in table store over st, using cat to resolve
// table names and to learn about dropped tables.
func NewStore(st *state.Store, cat *catalog.Catalog) *Store {
	s := &Store{st: st, db: st.DB(), cat: cat, QueueLen: DefaultQueueLen, tables: map[uint64]*table{}}
	cat.OnDrop(s.onDrop)
	return s
}

// Register makes s the connector named "builtin". The engine calls it at
// start-up (not from init: the connector needs the store). The registry is
// process-wide, so with several engines in one process the last one wins;
// an engine can also use its Store directly as a connectors.SourceConnector
// and SinkConnector.
func Register(s *Store) { connectors.Register(s) }

func rowPrefix(id uint64) []byte { return append(state.BuiltinTablePrefix(id), subRow) }
func metaKey(id uint64) []byte   { return append(state.BuiltinTablePrefix(id), subMeta) }

// onDrop is the catalog hook: it waits for the writer in progress, then
// fails later writers and every continuous reader of the table.
func (s *Store) onDrop(id uint64) {
	s.mu.Lock()
	t := s.tables[id]
	delete(s.tables, id)
	s.mu.Unlock()
	if t == nil {
		return
	}
	t.mu.Lock()
	t.logMu.Lock()
	t.dropped = true
	close(t.gone)
	close(t.space) // wake writers waiting for room
	t.space = make(chan struct{})
	t.subs, t.log = nil, nil
	t.logMu.Unlock()
	t.mu.Unlock()
}

// table returns the state of table id, loading its counters on first use
// and binding its stored column types and primary key: every reader and
// writer of a table must use the same ones.
func (s *Store) table(id uint64, name string, ts []types.Type, pk []int) (*table, error) {
	s.mu.Lock()
	t := s.tables[id]
	if t == nil {
		if !s.cat.Live(id) {
			s.mu.Unlock()
			return nil, fmt.Errorf("built-in table '%s' %w", displayName(name, id), catalog.ErrNotFound)
		}
		t = newTable(id)
		s.tables[id] = t
	}
	s.mu.Unlock()

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.name == "" && name != "" {
		t.name = name
	}
	if t.dropped {
		return nil, fmt.Errorf("built-in table '%s' %w", t.display(), ErrDropped)
	}
	if !t.loaded {
		if err := t.load(s.db); err != nil {
			return nil, err
		}
	}
	if ts == nil {
		return t, nil
	}
	if !t.bound {
		for _, c := range pk {
			if c < 0 || c >= len(ts) {
				return nil, fmt.Errorf("built-in table '%s': primary key column %d out of range", t.display(), c)
			}
		}
		t.types = append([]types.Type(nil), ts...)
		t.pk = append([]int(nil), pk...)
		t.bound = true
		return t, nil
	}
	if err := t.checkSchema(ts, pk); err != nil {
		return nil, err
	}
	return t, nil
}

func displayName(name string, id uint64) string {
	if name == "" {
		return fmt.Sprintf("#%d", id)
	}
	return name
}

func (t *table) display() string { return displayName(t.name, t.id) }

func (t *table) checkSchema(ts []types.Type, pk []int) error {
	ok := len(ts) == len(t.types) && len(pk) == len(t.pk)
	for i := 0; ok && i < len(ts); i++ {
		ok = ts[i].Class() == t.types[i].Class()
	}
	for i := 0; ok && i < len(pk); i++ {
		ok = pk[i] == t.pk[i]
	}
	if !ok {
		return fmt.Errorf("built-in table '%s': schema %v key %v does not match the stored %v key %v",
			t.display(), ts, pk, t.types, t.pk)
	}
	return nil
}

func (t *table) load(db *badger.DB) error {
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(metaKey(t.id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			ver, k := binary.Uvarint(v)
			if k <= 0 {
				return state.ErrCorrupt
			}
			next, k2 := binary.Uvarint(v[k:])
			if k2 <= 0 {
				return state.ErrCorrupt
			}
			t.version.Store(ver)
			t.nextRow = next
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("built-in table '%s': load counters: %w", t.display(), err)
	}
	t.loaded = true
	return nil
}

// TableID returns the id under which the rows of the built-in table or
// materialized view named name are stored.
func (s *Store) TableID(name string) (uint64, error) {
	tb, v, err := s.cat.Lookup(name)
	if err != nil {
		return 0, err
	}
	if tb != nil {
		if !tb.IsBuiltin() {
			return 0, fmt.Errorf("table '%s' is not a built-in table (connector '%s')", name, tb.Options["connector"])
		}
		return tb.ID, nil
	}
	if !v.Materialized {
		return 0, fmt.Errorf("view '%s' is not materialized and has no stored rows", name)
	}
	return v.ID, nil
}

// Version returns the number of change batches committed to table id so
// far (persisted, so it keeps growing across restarts; 0 for a table never
// written). Every version is published to every continuous reader; a
// reader's Emitted reaching v means it has returned every change up to v
// from Next. FLUSH: read v := Version(id) after the writes to wait for,
// then WaitEmitted(ctx, id, v), then wait for those rows to pass the rest of
// the job.
func (s *Store) Version(id uint64) uint64 {
	s.mu.Lock()
	t := s.tables[id]
	s.mu.Unlock()
	if t != nil {
		t.mu.Lock()
		loaded := t.loaded
		t.mu.Unlock()
		if loaded {
			return t.version.Load()
		}
	}
	var v uint64
	_ = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(metaKey(id))
		if err != nil {
			return err
		}
		return item.Value(func(b []byte) error { v, _ = binary.Uvarint(b); return nil })
	})
	return v
}

// entrySize estimates the Badger transaction size of one entry as
// txn.checkSize does.
func entrySize(k, v []byte, threshold int64) int64 {
	n := int64(len(k)) + 12
	if int64(len(v)) < threshold {
		n += int64(len(v))
	} else {
		n += 12
	}
	return n
}
