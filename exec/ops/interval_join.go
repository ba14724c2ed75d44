package ops

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// IntervalJoinSpec is the plan of an IntervalJoin.
type IntervalJoinSpec struct {
	// Type is InnerJoin, LeftJoin, RightJoin or FullJoin.
	Type JoinType
	// LeftKeys, RightKeys, LeftTypes, RightTypes and Residual are as in
	// JoinSpec. Without keys the join must run at parallelism 1.
	LeftKeys, RightKeys   []int
	LeftTypes, RightTypes []types.Type
	Residual              expr.Expr
	// LeftTime and RightTime are the rowtime columns (TIMESTAMP or
	// TIMESTAMP_LTZ) of each side.
	LeftTime, RightTime int
	// Lower and Upper bound the left time by the right one, in
	// microseconds, both inclusive: a pair joins only when
	// right.time + Lower <= left.time <= right.time + Upper.
	Lower, Upper int64
	// CacheEntries is the number of join keys per side kept decoded in
	// memory with a state store (0: DefaultJoinCacheEntries).
	CacheEntries int
}

func (s *IntervalJoinSpec) joinSpec() JoinSpec {
	return JoinSpec{Type: s.Type, LeftKeys: s.LeftKeys, RightKeys: s.RightKeys, LeftTypes: s.LeftTypes,
		RightTypes: s.RightTypes, Residual: s.Residual, CacheEntries: s.CacheEntries}
}

// Validate checks the spec.
func (s *IntervalJoinSpec) Validate() error {
	if err := validateTimedJoin(s.joinSpec(), "an interval join", "time", [2]int{s.LeftTime, s.RightTime}); err != nil {
		return err
	}
	if s.Lower > s.Upper {
		return fmt.Errorf("%w: empty interval [%d, %d]", ErrJoinSpec, s.Lower, s.Upper)
	}
	return nil
}

// OutTypes returns the output column types (as JoinSpec.OutTypes).
func (s *IntervalJoinSpec) OutTypes() []types.Type {
	js := s.joinSpec()
	return js.OutTypes()
}

// Delay is how far the output watermark trails the input watermark:
// max(Upper, -Lower, 0). Joined rows carry both times, and a row may join
// another that is older than the watermark by up to that much.
func (s *IntervalJoinSpec) Delay() int64 { return max(s.Upper, -s.Lower, 0) }

// IntervalJoin is Flink's event-time interval join: an equi-join whose
// condition also bounds the left rowtime by the right one, so that each
// row can only ever join rows of a bounded time range and is dropped from
// state once the watermark has passed that range.
//
// Inputs: two append-only streams (ProcessInput: 0 = left, 1 = right; any
// row that is not +I fails), hash-partitioned by their keys. A row with a
// NULL key or a NULL time joins nothing.
//
// Output: append-only (+I). When a row arrives it is joined, in arrival
// order, with the other side's stored rows of its key that satisfy the
// interval and the residual. It is then stored for as long as a later row
// of the other side could still join it: a left row at time t until the
// watermark reaches t - Lower, a right row until it reaches t + Upper (a
// watermark W promises no more rows at or before W). When a row of an
// outer side (LEFT: left, RIGHT: right, FULL: both) leaves state, or
// arrives too late to be stored, without ever having joined, it is
// emitted padded with NULLs. Late rows are not dropped: they join the
// rows still in state. Finish expires every row (a MAX watermark).
// ProcessWatermark forwards the watermark minus Spec.Delay, so joined and
// padded rows of rows that were on time are not late downstream.
//
// State: per side, join key → the side's stored rows (time, whether it
// joined, row), in keyed state under exec.StateNamespace followed by 'L'
// or 'R' (in memory without a state store). Expiry timers live in memory
// and are rebuilt from state in Open. Snapshot flushes the state.
type IntervalJoin struct {
	Spec IntervalJoinSpec

	started   bool
	closed    bool
	maxPar    int
	outTypes  []types.Type
	candTypes []types.Type
	nLeft     int
	stores    [2]kvStore[*ijRows]
	wm        int64
	timers    keyTimers // at expiry, of side ‖ kg ‖ key

	hashes []uint64
	kbuf   []byte
	row    []types.Datum
	out    pendingOut
	cand   *types.Batch
	keep   []bool
	pairs  []int
}

