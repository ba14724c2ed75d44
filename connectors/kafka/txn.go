package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The exactly-once sink's transactions.
//
// Each sink subtask owns transactional ids '<prefix>-<subtask>-<slot>'.
// Rows between barriers n-1 and n go into one transaction T(n) on a free
// slot. At barrier n the sink flushes and pre-commits T(n): it records
// (transactional id, producer id, epoch) in checkpoint n's snapshot, with
// every other transaction still waiting for its commit. When checkpoint
// n completes, the transactions of checkpoints <= n are committed.
//
// A slot is reused only when no completed checkpoint can list its last
// transaction any more: after its commit, once a checkpoint whose snapshot
// was taken after that commit completes. So on recovery from checkpoint c,
// the slot of every transaction c lists has done nothing since, and a raw
// EndTxn(commit) with the recorded producer id and epoch commits it, or
// finds it committed already (a retry). Then every other slot id is
// initialised, which aborts what it left open.
//
// The pool is fixed: txnSlots ids per subtask, all initialised when the
// subtask starts (or restores) and never grown. So a frozen old instance
// (a zombie) that resumes later holds only clients whose ids the new
// instance has initialised since, which fences them; it never initialises
// an id itself and so cannot fence a transaction of the new instance. The
// slots a restored checkpoint lists are left alone until a checkpoint of
// the new instance completes (a recovery may have to commit them again),
// and are initialised as soon as they become free. Ids beyond the pool
// (left by an engine that used a larger one) are initialised at start too,
// up to the first id the broker did not know, which aborts their leftovers.
// When every slot is busy (checkpoints keep failing, so pre-committed
// transactions pile up) the sink fails with ErrTxnPoolExhausted and the
// restart recovers from the last completed checkpoint.

// txnSlots is the number of transactional ids per sink subtask: one open
// transaction, one committed transaction that the last completed checkpoint
// may still list, and pre-committed ones awaiting their checkpoint (one per
// concurrent checkpoint, plus two failed checkpoints in a row).
const txnSlots = 5

// ErrTxnPoolExhausted is returned when an exactly-once sink subtask has no
// free transactional id for the next transaction: too many pre-committed
// transactions wait for a checkpoint to complete. The job restarts from its
// last completed checkpoint.
var ErrTxnPoolExhausted = errors.New("every transactional id of the sink subtask is in use")

// slot states.
const (
	slotFree      = iota // initialised or never used, no transaction
	slotOpen             // a transaction is collecting rows
	slotPending          // pre-committed, waiting for its checkpoint
	slotCommitted        // committed; may still be listed by the last completed checkpoint
)

type slot struct {
	idx       int
	id        string
	cl        *kgo.Client // nil until needed
	state     int
	records   int64
	cp        int64 // checkpoint that pre-committed it
	pid       int64
	epoch     int16
	commitSeq int64 // last snapshot taken before the commit
}

// txnRecord is a pending transaction in a snapshot.
type txnRecord struct {
	ID         string `json:"id"`
	Slot       int    `json:"slot"`
	ProducerID int64  `json:"pid"`
	Epoch      int16  `json:"epoch"`
	Checkpoint int64  `json:"cp"`
}

type txnSnapshot struct {
	Subtask int         `json:"subtask"`
	Txns    []txnRecord `json:"txns"`
}

type txnPool struct {
	table   string
	prefix  string
	subtask int
	ctx     context.Context
	opts    []kgo.Opt

	slots    []*slot
	cur      *slot
	probed   bool
	lastSnap int64

	view listed // published for SHOW TRANSACTIONS (txnview.go)
}

func txnID(prefix string, subtask, slot int) string {
	return prefix + "-" + strconv.Itoa(subtask) + "-" + strconv.Itoa(slot)
}

// current returns the client of the open transaction, starting one.
func (p *txnPool) current() (*kgo.Client, error) {
	defer p.publish()
	if p.cur != nil {
		return p.cur.cl, nil
	}
	if !p.probed {
		if err := p.probe(p.subtask, nil, true); err != nil {
			return nil, err
		}
	}
	var sl *slot
	for _, x := range p.slots {
		if x.state == slotFree {
			sl = x
			break
		}
	}
	if sl == nil {
		return nil, fmt.Errorf("kafka sink %s: subtask %d: %w (%d ids, %d transactions pre-committed and waiting for a checkpoint to complete; checkpoints keep failing)",
			p.table, p.subtask, ErrTxnPoolExhausted, len(p.slots), len(p.pendingUpTo(1<<63-1)))
	}
	if sl.cl == nil {
		cl, _, err := p.initID(sl.id)
		if err != nil {
			return nil, err
		}
		sl.cl = cl
	}
	if err := sl.cl.BeginTransaction(); err != nil {
		return nil, fmt.Errorf("kafka sink %s: begin transaction %s: %w", p.table, sl.id, err)
	}
	sl.state, sl.records = slotOpen, 0
	p.cur = sl
	return sl.cl, nil
}

