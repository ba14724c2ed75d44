package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicesql/sluice/checkpoint/crash"
	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// ErrPossibleDataLoss marks a failure after which records of a completed
// checkpoint may never become visible: a pre-committed transaction that
// could not be committed (aborted by a transaction timeout, fenced, or lost
// by the broker). It is never swallowed.
// It wraps exec.ErrUnrecoverable: a restart would fail the same way, so the
// job fails at once instead of retrying.
var ErrPossibleDataLoss = fmt.Errorf("possible data loss (%w)", exec.ErrUnrecoverable)

// sink writes rows to one topic. See the package documentation for the
// delivery guarantees and the exactly-once protocol.
type sink struct {
	cfg     *config
	topic   string
	enc     encoder
	keyEnc  encoder // nil: records have no key
	req     connectors.SinkRequest
	subtask int

	tc       *exec.TaskContext
	cl       *kgo.Client // none / at-least-once
	nparts   int32       // partitions of the topic (fixed partitioner)
	buf      []byte
	promise  func(*kgo.Record, error)
	errMu    sync.Mutex
	firstErr error

	txn     *txnPool // exactly-once
	claimed bool     // the transactional-id prefix is registered (claimPrefix)
}

func (s *sink) Open(tc *exec.TaskContext) error {
	s.tc, s.subtask = tc, tc.Subtask
	s.promise = s.onProduced
	opts, err := s.cfg.producerOpts()
	if err != nil {
		return err
	}
	switch s.cfg.partitioner {
	case partFixed:
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err := s.loadPartitions(opts); err != nil {
			return err
		}
	case partRoundRobin:
		opts = append(opts, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	}
	if s.cfg.delivery == deliveryExactlyOnce {
		if err := claimPrefix(s.cfg.txnPrefix, s.req.JobID, s.cfg.table); err != nil {
			return err
		}
		s.claimed = true
		s.txn = &txnPool{table: s.cfg.table, prefix: s.cfg.txnPrefix, subtask: tc.Subtask, ctx: tc.Ctx,
			opts: append(opts, kgo.TransactionTimeout(s.cfg.txnTimeout))}
		s.txn.register(s.req.JobID)
		return nil
	}
	if s.cl, err = kgo.NewClient(opts...); err != nil {
		return fmt.Errorf("kafka sink %s: create client: %w", s.cfg.table, err)
	}
	return nil
}

// loadPartitions reads the topic's partition count for the fixed
// partitioner (subtask s writes to partition s mod count).
func (s *sink) loadPartitions(opts []kgo.Opt) error {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka sink %s: create client: %w", s.cfg.table, err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(s.tc.Ctx, adminTimeout)
	defer cancel()
	d, err := kadm.NewClient(cl).ListTopics(ctx, s.topic)
	if err == nil {
		err = d.Error()
	}
	if err != nil {
		return fmt.Errorf("kafka sink %s: topic '%s' metadata: %w", s.cfg.table, s.topic, err)
	}
	s.nparts = int32(len(d[s.topic].Partitions))
	if s.nparts == 0 {
		return fmt.Errorf("kafka sink %s: topic '%s' has no partitions", s.cfg.table, s.topic)
	}
	return nil
}

func (s *sink) onProduced(r *kgo.Record, err error) {
	if err == nil {
		return
	}
	s.errMu.Lock()
	if s.firstErr == nil {
		s.firstErr = fmt.Errorf("kafka sink %s: produce to topic '%s' partition %d: %w", s.cfg.table, r.Topic, r.Partition, err)
	}
	s.errMu.Unlock()
}

func (s *sink) produceErr() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.firstErr
}

