package ops

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strings"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// Join state.
//
// Each input side of a Join keeps, per join key, the multiset of its rows
// that are currently present: a joinRows entry. The key is the
// state.EncodeKeyColumns encoding of the row's key columns (canonical, so
// SQL-equal keys of both sides encode equally); in keyed state it lives in
// the key group of exec.HashColumns over the key columns, the hash the
// Hash exchange in front of the join routes by.
//
// An entry stores its distinct rows in one flat []int64 (plus a []string
// for string columns), one fixed-size record per row:
//
//	word 0            row hash (exec.HashColumns over every column)
//	word 1            count: how many copies of the row are present (> 0)
//	word 2            matches (tracked sides only: outer sides and the
//	                  left side of semi/anti joins): how many rows of the
//	                  other side (copies counted) the row currently joins with
//	next nullWords    NULL bitmap, bit c%64 of word c/64 set = column c NULL
//	then              one word per I64 or F64 column (float bits), in order
//
// and strings at strs[r*nstr+k] for the k-th string column (NULL values
// hold zero). Copies of the same row share one record: adding a row finds
// its record by hash (a linear scan of the row hashes in small entries, a
// hash index in large ones) and increments the count, a retraction
// decrements it, and the record is removed (the last one moving into its
// place) when the count reaches zero. Pairs are emitted by gathering
// columns straight from the records, without building rows.
//
// Two joinState implementations hold the entries: joinMapState in memory
// (both sides of a key in one map entry) and joinKeyedState in
// state.KeyedState, which caches entries decoded and encodes them with
// joinRowsCodec when it writes them to Badger.

// joinIndexMinRows is the number of distinct rows above which an entry keeps a
// hash index of its rows, so that finding a row (to count a duplicate or
// apply a retraction) stays O(1) for skewed keys.
const joinIndexMinRows = 32

// Header words of a row record.
const (
	joinWHash  = 0
	joinWCount = 1
	joinWMatch = 2
)

// joinLayout describes the records of one side's rows.
type joinLayout struct {
	types     []types.Type
	tracked   bool    // records carry a match count
	nullWord  int     // index of the first NULL bitmap word
	nullWords int     // number of NULL bitmap words
	slot      []int32 // per column: word offset in the record, or string index
	class     []types.Class
	stride    int // words per record
	nstr      int // strings per record
}

func newJoinLayout(ts []types.Type, tracked bool) joinLayout {
	l := joinLayout{types: ts, tracked: tracked, nullWord: 2}
	if tracked {
		l.nullWord = 3
	}
	l.nullWords = (len(ts) + 63) / 64
	w := l.nullWord + l.nullWords
	l.slot = make([]int32, len(ts))
	l.class = make([]types.Class, len(ts))
	for c, t := range ts {
		l.class[c] = t.Class()
		if t.Class() == types.ClassStr {
			l.slot[c] = int32(l.nstr)
			l.nstr++
		} else {
			l.slot[c] = int32(w)
			w++
		}
	}
	l.stride = w
	return l
}

// joinRows is the multiset of one side's rows under one join key.
type joinRows struct {
	words []int64
	strs  []string
	n     int // distinct rows

	// idx maps a row hash to a row holding it; built once n exceeds
	// joinIndexMinRows. Rows whose hash was already in idx when they were
	// added (a 64-bit collision) are listed in overflow instead.
	idx      map[uint64]int32
	overflow []int32
}

func (e *joinRows) rec(l *joinLayout, r int) []int64 {
	return e.words[r*l.stride : (r+1)*l.stride]
}

func (e *joinRows) hash(l *joinLayout, r int) uint64 { return uint64(e.words[r*l.stride+joinWHash]) }

// count returns the number of copies of row r.
func (e *joinRows) count(l *joinLayout, r int) int64 { return e.words[r*l.stride+joinWCount] }

// matches returns the match count of row r (0 on untracked sides).
func (e *joinRows) matches(l *joinLayout, r int) int64 {
	if !l.tracked {
		return 0
	}
	return e.words[r*l.stride+joinWMatch]
}

