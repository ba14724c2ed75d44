package kafka

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// The 'upsert-kafka' source turns keyed records into a changelog, as
// Flink's ChangelogNormalize after an upsert source: it keeps the last
// record of every key and emits
//
//	a record for a new key            +I new
//	a record for a present key        -U old, +U new (nothing if the value is unchanged)
//	a tombstone for a present key     -D old
//	a tombstone for an absent key     nothing
//
// Kafka partitions a keyed topic by key and one subtask reads each
// partition, so the normalization runs in the source subtask, keyed by the
// record key's bytes. The last records are keyed operator state (in the
// job's state store, versioned by checkpoint, flushed at Snapshot), so a
// restored job continues the changelog exactly where its checkpoint's
// offsets resume the topic. Without a state store (a query run without
// state) they are kept in memory.

// lastRecord is what the normalizer keeps of a key's last record: enough
// to decode its row again (value, and the metadata columns may read the
// rest).
type lastRecord struct {
	value     []byte
	partition int32
	offset    int64
	tsMillis  int64
	logAppend bool
	epoch     int32
}

// lastRecordCodec is the state.Codec of lastRecord.
type lastRecordCodec struct{}

func (lastRecordCodec) Encode(dst []byte, v *lastRecord) []byte {
	dst = binary.AppendVarint(dst, int64(v.partition))
	dst = binary.AppendVarint(dst, v.offset)
	dst = binary.AppendVarint(dst, v.tsMillis)
	dst = binary.AppendVarint(dst, int64(v.epoch))
	flag := byte(0)
	if v.logAppend {
		flag = 1
	}
	dst = append(dst, flag)
	return append(dst, v.value...)
}

func (lastRecordCodec) Decode(b []byte) (*lastRecord, error) {
	var ns [4]int64
	for i := range ns {
		n, w := binary.Varint(b)
		if w <= 0 {
			return nil, fmt.Errorf("%w: upsert-kafka last record header", state.ErrCorrupt)
		}
		ns[i], b = n, b[w:]
	}
	if len(b) == 0 || b[0] > 1 {
		return nil, fmt.Errorf("%w: upsert-kafka last record flags", state.ErrCorrupt)
	}
	return &lastRecord{partition: int32(ns[0]), offset: ns[1], tsMillis: ns[2], epoch: int32(ns[3]),
		logAppend: b[0] == 1, value: bytes.Clone(b[1:])}, nil
}

// Size implements state.Sizer.
func (lastRecordCodec) Size(v *lastRecord) int { return 64 + len(v.value) }

// DefaultNormalizeCacheEntries is how many keys the upsert-kafka source
// caches per subtask (the rest is in the state store).
const DefaultNormalizeCacheEntries = 1 << 16

// normalizer holds the last record of every key of one source subtask.
type normalizer struct {
	ks     *state.KeyedState[*lastRecord] // nil without a state store
	mem    map[string]*lastRecord
	maxPar int
}

func newNormalizer(tc *exec.TaskContext) *normalizer {
	n := &normalizer{maxPar: tc.MaxParallelism}
	if tc.State == nil {
		n.mem = map[string]*lastRecord{}
		return n
	}
	n.ks = state.NewKeyedState[*lastRecord](tc.State, exec.StateNamespace(tc), lastRecordCodec{}, DefaultNormalizeCacheEntries)
	if tc.Epoch != nil {
		n.ks.SetEpoch(tc.Epoch)
	}
	return n
}

// keyGroup places a record key: fnv-64a of its bytes, stable across
// restarts (the key group is part of the state key).
func (n *normalizer) keyGroup(key []byte) int {
	h := fnv.New64a()
	h.Write(key)
	return state.KeyGroup(h.Sum64(), n.maxPar)
}

func (n *normalizer) get(key []byte) (*lastRecord, bool, error) {
	if n.ks == nil {
		v, ok := n.mem[string(key)]
		return v, ok, nil
	}
	return n.ks.Get(n.keyGroup(key), key)
}

func (n *normalizer) put(key []byte, v *lastRecord) error {
	if n.ks == nil {
		n.mem[string(key)] = v
		return nil
	}
	return n.ks.Put(n.keyGroup(key), key, v)
}

