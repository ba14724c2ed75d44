package ops

import (
	"math/rand/v2"
	"testing"

	"github.com/sluicesql/sluice/exec"
)

// strBytesOf recomputes what joinRows.strBytes should be.
func strBytesOf(e *joinRows) int {
	n := 0
	for _, s := range e.strs {
		n += len(s)
	}
	return n
}

// TestJoinRowsSize checks that the string bytes behind joinRowsCodec.Size
// stay exact through appends (with duplicate rows merged when the index
// is built), removals in random order and decoding, and that the size
// grows with the rows held.
func TestJoinRowsSize(t *testing.T) {
	l := newJoinLayout(joinTestTypes, false)
	c := &joinRowsCodec{l: &l}
	b := joinTestBatch(60)
	hashes := exec.HashColumns(b, []int{0, 1, 2}, nil)
	e := &joinRows{}
	empty := c.Size(e)
	for i := range b.Len() {
		e.appendInput(&l, b, i, hashes[i], 1, 0)
		if i < 10 { // duplicates, merged when the index is built
			e.appendInput(&l, b, i, hashes[i], 1, 0)
		}
		if got, want := e.strBytes, strBytesOf(e); got != want {
			t.Fatalf("after adding row %d: strBytes %d, want %d", i, got, want)
		}
	}
	full := c.Size(e)
	if full <= empty+e.strBytes {
		t.Fatalf("size %d for %d rows, empty %d, strings %d", full, e.n, empty, e.strBytes)
	}
	d, err := c.Decode(c.Encode(nil, e))
	if err != nil {
		t.Fatal(err)
	}
	if d.strBytes != e.strBytes {
		t.Fatalf("decoded strBytes %d, want %d", d.strBytes, e.strBytes)
	}
	rnd := rand.New(rand.NewPCG(7, 7))
	for _, i := range rnd.Perm(b.Len()) {
		r := e.find(&l, b, i, hashes[i])
		if r < 0 {
			t.Fatalf("row %d not found", i)
		}
		e.remove(&l, r)
		if got, want := e.strBytes, strBytesOf(e); got != want {
			t.Fatalf("after removing row %d: strBytes %d, want %d", i, got, want)
		}
	}
	if e.strBytes != 0 {
		t.Fatalf("empty entry counts %d string bytes", e.strBytes)
	}
}
