package ops

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

var joinTestTypes = []types.Type{types.BigInt, types.String, types.Double}

// joinTestBatch returns n distinct rows (i, "s<i>" or NULL, i/2).
func joinTestBatch(n int) *types.Batch {
	b := types.NewBatch(joinTestTypes)
	for i := range n {
		s := types.StringDatum(fmt.Sprintf("s%d", i))
		if i%5 == 0 {
			s = types.NullDatum(types.String)
		}
		b.AppendRow(types.Insert, []types.Datum{types.IntDatum(int64(i)), s, types.DoubleDatum(float64(i) / 2)})
	}
	return b
}

// TestJoinRowsIndexCollisions forces row hashes to collide so that rows
// land in the index's overflow list, then removes rows in random order and
// checks that every remaining row is still found and removed ones are not.
func TestJoinRowsIndexCollisions(t *testing.T) {
	for _, buckets := range []int{1, 3, 1000} {
		t.Run(fmt.Sprint(buckets), func(t *testing.T) {
			const n = 100
			l := newJoinLayout(joinTestTypes, true)
			b := joinTestBatch(n)
			hash := func(i int) uint64 { return uint64(i % buckets) }
			e := &joinRows{}
			for i := range n {
				if r := e.find(&l, b, i, hash(i)); r >= 0 {
					t.Fatalf("row %d found before it was added", i)
				}
				e.appendInput(&l, b, i, hash(i), int64(i+1), int64(2*i))
			}
			if e.idx == nil {
				t.Fatal("no index past joinIndexMinRows rows")
			}
			present := map[int]bool{}
			for i := range n {
				present[i] = true
			}
			rnd := rand.New(rand.NewPCG(1, uint64(buckets)))
			for _, victim := range rnd.Perm(n) {
				r := e.find(&l, b, victim, hash(victim))
				if r < 0 {
					t.Fatalf("row %d not found", victim)
				}
				e.remove(&l, r)
				delete(present, victim)
				for i := range n {
					r := e.find(&l, b, i, hash(i))
					switch {
					case present[i] && r < 0:
						t.Fatalf("after removing %d: row %d lost", victim, i)
					case !present[i] && r >= 0:
						t.Fatalf("after removing %d: removed row %d found", victim, i)
					case r >= 0 && (e.count(&l, r) != int64(i+1) || e.matches(&l, r) != int64(2*i)):
						t.Fatalf("row %d: count %d matches %d", i, e.count(&l, r), e.matches(&l, r))
					}
				}
				if e.n != len(present) || len(e.idx)+len(e.overflow) != e.n {
					t.Fatalf("%d rows, %d indexed, %d overflow; want %d", e.n, len(e.idx), len(e.overflow), len(present))
				}
			}
		})
	}
}

func TestJoinRowsCodec(t *testing.T) {
	for _, tracked := range []bool{false, true} {
		l := newJoinLayout(joinTestTypes, tracked)
		c := &joinRowsCodec{l: &l}
		b := joinTestBatch(40)
		hashes := exec.HashColumns(b, []int{0, 1, 2}, nil)
		e := &joinRows{}
		for i := range b.Len() {
			e.appendInput(&l, b, i, hashes[i], int64(i+1), int64(i%3))
		}
		enc := c.Encode(nil, e)
		d, err := c.Decode(enc)
		if err != nil {
			t.Fatal(err)
		}
		if d.n != e.n || d.idx == nil {
			t.Fatalf("decoded %d rows (index %v), want %d", d.n, d.idx != nil, e.n)
		}
		for i := range b.Len() {
			r := d.find(&l, b, i, hashes[i])
			if r < 0 {
				t.Fatalf("tracked %v: row %d not found after decoding", tracked, i)
			}
			wantMatches := int64(i % 3)
			if !tracked {
				wantMatches = 0
			}
			if d.count(&l, r) != int64(i+1) || d.matches(&l, r) != wantMatches {
				t.Errorf("row %d: count %d matches %d", i, d.count(&l, r), d.matches(&l, r))
			}
		}
		for _, bad := range [][]byte{nil, {5}, enc[:len(enc)-1], append(enc[:len(enc):len(enc)], 0)} {
			if _, err := c.Decode(bad); !errors.Is(err, state.ErrCorrupt) {
				t.Errorf("Decode(%x...): err = %v", bad[:min(len(bad), 8)], err)
			}
		}
	}
}

// TestJoinTable checks the open-addressing table against a Go map through
// random sets and deletes of few distinct hashes (so that probe sequences
// cluster and deletions shift slots back), with growth along the way.
func TestJoinTable(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	var tb joinTable
	model := map[uint64]*joinKeyEntry{}
	for step := range 20000 {
		// Hashes from a small pool, high bits varied so that homes collide.
		h := uint64(rnd.IntN(300)) * 0x0101_0101_0101_0101
		switch rnd.IntN(3) {
		case 0, 1:
			e := &joinKeyEntry{}
			tb.set(h, e)
			model[h] = e
		default:
			tb.del(h)
			delete(model, h)
		}
		if tb.n != len(model) || tb.get(h) != model[h] {
			t.Fatalf("step %d: %d entries, want %d; get(%#x) = %p, want %p", step, tb.n, len(model), h, tb.get(h), model[h])
		}
		if step%97 == 0 {
			for x := range uint64(300) {
				h := x * 0x0101_0101_0101_0101
				if got := tb.get(h); got != model[h] {
					t.Fatalf("step %d: get(%#x) = %p, want %p", step, h, got, model[h])
				}
			}
		}
	}
}

// TestJoinRowsMergeDuplicates adds copies of few rows to one entry: small
// entries keep a record per copy, and building the index merges them.
func TestJoinRowsMergeDuplicates(t *testing.T) {
	l := newJoinLayout(joinTestTypes, true)
	b := joinTestBatch(5)
	hashes := exec.HashColumns(b, []int{0, 1, 2}, nil)
	e := &joinRows{}
	for k := range 100 {
		i := k % 5
		e.addInput(&l, b, i, hashes[i], 7)
		if k < joinIndexMinRows && e.n != k+1 {
			t.Fatalf("after %d adds: %d records", k+1, e.n)
		}
	}
	if e.idx == nil || e.n != 5 {
		t.Fatalf("%d records (index %v), want 5 merged ones", e.n, e.idx != nil)
	}
	for i := range 5 {
		r := e.find(&l, b, i, hashes[i])
		if r < 0 || e.count(&l, r) != 20 || e.matches(&l, r) != 7 {
			t.Errorf("row %d: record %d", i, r)
		}
	}
}
