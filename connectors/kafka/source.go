package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// ParseError is a record that does not decode; it fails the job unless the
// format's ignore-parse-errors option is set.
type ParseError struct {
	Table     string
	Topic     string
	Partition int32
	Offset    int64
	Err       error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("kafka source %s: topic '%s' partition %d offset %d: %v", e.Table, e.Topic, e.Partition, e.Offset, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ErrOffsetOutOfRange is returned when a checkpointed offset is below the
// partition's log start (the records were deleted by retention): the job
// cannot resume exactly where it stopped, and Sluice does not silently
// skip ahead.
var ErrOffsetOutOfRange = errors.New("checkpointed offset is below the log start offset")

// pollTimeout bounds a Next call that finds no data (exec.Source contract).
const pollTimeout = 100 * time.Millisecond

// adminTimeout bounds metadata and offset requests.
const adminTimeout = 30 * time.Second

// tp is a topic partition.
type tp struct {
	topic string
	part  int32
}

// partState is the position in one owned partition.
type partState struct {
	next int64 // offset of the next record to emit
	stop int64 // bounded: offset to stop at; -1 unbounded
	done bool
	id   int32 // split id (ops.SplitSource), in order of assignment
}

// metaCol is a METADATA column: key is one of metadataKeys.
type metaCol struct {
	col int
	key string
}

// sourceSnapshot is what Snapshot returns (JSON).
type sourceSnapshot struct {
	// Parallelism of the job when the snapshot was taken: partitions are
	// owned by hash, so restoring at another parallelism is refused.
	Parallelism int `json:"parallelism"`
	// Offsets are the next offsets to read, by topic and partition.
	Offsets map[string]map[int32]int64 `json:"offsets"`
}

// Source reads the partitions owned by one subtask. Partition (t, p) is
// owned by subtask (fnv32(t) + p) mod parallelism, so every subtask
// computes the same split from the topic metadata alone and new partitions
// spread evenly.
type Source struct {
	cfg       *config
	fields    []field // value fields
	keyFields []field // key fields with 'value.fields-include' = 'EXCEPT_KEY'
	meta      []metaCol
	types     []types.Type

	tc     *exec.TaskContext
	cl     *kgo.Client
	adm    *kadm.Client
	dec    valueDecoder     // nil with debezium-json
	dbz    *debeziumDecoder // debezium-json: a changelog
	chg    []change         // scratch for dbz
	keyDec valueDecoder     // nil unless the key holds columns the value does not
	norm   *normalizer      // upsert-kafka: the last record of every key
	arena  arena

	parts    map[tp]*partState
	restored map[tp]int64
	started  bool
	lastDisc time.Time
	pending  []*kgo.Record // polled, not yet emitted (the batch was full)
	snaps    []pendingCommit
	skipped  int64
	rowSplit []int32 // split id of each row of the batch the last Next filled
}

type pendingCommit struct {
	id      int64
	offsets map[tp]int64
}

// Open connects the client. Partitions are assigned on the first Next, so
// that Restore can set their positions first.
func (s *Source) Open(tc *exec.TaskContext) error {
	s.tc = tc
	opts, err := s.cfg.consumerOpts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka source %s: create client: %w", s.cfg.table, err)
	}
	s.cl, s.adm = cl, kadm.NewClient(cl)
	if s.cfg.format.name == formatDebezium {
		s.dbz = &debeziumDecoder{row: newJSONDecoder(s.fields, false, &s.arena)}
	} else {
		s.dec = newValueDecoder(s.cfg.format, s.fields, &s.arena)
	}
	if len(s.keyFields) > 0 {
		s.keyDec = newValueDecoder(s.cfg.keyFormat, s.keyFields, &s.arena)
	}
	if s.cfg.upsert {
		s.norm = newNormalizer(tc)
	}
	s.parts = map[tp]*partState{}
	return nil
}

// Restore implements exec.Restorer: the positions of the partitions this
// subtask owned at checkpoint id.
func (s *Source) Restore(id int64, snaps [][]byte) error {
	s.restored = map[tp]int64{}
	for _, b := range snaps {
		var snap sourceSnapshot
		if err := json.Unmarshal(b, &snap); err != nil {
			return fmt.Errorf("kafka source %s: decode snapshot of checkpoint %d: %w", s.cfg.table, id, err)
		}
		if snap.Parallelism != s.tc.Parallelism {
			return fmt.Errorf("kafka source %s: checkpoint %d was taken at parallelism %d; restoring a Kafka source at another parallelism (%d) is not supported",
				s.cfg.table, id, snap.Parallelism, s.tc.Parallelism)
		}
		for t, ps := range snap.Offsets {
			for p, o := range ps {
				s.restored[tp{t, p}] = o
			}
		}
	}
	return nil
}

// owner returns the subtask that reads partition p of topic t.
func owner(t string, p int32, parallelism int) int {
	h := fnv.New32a()
	h.Write([]byte(t))
	return int((uint64(h.Sum32()) + uint64(p)) % uint64(parallelism))
}

// discover lists the topics' partitions and starts reading those this
// subtask owns and does not read yet. first is true at start-up, when the
// startup mode applies; partitions found later start at their earliest
// offset (they were created after the job started).
func (s *Source) discover(first bool) error {
	ctx, cancel := context.WithTimeout(s.tc.Ctx, adminTimeout)
	defer cancel()
	s.lastDisc = time.Now()
	var details kadm.TopicDetails
	var err error
	if s.cfg.pattern != nil {
		details, err = s.adm.ListTopics(ctx)
	} else {
		details, err = s.adm.ListTopics(ctx, s.cfg.topics...)
	}
	if err != nil {
		return fmt.Errorf("kafka source %s: list topics: %w", s.cfg.table, err)
	}
	var fresh []tp
	for _, d := range details.Sorted() {
		if s.cfg.pattern != nil && !s.cfg.pattern.MatchString(d.Topic) {
			continue
		}
		if d.Err != nil {
			return fmt.Errorf("kafka source %s: topic '%s': %w", s.cfg.table, d.Topic, d.Err)
		}
		for _, p := range d.Partitions.Numbers() {
			k := tp{d.Topic, p}
			if _, ok := s.parts[k]; ok || owner(d.Topic, p, s.tc.Parallelism) != s.tc.Subtask {
				continue
			}
			fresh = append(fresh, k)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	starts, err := s.startOffsets(ctx, fresh, first)
	if err != nil {
		return err
	}
	var stops kadm.ListedOffsets
	if s.cfg.boundedLatest {
		if stops, err = s.adm.ListCommittedOffsets(ctx, topicsOf(fresh)...); err != nil {
			return fmt.Errorf("kafka source %s: list end offsets: %w", s.cfg.table, err)
		}
	}
	add := map[string]map[int32]kgo.Offset{}
	for _, k := range fresh {
		st := &partState{next: starts[k], stop: -1, id: int32(len(s.parts))}
		if s.cfg.boundedLatest {
			o, ok := stops.Lookup(k.topic, k.part)
			if !ok || o.Err != nil {
				return fmt.Errorf("kafka source %s: end offset of topic '%s' partition %d: %v", s.cfg.table, k.topic, k.part, o.Err)
			}
			st.stop = o.Offset
			st.done = st.next >= st.stop
		}
		s.parts[k] = st
		if st.done {
			continue
		}
		if add[k.topic] == nil {
			add[k.topic] = map[int32]kgo.Offset{}
		}
		add[k.topic][k.part] = kgo.NewOffset().At(st.next)
	}
	s.cl.AddConsumePartitions(add)
	return nil
}

func topicsOf(ks []tp) []string {
	seen := map[string]bool{}
	var ts []string
	for _, k := range ks {
		if !seen[k.topic] {
			seen[k.topic] = true
			ts = append(ts, k.topic)
		}
	}
	sort.Strings(ts)
	return ts
}

// startOffsets resolves the concrete start offset of each partition: the
// restored position, else the startup mode's.
func (s *Source) startOffsets(ctx context.Context, ks []tp, first bool) (map[tp]int64, error) {
	topics := topicsOf(ks)
	logStart, err := s.adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka source %s: list start offsets: %w", s.cfg.table, err)
	}
	lookup := func(l kadm.ListedOffsets, k tp, what string) (int64, error) {
		o, ok := l.Lookup(k.topic, k.part)
		if !ok || o.Err != nil {
			return 0, fmt.Errorf("kafka source %s: %s offset of topic '%s' partition %d: %v", s.cfg.table, what, k.topic, k.part, o.Err)
		}
		return o.Offset, nil
	}
	out := make(map[tp]int64, len(ks))
	var rest []tp
	for _, k := range ks {
		if off, ok := s.restored[k]; ok {
			ls, err := lookup(logStart, k, "log start")
			if err != nil {
				return nil, err
			}
			if off < ls {
				return nil, fmt.Errorf("kafka source %s: topic '%s' partition %d: offset %d, log start %d: %w",
					s.cfg.table, k.topic, k.part, off, ls, ErrOffsetOutOfRange)
			}
			out[k] = off
			continue
		}
		if !first || s.restored != nil {
			// Created after the job started (or after the checkpoint):
			// read it whole.
			if out[k], err = lookup(logStart, k, "log start"); err != nil {
				return nil, err
			}
			continue
		}
		rest = append(rest, k)
	}
	if len(rest) == 0 {
		return out, nil
	}
	var listed kadm.ListedOffsets
	switch s.cfg.startMode {
	case startEarliest, startSpecific:
		listed = logStart
	case startLatest:
		listed, err = s.adm.ListEndOffsets(ctx, topics...)
	case startTimestamp:
		listed, err = s.adm.ListOffsetsAfterMilli(ctx, s.cfg.startTS, topics...)
	case startGroup:
		return s.groupOffsets(ctx, rest, out, logStart)
	}
	if err != nil {
		return nil, fmt.Errorf("kafka source %s: list offsets for %s: %w", s.cfg.table, s.cfg.startMode, err)
	}
	for _, k := range rest {
		if s.cfg.startMode == startSpecific {
			if off, ok := s.cfg.startOffsets[k.part]; ok {
				out[k] = off
				continue
			}
		}
		if out[k], err = lookup(listed, k, s.cfg.startMode); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// groupOffsets starts from the group's committed offsets, falling back to
// 'properties.auto.offset.reset' (earliest, latest; default none: an error).
func (s *Source) groupOffsets(ctx context.Context, ks []tp, out map[tp]int64, logStart kadm.ListedOffsets) (map[tp]int64, error) {
	committed, err := s.adm.FetchOffsets(ctx, s.cfg.groupID)
	if err != nil {
		return nil, fmt.Errorf("kafka source %s: fetch offsets of group '%s': %w", s.cfg.table, s.cfg.groupID, err)
	}
	reset := s.cfg.props["auto.offset.reset"]
	var ends kadm.ListedOffsets
	for _, k := range ks {
		if o, ok := committed.Lookup(k.topic, k.part); ok && o.Err == nil && o.At >= 0 {
			out[k] = o.At
			continue
		}
		switch reset {
		case "earliest":
			o, _ := logStart.Lookup(k.topic, k.part)
			out[k] = o.Offset
		case "latest":
			if ends == nil {
				if ends, err = s.adm.ListEndOffsets(ctx, topicsOf(ks)...); err != nil {
					return nil, fmt.Errorf("kafka source %s: list end offsets: %w", s.cfg.table, err)
				}
			}
			o, _ := ends.Lookup(k.topic, k.part)
			out[k] = o.Offset
		default:
			return nil, fmt.Errorf("kafka source %s: group '%s' has no committed offset for topic '%s' partition %d (set 'properties.auto.offset.reset' to 'earliest' or 'latest')",
				s.cfg.table, s.cfg.groupID, k.topic, k.part)
		}
	}
	return out, nil
}

// Next implements exec.Source. It returns within about pollTimeout when no
// data arrives.
func (s *Source) Next(b *types.Batch) (bool, error) {
	s.rowSplit = s.rowSplit[:0]
	if !s.started {
		if err := s.discover(true); err != nil {
			return false, err
		}
		s.started = true
	} else if s.cfg.discovery > 0 && time.Since(s.lastDisc) >= s.cfg.discovery {
		if err := s.discover(false); err != nil {
			return false, err
		}
	}
	if s.allDone() {
		return true, nil
	}
	if len(s.pending) == 0 {
		ctx, cancel := context.WithTimeout(s.tc.Ctx, pollTimeout)
		fs := s.cl.PollRecords(ctx, types.DefaultBatchSize)
		cancel()
		if err := s.fetchError(fs); err != nil {
			return false, err
		}
		s.pending = fs.Records()
	}
	n, limit := 0, types.DefaultBatchSize
	if s.dbz != nil || s.norm != nil {
		limit-- // an update adds two rows
	}
	for n < len(s.pending) && b.Len() < limit {
		rec := s.pending[n]
		n++
		if err := s.add(rec, b); err != nil {
			return false, err
		}
	}
	clear(s.pending[:n])
	s.pending = s.pending[n:]
	return s.allDone(), nil
}

// fetchError returns the first fatal fetch error; a poll that timed out
// is not one.
func (s *Source) fetchError(fs kgo.Fetches) error {
	var err error
	fs.EachError(func(t string, p int32, e error) {
		if err != nil || errors.Is(e, context.DeadlineExceeded) || errors.Is(e, context.Canceled) {
			return
		}
		err = fmt.Errorf("kafka source %s: fetch topic '%s' partition %d: %w", s.cfg.table, t, p, e)
	})
	if err == nil && s.tc.Ctx.Err() != nil {
		return s.tc.Ctx.Err()
	}
	return err
}

// add appends rec to b (unless it is a control record, past the bounded
// end or skipped as malformed) and advances its partition.
func (s *Source) add(rec *kgo.Record, b *types.Batch) error {
	st := s.parts[tp{rec.Topic, rec.Partition}]
	if st == nil || st.done || rec.Offset < st.next {
		return nil // not ours any more, or a duplicate after a seek
	}
	if st.stop >= 0 && rec.Offset >= st.stop {
		s.finish(rec.Topic, rec.Partition, st)
		return nil
	}
	switch {
	case rec.Attrs.IsControl():
	case s.norm != nil:
		if err := s.addUpsert(rec, b); err != nil {
			return err
		}
	case s.dbz != nil:
		if err := s.addChanges(rec, b); err != nil {
			return err
		}
	default:
		if err := s.appendRow(rec, rec.Attrs.TimestampType() == 1, types.Insert, b); err != nil {
			if err := s.parseError(rec, err); err != nil {
				return err
			}
		}
	}
	for len(s.rowSplit) < b.Len() {
		s.rowSplit = append(s.rowSplit, st.id)
	}
	st.next = rec.Offset + 1
	if st.stop >= 0 && st.next >= st.stop {
		s.finish(rec.Topic, rec.Partition, st)
	}
	return nil
}

// addChanges appends the rows of a Debezium change event (none for a
// tombstone) with their ops; a malformed event adds nothing.
func (s *Source) addChanges(rec *kgo.Record, b *types.Batch) error {
	var err error
	s.chg, err = s.dbz.changes(s.chg[:0], rec.Value)
	added := 0
	for _, c := range s.chg {
		if err != nil {
			break
		}
		r := b.Len()
		addSlot(b)
		err = s.dbz.row.fill(c.img, b, r)
		if err != nil {
			img := "before"
			if c.op == types.Insert || c.op == types.UpdateAfter {
				img = "after"
			}
			err = fmt.Errorf("'%s' image: %w", img, err)
		}
		if err == nil && s.keyDec != nil {
			if err = s.keyDec.fill(rec.Key, b, r); err != nil {
				err = fmt.Errorf("key: %w", err)
			}
		}
		if err == nil {
			err = s.fillMeta(rec, rec.Attrs.TimestampType() == 1, b, r)
		}
		if err != nil {
			dropSlot(b)
			break
		}
		b.Ops = append(b.Ops, c.op)
		added++
	}
	if err == nil {
		return nil
	}
	for ; added > 0; added-- { // the rows of a half-decoded update
		b.Ops = b.Ops[:len(b.Ops)-1]
		dropSlot(b)
	}
	if !s.cfg.format.ignoreErrors {
		return &ParseError{Table: s.cfg.table, Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset, Err: err}
	}
	s.skipped++
	return nil
}

// SplitOf implements ops.SplitSource: the split of a row is its
// partition, so the watermark assigner keeps a watermark per partition.
func (s *Source) SplitOf(row int) int32 { return s.rowSplit[row] }

// ActiveSplits implements ops.SplitSource: the owned partitions not read
// to their bounded end.
func (s *Source) ActiveSplits(dst []int32) []int32 {
	for _, st := range s.parts {
		if !st.done {
			dst = append(dst, st.id)
		}
	}
	return dst
}

func (s *Source) finish(topic string, part int32, st *partState) {
	st.done = true
	s.cl.RemoveConsumePartitions(map[string][]int32{topic: {part}})
}

func (s *Source) allDone() bool {
	if !s.cfg.boundedLatest || !s.started {
		return false
	}
	for _, st := range s.parts {
		if !st.done {
			return false
		}
	}
	return true
}

// fillMeta sets the METADATA columns of row r; logAppend is the record's
// timestamp type.
func (s *Source) fillMeta(rec *kgo.Record, logAppend bool, b *types.Batch, r int) error {
	for _, m := range s.meta {
		v := &b.Cols[m.col]
		switch m.key {
		case "topic":
			v.Str[r] = rec.Topic
		case "partition":
			v.I64[r] = int64(rec.Partition)
		case "offset":
			v.I64[r] = rec.Offset
		case "timestamp":
			v.I64[r] = rec.Timestamp.UnixMilli() * 1000
		case "timestamp-type":
			if logAppend {
				v.Str[r] = "LogAppendTime"
			} else {
				v.Str[r] = "CreateTime"
			}
		case "leader-epoch":
			v.I64[r] = int64(rec.LeaderEpoch)
		case "key":
			if rec.Key == nil {
				v.SetNull(r)
			} else {
				v.Str[r] = s.arena.str(rec.Key)
			}
		}
	}
	return nil
}

// Snapshot implements exec.Snapshotter: the next offset of every owned
// partition.
func (s *Source) Snapshot(id int64) ([]byte, error) {
	if !s.started { // a barrier before the first Next: assign first
		if err := s.discover(true); err != nil {
			return nil, err
		}
		s.started = true
	}
	if s.norm != nil {
		if err := s.norm.flush(); err != nil {
			return nil, fmt.Errorf("kafka source %s: flush the last records of keys: %w", s.cfg.table, err)
		}
	}
	snap := sourceSnapshot{Parallelism: s.tc.Parallelism, Offsets: map[string]map[int32]int64{}}
	offs := make(map[tp]int64, len(s.parts))
	for k, st := range s.parts {
		if snap.Offsets[k.topic] == nil {
			snap.Offsets[k.topic] = map[int32]int64{}
		}
		snap.Offsets[k.topic][k.part] = st.next
		offs[k] = st.next
	}
	if s.cfg.groupID != "" {
		s.snaps = append(s.snaps, pendingCommit{id, offs})
	}
	b, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("kafka source %s: encode snapshot: %w", s.cfg.table, err)
	}
	return b, nil
}

// NotifyCheckpointComplete implements exec.CheckpointListener: the offsets
// of checkpoint id are committed to 'properties.group.id', for monitoring
// (lag); Sluice itself restores from its checkpoints, never from the group.
// A failed commit is not an error: the next one covers it.
func (s *Source) NotifyCheckpointComplete(id int64) error {
	var last *pendingCommit
	i := 0
	for ; i < len(s.snaps) && s.snaps[i].id <= id; i++ {
		last = &s.snaps[i]
	}
	if last == nil {
		return nil
	}
	offs := kadm.Offsets{}
	for k, o := range last.offsets {
		offs.Add(kadm.Offset{Topic: k.topic, Partition: k.part, At: o, LeaderEpoch: -1})
	}
	s.snaps = append(s.snaps[:0], s.snaps[i:]...)
	ctx, cancel := context.WithTimeout(s.tc.Ctx, 5*time.Second)
	defer cancel()
	_, _ = s.adm.CommitOffsets(ctx, s.cfg.groupID, offs)
	return nil
}

// Skipped returns the number of malformed records skipped.
func (s *Source) Skipped() int64 { return s.skipped }

// Close implements exec.Source.
func (s *Source) Close() error {
	if s.cl != nil {
		s.cl.Close()
		s.cl = nil
	}
	return nil
}
