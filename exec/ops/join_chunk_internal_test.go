package ops

import (
	"encoding/binary"
	"errors"
	"math"
	"runtime/debug"
	"testing"

	"github.com/sluicesql/sluice/state"
)

// TestJoinChunkCodec round-trips heads (with their meta data, also
// without rows) and other chunks, reads a value of the former layout
// (format 2) as a head, and rejects inconsistent meta data.
func TestJoinChunkCodec(t *testing.T) {
	l := newJoinLayout(joinTestTypes, true)
	c := &joinRowsCodec{l: &l}
	b := joinTestBatch(3)
	for _, meta := range [][3]int64{{0, 0, 0}, {1, 1, -5}, {300, 2, 1 << 50}, {1<<32 - 1, 7, 0}} {
		for _, rows := range []int{0, 3} {
			if rows == 0 && meta[0] == 0 {
				continue // a chunk other than the head is never empty
			}
			e := &joinRows{next: uint32(meta[0]), live: uint32(meta[1]), access: meta[2]}
			for i := range rows {
				e.appendInput(&l, b, i, uint64(i), int64(i+1), int64(i))
			}
			d, err := c.Decode(c.Encode(nil, e))
			if err != nil {
				t.Fatalf("%v, %d rows: %v", meta, rows, err)
			}
			if d.next != e.next || d.live != e.live || d.n != e.n || d.encBytes != e.encBytes || meta[0] > 0 && d.access != e.access {
				t.Errorf("%v, %d rows: decoded next %d live %d access %d, %d rows, %d bytes", meta, rows, d.next, d.live, d.access, d.n, d.encBytes)
			}
		}
	}
	for _, bad := range []*joinRows{{next: 2, live: 3}, {next: 2}, {}} {
		if _, err := c.Decode(c.Encode(nil, bad)); !errors.Is(err, state.ErrCorrupt) {
			t.Errorf("Decode(%+v): err = %v", bad, err)
		}
	}
	// Format 2: access time, rows (as in a chunk).
	e := &joinRows{}
	e.appendInput(&l, b, 1, 1, 2, 3)
	old := append(binary.AppendVarint([]byte{2}, 77), c.Encode(nil, e)[1:]...)
	if d, err := c.Decode(old); err != nil || d.next != 1 || d.live != 1 || d.access != 77 || d.n != 1 || d.count(&l, 0) != 2 {
		t.Errorf("Decode of format 2: %+v, %v", d, err)
	}
}

// TestJoinRowsEncBytes checks that encBytes, which bounds chunks, follows
// appends (from a batch, from datums, copied records), removals in both
// orders and the merging of duplicates, and equals inputBytes summed.
func TestJoinRowsEncBytes(t *testing.T) {
	for _, tracked := range []bool{false, true} {
		l := newJoinLayout(joinTestTypes, tracked)
		b := joinTestBatch(50)
		sum := func(e *joinRows) int {
			n := 0
			for r := range e.n {
				n += e.recordBytes(&l, r)
			}
			return n
		}
		e, want := &joinRows{}, 0
		for i := range b.Len() {
			e.appendInput(&l, b, i, uint64(i), 1, 0)
			if i < joinIndexMinRows {
				want += l.inputBytes(b, i)
				if e.encBytes != want {
					t.Fatalf("after %d rows: encBytes %d, want %d", i+1, e.encBytes, want)
				}
			}
		}
		if e.encBytes != sum(e) {
			t.Fatalf("encBytes %d, records %d", e.encBytes, sum(e))
		}
		c := &joinRowsCodec{l: &l}
		enc := c.Encode(nil, e)
		if d, err := c.Decode(enc); err != nil || d.encBytes != e.encBytes {
			t.Fatalf("decoded encBytes %d (%v), want %d", d.encBytes, err, e.encBytes)
		}
		if len(enc) < e.encBytes-2*e.n || len(enc) > e.encBytes+8 {
			t.Errorf("encoding of %d bytes, encBytes %d", len(enc), e.encBytes)
		}
		cp := &joinRows{}
		for r := range e.n {
			cp.appendRecord(&l, e, r)
			cp.appendRecord(&l, e, r) // merged once indexed
		}
		if cp.encBytes != sum(cp) || cp.n < e.n {
			t.Fatalf("copy: %d records, encBytes %d, records %d", cp.n, cp.encBytes, sum(cp))
		}
		for e.n > 0 {
			e.remove(&l, e.n/2)
			if e.encBytes != sum(e) {
				t.Fatalf("after a removal: encBytes %d, records %d", e.encBytes, sum(e))
			}
		}
	}
}

// TestJoinCacheBytes checks the cache budget under soft memory limits.
func TestJoinCacheBytes(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)
	for _, c := range []struct{ limit, want int64 }{
		{math.MaxInt64, state.DefaultCacheBytes},
		{768 << 20, 16 << 20},
		{64 << 20, joinMinCacheBytes},
	} {
		debug.SetMemoryLimit(c.limit)
		if got := joinCacheBytes(); got != c.want {
			t.Errorf("limit %d: budget %d, want %d", c.limit, got, c.want)
		}
	}
}
