package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
)

// Keyed operator state.
//
// Layout of one operator's keys (NSOperator, see doc.go):
//
//	0x03 EncodeKey-style job id (0x00 escaped, 0x00 0x01 terminated)
//	     vertex (4 bytes BE, sign bit flipped) operator index (4 bytes, same)
//	     key group (2 bytes BE) key → Codec-encoded value
//
// The first three components are OperatorNamespace; JobNamespace is the
// prefix shared by all state of one job. Both are prefix-free: no
// namespace is a prefix of another one's keys.

// Codec encodes and decodes values of type V for KeyedState.
//
// Encode appends the encoding of v to dst and returns the extended slice.
// Decode decodes a value from b; b is only valid during the call, so Decode
// must copy whatever it keeps (strings, byte slices). Decode returns an
// error wrapping ErrCorrupt for bytes Encode did not produce.
type Codec[V any] interface {
	Encode(dst []byte, v V) []byte
	Decode(b []byte) (V, error)
}

// Sizer is implemented by a Codec whose values KeyedState should bound by
// memory as well as by count. Size returns the approximate number of bytes
// of memory v holds (its own and what it references, e.g. slices and
// strings); it is called on every Put and load, so it should be O(1), e.g.
// from sizes the value maintains. An estimate within a small factor is
// enough: it decides when entries are evicted, not what is stored.
type Sizer[V any] interface {
	Size(v V) int
}

// DefaultCacheBytes is the memory budget of a KeyedState whose Codec is a
// Sizer, unless SetCacheBytes says otherwise: the cached values' sizes
// plus EntryOverhead per entry. A job has a few keyed states per stateful
// operator and subtask, so this keeps a job's caches well under a GiB.
const DefaultCacheBytes = 64 << 20

// EntryOverhead is the bytes a cached entry is counted for besides its
// value's Size: the entry, its index slots and the value's header.
const EntryOverhead = 96

// JobNamespace returns the prefix of every key of the operator state of job
// jobID: NSOperator followed by the escaped, terminated job id. Deleting it
// (Store.DeletePrefix) deletes all state of the job.
func JobNamespace(jobID string) []byte {
	return appendStringKey(append(make([]byte, 0, len(jobID)+11), NSOperator), jobID)
}

// OperatorNamespace returns the key prefix of one operator's state: the
// state namespace byte (NSOperator), the job id, the vertex and the
// operator's index in the vertex's chain. vertex and op must fit in an
// int32 (op may be negative, e.g. -1 for a vertex's source). Distinct
// arguments give namespaces none of which is a prefix of another.
func OperatorNamespace(jobID string, vertex, op int) []byte {
	ns := JobNamespace(jobID)
	ns = binary.BigEndian.AppendUint32(ns, uint32(int32(vertex))^(1<<31))
	return binary.BigEndian.AppendUint32(ns, uint32(int32(op))^(1<<31))
}

// MaxKeyGroups is the number of key groups KeyedState can address (key
// groups are stored as 2 bytes).
const MaxKeyGroups = 1 << 16

// ErrNoStore is returned by KeyedState methods that need Badger when the
// KeyedState was created without a Store.
var ErrNoStore = errors.New("state: keyed state has no store")

// Entry flags.
const (
	flagDirty   uint8 = 1 << iota // differs from Badger: written back on eviction or Flush
	flagDeleted                   // tombstone: the key has no value
	flagRef                       // referenced since the clock hand last passed
	flagVictim                    // chosen by the eviction round in progress
)

// maxInline is the longest key group ‖ key kept inside a cache entry.
// Inline keys are zero-padded to maxInline bytes and compared and hashed
// as three 64-bit words; longer keys live in KeyedState.long.
const maxInline = 24

// cacheEntry is one cached key and its value. Keys up to maxInline bytes
// (the common case: a key group and one or two encoded columns) live in the
// entry itself, so a lookup touches the index slot and the entry and
// nothing else.
type cacheEntry[V any] struct {
	val   V
	inl   [maxInline]byte // key group ‖ key, zero-padded, when it fits
	kn    uint8           // length of the inline key; 0: free slot; longKey: key in KeyedState.long
	flags uint8
	size  uint32 // bytes counted for the entry in KeyedState.bytes (0 without a Sizer)
}

// longKey in cacheEntry.kn says the key is in KeyedState.long.
const longKey = 0xFF

// words returns the three little-endian words of a padded inline key.
func words(b *[maxInline]byte) (w0, w1, w2 uint64) {
	return binary.LittleEndian.Uint64(b[0:8]), binary.LittleEndian.Uint64(b[8:16]),
		binary.LittleEndian.Uint64(b[16:24])
}

// inlineIs reports whether the entry holds the inline key of n bytes whose
// padded words are w0, w1, w2.
func (e *cacheEntry[V]) inlineIs(n int, w0, w1, w2 uint64) bool {
	x0, x1, x2 := words(&e.inl)
	return int(e.kn) == n && x0 == w0 && x1 == w1 && x2 == w2
}

