package state

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newFiltered returns a KeyedState with a fixed hash seed (so fingerprint
// collisions, and therefore read counts, are deterministic) on epoch e.
func newFiltered(s *Store, ns []byte, cache int, e *Epoch) *KeyedState[int64] {
	k := NewKeyedState[int64](s, ns, Int64Codec{}, cache)
	k.seed = 0x9e3779b97f4a7c15
	k.SetEpoch(e)
	return k
}

// kgKey is a key in key group kg naming i.
func kgKey(i int) []byte { return binary.BigEndian.AppendUint64(nil, uint64(i)) }

func getKG(t *testing.T, k *KeyedState[int64], kg, i int) (int64, bool) {
	t.Helper()
	v, ok, err := k.Get(kg, kgKey(i))
	if err != nil {
		t.Fatalf("Get(%d, %d): %v", kg, i, err)
	}
	return v, ok
}

func putKG(t *testing.T, k *KeyedState[int64], kg, i int, v int64) {
	t.Helper()
	if err := k.Put(kg, kgKey(i), v); err != nil {
		t.Fatalf("Put(%d, %d): %v", kg, i, err)
	}
}

// TestFilterFreshNamespace: in a namespace nothing wrote before, misses on
// keys never written cost no Badger read, written keys (evicted through a
// small cache or flushed) are still read back, and deleted ones read as
// absent.
func TestFilterFreshNamespace(t *testing.T) {
	s := openTemp(t)
	e := NewEpoch(s.NextTs())
	k := newFiltered(s, OperatorNamespace("fresh", 1, 0), 64, e)
	const n = 4000
	for i := range n { // absent keys, never written
		if _, ok := getKG(t, k, i%128, i); ok {
			t.Fatalf("key %d present in a fresh namespace", i)
		}
	}
	if k.loads != 0 {
		t.Fatalf("%d Badger reads for keys of a fresh namespace", k.loads)
	}
	// Even keys get values; they leave the 64-entry cache by eviction.
	for i := 0; i < n; i += 2 {
		putKG(t, k, i%128, i, int64(i)+1)
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 10 {
		if err := k.Delete(i%128, kgKey(i)); err != nil {
			t.Fatal(err)
		}
	}
	e.Set(s.NextTs()) // a checkpoint: flush, then the next epoch
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	k.loads = 0
	for i := n - 1; i >= 0; i-- { // the reverse order: the cache holds few
		v, ok := getKG(t, k, i%128, i)
		want := i%2 == 0 && i%10 != 0
		if ok != want || (ok && v != int64(i)+1) {
			t.Fatalf("key %d: %d, %v; want present %v", i, v, ok, want)
		}
	}
	// Every written key may need a read (those not cached); none of the
	// n/2 never-written ones does.
	if k.loads > n/2 {
		t.Fatalf("%d Badger reads, want at most the %d written keys", k.loads, n/2)
	}
	if k.loads == 0 {
		t.Fatal("no Badger reads: written keys cannot all be cached in 64 entries")
	}
	// A fresh KeyedState over the same, now non-empty namespace must read.
	k2 := newFiltered(s, OperatorNamespace("fresh", 1, 0), 64, e)
	if _, ok := getKG(t, k2, 2, 1); ok { // key group 2 holds keys 2, 130, ...
		t.Fatal("odd key present")
	}
	if k2.loads != 1 {
		t.Fatalf("%d Badger reads in a namespace with data, want 1", k2.loads)
	}
	if v, ok := getKG(t, k2, 2, 2); !ok || v != 3 {
		t.Fatalf("key 2 = %d, %v through a new KeyedState", v, ok)
	}
}

// TestFilterRestoredNamespace: after a checkpoint is restored, a new
// KeyedState reads the restored values and reads Badger for misses in the
// key groups that hold data, while key groups still empty need no read.
func TestFilterRestoredNamespace(t *testing.T) {
	s := openTemp(t)
	job := "restored"
	ns := OperatorNamespace(job, 1, 0)
	w1 := s.NextTs()
	e := NewEpoch(w1)
	k := newFiltered(s, ns, 16, e)
	for i := range 200 { // key groups 0..9
		putKG(t, k, i%10, i, int64(i))
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	e.Set(s.NextTs())
	for i := 200; i < 300; i++ { // after the checkpoint: rolled back
		putKG(t, k, i%10, i, int64(i))
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	start, _, err := s.RestoreNamespace(JobNamespace(job), w1)
	if err != nil {
		t.Fatal(err)
	}
	r := newFiltered(s, ns, 16, NewEpoch(start))
	for i := range 300 {
		v, ok := getKG(t, r, i%10, i)
		if want := i < 200; ok != want || (ok && v != int64(i)) {
			t.Fatalf("restored key %d = %d, %v; want present %v", i, v, ok, want)
		}
	}
	if r.loads != 300 {
		t.Fatalf("%d Badger reads of 300 keys in restored key groups, want 300", r.loads)
	}
	r.loads = 0
	for i := range 100 { // key groups 10..19 never held data
		if _, ok := getKG(t, r, 10+i%10, i); ok {
			t.Fatalf("key %d present in an empty key group", i)
		}
	}
	if r.loads != 0 {
		t.Fatalf("%d Badger reads in empty key groups", r.loads)
	}
}

// TestFilterRescale: after a rescale a subtask owns key groups another
// subtask wrote (values must be read, misses must read Badger) and key
// groups nobody wrote (misses need no read).
func TestFilterRescale(t *testing.T) {
	s := openTemp(t)
	ns := OperatorNamespace("rescale", 2, 0)
	e := NewEpoch(s.NextTs())
	// Old parallelism 2 over 128 key groups: subtask a owns 0..63, b 64..127.
	a := newFiltered(s, ns, 8, e)
	b := newFiltered(s, ns, 8, e)
	for i := range 640 {
		putKG(t, a, i%64, i, int64(i))
		putKG(t, b, 64+i%64, i, -int64(i))
	}
	for _, k := range []*KeyedState[int64]{a, b} {
		if err := k.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// Each saw only the other's key groups in use, or none: neither read
	// for an absent key of its own.
	for i := 640; i < 700; i++ {
		if _, ok := getKG(t, a, i%64, i); ok {
			t.Fatalf("a: key %d present", i)
		}
		if _, ok := getKG(t, b, 64+i%64, i); ok {
			t.Fatalf("b: key %d present", i)
		}
	}
	if a.loads+b.loads != 0 {
		t.Fatalf("%d, %d Badger reads of never-written keys", a.loads, b.loads)
	}
	// New parallelism 4 over 256 key groups is not possible (max
	// parallelism is fixed); instead a new subtask owns 32..95, a
	// mixture of a's and b's key groups, and 96..127 are dropped by b and
	// then owned by a new subtask.
	e.Set(s.NextTs())
	if err := b.DropKeyGroups(96, 127); err != nil {
		t.Fatal(err)
	}
	c := newFiltered(s, ns, 8, NewEpoch(s.NextTs()))
	// c's key group of key i: a's i%64 when that is in 32..63, else b's.
	ckg := func(i int) int {
		if i%64 >= 32 {
			return i % 64
		}
		return 64 + i%64
	}
	for i := range 640 {
		kg := ckg(i)
		v, ok := getKG(t, c, kg, i)
		want := int64(i)
		if kg >= 64 {
			want = -want
		}
		if !ok || v != want {
			t.Fatalf("c: key %d in key group %d = %d, %v; want %d", i, kg, v, ok, want)
		}
	}
	c.loads = 0
	for i := 640; i < 700; i++ {
		if _, ok := getKG(t, c, ckg(i), i); ok {
			t.Fatalf("c: key %d present", i)
		}
	}
	if c.loads != 60 {
		t.Fatalf("c: %d Badger reads of absent keys in key groups with data, want 60", c.loads)
	}
	d := newFiltered(s, ns, 8, NewEpoch(s.NextTs()))
	for i := range 640 {
		if _, ok := getKG(t, d, 96+i%32, i); ok {
			t.Fatalf("d: dropped key %d present", i)
		}
	}
	if d.loads != 0 {
		t.Fatalf("d: %d Badger reads in dropped key groups", d.loads)
	}
}

// TestFilterLaterVersions: a value written above the read timestamp (not
// by this KeyedState) keeps its key group from being fresh, so that a
// KeyedState whose epoch reaches it later does not wrongly skip it; key
// groups holding only deletes are fresh.
func TestFilterLaterVersions(t *testing.T) {
	s := openTemp(t)
	ns := OperatorNamespace("later", 0, 0)
	r0 := s.NextTs()
	later := s.NextTs()
	wb := s.StateDB().NewWriteBatchAt(later)
	full := func(kg, i int) []byte { return append(append(slices.Clone(ns), byte(kg>>8), byte(kg)), kgKey(i)...) }
	if err := wb.Set(full(5, 7), Int64Codec{}.Encode(nil, 70)); err != nil {
		t.Fatal(err)
	}
	if err := wb.Delete(full(6, 7)); err != nil {
		t.Fatal(err)
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	e := NewEpoch(r0)
	k := newFiltered(s, ns, 8, e)
	if _, ok := getKG(t, k, 5, 8); ok {
		t.Fatal("key 8 present")
	}
	if k.loads != 1 {
		t.Fatalf("%d Badger reads in a key group with a later version, want 1", k.loads)
	}
	if _, ok := getKG(t, k, 5, 7); ok {
		t.Fatal("key 7 visible below its version")
	}
	if _, ok := getKG(t, k, 6, 7); ok {
		t.Fatal("deleted key present")
	}
	if k.loads != 2 {
		t.Fatalf("%d Badger reads, want 2: key group 6 holds only a delete", k.loads)
	}
	// The same check made from a timestamp above the version.
	e.Set(s.NextTs())
	k2 := newFiltered(s, ns, 8, e)
	if v, ok := getKG(t, k2, 5, 7); !ok || v != 70 {
		t.Fatalf("key 7 above its version = %d, %v", v, ok)
	}
	if _, ok := getKG(t, k2, 6, 7); ok || k2.loads != 1 {
		t.Fatalf("deleted key: present %v, %d reads, want absent with 1", ok, k2.loads)
	}
}

// TestFilterAsyncFlush: keys flushed in the background are in the filter
// before the write lands, so evicting and reading them back finds them.
func TestFilterAsyncFlush(t *testing.T) {
	s := openTemp(t)
	e := NewEpoch(s.NextTs())
	e.SetAsync(true)
	k := newFiltered(s, OperatorNamespace("async", 0, 0), 500, e)
	for i := range 400 {
		putKG(t, k, i%128, i, int64(i))
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	wait := e.TakePending()
	e.Set(s.NextTs())
	for i := 1000; i < 2000; i++ { // evicts the flushed keys
		if _, ok := getKG(t, k, i%128, i); ok {
			t.Fatalf("key %d present", i)
		}
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if k.loads != 0 {
		t.Fatalf("%d Badger reads of never-written keys", k.loads)
	}
	for i := range 400 {
		if v, ok := getKG(t, k, i%128, i); !ok || v != int64(i) {
			t.Fatalf("key %d = %d, %v after async flush and eviction", i, v, ok)
		}
	}
	if k.loads == 0 {
		t.Fatal("no Badger reads: flushed keys were evicted")
	}
}

// TestFilterMemoryBound: a written set that outgrows its bound turns off,
// and reads go to Badger again and find every value.
func TestFilterMemoryBound(t *testing.T) {
	s := openTemp(t)
	k := newFiltered(s, OperatorNamespace("bound", 0, 0), 16, NewEpoch(s.NextTs()))
	k.written.maxSlots = 1024 // 768 keys
	for i := range 2000 {
		putKG(t, k, i%128, i, int64(i))
	}
	if !k.written.off || k.FilterBytes() != 8*MaxKeyGroups/64 {
		t.Fatalf("written set not off: %d keys, %d bytes", k.written.n, k.FilterBytes())
	}
	for i := range 2100 {
		v, ok := getKG(t, k, i%128, i)
		if want := i < 2000; ok != want || (ok && v != int64(i)) {
			t.Fatalf("key %d = %d, %v", i, v, ok)
		}
	}
	if k.loads < 2000 {
		t.Fatalf("%d Badger reads, want every miss to read", k.loads)
	}
}

// TestWrittenSet (FingerprintSet): no false negatives across growth, few false positives.
func TestWrittenSet(t *testing.T) {
	s := NewFingerprintSet(4 << 20)
	rng := rand.New(rand.NewPCG(1, 2))
	added := make([]uint64, 100_000)
	for i := range added {
		added[i] = rng.Uint64()
		s.Add(added[i])
		s.Add(added[i]) // a key written back twice takes one slot
	}
	if s.n > len(added) || s.off {
		t.Fatalf("%d fingerprints for %d hashes (off %v)", s.n, len(added), s.off)
	}
	for _, h := range added {
		if !s.Has(h) {
			t.Fatalf("added hash %x missing", h)
		}
	}
	fp := 0
	for range 100_000 {
		if s.Has(rng.Uint64()) {
			fp++
		}
	}
	if fp > 20 { // expected about 100 k * 100 k / 2^32 ≈ 2.3
		t.Fatalf("%d false positives in 100 k", fp)
	}
	z := NewFingerprintSet(4096)
	z.Add(1 << 32) // fingerprint 0, the empty slot's, is stored as 1
	if !z.Has(1<<32) || z.n != 1 {
		t.Fatalf("hash with fingerprint 0: has %v, n %d", z.Has(1<<32), z.n)
	}
}
