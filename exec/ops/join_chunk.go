package ops

import (
	"encoding/binary"
	"fmt"
	"runtime/debug"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// Keyed join state in chunks.
//
// joinKeyedState keeps a side's rows of a join key not as one value, which
// every write-back (eviction, checkpoint) would re-encode whole and every
// added row would first have to read back from Badger whole, but as a
// sequence of bounded chunks, each a joinRows, in a state.KeyedState per
// side:
//
//	namespace ‖ 'L' or 'R' ‖ key group ‖ key              → chunk 0, the head
//	namespace ‖ 'L' or 'R' ‖ key group ‖ key ‖ uvarint c  → chunk c > 0
//
// The encoded key is prefix-free for the join's key types, so key ‖ c is
// neither another key nor another key's chunk; all chunks live in their
// key's key group, so redistribution at another parallelism, restores and
// savepoints, all by key group and namespace, take them along.
//
// The head holds the key's meta data (joinRows.next and live): the chunk
// numbers used, 0..next-1 (chunk numbers at or above next never hold a
// chunk), and how many of them hold rows. While the key's rows fit in
// joinHeadBytes, the head holds them too and is all there is: one small
// value per key, as in a layout without chunks, which is what most keys
// need. When the head is full, its rows move to chunk 1 (spill, in tail)
// and from then on the head is the meta data alone, a few bytes; later
// rows go to chunks 1.. of up to joinChunkBytes each. A key has a head as
// long as it has rows.
//
// A row is added to the last chunk when that has room and is at hand: the
// head, which is read anyway (from Badger if needed), or a later chunk if
// it is cached (KeyedState.GetCached); else it starts a new chunk, numbered
// next. So adding a row reads at most the head, which is bounded (and, once
// the key has outgrown it, tiny), never the key's other rows; and a
// write-back encodes only the chunks that changed, with the head when a
// chunk was started. Reading a side's rows (a row of the other side joining
// with them) reads the chunks in order, from Badger when not cached. A
// chunk that loses its last row is deleted, leaving a hole (the number of
// the last chunk is reused); the head goes when no chunk has rows left.
// When a full read finds many holes or sparse chunks (rows retracted from
// old chunks, or many small chunks started while the last one was not
// cached), compact rewrites the chunks densely, in the same order.
//
// The last access time of a state TTL is kept in the head, so expiry and
// the checkpoint sweep (sweep) work on whole keys.
//
// Sizes, measured on Nexmark (q4, q7, q9, q20 at 3 M events, parallelism
// 2): Badger keeps values below 1 KiB in its LSM tree, whose compactions
// rewrite them again and again, and larger ones in its value log, written
// once (but mapped into memory as it grows). Chunks of up to 1 KiB took
// more than twice the CPU time of the former one-value-per-key layout; 4
// KiB chunks cost no more than it and 16 KiB ones no less than 4 KiB. A
// head holding up to 4 KiB of rows is rewritten whole, into the value log,
// whenever a row is added to a key whose head had been evicted: q7 (rows
// keyed by price, most keys cold) then mapped 2.3 GB of value log; a small
// head that spills keeps each such rewrite small and inline.

// joinChunkBytes bounds the encoded size of a chunk after the head
// (joinRows.encBytes): a row is added to a chunk only when the chunk stays
// within it, or is empty.
const joinChunkBytes = 4000

// joinHeadBytes bounds the rows a head holds: with its meta data it stays
// below Badger's 1 KiB value threshold.
const joinHeadBytes = 1000

// joinCacheBytes returns the memory budget of each side's cache of chunks
// (KeyedState.SetCacheBytes): state.DefaultCacheBytes, but no more than a
// 48th of the Go runtime's soft memory limit (debug.SetMemoryLimit,
// GOMEMLIMIT), and at least joinMinCacheBytes. Under a limit, the heap's
// distance to it sets how often the garbage collector runs, and the
// cached chunks are most of a join's heap; a checkpoint also encodes all
// dirty cached chunks at once. With the 768 MiB limit of sluice bench
// (a 16 MiB budget), Nexmark q4 took a third less CPU time and 0.4 GB less
// peak RSS than with 64 MiB, q7 as much as with 64 MiB or 8 MiB; without a
// limit, a join probing most of its state (BenchmarkJoin/keyed) needs the
// larger cache, 2.5 times as fast with 64 MiB as with 16.
func joinCacheBytes() int64 {
	return min(state.DefaultCacheBytes, max(debug.SetMemoryLimit(-1)/48, joinMinCacheBytes))
}

// joinMinCacheBytes is the smallest budget joinCacheBytes gives.
const joinMinCacheBytes = 4 << 20

// newState returns the join's state: keyed state in tc.State when the task
// has a state store (namespace exec.StateNamespace(tc) followed by 'L' or
// 'R', see above), else in memory.
func (j *Join) newState(tc *exec.TaskContext) joinState {
	if tc == nil || tc.State == nil {
		return newJoinMapState()
	}
	cache := j.Spec.CacheEntries
	if cache <= 0 {
		cache = DefaultJoinCacheEntries
	}
	ns := exec.StateNamespace(tc)
	cacheBytes := joinCacheBytes()
	s := &joinKeyedState{maxPar: j.maxPar, limit: joinChunkBytes, headLimit: joinHeadBytes}
	for side, suffix := range []byte{'L', 'R'} {
		l := &j.sides[side].lay
		s.lay[side] = l
		s.ks[side] = state.NewKeyedState[*joinRows](tc.State, append(ns[:len(ns):len(ns)], suffix), &joinRowsCodec{l: l}, cache)
		s.ks[side].SetCacheBytes(cacheBytes)
		if tc.Epoch != nil {
			s.ks[side].SetEpoch(tc.Epoch)
		}
		if j.Spec.InsertOnly[side] && !l.tracked && j.Spec.StateTTL <= 0 {
			// Blind appends (join_blind.go); markers under 'l' or 'r'.
			m := state.NewKeyedState[*joinRows](tc.State, append(ns[:len(ns):len(ns)], suffix+'a'-'A'), &joinRowsCodec{l: l}, joinBlindMarkerCache)
			if tc.Epoch != nil {
				m.SetEpoch(tc.Epoch)
			}
			s.blind[side] = newJoinBlind(s.ks[side], m, l, j.maxPar)
		}
	}
	return s
}

// joinBlindMarkerCache is the number of blind-append markers (one per key
// group at most) a side keeps cached.
const joinBlindMarkerCache = 4096

// joinKeyedState is the joinState over keyed state, in chunks (see above),
// caching up to JoinSpec.CacheEntries chunks and joinCacheBytes() bytes
// per side (joinRowsCodec is a state.Sizer).
type joinKeyedState struct {
	ks        [2]*state.KeyedState[*joinRows]
	lay       [2]*joinLayout
	blind     [2]*joinBlind // nil: the side adds no rows blind
	maxPar    int
	limit     int    // joinChunkBytes
	headLimit int    // joinHeadBytes
	ckey      []byte // scratch: key ‖ chunk number
	packed    []*joinRows
	sink      int64 // keeps prefetch's loads alive

	// prefetch's scratch
	pfKG    []int32
	pfHeads []*joinRows
	pfOK    []bool
	pfCKG   []int32
	pfCKeys []byte
	pfCEnds []int32
	pfWhole []bool // per chunk key: its records are read whole
	pfVals  []*joinRows
	pfCOK   []bool
}

// chunkKey returns the key of chunk c of key: key itself for the head,
// key ‖ uvarint c in scratch space for another chunk.
func (s *joinKeyedState) chunkKey(key []byte, c int) []byte {
	if c == 0 {
		return key
	}
	s.ckey = binary.AppendUvarint(append(s.ckey[:0], key...), uint64(c))
	return s.ckey
}

func (s *joinKeyedState) head(side int, k *joinKeyRef) (*joinRows, bool, error) {
	return s.ks[side].Get(k.group(s.maxPar), k.key)
}

func (s *joinKeyedState) chunks(side int, k *joinKeyRef) (int, int64, error) {
	h, ok, err := s.head(side, k)
	if err != nil || !ok {
		return 0, 0, err
	}
	return int(h.next), h.access, nil
}

func (s *joinKeyedState) chunk(side int, k *joinKeyRef, c int) (*joinRows, bool, error) {
	e, ok, err := s.ks[side].Get(k.group(s.maxPar), s.chunkKey(k.key, c))
	if err != nil || !ok || e.n == 0 {
		return nil, false, err
	}
	return e, true, nil
}

func (s *joinKeyedState) tail(side int, k *joinKeyRef, b *types.Batch, i int) (int, *joinRows, error) {
	kg := k.group(s.maxPar)
	if bl := s.blind[side]; bl != nil {
		_, _, known, err := s.ks[side].Known(kg, k.key)
		if err != nil {
			return 0, nil, err
		}
		if !known {
			bl.cold++
			if bl.active() {
				// Only Badger knows the head: add the row blind.
				e, err := bl.add(kg, k, b, i)
				return -1, e, err
			}
		}
	}
	// Known's lookup leaves the entry as the last one looked up, which
	// Get finds first.
	h, ok, err := s.ks[side].Get(kg, k.key)
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		return 0, &joinRows{next: 1, live: 1}, nil
	}
	size := s.lay[side].inputBytes(b, i)
	if h.next == 1 {
		// The head is the only chunk (and has rows).
		if h.encBytes+size <= s.headLimit {
			return 0, h, nil
		}
		// The key outgrows its head: the head's rows move to chunk 1,
		// and the head keeps the meta data only.
		e := h.takeRows()
		h.next = 2
		if e.encBytes+size <= s.limit {
			if err := s.ks[side].Put(kg, k.key, h); err != nil {
				return 0, nil, err
			}
			return 1, e, nil
		}
		if err := s.ks[side].Put(kg, s.chunkKey(k.key, 1), e); err != nil {
			return 0, nil, err
		}
	} else {
		c := int(h.next) - 1
		e, ok, err := s.ks[side].GetCached(kg, s.chunkKey(k.key, c))
		if err != nil {
			return 0, nil, err
		}
		if ok && e.n > 0 && e.encBytes+size <= s.limit {
			return c, e, nil
		}
	}
	// A new chunk: nothing is stored under its number (see above).
	c := int(h.next)
	h.next++
	h.live++
	if err := s.ks[side].Put(kg, k.key, h); err != nil {
		return 0, nil, err
	}
	return c, &joinRows{}, nil
}