// addMatches adds d to the match count of row r and returns the new count.
func (e *joinRows) addMatches(l *joinLayout, r int, d int64) int64 {
	p := &e.words[r*l.stride+joinWMatch]
	*p += d
	return *p
}

// isNull reports whether column c of row r is NULL.
func (e *joinRows) isNull(l *joinLayout, r, c int) bool {
	return uint64(e.words[r*l.stride+l.nullWord+c/64])>>(c%64)&1 != 0
}

// equalInput reports whether row r holds the values of row i of b (NULL
// equal to NULL, floats compared by canonical bits).
func (e *joinRows) equalInput(l *joinLayout, r int, b *types.Batch, i int) bool {
	base := r * l.stride
	for c := range l.types {
		v := &b.Cols[c]
		null := v.IsNull(i)
		if null != e.isNull(l, r, c) {
			return false
		}
		if null {
			continue
		}
		s := int(l.slot[c])
		switch v.Type.Class() {
		case types.ClassF64:
			if joinFloatBits(v.F64[i]) != joinFloatBits(math.Float64frombits(uint64(e.words[base+s]))) {
				return false
			}
		case types.ClassStr:
			if v.Str[i] != e.strs[r*l.nstr+s] {
				return false
			}
		default:
			if v.I64[i] != e.words[base+s] {
				return false
			}
		}
	}
	return true
}

func joinFloatBits(f float64) uint64 {
	switch {
	case f == 0:
		return 0
	case f != f:
		return 0x7FF8000000000000
	}
	return math.Float64bits(f)
}

// find returns the index of a record of the row equal to row i of b, whose
// row hash is h, or -1.
func (e *joinRows) find(l *joinLayout, b *types.Batch, i int, h uint64) int {
	if e.idx != nil {
		if r, ok := e.idx[h]; ok && e.equalInput(l, int(r), b, i) {
			return int(r)
		}
		for _, r := range e.overflow {
			if e.hash(l, int(r)) == h && e.equalInput(l, int(r), b, i) {
				return int(r)
			}
		}
		return -1
	}
	for r, base := 0, 0; r < e.n; r, base = r+1, base+l.stride {
		if uint64(e.words[base+joinWHash]) == h && e.equalInput(l, r, b, i) {
			return r
		}
	}
	return -1
}

// addInput adds one copy of row i of b (row hash h, match count matches).
// An indexed entry counts it on the row's record if it has one; a small
// entry appends a record without looking for one (records of equal rows
// are merged when the index is built), so that adding a row to an
// append-only side costs no scan of the rows already there.
func (e *joinRows) addInput(l *joinLayout, b *types.Batch, i int, h uint64, matches int64) {
	if e.idx != nil {
		if r := e.find(l, b, i, h); r >= 0 {
			e.words[r*l.stride+joinWCount]++
			return
		}
	}
	e.appendInput(l, b, i, h, 1, matches)
}

// appendInput adds row i of b (row hash h) as a new record with the given
// count and match count, and returns its index.
func (e *joinRows) appendInput(l *joinLayout, b *types.Batch, i int, h uint64, count, matches int64) int {
	r := e.n
	base := len(e.words)
	e.words = joinGrowWords(e.words, base+l.stride)
	rec := e.words[base:]
	rec[joinWHash] = int64(h)
	rec[joinWCount] = count
	if l.tracked {
		rec[joinWMatch] = matches
	}
	for c := range l.types {
		v := &b.Cols[c]
		if v.IsNull(i) {
			rec[l.nullWord+c/64] |= 1 << (c % 64)
			if v.Type.Class() == types.ClassStr {
				e.strs = append(e.strs, "")
			}
			continue
		}
		switch v.Type.Class() {
		case types.ClassF64:
			rec[l.slot[c]] = int64(math.Float64bits(v.F64[i]))
		case types.ClassStr:
			// A copy, so that state does not pin the (possibly large)
			// buffer the input string points into.
			e.strs = append(e.strs, strings.Clone(v.Str[i]))
		default:
			rec[l.slot[c]] = v.I64[i]
		}
	}
	e.n++
	if e.idx != nil {
		e.indexAdd(r, h)
	} else {
		e.buildIndex(l)
	}
	return r
}

