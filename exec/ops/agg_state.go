package ops

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// accStore holds the accumulators of GroupAgg's groups, by encoded key
// (with its hash and key group). GroupAgg reads a group at most once per
// input batch (get, or create for a new group), updates the record in
// place and hands it back with put, or del when the group empties; so an
// implementation may cache records as long as put makes the record's new
// content the stored one. key is only valid during a call.
type accStore interface {
	// get returns the record of key, or nil when the group has no state.
	get(kg int, hash uint64, key []byte) (*accRecord, error)
	// getAll sets ents[i].rec to the record of each entry's key
	// (keys[keyStart:keyEnd]), nil when the group has no state: get for a
	// whole batch, which lets an in-memory store overlap its lookups.
	getAll(ents []aggEntry, keys []byte) error
	// create returns a new record with n zero accumulators, for a group
	// that has no state; it is stored by the next put.
	create(n int) *accRecord
	// put stores r (from get or create) as the record of key.
	put(kg int, hash uint64, key []byte, r *accRecord) error
	// putEntry stores ent.rec as the record of key, the key of ent (after
	// getAll filled ent).
	putEntry(ent *aggEntry, key []byte) error
	// del removes the record of key, if any; r (from get, or from create
	// and never stored) is not used afterwards.
	del(kg int, hash uint64, key []byte, r *accRecord) error
	// flush makes every put and del so far durable (a checkpoint).
	flush() error
	// close releases the store's memory; durable state is kept.
	close() error
}

// mapStore keeps every group in memory: the store for tests and ad-hoc
// queries that run without a state backend. It is unbounded and not
// durable.
//
// Groups are indexed by their 64-bit key hash (a map with integer keys is
// much cheaper than one with string keys: no key bytes to hash or chase),
// each record holding its key (inline when short, see mapKey) to tell
// groups apart. A group whose hash is already taken by another key goes to
// the collision map, keyed by the key bytes. Records and accumulators are
// carved from chunks and recycled through a free list, so a new group
// rarely allocates.
type mapStore struct {
	byHash     map[uint64]*accRecord
	collisions map[string]*accRecord
	free       []*accRecord
	recChunk   []accRecord
	valChunk   []accVal
	touch      int64 // see getAll
}

// mapKey is the part of an accRecord used by mapStore: the group's key.
type mapKey struct {
	kinl   [16]byte
	klen   int32 // key length; the key is kinl[:klen] when it fits, else klong
	stored bool  // the record is in the store
	klong  string
}

func (k *mapKey) keyEqual(key []byte) bool {
	if int(k.klen) != len(key) {
		return false
	}
	if len(key) <= len(k.kinl) {
		return string(k.kinl[:len(key)]) == string(key)
	}
	return k.klong == string(key)
}

func (k *mapKey) setKey(key []byte) {
	k.klen = int32(len(key))
	k.klong = ""
	if len(key) <= len(k.kinl) {
		copy(k.kinl[:], key)
	} else {
		k.klong = string(key)
	}
}

func newMapStore() *mapStore {
	return &mapStore{byHash: make(map[uint64]*accRecord), collisions: make(map[string]*accRecord)}
}

func (s *mapStore) get(_ int, hash uint64, key []byte) (*accRecord, error) {
	if r := s.byHash[hash]; r != nil && r.keyEqual(key) {
		return r, nil
	}
	if len(s.collisions) > 0 {
		return s.collisions[string(key)], nil
	}
	return nil, nil
}

// getAll implements accStore. It works in phases over the batch, each a
// tight loop of independent memory accesses, so that the CPU overlaps
// their cache misses: the hash lookups, then the key checks (the records'
// first cache line), then a read of each record's last accumulator, which
// the operator touches next.
func (s *mapStore) getAll(ents []aggEntry, keys []byte) error {
	for e := range ents {
		ents[e].rec = s.byHash[ents[e].hash]
	}
	for e := range ents {
		ent := &ents[e]
		if ent.rec != nil && ent.rec.keyEqual(keys[ent.keyStart:ent.keyEnd]) {
			continue
		}
		ent.rec = nil
		if len(s.collisions) > 0 {
			ent.rec = s.collisions[string(keys[ent.keyStart:ent.keyEnd])]
		}
	}
	var touch int64
	for e := range ents {
		if r := ents[e].rec; r != nil && len(r.vals) > 0 {
			touch += r.vals[len(r.vals)-1].n
		}
	}
	s.touch = touch
	return nil
}

const mapStoreChunk = 256

