package state

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// scanAll returns the state under ns as a fresh KeyedState at epoch ts
// sees it: key index → value.
func scanAll(t testing.TB, s *Store, ns []byte, ts uint64) map[int]int64 {
	t.Helper()
	k := NewKeyedState[int64](s, ns, Int64Codec{}, 16)
	k.SetEpoch(NewEpoch(ts))
	got := map[int]int64{}
	if err := k.Scan(func(kg int, key []byte, v int64) error {
		i := int(bytesToUint(key))
		if wantKG, _ := ikey(i); wantKG != kg {
			return fmt.Errorf("key %d in key group %d", i, kg)
		}
		got[i] = v
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func bytesToUint(b []byte) uint64 {
	var u uint64
	for _, c := range b[:8] {
		u = u<<8 | uint64(c)
	}
	return u
}

func mustEqualState(t testing.TB, what string, got, want map[int]int64) {
	t.Helper()
	if maps.Equal(got, want) {
		return
	}
	for i, v := range want {
		if g, ok := got[i]; !ok || g != v {
			t.Fatalf("%s: key %d = %d (present %v), want %d; %d keys, want %d", what, i, g, ok, v, len(got), len(want))
		}
	}
	for i, g := range got {
		if _, ok := want[i]; !ok {
			t.Fatalf("%s: key %d = %d should be absent; %d keys, want %d", what, i, g, len(got), len(want))
		}
	}
}

func put(t testing.TB, k *KeyedState[int64], model map[int]int64, i int, v int64) {
	t.Helper()
	kg, key := ikey(i)
	if err := k.Put(kg, key, v); err != nil {
		t.Fatal(err)
	}
	if model != nil {
		model[i] = v
	}
}

func del(t testing.TB, k *KeyedState[int64], model map[int]int64, i int) {
	t.Helper()
	kg, key := ikey(i)
	if err := k.Delete(kg, key); err != nil {
		t.Fatal(err)
	}
	if model != nil {
		delete(model, i)
	}
}

// keysAbove counts the keys under prefix having a version above ts, by
// reading every version (without SinceTs, unlike RestoreNamespace).
func keysAbove(t testing.TB, s *Store, prefix []byte, ts uint64) int {
	t.Helper()
	txn := s.StateDB().NewTransactionAt(LatestTs, false)
	defer txn.Discard()
	o := badger.DefaultIteratorOptions
	o.AllVersions = true
	o.PrefetchValues = false
	o.Prefix = prefix
	it := txn.NewIterator(o)
	defer it.Close()
	n := 0
	var last []byte
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if item.Version() <= ts || bytes.Equal(item.Key(), last) {
			continue
		}
		last = item.KeyCopy(nil)
		n++
	}
	return n
}

// TestRestoreNamespace writes a checkpoint at W1, then, at W2, changes
// more keys than the cache holds (so many are evicted to Badger at W2)
// and "crashes" without flushing; restoring to W1 must give exactly W1's
// state, twice, and survive reopening the store.
func TestRestoreNamespace(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir)
	defer func() { s.Close() }()
	ns := OperatorNamespace("job-r", 1, 0)
	other := OperatorNamespace("job-other", 1, 0)

	w1 := s.NextTs()
	if err := s.Pin("job-r", w1); err != nil {
		t.Fatal(err)
	}
	e := NewEpoch(w1)
	k := NewKeyedState[int64](s, ns, Int64Codec{}, 64)
	k.SetEpoch(e)
	ko := NewKeyedState[int64](s, other, Int64Codec{}, 64)
	ko.SetEpoch(e)
	model1 := map[int]int64{}
	for i := range 1000 {
		put(t, k, model1, i, int64(i))
		put(t, ko, nil, i, -1)
	}
	for i := 0; i < 1000; i += 10 {
		del(t, k, model1, i)
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := ko.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncState(); err != nil {
		t.Fatal(err)
	}
	if n := e.TakeWritten(); n <= 0 {
		t.Fatalf("epoch counted %d bytes written", n)
	}

	// Epoch W2: change 500..1499, delete 0..99, and another job's state.
	w2 := s.NextTs()
	e.Set(w2)
	for i := 500; i < 1500; i++ {
		put(t, k, nil, i, int64(i)*7)
	}
	for i := range 100 {
		del(t, k, nil, i)
		put(t, ko, nil, i, -2)
	}
	// Deleting a key not in the cache writes a tombstone without reading
	// Badger, so all 1100 keys are written at W2 unless still in the cache.
	touched := 1100
	if n := e.TakeWritten(); n <= 0 {
		t.Fatalf("no bytes written back at W2 (evictions): %d", n)
	}
	// Crash: k's dirty entries are lost.
	k, ko = nil, nil

	above := keysAbove(t, s, ns, w1)
	if above < touched-64 || above > touched {
		t.Fatalf("%d keys written at W2, want between %d and %d", above, touched-64, touched)
	}
	startTs, n, err := s.RestoreNamespace(ns, w1)
	if err != nil {
		t.Fatal(err)
	}
	if startTs <= w2 {
		t.Fatalf("startTs %d <= W2 %d", startTs, w2)
	}
	if n != above {
		t.Fatalf("rewrote %d keys, %d had versions after W1", n, above)
	}
	mustEqualState(t, "after restore", scanAll(t, s, ns, startTs), model1)
	mustEqualState(t, "at W1", scanAll(t, s, ns, w1), model1)
	if c, err := s.NamespaceKeys(ns, LatestTs); err != nil || c != int64(len(model1)) {
		t.Fatalf("NamespaceKeys = %d, %v; want %d", c, err, len(model1))
	}
	// The other job's state is untouched: W2's evicted writes remain.
	if c := keysAbove(t, s, other, w1); c == 0 {
		t.Fatal("restore touched another namespace")
	}

	// The restarted job writes at startTs; a point read agrees.
	e3 := NewEpoch(startTs)
	k = NewKeyedState[int64](s, ns, Int64Codec{}, 64)
	k.SetEpoch(e3)
	model3 := maps.Clone(model1)
	for i := 2000; i < 2100; i++ {
		put(t, k, model3, i, 1)
	}
	put(t, k, model3, 5, 55)
	del(t, k, model3, 7)
	if v, ok := mustGet(t, k, 551); !ok || v != 551 {
		t.Fatalf("Get(551) = %d, %v after restore", v, ok)
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	mustEqualState(t, "new epoch", scanAll(t, s, ns, startTs), model3)

	// A second failure before the next checkpoint: restore to W1 again.
	above2 := keysAbove(t, s, ns, w1)
	if above2 < above+100 {
		t.Fatalf("%d keys with versions after W1, want at least %d", above2, above+100)
	}
	startTs2, n2, err := s.RestoreNamespace(ns, w1)
	if err != nil {
		t.Fatal(err)
	}
	if startTs2 <= startTs || n2 != above2 {
		t.Fatalf("second restore: startTs %d (first %d), %d keys rewritten, want %d", startTs2, startTs, n2, above2)
	}
	mustEqualState(t, "second restore", scanAll(t, s, ns, startTs2), model1)

	// Restoring to the restarted epoch's checkpoint gives model3.
	if err := s.Pin("job-r", startTs); err != nil { // moves forward
		t.Fatal(err)
	}
	startTs3, _, err := s.RestoreNamespace(ns, startTs)
	if err != nil {
		t.Fatal(err)
	}
	mustEqualState(t, "restore to the second epoch", scanAll(t, s, ns, startTs3), model3)

	// Reopen after SyncState: the same view, the pin, and a clock past
	// every version.
	if err := s.SyncState(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDisk(t, dir)
	if p := s.Pins(); p["job-r"] != startTs {
		t.Fatalf("pins after reopen: %v", p)
	}
	ts := s.NextTs()
	if ts <= startTs3 {
		t.Fatalf("NextTs %d after reopen, not above %d", ts, startTs3)
	}
	mustEqualState(t, "reopened", scanAll(t, s, ns, ts), model3)
}

// TestSameTsOverwrite checks the property of Badger that versioned
// write-back relies on: a key written twice at the same commit timestamp
// reads as the later write, whether the two versions are in the same
// memtable, in different memtables, in different L0 tables or merged by
// compaction.
func TestSameTsOverwrite(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir)
	defer func() { s.Close() }()
	ts := s.NextTs()
	key := append(OperatorNamespace("same", 0, 0), 0, 0, 'k')
	write := func(kv ...[]byte) {
		t.Helper()
		wb := s.StateDB().NewWriteBatchAt(ts)
		for i := 0; i < len(kv); i += 2 {
			if err := wb.Set(kv[i], kv[i+1]); err != nil {
				t.Fatal(err)
			}
		}
		if err := wb.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what, want string) {
		t.Helper()
		txn := s.StateDB().NewTransactionAt(ts, false)
		defer txn.Discard()
		item, err := txn.Get(key)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		v, _ := item.ValueCopy(nil)
		if string(v) != want {
			t.Fatalf("%s: read %q, want %q", what, v, want)
		}
		// An iterator agrees with Get.
		o := badger.DefaultIteratorOptions
		o.Prefix = key
		it := txn.NewIterator(o)
		defer it.Close()
		it.Rewind()
		if !it.Valid() {
			t.Fatalf("%s: iterator finds nothing", what)
		}
		v, _ = it.Item().ValueCopy(nil)
		if string(v) != want {
			t.Fatalf("%s: iterator reads %q, want %q", what, v, want)
		}
	}
	write(key, []byte("v1"))
	write(key, []byte("v2"))
	check("same memtable", "v2")

	// Push it out of the memtable with more than a memtable of other keys
	// (stateMemTableSize), all at the same ts.
	fill := func(base int) {
		val := bytes.Repeat([]byte{'x'}, 900) // below the value threshold
		var kv [][]byte
		for i := range stateMemTableSize/900 + 2000 {
			kv = append(kv, append(OperatorNamespace("same", 0, 0), 0, 1, byte(i>>16), byte(i>>8), byte(i), byte(base)), val)
		}
		write(kv...)
	}
	fill(0)
	check("older memtable or L0", "v2")
	write(key, []byte("v3"))
	check("new memtable over older one", "v3")
	fill(1)
	check("both flushed", "v3")

	// Close flushes the memtable: v2 and v3 are now in different L0 tables.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDisk(t, dir)
	if s.NextTs() <= ts {
		t.Fatal("clock not past the written ts")
	}
	if l0 := countL0(s); l0 < 2 {
		t.Logf("only %d L0 tables after reopen", l0)
	}
	check("reopened (L0 tables)", "v3")
	write(key, []byte("v4"))
	check("memtable over L0", "v4")
	s = compactAll(t, s, dir)
	check("after compaction", "v4")
	if vs := versionsOf(t, s, key); len(vs) != 1 || vs[0] != ts {
		t.Fatalf("versions after compaction: %v, want [%d]", vs, ts)
	}
}

// compactAll closes and reopens s until its state database has more L0
// tables than Badger's L0 compaction trigger (each Close flushes the
// memtable as one L0 table; each holds two keys spanning every operator
// key, so the tables overlap all others), then compacts everything with
// Flatten, which applies the discard ts. It returns the reopened store.
func compactAll(t testing.TB, s *Store, dir string) *Store {
	t.Helper()
	// More L0 tables than stateLevelZeroTables, so Flatten compacts L0.
	for range stateLevelZeroTables + 2 {
		wb := s.StateDB().NewWriteBatchAt(s.NextTs())
		for _, k := range [][]byte{{NSOperator}, {NSOperator, 0xFF}} {
			if err := wb.Set(k, []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		if err := wb.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = openDisk(t, dir)
	}
	if err := s.StateDB().Flatten(1); err != nil {
		t.Fatal(err)
	}
	if l0 := countL0(s); l0 != 0 {
		t.Fatalf("%d L0 tables left after Flatten", l0)
	}
	return s
}

func countL0(s *Store) int {
	n := 0
	for _, ti := range s.StateDB().Tables() {
		if ti.Level == 0 {
			n++
		}
	}
	return n
}

// versionsOf returns the versions of key in the state database.
func versionsOf(t testing.TB, s *Store, key []byte) []uint64 {
	t.Helper()
	txn := s.StateDB().NewTransactionAt(LatestTs, false)
	defer txn.Discard()
	o := badger.DefaultIteratorOptions
	o.AllVersions = true
	o.Prefix = key
	it := txn.NewIterator(o)
	defer it.Close()
	var vs []uint64
	for it.Rewind(); it.Valid(); it.Next() {
		if bytes.Equal(it.Item().Key(), key) {
			vs = append(vs, it.Item().Version())
		}
	}
	return vs
}

// TestPinKeepsVersions: versions needed at a pinned ts survive compaction;
// after Unpin, compaction drops them.
func TestPinKeepsVersions(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir)
	defer func() { s.Close() }()
	ns := OperatorNamespace("pin", 0, 0)
	w1 := s.NextTs()
	if err := s.Pin("job", w1); err != nil {
		t.Fatal(err)
	}
	e := NewEpoch(w1)
	k := NewKeyedState[int64](s, ns, Int64Codec{}, 1000)
	k.SetEpoch(e)
	model1 := map[int]int64{}
	for i := range 500 {
		put(t, k, model1, i, int64(i))
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	e.Set(s.NextTs())
	for i := range 500 {
		put(t, k, nil, i, int64(i)+1)
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	// Moving a pin back is ignored.
	if err := s.Pin("job", w1-2); err != nil || s.Pins()["job"] != w1 {
		t.Fatalf("pin moved back: %v %v", s.Pins(), err)
	}
	// Reopen (the pin is persisted) and compact.
	s = compactAll(t, s, dir)
	_, key0 := ikey(0)
	full := append(append(slices.Clone(ns), 0, 0), key0...)
	if vs := versionsOf(t, s, full); len(vs) != 2 {
		t.Fatalf("pinned: versions %v, want 2", vs)
	}
	mustEqualState(t, "pinned W1", scanAll(t, s, ns, w1), model1)

	if err := s.Unpin("job"); err != nil {
		t.Fatal(err)
	}
	s = compactAll(t, s, dir)
	if len(s.Pins()) != 0 {
		t.Fatalf("pins after Unpin and reopen: %v", s.Pins())
	}
	if vs := versionsOf(t, s, full); len(vs) != 1 {
		t.Fatalf("unpinned: versions %v, want 1", vs)
	}
	if got := scanAll(t, s, ns, w1); len(got) != 0 {
		t.Fatalf("unpinned: %d keys still readable at W1", len(got))
	}
	if got := scanAll(t, s, ns, LatestTs); len(got) != 500 || got[3] != 4 {
		t.Fatalf("latest state lost: %d keys", len(got))
	}
}

// TestDeletePrefixVersioned: DeletePrefix of operator state deletes at a
// new ts; the pinned older view stays readable.
func TestDeletePrefixVersioned(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	job := JobNamespace("del")
	w1 := s.NextTs()
	if err := s.Pin("del", w1); err != nil {
		t.Fatal(err)
	}
	for op := range 2 {
		k := NewKeyedState[int64](s, OperatorNamespace("del", 1, op), Int64Codec{}, 100)
		k.SetEpoch(NewEpoch(w1))
		for i := range 5000 {
			put(t, k, nil, i, 1)
		}
		if err := k.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeletePrefix(job)
	if err != nil || n != 10000 {
		t.Fatalf("DeletePrefix = %d, %v", n, err)
	}
	if c, _ := s.NamespaceKeys(job, LatestTs); c != 0 {
		t.Fatalf("%d keys left", c)
	}
	if c, _ := s.NamespaceKeys(job, w1); c != 10000 {
		t.Fatalf("%d keys at pinned W1", c)
	}
	if c := countPrefix(t, s, job); c != 0 {
		t.Fatalf("countPrefix: %d", c)
	}
}

// TestDropWithEpoch: Drop and DropKeyGroups under an epoch delete at the
// epoch's ts, so the epoch's reads see the deletion and a restore to the
// previous checkpoint undoes it.
func TestDropWithEpoch(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ns := OperatorNamespace("drop", 2, 0)
	w1 := s.NextTs()
	if err := s.Pin("drop", w1); err != nil {
		t.Fatal(err)
	}
	e := NewEpoch(w1)
	k := NewKeyedState[int64](s, ns, Int64Codec{}, 50)
	k.SetEpoch(e)
	model := map[int]int64{}
	for i := range 1000 {
		put(t, k, model, i, int64(i))
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	e.Set(s.NextTs())
	if err := k.DropKeyGroups(0, 63); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		kg, _ := ikey(i)
		if _, ok := mustGet(t, k, i); ok != (kg >= 64) {
			t.Fatalf("key %d (group %d) present %v after DropKeyGroups(0, 63)", i, kg, ok)
		}
	}
	if err := k.Drop(); err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, s, ns, e.Ts()); len(got) != 0 {
		t.Fatalf("%d keys after Drop", len(got))
	}
	startTs, _, err := s.RestoreNamespace(ns, w1)
	if err != nil {
		t.Fatal(err)
	}
	mustEqualState(t, "restored", scanAll(t, s, ns, startTs), model)
}

func TestEpochZeroIsRefused(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := NewKeyedState[int64](s, OperatorNamespace("z", 0, 0), Int64Codec{}, 1)
	k.SetEpoch(NewEpoch(0))
	put(t, k, nil, 1, 1)
	if err := k.Flush(); err == nil {
		t.Fatal("write-back at ts 0 succeeded")
	}
	if _, _, err := s.RestoreNamespace([]byte{NSBuiltin}, 1); err == nil {
		t.Fatal("RestoreNamespace of a non-operator prefix succeeded")
	}
}
