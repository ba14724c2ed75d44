package ops

import (
	"errors"
	"fmt"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// JoinType is the kind of a streaming equi-join.
type JoinType uint8

// Join types. SemiJoin and AntiJoin output the left side's columns only:
// SemiJoin keeps the left rows with at least one match (EXISTS, IN),
// AntiJoin those with none (NOT EXISTS; a left row with a NULL key has no
// match, so it is kept).
const (
	InnerJoin JoinType = iota
	LeftJoin
	RightJoin
	FullJoin
	SemiJoin
	AntiJoin
)

var joinTypeNames = [...]string{"INNER", "LEFT", "RIGHT", "FULL", "SEMI", "ANTI"}

func (t JoinType) String() string {
	if int(t) < len(joinTypeNames) {
		return joinTypeNames[t]
	}
	return fmt.Sprintf("JoinType(%d)", t)
}

// DefaultJoinCacheEntries is the number of chunks of join keys' rows per
// side a Join keeps decoded in memory when JoinSpec.CacheEntries is not
// set.
const DefaultJoinCacheEntries = 100_000

// Join errors.
var (
	// ErrJoinSpec wraps every validation error of a JoinSpec.
	ErrJoinSpec = errors.New("join: invalid spec")
	// ErrJoinInputs is returned when a Join is fed through the
	// single-input Process, or through an input other than 0 and 1.
	ErrJoinInputs = errors.New("join: needs two inputs (0 = left, 1 = right)")
	// ErrJoinRetraction is returned when an input the spec declares
	// insert-only (JoinSpec.InsertOnly) retracts a row.
	ErrJoinRetraction = errors.New("join: retraction on an insert-only input")
)

// JoinSpec is the plan of a Join.
type JoinSpec struct {
	Type JoinType
	// LeftKeys and RightKeys are the equi-join key columns of each side,
	// pairwise compared. They have the same count and each pair the same
	// physical class (and, for DECIMAL, the same scale): the planner casts
	// both sides to a common type before the join. With no keys every row
	// has the same (empty) key: the join must then run at parallelism 1.
	LeftKeys, RightKeys []int
	// LeftTypes and RightTypes are the column types of each input.
	LeftTypes, RightTypes []types.Type
	// Residual is evaluated over the concatenated row (left columns, then
	// right columns); nil means none. A pair joins only when its keys are
	// equal (a NULL key never matches) and Residual is TRUE. It must be
	// deterministic, or retractions will not cancel what was emitted.
	Residual expr.Expr
	// CacheEntries is the number of chunks of join keys' rows (most keys
	// have one) per side kept decoded in memory when state is kept in a
	// state store (0: DefaultJoinCacheEntries).
	CacheEntries int
	// StateTTL is table.exec.state.ttl: a side's rows of a join key not
	// accessed for longer may be dropped (see agg_ttl.go); 0 keeps them
	// forever. As in Flink, results may then be incomplete: a row arriving
	// after the other side's rows expired does not join with them.
	StateTTL time.Duration
	// Now is the processing-time clock of StateTTL; nil means time.Now.
	Now func() time.Time
	// InsertOnly may be set by a planner that knows an input (0 = left,
	// 1 = right) has only +I rows. In keyed state, the rows of such a side
	// that needs no match counts may then be added without reading the
	// key's stored rows first (blind appends, see join_blind.go); a
	// retraction on it fails the join (ErrJoinRetraction).
	InsertOnly [2]bool
}

// Validate checks the spec's key columns and types.
func (s *JoinSpec) Validate() error {
	if s.Type > AntiJoin {
		return fmt.Errorf("%w: unknown join type %d", ErrJoinSpec, s.Type)
	}
	if len(s.LeftKeys) != len(s.RightKeys) {
		return fmt.Errorf("%w: %d left keys and %d right keys", ErrJoinSpec, len(s.LeftKeys), len(s.RightKeys))
	}
	for k := range s.LeftKeys {
		l, r := s.LeftKeys[k], s.RightKeys[k]
		if l < 0 || l >= len(s.LeftTypes) {
			return fmt.Errorf("%w: left key column %d of %d", ErrJoinSpec, l, len(s.LeftTypes))
		}
		if r < 0 || r >= len(s.RightTypes) {
			return fmt.Errorf("%w: right key column %d of %d", ErrJoinSpec, r, len(s.RightTypes))
		}
		lt, rt := s.LeftTypes[l], s.RightTypes[r]
		if lt.Class() != rt.Class() || (lt.Kind == types.KindDecimal) != (rt.Kind == types.KindDecimal) ||
			(lt.Kind == types.KindDecimal && lt.Scale != rt.Scale) {
			return fmt.Errorf("%w: key %d compares %v with %v (cast both sides to a common type)", ErrJoinSpec, k, lt, rt)
		}
	}
	if s.CacheEntries < 0 {
		return fmt.Errorf("%w: CacheEntries %d", ErrJoinSpec, s.CacheEntries)
	}
	return nil
}

// OutTypes returns the output column types: the left types then the right
// ones, or the left types only for semi and anti joins. Outer joins make
// the padded side's types nullable.
func (s *JoinSpec) OutTypes() []types.Type {
	out := make([]types.Type, 0, len(s.LeftTypes)+len(s.RightTypes))
	padLeft := s.Type == RightJoin || s.Type == FullJoin
	padRight := s.Type == LeftJoin || s.Type == FullJoin
	for _, t := range s.LeftTypes {
		if padLeft {
			t = t.Nullable()
		}
		out = append(out, t)
	}
	if s.Type == SemiJoin || s.Type == AntiJoin {
		return out
	}
	for _, t := range s.RightTypes {
		if padRight {
			t = t.Nullable()
		}
		out = append(out, t)
	}
	return out
}

// Join is a streaming equi-join with Flink's regular join semantics: every
// row of each side is kept in state (join key → multiset of rows) for as
// long as it is present, and the output is a retract changelog of the join
// result. Nothing is ever expired, so state grows with the inputs.
//
// Inputs. Two, fed through ProcessInput (0 = left, 1 = right; Join is an
// exec.MultiInputOperator); each may be append-only or a changelog: +I and
// +U add a row, -U and -D retract an equal one (all columns compared, NULL
// equal to NULL). The retraction of a row that is not in state is ignored.
// Both inputs must be partitioned by their keys (a Hash exchange on
// LeftKeys and RightKeys) when the join runs at parallelism > 1.
//
// Output (OutTypes). Only +I and -D rows, whatever the input ops (an update
// -U/+U of an input row becomes -D of its old pairs and +I of its new ones).
// For each input row, in input order:
//
//   - an added row emits +I for each pair it forms (a stored row present n
//     times forms n pairs); a retracted row emits -D for the same pairs;
//   - outer joins: a row without a match is emitted NULL-padded (+I when
//     added, -D when retracted). Stored rows of an outer side that get
//     their first match have their padded rows retracted first (-D padded
//     for each, then +I for every pair); stored rows that lose their last
//     match get them back last (-D for every pair, then +I padded for
//     each);
//   - semi and anti joins emit the left row itself: +I when it gets its
//     first match and -D when it loses its last (semi), the reverse for
//     anti (where a row with no match is present).
//
// Rows with a NULL key column never match and are not stored: an outer
// side emits them padded (+I, and -D on retraction without checking that
// the row was added), an anti join emits them as they come, other joins
// drop them. Output batches hold up to types.DefaultBatchSize rows; one
// is sent whenever it is full and at the end of every ProcessInput.
//
// State. With a state store (TaskContext.State) each side's rows of a key
// live in a state.KeyedState under exec.StateNamespace followed by 'L' or
// 'R', as chunks of bounded size, the first of which (the head) also says
// how many there are (join_chunk.go): adding a row reads at most the
// head, never the key's other rows, and a write-back writes only the
// chunks that changed. They are cached up to Spec.CacheEntries chunks per
// side, in the key group the Hash exchange routes the key by
// (exec.KeyGroup of exec.HashColumns over the key columns); Snapshot
// flushes both sides. Otherwise, or when Open was not called, state lives
// in memory (joinMapState), one chunk per key and side. See join_rows.go
// for the layout of a chunk.
//
// Errors (a malformed batch, a failing residual, a state store failure)
// fail ProcessInput and may leave the state partly updated: the job is
// expected to restart from its last checkpoint. Join follows
// exec.Operator's contract: one goroutine, and ProcessInput owns its batch
// (it releases it). Close is idempotent.
type Join struct {
	Spec JoinSpec

	started  bool
	semiAnti bool
	nLeft    int
	outTypes []types.Type
	// candTypes are the types of the concatenated row the residual sees.
	candTypes []types.Type
	sides     [2]joinSide
	state     joinState
	maxPar    int
	ttl       stateTTL
	now       int64 // processing time of the current ProcessInput (ms), with a TTL

	out       *types.Batch // output being built; nil when empty
	coll      exec.Collector
	cand      *types.Batch // candidate pairs for the residual
	keep      []bool
	keyHashes []uint64
	rowHashes []uint64
	key       joinKeyRef // key of the row being processed
	chunkKeys []byte     // encoded keys of the rows of a chunk (see encodeKeys)
	chunkEnds []int32
	chunkNull []bool
	iota      []int32 // 0, 1, 2, ...
	sel       []int32 // matching rows of an entry
	trans     []int32 // rows of sel whose match count went 0↔1
	exp       []int32 // rows repeated by their count
	later     []joinLater
	laterRows []int32
	// pr is the probe in progress, probeBlind its function for the rows
	// added blind (made once: a closure per probe would be allocated).
	pr         joinProbe
	probeBlind func(*joinRows) error
}

// joinSide is the state and plan of one input.
type joinSide struct {
	keys    []int
	allCols []int // 0..n-1, to hash whole rows
	lay     joinLayout
	outer   bool // unmatched rows are emitted NULL-padded
	off     int  // first output column of this side
}

var (
	_ exec.MultiInputOperator = (*Join)(nil)
	_ exec.Opener             = (*Join)(nil)
	_ exec.Snapshotter        = (*Join)(nil)
	_ exec.Closer             = (*Join)(nil)
)

// NewJoin validates spec and returns a Join with its own clone of the
// residual.
func NewJoin(spec JoinSpec) (*Join, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if spec.Residual != nil {
		spec.Residual = spec.Residual.Clone()
	}
	return &Join{Spec: spec}, nil
}

// JoinFactory returns a factory of Joins (see NewJoin). An invalid spec
// fails the factory.
func JoinFactory(spec JoinSpec) exec.OperatorFactory {
	return func(int) (exec.Operator, error) { return NewJoin(spec) }
}

// OutTypes returns the output column types (JoinSpec.OutTypes).
func (j *Join) OutTypes() []types.Type { return j.Spec.OutTypes() }

// Open implements exec.Opener.
func (j *Join) Open(tc *exec.TaskContext) error {
	return j.start(tc)
}

// start prepares the plan and the state stores; tc may be nil (in-memory
// state, default key groups).
func (j *Join) start(tc *exec.TaskContext) error {
	if j.started {
		return nil
	}
	s := &j.Spec
	if err := s.Validate(); err != nil {
		return err
	}
	j.semiAnti = s.Type == SemiJoin || s.Type == AntiJoin
	j.nLeft = len(s.LeftTypes)
	j.outTypes = s.OutTypes()
	j.candTypes = append(append([]types.Type(nil), s.LeftTypes...), s.RightTypes...)
	j.maxPar = state.DefaultMaxParallelism
	if tc != nil && tc.MaxParallelism > 0 {
		j.maxPar = tc.MaxParallelism
	}
	tracked := [2]bool{
		s.Type == LeftJoin || s.Type == FullJoin || j.semiAnti,
		s.Type == RightJoin || s.Type == FullJoin,
	}
	j.sides[0] = joinSide{keys: s.LeftKeys, lay: newJoinLayout(s.LeftTypes, tracked[0]),
		outer: s.Type == LeftJoin || s.Type == FullJoin}
	j.sides[1] = joinSide{keys: s.RightKeys, lay: newJoinLayout(s.RightTypes, tracked[1]),
		outer: s.Type == RightJoin || s.Type == FullJoin, off: j.nLeft}
	for k := range j.sides {
		sd := &j.sides[k]
		sd.allCols = make([]int, len(sd.lay.types))
		for c := range sd.allCols {
			sd.allCols[c] = c
		}
	}
	j.state = j.newState(tc)
	j.ttl = newStateTTL(s.StateTTL, s.Now, tc)
	j.started = true
	return nil
}

// Process implements exec.Operator: a Join must be fed with ProcessInput,
// so Process releases b and fails with ErrJoinInputs.
func (j *Join) Process(b *types.Batch, _ exec.Collector) error {
	b.Release()
	return fmt.Errorf("%w: got a single-input batch", ErrJoinInputs)
}

// ProcessInput processes a batch of input 0 (left) or 1 (right), emitting
// the changes of the join result to out. It takes ownership of b.
func (j *Join) ProcessInput(input int, b *types.Batch, out exec.Collector) error {
	defer b.Release()
	if input != 0 && input != 1 {
		return fmt.Errorf("%w: input %d", ErrJoinInputs, input)
	}
	if err := j.start(nil); err != nil {
		return err
	}
	me := &j.sides[input]
	if err := joinCheckBatch(b, me.lay.types, input); err != nil {
		return err
	}
	j.coll = out
	defer func() { j.coll = nil }()
	if j.ttl.enabled() {
		j.now = j.ttl.stamp()
	}
	j.keyHashes = exec.HashColumns(b, me.keys, j.keyHashes)
	j.rowHashes = exec.HashColumns(b, me.allCols, j.rowHashes)
	pf, _ := j.state.(joinPrefetcher)
	var keyStart int32
	for i, op := range b.Ops {
		// The keys of the rows are encoded a chunk at a time, and the
		// state warms up
		// their entries before the rows are processed one by one.
		if i%joinPrefetchRows == 0 {
			end := min(i+joinPrefetchRows, b.Len())
			j.encodeKeys(b, me.keys, i, end)
			if pf != nil {
				pf.prefetch(input, j.keyHashes[i:end], b.Ops[i:end], j.chunkKeys, j.chunkEnds)
			}
			keyStart = 0
		}
		ck := i % joinPrefetchRows
		if pf != nil {
			pf.hint(ck)
		}
		keyEnd := j.chunkEnds[ck]
		key := j.chunkKeys[keyStart:keyEnd]
		keyStart = keyEnd
		var err error
		switch {
		case !op.IsAdd() && j.Spec.InsertOnly[input]:
			err = ErrJoinRetraction
		case j.chunkNull[ck]:
			err = j.nullKeyRow(input, b, i, op.IsAdd())
		default:
			// j.key, not a local: it is passed to interface methods
			// and would escape, one allocation per row.
			k := &j.key
			k.key = key
			k.h, k.kg = j.keyHashes[i], -1
			if op.IsAdd() {
				err = j.add(input, b, i, k, j.rowHashes[i])
			} else {
				err = j.retract(input, b, i, k, j.rowHashes[i])
			}
		}
		if err != nil {
			return fmt.Errorf("join %v, %s input: %w", j.Spec.Type, joinSideName(input), err)
		}
	}
	return j.flush()
}

func joinSideName(s int) string {
	if s == 0 {
		return "left"
	}
	return "right"
}

// joinCheckBatch verifies that b has the column classes of ts and one
// value per row in every column.
func joinCheckBatch(b *types.Batch, ts []types.Type, input int) error {
	if len(b.Cols) != len(ts) {
		return fmt.Errorf("join: %s input batch has %d columns, want %d", joinSideName(input), len(b.Cols), len(ts))
	}
	for c := range ts {
		v := &b.Cols[c]
		if v.Type.Class() != ts[c].Class() {
			return fmt.Errorf("join: %s input column %d is %v, want %v", joinSideName(input), c, v.Type, ts[c])
		}
		if n := joinVecLen(v, ts[c].Class()); n != b.Len() {
			return fmt.Errorf("join: %s input column %d has %d values for %d rows", joinSideName(input), c, n, b.Len())
		}
	}
	return nil
}

// encodeKeys encodes the join keys of rows lo..hi-1 of b into j.chunkKeys,
// the k-th ending at j.chunkEnds[k]; j.chunkNull[k] says the row has a NULL
// key column, and then an empty key.
func (j *Join) encodeKeys(b *types.Batch, keyCols []int, lo, hi int) {
	keys, ends, nulls := j.chunkKeys[:0], j.chunkEnds[:0], j.chunkNull[:0]
	for i := lo; i < hi; i++ {
		null := joinKeyHasNull(b, keyCols, i)
		if !null {
			keys = state.EncodeKeyColumns(keys, b, keyCols, i)
		}
		ends, nulls = append(ends, int32(len(keys))), append(nulls, null)
	}
	j.chunkKeys, j.chunkEnds, j.chunkNull = keys, ends, nulls
}

func joinKeyHasNull(b *types.Batch, keys []int, i int) bool {
	for _, c := range keys {
		if b.Cols[c].IsNull(i) {
			return true
		}
	}
	return false
}

// joinKeyRef is the join key of the row being processed: its hash
// (exec.HashColumns over the key columns), its encoding
// (state.EncodeKeyColumns) and its key group, computed on first use (-1
// until then: the in-memory state does not need it).
type joinKeyRef struct {
	h   uint64
	key []byte
	kg  int
}

// group returns the key's key group among maxPar.
func (k *joinKeyRef) group(maxPar int) int {
	if k.kg < 0 {
		k.kg = exec.KeyGroup(k.h, maxPar)
	}
	return k.kg
}

// add handles the addition of row i of input in (non-NULL key k, row hash
// rh).
func (j *Join) add(in int, b *types.Batch, i int, k *joinKeyRef, rh uint64) error {
	me := &j.sides[in]
	matched, err := j.probe(in, b, i, k, true)
	if err != nil {
		return err
	}
	if j.ttl.enabled() {
		// Expired rows are dropped before the row joins them.
		if _, err := j.chunkCount(in, k, true); err != nil {
			return fmt.Errorf("read %s state: %w", joinSideName(in), err)
		}
	}
	c, e, err := j.state.tail(in, k, b, i)
	if err != nil {
		return fmt.Errorf("read %s state: %w", joinSideName(in), err)
	}
	e.addInput(&me.lay, b, i, rh, matched)
	err = j.state.put(in, k, c, e)
	if err == nil && j.ttl.enabled() {
		err = j.state.touch(in, k, j.now)
	}
	if err != nil {
		return fmt.Errorf("write %s state: %w", joinSideName(in), err)
	}

	switch {
	case j.Spec.Type == SemiJoin && in == 0:
		if matched > 0 {
			return j.emitInput(types.Insert, in, b, i)
		}
	case j.Spec.Type == AntiJoin && in == 0:
		if matched == 0 {
			return j.emitInput(types.Insert, in, b, i)
		}
	case !j.semiAnti && me.outer && matched == 0:
		return j.emitInput(types.Insert, in, b, i)
	}
	return nil
}

// retract handles the retraction of row i of input in (non-NULL key k,
// row hash rh). A row that is not in state is ignored.
func (j *Join) retract(in int, b *types.Batch, i int, k *joinKeyRef, rh uint64) error {
	me := &j.sides[in]
	found, storedMatches, err := j.removeRow(in, b, i, k, rh)
	if err != nil || !found {
		return err
	}
	if j.semiAnti && in == 0 {
		// The stored match count says whether the left row was emitted.
		if (j.Spec.Type == SemiJoin) == (storedMatches > 0) {
			return j.emitInput(types.Delete, in, b, i)
		}
		return nil
	}
	matched, err := j.probe(in, b, i, k, false)
	if err != nil {
		return err
	}
	if !j.semiAnti && me.outer && matched == 0 {
		return j.emitInput(types.Delete, in, b, i)
	}
	return nil
}

// removeRow removes one copy of row i of input in (key k, row hash rh)
// from state: from the first record of the row, in the order of the
// chunks. It reports whether the row was there, and its match count.
func (j *Join) removeRow(in int, b *types.Batch, i int, k *joinKeyRef, rh uint64) (found bool, matches int64, err error) {
	ml := &j.sides[in].lay
	n, err := j.chunkCount(in, k, true)
	if err != nil {
		return false, 0, fmt.Errorf("read %s state: %w", joinSideName(in), err)
	}
	for c := range n {
		e, ok, err := j.state.chunk(in, k, c)
		if err != nil {
			return false, 0, fmt.Errorf("read %s state: %w", joinSideName(in), err)
		}
		if !ok {
			continue
		}
		r := e.find(ml, b, i, rh)
		if r < 0 {
			continue
		}
		matches = e.matches(ml, r)
		if e.count(ml, r) > 1 {
			e.words[r*ml.stride+joinWCount]--
			err = j.state.put(in, k, c, e)
		} else {
			e.remove(ml, r)
			if e.n == 0 {
				err = j.state.del(in, k, c)
			} else {
				err = j.state.put(in, k, c, e)
			}
		}
		if err == nil && j.ttl.enabled() {
			err = j.state.touch(in, k, j.now)
		}
		if err != nil {
			return false, 0, fmt.Errorf("write %s state: %w", joinSideName(in), err)
		}
		return true, matches, nil
	}
	return false, 0, nil
}

// probe joins row i of input in (non-NULL key k), added (add) or
// retracted, with the other side's stored rows of the key, chunk by
// chunk: it updates their match counts (tracked sides), emits the pairs
// and the changes of padded or semi/anti rows, and returns how many stored
// rows (copies counted) the row matches.
//
// The output does not depend on how the rows are chunked: what is emitted
// for stored rows that get their first match or lose their last one (-D or
// +I padded), and the pairs (+I or -D), come in two groups in the order
// of Join's contract, each in the order of the rows. Unless the other side
// is tracked, the first group is empty and the pairs are emitted chunk by
// chunk; else the second group's rows of each chunk are kept (j.later)
// until all chunks were read.
func (j *Join) probe(in int, b *types.Batch, i int, k *joinKeyRef, add bool) (int64, error) {
	os := 1 - in
	n, err := j.chunkCount(os, k, false)
	if err != nil {
		return 0, fmt.Errorf("read %s state: %w", joinSideName(os), err)
	}
	p := &j.pr
	*p = joinProbe{in: in, b: b, i: i, k: k, add: add, d: 1, first: 1, later: j.later[:0], laterRows: j.laterRows[:0]}
	// d is the change of the match counts, and a stored row whose count
	// becomes first changes from unmatched to matched or back.
	if !add {
		p.d, p.first = -1, 0
	}
	holes, fill := 0, 0
	for c := range n {
		e, ok, err := j.state.chunk(os, k, c)
		if err != nil {
			return 0, fmt.Errorf("read %s state: %w", joinSideName(os), err)
		}
		if !ok {
			holes++
			continue
		}
		fill += e.encBytes
		if err := j.probeChunk(p, c, e); err != nil {
			return 0, err
		}
	}
	// Rows added blind (join_blind.go) have no match counts to update.
	if j.probeBlind == nil {
		j.probeBlind = func(e *joinRows) error { return j.probeChunk(&j.pr, -1, e) }
	}
	err = j.state.eachBlind(os, k, j.probeBlind)
	if err != nil {
		return 0, fmt.Errorf("read %s state: %w", joinSideName(os), err)
	}
	later, laterRows := p.later, p.laterRows
	for x := range later {
		e, rows := later[x].e, laterRows[later[x].lo:]
		if x+1 < len(later) {
			rows = laterRows[later[x].lo:later[x+1].lo]
		}
		if add {
			err = j.emitJoined(types.Insert, in, b, i, e, rows)
		} else {
			err = j.emitStored(types.Insert, os, e, rows)
		}
		if err != nil {
			break
		}
	}
	clear(later) // do not keep chunks alive
	j.later, j.laterRows = later[:0], laterRows[:0]
	matched := p.matched
	*p = joinProbe{}
	if err != nil {
		return 0, err
	}
	if n > 1 {
		if err := j.state.compact(os, k, n, holes, fill); err != nil {
			return 0, fmt.Errorf("write %s state: %w", joinSideName(os), err)
		}
	}
	return matched, nil
}

// joinProbe is the progress of probe: the probing row (row i of input in
// of b, key k, added or retracted), the match-count change d and the
// count first that marks a change from unmatched to matched or back, the
// stored rows matched so far, and the rows to emit after all chunks.
type joinProbe struct {
	in        int
	b         *types.Batch
	i         int
	k         *joinKeyRef
	add       bool
	d, first  int64
	matched   int64
	later     []joinLater
	laterRows []int32
}

// probeChunk joins p's row with the stored rows of e, chunk c of the
// other side (-1: rows added blind, which are never tracked), as probe
// describes.
func (j *Join) probeChunk(p *joinProbe, c int, e *joinRows) error {
	in, os := p.in, 1-p.in
	ol := &j.sides[os].lay
	sel, err := j.matching(in, p.b, p.i, e)
	if err != nil {
		return err
	}
	trans := j.trans[:0]
	for _, r := range sel {
		p.matched += e.count(ol, int(r))
		if ol.tracked && e.addMatches(ol, int(r), p.d) == p.first {
			trans = append(trans, r)
		}
	}
	j.trans = trans
	if ol.tracked && len(sel) > 0 {
		if err := j.state.put(os, p.k, c, e); err != nil {
			return fmt.Errorf("write %s state: %w", joinSideName(os), err)
		}
	}
	switch {
	case j.semiAnti && in == 1:
		// Left rows getting their first match or losing their last.
		op := types.Insert
		if (j.Spec.Type == AntiJoin) == p.add {
			op = types.Delete
		}
		return j.emitStored(op, 0, e, trans)
	case j.semiAnti:
		// A left row: only its match count matters.
		return nil
	case !ol.tracked:
		op := types.Insert
		if !p.add {
			op = types.Delete
		}
		return j.emitJoined(op, in, p.b, p.i, e, sel)
	case p.add:
		// -D padded, then (later) +I pairs.
		p.later = append(p.later, joinLater{e: e, lo: int32(len(p.laterRows))})
		p.laterRows = append(p.laterRows, sel...)
		return j.emitStored(types.Delete, os, e, trans)
	default:
		// -D pairs, then (later) +I padded.
		p.later = append(p.later, joinLater{e: e, lo: int32(len(p.laterRows))})
		p.laterRows = append(p.laterRows, trans...)
		return j.emitJoined(types.Delete, in, p.b, p.i, e, sel)
	}
}

// joinLater is a chunk whose rows laterRows[lo:] (up to the next
// joinLater's lo) probe emits after reading all chunks.
type joinLater struct {
	e  *joinRows
	lo int32
}

// chunkCount is joinState.chunks with the state TTL (agg_ttl.go) applied:
// expired rows are dropped and reported absent; the access time of rows
// found is refreshed, and written, when it has gone stale, unless the
// caller is going to change them (write), which sets it (touch).
func (j *Join) chunkCount(side int, k *joinKeyRef, write bool) (int, error) {
	n, access, err := j.state.chunks(side, k)
	if err != nil || n == 0 || !j.ttl.enabled() {
		return n, err
	}
	switch {
	case j.ttl.expired(access, j.now):
		return 0, j.state.drop(side, k)
	case !write && j.ttl.stale(access, j.now):
		return n, j.state.touch(side, k, j.now)
	}
	return n, nil
}

// Snapshot implements exec.Snapshotter: it flushes both sides' state,
// after deleting the expired entries of a few key groups (with a
// StateTTL).
func (j *Join) Snapshot(id int64) ([]byte, error) {
	if !j.started {
		return nil, nil
	}
	if ks, ok := j.state.(*joinKeyedState); ok && j.ttl.enabled() {
		if err := ks.sweep(&j.ttl); err != nil {
			return nil, fmt.Errorf("join: checkpoint %d: %w", id, err)
		}
	}
	if err := j.state.flush(); err != nil {
		return nil, fmt.Errorf("join: checkpoint %d: %w", id, err)
	}
	return nil, nil
}

// Close implements exec.Closer. It releases buffers; the state itself is
// left in the store (it belongs to the job's checkpoints). Close is
// idempotent.
func (j *Join) Close() error {
	j.out.Release()
	j.out = nil
	j.cand.Release()
	j.cand = nil
	return nil
}