// Process implements exec.Operator.
func (s *sink) Process(b *types.Batch, _ exec.Collector) error {
	defer b.Release()
	if err := s.produceErr(); err != nil {
		return err
	}
	cl := s.cl
	if s.txn != nil {
		var err error
		if cl, err = s.txn.current(); err != nil {
			return err
		}
	}
	n := int64(0)
	for i := 0; i < b.Len(); i++ {
		var val []byte
		switch op := b.Ops[i]; {
		case op == types.Insert || (s.cfg.upsert && op == types.UpdateAfter):
			var err error
			val, err = s.enc.encode(nil, b, i)
			if err != nil && !errors.Is(err, errRawNull) {
				return fmt.Errorf("kafka sink %s: encode row: %w", s.cfg.table, err)
			}
		case s.cfg.upsert && op == types.UpdateBefore:
			continue // the UpdateAfter with the same key overwrites it
		case s.cfg.upsert && op == types.Delete:
			// A tombstone: the key with a null value.
		default:
			return fmt.Errorf("kafka sink %s: the 'kafka' connector writes inserts only, got %s (use 'upsert-kafka' for an updating result)", s.cfg.table, op)
		}
		rec := &kgo.Record{Topic: s.topic, Value: val}
		if s.keyEnc != nil {
			key, err := s.keyEnc.encode(nil, b, i)
			if err != nil {
				return fmt.Errorf("kafka sink %s: encode key: %w", s.cfg.table, err)
			}
			rec.Key = key
		}
		n++
		if s.cfg.partitioner == partFixed {
			rec.Partition = int32(s.subtask) % s.nparts
		}
		cl.Produce(s.tc.Ctx, rec, s.promise)
	}
	if s.txn != nil {
		s.txn.cur.records += n
		s.txn.publish()
	}
	return nil
}

// flush waits for every produced record and returns the first failure.
func (s *sink) flush(cl *kgo.Client) error {
	if err := cl.Flush(s.tc.Ctx); err != nil {
		return fmt.Errorf("kafka sink %s: flush: %w", s.cfg.table, err)
	}
	return s.produceErr()
}

// Snapshot implements exec.Snapshotter. at-least-once flushes, so that the
// checkpoint covers every record before the barrier; exactly-once flushes
// and pre-commits the open transaction and returns the pending ones.
func (s *sink) Snapshot(id int64) ([]byte, error) {
	switch {
	case s.txn != nil:
		if c := s.txn.cur; c != nil && c.records > 0 {
			if err := s.flush(c.cl); err != nil {
				return nil, err
			}
		}
		return s.txn.preCommit(id)
	case s.cfg.delivery == deliveryAtLeastOnce:
		return nil, s.flush(s.cl)
	}
	return nil, nil
}

// NotifyCheckpointComplete implements exec.CheckpointListener: commits the
// transactions pre-committed at checkpoints <= id.
func (s *sink) NotifyCheckpointComplete(id int64) error {
	if s.txn == nil {
		return nil
	}
	n, err := s.txn.commitUpTo(id)
	if err != nil {
		return err
	}
	if n > 0 {
		crash.Point("after-commit", id)
	}
	return nil
}

// Restore implements exec.Restorer: commits the transactions checkpoint id
// lists, then aborts whatever this job's transactional ids left open.
func (s *sink) Restore(id int64, snaps [][]byte) error {
	if s.txn == nil {
		return nil
	}
	return s.txn.restore(id, snaps)
}

// Finish implements exec.Finisher. Without checkpoints the sink commits
// (or flushes) everything at the end of its input; with them the final
// checkpoint does.
func (s *sink) Finish(exec.Collector) error {
	if s.tc.Checkpointing || s.req.Checkpointing.Enabled {
		return nil
	}
	if s.txn == nil {
		return s.flush(s.cl)
	}
	if c := s.txn.cur; c != nil && c.records > 0 {
		if err := s.flush(c.cl); err != nil {
			return err
		}
	}
	return s.txn.commitOpen()
}

// Close implements exec.Closer. An open (not pre-committed) transaction is
// aborted; pre-committed ones are left for the restore to commit.
func (s *sink) Close() error {
	if s.cl != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = s.cl.Flush(ctx)
		cancel()
		s.cl.Close()
		s.cl = nil
	}
	if s.txn != nil {
		s.txn.unregister()
		s.txn.close()
	}
	if s.claimed {
		releasePrefix(s.cfg.txnPrefix, s.req.JobID, s.cfg.table)
		s.claimed = false
	}
	return nil
}
