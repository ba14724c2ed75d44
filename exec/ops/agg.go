package ops

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// AggKind is an aggregate function of GroupAgg.
type AggKind uint8

// Aggregate functions. Their result types are decided by the planner
// (AggCall.OutType); GroupAgg implements:
//
//	COUNT(x), COUNT(*)  BIGINT (COUNT(x) counts non-NULL x)
//	SUM                 BIGINT for integer arguments (overflow is an error),
//	                    DECIMAL(18, s) for DECIMAL(p, s), DOUBLE for FLOAT/DOUBLE
//	AVG                 DECIMAL(18, 4) for integers (rounded half away from
//	                    zero, as MySQL), DECIMAL(18, min(s+4, 18)) for
//	                    DECIMAL(p, s), DOUBLE for FLOAT/DOUBLE
//	MIN, MAX            the argument's type (strings compare bytewise)
//
// More generally a SUM or AVG of an integer or DECIMAL argument may return
// any integer or DECIMAL type (the exact result is rescaled and rounded,
// and must fit its precision) or DOUBLE. NULL arguments are ignored; SUM,
// AVG, MIN and MAX over no non-NULL value are NULL.
const (
	AggCount AggKind = iota
	AggCountStar
	AggSum
	AggAvg
	AggMin
	AggMax
)

// AggCall is one aggregate call of a GroupAggSpec.
type AggCall struct {
	Kind AggKind
	// Arg is the input column of the argument; -1 for COUNT(*).
	Arg int
	// Distinct counts each distinct non-NULL value once (COUNT(DISTINCT x),
	// SUM(DISTINCT x), ...); it changes nothing for MIN and MAX.
	Distinct bool
	// Filter is an input BOOLEAN column: a row counts for this call only
	// where it is TRUE (FILTER (WHERE ...)); -1 for none.
	Filter int
	// OutType is the result type (see AggKind).
	OutType types.Type
}

// GroupAggSpec is the plan of a GroupAgg.
type GroupAggSpec struct {
	// GroupCols are the input columns forming the group key; empty for a
	// global aggregate.
	GroupCols []int
	// Calls are the aggregates computed per group.
	Calls []AggCall
	// InTypes are the input column types.
	InTypes []types.Type
	// CacheEntries bounds the groups kept in memory by durable keyed state
	// (0: DefaultAggCacheEntries). The in-memory store used without a state
	// backend keeps every group.
	CacheEntries int
	// InsertOnly may be set by a planner that knows the input has only +I
	// rows: MIN and MAX then keep only the current extremum instead of a
	// multiset of every value, and a retraction fails with ErrAggRetraction.
	InsertOnly bool
	// StateTTL is table.exec.state.ttl: the state of a group not accessed
	// for longer may be dropped, after which the group starts again from
	// zero (its next row emits +I, as Flink does). 0 keeps state forever.
	// See agg_ttl.go.
	StateTTL time.Duration
	// Now is the processing-time clock of StateTTL; nil means time.Now.
	// Tests set it.
	Now func() time.Time
}

// DefaultAggCacheEntries is the default of GroupAggSpec.CacheEntries.
const DefaultAggCacheEntries = 100_000

// Errors of GroupAgg. A SUM or AVG out of range wraps expr.ErrOutOfRange.
var (
	// ErrAggSpec wraps the errors of an invalid GroupAggSpec.
	ErrAggSpec = errors.New("group aggregate: invalid plan")
	// ErrAggRetraction is returned when an InsertOnly aggregate receives a
	// retraction.
	ErrAggRetraction = errors.New("group aggregate: retraction on an insert-only input")
)

