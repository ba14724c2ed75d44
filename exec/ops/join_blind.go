package ops

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// Blind appends to a join side in keyed state.
//
// Adding a row to a key whose head (join_chunk.go) is neither cached nor
// certainly absent costs a Badger read of the head, only to learn where
// the row goes. A side that gets many rows and is rarely probed pays that
// for nothing: Nexmark q7 stores every bid under its price and probes the
// bids once per window, and spent 40 % of its CPU time reading heads back.
// Such a side can instead add the row blind: to a record of its own,
//
//	namespace ‖ 'L' or 'R' ‖ key group ‖ key ‖ 0x00 ‖ ts (8 bytes) ‖ n (4 bytes)
//
// written with state.KeyedState.WriteUncached and never cached, which a
// probe finds by a prefix scan (ScanPrefix) after the key's chunks. 0x00
// never starts a chunk number (uvarint c > 0) and the encoded key is
// prefix-free, so blind records are neither chunks nor another key's.
// ts is the write timestamp and n counts the records written at it, so a
// key's records are unique and come back in the order they were written:
// after a restore, writes are at timestamps above every surviving one.
// A key's rows are then its chunks' followed by its blind records'; rows
// added while the head is at hand still go to the chunks, so across the
// two the rows are not in the order they were added. Only the order of
// the pairs a probe emits depends on it, and a blind side's rows are all
// insertions without match counts, so that order carries no meaning.
//
// Which sides: those the planner declares insert-only (JoinSpec.InsertOnly:
// no retraction ever has to find a row) that keep no match counts (not
// the outer side of an outer join, nor the left side of a semi or anti
// join), without a state TTL (which keeps access times in the head).
//
// Rows added blind wait in a buffer (pending, up to joinBlindBytes),
// merged per key, and are written when it is full and at every
// checkpoint (flush), all at the same timestamp as the chunks' write-back.
//
// A probe must know whether the key has blind records, without a scan
// when it has none. Pending rows are looked up in their buffer; the keys
// of records this run wrote are in set (fingerprints of the keys'
// hashes). Those of earlier runs, restored from a checkpoint or moved here
// by a rescale, are announced by a marker per key group (in a KeyedState
// of its own, namespace ‖ 'l' or 'r'), written with the group's first
// blind record and moved with the group like all keyed state: in a key
// group whose marker predates the run, every key that is not certainly
// absent is scanned.
//
// Blind appends are worth it while probes that scan are rare against the
// reads they save: a side stops adding blind rows when it has scanned more
// than once per joinBlindScanCost additions that found the head only in
// Badger (cold; after a grace of joinBlindGrace scans), and starts again
// when there are twice as many cold additions per scan.

// joinBlindBytes bounds the rows a side holds added blind and not yet
// written (their joinLayout.inputBytes).
const joinBlindBytes = 4 << 20

// joinBlindScanCost is how many Badger reads of a head one prefix scan of
// a probe is taken to cost.
const joinBlindScanCost = 4

// joinBlindGrace is the number of scans a side may make before the ratio
// of joinBlindScanCost is enforced.
const joinBlindGrace = 64

// joinBlindMarker is the key of a key group's marker.
var joinBlindMarker = []byte{'B'}

// Key group states of joinBlind.groups.
const (
	blindGroupUnknown  = iota // marker not looked up yet
	blindGroupNone            // no marker: no blind records but this run's
	blindGroupOurs            // marker written by this run
	blindGroupRestored        // marker from an earlier run
)

// joinBlind is the blind-append state of one join side.
type joinBlind struct {
	ks      *state.KeyedState[*joinRows] // the side's rows
	lay     *joinLayout
	markers *state.KeyedState[*joinRows]
	groups  []uint8 // per key group, blindGroup*

	pending map[string]blindPending // by encoded key, not yet written
	bytes   int                     // inputBytes of the pending rows
	// set holds the mixed hashes (blindMix) of the keys with blind
	// records written by this run.
	set     state.FingerprintSet
	scanned []*joinRows // scratch of each

	ts  uint64 // timestamp of the last write
	seq uint32 // records written at ts

	cold  int64 // rows added whose head only Badger had (blind or not)
	added int64 // rows added blind
	scans int64 // probes that scanned Badger for blind records
	off   bool  // not adding blind (see active)

	kvs  []state.UncachedKV[*joinRows] // scratch of write
	keys []byte                        // scratch of write
	pfx  []byte                        // scratch of scan
}

func newJoinBlind(ks, markers *state.KeyedState[*joinRows], lay *joinLayout, maxPar int) *joinBlind {
	return &joinBlind{ks: ks, lay: lay, markers: markers, groups: make([]uint8, maxPar),
		pending: make(map[string]blindPending), set: state.NewFingerprintSet(joinBlindSetBytes)}
}

// blindPending is a key's rows added blind and not yet written, with the
// key's group and hash.
type blindPending struct {
	rows *joinRows
	kg   int32
	h    uint64
}

// joinBlindSetBytes bounds the memory of joinBlind.set (about 3 M keys);
// beyond it every key may have blind records.
const joinBlindSetBytes = 16 << 20

