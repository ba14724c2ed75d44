package state

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestKeyedPeek checks Peek against a model through random Puts, Deletes
// and evictions: a value Peek finds is the key's current value, and with a
// cache that holds every key, Peek finds exactly the short keys that have
// one. Peek changes neither the cache's size nor what Get returns.
func TestKeyedPeek(t *testing.T) {
	for _, cache := range []int{7, 5000} {
		t.Run(fmt.Sprint(cache), func(t *testing.T) {
			s, err := Open("", Options{InMemory: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			r := rand.New(rand.NewPCG(3, uint64(cache)))
			k := NewKeyedState(s, OperatorNamespace("p", 1, 2), Int64sCodec{}, cache)
			model := map[int][]int64{}
			var (
				kgs  []int32
				keys []byte
				ends []int32
				ids  []int
			)
			vals := make([][]int64, 16)
			ok := make([]bool, 16)
			for step := range 3000 {
				i := r.IntN(300)
				kg, key := vkey(i)
				if r.IntN(4) == 0 {
					if err := k.Delete(kg, key); err != nil {
						t.Fatal(err)
					}
					delete(model, i)
				} else {
					v := []int64{int64(step)}
					if err := k.Put(kg, key, v); err != nil {
						t.Fatal(err)
					}
					model[i] = v
				}
				kgs, keys, ends, ids = kgs[:0], keys[:0], ends[:0], ids[:0]
				for range 16 {
					j := r.IntN(300)
					kg, key := vkey(j)
					if j%7 == 0 {
						key = nil // empty keys are never found
					}
					kgs, keys, ids = append(kgs, int32(kg)), append(keys, key...), append(ids, j)
					ends = append(ends, int32(len(keys)))
				}
				n := k.Len()
				k.Peek(kgs, keys, ends, vals, ok)
				if k.Len() != n {
					t.Fatalf("step %d: Peek changed the cache size from %d to %d", step, n, k.Len())
				}
				for x, j := range ids {
					mv, mok := model[j]
					short := j%4 < 2 && j%7 != 0 // vkey: 10 or 24 bytes with the key group
					switch {
					case ok[x] && (!mok || !slices.Equal(vals[x], mv) || !short):
						t.Fatalf("step %d: Peek(%d) = %v, want %v, %v (short %v)", step, j, vals[x], mv, mok, short)
					case !ok[x] && cache == 5000 && mok && short:
						t.Fatalf("step %d: Peek(%d) missed a cached key", step, j)
					}
				}
				if step%100 == 0 {
					checkIndex(t, k)
				}
			}
		})
	}
}