var (
	_ exec.MultiInputOperator = (*IntervalJoin)(nil)
	_ exec.Opener             = (*IntervalJoin)(nil)
	_ exec.WatermarkHandler   = (*IntervalJoin)(nil)
	_ exec.Finisher           = (*IntervalJoin)(nil)
	_ exec.Snapshotter        = (*IntervalJoin)(nil)
	_ exec.Closer             = (*IntervalJoin)(nil)
)

// NewIntervalJoin validates spec and returns an IntervalJoin with its own
// clone of the residual.
func NewIntervalJoin(spec IntervalJoinSpec) (*IntervalJoin, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if spec.Residual != nil {
		spec.Residual = spec.Residual.Clone()
	}
	return &IntervalJoin{Spec: spec}, nil
}

// IntervalJoinFactory returns a factory of IntervalJoins (NewIntervalJoin).
func IntervalJoinFactory(spec IntervalJoinSpec) exec.OperatorFactory {
	return func(int) (exec.Operator, error) { return NewIntervalJoin(spec) }
}

// OutTypes returns the output column types.
func (j *IntervalJoin) OutTypes() []types.Type { return j.Spec.OutTypes() }

// Open implements exec.Opener: it chooses the state store and rebuilds the
// expiry timers of the subtask's key groups from it.
func (j *IntervalJoin) Open(tc *exec.TaskContext) error {
	if err := j.start(tc); err != nil {
		return err
	}
	for side := range j.stores {
		err := scanSubtask(tc, j.maxPar, j.stores[side], func(kg int, key []byte, e *ijRows) error {
			id := ijID(side, kg, key)
			for _, r := range e.rows {
				j.timers.add(j.expiry(side, r.ts), id)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("interval join: restore %s timers: %w", joinSideName(side), err)
		}
	}
	return nil
}

func (j *IntervalJoin) start(tc *exec.TaskContext) error {
	if j.started {
		return nil
	}
	if err := j.Spec.Validate(); err != nil {
		return err
	}
	s := &j.Spec
	j.nLeft = len(s.LeftTypes)
	j.outTypes = s.OutTypes()
	j.out = pendingOut{types: j.outTypes}
	j.candTypes = append(slices.Clone(s.LeftTypes), s.RightTypes...)
	j.maxPar = keyGroupsOf(tc)
	j.wm = math.MinInt64
	j.timers = newKeyTimers(0) // a row expires when the watermark reaches its expiry
	for side, ts := range [2][]types.Type{s.LeftTypes, s.RightTypes} {
		suffix := []byte{"LR"[side]}
		j.stores[side] = openKV[*ijRows](tc, suffix, ijCodec{types: ts}, s.CacheEntries, DefaultJoinCacheEntries)
	}
	j.started = true
	return nil
}

// expiry returns the watermark at which a row of side at time ts can no
// longer join.
func (j *IntervalJoin) expiry(side int, ts int64) int64 {
	if side == 0 {
		return satAdd(ts, -j.Spec.Lower)
	}
	return satAdd(ts, j.Spec.Upper)
}

func satAdd(a, b int64) int64 {
	s := a + b
	if b > 0 && s < a {
		return math.MaxInt64
	}
	if b < 0 && s > a {
		return math.MinInt64
	}
	return s
}

func ijID(side, kg int, key []byte) string {
	return string(append([]byte{byte(side), byte(kg >> 8), byte(kg)}, key...))
}

// Process implements exec.Operator; an IntervalJoin needs ProcessInput.
func (j *IntervalJoin) Process(b *types.Batch, _ exec.Collector) error {
	b.Release()
	return fmt.Errorf("interval %w", ErrJoinInputs)
}

// ProcessInput implements exec.MultiInputOperator.
func (j *IntervalJoin) ProcessInput(input int, b *types.Batch, out exec.Collector) error {
	defer b.Release()
	if j.closed {
		return fmt.Errorf("interval join: operator closed")
	}
	if input != 0 && input != 1 {
		return fmt.Errorf("interval %w: input %d", ErrJoinInputs, input)
	}
	if err := j.start(nil); err != nil {
		return err
	}
	ts, keys, tcol := j.Spec.LeftTypes, j.Spec.LeftKeys, j.Spec.LeftTime
	if input == 1 {
		ts, keys, tcol = j.Spec.RightTypes, j.Spec.RightKeys, j.Spec.RightTime
	}
	if err := joinCheckBatch(b, ts, input); err != nil {
		return fmt.Errorf("interval %w", err)
	}
	n := b.Len()
	if len(keys) == 0 {
		j.hashes = growU64(j.hashes, n)
		h := exec.HashDatums(nil)
		for i := range j.hashes {
			j.hashes[i] = h
		}
	} else {
		j.hashes = exec.HashColumns(b, keys, j.hashes)
	}
	for i := range n {
		if b.Ops[i] != types.Insert {
			return fmt.Errorf("interval join: a %v row on the %s input: an interval join takes append-only inputs", b.Ops[i], joinSideName(input))
		}
		if err := j.add(input, b, i, keys, tcol); err != nil {
			return err
		}
		if j.out.full() {
			if err := j.out.flush(out); err != nil {
				return err
			}
		}
	}
	return j.out.flush(out)
}

// add joins row i of side's batch b with the other side's state, then
// stores it or, when it can no longer join anything, pads it.
func (j *IntervalJoin) add(side int, b *types.Batch, i int, keys []int, tcol int) error {
	j.row = b.Row(i, j.row[:0])
	row := j.row
	if b.Cols[tcol].IsNull(i) || joinKeyHasNull(b, keys, i) {
		if joinOuter(j.Spec.Type, side) {
			j.out.appendPadded(j.nLeft, side, row)
		}
		return nil
	}
	ts := b.Cols[tcol].I64[i]
	kg := exec.KeyGroup(j.hashes[i], j.maxPar)
	j.kbuf = state.EncodeKeyColumns(j.kbuf[:0], b, keys, i)
	key := j.kbuf
	other := 1 - side
	matched := false
	e, ok, err := j.stores[other].get(kg, key)
	if err != nil {
		return fmt.Errorf("interval join: read %s state: %w", joinSideName(other), err)
	}
	if ok && len(e.rows) > 0 {
		changed, err := j.probe(side, row, ts, e)
		if err != nil {
			return err
		}
		matched = changed >= 0
		if changed > 0 {
			if err := j.stores[other].put(kg, key, e); err != nil {
				return fmt.Errorf("interval join: write %s state: %w", joinSideName(other), err)
			}
		}
	}
	exp := j.expiry(side, ts)
	if exp <= j.wm {
		if joinOuter(j.Spec.Type, side) && !matched {
			j.out.appendPadded(j.nLeft, side, row)
		}
		return nil
	}
	mine, ok, err := j.stores[side].get(kg, key)
	if err != nil {
		return fmt.Errorf("interval join: read %s state: %w", joinSideName(side), err)
	}
	if !ok {
		mine = &ijRows{}
	}
	mine.rows = append(mine.rows, ijRow{ts: ts, matched: matched, row: slices.Clone(row)})
	if err := j.stores[side].put(kg, key, mine); err != nil {
		return fmt.Errorf("interval join: write %s state: %w", joinSideName(side), err)
	}
	j.timers.add(exp, ijID(side, kg, key))
	return nil
}

// probe joins row (of side, at time ts) with the other side's rows in e.
// It returns -1 when nothing joined, else the number of stored rows that
// joined for the first time (whose matched flag it set).
func (j *IntervalJoin) probe(side int, row []types.Datum, ts int64, e *ijRows) (int, error) {
	if j.cand == nil {
		j.cand = types.NewBatch(j.candTypes)
	}
	j.cand.Reset(j.candTypes)
	j.pairs = j.pairs[:0]
	lo, hi := j.Spec.Lower, j.Spec.Upper
	for k := range e.rows {
		r := &e.rows[k]
		lt, rt := ts, r.ts
		if side == 1 {
			lt, rt = r.ts, ts
		}
		if lt-rt < lo || lt-rt > hi {
			continue
		}
		j.pairs = append(j.pairs, k)
		j.cand.AppendRow(types.Insert, j.pairRow(side, row, r.row))
	}
	if len(j.pairs) == 0 {
		return -1, nil
	}
	if j.Spec.Residual != nil {
		var err error
		if j.keep, err = expr.Filter(j.Spec.Residual, j.cand, j.keep); err != nil {
			return 0, fmt.Errorf("interval join: residual: %w", err)
		}
	}
	joined, fresh := 0, 0
	for c, k := range j.pairs {
		if j.Spec.Residual != nil && !j.keep[c] {
			continue
		}
		joined++
		j.out.batch().AppendFrom(j.cand, c)
		if !e.rows[k].matched {
			e.rows[k].matched = true
			fresh++
		}
	}
	if joined == 0 {
		return -1, nil
	}
	return fresh, nil
}

// pairRow returns the left row followed by the right row, for a row of
// side and a stored row of the other side.
func (j *IntervalJoin) pairRow(side int, row, stored []types.Datum) []types.Datum {
	l, r := row, stored
	if side == 1 {
		l, r = stored, row
	}
	out := make([]types.Datum, 0, len(l)+len(r))
	return append(append(out, l...), r...)
}

// ProcessWatermark implements exec.WatermarkHandler: it expires the rows
// that can no longer join (padding the unmatched rows of outer sides) and
// forwards wm - Spec.Delay.
func (j *IntervalJoin) ProcessWatermark(wm int64, out exec.Collector) (int64, error) {
	if j.closed {
		return wm, fmt.Errorf("interval join: operator closed")
	}
	if err := j.start(nil); err != nil {
		return wm, err
	}
	if wm > j.wm {
		j.wm = wm
		if err := j.expire(out); err != nil {
			return wm, err
		}
	}
	if wm == math.MinInt64 || wm == math.MaxInt64 {
		return wm, nil
	}
	return satAdd(wm, -j.Spec.Delay()), nil
}

// Finish implements exec.Finisher: every stored row expires.
func (j *IntervalJoin) Finish(out exec.Collector) error {
	if j.closed {
		return fmt.Errorf("interval join: operator closed")
	}
	if err := j.start(nil); err != nil {
		return err
	}
	j.wm = math.MaxInt64
	return j.expire(out)
}

// expire fires the timers at or before j.wm, in order of time and then of
// side and key.
func (j *IntervalJoin) expire(out exec.Collector) error {
	return j.timers.fire(j.wm, &j.out, out, j.expireKey)
}

// expireKey drops the expired rows of one side and key.
func (j *IntervalJoin) expireKey(id string) error {
	side := int(id[0])
	kg, key := splitKgKeyID(id[1:])
	e, ok, err := j.stores[side].get(kg, key)
	if err != nil {
		return fmt.Errorf("interval join: read %s state: %w", joinSideName(side), err)
	}
	if !ok {
		return nil // already expired by an earlier timer of the key
	}
	kept := e.rows[:0]
	for _, r := range e.rows {
		if j.expiry(side, r.ts) > j.wm {
			kept = append(kept, r)
			continue
		}
		if joinOuter(j.Spec.Type, side) && !r.matched {
			j.out.appendPadded(j.nLeft, side, r.row)
		}
	}
	if len(kept) == len(e.rows) {
		return nil
	}
	clear(e.rows[len(kept):])
	e.rows = kept
	if len(kept) == 0 {
		err = j.stores[side].del(kg, key)
	} else {
		err = j.stores[side].put(kg, key, e)
	}
	if err != nil {
		return fmt.Errorf("interval join: write %s state: %w", joinSideName(side), err)
	}
	return nil
}

// StateKeys returns the number of join keys per side with rows in state
// (for tests of expiry).
func (j *IntervalJoin) StateKeys() (left, right int, err error) {
	if !j.started {
		return 0, 0, nil
	}
	if left, err = countKV(j.stores[0]); err != nil {
		return 0, 0, err
	}
	if right, err = countKV(j.stores[1]); err != nil {
		return 0, 0, err
	}
	return left, right, nil
}

// Snapshot implements exec.Snapshotter: it flushes the keyed state.
func (j *IntervalJoin) Snapshot(id int64) ([]byte, error) {
	if !j.started {
		return nil, nil
	}
	for side := range j.stores {
		if err := checkpointKV(j.stores[side], "interval join: "+joinSideName(side)+" state", id); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// Close implements exec.Closer; the state stays in the store.
func (j *IntervalJoin) Close() error {
	j.closed = true
	j.out.release()
	j.cand.Release()
	j.cand = nil
	return nil
}

// ijRows are the stored rows of one side and join key.
type ijRows struct{ rows []ijRow }

type ijRow struct {
	ts      int64
	matched bool
	row     []types.Datum
}

// ijCodec encodes ijRows: format version (1), uvarint row count, then per
// row varint time, a matched byte, uvarint length and state.EncodeRow.
type ijCodec struct{ types []types.Type }

const ijFormatVersion = 1

// Encode implements state.Codec.
func (c ijCodec) Encode(dst []byte, e *ijRows) []byte {
	dst = append(dst, ijFormatVersion)
	dst = binary.AppendUvarint(dst, uint64(len(e.rows)))
	var scratch []byte
	for _, r := range e.rows {
		dst = binary.AppendVarint(dst, r.ts)
		m := byte(0)
		if r.matched {
			m = 1
		}
		dst = append(dst, m)
		scratch = state.EncodeRow(scratch[:0], r.row)
		dst = binary.AppendUvarint(dst, uint64(len(scratch)))
		dst = append(dst, scratch...)
	}
	return dst
}

// Decode implements state.Codec.
func (c ijCodec) Decode(b []byte) (*ijRows, error) {
	if len(b) == 0 || b[0] != ijFormatVersion {
		return nil, fmt.Errorf("interval join state: bad format version: %w", state.ErrCorrupt)
	}
	n, b, err := joinReadUvarint(b[1:], "row count")
	if err != nil {
		return nil, fmt.Errorf("interval join state: %w", err)
	}
	if n > uint64(len(b)) {
		return nil, fmt.Errorf("interval join state: %d rows in %d bytes: %w", n, len(b), state.ErrCorrupt)
	}
	e := &ijRows{rows: make([]ijRow, 0, n)}
	for range n {
		ts, k := binary.Varint(b)
		if k <= 0 || k >= len(b) {
			return nil, fmt.Errorf("interval join state: bad row time: %w", state.ErrCorrupt)
		}
		matched := b[k] == 1
		var l uint64
		if l, b, err = joinReadUvarint(b[k+1:], "row length"); err != nil {
			return nil, fmt.Errorf("interval join state: %w", err)
		}
		if l > uint64(len(b)) {
			return nil, fmt.Errorf("interval join state: row of %d bytes in %d: %w", l, len(b), state.ErrCorrupt)
		}
		row, err := state.DecodeRow(b[:l], c.types, nil)
		if err != nil {
			return nil, fmt.Errorf("interval join state: %w", err)
		}
		e.rows = append(e.rows, ijRow{ts: ts, matched: matched, row: row})
		b = b[l:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("interval join state: %d trailing bytes: %w", len(b), state.ErrCorrupt)
	}
	return e, nil
}