// joinGrowWords extends w to length n with zeroed words, growing its capacity
// geometrically (starting at a few records) when needed.
func joinGrowWords(w []int64, n int) []int64 {
	if cap(w) >= n {
		old := len(w)
		w = w[:n]
		clear(w[old:])
		return w
	}
	nw := make([]int64, n, max(2*cap(w), 4*n))
	copy(nw, w)
	return nw
}

// indexAdd records the new row r (hash h) in the index, building the index
// when the entry grows past joinIndexMinRows.
func (e *joinRows) indexAdd(r int, h uint64) {
	if e.idx == nil {
		return
	}
	if _, ok := e.idx[h]; ok {
		e.overflow = append(e.overflow, int32(r))
		return
	}
	e.idx[h] = int32(r)
}

// buildIndex creates the hash index when the entry is large enough. Small
// entries may hold several records of the same row (see addInput); the
// index holds one record per distinct row, so duplicates are merged first
// (their counts added up; their match counts are equal).
func (e *joinRows) buildIndex(l *joinLayout) {
	if e.idx != nil || e.n <= joinIndexMinRows {
		return
	}
	e.idx = make(map[uint64]int32, e.n)
	e.overflow = nil
	for r := 0; r < e.n; {
		h := e.hash(l, r)
		if d := e.findRecord(l, r, h); d >= 0 {
			e.words[d*l.stride+joinWCount] += e.count(l, r)
			e.removeUnindexed(l, r) // the last record moves to r: look at r again
			continue
		}
		e.indexAdd(r, h)
		r++
	}
}

// findRecord returns an indexed record other than r equal to record r
// (whose hash is h), or -1.
func (e *joinRows) findRecord(l *joinLayout, r int, h uint64) int {
	if q, ok := e.idx[h]; ok && e.equalRecords(l, int(q), r) {
		return int(q)
	}
	for _, q := range e.overflow {
		if e.hash(l, int(q)) == h && e.equalRecords(l, int(q), r) {
			return int(q)
		}
	}
	return -1
}

// equalRecords reports whether records a and b hold the same values.
func (e *joinRows) equalRecords(l *joinLayout, a, b int) bool {
	ra, rb := e.rec(l, a), e.rec(l, b)
	for w := l.nullWord; w < l.nullWord+l.nullWords; w++ {
		if ra[w] != rb[w] {
			return false
		}
	}
	for c := range l.types {
		if e.isNull(l, a, c) {
			continue
		}
		s := int(l.slot[c])
		switch l.class[c] {
		case types.ClassF64:
			if joinFloatBits(math.Float64frombits(uint64(ra[s]))) != joinFloatBits(math.Float64frombits(uint64(rb[s]))) {
				return false
			}
		case types.ClassStr:
			if e.strs[a*l.nstr+s] != e.strs[b*l.nstr+s] {
				return false
			}
		default:
			if ra[s] != rb[s] {
				return false
			}
		}
	}
	return true
}

// removeUnindexed deletes record r, which is not in the index, moving the
// last record (not in the index either) into its place.
func (e *joinRows) removeUnindexed(l *joinLayout, r int) {
	last := e.n - 1
	if r != last {
		copy(e.rec(l, r), e.rec(l, last))
		copy(e.strs[r*l.nstr:(r+1)*l.nstr], e.strs[last*l.nstr:])
	}
	e.words = e.words[:last*l.stride]
	clear(e.strs[last*l.nstr:])
	e.strs = e.strs[:last*l.nstr]
	e.n--
}

// remove deletes row r, moving the last row into its place.
func (e *joinRows) remove(l *joinLayout, r int) {
	last := e.n - 1
	if e.idx != nil {
		e.indexRemove(l, r)
	}
	if r != last {
		copy(e.rec(l, r), e.rec(l, last))
		copy(e.strs[r*l.nstr:(r+1)*l.nstr], e.strs[last*l.nstr:])
		if e.idx != nil {
			e.indexMove(l, last, r)
		}
	}
	e.words = e.words[:last*l.stride]
	clear(e.strs[last*l.nstr:])
	e.strs = e.strs[:last*l.nstr]
	e.n--
}