// KeyedState keeps values of type V by (key group, key) in Badger under a
// namespace (usually OperatorNamespace), with an in-memory write-back cache
// of at most cacheEntries recently used keys and, when the Codec is a
// Sizer, at most about CacheBytes bytes of them (DefaultCacheBytes unless
// SetCacheBytes changes it).
//
// Values are kept decoded in the cache, so a hot key costs neither encoding
// nor decoding. What Get returns for a cached key is the cached value
// itself: for reference types (slices, maps, pointers) the caller shares it
// with the cache and must not modify it unless it then Puts it (changes
// without Put are lost or persisted at random, depending on eviction).
// Likewise Put keeps v as it is: the caller must not modify v afterwards
// except before another Put of the same key.
//
// Writes go to the cache and reach Badger when the entry is evicted (the
// least recently used entries, approximated with a clock / second-chance
// sweep, are evicted in rounds of cacheEntries/8 entries, or of 1/8 of the
// byte budget when that is what is exceeded, written in one
// badger.WriteBatch per round) or at Flush. A value larger than the whole
// byte budget stays cached while it is being updated (the other entries
// go first) and leaves the cache at a later round like any other. Badger therefore holds, after
// Flush, exactly what the cache held; between flushes it holds an older
// mixture, which is why checkpoints call Flush. Reads see the cache first,
// then Badger.
//
// Cache misses cost one Badger read; absent keys are cached too (as clean
// tombstones), so repeated misses of the same key do not reach Badger. A
// miss on a key that is provably absent costs no read at all: a key group
// that held no value when the KeyedState first needed Badger, and a key
// this KeyedState never wrote back with a value (the absent-key filter,
// see keyed_filter.go; FilterBytes is its memory, at most about 16 MiB
// besides an 8 KiB bitset). The proof relies on the contract below that
// nothing else writes the key groups a KeyedState uses while it is in use.
//
// A KeyedState is used by one goroutine (the operator's subtask) and is not
// safe for concurrent use. Different KeyedStates of one Store may be used
// concurrently. KeyedStates may share a namespace only when they use
// disjoint key groups: the subtasks of one operator share its namespace
// (OperatorNamespace has no subtask), each owning the key groups of
// KeyGroupRange, which is what lets state be redistributed at another
// parallelism. Scan and Drop cover every key group; ScanKeyGroups and
// DropKeyGroups one subtask's share.
//
// Errors from Badger are returned wrapped. After a failed write-back (in
// Get, Put, Delete or Flush) no entry has left the cache and dirty entries
// are still dirty, so nothing is lost and the call may be retried.
//
// Versions: keyed state lives in the Store's managed-mode state database.
// With an Epoch (SetEpoch), every Badger read is at the epoch's timestamp
// and every write-back (eviction or Flush) is written at it, so what
// Flush leaves at the timestamp W of checkpoint n is exactly the state at
// the barrier, and writes of the next epoch (at a later timestamp) can be
// rolled back with Store.RestoreNamespace. A write-back of a key already
// written at the same timestamp replaces it (see TestSameTsOverwrite).
// Without an Epoch, each write-back round gets its own fresh timestamp
// (Store.NextTs) and reads see the newest versions: unversioned state for
// jobs without checkpoints, tests and ad-hoc queries. When the Epoch is
// asynchronous (Epoch.SetAsync, as the runtime sets it), Flush only encodes
// the dirty entries and writes them from a background goroutine registered
// with the Epoch; evictions, drops and scans wait for that write first, so
// nothing reads Badger before a value flushed there has landed.
type KeyedState[V any] struct {
	st    *Store
	ns    []byte
	codec Codec[V]
	max   int
	epoch *Epoch // nil: a fresh timestamp per write-back, reads at LatestTs
	// inflight receives the result of the background write-back started
	// by an asynchronous Flush, nil when none runs.
	inflight chan error

	sizer    Sizer[V] // codec as a Sizer; nil: no byte budget
	bytes    int64    // sum of the entries' sizes
	maxBytes int64    // byte budget (with a sizer)

	ents     []cacheEntry[V]
	n        int     // used entries
	freeList []int32 // free slots in ents
	hand     int     // clock hand
	last     int32   // entry of the last lookup, -1 when none

	// The index from keys to entries is an open-addressing hash table with
	// linear probing, at most half full. A slot holds the upper 32 bits of
	// the key's hash (the fingerprint, whose low bits also give the home
	// slot, so the table can grow without rehashing keys) and the entry
	// index + 1; 0 is an empty slot. Deletion shifts back (no tombstones).
	seed uint64
	tab  []uint64
	mask uint64

	long map[int32][]byte // keys of entries with kn == longKey

	// gens counts the uses of each entry slot, so a Handle taken before
	// the slot was evicted and reused is recognised as stale.
	gens []uint32

	kin     [maxInline]byte // scratch: padded inline key group ‖ key
	kbuf    []byte          // scratch: key group ‖ key when longer
	fbuf    []byte          // scratch: namespace ‖ key group ‖ key
	arena   []byte          // encoded keys and values of one write batch
	wbKVs   []stateKV       // scratch: the entries of one write batch
	victims []int32         // scratch: entries being written back

	peek []peekKey // scratch of Peek

	// Absent-key filter (keyed_filter.go).
	freshChecked bool           // fresh is computed
	fresh        []uint64       // bitset of the fresh key groups
	written      FingerprintSet // keys written back with a value
	loads        int            // Badger reads by load, for tests
}

// NewKeyedState returns an empty KeyedState over the keys of st under
// namespace (which is copied), caching at most cacheEntries keys (at least
// one). The namespace must not be a prefix of another user's keys; use
// OperatorNamespace.
func NewKeyedState[V any](st *Store, namespace []byte, codec Codec[V], cacheEntries int) *KeyedState[V] {
	if cacheEntries < 1 {
		cacheEntries = 1
	}
	k := &KeyedState[V]{
		st:       st,
		ns:       slices.Clone(namespace),
		codec:    codec,
		max:      cacheEntries,
		seed:     rand.Uint64(),
		last:     -1,
		maxBytes: DefaultCacheBytes,
		written:  NewFingerprintSet(maxWrittenBytes),
	}
	k.sizer, _ = codec.(Sizer[V])
	return k
}

// SetCacheBytes sets the byte budget of the cache (see KeyedState) to n,
// at least one entry's worth; it has no effect unless the Codec is a
// Sizer. A smaller budget takes effect at the next Put or load.
func (k *KeyedState[V]) SetCacheBytes(n int64) { k.maxBytes = max(n, EntryOverhead) }

