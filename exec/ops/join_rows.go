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

// Join state entries.
//
// Each input side of a Join keeps, per join key, the multiset of its rows
// that are currently present: a joinRows entry. The key is the
// state.EncodeKeyColumns encoding of the row's key columns (canonical, so
// SQL-equal keys of both sides encode equally); in keyed state it lives in
// the key group of exec.HashColumns over the key columns, the hash the
// Hash exchange in front of the join routes by.
//
// An entry stores its rows in one flat []int64 (plus a []string for string
// columns), one fixed-size record per row:
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
// hold zero). A small entry (up to joinIndexMinRows records) appends a
// record per added row, so adding a row to an append-only side scans
// nothing; past that size the entry keeps a hash index of its rows,
// merging equal records into one with their counts added, and an added
// row already present increments its record's count. A retraction finds a
// record of its row by hash (a scan of the row hashes in a small entry,
// the index in a large one) and decrements its count; the record is
// removed when the count reaches zero (the records after it moving up in a
// small entry, which so keeps its records in the order they were added;
// the last one moving into its place in a large one). Pairs are emitted by
// gathering columns straight from the records, without building rows.
//
// Two joinState implementations hold the entries: joinMapState in memory
// (both sides of a key in one map entry, one joinRows per side) and
// joinKeyedState in state.KeyedState, which splits a side's rows of a key
// into chunks, each a joinRows of bounded encoded size (encBytes), caches
// them decoded and encodes them with joinRowsCodec when it writes them to
// Badger (see join_chunk.go).

// joinIndexMinRows is the number of records above which an entry keeps a
// hash index of its rows, so that finding a row (to count a copy or apply
// a retraction) stays O(1) for skewed keys.
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
	// recBytes is the part of a record's encoded size (joinRowsCodec)
	// that does not depend on its values: the column count and NULL
	// bitmap of the row, and one byte for each of the count, the match
	// count (tracked sides) and the row length, a close estimate of
	// those varints.
	recBytes int
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
	l.recBytes = joinUvarintLen(uint64(len(ts))) + (len(ts)+7)/8 + 2
	if tracked {
		l.recBytes++
	}
	return l
}

// joinUvarintLen returns the length of the uvarint encoding of x.
func joinUvarintLen(x uint64) int { return max(1, (bits.Len64(x)+6)/7) }

// joinVarintLen returns the length of the varint (zigzag) encoding of x.
func joinVarintLen(x int64) int { return joinUvarintLen(uint64(x<<1) ^ uint64(x>>63)) }

// inputBytes returns the encoded size (see recBytes) of a record of row i
// of b.
func (l *joinLayout) inputBytes(b *types.Batch, i int) int {
	n := l.recBytes
	for c := range l.types {
		v := &b.Cols[c]
		if v.IsNull(i) {
			continue
		}
		switch l.class[c] {
		case types.ClassF64:
			n += 8
		case types.ClassStr:
			n += joinUvarintLen(uint64(len(v.Str[i]))) + len(v.Str[i])
		default:
			n += joinVarintLen(v.I64[i])
		}
	}
	return n
}

// joinRows is the multiset of one side's rows under one join key.
type joinRows struct {
	words []int64
	strs  []string
	n     int // records

	// idx maps a row hash to the record of that row; built once n
	// exceeds joinIndexMinRows. Records whose hash was already in idx
	// when they were added (a 64-bit collision of different rows) are
	// listed in overflow instead.
	idx      map[uint64]int32
	overflow []int32

	strBytes int   // total length of strs, for size
	encBytes int   // encoded size of the records (recordBytes), bounds chunks
	access   int64 // last access, processing time in ms (with a state TTL)

	// The head chunk of a key in keyed state (join_chunk.go) holds the
	// key's meta data: its chunks are numbered 0 (the head)..next-1, and
	// live of them hold rows. Both are 0 in other chunks and in memory.
	next, live uint32
}

// takeRows moves the entry's records to a new entry, which it returns,
// and leaves it without records (its other fields unchanged).
func (e *joinRows) takeRows() *joinRows {
	t := &joinRows{words: e.words, strs: e.strs, n: e.n, idx: e.idx, overflow: e.overflow,
		strBytes: e.strBytes, encBytes: e.encBytes}
	e.words, e.strs, e.n, e.idx, e.overflow, e.strBytes, e.encBytes = nil, nil, 0, nil, nil, 0, 0
	return t
}