// indexRemove drops row r from the index, promoting an overflow row with the
// same hash if there is one.
func (e *joinRows) indexRemove(l *joinLayout, r int) {
	h := e.hash(l, r)
	if q, ok := e.idx[h]; ok && int(q) == r {
		delete(e.idx, h)
		for k, o := range e.overflow {
			if e.hash(l, int(o)) == h {
				e.idx[h] = o
				e.overflow = joinDeleteAt(e.overflow, k)
				break
			}
		}
		return
	}
	for k, o := range e.overflow {
		if int(o) == r {
			e.overflow = joinDeleteAt(e.overflow, k)
			return
		}
	}
}

// indexMove records that the row at index from now lives at index to.
func (e *joinRows) indexMove(l *joinLayout, from, to int) {
	h := e.hash(l, to)
	if q, ok := e.idx[h]; ok && int(q) == from {
		e.idx[h] = int32(to)
		return
	}
	for k, o := range e.overflow {
		if int(o) == from {
			e.overflow[k] = int32(to)
			return
		}
	}
}

func joinDeleteAt(s []int32, k int) []int32 {
	s[k] = s[len(s)-1]
	return s[:len(s)-1]
}

// datums returns row r as datums, appended to dst.
func (e *joinRows) datums(l *joinLayout, r int, dst []types.Datum) []types.Datum {
	base := r * l.stride
	for c, t := range l.types {
		d := types.Datum{Type: t}
		switch {
		case e.isNull(l, r, c):
			d.Null = true
		case t.Class() == types.ClassF64:
			d.F = math.Float64frombits(uint64(e.words[base+int(l.slot[c])]))
		case t.Class() == types.ClassStr:
			d.S = e.strs[r*l.nstr+int(l.slot[c])]
		default:
			d.I = e.words[base+int(l.slot[c])]
		}
		dst = append(dst, d)
	}
	return dst
}

// appendDatums adds a record holding ds with the given count and matches.
func (e *joinRows) appendDatums(l *joinLayout, ds []types.Datum, count, matches int64) {
	base := len(e.words)
	e.words = joinGrowWords(e.words, base+l.stride)
	rec := e.words[base:]
	rec[joinWHash] = int64(exec.HashDatums(ds))
	rec[joinWCount] = count
	if l.tracked {
		rec[joinWMatch] = matches
	}
	for c := range l.types {
		d := &ds[c]
		if d.Null {
			rec[l.nullWord+c/64] |= 1 << (c % 64)
			if l.types[c].Class() == types.ClassStr {
				e.strs = append(e.strs, "")
			}
			continue
		}
		switch l.types[c].Class() {
		case types.ClassF64:
			rec[l.slot[c]] = int64(math.Float64bits(d.F))
		case types.ClassStr:
			e.strs = append(e.strs, d.S)
		default:
			rec[l.slot[c]] = d.I
		}
	}
	e.n++
}

// gather appends column c of rows (in order) to dst, which has the
// column's class, keeping dst's NULL slice nil or as long as its values.
func (e *joinRows) gather(l *joinLayout, dst *types.Vector, c int, rows []int32) {
	n := joinVecLen(dst, l.class[c])
	stride, s := l.stride, int(l.slot[c])
	nw, bit := l.nullWord+c/64, uint64(1)<<(c%64)
	var nulls uint64
	switch l.class[c] {
	case types.ClassF64:
		for _, r := range rows {
			w := e.words[int(r)*stride:]
			dst.F64 = append(dst.F64, math.Float64frombits(uint64(w[s])))
			nulls |= uint64(w[nw])
		}
	case types.ClassStr:
		for _, r := range rows {
			dst.Str = append(dst.Str, e.strs[int(r)*l.nstr+s])
			nulls |= uint64(e.words[int(r)*stride+nw])
		}
	default:
		for _, r := range rows {
			w := e.words[int(r)*stride:]
			dst.I64 = append(dst.I64, w[s])
			nulls |= uint64(w[nw])
		}
	}
	if nulls&bit == 0 && dst.Nulls == nil {
		return
	}
	dst.Nulls = joinGrowNulls(dst.Nulls, n)
	for _, r := range rows {
		dst.Nulls = append(dst.Nulls, uint64(e.words[int(r)*stride+nw])&bit != 0)
	}
}

