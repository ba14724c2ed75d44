package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicesql/sluice/exec/types"
)

func openDisk(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ikey returns the 8-byte key of i and its key group (i mod 128).
func ikey(i int) (int, []byte) {
	return i % 128, binary.BigEndian.AppendUint64(nil, uint64(i))
}

// vkey returns a key of i whose length varies around the inline limit of
// cache entries (8, 22, 23 and 40 bytes, so 10, 24, 25 and 42 with the key
// group); its first 8 bytes encode i.
func vkey(i int) (int, []byte) {
	kg, key := ikey(i)
	pad := [...]int{0, 14, 15, 32}[i%4]
	for j := range pad {
		key = append(key, byte(i+j))
	}
	return kg, key
}

func mustGet[V any](t testing.TB, k *KeyedState[V], i int) (V, bool) {
	t.Helper()
	kg, key := ikey(i)
	v, ok, err := k.Get(kg, key)
	if err != nil {
		t.Fatalf("Get(%d): %v", i, err)
	}
	return v, ok
}

// TestKeyedEvictionAndReopen writes 10 k keys through a cache of 100,
// deletes some, and reads them back through eviction, after Flush and after
// reopening the store.
func TestKeyedEvictionAndReopen(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir)
	ns := OperatorNamespace("job-1", 3, 0)
	k := NewKeyedState[int64](s, ns, Int64Codec{}, 100)
	const n = 10_000
	for i := range n {
		kg, key := ikey(i)
		if err := k.Put(kg, key, int64(i)*10); err != nil {
			t.Fatal(err)
		}
		if k.Len() > 100 {
			t.Fatalf("cache holds %d entries", k.Len())
		}
	}
	for i := 0; i < n; i += 3 {
		kg, key := ikey(i)
		if err := k.Delete(kg, key); err != nil {
			t.Fatal(err)
		}
	}
	// Update some keys through Get+Put (values read back from Badger).
	for i := 1; i < n; i += 7 {
		v, ok := mustGet(t, k, i)
		want := i%3 != 0
		if ok != want || (ok && v != int64(i)*10) {
			t.Fatalf("Get(%d) = %d, %v", i, v, ok)
		}
		if ok {
			kg, key := ikey(i)
			if err := k.Put(kg, key, v+1); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := func(i int) (int64, bool) {
		if i%3 == 0 {
			return 0, false
		}
		if i%7 == 1 {
			return int64(i)*10 + 1, true
		}
		return int64(i) * 10, true
	}
	check := func(k *KeyedState[int64]) {
		t.Helper()
		for i := range n {
			v, ok := mustGet(t, k, i)
			wv, wok := want(i)
			if ok != wok || v != wv {
				t.Fatalf("Get(%d) = %d, %v; want %d, %v", i, v, ok, wv, wok)
			}
		}
		if k.Len() > 100 {
			t.Fatalf("cache holds %d entries", k.Len())
		}
	}
	check(k)
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDisk(t, dir)
	defer s.Close()
	k = NewKeyedState[int64](s, ns, Int64Codec{}, 100)
	check(k)
	// Every live key is in Badger, each exactly once.
	if c := countPrefix(t, s, ns); c != n-(n+2)/3 {
		t.Fatalf("%d keys in Badger, want %d", c, n-(n+2)/3)
	}
}

// TestKeyedFlushKeepsCache checks that Flush writes dirty entries without
// evicting them.
func TestKeyedFlushKeepsCache(t *testing.T) {
	s := openDisk(t, t.TempDir())
	defer s.Close()
	ns := OperatorNamespace("j", 0, 0)
	k := NewKeyedState[int64](s, ns, Int64Codec{}, 1000)
	for i := range 500 {
		kg, key := ikey(i)
		if err := k.Put(kg, key, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if c := countPrefix(t, s, ns); c != 0 {
		t.Fatalf("%d keys in Badger before Flush", c)
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	if c := countPrefix(t, s, ns); c != 500 || k.Len() != 500 {
		t.Fatalf("after Flush: %d keys in Badger, %d cached", c, k.Len())
	}
	for i, e := range k.ents {
		if e.flags&flagDirty != 0 {
			t.Fatalf("entry %x still dirty", k.keyOf(int32(i)))
		}
	}
	if err := k.Flush(); err != nil { // nothing to do
		t.Fatal(err)
	}
}

// TestKeyedModel runs random operations against a map, with small caches,
// flushes, and scans.
func TestKeyedModel(t *testing.T) {
	for _, cache := range []int{1, 7, 64, 5000} {
		t.Run(fmt.Sprint(cache), func(t *testing.T) {
			s, err := Open("", Options{InMemory: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			r := rand.New(rand.NewPCG(1, uint64(cache)))
			k := NewKeyedState(s, OperatorNamespace("m", 1, 2), Int64sCodec{}, cache)
			model := map[int][]int64{}
			for step := range 6000 {
				i := r.IntN(400)
				kg, key := vkey(i)
				switch op := r.IntN(100); {
				case op < 40:
					v, ok, err := k.Get(kg, key)
					if err != nil {
						t.Fatal(err)
					}
					mv, mok := model[i]
					if ok != mok || !slices.Equal(v, mv) {
						t.Fatalf("step %d: Get(%d) = %v, %v; want %v, %v", step, i, v, ok, mv, mok)
					}
				case op < 80:
					v := []int64{int64(step), int64(i)}
					if err := k.Put(kg, key, v); err != nil {
						t.Fatal(err)
					}
					model[i] = v
				case op < 97:
					if err := k.Delete(kg, key); err != nil {
						t.Fatal(err)
					}
					delete(model, i)
				case op < 99:
					if err := k.Flush(); err != nil {
						t.Fatal(err)
					}
				default:
					checkScan(t, k, model)
				}
				if k.Len() > cache {
					t.Fatalf("cache holds %d > %d", k.Len(), cache)
				}
				if cache <= 64 || step%500 == 0 {
					checkIndex(t, k)
				}
			}
			checkScan(t, k, model)
		})
	}
}

// checkIndex verifies the cache's hash index: one slot per used entry,
// each entry found by its key, and the index at most half full.
func checkIndex[V any](t *testing.T, k *KeyedState[V]) {
	t.Helper()
	slots := 0
	for _, sl := range k.tab {
		if sl != 0 {
			slots++
		}
	}
	used := 0
	for i := range k.ents {
		e := &k.ents[i]
		if e.kn == 0 {
			continue
		}
		used++
		k.last = -1
		if got := k.find(slices.Clone(k.keyOf(int32(i)))); got != int32(i) {
			t.Fatalf("entry %d (key %x) found at %d", i, k.keyOf(int32(i)), got)
		}
	}
	if slots != used || used != k.n || 2*slots > len(k.tab) {
		t.Fatalf("index: %d slots of %d, %d used entries, n = %d", slots, len(k.tab), used, k.n)
	}
}

func checkScan(t *testing.T, k *KeyedState[[]int64], model map[int][]int64) {
	t.Helper()
	var prev []byte
	seen := 0
	err := k.Scan(func(kg int, key []byte, v []int64) error {
		full := append([]byte{byte(kg >> 8), byte(kg)}, key...)
		if prev != nil && bytes.Compare(prev, full) >= 0 {
			return fmt.Errorf("scan out of order: %x after %x", full, prev)
		}
		prev = full
		i := int(binary.BigEndian.Uint64(key))
		if wkg, wkey := vkey(i); wkg != kg || !bytes.Equal(wkey, key) {
			return fmt.Errorf("key %d: got %d/%x, want %d/%x", i, kg, key, wkg, wkey)
		}
		if mv, ok := model[i]; !ok || !slices.Equal(mv, v) {
			return fmt.Errorf("scan: key %d = %v, model %v, %v", i, v, mv, ok)
		}
		seen++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(model) {
		t.Fatalf("scan saw %d keys, model has %d", seen, len(model))
	}
}

// TestKeyedScanOverlay checks that cached values and tombstones win over
// what Badger holds.
func TestKeyedScanOverlay(t *testing.T) {
	s := openDisk(t, t.TempDir())
	defer s.Close()
	ts := []types.Type{types.BigInt, types.String}
	k := NewKeyedState(s, OperatorNamespace("o", 0, 1), NewRowCodec(ts), 1000)
	row := func(i int, tag string) []types.Datum {
		return []types.Datum{types.IntDatum(int64(i)), types.StringDatum(fmt.Sprintf("%s%d", tag, i))}
	}
	for i := range 100 {
		kg, key := ikey(i)
		if err := k.Put(kg, key, row(i, "disk")); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	// A fresh state sees Badger only; overlay updates, deletes, inserts.
	k = NewKeyedState(s, k.Namespace(), NewRowCodec(ts), 1000)
	want := map[int]string{}
	for i := range 100 {
		want[i] = fmt.Sprint("disk", i)
	}
	for i := 0; i < 120; i += 5 {
		kg, key := ikey(i)
		switch {
		case i%10 == 0:
			if err := k.Delete(kg, key); err != nil {
				t.Fatal(err)
			}
			delete(want, i)
		default:
			if err := k.Put(kg, key, row(i, "mem")); err != nil {
				t.Fatal(err)
			}
			want[i] = fmt.Sprint("mem", i)
		}
	}
	// A cached clean entry read from Badger and a cached absent key.
	if _, ok := mustGet(t, k, 1); !ok {
		t.Fatal("key 1 missing")
	}
	if _, ok := mustGet(t, k, 1000); ok {
		t.Fatal("key 1000 present")
	}
	got := map[int]string{}
	if err := k.Scan(func(kg int, key []byte, v []types.Datum) error {
		i := int(binary.BigEndian.Uint64(key))
		if _, dup := got[i]; dup {
			return fmt.Errorf("key %d twice", i)
		}
		if v[0].I != int64(i) {
			return fmt.Errorf("key %d has row %v", i, v)
		}
		got[i] = v[1].S
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("scan: %d keys, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i] != w {
			t.Fatalf("key %d = %q, want %q", i, got[i], w)
		}
	}
	// fn's error comes back as it is.
	stop := errors.New("stop")
	if err := k.Scan(func(int, []byte, []types.Datum) error { return stop }); err != stop {
		t.Fatalf("Scan returned %v", err)
	}
}

// TestKeyedEvictionRound checks that a full cache evicts a round of
// cacheEntries/8 entries at once, least recently used first.
func TestKeyedEvictionRound(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := NewKeyedState[int64](s, OperatorNamespace("r", 0, 0), Int64Codec{}, 100)
	for i := range 100 {
		kg, key := ikey(i)
		if err := k.Put(kg, key, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	put := func(i int) {
		t.Helper()
		kg, key := ikey(i)
		if err := k.Put(kg, key, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	// The first round finds every entry referenced, clears them all and
	// evicts the first 12 (0..11).
	put(100)
	if k.Len() != 100-12+1 {
		t.Fatalf("cache holds %d entries after one round, want %d", k.Len(), 100-12+1)
	}
	if c := countPrefix(t, s, k.Namespace()); c != 12 {
		t.Fatalf("%d keys written back, want 12", c)
	}
	// Fill the cache again, then use 12..49 again: the next round must
	// pick among the keys not used since the last sweep (50..99).
	for i := 101; i < 112; i++ {
		put(i)
	}
	for i := 12; i < 50; i++ {
		mustGet(t, k, i)
	}
	put(112)
	if c := countPrefix(t, s, k.Namespace()); c != 24 {
		t.Fatalf("%d keys written back after two rounds, want 24", c)
	}
	for i := 12; i < 50; i++ {
		kg, key := ikey(i)
		if k.find(append([]byte{byte(kg >> 8), byte(kg)}, key...)) < 0 {
			t.Fatalf("recently used key %d was evicted", i)
		}
	}
}

// TestKeyedKeyGroupRanges checks ScanKeyGroups and DropKeyGroups: two
// "subtasks" share a namespace with disjoint key group ranges.
func TestKeyedKeyGroupRanges(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ns := OperatorNamespace("kg", 1, 0)
	sub := [2]*KeyedState[int64]{
		NewKeyedState[int64](s, ns, Int64Codec{}, 30),
		NewKeyedState[int64](s, ns, Int64Codec{}, 30),
	}
	owner := func(kg int) int { return KeyGroupOwner(kg, 128, 2) }
	for i := range 1000 {
		kg, key := ikey(i)
		if err := sub[owner(kg)].Put(kg, key, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	count := func(k *KeyedState[int64], first, last int) (n int) {
		t.Helper()
		if err := k.ScanKeyGroups(first, last, func(kg int, key []byte, v int64) error {
			if kg < first || kg > last || int64(binary.BigEndian.Uint64(key)) != v {
				return fmt.Errorf("key group %d key %x value %d", kg, key, v)
			}
			n++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	owned := [2]int{}
	for i := range 1000 {
		kg, _ := ikey(i)
		owned[owner(kg)]++
	}
	for i, k := range sub {
		first, last := KeyGroupRange(i, 2, 128)
		if n := count(k, first, last); n != owned[i] {
			t.Fatalf("subtask %d scans %d keys in its range, want %d", i, n, owned[i])
		}
		if n := count(k, first+1, first+1); n != 8 { // keys first+1 + 128j < 1000
			t.Fatalf("subtask %d scans %d keys in one key group, want 8", i, n)
		}
	}
	if n := count(sub[0], 5, 4); n != 0 {
		t.Fatalf("empty range scans %d keys", n)
	}
	first, last := KeyGroupRange(0, 2, 128)
	if err := sub[0].DropKeyGroups(first, last); err != nil {
		t.Fatal(err)
	}
	if n := count(sub[0], first, last); n != 0 || sub[0].Len() != 0 {
		t.Fatalf("after DropKeyGroups: %d keys, %d cached", n, sub[0].Len())
	}
	f1, l1 := KeyGroupRange(1, 2, 128)
	if n := count(sub[1], f1, l1); n != owned[1] {
		t.Fatalf("the other subtask has %d keys left, want %d", n, owned[1])
	}
	for i := range 1000 {
		kg, _ := ikey(i)
		v, ok := mustGet(t, sub[owner(kg)], i)
		if want := owner(kg) == 1; ok != want || (ok && v != int64(i)) {
			t.Fatalf("key %d: %d, %v", i, v, ok)
		}
	}
}

// TestKeyedSimilarKeys checks keys that differ only in trailing zero bytes
// (inline keys are zero-padded) or in the key group.
func TestKeyedSimilarKeys(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	keys := []string{"", "\x00", "\x00\x00", "a", "a\x00", "a\x00\x00", strings.Repeat("\x00", 22),
		strings.Repeat("\x00", 23), strings.Repeat("\x00", 24), strings.Repeat("b", 22) + "\x00"}
	for _, cache := range []int{100, 3} {
		k := NewKeyedState[int64](s, OperatorNamespace("sim", cache, 0), Int64Codec{}, cache)
		for j, key := range keys {
			for kg := range 3 {
				if err := k.Put(kg*256, []byte(key), int64(j*10+kg)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for j, key := range keys {
			for kg := range 3 {
				v, ok, err := k.Get(kg*256, []byte(key))
				if err != nil || !ok || v != int64(j*10+kg) {
					t.Fatalf("cache %d: Get(%d, %q) = %d, %v, %v; want %d", cache, kg*256, key, v, ok, err, j*10+kg)
				}
			}
		}
		n := 0
		if err := k.Scan(func(kg int, key []byte, v int64) error {
			if want := int64(slices.Index(keys, string(key))*10 + kg/256); v != want {
				return fmt.Errorf("scan: (%d, %q) = %d, want %d", kg, key, v, want)
			}
			n++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if n != 3*len(keys) {
			t.Fatalf("scan saw %d keys, want %d", n, 3*len(keys))
		}
	}
}

func TestKeyedDrop(t *testing.T) {
	s := openDisk(t, t.TempDir())
	defer s.Close()
	a := NewKeyedState[int64](s, OperatorNamespace("job", 1, 0), Int64Codec{}, 50)
	// Namespaces that share textual prefixes must not be touched.
	b := NewKeyedState[int64](s, OperatorNamespace("job", 1, 1), Int64Codec{}, 50)
	c := NewKeyedState[int64](s, OperatorNamespace("job1", 1, 0), Int64Codec{}, 50)
	for i := range 1000 {
		kg, key := ikey(i)
		for _, k := range []*KeyedState[int64]{a, b, c} {
			if err := k.Put(kg, key, int64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, k := range []*KeyedState[int64]{a, b, c} {
		if err := k.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Drop(); err != nil {
		t.Fatal(err)
	}
	if a.Len() != 0 {
		t.Fatalf("%d cached after Drop", a.Len())
	}
	if n := countPrefix(t, s, a.Namespace()); n != 0 {
		t.Fatalf("%d keys left after Drop", n)
	}
	for i := range 1000 {
		if _, ok := mustGet(t, a, i); ok {
			t.Fatalf("key %d survived Drop", i)
		}
		if v, ok := mustGet(t, b, i); !ok || v != int64(i) {
			t.Fatalf("other operator lost key %d", i)
		}
		if v, ok := mustGet(t, c, i); !ok || v != int64(i) {
			t.Fatalf("other job lost key %d", i)
		}
	}
	// A dropped state is usable again.
	if err := a.Put(1, []byte("x"), 7); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := a.Get(1, []byte("x")); err != nil || !ok || v != 7 {
		t.Fatalf("Get after Drop+Put = %d, %v, %v", v, ok, err)
	}
}

// TestKeyedConcurrentStates uses two KeyedStates of one store from two
// goroutines (run with -race).
func TestKeyedConcurrentStates(t *testing.T) {
	s := openDisk(t, t.TempDir())
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for op := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := NewKeyedState[int64](s, OperatorNamespace("c", 0, op), Int64Codec{}, 64)
			for round := range 3 {
				for i := range 2000 {
					kg, key := ikey(i)
					v, ok, err := k.Get(kg, key)
					if err != nil {
						errs <- err
						return
					}
					if round > 0 && (!ok || v != int64(round*1000+op)) {
						errs <- fmt.Errorf("op %d round %d key %d = %d, %v", op, round, i, v, ok)
						return
					}
					if err := k.Put(kg, key, int64((round+1)*1000+op)); err != nil {
						errs <- err
						return
					}
				}
				if err := k.Flush(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestKeyedErrors(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := NewKeyedState[int64](s, OperatorNamespace("e", 0, 0), Int64Codec{}, 0)
	if _, _, err := k.Get(-1, nil); err == nil {
		t.Error("Get with key group -1 succeeded")
	}
	if err := k.Put(MaxKeyGroups, nil, 1); err == nil {
		t.Error("Put with key group 65536 succeeded")
	}
	// Cache size 0 means 1; empty keys are fine.
	for i := range 3 {
		if err := k.Put(i, nil, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if v, ok, err := k.Get(i, nil); err != nil || !ok || v != int64(i) {
			t.Fatalf("Get(%d) = %d, %v, %v", i, v, ok, err)
		}
	}
	nostore := NewKeyedState[int64](nil, []byte{NSOperator}, Int64Codec{}, 1)
	if _, _, err := nostore.Get(0, []byte("a")); !errors.Is(err, ErrNoStore) {
		t.Fatalf("Get without store: %v", err)
	}
}

func TestKeyedCorruptValue(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ns := OperatorNamespace("x", 0, 0)
	b := NewKeyedState(s, ns, BytesCodec{}, 10)
	if err := b.Put(0, []byte("k"), []byte{0xff}); err != nil { // not a varint
		t.Fatal(err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	k := NewKeyedState[int64](s, ns, Int64Codec{}, 10)
	if _, _, err := k.Get(0, []byte("k")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get of corrupt value: %v", err)
	}
	if err := k.Scan(func(int, []byte, int64) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Scan of corrupt value: %v", err)
	}
}

func TestOperatorNamespace(t *testing.T) {
	nss := [][]byte{
		OperatorNamespace("", 0, 0), OperatorNamespace("", 0, 1), OperatorNamespace("", 1, 0),
		OperatorNamespace("a", 0, 0), OperatorNamespace("a\x00", 0, 0), OperatorNamespace("ab", 0, 0),
		OperatorNamespace("a", 0, -1), OperatorNamespace("a", 256, 0), OperatorNamespace("a", 0, 1<<20),
	}
	for i, a := range nss {
		if a[0] != NSOperator {
			t.Fatalf("namespace %x does not start with NSOperator", a)
		}
		for j, b := range nss {
			if i != j && bytes.HasPrefix(b, a) {
				t.Errorf("namespace %x is a prefix of %x", a, b)
			}
		}
	}
	if !bytes.HasPrefix(OperatorNamespace("a", 3, 4), JobNamespace("a")) {
		t.Error("operator namespace outside its job namespace")
	}
}

func TestCodecs(t *testing.T) {
	var i64 Int64Codec
	for _, v := range []int64{0, -1, 1, 1 << 62, -1 << 63} {
		got, err := i64.Decode(i64.Encode(nil, v))
		if err != nil || got != v {
			t.Fatalf("Int64Codec %d → %d, %v", v, got, err)
		}
	}
	if _, err := i64.Decode(append(i64.Encode(nil, 5), 0)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Int64Codec trailing byte: %v", err)
	}
	var is Int64sCodec
	for _, v := range [][]int64{{}, {1}, {-5, 0, 1 << 40}} {
		got, err := is.Decode(is.Encode(nil, v))
		if err != nil || !slices.Equal(got, v) {
			t.Fatalf("Int64sCodec %v → %v, %v", v, got, err)
		}
	}
	for _, bad := range [][]byte{nil, {5, 1}, {1, 2, 3}, {0xff}} {
		if _, err := is.Decode(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Int64sCodec.Decode(%x): %v", bad, err)
		}
	}
	ts := []types.Type{types.BigInt, types.String, types.Double}
	rc := NewRowCodec(ts)
	row := []types.Datum{types.IntDatum(3), types.NullDatum(types.String), types.DoubleDatum(1.5)}
	got, err := rc.Decode(rc.Encode(nil, row))
	if err != nil || !DatumsEqual(got, row) {
		t.Fatalf("RowCodec %v → %v, %v", row, got, err)
	}
	src := []byte("abc")
	bs, _ := BytesCodec{}.Decode(src)
	src[0] = 'x'
	if string(bs) != "abc" {
		t.Fatal("BytesCodec.Decode did not copy")
	}
}

// BenchmarkKeyedHot measures one Get+Put of a cached key, the per-row cost
// of an aggregation whose keys are hot.
func BenchmarkKeyedHot(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 10_000
	k := NewKeyedState[int64](s, OperatorNamespace("bench", 1, 0), Int64Codec{}, 100_000)
	keys := make([][]byte, n)
	kgs := make([]int, n)
	for i := range keys {
		kgs[i], keys[i] = ikey(i)
		if err := k.Put(kgs[i], keys[i], 0); err != nil {
			b.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	order := make([]int32, 1<<16)
	for i := range order {
		order[i] = int32(r.IntN(n))
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		j := order[i&(len(order)-1)]
		v, _, err := k.Get(kgs[j], keys[j])
		if err != nil {
			b.Fatal(err)
		}
		if err := k.Put(kgs[j], keys[j], v+1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkGoMapHot is BenchmarkKeyedHot's workload on a plain Go map, for
// reference: the floor on this machine for a read and a write of a hot key.
func BenchmarkGoMapHot(b *testing.B) {
	const n = 10_000
	m := make(map[string]int64, n)
	keys := make([]string, n)
	for i := range keys {
		_, key := ikey(i)
		keys[i] = string(key)
		m[keys[i]] = 0
	}
	r := rand.New(rand.NewPCG(1, 2))
	order := make([]int32, 1<<16)
	for i := range order {
		order[i] = int32(r.IntN(n))
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		j := order[i&(len(order)-1)]
		v := m[keys[j]]
		m[keys[j]] = v + 1
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the CPU time (user + system) the process has used. The
// benchmarks report it per operation besides wall time, which on a shared
// machine with CPU steal can be several times higher.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkKeyedCold measures Get+Put over 1 M keys with a cache of 100 k
// (uniform access: ~90% misses), after a first pass that inserts every key.
// It reports the process's peak RSS.
func BenchmarkKeyedCold(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 1_000_000
	k := NewKeyedState[int64](s, OperatorNamespace("bench", 1, 0), Int64Codec{}, 100_000)
	for i := range n {
		kg, key := ikey(i)
		if err := k.Put(kg, key, int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := k.Flush(); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	var key [8]byte
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		j := r.IntN(n)
		binary.BigEndian.PutUint64(key[:], uint64(j))
		v, ok, err := k.Get(j%128, key[:])
		if err != nil {
			b.Fatal(err)
		}
		if !ok {
			b.Fatalf("key %d missing", j)
		}
		if err := k.Put(j%128, key[:], v+1); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if mb := peakRSSMB(); mb > 0 {
		b.ReportMetric(mb, "peak-RSS-MB")
	}
}

// peakRSSMB returns VmHWM of this process in MB (0 when unknown).
func peakRSSMB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb float64
			if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb); err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

// TestKeyedFootprint inserts 1 M keys through a cache of 100 k, reads them
// all back, and logs the peak RSS. It is slow, so it runs only with
// SLUICE_FOOTPRINT=1.
func TestKeyedFootprint(t *testing.T) {
	if os.Getenv("SLUICE_FOOTPRINT") == "" {
		t.Skip("set SLUICE_FOOTPRINT=1 to measure")
	}
	s := openDisk(t, t.TempDir())
	defer s.Close()
	const n = 1_000_000
	ts := []types.Type{types.BigInt, types.String, types.Double}
	k := NewKeyedState(s, OperatorNamespace("fp", 1, 0), NewRowCodec(ts), 100_000)
	for pass := range 2 {
		for i := range n {
			kg, key := ikey(i)
			row, ok, err := k.Get(kg, key)
			if err != nil {
				t.Fatal(err)
			}
			if ok != (pass == 1) {
				t.Fatalf("pass %d key %d: present %v", pass, i, ok)
			}
			if !ok {
				row = []types.Datum{types.IntDatum(int64(i)), types.StringDatum(fmt.Sprintf("name-%d-padding", i)), types.DoubleDatum(0)}
			}
			row[2].F++
			if err := k.Put(kg, key, row); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	inuse := ms.HeapInuse
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("peak RSS %.0f MB, Go heap in use %d MB (live after GC %d MB), sys %d MB, cached %d",
		peakRSSMB(), inuse>>20, ms.HeapAlloc>>20, ms.Sys>>20, k.Len())
	if os.Getenv("SLUICE_FOOTPRINT_HEAP") != "" {
		f, err := os.Create(os.Getenv("SLUICE_FOOTPRINT_HEAP"))
		if err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
}
