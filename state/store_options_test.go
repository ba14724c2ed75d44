package state

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// TestStateOptions checks the state database's option combinations that
// Badger would otherwise only reject at Open (a panic without a block
// cache for compressed tables) or that make the value log pointless.
func TestStateOptions(t *testing.T) {
	bo := stateBadgerOptions(t.TempDir(), Options{})
	if bo.Compression != options.None && bo.BlockCacheSize == 0 {
		t.Fatalf("compression %v needs a block cache (Badger panics at Open without one)", bo.Compression)
	}
	if bo.ValueThreshold != stateValueThreshold {
		t.Fatalf("value threshold %d, want %d", bo.ValueThreshold, stateValueThreshold)
	}
	if bo.ValueThreshold >= 1<<10 {
		t.Fatalf("value threshold %d keeps join heads and chunks inline", bo.ValueThreshold)
	}
	if mem := stateBadgerOptions("", Options{InMemory: true}); mem.ValueThreshold != 1<<20 {
		t.Fatalf("in-memory value threshold %d, want Badger's maximum", mem.ValueThreshold)
	}
}

// TestStateValueLogRoundTrip writes operator state values on both sides of
// the state database's value threshold, overwrites half of them at a later
// version, compacts, reopens the store and reads every version back: values
// in the value log must survive compaction and reopening like inline ones.
func TestStateValueLogRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir)
	sizes := []int{1, stateValueThreshold - 1, stateValueThreshold, stateValueThreshold + 1, 1 << 10, 4 << 10, 64 << 10}
	key := func(i int) []byte { return []byte(fmt.Sprintf("%c vlog-%04d", NSOperator, i)) }
	val := func(i, gen int) []byte {
		v := bytes.Repeat([]byte{byte('a' + gen)}, sizes[i%len(sizes)])
		v[0] = byte(i)
		return v
	}
	const n = 200
	write := func(gen int, every int) uint64 {
		t.Helper()
		ts := s.NextTs()
		wb := s.StateDB().NewWriteBatchAt(ts)
		for i := 0; i < n; i += every {
			if err := wb.Set(key(i), val(i, gen)); err != nil {
				t.Fatal(err)
			}
		}
		if err := wb.Flush(); err != nil {
			t.Fatal(err)
		}
		return ts
	}
	ts1 := write(0, 1)
	ts2 := write(1, 2)
	if err := s.Pin("test", ts1); err != nil {
		t.Fatal(err)
	}
	s = compactAll(t, s, dir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDisk(t, dir)
	defer s.Close()

	check := func(ts uint64, want func(i int) []byte) {
		t.Helper()
		err := s.viewState(ts, func(txn *badger.Txn) error {
			for i := range n {
				item, err := txn.Get(key(i))
				if err != nil {
					return fmt.Errorf("key %d at %d: %w", i, ts, err)
				}
				got, err := item.ValueCopy(nil)
				if err != nil {
					return fmt.Errorf("key %d at %d: %w", i, ts, err)
				}
				if !bytes.Equal(got, want(i)) {
					return fmt.Errorf("key %d at %d: %d bytes %.8q, want %d bytes %.8q", i, ts, len(got), got, len(want(i)), want(i))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check(ts1, func(i int) []byte { return val(i, 0) })
	check(ts2, func(i int) []byte {
		if i%2 == 0 {
			return val(i, 1)
		}
		return val(i, 0)
	})
}