func joinVecLen(v *types.Vector, c types.Class) int {
	switch c {
	case types.ClassF64:
		return len(v.F64)
	case types.ClassStr:
		return len(v.Str)
	}
	return len(v.I64)
}

// joinGrowNulls extends nulls with false up to length n.
func joinGrowNulls(nulls []bool, n int) []bool {
	if len(nulls) < n {
		nulls = append(nulls, make([]bool, n-len(nulls))...)
	}
	return nulls
}

// joinAppendVector appends copies of row i of src to dst (same class).
func joinAppendVector(dst, src *types.Vector, c types.Class, i, copies int) {
	n := joinVecLen(dst, c)
	null := src.IsNull(i)
	switch c {
	case types.ClassF64:
		x := src.F64[i]
		for range copies {
			dst.F64 = append(dst.F64, x)
		}
	case types.ClassStr:
		x := src.Str[i]
		for range copies {
			dst.Str = append(dst.Str, x)
		}
	default:
		x := src.I64[i]
		for range copies {
			dst.I64 = append(dst.I64, x)
		}
	}
	joinAppendNullFlags(dst, n, null, copies)
}

// joinAppendNulls appends copies NULLs to dst.
func joinAppendNulls(dst *types.Vector, c types.Class, copies int) {
	n := joinVecLen(dst, c)
	switch c {
	case types.ClassF64:
		for range copies {
			dst.F64 = append(dst.F64, 0)
		}
	case types.ClassStr:
		for range copies {
			dst.Str = append(dst.Str, "")
		}
	default:
		for range copies {
			dst.I64 = append(dst.I64, 0)
		}
	}
	joinAppendNullFlags(dst, n, true, copies)
}

// joinAppendNullFlags extends dst.Nulls after copies values were appended at
// rows n.., which are NULL when null is set. Nulls stays nil while no row is
// NULL; once allocated it is kept as long as the values.
func joinAppendNullFlags(dst *types.Vector, n int, null bool, copies int) {
	if !null && dst.Nulls == nil {
		return
	}
	dst.Nulls = joinGrowNulls(dst.Nulls, n)
	for range copies {
		dst.Nulls = append(dst.Nulls, null)
	}
}

// joinState holds both sides' entries, keyed by side and join key.
//
// Entries returned by get and getOrNew may be modified in place; the
// caller then calls put with the same entry before any other call for the
// same side, or del once the entry is empty. An entry is not used after
// put or del without getting it again.
type joinState interface {
	// get returns the side's entry for the key, if it has one.
	get(side int, k *joinKeyRef) (*joinRows, bool, error)
	// getOrNew returns the side's entry for the key, or an empty one.
	getOrNew(side int, k *joinKeyRef) (*joinRows, error)
	put(side int, k *joinKeyRef, e *joinRows) error
	del(side int, k *joinKeyRef) error
	// flush makes every put and del so far durable (a no-op in memory).
	flush() error
}

// joinMapState is the in-memory joinState, used when the task has no state
// store (unit tests, ad-hoc queries). One map entry per join key holds both
// sides' rows, so processing a row costs one hash-map probe (the second
// lookup of the same key hits the last-entry cache). Key hashes index the
// map; entries whose hashes collide are chained and told apart by their
// key, kept inline when short. Key groups are not needed and are ignored.
type joinMapState struct {
	m        joinTable
	last     *joinKeyEntry // entry of the last lookup, nil when none
	lastH    uint64
	pf       []*joinKeyEntry // entries of pfHashes (nil: absent) from prefetch
	pfHashes []uint64
	sink     int64 // keeps prefetch's loads alive
}

// joinKeyEntry is joinMapState's value for one join key.
type joinKeyEntry struct {
	key     joinMapKey
	next    *joinKeyEntry // next entry with the same hash
	removed bool          // no longer in the map
	rows    [2]joinRows   // per side; n == 0: the side has no rows
}

func newJoinMapState() *joinMapState { return &joinMapState{} }

