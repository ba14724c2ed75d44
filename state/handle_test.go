package state

import (
	"fmt"
	"testing"
)

// TestPutHandleStale: a handle from GetHandle writes in place while its
// entry is cached, and falls back to a lookup once the entry was evicted
// and its slot reused, so no write goes to another key.
func TestPutHandleStale(t *testing.T) {
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ks := NewKeyedState[[]byte](st, OperatorNamespace("j", 0, 0), BytesCodec{}, 4)
	key := func(i int) []byte { return []byte(fmt.Sprintf("k%03d", i)) }
	if err := ks.Put(1, key(0), []byte("v0")); err != nil {
		t.Fatal(err)
	}
	_, ok, h, err := ks.GetHandle(1, key(0))
	if err != nil || !ok {
		t.Fatalf("GetHandle: %v %v", ok, err)
	}
	if err := ks.PutHandle(h, 1, key(0), []byte("v0b")); err != nil {
		t.Fatal(err)
	}
	// Evict key 0 by filling the cache, reusing its slot for other keys.
	for i := 1; i < 50; i++ {
		if err := ks.Put(1, key(i), []byte(fmt.Sprint("v", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := ks.PutHandle(h, 1, key(0), []byte("v0c")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		v, ok, err := ks.Get(1, key(i))
		want := fmt.Sprint("v", i)
		if i == 0 {
			want = "v0c"
		}
		if err != nil || !ok || string(v) != want {
			t.Fatalf("key %d: %q %v %v, want %q", i, v, ok, err, want)
		}
	}
}
