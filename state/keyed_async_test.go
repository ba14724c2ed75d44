package state

import (
	"bytes"
	"testing"
)

// TestAsyncFlush: with an asynchronous Epoch, Flush returns before the
// write-back lands; the checkpoint's state is complete once TakePending's
// wait returns, evictions in the next epoch never lose a value that was
// still being written, and restoring to the checkpoint gives exactly its
// state.
func TestAsyncFlush(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ns := OperatorNamespace("job-async", 1, 0)
	w1 := s.NextTs()
	e := NewEpoch(w1)
	e.SetAsync(true)
	k := NewKeyedState[int64](s, ns, Int64Codec{}, 32) // far fewer entries than keys
	k.SetEpoch(e)
	model := map[int]int64{}
	for i := 0; i < 500; i++ {
		put(t, k, model, i, int64(i))
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	wait := e.TakePending()
	if wait == nil {
		t.Fatal("asynchronous Flush registered no background write")
	}
	checkpoint := map[int]int64{}
	for i, v := range model {
		checkpoint[i] = v
	}
	// The next epoch goes on at once: updates and evictions while the
	// checkpoint's write-back may still run.
	e.Set(s.NextTs())
	for i := 0; i < 500; i += 3 {
		put(t, k, model, i, int64(1000+i))
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	for i, v := range model {
		kg, key := ikey(i)
		got, ok, err := k.Get(kg, key)
		if err != nil || !ok || got != v {
			t.Fatalf("key %d = %d (present %v, %v), want %d", i, got, ok, err, v)
		}
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	if w := e.TakePending(); w != nil {
		if err := w(); err != nil {
			t.Fatal(err)
		}
	}
	mustEqualState(t, "latest", scanAll(t, s, ns, e.Ts()), model)
	mustEqualState(t, "as of the checkpoint", scanAll(t, s, ns, w1), checkpoint)
	start, _, err := s.RestoreNamespace(ns, w1)
	if err != nil {
		t.Fatal(err)
	}
	mustEqualState(t, "restored", scanAll(t, s, ns, start), checkpoint)
}

// TestAsyncFlushBeyondLimit: a flush encoding more than maxAsyncFlushBytes
// writes the excess synchronously and the rest in the background; the
// checkpoint holds every value either way.
func TestAsyncFlushBeyondLimit(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ns := OperatorNamespace("job-async-big", 1, 0)
	w1 := s.NextTs()
	e := NewEpoch(w1)
	e.SetAsync(true)
	k := NewKeyedState[[]byte](s, ns, bytesCodec{}, 1000)
	k.SetEpoch(e)
	const n, size = 40, 1 << 20 // 40 MiB: two synchronous rounds and a background one
	val := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, size) }
	for i := range n {
		kg, key := ikey(i)
		if err := k.Put(kg, key, val(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	wait := e.TakePending()
	if wait == nil {
		t.Fatal("no background write for the last part")
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if got := e.TakeWritten(); got < n*size {
		t.Fatalf("epoch counted %d bytes written, want at least %d", got, n*size)
	}
	k2 := NewKeyedState[[]byte](s, ns, bytesCodec{}, 1000)
	k2.SetEpoch(NewEpoch(w1))
	for i := range n {
		kg, key := ikey(i)
		got, ok, err := k2.Get(kg, key)
		if err != nil || !ok || !bytes.Equal(got, val(i)) {
			t.Fatalf("key %d: present %v, %v, %d bytes", i, ok, err, len(got))
		}
	}
}
