package ops

import (
	"math/bits"

	"github.com/sluicesql/sluice/exec/types"
)

// Join state stores: where the entries of join_rows.go live. joinState is
// the interface Join uses; joinMapState keeps them in memory, and
// joinKeyedState (join_chunk.go) in state.KeyedState.

// joinState holds both sides' rows, keyed by side and join key. A side's
// rows of one key are a sequence of chunks, each a joinRows, numbered
// 0..n-1; a number may be a hole (no chunk). Together, in chunk order,
// they hold the rows in the order they were added (see joinRows.remove):
// new rows go to the last chunk or to a new chunk after it. joinMapState
// keeps one chunk per key and side.
//
// Chunks returned by chunk and tail may be modified in place; the caller
// then calls put with the same chunk before any other call for the same
// side, or del once the chunk is empty. The caller may go on reading a
// chunk while it gets and puts other chunks of the key: of the calls, only
// tail, del and compact change what the state holds (tail the head and
// the last chunk, compact all chunks of the key).
type joinState interface {
	// chunks returns the number of chunk numbers the side's rows of the
	// key span, 0 when it has none, and their last access time (a
	// processing time in ms, see touch).
	chunks(side int, k *joinKeyRef) (n int, access int64, err error)
	// chunk returns chunk c (c < n, from chunks) of the side's rows of
	// the key, or false for a hole.
	chunk(side int, k *joinKeyRef, c int) (*joinRows, bool, error)
	// tail returns the chunk row i of b is to be added to, and its
	// number: the last chunk when it is at hand and has room, else a
	// new, empty one after it; or, with number -1, rows that are added
	// blind (join_blind.go). The caller adds the row and puts it.
	tail(side int, k *joinKeyRef, b *types.Batch, i int) (int, *joinRows, error)
	// eachBlind calls fn with each of the side's rows of the key added
	// blind (tail returned them with number -1), after the chunks in
	// reading order. fn must not change them or call the state.
	eachBlind(side int, k *joinKeyRef, fn func(*joinRows) error) error
	put(side int, k *joinKeyRef, c int, e *joinRows) error
	// del deletes chunk c, which is empty; the key's rows are gone
	// when it was the last chunk with rows.
	del(side int, k *joinKeyRef, c int) error
	// compact may rewrite the side's chunks of the key more densely
	// (keeping the rows' order); the caller has just read all n of them
	// and found holes holes and chunks of fill encoded bytes
	// (joinRows.encBytes) in all.
	compact(side int, k *joinKeyRef, n, holes, fill int) error
	// touch sets the access time of the side's rows of the key, if any.
	touch(side int, k *joinKeyRef, now int64) error
	// drop deletes all of the side's rows of the key.
	drop(side int, k *joinKeyRef) error
	// flush makes every change so far durable (a no-op in memory).
	flush() error
}

// joinMapState is the in-memory joinState, used when the task has no state
// store (unit tests, ad-hoc queries); it is unbounded and not durable. One
// entry per join key holds both sides' rows, so processing a row costs one
// table probe (the second lookup of the same key hits the last-entry
// cache, and prefetch hints make even the first one a cache hit). A
// joinTable indexes the entries by key hash; entries whose hashes collide
// are chained and told apart by their key, kept inline when short. Key
// groups are not needed and are ignored.
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

func (s *joinMapState) chunks(side int, k *joinKeyRef) (int, int64, error) {
	if ke := s.lookup(k.h, k.key); ke != nil && ke.rows[side].n > 0 {
		return 1, ke.rows[side].access, nil
	}
	return 0, 0, nil
}

func (s *joinMapState) chunk(side int, k *joinKeyRef, _ int) (*joinRows, bool, error) {
	if ke := s.lookup(k.h, k.key); ke != nil && ke.rows[side].n > 0 {
		return &ke.rows[side], true, nil
	}
	return nil, false, nil
}

func (s *joinMapState) tail(side int, k *joinKeyRef, _ *types.Batch, _ int) (int, *joinRows, error) {
	ke := s.lookup(k.h, k.key)
	if ke == nil {
		ke = &joinKeyEntry{next: s.m.get(k.h)}
		ke.key.set(k.key)
		s.m.set(k.h, ke)
		s.last, s.lastH = ke, k.h
	}
	return 0, &ke.rows[side], nil
}

// put has nothing to do: entries are modified in place.
func (s *joinMapState) put(int, *joinKeyRef, int, *joinRows) error { return nil }

func (s *joinMapState) compact(int, *joinKeyRef, int, int, int) error { return nil }

// eachBlind implements joinState: in memory no row is added blind.
func (s *joinMapState) eachBlind(int, *joinKeyRef, func(*joinRows) error) error { return nil }

func (s *joinMapState) touch(side int, k *joinKeyRef, now int64) error {
	if ke := s.lookup(k.h, k.key); ke != nil && ke.rows[side].n > 0 {
		ke.rows[side].access = now
	}
	return nil
}

func (s *joinMapState) drop(side int, k *joinKeyRef) error { return s.del(side, k, 0) }

func (s *joinMapState) del(side int, k *joinKeyRef, _ int) error {
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
	// prefetch warms up the state of the rows whose key hashes, ops and
	// encoded keys are given: the k-th key is keys[keyEnds[k-1]:keyEnds[k]]
	// (from 0 for k = 0), empty for a NULL key or a join without keys.
	prefetch(in int, hashes []uint64, ops []types.Op, keys []byte, keyEnds []int32)
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
func (s *joinMapState) prefetch(in int, hashes []uint64, ops []types.Op, _ []byte, _ []int32) {
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
