package ops

import (
	"encoding/binary"
	"fmt"

	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// Test hooks into the chunked keyed state of Join (join_chunk.go), for the
// tests of package ops_test.

// SetJoinChunkBytes sets the chunk size bound of an open Join's keyed state
// (joinChunkBytes), so that tests get many chunks from few rows.
func SetJoinChunkBytes(j *Join, n int) {
	if s, ok := j.state.(*joinKeyedState); ok {
		s.limit, s.headLimit = n, n
	}
}

// JoinChunkStats describes one side of a Join's keyed state.
type JoinChunkStats struct {
	Keys, Chunks int // keys with rows, chunks
	MaxNext      int // largest chunk count (holes included) of a key
}

// CheckJoinChunks checks the invariants of an open Join's keyed state
// (cache and Badger together) and describes each side: every chunk
// belongs to a key with a head and is numbered below its next; a head
// holds rows if and only if it is the key's only chunk; a key's live
// count is its chunks with rows; no chunk but the head is empty, each is
// within its size bound unless it holds a single record, records have
// positive counts; encBytes is the sum of the records' sizes.
func CheckJoinChunks(j *Join) ([2]JoinChunkStats, error) {
	var st [2]JoinChunkStats
	s, ok := j.state.(*joinKeyedState)
	if !ok {
		return st, fmt.Errorf("join has no keyed state")
	}
	for side := range s.ks {
		l := s.lay[side]
		keyTypes := make([]types.Type, len(j.sides[side].keys))
		for x, c := range j.sides[side].keys {
			keyTypes[x] = l.types[c]
		}
		heads := map[string]*joinRows{}
		live := map[string]int{}
		type chunkRef struct {
			id string
			c  uint64
		}
		var chunks []chunkRef
		err := s.ks[side].Scan(func(kg int, ck []byte, e *joinRows) error {
			_, rest, err := state.DecodeKey(ck, keyTypes, nil)
			if err != nil {
				return err
			}
			id := fmt.Sprint(kg, ck[:len(ck)-len(rest)])
			c := uint64(0)
			if len(rest) > 0 {
				var n int
				if c, n = binary.Uvarint(rest); n <= 0 || n != len(rest) || c == 0 {
					return fmt.Errorf("chunk key %x: bad chunk number", ck)
				}
			}
			switch {
			case c == 0 && e.next == 0:
				return fmt.Errorf("%s side: head of key %s without meta data", joinSideName(side), id)
			case c == 0 && e.next > 1 && e.n > 0:
				return fmt.Errorf("%s side: head of key %s with %d chunks holds rows", joinSideName(side), id, e.next)
			case c == 0 && e.next == 1 && e.n == 0:
				return fmt.Errorf("%s side: head of key %s holds nothing", joinSideName(side), id)
			case c > 0 && e.next != 0:
				return fmt.Errorf("%s side: chunk %d of key %s with meta data", joinSideName(side), c, id)
			case c > 0 && e.n == 0:
				return fmt.Errorf("%s side: chunk %d of key %s is empty", joinSideName(side), c, id)
			case e.n > 1 && (e.encBytes > s.limit || c == 0 && e.encBytes > s.headLimit):
				return fmt.Errorf("%s side: chunk %d of key %s holds %d bytes, bound %d and %d for the head", joinSideName(side), c, id, e.encBytes, s.limit, s.headLimit)
			}
			sum := 0
			for r := range e.n {
				if e.count(l, r) <= 0 {
					return fmt.Errorf("%s side: chunk %d of key %s: record %d has count %d", joinSideName(side), c, id, r, e.count(l, r))
				}
				sum += e.recordBytes(l, r)
			}
			if sum != e.encBytes {
				return fmt.Errorf("%s side: chunk %d of key %s: encBytes %d, records %d", joinSideName(side), c, id, e.encBytes, sum)
			}
			if c == 0 {
				heads[id] = e
				st[side].MaxNext = max(st[side].MaxNext, int(e.next))
			} else {
				chunks = append(chunks, chunkRef{id, c})
			}
			if e.n > 0 {
				live[id]++
				st[side].Chunks++
			}
			return nil
		})
		if err != nil {
			return st, err
		}
		for _, ch := range chunks {
			h, ok := heads[ch.id]
			if !ok || ch.c >= uint64(h.next) {
				return st, fmt.Errorf("%s side: chunk %d of key %s without head or beyond its next", joinSideName(side), ch.c, ch.id)
			}
		}
		for id, h := range heads {
			if live[id] != int(h.live) || h.live == 0 {
				return st, fmt.Errorf("%s side: key %s has %d chunks with rows, head says %d", joinSideName(side), id, live[id], h.live)
			}
		}
		st[side].Keys = len(heads)
	}
	return st, nil
}
