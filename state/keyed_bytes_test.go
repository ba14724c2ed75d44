package state

import (
	"bytes"
	"testing"
)

// sizedBytes is BytesCodec whose values count their length for the byte
// budget.
type sizedBytes struct{ BytesCodec }

func (sizedBytes) Size(v []byte) int { return len(v) }

// TestKeyedByteBudget checks that a KeyedState whose codec is a Sizer
// keeps its cached bytes near the budget (far below its entry bound),
// writes what it evicts to Badger, and reads every value back.
func TestKeyedByteBudget(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const budget = 64 << 10
	k := NewKeyedState[[]byte](s, OperatorNamespace("b", 0, 0), sizedBytes{}, 1_000_000)
	k.SetCacheBytes(budget)
	val := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 100+i%900) }
	const n = 2000 // about 1 MB of values
	for i := range n {
		kg, key := ikey(i)
		if err := k.Put(kg, key, val(i)); err != nil {
			t.Fatal(err)
		}
		if k.CacheBytes() > budget+int64(EntryOverhead+1000) {
			t.Fatalf("after %d puts the cache holds %d bytes, budget %d", i+1, k.CacheBytes(), budget)
		}
	}
	if k.Len() >= n/4 {
		t.Fatalf("cache holds %d of %d entries: the byte budget evicted nothing", k.Len(), n)
	}
	if c := countPrefix(t, s, k.Namespace()); c == 0 {
		t.Fatal("nothing written back")
	}
	for i := range n {
		v, ok := mustGet(t, k, i)
		if !ok || !bytes.Equal(v, val(i)) {
			t.Fatalf("key %d: got %d bytes (ok %v), want %d", i, len(v), ok, len(val(i)))
		}
	}
	// Deleting counts only the overhead.
	for i := range n {
		kg, key := ikey(i)
		if err := k.Delete(kg, key); err != nil {
			t.Fatal(err)
		}
	}
	if got, max := k.CacheBytes(), int64(k.Len()*EntryOverhead); got != max {
		t.Fatalf("after deleting every key the cache counts %d bytes, want %d (%d entries)", got, max, k.Len())
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	if c := countPrefix(t, s, k.Namespace()); c != 0 {
		t.Fatalf("%d keys left after deleting all", c)
	}
}

// TestKeyedByteBudgetGrowingValue keeps updating one value that outgrows
// the whole budget: it stays cached while the other entries leave.
func TestKeyedByteBudgetGrowingValue(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := NewKeyedState[[]byte](s, OperatorNamespace("g", 0, 0), sizedBytes{}, 1000)
	k.SetCacheBytes(8 << 10)
	for i := 1; i <= 100; i++ {
		kg, key := ikey(i)
		if err := k.Put(kg, key, make([]byte, 50)); err != nil {
			t.Fatal(err)
		}
	}
	kg, key := ikey(0)
	var big []byte
	for range 200 {
		big = append(big, bytes.Repeat([]byte{7}, 100)...)
		if err := k.Put(kg, key, big); err != nil {
			t.Fatal(err)
		}
		if k.find(append([]byte{byte(kg >> 8), byte(kg)}, key...)) < 0 {
			t.Fatal("the value being updated was evicted")
		}
	}
	if k.Len() > 10 {
		t.Fatalf("%d entries cached next to a value over the budget, want the others evicted", k.Len())
	}
	if c := countPrefix(t, s, k.Namespace()); c < 90 {
		t.Fatalf("%d keys written back, want the 100 small ones", c)
	}
	v, ok := mustGet(t, k, 0)
	if !ok || len(v) != 20000 {
		t.Fatalf("big value: %d bytes, ok %v", len(v), ok)
	}
}

// TestKeyedFlushInChunks flushes more than maxArena of dirty values (so
// the write-back takes several batches) and reads them back from Badger
// through a fresh KeyedState.
func TestKeyedFlushInChunks(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ns := OperatorNamespace("c", 0, 0)
	k := NewKeyedState[[]byte](s, ns, BytesCodec{}, 1_000_000)
	e := NewEpoch(s.NextTs())
	k.SetEpoch(e)
	const n = 3000
	val := func(i int) []byte { return bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 2000+i%7) }
	for i := range n {
		kg, key := ikey(i)
		if err := k.Put(kg, key, val(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	if w := e.TakeWritten(); w < 2*maxArena {
		t.Fatalf("epoch counts %d bytes written, want over %d", w, 2*maxArena)
	}
	r := NewKeyedState[[]byte](s, ns, BytesCodec{}, 10)
	r.SetEpoch(e)
	for i := range n {
		v, ok := mustGet(t, r, i)
		if !ok || !bytes.Equal(v, val(i)) {
			t.Fatalf("key %d: got %d bytes (ok %v), want %d", i, len(v), ok, len(val(i)))
		}
	}
}