func (s *joinKeyedState) put(side int, k *joinKeyRef, c int, e *joinRows) error {
	if c < 0 {
		// Pending rows added blind (see tail), written when enough are.
		if bl := s.blind[side]; bl.full() {
			return bl.write()
		}
		return nil
	}
	return s.ks[side].Put(k.group(s.maxPar), s.chunkKey(k.key, c), e)
}

func (s *joinKeyedState) eachBlind(side int, k *joinKeyRef, fn func(*joinRows) error) error {
	bl := s.blind[side]
	if bl == nil {
		return nil
	}
	return bl.each(k.group(s.maxPar), k, fn)
}

func (s *joinKeyedState) del(side int, k *joinKeyRef, c int) error {
	kg := k.group(s.maxPar)
	if c > 0 {
		if err := s.ks[side].Delete(kg, s.chunkKey(k.key, c)); err != nil {
			return err
		}
	}
	h, ok, err := s.ks[side].Get(kg, k.key)
	if err != nil || !ok {
		return err
	}
	if h.live <= 1 {
		return s.ks[side].Delete(kg, k.key)
	}
	h.live--
	if c > 0 && c == int(h.next)-1 {
		h.next--
	}
	return s.ks[side].Put(kg, k.key, h)
}

func (s *joinKeyedState) touch(side int, k *joinKeyRef, now int64) error {
	h, ok, err := s.head(side, k)
	if err != nil || !ok {
		return err
	}
	h.access = now
	return s.ks[side].Put(k.group(s.maxPar), k.key, h)
}

