package ops

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/state"
)

// State of WindowAgg.
//
// One entry per pane (TUMBLE, HOP, CUMULATE) or session (SESSION) of a
// group key, under the key
//
//	EncodeKey(group columns) ‖ start (8 bytes big-endian, sign bit flipped)
//
// in the key group of the group columns, holding a winEntry: the pane's or
// session's end, for panes the end of the last window that already fired
// with the pane (so that a restored operator does not fire it again), and
// the accumulators. Timers (which windows are open for which key) live in
// memory and are rebuilt from these entries when the operator opens.

// winEntry is the state of one pane or session.
type winEntry struct {
	end   int64
	fired int64 // panes: end of the last window fired with this pane, or MinInt64
	rec   *accRecord
}

// winStore holds winEntries by key group and key. Entries returned by get
// may be modified in place; put must follow for the change to be kept.
type winStore interface {
	get(kg int, key []byte) (*winEntry, error)
	put(kg int, key []byte, e *winEntry) error
	del(kg int, key []byte) error
	// flush makes every put and del durable (a checkpoint).
	flush() error
	// scan calls fn for every entry of the key groups first..last.
	scan(first, last int, fn func(kg int, key []byte, e *winEntry) error) error
}

// winMapStore keeps entries in memory (no state backend).
type winMapStore struct{ m map[string]*winEntry }

func mapKeyOf(kg int, key []byte) string {
	return string(append([]byte{byte(kg >> 8), byte(kg)}, key...))
}

func (s *winMapStore) get(kg int, key []byte) (*winEntry, error) { return s.m[mapKeyOf(kg, key)], nil }

func (s *winMapStore) put(kg int, key []byte, e *winEntry) error {
	s.m[mapKeyOf(kg, key)] = e
	return nil
}

func (s *winMapStore) del(kg int, key []byte) error {
	delete(s.m, mapKeyOf(kg, key))
	return nil
}

func (s *winMapStore) flush() error { return nil }

func (s *winMapStore) scan(first, last int, fn func(int, []byte, *winEntry) error) error {
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		kg := int(k[0])<<8 | int(k[1])
		if kg < first || kg > last {
			continue
		}
		if err := fn(kg, []byte(k[2:]), s.m[k]); err != nil {
			return err
		}
	}
	return nil
}

// winKeyedStore keeps entries in durable keyed state.
type winKeyedStore struct {
	ks *state.KeyedState[*winEntry]
}

func (s *winKeyedStore) get(kg int, key []byte) (*winEntry, error) {
	e, ok, err := s.ks.Get(kg, key)
	if err != nil || !ok {
		return nil, err
	}
	return e, nil
}

func (s *winKeyedStore) put(kg int, key []byte, e *winEntry) error { return s.ks.Put(kg, key, e) }
func (s *winKeyedStore) del(kg int, key []byte) error              { return s.ks.Delete(kg, key) }
func (s *winKeyedStore) flush() error                              { return s.ks.Flush() }

func (s *winKeyedStore) scan(first, last int, fn func(int, []byte, *winEntry) error) error {
	return s.ks.ScanKeyGroups(first, last, fn)
}

func newWinStore(tc *exec.TaskContext, calls []callPlan, cacheEntries int) winStore {
	if tc == nil || tc.State == nil {
		return &winMapStore{m: map[string]*winEntry{}}
	}
	codec := winCodec{acc: accCodec{calls: calls}}
	ks := state.NewKeyedState[*winEntry](tc.State, exec.StateNamespace(tc), codec, cacheEntries)
	if tc.Epoch != nil {
		ks.SetEpoch(tc.Epoch) // versioned state: writes belong to the subtask's checkpoint epoch
	}
	return &winKeyedStore{ks: ks}
}

// winCodec encodes a winEntry: format version (1), varint end, varint
// fired, then the accumulators as accCodec encodes them.
type winCodec struct{ acc accCodec }

const winFormatVersion = 1

// Encode implements state.Codec.
func (c winCodec) Encode(dst []byte, e *winEntry) []byte {
	dst = append(dst, winFormatVersion)
	dst = binary.AppendVarint(dst, e.end)
	dst = binary.AppendVarint(dst, e.fired)
	return c.acc.Encode(dst, e.rec)
}

// Decode implements state.Codec.
func (c winCodec) Decode(b []byte) (*winEntry, error) {
	if len(b) == 0 || b[0] != winFormatVersion {
		return nil, fmt.Errorf("window state: bad format version: %w", state.ErrCorrupt)
	}
	b = b[1:]
	end, n := binary.Varint(b)
	if n <= 0 {
		return nil, fmt.Errorf("window state: bad end: %w", state.ErrCorrupt)
	}
	b = b[n:]
	fired, n := binary.Varint(b)
	if n <= 0 {
		return nil, fmt.Errorf("window state: bad fired mark: %w", state.ErrCorrupt)
	}
	rec, err := c.acc.Decode(b[n:])
	if err != nil {
		return nil, fmt.Errorf("window state: %w", err)
	}
	return &winEntry{end: end, fired: fired, rec: rec}, nil
}

// appendStart appends the key suffix of a pane or session start.
func appendStart(dst []byte, start int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(start)^(1<<63))
}

// splitStart splits a state key into the group key and the start.
func splitStart(key []byte) ([]byte, int64, error) {
	if len(key) < 8 {
		return nil, 0, fmt.Errorf("window state: key %x too short: %w", key, state.ErrCorrupt)
	}
	n := len(key) - 8
	return key[:n], int64(binary.BigEndian.Uint64(key[n:]) ^ (1 << 63)), nil
}