// CacheBytes returns the bytes the cached entries are counted for (0
// unless the Codec is a Sizer).
func (k *KeyedState[V]) CacheBytes() int64 { return k.bytes }

// setSize records v as the value of entry i for the byte budget.
func (k *KeyedState[V]) setSize(i int32, v V, present bool) {
	if k.sizer == nil {
		return
	}
	e := &k.ents[i]
	n := int64(EntryOverhead)
	if present {
		n += int64(max(k.sizer.Size(v), 0))
	}
	n = min(n, 1<<32-1)
	k.bytes += n - int64(e.size)
	e.size = uint32(n)
}

// overBudget reports whether the cached values exceed the byte budget.
func (k *KeyedState[V]) overBudget() bool { return k.sizer != nil && k.bytes > k.maxBytes }

// afterPut evicts when entry i's new value took the cache over its byte
// budget, keeping entry i (which is being updated) cached.
func (k *KeyedState[V]) afterPut(i int32) error {
	if !k.overBudget() {
		return nil
	}
	return k.evictRound(i)
}

// SetEpoch makes every later read and write-back use e's timestamp (see
// KeyedState); nil returns to unversioned use. The operator calls it once,
// with its subtask's Epoch, before using the state. It makes the
// absent-key filter check the key groups again at the next read.
func (k *KeyedState[V]) SetEpoch(e *Epoch) {
	k.epoch = e
	k.freshChecked, k.fresh = false, nil
}

// readTs returns the timestamp Badger reads are made at.
func (k *KeyedState[V]) readTs() uint64 {
	if k.epoch == nil {
		return LatestTs
	}
	return k.epoch.Ts()
}

// writeTs returns the timestamp of the next write-back.
func (k *KeyedState[V]) writeTs() (uint64, error) {
	if k.st == nil {
		return 0, ErrNoStore
	}
	if k.epoch == nil {
		return k.st.NextTs(), nil
	}
	ts := k.epoch.Ts()
	if ts == 0 {
		return 0, errors.New("state: keyed state epoch has no timestamp")
	}
	return ts, nil
}

// Namespace returns the namespace the state's keys are stored under. The
// caller must not modify it.
func (k *KeyedState[V]) Namespace() []byte { return k.ns }

// Len returns the number of cached entries, including cached tombstones of
// deleted or absent keys.
func (k *KeyedState[V]) Len() int { return k.n }

// keyOf returns the key group ‖ key of entry i. The result aliases the
// cache: it must not be kept across changes of the cache.
func (k *KeyedState[V]) keyOf(i int32) []byte {
	e := &k.ents[i]
	if e.kn == longKey {
		return k.long[i]
	}
	return e.inl[:e.kn]
}

// keyGroupOf returns the key group of entry i.
func (k *KeyedState[V]) keyGroupOf(i int32) int {
	mk := k.keyOf(i)
	return int(mk[0])<<8 | int(mk[1])
}

// lookup returns the index of the cached entry of (keyGroup, key), or -1
// and mk = key group ‖ key (in scratch space) for the caller to insert.
// The entry of the previous lookup is checked first without hashing: an
// update is a Get and a Put of the same key.
func (k *KeyedState[V]) lookup(keyGroup int, key []byte) (i int32, mk []byte, err error) {
	if uint(keyGroup) >= MaxKeyGroups {
		return -1, nil, fmt.Errorf("state: key group %d out of range [0, %d)", keyGroup, MaxKeyGroups)
	}
	n := 2 + len(key)
	if n > maxInline {
		i, mk = k.lookupLong(keyGroup, key)
		return i, mk, nil
	}
	b := &k.kin
	*b = [maxInline]byte{} // three stores, cheaper than clearing the tail
	b[0], b[1] = byte(keyGroup>>8), byte(keyGroup)
	copy(b[2:], key)
	w0, w1, w2 := words(b)
	if l := k.last; l >= 0 && k.ents[l].inlineIs(n, w0, w1, w2) {
		return l, nil, nil
	}
	mk = b[:n]
	if k.n == 0 {
		return -1, mk, nil
	}
	fp := wordHash(k.seed, n, w0, w1, w2) >> 32
	for p := fp & k.mask; ; p = (p + 1) & k.mask {
		s := k.tab[p]
		if s == 0 {
			return -1, mk, nil
		}
		if s>>32 == fp {
			if i := int32(uint32(s)) - 1; k.ents[i].inlineIs(n, w0, w1, w2) {
				k.last = i
				return i, nil, nil
			}
		}
	}
}

// lookupLong is lookup for keys longer than maxInline.
func (k *KeyedState[V]) lookupLong(keyGroup int, key []byte) (int32, []byte) {
	k.kbuf = append(append(k.kbuf[:0], byte(keyGroup>>8), byte(keyGroup)), key...)
	mk := k.kbuf
	if l := k.last; l >= 0 && k.ents[l].kn == longKey && bytes.Equal(k.long[l], mk) {
		return l, nil
	}
	if k.n == 0 {
		return -1, mk
	}
	fp := k.hash(mk) >> 32
	for p := fp & k.mask; ; p = (p + 1) & k.mask {
		s := k.tab[p]
		if s == 0 {
			return -1, mk
		}
		if s>>32 == fp {
			if i := int32(uint32(s)) - 1; k.ents[i].kn == longKey && bytes.Equal(k.long[i], mk) {
				k.last = i
				return i, nil
			}
		}
	}
}

// find returns the index of the cached entry for mk (key group ‖ key), or
// -1. It is the slow path of lookup, for tests and Scan.
func (k *KeyedState[V]) find(mk []byte) int32 {
	if len(mk) < 2 {
		return -1
	}
	i, _, err := k.lookup(int(mk[0])<<8|int(mk[1]), mk[2:])
	if err != nil {
		return -1
	}
	return i
}