// size returns the approximate bytes of memory the entry holds: its
// slices' capacities, the string bytes and the index (a Go map costs
// about 3 words per element with its control bytes and load factor).
func (e *joinRows) size() int {
	return 96 + 8*cap(e.words) + 16*cap(e.strs) + e.strBytes + 24*len(e.idx) + 4*cap(e.overflow)
}

// dropRecord subtracts record r from strBytes and encBytes.
func (e *joinRows) dropRecord(l *joinLayout, r int) {
	e.encBytes -= e.recordBytes(l, r)
	for _, s := range e.strs[r*l.nstr : (r+1)*l.nstr] {
		e.strBytes -= len(s)
	}
}

// recordBytes returns the encoded size of record r (see
// joinLayout.recBytes), as inputBytes does for the row it was added from.
func (e *joinRows) recordBytes(l *joinLayout, r int) int {
	n := l.recBytes
	rec := e.rec(l, r)
	for c := range l.types {
		if uint64(rec[l.nullWord+c/64])>>(c%64)&1 != 0 {
			continue
		}
		switch l.class[c] {
		case types.ClassF64:
			n += 8
		case types.ClassStr:
			s := e.strs[r*l.nstr+int(l.slot[c])]
			n += joinUvarintLen(uint64(len(s))) + len(s)
		default:
			n += joinVarintLen(rec[l.slot[c]])
		}
	}
	return n
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
			e.strBytes += len(v.Str[i])
		default:
			rec[l.slot[c]] = v.I64[i]
		}
	}
	e.n++
	e.encBytes += e.recordBytes(l, r)
	if e.idx != nil {
		e.indexAdd(r, h)
	} else {
		e.buildIndex(l)
	}
	return r
}

