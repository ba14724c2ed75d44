package state

import (
	"slices"
	"testing"
)

// TestKeyedGetCached checks that GetCached finds what the cache holds
// (values put or loaded, short and long keys), misses what it does not
// (never written, evicted, deleted) without reading Badger or changing the
// cache, and that Get still finds evicted values afterwards.
func TestKeyedGetCached(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const cache = 16
	k := NewKeyedState(s, OperatorNamespace("c", 1, 2), Int64sCodec{}, cache)
	getCached := func(i int) ([]int64, bool) {
		t.Helper()
		kg, key := vkey(i)
		loads, n := k.loads, k.Len()
		v, ok, err := k.GetCached(kg, key)
		if err != nil {
			t.Fatalf("GetCached(%d): %v", i, err)
		}
		if k.loads != loads || k.Len() != n {
			t.Fatalf("GetCached(%d) read Badger (%d reads) or changed the cache (%d entries, was %d)", i, k.loads-loads, k.Len(), n)
		}
		return v, ok
	}
	if _, ok := getCached(1); ok {
		t.Fatal("GetCached found a key never written")
	}
	for i := range 8 {
		kg, key := vkey(i)
		if err := k.Put(kg, key, []int64{int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 8 {
		if v, ok := getCached(i); !ok || !slices.Equal(v, []int64{int64(i)}) {
			t.Fatalf("GetCached(%d) = %v, %v after Put", i, v, ok)
		}
	}
	kg, key := vkey(3)
	if err := k.Delete(kg, key); err != nil {
		t.Fatal(err)
	}
	if _, ok := getCached(3); ok {
		t.Fatal("GetCached found a deleted key")
	}
	// Evict the first keys by writing many others.
	for i := 100; i < 100+4*cache; i++ {
		kg, key := vkey(i)
		if err := k.Put(kg, key, []int64{int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	evicted := 0
	for i := range 8 {
		if _, ok := getCached(i); !ok && i != 3 {
			evicted++
			kg, key := vkey(i)
			v, ok, err := k.Get(kg, key)
			if err != nil || !ok || !slices.Equal(v, []int64{int64(i)}) {
				t.Fatalf("Get(%d) = %v, %v, %v after eviction", i, v, ok, err)
			}
			// Now loaded, it is cached again.
			if v, ok := getCached(i); !ok || !slices.Equal(v, []int64{int64(i)}) {
				t.Fatalf("GetCached(%d) = %v, %v after Get", i, v, ok)
			}
		}
	}
	if evicted == 0 {
		t.Fatal("no key was evicted: the test checks nothing")
	}
	if _, _, err := k.GetCached(MaxKeyGroups, []byte{1}); err == nil {
		t.Error("GetCached accepted a key group out of range")
	}
}