func (s *joinKeyedState) drop(side int, k *joinKeyRef) error {
	return s.dropKey(side, k.group(s.maxPar), k.key)
}

// dropKey deletes every chunk of key in key group kg.
func (s *joinKeyedState) dropKey(side, kg int, key []byte) error {
	h, ok, err := s.ks[side].Get(kg, key)
	if err != nil || !ok {
		return err
	}
	for c := 1; c < int(h.next); c++ {
		if err := s.ks[side].Delete(kg, s.chunkKey(key, c)); err != nil {
			return err
		}
	}
	return s.ks[side].Delete(kg, key)
}

// compact rewrites the chunks densely when at least half the chunk
// numbers after the head are holes, or when they are more than twice
// (plus one) as many as the rows need. Its cost, a read and write of every
// chunk, is thereby paid for by as many holes or chunks started since the
// last time. Rows that fit in the head go back there.
func (s *joinKeyedState) compact(side int, k *joinKeyRef, n, holes, fill int) error {
	// The head of a key with other chunks holds no rows: not a hole.
	n, holes = n-1, holes-1
	if need := max(1, (fill+s.limit-1)/s.limit); 2*holes < n && n-holes <= 2*need+1 {
		return nil
	}
	kg, l := k.group(s.maxPar), s.lay[side]
	h, ok, err := s.ks[side].Get(kg, k.key)
	if err != nil || !ok || h.next <= 1 {
		return err
	}
	packed := s.packed[:0]
	defer func() {
		clear(packed)
		s.packed = packed[:0]
	}()
	var cur *joinRows
	for c := 1; c < int(h.next); c++ {
		e, ok, err := s.ks[side].Get(kg, s.chunkKey(k.key, c))
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		for r := range e.n {
			if cur == nil || cur.n > 0 && cur.encBytes+e.recordBytes(l, r) > s.limit {
				cur = &joinRows{}
				packed = append(packed, cur)
			}
			cur.appendRecord(l, e, r)
		}
	}
	if len(packed) == 0 {
		return s.dropKey(side, kg, k.key)
	}
	first := 1 // number of packed[0]
	if len(packed) == 1 && packed[0].encBytes <= s.headLimit {
		first = 0
		packed[0].next, packed[0].live, packed[0].access = 1, 1, h.access
	}
	for c := first + len(packed); c < int(h.next); c++ {
		if err := s.ks[side].Delete(kg, s.chunkKey(k.key, c)); err != nil {
			return err
		}
	}
	for x, e := range packed {
		if err := s.ks[side].Put(kg, s.chunkKey(k.key, first+x), e); err != nil {
			return err
		}
	}
	if first == 0 {
		return nil
	}
	h.next, h.live = uint32(1+len(packed)), uint32(len(packed))
	return s.ks[side].Put(kg, k.key, h)
}