// GroupAgg is a streaming group aggregation with Flink's GroupAggregate
// semantics. Its output row is the group columns (in GroupCols order)
// followed by one column per call.
//
// Input. Any changelog: +I and +U add their row to its group, -U and -D
// retract it (rows carry full values). Every accumulator supports
// retraction: COUNT, SUM and AVG keep a sum and a count; MIN and MAX keep a
// multiset of values with counts, so that a retracted extremum is replaced
// by the next one; DISTINCT keeps per-value counts. Retractions that come
// first for a group without state are ignored, as in Flink (they cannot be
// applied).
//
// Output. An updating changelog keyed by the group columns, in mini-batches:
// Process folds a whole input batch into the accumulators, then emits at
// most one change per group touched by the batch, in order of the group's
// first row in the batch: +I for a group's first result, -U old / +U new
// for a changed result, -D old when a group's row count drops to zero (its
// state is then removed), nothing for an unchanged result. The group
// values of an emitted row are those of the group's first row in the
// batch. Output batches hold at most types.DefaultBatchSize rows and never
// separate a -U from its +U.
//
// Global aggregate (no GroupCols). One group, which is never deleted: when
// its row count returns to zero it updates to COUNT = 0 and NULL for the
// other calls. Over a bounded input it matches a batch database: if no row
// ever arrived, Finish emits that row as +I (from subtask 0 only, as a
// global aggregate runs with parallelism 1).
//
// State. With a state backend (TaskContext.State) groups live in keyed
// state under exec.StateNamespace, cached up to CacheEntries, in the key
// group the Hash exchange routes them by (exec.HashColumns and
// exec.KeyGroup over GroupCols); Snapshot flushes them. Otherwise they
// live in memory. Process does not allocate per row: keys are encoded
// into a reused buffer, accumulators are updated in place, and a group
// costs allocations only when it is created or read from disk.
//
// Errors. SUM/AVG overflow, a retraction on an InsertOnly aggregate, a
// malformed batch or a state backend failure fail Process. Accumulators
// may then be partly updated: the operator keeps failing, and the job is
// expected to restart from its last checkpoint.
type GroupAgg struct {
	// Spec is the plan; it must not change once the operator is used.
	Spec GroupAggSpec

	calls    []callPlan
	outTypes []types.Type
	store    accStore
	ttl      stateTTL
	maxPar   int
	subtask  int
	global   bool
	hasSets  bool // some call keeps a valueSet
	hasExtS  bool // some call keeps a string extremum (InsertOnly MIN/MAX)
	hasFSum  bool // some call sums floats
	compiled bool
	closed   bool
	failed   error

	// Per-batch scratch, reused.
	hashes   []uint64
	rowEntry []int32 // row → touched group, -1 for an ignored row
	delta    []int64 // row → +1 (add) or -1 (retract)
	allRows  []int32 // 0..n-1
	ignored  bool    // some row of the batch is ignored
	sel      []int32
	table    []int32 // open addressing over entries: entry index + 1, 0 = empty
	entries  []aggEntry
	vals     [][]accVal  // entry → its record's accumulators (nil when inactive)
	keys     []byte      // encoded keys of the entries
	res      []aggResult // entry e: results before the batch at 2e·nc, after at (2e+1)·nc
	emits    []aggEmit
}

// aggEntry is a group touched by the current batch.
type aggEntry struct {
	hash     uint64
	rec      *accRecord
	keyStart int32
	keyEnd   int32
	kg       int32
	row      int32 // first input row of the group in the batch
	found    bool  // the group had state before the batch
	active   bool  // some row of the batch counts for the group
	// handle names the group's cache entry in a keyed store (from getAll),
	// so writing the record back needs no second lookup.
	handle state.Handle
}

// errClosed is returned by Process after Close.
var errClosed = errors.New("group aggregate: operator closed")

// NewGroupAgg checks spec and returns a GroupAgg for it. A GroupAgg may
// also be used as &GroupAgg{Spec: spec}: it then checks Spec when opened
// or first used.
func NewGroupAgg(spec GroupAggSpec) (*GroupAgg, error) {
	g := &GroupAgg{Spec: spec}
	if err := g.compile(); err != nil {
		return nil, err
	}
	return g, nil
}

