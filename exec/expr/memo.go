package expr

import (
	"hash/maphash"
	"strings"
)

// A memo remembers the results of an expensive deterministic function of one
// string (a regular expression with a constant pattern) for inputs that
// repeat: URLs, user agents, enum-like strings. It is a bounded
// set-associative cache owned by one expression instance, so used by one
// goroutine (Clone gives each copy its own).
//
//	hash(key) ─► set: tags  [memoWays]uint32   (two cache lines)
//	                  slots [memoWays]{key copy, value}
//
// The low bits of the hash pick the set, the high bits make the tag. The
// table starts small and grows when a new key's set is full; at
// memoMaxSets sets a full set evicts a pseudo-random way instead. Keys are
// copied on insert: an input string may view a buffer much larger than
// itself (a connector's arena) that the memo must not keep alive.
//
// It adapts to its input: every memoWindow lookups it checks its hit rate,
// and below memoMinHitPct percent it drops its table and stays off for
// memoFirstOff lookups, twice as long after each further poor window, so
// high-cardinality input pays a counter decrement per row.
type memo[V any] struct {
	seed  maphash.Seed
	tags  []uint32 // per way: its key's tag, 0 when empty; nil until the first put
	slots []memoSlot[V]
	mask  uint64 // sets-1
	clock uint32 // picks the way to evict

	lookups, hits int // in the current window
	skip          int // lookups left to bypass while off
	offLen        int // length of the next off period
}

// memoSlot is one cached result.
type memoSlot[V any] struct {
	key string
	val V
}

const (
	memoWays      = 32
	memoMinSets   = 4
	memoMaxSets   = 512      // 16 384 entries
	memoMaxKey    = 256      // longer inputs are never cached
	memoMaxResult = 1024     // nor are longer string results
	memoWindow    = 64 << 10 // lookups per hit-rate check
	memoMinHitPct = 20
	memoFirstOff  = 16 * memoWindow
	memoMaxOff    = 1 << 30
)

func newMemo[V any]() *memo[V] {
	return &memo[V]{seed: maphash.MakeSeed(), offLen: memoFirstOff}
}

// get returns the value cached for key. On a miss it returns the key's hash
// for put, or 0 when the result must not be cached (the memo is off or the
// key too long).
func (m *memo[V]) get(key string) (v V, h uint64, ok bool) {
	if m.skip > 0 {
		m.skip--
		return v, 0, false
	}
	if len(key) > memoMaxKey {
		return v, 0, false
	}
	// The top bit makes every tag non-zero.
	h = maphash.String(m.seed, key) | 1<<63
	m.lookups++
	if m.tags != nil {
		i, tag := m.locate(h)
		for j, t := range m.tags[i : i+memoWays] {
			if t == tag && m.slots[i+j].key == key {
				v, ok = m.slots[i+j].val, true
				m.hits++
				break
			}
		}
	}
	if m.lookups == memoWindow {
		m.endWindow()
	}
	return v, h, ok
}

// endWindow checks the hit rate of the window just ended.
func (m *memo[V]) endWindow() {
	poor := m.hits*100 < m.lookups*memoMinHitPct
	m.lookups, m.hits = 0, 0
	if !poor {
		m.offLen = memoFirstOff
		return
	}
	m.skip = m.offLen
	m.offLen = min(2*m.offLen, memoMaxOff)
	m.tags, m.slots, m.mask = nil, nil, 0
}

// locate returns the index of the first way of h's set and h's tag.
func (m *memo[V]) locate(h uint64) (int, uint32) {
	return int(h&m.mask) * memoWays, uint32(h >> 32)
}

// put caches v for key, whose hash get returned (0: do not cache).
func (m *memo[V]) put(h uint64, key string, v V) {
	if h == 0 || m.skip > 0 {
		return
	}
	if m.tags == nil {
		m.resize(memoMinSets)
	}
	s := memoSlot[V]{key: strings.Clone(key), val: v}
	for !m.insert(h, s, false) {
		// The key's set is full: grow while there is room, else evict.
		if sets := len(m.tags) / memoWays; sets < memoMaxSets {
			m.resize(min(4*sets, memoMaxSets))
			continue
		}
		m.insert(h, s, true)
		return
	}
}

// resize moves the table to sets sets (a power of two).
func (m *memo[V]) resize(sets int) {
	tags, slots := m.tags, m.slots
	m.tags = make([]uint32, sets*memoWays)
	m.slots = make([]memoSlot[V], sets*memoWays)
	m.mask = uint64(sets - 1)
	for i, t := range tags {
		if t != 0 {
			m.insert(maphash.String(m.seed, slots[i].key)|1<<63, slots[i], true)
		}
	}
}

// insert stores s with hash h in a free way of its set. When the set is
// full it evicts a way if evict is set, else it reports false.
func (m *memo[V]) insert(h uint64, s memoSlot[V], evict bool) bool {
	i, tag := m.locate(h)
	for j, t := range m.tags[i : i+memoWays] {
		if t == 0 {
			m.tags[i+j], m.slots[i+j] = tag, s
			return true
		}
	}
	if !evict {
		return false
	}
	m.clock++
	j := int(m.clock % memoWays)
	m.tags[i+j], m.slots[i+j] = tag, s
	return true
}