// hash hashes a key group ‖ key the way lookup does. The index keeps its
// upper 32 bits.
func (k *KeyedState[V]) hash(mk []byte) uint64 {
	if len(mk) <= maxInline {
		var b [maxInline]byte
		copy(b[:], mk)
		w0, w1, w2 := words(&b)
		return wordHash(k.seed, len(mk), w0, w1, w2)
	}
	h := k.seed ^ uint64(len(mk))*prime1
	for len(mk) >= 8 {
		h = combine(h, binary.LittleEndian.Uint64(mk))
		mk = mk[8:]
	}
	if len(mk) > 0 {
		var b [8]byte
		copy(b[:], mk)
		h = combine(h, binary.LittleEndian.Uint64(b[:]))
	}
	return fmix64(h)
}

// wordHash hashes an inline key of n bytes given as its padded words,
// with a per-KeyedState seed: a few multiplications, every input bit mixed
// into the upper 32 bits the index uses.
func wordHash(seed uint64, n int, w0, w1, w2 uint64) uint64 {
	h := seed ^ uint64(n)*prime1
	h = combine(h, w0)
	h = combine(h, w1)
	h = combine(h, w2)
	return fmix64(h)
}

// tabInsert adds entry i with key mk to the index, growing it when it
// would be more than half full.
func (k *KeyedState[V]) tabInsert(mk []byte, i int32) {
	if 2*(k.n+1) > len(k.tab) {
		k.tabGrow()
	}
	fp := k.hash(mk) >> 32
	p := fp & k.mask
	for k.tab[p] != 0 {
		p = (p + 1) & k.mask
	}
	k.tab[p] = fp<<32 | uint64(uint32(i+1))
}

func (k *KeyedState[V]) tabGrow() {
	old := k.tab
	k.tab = make([]uint64, max(64, 2*len(old)))
	k.mask = uint64(len(k.tab) - 1)
	for _, s := range old {
		if s == 0 {
			continue
		}
		p := (s >> 32) & k.mask
		for k.tab[p] != 0 {
			p = (p + 1) & k.mask
		}
		k.tab[p] = s
	}
}

// tabDelete removes entry i with key mk from the index, shifting later
// slots of its probe run back so that no lookup stops early.
func (k *KeyedState[V]) tabDelete(mk []byte, i int32) {
	fp := k.hash(mk) >> 32
	want := fp<<32 | uint64(uint32(i+1))
	p := fp & k.mask
	for k.tab[p] != want {
		if k.tab[p] == 0 {
			return // not indexed; cannot happen
		}
		p = (p + 1) & k.mask
	}
	for {
		k.tab[p] = 0
		q := p
		for {
			q = (q + 1) & k.mask
			s := k.tab[q]
			if s == 0 {
				return
			}
			// The slot at q may stay unless its home h lies cyclically
			// outside (p, q], in which case the hole at p would cut it off.
			h := (s >> 32) & k.mask
			if p <= q {
				if p < h && h <= q {
					continue
				}
			} else if p < h || h <= q {
				continue
			}
			k.tab[p] = s
			p = q
			break
		}
	}
}

// free removes entry i from the index and the cache.
func (k *KeyedState[V]) free(i int32) {
	k.tabDelete(k.keyOf(i), i)
	if k.ents[i].kn == longKey {
		delete(k.long, i)
	}
	k.bytes -= int64(k.ents[i].size)
	k.ents[i] = cacheEntry[V]{}
	k.freeList = append(k.freeList, i)
	k.n--
}

// Get returns the value of key in keyGroup and whether it has one. It looks
// in the cache first, then in Badger; what Badger returns (also the absence
// of a value) is cached, which may evict other entries. key is not
// retained.
func (k *KeyedState[V]) Get(keyGroup int, key []byte) (v V, ok bool, err error) {
	i, mk, err := k.lookup(keyGroup, key)
	if err != nil {
		return v, false, err
	}
	if i >= 0 {
		e := &k.ents[i]
		e.flags |= flagRef
		if e.flags&flagDeleted != 0 {
			return v, false, nil
		}
		return e.val, true, nil
	}
	v, ok, err = k.load(mk)
	if err != nil {
		return v, false, err
	}
	if i, err = k.insert(mk); err != nil {
		return v, false, err
	}
	e := &k.ents[i]
	if ok {
		e.val = v
	} else {
		e.flags = flagDeleted
	}
	k.setSize(i, v, ok)
	return v, ok, nil
}

// Peek sets vals[x] to the cached value of the x-th key (keyGroups[x],
// keys[ends[x-1]:ends[x]], from 0 for x = 0) and ok[x] to whether it has
// one. It only looks in the cache: a key that is not cached, is empty or
// is long (2 + len(key) over 24 bytes) gets ok[x] false, without reading
// Badger. It changes nothing, not even recency. It exists to warm up the
// CPU caches before a run of Gets: it works in passes over the keys (the
// index's home slots, then the entries), whose memory accesses do not
// depend on each other across keys, so the processor overlaps their cache
// misses. vals and ok must be at least as long as keyGroups; values are
// shared with the cache as Get's are.
func (k *KeyedState[V]) Peek(keyGroups []int32, keys []byte, ends []int32, vals []V, ok []bool) {
	ps := k.peek[:0]
	var zero V
	start := int32(0)
	for x, kg := range keyGroups {
		key := keys[start:ends[x]]
		start = ends[x]
		vals[x], ok[x] = zero, false
		n := 2 + len(key)
		if k.n == 0 || len(key) == 0 || n > maxInline || uint(kg) >= MaxKeyGroups {
			ps = append(ps, peekKey{})
			continue
		}
		var b [maxInline]byte
		b[0], b[1] = byte(kg>>8), byte(kg)
		copy(b[2:], key)
		w0, w1, w2 := words(&b)
		ps = append(ps, peekKey{w: [3]uint64{w0, w1, w2}, fp: wordHash(k.seed, n, w0, w1, w2) >> 32, n: int32(n)})
	}
	k.peek = ps
	for x := range ps { // the home slots, which hold most keys
		if p := &ps[x]; p.n != 0 {
			p.slot = k.tab[p.fp&k.mask]
		}
	}
	for x := range ps { // the entries
		p := &ps[x]
		if p.n == 0 || p.slot == 0 {
			continue
		}
		n, w := int(p.n), &p.w
		i := int32(-1)
		if j := int32(uint32(p.slot)) - 1; p.slot>>32 == p.fp && k.ents[j].inlineIs(n, w[0], w[1], w[2]) {
			i = j
		} else {
			for q := (p.fp + 1) & k.mask; ; q = (q + 1) & k.mask {
				s := k.tab[q]
				if s == 0 {
					break
				}
				if j := int32(uint32(s)) - 1; s>>32 == p.fp && k.ents[j].inlineIs(n, w[0], w[1], w[2]) {
					i = j
					break
				}
			}
		}
		if i >= 0 && k.ents[i].flags&flagDeleted == 0 {
			vals[x], ok[x] = k.ents[i].val, true
		}
	}
}