func (s *mapStore) create(n int) *accRecord {
	if k := len(s.free); k > 0 && len(s.free[k-1].vals) == n {
		r := s.free[k-1]
		s.free = s.free[:k-1]
		return r
	}
	if len(s.recChunk) == 0 {
		s.recChunk = make([]accRecord, mapStoreChunk)
	}
	r := &s.recChunk[0]
	s.recChunk = s.recChunk[1:]
	if n <= len(r.inl) {
		r.vals = r.inl[:n:n]
		return r
	}
	if len(s.valChunk) < n {
		s.valChunk = make([]accVal, n*mapStoreChunk)
	}
	r.vals = s.valChunk[:n:n]
	s.valChunk = s.valChunk[n:]
	return r
}

func (s *mapStore) put(_ int, hash uint64, key []byte, r *accRecord) error {
	if r.stored {
		return nil // records are updated in place
	}
	r.stored = true
	r.setKey(key)
	if _, taken := s.byHash[hash]; taken {
		s.collisions[string(key)] = r
	} else {
		s.byHash[hash] = r
	}
	return nil
}

func (s *mapStore) putEntry(ent *aggEntry, key []byte) error {
	return s.put(int(ent.kg), ent.hash, key, ent.rec)
}

func (s *mapStore) del(_ int, hash uint64, key []byte, r *accRecord) error {
	switch {
	case !r.stored:
	case s.byHash[hash] == r:
		delete(s.byHash, hash)
	default:
		delete(s.collisions, string(key))
	}
	vals := r.vals
	clear(vals)
	*r = accRecord{vals: vals}
	s.free = append(s.free, r)
	return nil
}

func (s *mapStore) flush() error { return nil }

func (s *mapStore) close() error {
	*s = mapStore{}
	return nil
}

// keyedStore keeps groups in durable keyed state with a bounded cache.
type keyedStore struct {
	ks *state.KeyedState[*accRecord]
}

func newKeyedStore(st *state.Store, namespace []byte, codec accCodec, cacheEntries int) *keyedStore {
	return &keyedStore{ks: state.NewKeyedState[*accRecord](st, namespace, codec, cacheEntries)}
}

func (s *keyedStore) get(kg int, _ uint64, key []byte) (*accRecord, error) {
	r, ok, err := s.ks.Get(kg, key)
	if err != nil || !ok {
		return nil, err
	}
	return r, nil
}

func (s *keyedStore) getAll(ents []aggEntry, keys []byte) error {
	for e := range ents {
		ent := &ents[e]
		r, ok, h, err := s.ks.GetHandle(int(ent.kg), keys[ent.keyStart:ent.keyEnd])
		if err != nil {
			return err
		}
		ent.rec, ent.handle = nil, h
		if ok {
			ent.rec = r
		}
	}
	return nil
}

func (s *keyedStore) putEntry(ent *aggEntry, key []byte) error {
	return s.ks.PutHandle(ent.handle, int(ent.kg), key, ent.rec)
}

func (s *keyedStore) create(n int) *accRecord { return newAccRecord(n) }

func (s *keyedStore) put(kg int, _ uint64, key []byte, r *accRecord) error {
	return s.ks.Put(kg, key, r)
}

func (s *keyedStore) del(kg int, _ uint64, key []byte, _ *accRecord) error {
	return s.ks.Delete(kg, key)
}

func (s *keyedStore) flush() error { return s.ks.Flush() }

func (s *keyedStore) close() error {
	s.ks = nil
	return nil
}

// accCodec encodes a group's record for a durable store. The layout
// depends on the calls' modes, so a record must be decoded with the spec
// that encoded it:
//
//	byte     format version (2; version 1 has no access time)
//	varint   row count
//	varint   last access, processing time in ms (see agg_ttl.go)
//	uvarint  number of calls
//	per call, by mode:
//	  modeCount     varint n
//	  modeSumI      varint n, varint i
//	  modeSumF      varint n, float f
//	  modeSet       varint n, then varint i (I64 args) or float f (F64 args),
//	                uvarint entries, per entry: value, varint count
//	  modeExtremum  varint n, value
//
// where a value is a varint (I64 class), a float (F64 class) or a uvarint
// length and bytes (Str class), and a float is 8 bytes little-endian IEEE.
type accCodec struct {
	calls []callPlan
}

const accFormatVersion = 2

// errAccCorrupt is wrapped by accCodec.Decode errors; it wraps
// state.ErrCorrupt, as the Codec contract asks.
var errAccCorrupt = fmt.Errorf("group aggregate accumulators: %w", state.ErrCorrupt)