func (s *joinKeyedState) flush() error {
	for side := range s.ks {
		if bl := s.blind[side]; bl != nil {
			if err := bl.write(); err != nil {
				return fmt.Errorf("%s side: %w", joinSideName(side), err)
			}
			if err := bl.markers.Flush(); err != nil {
				return fmt.Errorf("%s side: %w", joinSideName(side), err)
			}
		}
		if err := s.ks[side].Flush(); err != nil {
			return fmt.Errorf("%s side: %w", joinSideName(side), err)
		}
	}
	return nil
}

// sweep deletes the keys whose rows expired (stateTTL) on either side in
// the next ttlSweepKeyGroups key groups of the subtask, as sweepKeyed does
// for other operators.
func (s *joinKeyedState) sweep(c *stateTTL) error {
	first, last := c.nextSweep()
	now := c.stamp()
	for side := range s.ks {
		// Only a head (next > 0) carries the key's access time.
		expired, err := expiredKeys(s.ks[side], first, last, func(e *joinRows) bool {
			return e.next > 0 && c.expired(e.access, now)
		})
		if err != nil {
			return fmt.Errorf("%s side: %w", joinSideName(side), err)
		}
		for _, e := range expired {
			if err := s.dropKey(side, e.kg, []byte(e.key)); err != nil {
				return fmt.Errorf("%s side: delete expired state: %w", joinSideName(side), err)
			}
		}
	}
	return nil
}

