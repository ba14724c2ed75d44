package ops

import (
	"encoding/binary"
	"fmt"
	"math"
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
// removed (the last one moving into its place) when the count reaches
// zero. Pairs are emitted by gathering columns straight from the records,
// without building rows.
//
// Two joinState implementations hold the entries: joinMapState in memory
// (both sides of a key in one map entry) and joinKeyedState in
// state.KeyedState, which caches entries decoded and encodes them with
// joinRowsCodec when it writes them to Badger.

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
	n     int // records

	// idx maps a row hash to the record of that row; built once n
	// exceeds joinIndexMinRows. Records whose hash was already in idx
	// when they were added (a 64-bit collision of different rows) are
	// listed in overflow instead.
	idx      map[uint64]int32
	overflow []int32

	strBytes int   // total length of strs, for size
	access   int64 // last access, processing time in ms (with a state TTL)
}

// size returns the approximate bytes of memory the entry holds: its
// slices' capacities, the string bytes and the index (a Go map costs
// about 3 words per element with its control bytes and load factor).
func (e *joinRows) size() int {
	return 96 + 8*cap(e.words) + 16*cap(e.strs) + e.strBytes + 24*len(e.idx) + 4*cap(e.overflow)
}

// dropStrs subtracts the strings of record r from strBytes.
func (e *joinRows) dropStrs(l *joinLayout, r int) {
	for _, s := range e.strs[r*l.nstr : (r+1)*l.nstr] {
		e.strBytes -= len(s)
	}
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
	e.dropStrs(l, r)
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
	e.dropStrs(l, r)
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
			e.strBytes += len(d.S)
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

// joinRowsCodec encodes entries for state.KeyedState:
//
//	byte        format version (joinRowsFormat; version 1 has no access time)
//	varint      last access, processing time in ms (see agg_ttl.go)
//	uvarint     number of records
//	per record  uvarint count, uvarint matches (tracked sides only),
//	            uvarint length, state.EncodeRow of the row's values
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
const joinRowsFormat = 2

// Encode implements state.Codec.
func (c *joinRowsCodec) Encode(dst []byte, e *joinRows) []byte {
	l := c.l
	dst = append(dst, joinRowsFormat)
	dst = binary.AppendVarint(dst, e.access)
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

// Size implements state.Sizer.
func (c *joinRowsCodec) Size(e *joinRows) int { return e.size() }

// Decode implements state.Codec.
func (c *joinRowsCodec) Decode(b []byte) (*joinRows, error) {
	l := c.l
	if len(b) == 0 || (b[0] != joinRowsFormat && b[0] != 1) {
		return nil, fmt.Errorf("join state: %w: not format %d", state.ErrCorrupt, joinRowsFormat)
	}
	var access int64
	ver := b[0]
	b = b[1:]
	if ver >= 2 {
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
	e.access = access
	return e, nil
}

func joinReadUvarint(b []byte, what string) (uint64, []byte, error) {
	v, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, b, fmt.Errorf("join state: %w: %s", state.ErrCorrupt, what)
	}
	return v, b[k:], nil
}