// compile checks Spec and prepares the calls, once.
func (g *GroupAgg) compile() error {
	if g.compiled {
		return nil
	}
	spec := &g.Spec
	g.global = len(spec.GroupCols) == 0
	if g.maxPar == 0 {
		g.maxPar = state.DefaultMaxParallelism
	}
	g.outTypes, g.calls = nil, nil
	for _, c := range spec.GroupCols {
		if c < 0 || c >= len(spec.InTypes) {
			return fmt.Errorf("%w: group column %d of a %d-column input", ErrAggSpec, c, len(spec.InTypes))
		}
		g.outTypes = append(g.outTypes, spec.InTypes[c])
	}
	for _, c := range spec.Calls {
		p, err := compileCall(c, spec.InTypes, spec.InsertOnly)
		if err != nil {
			return err
		}
		g.calls = append(g.calls, p)
		g.outTypes = append(g.outTypes, c.OutType)
		g.hasSets = g.hasSets || p.mode == modeSet
		g.hasExtS = g.hasExtS || (p.mode == modeExtremum && p.argClass == types.ClassStr)
		g.hasFSum = g.hasFSum || (p.argClass == types.ClassF64 && (p.Kind == AggSum || p.Kind == AggAvg))
	}
	g.ttl = newStateTTL(spec.StateTTL, spec.Now, nil)
	g.compiled = true
	return nil
}

// GroupAggFactory returns a factory of GroupAggs; it fails when spec is
// invalid (ErrAggSpec).
func GroupAggFactory(spec GroupAggSpec) exec.OperatorFactory {
	return func(int) (exec.Operator, error) { return NewGroupAgg(spec) }
}

// OutTypes returns the output column types: the group columns, then one
// per call (nil when Spec is invalid).
func (g *GroupAgg) OutTypes() []types.Type {
	if g.compile() != nil {
		return nil
	}
	return g.outTypes
}

// Open implements exec.Opener: it chooses the state store (keyed state when
// tc has a state backend, else memory). Process and Finish use memory when
// Open was not called.
func (g *GroupAgg) Open(tc *exec.TaskContext) error {
	if err := g.compile(); err != nil {
		return err
	}
	if tc.MaxParallelism > 0 {
		g.maxPar = tc.MaxParallelism
	}
	g.subtask = tc.Subtask
	g.ttl = newStateTTL(g.Spec.StateTTL, g.Spec.Now, tc)
	g.store = newTaskStore(tc, accCodec{calls: g.calls}, g.cacheEntries())
	return nil
}

func (g *GroupAgg) cacheEntries() int {
	if g.Spec.CacheEntries > 0 {
		return g.Spec.CacheEntries
	}
	return DefaultAggCacheEntries
}

// Process implements exec.Operator.
func (g *GroupAgg) Process(b *types.Batch, out exec.Collector) error {
	defer b.Release()
	switch {
	case g.closed:
		return errClosed
	case g.failed != nil:
		return g.failed
	}
	if err := g.compile(); err != nil {
		return err
	}
	if g.store == nil {
		g.store = newMapStore()
	}
	if b.Len() == 0 {
		return nil
	}
	if err := g.checkInput(b); err != nil {
		return err
	}
	if err := g.process(b, out); err != nil {
		g.failed = err
		return err
	}
	return nil
}

func (g *GroupAgg) process(b *types.Batch, out exec.Collector) error {
	if err := g.resolve(b); err != nil {
		return err
	}
	if err := g.results(0); err != nil {
		return err
	}
	for i, e := range g.rowEntry {
		if e >= 0 {
			g.entries[e].rec.rows += g.delta[i]
		}
	}
	for c := range g.calls {
		if err := g.accumulate(c, b, g.selectRows(c, b)); err != nil {
			return err
		}
	}
	g.settle()
	if err := g.results(1); err != nil {
		return err
	}
	return g.emit(b, out)
}

// checkInput verifies that b has the planned columns, so that malformed
// input fails rather than panics.
func (g *GroupAgg) checkInput(b *types.Batch) error {
	if len(b.Cols) != len(g.Spec.InTypes) {
		return fmt.Errorf("group aggregate: %d-column batch, want %d", len(b.Cols), len(g.Spec.InTypes))
	}
	n := b.Len()
	for c := range b.Cols {
		v := &b.Cols[c]
		if v.Type.Class() != g.Spec.InTypes[c].Class() || v.Len() != n {
			return fmt.Errorf("group aggregate: column %d is %v with %d values, want %v with %d",
				c, v.Type, v.Len(), g.Spec.InTypes[c], n)
		}
	}
	return nil
}

