package ops

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/state"
)

// State of WindowAgg, in the key group of the group key.
//
// TUMBLE, HOP and CUMULATE: one entry per group key, under
//
//	EncodeKey(group columns)
//
// holding a winPanes: the key's live panes (those whose last window has
// not fired yet), each with its start and accumulators, and the end of
// the last window fired for the key (so that a restored operator fires
// none again). Adding a row and firing all due windows of a key each cost
// one read and one write of the entry.
//
// SESSION: one entry per session, under
//
//	EncodeKey(group columns) ‖ start (8 bytes big-endian, sign bit flipped)
//
// holding a winEntry: the session's end and accumulators.
//
// Timers (which keys have windows to fire when) live in memory and are
// rebuilt from these entries when the operator opens.

// winPanes is the state of the panes of one group key.
type winPanes struct {
	// fired is the end of the last window fired for the key, math.MinInt64
	// when none has.
	fired int64
	// starts are the pane starts, increasing.
	starts []int64
	// vals holds one accumulator per call for each pane, pane after pane
	// in the order of starts.
	vals []accVal
	// legacy marks a pane decoded from format version 1, stored under its
	// group key ‖ start (see WindowAgg.migrate).
	legacy bool
}

// pane returns the accumulators of pane k (nc calls).
func (p *winPanes) pane(k, nc int) []accVal {
	return p.vals[k*nc : (k+1)*nc : (k+1)*nc]
}

// find returns the index of the pane starting at ps and true, or where it
// would be inserted and false.
func (p *winPanes) find(ps int64) (int, bool) {
	n := len(p.starts)
	switch {
	case n == 0 || p.starts[n-1] < ps:
		return n, false
	case p.starts[n-1] == ps:
		return n - 1, true // rows come roughly in time order
	}
	return slices.BinarySearch(p.starts, ps)
}

// insert adds an empty pane starting at ps at index k (from find).
func (p *winPanes) insert(k int, ps int64, nc int) {
	p.starts = slices.Insert(p.starts, k, ps)
	n := len(p.vals)
	p.vals = slices.Grow(p.vals, nc)[:n+nc]
	copy(p.vals[(k+1)*nc:], p.vals[k*nc:n])
	clear(p.vals[k*nc : (k+1)*nc])
}

// winEntry is the state of one session.
type winEntry struct {
	end int64
	rec *accRecord
}

// openWinStores returns the store of a WindowAgg with calls over windows
// of kind (the other one is nil): in memory without a state backend, else
// keyed state keeping at most cacheEntries entries decoded.
func openWinStores(tc *exec.TaskContext, kind WindowKind, pane int64, calls []callPlan, cacheEntries int) (kvStore[*winPanes], kvStore[*winEntry]) {
	acc := accCodec{calls: calls}
	if kind == WindowSession {
		return nil, openKV[*winEntry](tc, nil, sessionCodec{acc: acc}, cacheEntries, DefaultAggCacheEntries)
	}
	return openKV[*winPanes](tc, nil, paneCodec{acc: acc, pane: pane}, cacheEntries, DefaultAggCacheEntries), nil
}

// Format versions of window state values. In version 1 panes too had an
// entry each, under group key ‖ start, encoded as a session is; paneCodec
// still reads those (see WindowAgg.migrate).
const (
	winFormatVersion  = 1 // sessions, and panes before version 2
	paneFormatVersion = 2
)

// paneCodec encodes a winPanes: format version (2), varint fired, uvarint
// number of panes, then per pane varint start, uvarint length and the
// pane's accumulators as accCodec encodes a record of them.
//
// It also decodes the one pane of a version 1 value (see sessionCodec;
// the start is the end minus the pane length) into a winPanes marked
// legacy.
type paneCodec struct {
	acc  accCodec
	pane int64
}

// Encode implements state.Codec.
func (c paneCodec) Encode(dst []byte, p *winPanes) []byte {
	nc := len(c.acc.calls)
	dst = append(dst, paneFormatVersion)
	dst = binary.AppendVarint(dst, p.fired)
	dst = binary.AppendUvarint(dst, uint64(len(p.starts)))
	var lb [binary.MaxVarintLen64]byte
	for k, ps := range p.starts {
		dst = binary.AppendVarint(dst, ps)
		at := len(dst)
		dst = c.acc.Encode(dst, &accRecord{vals: p.pane(k, nc)})
		n := binary.PutUvarint(lb[:], uint64(len(dst)-at))
		dst = slices.Insert(dst, at, lb[:n]...)
	}
	return dst
}

