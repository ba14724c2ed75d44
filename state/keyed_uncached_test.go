package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// knownOf calls Known and CertainlyAbsent for (kg, key) and fails the test
// when either reads Badger or changes the number of cached entries.
func knownOf[V any](t *testing.T, k *KeyedState[V], kg int, key []byte) (v V, ok, known, absent bool) {
	t.Helper()
	loads, n := k.loads, k.Len()
	v, ok, known, err := k.Known(kg, key)
	if err != nil {
		t.Fatalf("Known(%d, %x): %v", kg, key, err)
	}
	absent = k.CertainlyAbsent(kg, key)
	if k.loads != loads || k.Len() != n {
		t.Fatalf("Known(%d, %x) read Badger (%d reads) or changed the cache (%d entries, was %d)",
			kg, key, k.loads-loads, k.Len(), n)
	}
	return v, ok, known, absent
}

// isCached reports whether the cache holds an entry (value or tombstone)
// for (kg, key).
func isCached[V any](k *KeyedState[V], kg int, key []byte) bool {
	i, _, err := k.lookup(kg, key)
	return err == nil && i >= 0
}

// TestKeyedKnown checks Known and CertainlyAbsent: a never-written key of
// a fresh namespace is known absent without a Badger read; a cached key is
// known with its value (or as absent after Delete); a key written back and
// then evicted is not known; a key group that held data before the
// KeyedState existed proves nothing. Known reads no Badger value, changes
// neither the cache nor an entry's recency.
func TestKeyedKnown(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const cache = 16
	k := NewKeyedState(s, OperatorNamespace("known", 1, 2), Int64sCodec{}, cache)

	kg, key := vkey(1)
	if _, ok, known, absent := knownOf(t, k, kg, key); !known || ok || !absent {
		t.Fatalf("fresh KeyedState, key never written: ok %v known %v absent %v; want false true true", ok, known, absent)
	}
	if k.Len() != 0 {
		t.Fatalf("Known cached %d entries", k.Len())
	}

	for i := range 8 {
		kg, key := vkey(i)
		if err := k.Put(kg, key, []int64{int64(i), -1}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 8 {
		kg, key := vkey(i)
		v, ok, known, absent := knownOf(t, k, kg, key)
		if !known || !ok || !slices.Equal(v, []int64{int64(i), -1}) {
			t.Fatalf("Known(%d) = %v, ok %v, known %v after Put", i, v, ok, known)
		}
		// Put only: nothing of the key is in Badger yet, so the filter
		// still proves it absent there.
		if !absent {
			t.Fatalf("CertainlyAbsent(%d) = false for a key never written back", i)
		}
	}

	// Known leaves the entry's recency alone.
	kg, key = vkey(5)
	i, _, err := k.lookup(kg, key)
	if err != nil || i < 0 {
		t.Fatalf("key 5 not cached: %d, %v", i, err)
	}
	k.ents[i].flags &^= flagRef
	knownOf(t, k, kg, key)
	if k.ents[i].flags&flagRef != 0 {
		t.Fatal("Known marked the entry referenced")
	}

	// Written back (and still cached, clean): known, and no longer
	// certainly absent from Badger.
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		kg, key := vkey(i)
		v, ok, known, absent := knownOf(t, k, kg, key)
		if !known || !ok || !slices.Equal(v, []int64{int64(i), -1}) || absent {
			t.Fatalf("Known(%d) = %v, ok %v, known %v, absent %v after Flush", i, v, ok, known, absent)
		}
	}

	// Delete of a cached key: known to have no value.
	kg, key = vkey(3)
	if err := k.Delete(kg, key); err != nil {
		t.Fatal(err)
	}
	if _, ok, known, absent := knownOf(t, k, kg, key); !known || ok || absent {
		t.Fatalf("deleted key 3: ok %v known %v absent %v; want false true false", ok, known, absent)
	}

	// A Get miss caches a tombstone: known absent.
	kg, key = vkey(9)
	if _, ok, err := k.Get(kg, key); err != nil || ok {
		t.Fatalf("Get(9) = %v, %v", ok, err)
	}
	if _, ok, known, _ := knownOf(t, k, kg, key); !known || ok {
		t.Fatalf("key 9 after a Get miss: ok %v known %v", ok, known)
	}

	// Evict the first keys by writing many others.
	for i := 100; i < 100+4*cache; i++ {
		kg, key := vkey(i)
		if err := k.Put(kg, key, []int64{int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	evicted := 0
	for _, i := range []int{0, 1, 2, 3, 4, 5, 6, 7, 100, 101, 102, 103, 104, 105, 106, 107} {
		kg, key := vkey(i)
		if isCached(k, kg, key) {
			continue
		}
		evicted++
		if _, ok, known, absent := knownOf(t, k, kg, key); known || ok || absent {
			t.Fatalf("key %d written back and evicted: ok %v known %v absent %v; want all false", i, ok, known, absent)
		}
	}
	if evicted == 0 {
		t.Fatal("no key was evicted: the test checks nothing")
	}
	// Keys never written are still known absent without a read.
	for _, i := range []int{50, 51, 52, 53} {
		kg, key := vkey(i)
		if _, ok, known, absent := knownOf(t, k, kg, key); !known || ok || !absent {
			t.Fatalf("key %d never written: ok %v known %v absent %v; want false true true", i, ok, known, absent)
		}
	}
	if k.loads != 0 { // not even the Get of key 9: the filter answered it
		t.Fatalf("%d Badger reads, want none", k.loads)
	}

	// Out of range key groups.
	if _, _, _, err := k.Known(MaxKeyGroups, []byte{1}); err == nil {
		t.Error("Known accepted a key group out of range")
	}
	if _, _, _, err := k.Known(-1, []byte{1}); err == nil {
		t.Error("Known accepted a negative key group")
	}
	if k.CertainlyAbsent(MaxKeyGroups, []byte{1}) || k.CertainlyAbsent(-1, []byte{1}) {
		t.Error("CertainlyAbsent true for a key group out of range")
	}
}

// TestKeyedKnownExistingData: a new KeyedState over key groups that
// already hold data (written and flushed by another KeyedState of the same
// namespace) cannot prove unwritten keys of those key groups absent, but
// can for key groups that hold nothing.
func TestKeyedKnownExistingData(t *testing.T) {
	s := openTemp(t)
	ns := OperatorNamespace("known-existing", 1, 0)
	k1 := NewKeyedState(s, ns, Int64sCodec{}, 64)
	for i := range 10 { // key groups 0..9
		kg, key := ikey(i)
		if err := k1.Put(kg, key, []int64{int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := k1.Flush(); err != nil {
		t.Fatal(err)
	}

	k2 := NewKeyedState(s, ns, Int64sCodec{}, 64)
	kg, key := ikey(2 + 128) // key group 2, never written
	if _, ok, known, absent := knownOf(t, k2, kg, key); known || ok || absent {
		t.Fatalf("unwritten key in a key group with data: ok %v known %v absent %v; want all false", ok, known, absent)
	}
	kg, key = ikey(3) // written by k1, not cached in k2
	if _, ok, known, absent := knownOf(t, k2, kg, key); known || ok || absent {
		t.Fatalf("key written by another KeyedState: ok %v known %v absent %v; want all false", ok, known, absent)
	}
	kg, key = ikey(50) // key group 50 holds nothing
	if _, ok, known, absent := knownOf(t, k2, kg, key); !known || ok || !absent {
		t.Fatalf("key in an empty key group: ok %v known %v absent %v; want false true true", ok, known, absent)
	}
	// Once read, the key is cached and known.
	kg, key = ikey(3)
	if v, ok, err := k2.Get(kg, key); err != nil || !ok || !slices.Equal(v, []int64{3}) {
		t.Fatalf("Get(3) = %v, %v, %v", v, ok, err)
	}
	if v, ok, known, _ := knownOf(t, k2, kg, key); !known || !ok || !slices.Equal(v, []int64{3}) {
		t.Fatalf("Known(3) = %v, ok %v, known %v after Get", v, ok, known)
	}
	if k2.loads != 1 {
		t.Fatalf("%d Badger reads, want 1 (the Get)", k2.loads)
	}
}

// ukey returns the key p ‖ j as 8 bytes big-endian.
func ukey(p string, j int) []byte {
	return binary.BigEndian.AppendUint64([]byte(p), uint64(j))
}

// uval is the value of key in key group kg in TestKeyedWriteUncachedScanPrefix.
func uval(kg int, key []byte) []byte { return fmt.Appendf(nil, "%d/%x", kg, key) }

// scanned is one key and value ScanPrefix returned.
type scanned struct{ key, val []byte }

// scanPrefix collects what ScanPrefix returns, copying the keys.
func scanPrefix(t *testing.T, k *KeyedState[[]byte], kg int, prefix []byte) []scanned {
	t.Helper()
	var got []scanned
	if err := k.ScanPrefix(kg, prefix, func(key []byte, v []byte) error {
		got = append(got, scanned{slices.Clone(key), v})
		return nil
	}); err != nil {
		t.Fatalf("ScanPrefix(%d, %q): %v", kg, prefix, err)
	}
	return got
}

// mustScanned fails unless got holds exactly want's keys, in key order,
// with their values.
func mustScanned(t *testing.T, what string, got []scanned, want [][]byte, val func(key []byte) []byte) {
	t.Helper()
	want = slices.Clone(want)
	slices.SortFunc(want, bytes.Compare)
	for i := range min(len(got), len(want)) {
		if !bytes.Equal(got[i].key, want[i]) {
			t.Fatalf("%s: key %d is %q, want %q", what, i, got[i].key, want[i])
		}
		if w := val(want[i]); !bytes.Equal(got[i].val, w) {
			t.Fatalf("%s: key %q = %q, want %q", what, want[i], got[i].val, w)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d keys, want %d", what, len(got), len(want))
	}
}

// TestKeyedWriteUncachedScanPrefix writes keys sharing prefixes in several
// key groups (and another namespace) with WriteUncached, and checks that
// ScanPrefix returns exactly the keys of one key group under a prefix, in
// key order, with their values, key group excluded; that the cache is
// untouched; that fn's error ends the scan and is returned as it is; and
// that a write of more than one batch (maxArena) comes back whole.
func TestKeyedWriteUncachedScanPrefix(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ns := OperatorNamespace("uncached", 1, 2)
	k := NewKeyedState(s, ns, BytesCodec{}, 1000)
	other := NewKeyedState(s, OperatorNamespace("uncached", 1, 3), BytesCodec{}, 1000)

	var all [][]byte // the keys, in every key group
	for j := range 50 {
		all = append(all, ukey("a\x00", j), ukey("a\x01", j), ukey("ab", j), ukey("b", j))
	}
	all = append(all, []byte("a"), []byte("a\x00"), []byte("a\x00\xff"), []byte("\x00"))
	keyGroups := []int{4, 5, 6, 0x105, 0x500}

	// The first thing k does is an uncached write: the key groups it
	// writes stay fresh for the cache's absent-key filter.
	ts, err := k.WriteTs()
	if err != nil {
		t.Fatal(err)
	}
	if err := k.WriteUncached(ts, []UncachedKV[[]byte]{{KeyGroup: 5, Key: []byte("first"), Val: uval(5, []byte("first"))}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := k.Get(5, []byte("c-never")); err != nil || ok {
		t.Fatalf("Get of a never-written key = %v, %v", ok, err)
	}
	if k.loads != 0 {
		t.Fatalf("%d Badger reads: WriteUncached made its key group look used", k.loads)
	}

	// Cached keys beside the uncached ones.
	for j := range 20 {
		if err := k.Put(5, ukey("c", j), []byte{byte(j)}); err != nil {
			t.Fatal(err)
		}
	}
	n := k.Len()

	var kvs []UncachedKV[[]byte]
	for _, kg := range keyGroups {
		for _, key := range all {
			kvs = append(kvs, UncachedKV[[]byte]{KeyGroup: kg, Key: key, Val: uval(kg, key)})
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(kvs), func(i, j int) { kvs[i], kvs[j] = kvs[j], kvs[i] })
	for len(kvs) > 0 { // in several calls
		c := min(len(kvs), 97)
		ts, err := k.WriteTs()
		if err != nil {
			t.Fatal(err)
		}
		if err := k.WriteUncached(ts, kvs[:c]); err != nil {
			t.Fatal(err)
		}
		kvs = kvs[c:]
	}
	// The same keys in another namespace, with other values.
	var okvs []UncachedKV[[]byte]
	for _, key := range all {
		okvs = append(okvs, UncachedKV[[]byte]{KeyGroup: 5, Key: key, Val: []byte("other")})
	}
	if ts, err = other.WriteTs(); err != nil {
		t.Fatal(err)
	}
	if err := other.WriteUncached(ts, okvs); err != nil {
		t.Fatal(err)
	}
	if k.Len() != n {
		t.Fatalf("WriteUncached changed the cache: %d entries, was %d", k.Len(), n)
	}

	withPrefix := func(p string) [][]byte {
		var r [][]byte
		for _, key := range all {
			if bytes.HasPrefix(key, []byte(p)) {
				r = append(r, key)
			}
		}
		return r
	}
	for _, kg := range keyGroups {
		val := func(key []byte) []byte { return uval(kg, key) }
		for _, p := range []string{"a\x00", "a\x01", "a", "ab", "b", "\x00", "c", "zz"} {
			mustScanned(t, fmt.Sprintf("key group %d, prefix %q", kg, p), scanPrefix(t, k, kg, []byte(p)), withPrefix(p), val)
		}
		want := slices.Clone(all)
		if kg == 5 {
			want = append(want, []byte("first"))
		}
		// Badger only: the cached keys "c..." are not there.
		mustScanned(t, fmt.Sprintf("key group %d, empty prefix", kg), scanPrefix(t, k, kg, nil), want, val)
	}
	for _, kg := range []int{0, 3, 7, 0x104, 0x106, 0x405, MaxKeyGroups - 1} {
		if got := scanPrefix(t, k, kg, nil); len(got) != 0 {
			t.Fatalf("key group %d: %d keys, first %q; want none", kg, len(got), got[0].key)
		}
	}
	mustScanned(t, "other namespace", scanPrefix(t, other, 5, []byte("a\x00")), withPrefix("a\x00"),
		func([]byte) []byte { return []byte("other") })
	if got := scanPrefix(t, other, 4, nil); len(got) != 0 {
		t.Fatalf("other namespace, key group 4: %d keys", len(got))
	}

	// The cached keys are unaffected.
	if k.Len() != n {
		t.Fatalf("ScanPrefix changed the cache: %d entries, was %d", k.Len(), n)
	}
	for j := range 20 {
		if v, ok, err := k.Get(5, ukey("c", j)); err != nil || !ok || !bytes.Equal(v, []byte{byte(j)}) {
			t.Fatalf("Get(c%d) = %v, %v, %v", j, v, ok, err)
		}
	}

	// fn's error stops the scan and is returned as it is.
	errStop := errors.New("stop")
	calls := 0
	err = k.ScanPrefix(5, []byte("a"), func([]byte, []byte) error {
		if calls++; calls == 3 {
			return errStop
		}
		return nil
	})
	if err != errStop {
		t.Fatalf("ScanPrefix returned %v, want fn's error itself", err)
	}
	if calls != 3 {
		t.Fatalf("fn called %d times after returning an error at the 3rd", calls)
	}

	// More than one write batch: 20000 values of 400 bytes (~8 MB, twice
	// maxArena), checked value by value.
	const many, size = 20000, 400
	e := NewEpoch(s.NextTs())
	big := NewKeyedState(s, OperatorNamespace("uncached-big", 1, 0), BytesCodec{}, 100)
	big.SetEpoch(e)
	bigVal := func(j int) []byte {
		v := binary.BigEndian.AppendUint64(make([]byte, 0, size), uint64(j)*7919)
		return append(v, bytes.Repeat([]byte{byte(j)}, size-8)...)
	}
	kvs = kvs[:0]
	for j := range many {
		kvs = append(kvs, UncachedKV[[]byte]{KeyGroup: 7, Key: ukey("z", j), Val: bigVal(j)})
	}
	if ts, err = big.WriteTs(); err != nil {
		t.Fatal(err)
	}
	if ts != e.Ts() {
		t.Fatalf("WriteTs = %d, want the epoch's %d", ts, e.Ts())
	}
	if err := big.WriteUncached(ts, kvs); err != nil {
		t.Fatal(err)
	}
	if w := e.TakeWritten(); w < many*size {
		t.Fatalf("epoch counted %d bytes written, want at least %d", w, many*size)
	}
	j := 0
	if err := big.ScanPrefix(7, []byte("z"), func(key []byte, v []byte) error {
		if want := ukey("z", j); !bytes.Equal(key, want) {
			return fmt.Errorf("key %d is %x, want %x", j, key, want)
		}
		if !bytes.Equal(v, bigVal(j)) {
			return fmt.Errorf("value of key %d differs (%d bytes)", j, len(v))
		}
		j++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if j != many {
		t.Fatalf("ScanPrefix returned %d of %d keys", j, many)
	}
}

// TestKeyedUncachedVersions: uncached writes follow the Epoch: written at
// its timestamp, read at the reader's, and rolled back by RestoreNamespace
// like write-backs.
func TestKeyedUncachedVersions(t *testing.T) {
	s := openTemp(t)
	ns := OperatorNamespace("uncached-versions", 1, 0)
	w1 := s.NextTs()
	if err := s.Pin("uncached-versions", w1); err != nil {
		t.Fatal(err)
	}
	e := NewEpoch(w1)
	k := NewKeyedState(s, ns, BytesCodec{}, 100)
	k.SetEpoch(e)
	val := func(kg, j int, epoch string) []byte { return fmt.Appendf(nil, "%d/%d@%s", kg, j, epoch) }
	write := func(from, to int, epoch string) {
		t.Helper()
		ts, err := k.WriteTs()
		if err != nil {
			t.Fatal(err)
		}
		if ts != e.Ts() {
			t.Fatalf("WriteTs = %d, want the epoch's %d", ts, e.Ts())
		}
		var kvs []UncachedKV[[]byte]
		for _, kg := range []int{3, 4} {
			for j := from; j < to; j++ {
				kvs = append(kvs, UncachedKV[[]byte]{KeyGroup: kg, Key: ukey("x", j), Val: val(kg, j, epoch)})
			}
		}
		if err := k.WriteUncached(ts, kvs); err != nil {
			t.Fatal(err)
		}
	}
	// at returns the state of key groups 3 and 4 as a new KeyedState at
	// timestamp ts (0: without an Epoch, the newest versions) sees it.
	at := func(ts uint64) map[string]string {
		t.Helper()
		r := NewKeyedState(s, ns, BytesCodec{}, 16)
		if ts != 0 {
			r.SetEpoch(NewEpoch(ts))
		}
		got := map[string]string{}
		for _, kg := range []int{3, 4} {
			for _, kv := range scanPrefix(t, r, kg, []byte("x")) {
				got[fmt.Sprintf("%d/%x", kg, kv.key)] = string(kv.val)
			}
		}
		return got
	}
	model := func(parts ...[3]int) map[string]string { // from, to, epoch
		m := map[string]string{}
		for _, p := range parts {
			for _, kg := range []int{3, 4} {
				for j := p[0]; j < p[1]; j++ {
					m[fmt.Sprintf("%d/%x", kg, ukey("x", j))] = string(val(kg, j, fmt.Sprint(p[2])))
				}
			}
		}
		return m
	}
	mustEqual := func(what string, got, want map[string]string) {
		t.Helper()
		for key, v := range want {
			if g, ok := got[key]; !ok || g != v {
				t.Fatalf("%s: %s = %q (present %v), want %q", what, key, g, ok, v)
			}
		}
		for key, g := range got {
			if _, ok := want[key]; !ok {
				t.Fatalf("%s: %s = %q should be absent", what, key, g)
			}
		}
	}

	write(0, 10, "1")
	w2 := s.NextTs()
	e.Set(w2)
	write(10, 20, "2")
	write(0, 2, "2") // blind overwrites of keys of the first epoch

	at1 := model([3]int{0, 10, 1})
	at2 := model([3]int{0, 2, 2}, [3]int{2, 10, 1}, [3]int{10, 20, 2})
	mustEqual("at W1", at(w1), at1)
	mustEqual("at W2", at(w2), at2)
	mustEqual("newest", at(0), at2)
	got := map[string]string{} // the writer itself, at W2
	for _, kg := range []int{3, 4} {
		for _, kv := range scanPrefix(t, k, kg, []byte("x")) {
			got[fmt.Sprintf("%d/%x", kg, kv.key)] = string(kv.val)
		}
	}
	mustEqual("writer at W2", got, at2)

	// Roll back to W1: the keys written at W2 (10 new and 2 overwritten
	// in each of two key groups) are rewritten.
	start, n, err := s.RestoreNamespace(ns, w1)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2*12 {
		t.Fatalf("RestoreNamespace rewrote %d keys, want %d", n, 2*12)
	}
	mustEqual("restored", at(start), at1)
	mustEqual("restored, newest", at(0), at1)
	mustEqual("still at W1", at(w1), at1)

	// The restarted job writes at its new epoch.
	e = NewEpoch(start)
	k = NewKeyedState(s, ns, BytesCodec{}, 100)
	k.SetEpoch(e)
	write(20, 25, "3")
	mustEqual("after restart", at(start), model([3]int{0, 10, 1}, [3]int{20, 25, 3}))
}

// TestKeyedUncachedErrors: WriteUncached and ScanPrefix refuse key groups
// out of range and report ErrNoStore without a store; ScanPrefix reports
// a value its codec cannot decode.
func TestKeyedUncachedErrors(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ns := OperatorNamespace("uncached-errors", 1, 0)
	k := NewKeyedState[int64](s, ns, Int64Codec{}, 16)
	ts, err := k.WriteTs()
	if err != nil {
		t.Fatal(err)
	}
	for _, kg := range []int{MaxKeyGroups, MaxKeyGroups + 5, -1} {
		if err := k.WriteUncached(ts, []UncachedKV[int64]{{KeyGroup: kg, Key: []byte("k"), Val: 1}}); err == nil {
			t.Errorf("WriteUncached accepted key group %d", kg)
		}
		if err := k.ScanPrefix(kg, nil, func([]byte, int64) error { return nil }); err == nil {
			t.Errorf("ScanPrefix accepted key group %d", kg)
		}
	}
	if c, err := s.NamespaceKeys(ns, LatestTs); err != nil || c != 0 {
		t.Fatalf("%d keys after refused writes (%v)", c, err)
	}
	if err := k.WriteUncached(ts, nil); err != nil {
		t.Fatalf("WriteUncached of nothing: %v", err)
	}

	// A value the codec cannot decode (written through another codec).
	raw := NewKeyedState(s, ns, BytesCodec{}, 16)
	if err := raw.WriteUncached(ts, []UncachedKV[[]byte]{{KeyGroup: 1, Key: []byte("bad"), Val: []byte{0x80}}}); err != nil {
		t.Fatal(err)
	}
	called := false
	err = k.ScanPrefix(1, nil, func([]byte, int64) error { called = true; return nil })
	if !errors.Is(err, ErrCorrupt) || called {
		t.Fatalf("ScanPrefix of an undecodable value = %v (fn called %v), want ErrCorrupt", err, called)
	}

	// Without a store.
	nk := NewKeyedState[int64](nil, ns, Int64Codec{}, 16)
	if err := nk.WriteUncached(1, []UncachedKV[int64]{{KeyGroup: 1, Key: []byte("k"), Val: 1}}); !errors.Is(err, ErrNoStore) {
		t.Errorf("WriteUncached without a store = %v, want ErrNoStore", err)
	}
	if err := nk.ScanPrefix(1, nil, func([]byte, int64) error { return nil }); !errors.Is(err, ErrNoStore) {
		t.Errorf("ScanPrefix without a store = %v, want ErrNoStore", err)
	}
	if _, err := nk.WriteTs(); !errors.Is(err, ErrNoStore) {
		t.Errorf("WriteTs without a store = %v, want ErrNoStore", err)
	}
	if _, _, _, err := nk.Known(1, []byte("k")); !errors.Is(err, ErrNoStore) {
		t.Errorf("Known of an uncached key without a store = %v, want ErrNoStore", err)
	}
	if nk.CertainlyAbsent(1, []byte("k")) {
		t.Error("CertainlyAbsent true without a store")
	}

	// An Epoch without a timestamp has no write timestamp.
	k.SetEpoch(NewEpoch(0))
	if _, err := k.WriteTs(); err == nil {
		t.Error("WriteTs with an Epoch at 0 succeeded")
	}
}

// TestLoadSortedDeletes checks that loadSorted writes values and deletes
// (nil values) at the given timestamp, in any input order: a reader at the
// timestamp sees the deletes, one at an earlier timestamp the values they
// hide.
func TestLoadSortedDeletes(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := func(i int) []byte { return []byte(fmt.Sprintf("ls/%04d", i)) }
	var kvs []stateKV
	for i := 99; i >= 0; i-- {
		kvs = append(kvs, stateKV{key: key(i), val: []byte(fmt.Sprintf("v%d", i))})
	}
	if err := loadSorted(s.sdb, 10, kvs); err != nil {
		t.Fatal(err)
	}
	kvs = kvs[:0]
	for i := 0; i < 100; i += 3 {
		kvs = append(kvs, stateKV{key: key(i)}) // delete
	}
	if err := loadSorted(s.sdb, 12, kvs); err != nil {
		t.Fatal(err)
	}
	for _, ts := range []uint64{10, 11, 12, 13} {
		txn := s.sdb.NewTransactionAt(ts, false)
		for i := range 100 {
			item, err := txn.Get(key(i))
			deleted := ts >= 12 && i%3 == 0
			switch {
			case deleted && !errors.Is(err, badger.ErrKeyNotFound):
				t.Fatalf("ts %d key %d: got %v, want deleted", ts, i, err)
			case deleted:
			case err != nil:
				t.Fatalf("ts %d key %d: %v", ts, i, err)
			default:
				v, err := item.ValueCopy(nil)
				if err != nil || string(v) != fmt.Sprintf("v%d", i) {
					t.Fatalf("ts %d key %d = %q, %v", ts, i, v, err)
				}
			}
		}
		txn.Discard()
	}
}