// resolve maps the rows of b to the groups they touch (entries, rowEntry),
// reads the groups' records and sets delta. It works in passes over rows
// and groups so that the state lookups, which miss the CPU caches, run
// together (accStore.getAll) where they can overlap.
func (g *GroupAgg) resolve(b *types.Batch) error {
	n := b.Len()
	nc := len(g.calls)
	if g.global {
		g.hashes = growU64(g.hashes, n)
		h := exec.HashDatums(nil)
		for i := range g.hashes {
			g.hashes[i] = h
		}
	} else {
		g.hashes = exec.HashColumns(b, g.Spec.GroupCols, g.hashes)
	}
	g.rowEntry = growI32(g.rowEntry, n)
	g.delta = growI64(g.delta, n)
	if len(g.allRows) < n {
		g.allRows = growI32(g.allRows, n)
		for i := range g.allRows {
			g.allRows[i] = int32(i)
		}
	}
	size := 16
	for size < 2*n {
		size *= 2
	}
	g.table = growI32(g.table, size)
	clear(g.table)
	mask := uint64(size - 1)
	g.entries = g.entries[:0]
	g.ignored = false

	// Pass 1: one entry per distinct key, found through a hash table over
	// the batch.
	retractions := false
	keys := g.keys[:0]
	for i := range n {
		if b.Ops[i].IsAdd() {
			g.delta[i] = 1
		} else {
			g.delta[i] = -1
			retractions = true
		}
		start := len(keys)
		keys = state.EncodeKeyColumns(keys, b, g.Spec.GroupCols, i)
		key := keys[start:]
		h := g.hashes[i]
		for slot := h & mask; ; slot = (slot + 1) & mask {
			t := g.table[slot]
			if t == 0 {
				e := int32(len(g.entries))
				g.table[slot] = e + 1
				g.entries = append(g.entries, aggEntry{hash: h, keyStart: int32(start), keyEnd: int32(len(keys)), row: int32(i)})
				g.rowEntry[i] = e
				break
			}
			if ent := &g.entries[t-1]; ent.hash == h && bytes.Equal(keys[ent.keyStart:ent.keyEnd], key) {
				keys = keys[:start]
				g.rowEntry[i] = t - 1
				break
			}
		}
	}
	g.keys = keys
	if retractions && g.Spec.InsertOnly {
		for i := range n {
			if g.delta[i] < 0 {
				return fmt.Errorf("%w: a %v row", ErrAggRetraction, b.Ops[i])
			}
		}
	}

	// Pass 2: read the groups' state.
	for e := range g.entries {
		g.entries[e].kg = int32(exec.KeyGroup(g.entries[e].hash, g.maxPar))
	}
	if err := g.store.getAll(g.entries, keys); err != nil {
		return fmt.Errorf("group aggregate: read state: %w", err)
	}
	var now int64
	if g.ttl.enabled() {
		now = g.ttl.stamp()
		if err := g.expire(keys, now); err != nil {
			return err
		}
	}
	for e := range g.entries {
		ent := &g.entries[e]
		ent.found = ent.rec != nil
		ent.active = ent.found || !retractions
	}

	// Pass 3: retractions that come first for a group without state are
	// ignored; the group is active from its first added row.
	if retractions {
		for i, e := range g.rowEntry[:n] {
			ent := &g.entries[e]
			switch {
			case ent.active:
			case g.delta[i] < 0:
				g.rowEntry[i] = -1
				g.ignored = true
			default:
				ent.active = true
			}
		}
	}

	// Pass 4: records for new groups, and the accumulators' view.
	g.vals = g.vals[:0]
	for e := range g.entries {
		ent := &g.entries[e]
		if ent.active && !ent.found {
			ent.rec = g.newRecord()
		}
		var v []accVal
		if ent.rec != nil {
			if ent.active && now != 0 {
				ent.rec.access = now
			}
			v = ent.rec.vals
			if len(v) != nc {
				return fmt.Errorf("group aggregate: state has %d accumulators, the plan %d: %w", len(v), nc, errAccCorrupt)
			}
			if g.hasSets {
				for c := range g.calls {
					if g.calls[c].usesSet() && v[c].set == nil {
						v[c].set = newValueSet(g.calls[c].argClass)
					}
				}
			}
		}
		g.vals = append(g.vals, v)
	}
	return nil
}