// joinPrefetchChunks is the number of chunks of one key prefetch warms up.
const joinPrefetchChunks = 4

// prefetch implements joinPrefetcher: it warms up the CPU caches for the
// next rows, as joinMapState.prefetch does, in passes whose loads do not
// depend on each other across rows, so that the processor overlaps their
// misses: the cache lookups of both sides' heads (KeyedState.Peek, which
// reads neither Badger nor changes the cache), those of the chunks after
// the head the rows will read (the first few of the other side's; of the
// row's own side the last one for an added row, the first few for a
// retracted one), and the records of all of them (only the last for an
// added row's own side). Processing the rows one by one afterwards finds
// them in cache.
func (s *joinKeyedState) prefetch(in int, hashes []uint64, ops []types.Op, keys []byte, keyEnds []int32) {
	n := len(hashes)
	s.pfKG = s.pfKG[:0]
	for _, h := range hashes {
		s.pfKG = append(s.pfKG, int32(exec.KeyGroup(h, s.maxPar)))
	}
	if cap(s.pfHeads) < n {
		s.pfHeads = make([]*joinRows, n)
		s.pfOK = make([]bool, n)
	}
	heads, ok := s.pfHeads[:n], s.pfOK[:n]
	var sum int64
	touch := func(w []int64, whole bool) {
		if len(w) == 0 {
			return
		}
		if whole {
			for i := 0; i < len(w); i += 8 { // one load per cache line
				sum += w[i]
			}
		}
		sum += w[len(w)-1]
	}
	for side := range s.ks {
		s.ks[side].Peek(s.pfKG, keys, keyEnds, heads, ok)
		ckg, ckeys, cends, whole := s.pfCKG[:0], s.pfCKeys[:0], s.pfCEnds[:0], s.pfWhole[:0]
		start := int32(0)
		for x := range n {
			key := keys[start:keyEnds[x]]
			start = keyEnds[x]
			if !ok[x] {
				continue
			}
			next := int(heads[x].next)
			adding := side == in && ops[x].IsAdd()
			touch(heads[x].words, !adding || next == 1)
			lo := 1
			if adding {
				lo = max(next-1, 1)
			}
			for c := lo; c < min(next, lo+joinPrefetchChunks); c++ {
				ckeys = binary.AppendUvarint(append(ckeys, key...), uint64(c))
				ckg, cends, whole = append(ckg, s.pfKG[x]), append(cends, int32(len(ckeys))), append(whole, !adding)
			}
		}
		s.pfCKG, s.pfCKeys, s.pfCEnds, s.pfWhole = ckg, ckeys, cends, whole
		if len(ckg) == 0 {
			continue
		}
		if cap(s.pfVals) < len(ckg) {
			s.pfVals = make([]*joinRows, len(ckg))
			s.pfCOK = make([]bool, len(ckg))
		}
		vals, cok := s.pfVals[:len(ckg)], s.pfCOK[:len(ckg)]
		s.ks[side].Peek(ckg, ckeys, cends, vals, cok)
		for x, e := range vals {
			if cok[x] {
				touch(e.words, whole[x])
			}
		}
		clear(vals) // do not keep chunks alive
	}
	clear(heads)
	s.sink += sum
}

// hint implements joinPrefetcher; keyed state has nothing to hint.
func (s *joinKeyedState) hint(int) {}