// Decode implements state.Codec.
func (c paneCodec) Decode(b []byte) (*winPanes, error) {
	if len(b) > 0 && b[0] == winFormatVersion {
		end, fired, rec, err := decodeV1(c.acc, b)
		if err != nil {
			return nil, err
		}
		return &winPanes{fired: fired, starts: []int64{end - c.pane}, vals: rec.vals, legacy: true}, nil
	}
	if len(b) == 0 || b[0] != paneFormatVersion {
		return nil, fmt.Errorf("window state: bad format version: %w", state.ErrCorrupt)
	}
	b = b[1:]
	fired, b, ok := readVarint(b)
	if !ok {
		return nil, fmt.Errorf("window state: bad fired mark: %w", state.ErrCorrupt)
	}
	n, m := binary.Uvarint(b)
	if m <= 0 || n > uint64(len(b)) { // every pane takes at least two bytes
		return nil, fmt.Errorf("window state: bad pane count: %w", state.ErrCorrupt)
	}
	b = b[m:]
	nc := len(c.acc.calls)
	p := &winPanes{fired: fired, starts: make([]int64, 0, n), vals: make([]accVal, 0, int(n)*nc)}
	for k := range int(n) {
		ps, rest, ok := readVarint(b)
		if !ok || k > 0 && ps <= p.starts[k-1] {
			return nil, fmt.Errorf("window state: bad start of pane %d: %w", k, state.ErrCorrupt)
		}
		l, m := binary.Uvarint(rest)
		if m <= 0 || l > uint64(len(rest)-m) {
			return nil, fmt.Errorf("window state: bad length of pane %d: %w", k, state.ErrCorrupt)
		}
		rest = rest[m:]
		rec, err := c.acc.Decode(rest[:l])
		if err != nil {
			return nil, fmt.Errorf("window state: %w", err)
		}
		b = rest[l:]
		p.starts = append(p.starts, ps)
		p.vals = append(p.vals, rec.vals...)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("window state: %d trailing bytes: %w", len(b), state.ErrCorrupt)
	}
	return p, nil
}

// sessionCodec encodes a winEntry: format version (1), varint end, varint
// math.MinInt64 (the fired mark panes had in version 1), then the
// accumulators as accCodec encodes them.
type sessionCodec struct{ acc accCodec }

// Encode implements state.Codec.
func (c sessionCodec) Encode(dst []byte, e *winEntry) []byte {
	dst = append(dst, winFormatVersion)
	dst = binary.AppendVarint(dst, e.end)
	dst = binary.AppendVarint(dst, math.MinInt64)
	return c.acc.Encode(dst, e.rec)
}

// Decode implements state.Codec.
func (c sessionCodec) Decode(b []byte) (*winEntry, error) {
	end, _, rec, err := decodeV1(c.acc, b)
	if err != nil {
		return nil, err
	}
	return &winEntry{end: end, rec: rec}, nil
}

// decodeV1 decodes a value of format version 1.
func decodeV1(acc accCodec, b []byte) (end, fired int64, rec *accRecord, err error) {
	if len(b) == 0 || b[0] != winFormatVersion {
		return 0, 0, nil, fmt.Errorf("window state: bad format version: %w", state.ErrCorrupt)
	}
	end, b, ok := readVarint(b[1:])
	if !ok {
		return 0, 0, nil, fmt.Errorf("window state: bad end: %w", state.ErrCorrupt)
	}
	fired, b, ok = readVarint(b)
	if !ok {
		return 0, 0, nil, fmt.Errorf("window state: bad fired mark: %w", state.ErrCorrupt)
	}
	if rec, err = acc.Decode(b); err != nil {
		return 0, 0, nil, fmt.Errorf("window state: %w", err)
	}
	return end, fired, rec, nil
}

// readVarint reads a varint from the front of b.
func readVarint(b []byte) (int64, []byte, bool) {
	v, n := binary.Varint(b)
	if n <= 0 {
		return 0, b, false
	}
	return v, b[n:], true
}

// appendStart appends the key suffix of a session start.
func appendStart(dst []byte, start int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(start)^(1<<63))
}

// splitStart splits a session's state key into the group key and the
// start.
func splitStart(key []byte) ([]byte, int64, error) {
	if len(key) < 8 {
		return nil, 0, fmt.Errorf("window state: key %x too short: %w", key, state.ErrCorrupt)
	}
	n := len(key) - 8
	return key[:n], int64(binary.BigEndian.Uint64(key[n:]) ^ (1 << 63)), nil
}