// joinTable maps key hashes to entries: open addressing with linear
// probing over 16-byte slots, so a probe usually costs one cache line
// (a Go map costs a control word and a slot, often two lines). The slot
// of a hash comes from its high bits after a multiplicative remix: the
// low bits are not uniform within a subtask, whose key groups (hash mod
// max parallelism) are a range.
type joinTable struct {
	slots []joinSlot // len a power of two; nil e: empty
	shift uint       // 64 - log2(len(slots))
	n     int
}

type joinSlot struct {
	h uint64
	e *joinKeyEntry
}

func (t *joinTable) home(h uint64) int { return int((h * 0x9E3779B97F4A7C15) >> t.shift) }

// get returns the entry of h, or nil.
func (t *joinTable) get(h uint64) *joinKeyEntry {
	if t.n == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := t.home(h); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.e == nil || s.h == h {
			return s.e
		}
	}
}

// set makes e (non-nil) the entry of h.
func (t *joinTable) set(h uint64, e *joinKeyEntry) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := len(t.slots) - 1
	for i := t.home(h); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.e == nil {
			*s = joinSlot{h: h, e: e}
			t.n++
			return
		}
		if s.h == h {
			s.e = e
			return
		}
	}
}

// del removes h, shifting back the slots after it that probed past it.
func (t *joinTable) del(h uint64) {
	if t.n == 0 {
		return
	}
	mask := len(t.slots) - 1
	i := t.home(h)
	for ; t.slots[i].h != h || t.slots[i].e == nil; i = (i + 1) & mask {
		if t.slots[i].e == nil {
			return
		}
	}
	for j := (i + 1) & mask; t.slots[j].e != nil; j = (j + 1) & mask {
		// Move slot j to the hole at i unless its home lies cyclically
		// in (i, j], where it can still be found.
		if home := t.home(t.slots[j].h); (j-home)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = joinSlot{}
	t.n--
}

func (t *joinTable) grow() {
	old := t.slots
	size := max(2*len(old), 64)
	t.slots = make([]joinSlot, size)
	t.shift = uint(64 - bits.TrailingZeros(uint(size)))
	t.n = 0
	for _, s := range old {
		if s.e != nil {
			t.set(s.h, s.e)
		}
	}
}

func (s *joinMapState) lookup(h uint64, key []byte) *joinKeyEntry {
	if s.last != nil && s.lastH == h && s.last.key.equal(key) {
		return s.last
	}
	for ke := s.m.get(h); ke != nil; ke = ke.next {
		if ke.key.equal(key) {
			s.last, s.lastH = ke, h
			return ke
		}
	}
	return nil
}

func (s *joinMapState) get(side int, k *joinKeyRef) (*joinRows, bool, error) {
	if ke := s.lookup(k.h, k.key); ke != nil && ke.rows[side].n > 0 {
		return &ke.rows[side], true, nil
	}
	return nil, false, nil
}

func (s *joinMapState) getOrNew(side int, k *joinKeyRef) (*joinRows, error) {
	ke := s.lookup(k.h, k.key)
	if ke == nil {
		ke = &joinKeyEntry{next: s.m.get(k.h)}
		ke.key.set(k.key)
		s.m.set(k.h, ke)
		s.last, s.lastH = ke, k.h
	}
	return &ke.rows[side], nil
}

// put has nothing to do: entries are modified in place.
func (s *joinMapState) put(int, *joinKeyRef, *joinRows) error { return nil }

func (s *joinMapState) del(side int, k *joinKeyRef) error {
	h := k.h
	var prev *joinKeyEntry
	for ke := s.m.get(h); ke != nil; prev, ke = ke, ke.next {
		if !ke.key.equal(k.key) {
			continue
		}
		ke.rows[side] = joinRows{}
		if ke.rows[1-side].n > 0 {
			return nil
		}
		switch {
		case prev != nil:
			prev.next = ke.next
		case ke.next != nil:
			s.m.set(h, ke.next)
		default:
			s.m.del(h)
		}
		ke.removed = true
		if s.last == ke {
			s.last = nil
		}
		return nil
	}
	return nil
}

func (s *joinMapState) flush() error { return nil }

// joinPrefetchRows is the number of rows whose state ProcessInput warms up
// at a time.
const joinPrefetchRows = 64

// joinPrefetcher is implemented by joinStates that can warm up the entries
// of several keys before they are processed one by one: prefetch for the
// next rows of input in (their key hashes and ops), then hint(k) before
// processing the row of hashes[k].
type joinPrefetcher interface {
	prefetch(in int, hashes []uint64, ops []types.Op)
	hint(k int)
}

// prefetch reads the entries of hashes and the row records the rows will
// read: all of the other side's, and of input in's the last one (where an
// added row goes) or all (to find a retracted row). It works in three
// passes (map probes, entries, records) whose loads do not depend on each
// other across keys, so the processor overlaps their cache misses;
// processing the rows one by one afterwards finds them in cache. Random
// probes into a large map are otherwise one cache miss after another: this
// takes a quarter to a third off the time per row of a join over 100 k
// keys. The entries found are kept as hints for the rows' lookups.
func (s *joinMapState) prefetch(in int, hashes []uint64, ops []types.Op) {
	ents := s.pf[:0]
	for _, h := range hashes {
		ents = append(ents, s.m.get(h))
	}
	s.pf, s.pfHashes = ents, hashes
	var sum int64
	for _, ke := range ents {
		if ke != nil {
			sum += int64(ke.key.n) + int64(len(ke.rows[0].words)) + int64(len(ke.rows[1].words))
		}
	}
	for k, ke := range ents {
		if ke == nil {
			continue
		}
		for side := range ke.rows {
			w := ke.rows[side].words
			if len(w) == 0 {
				continue
			}
			if side != in || !ops[k].IsAdd() {
				for x := 0; x < len(w); x += 8 { // one load per cache line
					sum += w[x]
				}
			}
			sum += w[len(w)-1]
		}
	}
	s.sink += sum
}

// hint makes the entry prefetched for hashes[k] the first candidate of the
// next lookups (it is still checked against the key).
func (s *joinMapState) hint(k int) {
	if ke := s.pf[k]; ke != nil && !ke.removed {
		s.last, s.lastH = ke, s.pfHashes[k]
	}
}

// joinInlineKey is the longest key joinMapKey keeps inline.
const joinInlineKey = 24

// joinMapKey is an encoded join key, inline when short.
type joinMapKey struct {
	n     int
	short [joinInlineKey]byte
	long  string
}

func (k *joinMapKey) set(b []byte) {
	k.n = len(b)
	if len(b) <= joinInlineKey {
		copy(k.short[:], b)
		k.long = ""
		return
	}
	k.long = string(b)
}

func (k *joinMapKey) equal(b []byte) bool {
	if len(b) != k.n {
		return false
	}
	if k.n <= joinInlineKey {
		return string(k.short[:k.n]) == string(b)
	}
	return k.long == string(b)
}

// joinRowsCodec encodes entries for state.KeyedState:
//
//	byte     format version (joinRowsFormat)
//	uvarint  number of distinct rows
//	per row  uvarint count, uvarint matches (tracked sides only),
//	         uvarint length, state.EncodeRow of the row's values
//
// Row hashes are not stored; Decode recomputes them. A codec belongs to one
// operator instance (it keeps scratch space), like the operator itself it is
// used from one goroutine.
type joinRowsCodec struct {
	l   *joinLayout
	ds  []types.Datum
	buf []byte
}

// joinRowsFormat is the version byte of joinRowsCodec's encoding.
const joinRowsFormat = 1

// Encode implements state.Codec.
func (c *joinRowsCodec) Encode(dst []byte, e *joinRows) []byte {
	l := c.l
	dst = append(dst, joinRowsFormat)
	dst = binary.AppendUvarint(dst, uint64(e.n))
	for r := range e.n {
		dst = binary.AppendUvarint(dst, uint64(e.count(l, r)))
		if l.tracked {
			dst = binary.AppendUvarint(dst, uint64(e.matches(l, r)))
		}
		c.ds = e.datums(l, r, c.ds[:0])
		c.buf = state.EncodeRow(c.buf[:0], c.ds)
		dst = binary.AppendUvarint(dst, uint64(len(c.buf)))
		dst = append(dst, c.buf...)
	}
	return dst
}

// Decode implements state.Codec.
func (c *joinRowsCodec) Decode(b []byte) (*joinRows, error) {
	l := c.l
	if len(b) == 0 || b[0] != joinRowsFormat {
		return nil, fmt.Errorf("join state: %w: not format %d", state.ErrCorrupt, joinRowsFormat)
	}
	n, b, err := joinReadUvarint(b[1:], "row count")
	if err != nil {
		return nil, err
	}
	if n > uint64(len(b)) {
		return nil, fmt.Errorf("join state: %w: %d rows in %d bytes", state.ErrCorrupt, n, len(b))
	}
	e := &joinRows{words: make([]int64, 0, int(n)*l.stride), strs: make([]string, 0, int(n)*l.nstr)}
	for range n {
		var count, matches, size uint64
		if count, b, err = joinReadUvarint(b, "count"); err != nil {
			return nil, err
		}
		if l.tracked {
			if matches, b, err = joinReadUvarint(b, "match count"); err != nil {
				return nil, err
			}
		}
		if count == 0 {
			return nil, fmt.Errorf("join state: %w: row count 0", state.ErrCorrupt)
		}
		if size, b, err = joinReadUvarint(b, "row length"); err != nil {
			return nil, err
		}
		if size > uint64(len(b)) {
			return nil, fmt.Errorf("join state: %w: row of %d bytes in %d", state.ErrCorrupt, size, len(b))
		}
		if c.ds, err = state.DecodeRow(b[:size], l.types, c.ds); err != nil {
			return nil, fmt.Errorf("join state: %w", err)
		}
		b = b[size:]
		e.appendDatums(l, c.ds, int64(count), int64(matches))
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("join state: %w: %d trailing bytes", state.ErrCorrupt, len(b))
	}
	e.buildIndex(l)
	return e, nil
}

func joinReadUvarint(b []byte, what string) (uint64, []byte, error) {
	v, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, b, fmt.Errorf("join state: %w: %s", state.ErrCorrupt, what)
	}
	return v, b[k:], nil
}