// Encode appends the encoding of r to dst.
func (c accCodec) Encode(dst []byte, r *accRecord) []byte {
	dst = append(dst, accFormatVersion)
	dst = binary.AppendVarint(dst, r.rows)
	dst = binary.AppendVarint(dst, r.access)
	dst = binary.AppendUvarint(dst, uint64(len(c.calls)))
	for k := range c.calls {
		p := &c.calls[k]
		a := &r.vals[k]
		dst = binary.AppendVarint(dst, a.n)
		switch p.mode {
		case modeSumI:
			dst = binary.AppendVarint(dst, a.i)
		case modeSumF:
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(a.f))
		case modeExtremum:
			dst = appendValue(dst, p.argClass, a.i, a.f, a.s)
		case modeSet:
			switch p.argClass {
			case types.ClassI64:
				dst = binary.AppendVarint(dst, a.i)
			case types.ClassF64:
				dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(a.f))
			}
			set := a.set
			if set == nil {
				dst = binary.AppendUvarint(dst, 0)
				continue
			}
			dst = binary.AppendUvarint(dst, uint64(set.len()))
			for e, cnt := range set.counts {
				switch set.class {
				case types.ClassF64:
					dst = appendValue(dst, set.class, 0, set.floats[e], "")
				case types.ClassStr:
					dst = appendValue(dst, set.class, 0, 0, set.strs[e])
				default:
					dst = appendValue(dst, set.class, set.ints[e], 0, "")
				}
				dst = binary.AppendVarint(dst, cnt)
			}
		}
	}
	return dst
}

func appendValue(dst []byte, c types.Class, i int64, f float64, s string) []byte {
	switch c {
	case types.ClassF64:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
	case types.ClassStr:
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		return append(dst, s...)
	}
	return binary.AppendVarint(dst, i)
}

// Decode decodes a record encoded by Encode with the same calls. It never
// panics on malformed input; it returns an error wrapping errAccCorrupt.
func (c accCodec) Decode(b []byte) (*accRecord, error) {
	d := accDecoder{b: b}
	v := d.byte()
	if v != accFormatVersion && v != 1 && d.err == nil {
		return nil, fmt.Errorf("%w: format version %d", errAccCorrupt, v)
	}
	r := newAccRecord(len(c.calls))
	r.rows = d.varint()
	if v >= 2 {
		r.access = d.varint()
	}
	if n := d.uvarint(); d.err == nil && n != uint64(len(c.calls)) {
		return nil, fmt.Errorf("%w: %d calls, the aggregate has %d", errAccCorrupt, n, len(c.calls))
	}
	for k := range c.calls {
		p := &c.calls[k]
		a := &r.vals[k]
		a.n = d.varint()
		switch p.mode {
		case modeSumI:
			a.i = d.varint()
		case modeSumF:
			a.f = d.float()
		case modeExtremum:
			a.i, a.f, a.s = d.value(p.argClass)
		case modeSet:
			switch p.argClass {
			case types.ClassI64:
				a.i = d.varint()
			case types.ClassF64:
				a.f = d.float()
			}
			n := d.uvarint()
			if n > uint64(len(d.b)) { // every entry takes at least two bytes
				d.fail("set size")
				break
			}
			set := newValueSet(p.argClass)
			set.counts = make([]int64, n)
			switch p.argClass {
			case types.ClassF64:
				set.floats = make([]float64, n)
			case types.ClassStr:
				set.strs = make([]string, n)
			default:
				set.ints = make([]int64, n)
			}
			for e := range set.counts {
				i, f, s := d.value(p.argClass)
				switch p.argClass {
				case types.ClassF64:
					set.floats[e] = f
				case types.ClassStr:
					set.strs[e] = s
				default:
					set.ints[e] = i
				}
				set.counts[e] = d.varint()
				if set.counts[e] < 0 {
					set.negs++
				}
			}
			a.set = set
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}

// accDecoder reads the fields of an encoded record; after the first error
// every read returns zero.
type accDecoder struct {
	b   []byte
	err error
}

func (d *accDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", errAccCorrupt, what)
	}
	d.b = nil
}

func (d *accDecoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("length")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *accDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *accDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *accDecoder) float() float64 {
	if len(d.b) < 8 {
		d.fail("float")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *accDecoder) value(c types.Class) (int64, float64, string) {
	switch c {
	case types.ClassF64:
		return 0, d.float(), ""
	case types.ClassStr:
		n := d.uvarint()
		if n > uint64(len(d.b)) {
			d.fail("string length")
			return 0, 0, ""
		}
		s := string(d.b[:n])
		d.b = d.b[n:]
		return 0, 0, s
	}
	return d.varint(), 0, ""
}

// newTaskStore returns the store of a subtask: keyed state when the task
// has a state backend, else a map.
func newTaskStore(tc *exec.TaskContext, codec accCodec, cacheEntries int) accStore {
	if tc.State == nil {
		return newMapStore()
	}
	ks := newKeyedStore(tc.State, exec.StateNamespace(tc), codec, cacheEntries)
	if tc.Epoch != nil {
		ks.ks.SetEpoch(tc.Epoch)
	}
	return ks
}