// blindMix mixes a key hash for joinBlind.set, whose fingerprints are the
// low bits, which in a key hash pick the key group.
func blindMix(h uint64) uint64 { return (h * 0x9E3779B97F4A7C15) >> 32 }

// joinBlindMarkerValue is the value of a marker: a head without rows, the
// smallest value joinRowsCodec decodes.
func joinBlindMarkerValue() *joinRows { return &joinRows{next: 1, live: 1} }

// active reports whether rows are to be added blind now: off once scans
// cost more than the reads of cold heads they save, on again once the
// cold reads are worth twice the scans (so that the side does not flip at
// every row near the boundary).
func (bl *joinBlind) active() bool {
	switch {
	case bl.scans < joinBlindGrace:
		bl.off = false
	case !bl.off && bl.scans*joinBlindScanCost > bl.cold:
		bl.off = true
	case bl.off && 2*bl.scans*joinBlindScanCost <= bl.cold:
		bl.off = false
	}
	return !bl.off
}

// group returns the marker state of key group kg, looking the marker up
// when unknown.
func (bl *joinBlind) group(kg int) (uint8, error) {
	if g := bl.groups[kg]; g != blindGroupUnknown {
		return g, nil
	}
	_, ok, err := bl.markers.Get(kg, joinBlindMarker)
	if err != nil {
		return 0, fmt.Errorf("read blind-append marker: %w", err)
	}
	g := uint8(blindGroupNone)
	if ok {
		g = blindGroupRestored
	}
	bl.groups[kg] = g
	return g, nil
}

// add returns the pending rows of key k (key group kg) to add row i of b
// to, and counts the row.
func (bl *joinBlind) add(kg int, k *joinKeyRef, b *types.Batch, i int) (*joinRows, error) {
	g, err := bl.group(kg)
	if err != nil {
		return nil, err
	}
	if g == blindGroupNone {
		if err := bl.markers.Put(kg, joinBlindMarker, joinBlindMarkerValue()); err != nil {
			return nil, fmt.Errorf("write blind-append marker: %w", err)
		}
		bl.groups[kg] = blindGroupOurs
	}
	p, ok := bl.pending[string(k.key)]
	if !ok {
		p = blindPending{rows: &joinRows{}, kg: int32(kg), h: k.h}
		bl.pending[string(k.key)] = p
	}
	bl.added++
	bl.bytes += bl.lay.inputBytes(b, i)
	return p.rows, nil
}

// full reports whether the pending rows are to be written.
func (bl *joinBlind) full() bool { return bl.bytes >= joinBlindBytes }

// write writes the pending rows, one record per key.
func (bl *joinBlind) write() error {
	if len(bl.pending) == 0 {
		return nil
	}
	ts, err := bl.ks.WriteTs()
	if err != nil {
		return err
	}
	if ts != bl.ts {
		bl.ts, bl.seq = ts, 0
	}
	// keys gets its whole size first, so the records' keys can be slices
	// of it as they are appended.
	n := 0
	for key := range bl.pending {
		n += len(key) + 1 + 8 + 4
	}
	kvs, keys := bl.kvs[:0], slices.Grow(bl.keys[:0], n)
	for key, p := range bl.pending {
		start := len(keys)
		keys = append(append(keys, key...), 0)
		keys = binary.BigEndian.AppendUint64(keys, ts)
		keys = binary.BigEndian.AppendUint32(keys, bl.seq)
		bl.seq++
		kvs = append(kvs, state.UncachedKV[*joinRows]{KeyGroup: int(p.kg), Key: keys[start:len(keys):len(keys)], Val: p.rows})
	}
	err = bl.ks.WriteUncached(ts, kvs)
	clear(kvs)
	bl.kvs, bl.keys = kvs[:0], keys[:0]
	if err != nil {
		return err
	}
	for _, p := range bl.pending {
		bl.set.Add(blindMix(p.h))
	}
	clear(bl.pending)
	bl.bytes = 0
	return nil
}

// each calls fn with the blind records of key k (key group kg) in the
// order they were written, the pending ones last. The records are read
// before fn is called, so no Badger transaction stays open while fn emits.
func (bl *joinBlind) each(kg int, k *joinKeyRef, fn func(*joinRows) error) error {
	g, err := bl.group(kg)
	if err != nil {
		return err
	}
	if g == blindGroupRestored && !bl.ks.CertainlyAbsent(kg, k.key) || bl.set.Has(blindMix(k.h)) {
		bl.scans++
		bl.pfx = append(append(bl.pfx[:0], k.key...), 0)
		recs := bl.scanned[:0]
		err := bl.ks.ScanPrefix(kg, bl.pfx, func(_ []byte, e *joinRows) error {
			recs = append(recs, e)
			return nil
		})
		if err == nil {
			for _, e := range recs {
				if err = fn(e); err != nil {
					break
				}
			}
		}
		clear(recs) // do not keep the rows alive
		bl.scanned = recs[:0]
		if err != nil {
			return err
		}
	}
	if p, ok := bl.pending[string(k.key)]; ok {
		return fn(p.rows)
	}
	return nil
}