// peekKey is Peek's scratch for one key: its padded words, fingerprint,
// length (0: not looked up) and home slot.
type peekKey struct {
	w    [3]uint64
	fp   uint64
	slot uint64
	n    int32
}

// Handle names the cache entry a GetHandle call found or loaded, so that
// the value can be marked changed without a second lookup (PutHandle). A
// handle goes stale when the entry is evicted; PutHandle then looks the
// key up again. The zero Handle is always stale.
type Handle struct {
	idx int32
	gen uint32
}

// GetHandle is Get that also returns a Handle to the key's cache entry.
func (k *KeyedState[V]) GetHandle(keyGroup int, key []byte) (v V, ok bool, h Handle, err error) {
	v, ok, err = k.Get(keyGroup, key)
	if err != nil || k.last < 0 {
		return v, ok, Handle{}, err
	}
	return v, ok, Handle{idx: k.last + 1, gen: k.gens[k.last]}, nil
}

// PutHandle is Put for a key whose entry h names (from GetHandle with the
// same keyGroup and key): when h is still current it stores v without a
// lookup, otherwise it falls back to Put.
func (k *KeyedState[V]) PutHandle(h Handle, keyGroup int, key []byte, v V) error {
	if i := h.idx - 1; i >= 0 && int(i) < len(k.ents) && k.gens[i] == h.gen && k.ents[i].kn != 0 {
		e := &k.ents[i]
		e.val = v
		e.flags = flagDirty | flagRef
		k.setSize(i, v, true)
		return k.afterPut(i)
	}
	return k.Put(keyGroup, key, v)
}

// Put sets the value of key in keyGroup. It goes to the cache, marked
// dirty; key is copied. When the cache is full, an eviction round first
// writes the least recently used dirty entries to Badger.
func (k *KeyedState[V]) Put(keyGroup int, key []byte, v V) error {
	i, mk, err := k.lookup(keyGroup, key)
	if err != nil {
		return err
	}
	if i < 0 {
		if i, err = k.insert(mk); err != nil {
			return err
		}
	}
	e := &k.ents[i]
	e.val = v
	e.flags = flagDirty | flagRef
	k.setSize(i, v, true)
	return k.afterPut(i)
}

// Delete removes the value of key in keyGroup: a tombstone in the cache,
// deleted from Badger on write-back. Deleting a key known to be absent
// costs nothing.
func (k *KeyedState[V]) Delete(keyGroup int, key []byte) error {
	i, mk, err := k.lookup(keyGroup, key)
	if err != nil {
		return err
	}
	if i < 0 {
		if i, err = k.insert(mk); err != nil {
			return err
		}
	}
	e := &k.ents[i]
	if e.flags&(flagDeleted|flagDirty) == flagDeleted {
		return nil // known absent from the cache and Badger
	}
	var zero V
	e.val = zero
	e.flags = e.flags&flagRef | flagDirty | flagDeleted
	k.setSize(i, zero, false)
	return nil
}

// Flush writes every dirty entry to Badger in one batch (split into
// transactions of Badger's maximum size) and keeps the entries cached,
// clean. When Flush returns nil, Badger holds the state as seen through
// the cache. Checkpoints call it.
func (k *KeyedState[V]) Flush() error {
	if err := k.waitInflight(); err != nil {
		return err
	}
	if k.epoch != nil && k.epoch.Async() && k.st != nil {
		return k.flushAsync()
	}
	k.victims = k.victims[:0]
	for i := range k.ents {
		if e := &k.ents[i]; e.kn != 0 && e.flags&flagDirty != 0 {
			k.victims = append(k.victims, int32(i))
		}
	}
	if len(k.victims) == 0 {
		return nil
	}
	if err := k.writeBack(k.victims); err != nil {
		return err
	}
	for _, i := range k.victims {
		k.ents[i].flags &^= flagDirty
	}
	return nil
}