// expire drops the state of the entries whose groups have expired (see
// agg_ttl.go): they continue as groups without state.
func (g *GroupAgg) expire(keys []byte, now int64) error {
	for e := range g.entries {
		ent := &g.entries[e]
		if ent.rec == nil || !g.ttl.expired(ent.rec.access, now) {
			continue
		}
		if err := g.store.del(int(ent.kg), ent.hash, keys[ent.keyStart:ent.keyEnd], ent.rec); err != nil {
			return fmt.Errorf("group aggregate: delete expired state: %w", err)
		}
		ent.rec = nil
	}
	return nil
}

// Start implements exec.Starter: a global aggregate emits its initial row
// (COUNT = 0, NULL for the other calls) before any input, as a batch
// database answers over an empty table, unless its state already holds
// the row. Later input updates it with -U/+U.
func (g *GroupAgg) Start(out exec.Collector) error { return g.Finish(out) }

// Finish implements exec.Finisher. A global aggregate that never received
// a row emits its initial row (COUNT = 0, NULL for the other calls), from
// subtask 0.
func (g *GroupAgg) Finish(out exec.Collector) error {
	switch {
	case g.closed:
		return errClosed
	case g.failed != nil:
		return g.failed
	case !g.global || g.subtask != 0:
		return nil
	}
	if err := g.compile(); err != nil {
		return err
	}
	if g.store == nil {
		g.store = newMapStore()
	}
	h := exec.HashDatums(nil)
	kg := exec.KeyGroup(h, g.maxPar)
	rec, err := g.store.get(kg, h, nil)
	if err != nil {
		return fmt.Errorf("group aggregate: read state: %w", err)
	}
	if rec != nil {
		return nil
	}
	rec = g.newRecord()
	g.res = g.res[:0]
	for c := range g.calls {
		r, err := g.calls[c].result(&rec.vals[c])
		if err != nil {
			return err
		}
		g.res = append(g.res, r)
	}
	if err := g.store.put(kg, h, nil, rec); err != nil {
		return fmt.Errorf("group aggregate: write state: %w", err)
	}
	g.emits = append(g.emits[:0], aggEmit{op: types.Insert})
	return g.output(nil, out)
}

// Snapshot implements exec.Snapshotter: it flushes the groups' state,
// after deleting the expired groups of a few key groups (with a StateTTL).
func (g *GroupAgg) Snapshot(id int64) ([]byte, error) {
	if g.store == nil {
		return nil, nil
	}
	if ks, ok := g.store.(*keyedStore); ok {
		if _, err := sweepKeyed(&g.ttl, ks.ks, func(r *accRecord) int64 { return r.access }); err != nil {
			return nil, fmt.Errorf("group aggregate: snapshot %d: %w", id, err)
		}
	}
	if err := g.store.flush(); err != nil {
		return nil, fmt.Errorf("group aggregate: snapshot %d: %w", id, err)
	}
	return nil, nil
}

// Close implements exec.Closer. It releases memory but keeps the durable
// state (the job may be restored from it). It is idempotent.
func (g *GroupAgg) Close() error {
	if g.closed {
		return nil
	}
	g.closed = true
	var err error
	if g.store != nil {
		err = g.store.close()
		g.store = nil
	}
	g.entries, g.vals, g.res, g.keys, g.emits = nil, nil, nil, nil, nil
	if err != nil {
		return fmt.Errorf("group aggregate: close state: %w", err)
	}
	return nil
}

func growI32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

func growI64(s []int64, n int) []int64 {
	if cap(s) < n {
		return make([]int64, n)
	}
	return s[:n]
}

func growU64(s []uint64, n int) []uint64 {
	if cap(s) < n {
		return make([]uint64, n)
	}
	return s[:n]
}