func (n *normalizer) delete(key []byte) error {
	if n.ks == nil {
		delete(n.mem, string(key))
		return nil
	}
	return n.ks.Delete(n.keyGroup(key), key)
}

// flush writes the cached changes to the state store (at a checkpoint).
func (n *normalizer) flush() error {
	if n.ks == nil {
		return nil
	}
	return n.ks.Flush()
}

// errNoKey is the parse error of an upsert-kafka record without a key.
var errNoKey = errors.New("record has no key (upsert-kafka records are keyed by the primary key)")

// addUpsert appends the changelog rows of keyed record rec to b and
// updates the key's last record. A record that does not decode adds
// nothing and leaves the key's last record as it was.
func (s *Source) addUpsert(rec *kgo.Record, b *types.Batch) error {
	if rec.Key == nil {
		return s.parseError(rec, errNoKey)
	}
	old, had, err := s.norm.get(rec.Key)
	if err != nil {
		return fmt.Errorf("kafka source %s: read the last record of a key: %w", s.cfg.table, err)
	}
	if rec.Value == nil { // tombstone
		if !had {
			return nil
		}
		if err := s.appendRow(s.oldRecord(rec, old), old.logAppend, types.Delete, b); err != nil {
			return s.parseError(rec, fmt.Errorf("last record of the key (offset %d): %w", old.offset, err))
		}
		if err := s.norm.delete(rec.Key); err != nil {
			return fmt.Errorf("kafka source %s: delete the last record of a key: %w", s.cfg.table, err)
		}
		return nil
	}
	if had && len(s.meta) == 0 && bytes.Equal(old.value, rec.Value) {
		return nil // the same row again: no change
	}
	op := types.Insert
	if had {
		if err := s.appendRow(s.oldRecord(rec, old), old.logAppend, types.UpdateBefore, b); err != nil {
			return s.parseError(rec, fmt.Errorf("last record of the key (offset %d): %w", old.offset, err))
		}
		op = types.UpdateAfter
	}
	if err := s.appendRow(rec, rec.Attrs.TimestampType() == 1, op, b); err != nil {
		if had { // take back the -U
			b.Ops = b.Ops[:len(b.Ops)-1]
			dropSlot(b)
		}
		return s.parseError(rec, err)
	}
	last := &lastRecord{value: bytes.Clone(rec.Value), partition: rec.Partition, offset: rec.Offset,
		tsMillis: rec.Timestamp.UnixMilli(), logAppend: rec.Attrs.TimestampType() == 1, epoch: rec.LeaderEpoch}
	if err := s.norm.put(rec.Key, last); err != nil {
		return fmt.Errorf("kafka source %s: write the last record of a key: %w", s.cfg.table, err)
	}
	return nil
}

// oldRecord rebuilds the record that old was kept from (same key as rec).
func (s *Source) oldRecord(rec *kgo.Record, old *lastRecord) *kgo.Record {
	return &kgo.Record{Topic: rec.Topic, Key: rec.Key, Value: old.value, Partition: old.partition,
		Offset: old.offset, Timestamp: time.UnixMilli(old.tsMillis), LeaderEpoch: old.epoch}
}

// appendRow decodes rec into a new row of b with op.
func (s *Source) appendRow(rec *kgo.Record, logAppend bool, op types.Op, b *types.Batch) error {
	r := b.Len()
	addSlot(b)
	err := s.dec.fill(rec.Value, b, r)
	if err == nil && s.keyDec != nil {
		if err = s.keyDec.fill(rec.Key, b, r); err != nil {
			err = fmt.Errorf("key: %w", err)
		}
	}
	if err == nil {
		err = s.fillMeta(rec, logAppend, b, r)
	}
	if err != nil {
		dropSlot(b)
		return err
	}
	b.Ops = append(b.Ops, op)
	return nil
}

// parseError fails the job with a ParseError, or counts a skipped record
// with the format's ignore-parse-errors option.
func (s *Source) parseError(rec *kgo.Record, err error) error {
	if !s.cfg.format.ignoreErrors {
		return &ParseError{Table: s.cfg.table, Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Err: err}
	}
	s.skipped++
	return nil
}