// flushAsync encodes every dirty entry, marks it clean and writes the
// batch to Badger at the current write timestamp from a background
// goroutine registered with the Epoch (see Epoch.SetAsync). Until that
// write is done the entries must not leave the cache without waiting for
// it (waitInflight), or a read from Badger could miss their values.
func (k *KeyedState[V]) flushAsync() error {
	ts, err := k.writeTs()
	if err != nil {
		return err
	}
	var buf []byte // one arena owned by the writer goroutine
	var ents []stateKV
	for i := range k.ents {
		e := &k.ents[i]
		if e.kn == 0 || e.flags&flagDirty == 0 {
			continue
		}
		start := len(buf)
		buf = append(append(buf, k.ns...), k.keyOf(int32(i))...)
		w := stateKV{key: buf[start:len(buf):len(buf)]}
		if e.flags&flagDeleted == 0 {
			k.noteWritten(k.keyOf(int32(i)))
			vstart := len(buf)
			buf = k.codec.Encode(buf, e.val)
			w.val = buf[vstart:len(buf):len(buf)]
		}
		ents = append(ents, w)
		e.flags &^= flagDirty
		if len(buf) >= maxAsyncFlushBytes {
			// Bound the memory a checkpoint holds encoded: what is beyond
			// the limit is written now, in the synchronous phase.
			if err := writeStateKVs(k.st.sdb, ts, ents); err != nil {
				return err
			}
			k.epoch.AddWritten(int64(len(buf)))
			buf, ents = buf[:0], ents[:0]
		}
	}
	if len(ents) == 0 {
		return nil
	}
	done := make(chan error, 2) // one result for waitInflight, one for the Epoch
	k.inflight = done
	k.epoch.track(done)
	db, epoch, written := k.st.sdb, k.epoch, int64(len(buf))
	go func() {
		err := writeStateKVs(db, ts, ents)
		if err == nil {
			epoch.AddWritten(written)
		}
		done <- err
		done <- err
	}()
	return nil
}

// maxAsyncFlushBytes bounds the encoded entries one asynchronous flush
// hands to its writer goroutine; a flush encoding more writes the excess
// before returning. An aggregate with huge accumulators (COUNT DISTINCT
// over millions of values) would otherwise hold a second, encoded copy of
// its whole cache during every checkpoint.
const maxAsyncFlushBytes = 16 << 20

// stateKV is a key and its encoded value (nil: a delete) to write.
type stateKV struct{ key, val []byte }