// initID creates a transactional client for id and initialises its
// producer id, which aborts any transaction id left open. It returns the
// epoch it got: 0 when the broker did not know id.
func (p *txnPool) initID(id string) (*kgo.Client, int16, error) {
	cl, err := kgo.NewClient(append(p.opts[:len(p.opts):len(p.opts)], kgo.TransactionalID(id))...)
	if err != nil {
		return nil, 0, fmt.Errorf("kafka sink %s: create transactional client %s: %w", p.table, id, err)
	}
	ctx, cancel := context.WithTimeout(p.ctx, adminTimeout)
	defer cancel()
	_, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		cl.Close()
		return nil, 0, fmt.Errorf("kafka sink %s: initialise transactional id %s: %w", p.table, id, err)
	}
	return cl, epoch, nil
}

// probe initialises the ids of subtask sub: slots 0 to txnSlots-1 except
// the listed ones, then ids beyond the pool up to the first one the broker
// did not know (epoch 0), which aborts what earlier, larger pools left
// open. With keep, the clients of the pool's slots become this pool's free
// slots; every other client is closed.
func (p *txnPool) probe(sub int, listed map[int]bool, keep bool) error {
	if keep {
		for len(p.slots) < txnSlots {
			n := len(p.slots)
			p.slots = append(p.slots, &slot{idx: n, id: txnID(p.prefix, sub, n)})
		}
	}
	for k := 0; ; k++ {
		if listed[k] {
			continue
		}
		if keep && k < len(p.slots) && p.slots[k].cl != nil {
			continue
		}
		cl, epoch, err := p.initID(txnID(p.prefix, sub, k))
		if err != nil {
			return err
		}
		if keep && k < txnSlots {
			p.slots[k].cl = cl
		} else {
			cl.Close()
		}
		if epoch == 0 && k >= txnSlots-1 {
			break
		}
	}
	if keep {
		p.probed = true
	}
	return nil
}

// preCommit ends the open transaction's part of checkpoint id (the caller
// has flushed it) and returns the snapshot listing the pending ones.
func (p *txnPool) preCommit(id int64) ([]byte, error) {
	defer p.publish()
	p.lastSnap = id
	if c := p.cur; c != nil && c.records > 0 {
		ctx, cancel := context.WithTimeout(p.ctx, adminTimeout)
		pid, epoch, err := c.cl.ProducerID(ctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("kafka sink %s: pre-commit transaction %s for checkpoint %d: %w", p.table, c.id, id, err)
		}
		c.state, c.cp, c.pid, c.epoch = slotPending, id, pid, epoch
		p.cur = nil
	}
	snap := txnSnapshot{Subtask: p.subtask}
	for _, sl := range p.pendingUpTo(1<<63 - 1) {
		snap.Txns = append(snap.Txns, txnRecord{ID: sl.id, Slot: sl.idx, ProducerID: sl.pid, Epoch: sl.epoch, Checkpoint: sl.cp})
	}
	b, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("kafka sink %s: encode snapshot: %w", p.table, err)
	}
	return b, nil
}

// pendingUpTo returns the pre-committed slots of checkpoints <= id, oldest first.
func (p *txnPool) pendingUpTo(id int64) []*slot {
	var out []*slot
	for _, sl := range p.slots {
		if sl.state == slotPending && sl.cp <= id {
			out = append(out, sl)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].cp < out[j].cp })
	return out
}

// commitUpTo commits the transactions of checkpoints <= id and returns
// how many it committed.
func (p *txnPool) commitUpTo(id int64) (int, error) {
	defer p.publish()
	for _, sl := range p.slots {
		if sl.state == slotCommitted && sl.commitSeq < id {
			sl.state = slotFree
			if sl.cl == nil {
				// Listed by the checkpoint restored from and not
				// listed by any completed one since: initialise it
				// now, fencing an old instance that still holds it.
				cl, _, err := p.initID(sl.id)
				if err != nil {
					return 0, err
				}
				sl.cl = cl
			}
		}
	}
	n := 0
	for _, sl := range p.pendingUpTo(id) {
		ctx, cancel := context.WithTimeout(p.ctx, adminTimeout)
		err := sl.cl.EndTransaction(ctx, kgo.TryCommit)
		cancel()
		if err != nil {
			return n, fmt.Errorf("kafka sink %s: commit transaction %s of checkpoint %d (producer id %d, epoch %d) failed, %w of that checkpoint: %w",
				p.table, sl.id, sl.cp, sl.pid, sl.epoch, ErrPossibleDataLoss, err)
		}
		sl.state, sl.commitSeq = slotCommitted, p.lastSnap
		n++
	}
	return n, nil
}

