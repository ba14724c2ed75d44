package kafka

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/sluicesql/sluice/connectors"
)

// The transactions of this process's exactly-once sink subtasks, for
// SHOW TRANSACTIONS FOR JOB. Each pool publishes a copy of its open and
// pre-committed transactions after every change (publish), so listing
// them never touches a pool's state from another goroutine.
var openPools = struct {
	sync.Mutex
	m map[*txnPool]string // pool → job id
}{m: map[*txnPool]string{}}

// listed is one pool's published transactions.
type listed struct {
	txns atomic.Pointer[[]connectors.TxnInfo]
}

// register makes the pool's transactions visible under job.
func (p *txnPool) register(job string) {
	openPools.Lock()
	openPools.m[p] = job
	openPools.Unlock()
	p.publish()
}

// unregister hides the pool (its sink subtask closed).
func (p *txnPool) unregister() {
	openPools.Lock()
	delete(openPools.m, p)
	openPools.Unlock()
}

// publish records the pool's open and pre-committed transactions.
func (p *txnPool) publish() {
	var out []connectors.TxnInfo
	for _, sl := range p.slots {
		var state string
		switch sl.state {
		case slotOpen:
			state = "OPEN"
		case slotPending:
			state = "PRE-COMMITTED"
		default:
			continue
		}
		t := connectors.TxnInfo{Table: p.table, Subtask: p.subtask, ID: sl.id, State: state,
			ProducerID: sl.pid, Epoch: sl.epoch, Records: sl.records}
		if sl.state == slotPending {
			t.Checkpoint = sl.cp
		}
		out = append(out, t)
	}
	p.view.txns.Store(&out)
}

// Transactions implements connectors.TransactionLister: the open and
// pre-committed transactions of job's exactly-once Kafka sink subtasks
// running in this process, by table, subtask and transactional id.
func (Connector) Transactions(job string) []connectors.TxnInfo {
	openPools.Lock()
	var out []connectors.TxnInfo
	for p, j := range openPools.m {
		if j != job {
			continue
		}
		if ts := p.view.txns.Load(); ts != nil {
			out = append(out, *ts...)
		}
	}
	openPools.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		if a.Subtask != b.Subtask {
			return a.Subtask < b.Subtask
		}
		return a.ID < b.ID
	})
	return out
}