// newState returns the join's state: keyed state in tc.State when the task
// has a state store (namespace exec.StateNamespace(tc) followed by 'L' or
// 'R' per side), else in memory.
func (j *Join) newState(tc *exec.TaskContext) joinState {
	if tc == nil || tc.State == nil {
		return newJoinMapState()
	}
	cache := j.Spec.CacheEntries
	if cache <= 0 {
		cache = DefaultJoinCacheEntries
	}
	ns := exec.StateNamespace(tc)
	s := &joinKeyedState{maxPar: j.maxPar}
	for side, suffix := range []byte{'L', 'R'} {
		codec := &joinRowsCodec{l: &j.sides[side].lay}
		s.ks[side] = state.NewKeyedState[*joinRows](tc.State, append(ns[:len(ns):len(ns)], suffix), codec, cache)
	}
	return s
}

// joinKeyedState keeps each side's entries in a state.KeyedState, which
// caches them decoded (so the operator modifies them in place) and writes
// them back with joinRowsCodec on eviction and at Flush.
type joinKeyedState struct {
	ks     [2]*state.KeyedState[*joinRows]
	maxPar int
}

func (s *joinKeyedState) get(side int, k *joinKeyRef) (*joinRows, bool, error) {
	return s.ks[side].Get(k.group(s.maxPar), k.key)
}

func (s *joinKeyedState) getOrNew(side int, k *joinKeyRef) (*joinRows, error) {
	e, ok, err := s.ks[side].Get(k.group(s.maxPar), k.key)
	if err != nil {
		return nil, err
	}
	if !ok {
		e = &joinRows{}
	}
	return e, nil
}

func (s *joinKeyedState) put(side int, k *joinKeyRef, e *joinRows) error {
	return s.ks[side].Put(k.group(s.maxPar), k.key, e)
}

func (s *joinKeyedState) del(side int, k *joinKeyRef) error {
	return s.ks[side].Delete(k.group(s.maxPar), k.key)
}

func (s *joinKeyedState) flush() error {
	for side := range s.ks {
		if err := s.ks[side].Flush(); err != nil {
			return fmt.Errorf("%s side: %w", joinSideName(side), err)
		}
	}
	return nil
}