// commitOpen commits the open transaction directly (no checkpoints).
func (p *txnPool) commitOpen() error {
	defer p.publish()
	c := p.cur
	if c == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(p.ctx, adminTimeout)
	defer cancel()
	if err := c.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("kafka sink %s: commit transaction %s: %w", p.table, c.id, err)
	}
	c.state, p.cur = slotFree, nil
	return nil
}

// restore commits the transactions that checkpoint id lists (raw EndTxn
// requests: no producer may be initialised on their ids first, as that
// would abort them), then initialises the other ids of the subtasks whose
// snapshots it got, aborting their leftovers.
func (p *txnPool) restore(id int64, snaps [][]byte) error {
	defer p.publish()
	cl, err := kgo.NewClient(p.opts...)
	if err != nil {
		return fmt.Errorf("kafka sink %s: create client: %w", p.table, err)
	}
	defer cl.Close()
	listed := map[int]map[int]bool{p.subtask: {}}
	for _, b := range snaps {
		var snap txnSnapshot
		if err := json.Unmarshal(b, &snap); err != nil {
			return fmt.Errorf("kafka sink %s: decode snapshot of checkpoint %d: %w", p.table, id, err)
		}
		if listed[snap.Subtask] == nil {
			listed[snap.Subtask] = map[int]bool{}
		}
		for _, t := range snap.Txns {
			if err := p.commitRaw(cl, id, t); err != nil {
				return err
			}
			listed[snap.Subtask][t.Slot] = true
		}
	}
	for k := range listed[p.subtask] {
		if k >= txnSlots {
			continue // committed above; a larger pool of an earlier version
		}
		for len(p.slots) <= k {
			n := len(p.slots)
			p.slots = append(p.slots, &slot{idx: n, id: txnID(p.prefix, p.subtask, n)})
		}
		p.slots[k].state, p.slots[k].commitSeq = slotCommitted, id
	}
	p.lastSnap = id
	subs := make([]int, 0, len(listed))
	for sub := range listed {
		subs = append(subs, sub)
	}
	sort.Ints(subs)
	for _, sub := range subs {
		if err := p.probe(sub, listed[sub], sub == p.subtask); err != nil {
			return err
		}
	}
	return nil
}

// commitRaw commits one recorded transaction with an EndTxn request.
// Success, or a retry of a commit that already happened, is fine; anything
// else means the transaction was aborted (timeout, broker loss) or its id
// reused, and its records are lost.
func (p *txnPool) commitRaw(cl *kgo.Client, id int64, t txnRecord) error {
	ctx, cancel := context.WithTimeout(p.ctx, adminTimeout)
	defer cancel()
	req := kmsg.NewPtrEndTxnRequest()
	req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = t.ID, t.ProducerID, t.Epoch, true
	var resp *kmsg.EndTxnResponse
	var err error
	for attempt := 0; ; attempt++ {
		resp, err = req.RequestWith(ctx, cl)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		// A coordinator that is loading or busy finishing the
		// transaction answers with a retriable error.
		if err == nil || attempt >= 20 || !(errors.Is(err, kerr.ConcurrentTransactions) ||
			errors.Is(err, kerr.CoordinatorLoadInProgress) || errors.Is(err, kerr.NotCoordinator) ||
			errors.Is(err, kerr.CoordinatorNotAvailable)) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err != nil {
		return fmt.Errorf("kafka sink %s: recovering from checkpoint %d: transaction %s of checkpoint %d (producer id %d, epoch %d) cannot be committed, %w (aborted by the broker, e.g. transaction.timeout.ms exceeded or a broker crash): %w",
			p.table, id, t.ID, t.Checkpoint, t.ProducerID, t.Epoch, ErrPossibleDataLoss, err)
	}
	return nil
}

// close aborts the open transaction and closes every client; pending
// transactions stay for the next restore to commit.
func (p *txnPool) close() {
	if c := p.cur; c != nil && c.cl != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if c.cl.AbortBufferedRecords(ctx) == nil {
			_ = c.cl.EndTransaction(ctx, kgo.TryAbort)
		}
		cancel()
	}
	p.cur = nil
	for _, sl := range p.slots {
		if sl.cl != nil {
			sl.cl.Close()
			sl.cl = nil
		}
	}
}