// writeStateKVs writes kvs to the state database at ts: in key order
// (loadSorted) from loadSortedMin entries on, else in one write batch.
func writeStateKVs(db *badger.DB, ts uint64, kvs []stateKV) error {
	if len(kvs) >= loadSortedMin {
		return loadSorted(db, ts, kvs)
	}
	wb := db.NewWriteBatchAt(ts)
	for _, w := range kvs {
		var err error
		if w.val == nil {
			err = wb.Delete(w.key)
		} else {
			err = wb.Set(w.key, w.val)
		}
		if err != nil {
			wb.Cancel()
			return fmt.Errorf("state: write back keyed state: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("state: write back keyed state: %w", err)
	}
	return nil
}

// loadSortedMin is the smallest number of entries writeStateKVs writes
// through loadSorted. Badger's KVLoader allocates room for a whole
// transaction's entries (tens of thousands of pointers) per loader and
// per request, which a small write-back does not repay: with it for
// every write-back, the join tests with tiny caches (many write-backs of
// a few entries) ran five times as long.
const loadSortedMin = 512

// loadSorted writes kvs (a nil val is a delete) to db at ts in key order
// through Badger's KVLoader, and waits until they are written. A write
// batch hands its entries to Badger's write goroutine in map order; in
// key order, inserting them into the memtable's skip list finds their
// neighbours in the CPU caches instead of missing on almost every level
// (Nexmark q7 at 10 M events: 50 -> 45 s). The entries carry no
// transaction marker, so after a crash a batch may be found written in
// part: state recovery rolls back every version after the restored
// checkpoint anyway (RestoreNamespace), and a checkpoint's versions are
// complete once SyncState returned. The loader does not copy kvs.
func loadSorted(db *badger.DB, ts uint64, kvs []stateKV) error {
	slices.SortFunc(kvs, func(a, b stateKV) int { return bytes.Compare(a.key, b.key) })
	l := db.NewKVLoader(4)
	for _, w := range kvs {
		kv := &pb.KV{Key: w.key, Value: w.val, Version: ts}
		if w.val == nil {
			kv.Meta = badgerDeleteMeta
		}
		if err := l.Set(kv); err != nil {
			_ = l.Finish()
			return fmt.Errorf("state: write keyed state: %w", err)
		}
	}
	if err := l.Finish(); err != nil {
		return fmt.Errorf("state: write keyed state: %w", err)
	}
	return nil
}

// badgerDeleteMeta is the meta byte of a delete in Badger's KV format
// (bitDelete, as in its backups, which KVLoader restores).
var badgerDeleteMeta = []byte{1}

// waitInflight waits for this KeyedState's background write-back, if one
// is running, and returns its error.
func (k *KeyedState[V]) waitInflight() error {
	if k.inflight == nil {
		return nil
	}
	err := <-k.inflight
	k.inflight = nil
	return err
}

// Drop deletes every key of the namespace, in every key group, from the
// cache (dirty entries are discarded) and from Badger: the state of the
// operator in all its subtasks (see DropKeyGroups for one subtask's
// share). Badger keys are deleted in batches of bounded size, like
// Store.DeletePrefix; Badger's DropPrefix, which blocks every writer of
// the database, is not used. With an Epoch the deletes are written at its
// timestamp, so they belong to the epoch like any write-back. The deletion
// is not atomic: after an error some keys may remain, and Drop may be
// called again.
func (k *KeyedState[V]) Drop() error {
	if err := k.waitInflight(); err != nil {
		return err
	}
	k.ents, k.n, k.freeList, k.hand, k.last = nil, 0, nil, 0, -1
	k.tab, k.mask, k.long, k.bytes = nil, 0, nil, 0
	ts, err := k.writeTs()
	if err != nil {
		return err
	}
	if _, err := k.st.deleteStatePrefix(k.ns, max(ts, k.readTs()), ts); err != nil {
		return fmt.Errorf("state: drop keyed state: %w", err)
	}
	return nil
}

// DropKeyGroups is Drop restricted to the key groups first..last
// (inclusive), e.g. one subtask's range (KeyGroupRange). Same batching and
// error behaviour as Drop.
func (k *KeyedState[V]) DropKeyGroups(first, last int) error {
	if err := k.waitInflight(); err != nil {
		return err
	}
	first, last = max(first, 0), min(last, MaxKeyGroups-1)
	for i := range k.ents {
		if k.ents[i].kn == 0 {
			continue
		}
		if kg := k.keyGroupOf(int32(i)); kg >= first && kg <= last {
			k.free(int32(i))
		}
	}
	k.last = -1
	ts, err := k.writeTs()
	if err != nil {
		return err
	}
	readTs := max(ts, k.readTs())
	prefix := slices.Clip(k.ns)
	for kg := first; kg <= last; kg++ {
		if _, err := k.st.deleteStatePrefix(append(prefix, byte(kg>>8), byte(kg)), readTs, ts); err != nil {
			return fmt.Errorf("state: drop key group %d of keyed state: %w", kg, err)
		}
	}
	return nil
}

// Scan calls fn for every key that has a value, in every key group, with
// the cache overlaid on Badger: cached values (and tombstones, which hide
// Badger's values) win. Keys come in (key group, key) order. key is only
// valid during the call. fn must not call methods of k. Scan stops at the
// first error of fn and returns it unwrapped.
//
// The subtasks of one operator share its namespace, each owning a range of
// key groups; Scan also returns what other subtasks wrote to Badger. A
// subtask scans its own share with ScanKeyGroups.
func (k *KeyedState[V]) Scan(fn func(keyGroup int, key []byte, v V) error) error {
	return k.ScanKeyGroups(0, MaxKeyGroups-1, fn)
}

// ScanKeyGroups is Scan restricted to the key groups first..last
// (inclusive), e.g. one subtask's range (KeyGroupRange).
func (k *KeyedState[V]) ScanKeyGroups(first, last int, fn func(keyGroup int, key []byte, v V) error) error {
	if k.st == nil {
		return ErrNoStore
	}
	if err := k.waitInflight(); err != nil {
		return err
	}
	first, last = max(first, 0), min(last, MaxKeyGroups-1)
	if first > last {
		return nil
	}
	order := make([]int32, 0, k.n)
	for i := range k.ents {
		if k.ents[i].kn == 0 {
			continue
		}
		if kg := k.keyGroupOf(int32(i)); kg >= first && kg <= last {
			order = append(order, int32(i))
		}
	}
	slices.SortFunc(order, func(a, b int32) int { return bytes.Compare(k.keyOf(a), k.keyOf(b)) })

	var kb []byte // scratch for cached keys
	next := 0     // next entry of order to emit
	emitCached := func(i int32) error {
		e := &k.ents[i]
		if e.flags&flagDeleted != 0 {
			return nil
		}
		ek := k.keyOf(i)
		kb = append(kb[:0], ek[2:]...)
		return fn(int(ek[0])<<8|int(ek[1]), kb, e.val)
	}
	var fnErr error // fn's error, returned unwrapped
	err := k.st.viewState(k.readTs(), func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.Prefix = k.ns
		it := txn.NewIterator(io)
		defer it.Close()
		start := append(slices.Clip(k.ns), byte(first>>8), byte(first))
		for it.Seek(start); it.ValidForPrefix(k.ns); it.Next() {
			item := it.Item()
			mk := item.Key()[len(k.ns):]
			if len(mk) < 2 {
				return fmt.Errorf("%w: keyed state key %x", ErrCorrupt, item.Key())
			}
			if int(mk[0])<<8|int(mk[1]) > last {
				break
			}
			for next < len(order) && bytes.Compare(k.keyOf(order[next]), mk) < 0 {
				if fnErr = emitCached(order[next]); fnErr != nil {
					return fnErr
				}
				next++
			}
			if next < len(order) && bytes.Equal(k.keyOf(order[next]), mk) {
				if fnErr = emitCached(order[next]); fnErr != nil {
					return fnErr
				}
				next++
				continue
			}
			v, err := k.decodeItem(item)
			if err != nil {
				return err
			}
			if fnErr = fn(int(mk[0])<<8|int(mk[1]), mk[2:], v); fnErr != nil {
				return fnErr
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("state: scan keyed state: %w", err)
	}
	for ; next < len(order); next++ {
		if err := emitCached(order[next]); err != nil {
			return err
		}
	}
	return nil
}

// decodeItem decodes the value of a Badger item of the KeyedState.
func (k *KeyedState[V]) decodeItem(item *badger.Item) (v V, err error) {
	err = item.Value(func(b []byte) error {
		var err error
		v, err = k.codec.Decode(b)
		return err
	})
	if err != nil {
		return v, fmt.Errorf("state: read keyed state %x: %w", item.Key(), err)
	}
	return v, nil
}

// load reads the value of mk (key group ‖ key) from Badger.
func (k *KeyedState[V]) load(mk []byte) (v V, ok bool, err error) {
	if k.st == nil {
		return v, false, ErrNoStore
	}
	if k.certainlyAbsent(mk) {
		return v, false, nil
	}
	k.loads++
	k.fbuf = append(append(k.fbuf[:0], k.ns...), mk...)
	err = k.st.viewState(k.readTs(), func(txn *badger.Txn) error {
		item, err := txn.Get(k.fbuf)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		return item.Value(func(b []byte) error {
			var err error
			v, err = k.codec.Decode(b)
			return err
		})
	})
	if err != nil {
		return v, false, fmt.Errorf("state: read keyed state %x: %w", k.fbuf, err)
	}
	return v, ok, nil
}

// insert adds a clean, unreferenced entry for mk (which must not be cached),
// evicting first when the cache is full, and returns its index.
func (k *KeyedState[V]) insert(mk []byte) (int32, error) {
	if k.n >= k.max || k.overBudget() {
		if err := k.evictRound(-1); err != nil {
			return -1, err
		}
	}
	var i int32
	if n := len(k.freeList); n > 0 {
		i = k.freeList[n-1]
		k.freeList = k.freeList[:n-1]
	} else {
		i = int32(len(k.ents))
		k.ents = append(k.ents, cacheEntry[V]{})
		k.gens = append(k.gens, 0)
	}
	k.gens[i]++
	e := &k.ents[i]
	if len(mk) <= maxInline {
		e.kn = uint8(copy(e.inl[:], mk)) // the rest of inl is zero: free slots are zeroed
	} else {
		e.kn = longKey
		if k.long == nil {
			k.long = make(map[int32][]byte)
		}
		k.long[i] = slices.Clone(mk)
	}
	k.tabInsert(mk, i)
	k.n++
	k.last = i
	return i, nil
}

// evictRound runs one eviction round: a clock sweep picks entries not
// referenced since the hand last passed them, other than entry keep (-1:
// none), until max/8 (at least one) are picked when the cache is full by
// count and until the rest fit in 7/8 of the byte budget when it is over
// that; their dirty ones are written to Badger in one batch, and then they
// leave the cache. On a write error nothing leaves the cache.
func (k *KeyedState[V]) evictRound(keep int32) error {
	// Entries flushed in the background are clean but not yet in Badger.
	if err := k.waitInflight(); err != nil {
		return err
	}
	want := 0
	if k.n >= k.max {
		want = max(1, k.max/8)
	}
	target := k.bytes // no byte target
	if k.overBudget() {
		target = k.maxBytes - k.maxBytes/8
	}
	freed := int64(0)
	k.victims = k.victims[:0]
	for scanned := 0; (len(k.victims) < want || k.bytes-freed > target) && scanned < 2*len(k.ents); scanned++ {
		if k.hand >= len(k.ents) {
			k.hand = 0
		}
		e := &k.ents[k.hand]
		switch {
		case e.kn == 0 || e.flags&flagVictim != 0 || int32(k.hand) == keep:
		case e.flags&flagRef != 0:
			e.flags &^= flagRef
		default:
			e.flags |= flagVictim
			k.victims = append(k.victims, int32(k.hand))
			freed += int64(e.size)
		}
		k.hand++
	}
	if err := k.writeBack(k.victims); err != nil {
		for _, i := range k.victims {
			k.ents[i].flags &^= flagVictim
		}
		return err
	}
	for _, i := range k.victims {
		k.free(i)
	}
	k.last = -1
	return nil
}

// maxArena is the largest write-back buffer kept between rounds.
const maxArena = 4 << 20

// writeBack writes the dirty entries among idx to Badger at the write
// timestamp, in batches of about maxArena encoded bytes each, and waits
// until they are written. It does not change the entries. The bytes
// written are added to the Epoch.
//
// A write-back never holds a key twice, so the order of its batches does
// not matter. Bounding the batch bounds the memory a write-back of a
// large cache (Flush at a checkpoint) needs besides the cache.
func (k *KeyedState[V]) writeBack(idx []int32) error {
	var w *batchWriter[V]
	for _, i := range idx {
		e := &k.ents[i]
		if e.flags&flagDirty == 0 {
			continue
		}
		if w == nil {
			ts, err := k.writeTs()
			if err != nil {
				return err
			}
			w = k.newBatchWriter(ts)
		}
		del := e.flags&flagDeleted != 0
		if !del {
			k.noteWritten(k.keyOf(i))
		}
		if err := w.put(k.keyOf(i), nil, e.val, del); err != nil {
			return err
		}
	}
	if w == nil {
		return nil
	}
	return w.finish()
}

// batchWriter writes a KeyedState's entries at one timestamp in batches
// of about maxArena encoded bytes (writeStateKVs: in key order), keeping
// the encodings in the KeyedState's arena. The loader references the
// keys and values until a batch is written, so every one gets its own
// bytes in the arena; after a write nothing references them and the
// arena is reused.
type batchWriter[V any] struct {
	k       *KeyedState[V]
	ts      uint64
	arena   []byte
	kvs     []stateKV
	written int64
}

func (k *KeyedState[V]) newBatchWriter(ts uint64) *batchWriter[V] {
	return &batchWriter[V]{k: k, ts: ts, arena: k.arena[:0], kvs: k.wbKVs[:0]}
}

// put adds the entry of key namespace ‖ a ‖ b: v encoded, or a delete.
func (w *batchWriter[V]) put(a, b []byte, v V, del bool) error {
	start := len(w.arena)
	w.arena = append(append(append(w.arena, w.k.ns...), a...), b...)
	kv := stateKV{key: w.arena[start:len(w.arena):len(w.arena)]}
	if !del {
		vstart := len(w.arena)
		w.arena = w.k.codec.Encode(w.arena, v)
		kv.val = w.arena[vstart:len(w.arena):len(w.arena)]
	}
	w.kvs = append(w.kvs, kv)
	if len(w.arena) >= maxArena {
		return w.write()
	}
	return nil
}

// write writes the entries added since the last write.
func (w *batchWriter[V]) write() error {
	if len(w.kvs) == 0 {
		return nil
	}
	if err := writeStateKVs(w.k.st.sdb, w.ts, w.kvs); err != nil {
		return err
	}
	w.written += int64(len(w.arena))
	clear(w.kvs)
	w.kvs, w.arena = w.kvs[:0], w.arena[:0]
	return nil
}

// finish writes the rest, adds the bytes written to the Epoch and hands
// the buffers back to the KeyedState.
func (w *batchWriter[V]) finish() error {
	if err := w.write(); err != nil {
		return err
	}
	k := w.k
	if k.epoch != nil && w.written > 0 {
		k.epoch.AddWritten(w.written)
	}
	if cap(w.arena) <= 2*maxArena {
		k.arena = w.arena[:0]
	} else {
		k.arena = nil
	}
	k.wbKVs = w.kvs[:0]
	return nil
}
