package state

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/sluicesql/sluice/exec/types"
)

func TestOpenPersistsAndCloseIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Update(func(txn *badger.Txn) error {
		return txn.Set([]byte{NSCatalog, 'k'}, []byte("v"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(dir + "/badger"); err != nil {
		t.Fatalf("badger dir: %v", err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.DB().View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte{NSCatalog, 'k'})
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if string(v) != "v" {
			return fmt.Errorf("value %q", v)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesOtherLayout(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Update(func(txn *badger.Txn) error { return txn.Set(layoutKey, []byte("99")) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "layout version 99") {
		t.Fatalf("Open of layout 99: %v", err)
	}
}

func TestDeletePrefix(t *testing.T) {
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wb := s.DB().NewWriteBatch()
	for i := 0; i < 10000; i++ {
		for _, id := range []uint64{1, 2} {
			k := AppendUint64(BuiltinTablePrefix(id), uint64(i))
			if err := wb.Set(k, []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeletePrefix(BuiltinTablePrefix(1))
	if err != nil || n != 10000 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if c := countPrefix(t, s, BuiltinTablePrefix(1)); c != 0 {
		t.Fatalf("%d keys left", c)
	}
	if c := countPrefix(t, s, BuiltinTablePrefix(2)); c != 10000 {
		t.Fatalf("other table has %d keys", c)
	}
}

// countPrefix counts the live keys under p, in the state database (at the
// newest versions) for an NSOperator prefix, else in the main database.
func countPrefix(t *testing.T, s *Store, p []byte) int {
	if isStatePrefix(p) {
		n, err := s.NamespaceKeys(p, LatestTs)
		if err != nil {
			t.Fatal(err)
		}
		return int(n)
	}
	n := 0
	err := s.DB().View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = p
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestInMemoryLeavesNoFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("in-memory store wrote %d entries", len(ents))
	}
}

// TestFootprint writes one million small rows the way built-in tables do
// and reports the peak RSS. It is slow, so it runs only with
// SLUICE_FOOTPRINT=1.
func TestFootprint(t *testing.T) {
	if os.Getenv("SLUICE_FOOTPRINT") == "" {
		t.Skip("set SLUICE_FOOTPRINT=1 to measure")
	}
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 1_000_000
	var key, val []byte
	row := make([]types.Datum, 3)
	for start := 0; start < n; start += 1024 {
		txn := s.DB().NewTransaction(true)
		for i := start; i < start+1024 && i < n; i++ {
			row[0] = types.IntDatum(int64(i))
			row[1] = types.StringDatum("name-" + strconv.Itoa(i) + "-padding-padding")
			row[2] = types.DoubleDatum(float64(i) / 3)
			key = EncodeKey(BuiltinTablePrefix(7), row[:1])
			val = EncodeRow(nil, row)
			if err := txn.Set(key, val); err != nil {
				t.Fatal(err)
			}
		}
		if err := txn.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	// Read everything back once.
	cnt := countPrefix(t, s, BuiltinTablePrefix(7))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	status, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmHWM") || strings.HasPrefix(l, "VmRSS") {
			t.Log(l)
		}
	}
	t.Logf("rows %d, Go heap in use %d MB, sys %d MB", cnt, ms.HeapInuse>>20, ms.Sys>>20)
}

// TestInMemoryLargeValues: an in-memory store takes values above the
// on-disk value threshold (it has no value log).
func TestInMemoryLargeValues(t *testing.T) {
	st, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	big := make([]byte, 64<<10)
	if err := st.DB().Update(func(txn *badger.Txn) error { return txn.Set([]byte{NSCatalog, 'x'}, big) }); err != nil {
		t.Fatal(err)
	}
}