// appendRecord adds a copy of record r of src (same layout), counted on an
// equal record instead when the entry is indexed and has one.
func (e *joinRows) appendRecord(l *joinLayout, src *joinRows, r int) {
	nr := e.n
	base := len(e.words)
	e.words = joinGrowWords(e.words, base+l.stride)
	copy(e.words[base:], src.rec(l, r))
	strs := src.strs[r*l.nstr : (r+1)*l.nstr]
	e.strs = append(e.strs, strs...)
	for _, s := range strs {
		e.strBytes += len(s)
	}
	e.n++
	e.encBytes += e.recordBytes(l, nr)
	if e.idx == nil {
		e.buildIndex(l)
		return
	}
	h := e.hash(l, nr)
	if d := e.findRecord(l, nr, h); d >= 0 {
		e.words[d*l.stride+joinWCount] += e.count(l, nr)
		e.removeUnindexed(l, nr)
		return
	}
	e.indexAdd(nr, h)
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
	e.dropRecord(l, r)
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

// remove deletes row r: the rows after it move up in an entry without an
// index (a short copy, which keeps the rows in the order they were added,
// so that a key's rows are emitted in the same order however they are
// chunked), the last row moves into its place in an indexed one.
func (e *joinRows) remove(l *joinLayout, r int) {
	e.dropRecord(l, r)
	last := e.n - 1
	switch {
	case e.idx == nil:
		copy(e.words[r*l.stride:], e.words[(r+1)*l.stride:])
		copy(e.strs[r*l.nstr:], e.strs[(r+1)*l.nstr:])
	case r != last:
		e.indexRemove(l, r)
		copy(e.rec(l, r), e.rec(l, last))
		copy(e.strs[r*l.nstr:(r+1)*l.nstr], e.strs[last*l.nstr:])
		e.indexMove(l, last, r)
	default:
		e.indexRemove(l, r)
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
			e.strBytes += len(d.S)
		default:
			rec[l.slot[c]] = d.I
		}
	}
	e.n++
	e.encBytes += e.recordBytes(l, e.n-1)
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

// joinRowsCodec encodes chunks (join_chunk.go) for state.KeyedState:
//
//	byte        format: joinHeadFormat for the head chunk of a key (its
//	            first, which also holds the key's meta data),
//	            joinChunkFormat for another chunk; 1 and 2 are the former
//	            one-value-per-key layout, read as a head chunk holding all
//	            of the key's rows
//	head only   uvarint next, uvarint live (see joinRows),
//	            varint last access, processing time in ms (see agg_ttl.go;
//	            format 2 has it too, format 1 not)
//	uvarint     number of records
//	per record  uvarint count, uvarint matches (tracked sides only),
//	            uvarint length, the row's values as state.EncodeRow
//	            encodes them (written straight from the record)
//
// Row hashes are not stored; Decode recomputes them. A codec belongs to one
// operator instance (it keeps scratch space), like the operator itself it is
// used from one goroutine.
type joinRowsCodec struct {
	l  *joinLayout
	ds []types.Datum
}

// Formats of joinRowsCodec's encoding.
const (
	joinHeadFormat  = 3
	joinChunkFormat = 4
)

// Encode implements state.Codec.
func (c *joinRowsCodec) Encode(dst []byte, e *joinRows) []byte {
	l := c.l
	if e.next > 0 {
		dst = append(dst, joinHeadFormat)
		dst = binary.AppendUvarint(dst, uint64(e.next))
		dst = binary.AppendUvarint(dst, uint64(e.live))
		dst = binary.AppendVarint(dst, e.access)
	} else {
		dst = append(dst, joinChunkFormat)
	}
	dst = binary.AppendUvarint(dst, uint64(e.n))
	for r := range e.n {
		dst = binary.AppendUvarint(dst, uint64(e.count(l, r)))
		if l.tracked {
			dst = binary.AppendUvarint(dst, uint64(e.matches(l, r)))
		}
		dst = e.appendRow(l, dst, r)
	}
	return dst
}

// appendRow appends the length and the state.EncodeRow encoding of record
// r's values to dst.
func (e *joinRows) appendRow(l *joinLayout, dst []byte, r int) []byte {
	ncols := len(l.types)
	rec := e.rec(l, r)
	strs := e.strs[r*l.nstr : (r+1)*l.nstr]
	size := joinUvarintLen(uint64(ncols)) + (ncols+7)/8
	for c := range ncols {
		if uint64(rec[l.nullWord+c/64])>>(c%64)&1 != 0 {
			continue
		}
		switch l.class[c] {
		case types.ClassF64:
			size += 8
		case types.ClassStr:
			size += joinUvarintLen(uint64(len(strs[l.slot[c]]))) + len(strs[l.slot[c]])
		default:
			size += joinVarintLen(rec[l.slot[c]])
		}
	}
	dst = binary.AppendUvarint(dst, uint64(size))
	dst = binary.AppendUvarint(dst, uint64(ncols))
	bm := len(dst)
	for range (ncols + 7) / 8 {
		dst = append(dst, 0)
	}
	for c := range ncols {
		if uint64(rec[l.nullWord+c/64])>>(c%64)&1 != 0 {
			dst[bm+c/8] |= 1 << (c % 8)
			continue
		}
		switch l.class[c] {
		case types.ClassF64:
			dst = binary.LittleEndian.AppendUint64(dst, uint64(rec[l.slot[c]]))
		case types.ClassStr:
			dst = binary.AppendUvarint(dst, uint64(len(strs[l.slot[c]])))
			dst = append(dst, strs[l.slot[c]]...)
		default:
			dst = binary.AppendVarint(dst, rec[l.slot[c]])
		}
	}
	return dst
}

// Size implements state.Sizer.
func (c *joinRowsCodec) Size(e *joinRows) int { return e.size() }

// Decode implements state.Codec.
func (c *joinRowsCodec) Decode(b []byte) (*joinRows, error) {
	l := c.l
	if len(b) == 0 || b[0] < 1 || b[0] > joinChunkFormat {
		return nil, fmt.Errorf("join state: %w: not a chunk", state.ErrCorrupt)
	}
	var next, live uint64
	var access int64
	var err error
	format := b[0]
	b = b[1:]
	switch format {
	case joinHeadFormat:
		if next, b, err = joinReadUvarint(b, "chunk count"); err != nil {
			return nil, err
		}
		if live, b, err = joinReadUvarint(b, "live chunk count"); err != nil {
			return nil, err
		}
		if live == 0 || live > next || next > math.MaxUint32 {
			return nil, fmt.Errorf("join state: %w: %d live chunks of %d", state.ErrCorrupt, live, next)
		}
	case 1, 2:
		next, live = 1, 1
	}
	if format == joinHeadFormat || format == 2 {
		var k int
		if access, k = binary.Varint(b); k <= 0 {
			return nil, fmt.Errorf("join state: %w: access time", state.ErrCorrupt)
		}
		b = b[k:]
	}
	n, b, err := joinReadUvarint(b, "row count")
	if err != nil {
		return nil, err
	}
	if n > uint64(len(b)) || n == 0 && format != joinHeadFormat {
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
	e.next, e.live, e.access = uint32(next), uint32(live), access
	return e, nil
}

func joinReadUvarint(b []byte, what string) (uint64, []byte, error) {
	v, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, b, fmt.Errorf("join state: %w: %s", state.ErrCorrupt, what)
	}
	return v, b[k:], nil
}
