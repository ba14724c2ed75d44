package exec

import (
	"github.com/sluicesql/sluice/exec/types"
)

// The sending side of a subtask.
//
// output is the last Collector of a chain. It owns one edgeWriter per
// outgoing edge; a batch goes to every edge (copied for all but the last,
// since receivers own what they get). Control messages (barriers,
// watermarks, end of stream) go to every channel of every edge.
//
// Everything here runs on the sending subtask's goroutine. Every send
// selects on the job's context, so a stopping job never leaves a sender
// blocked; a batch that could not be sent is released.

type output struct {
	job     *Job
	writers []edgeWriter
	lastWM  int64
}

// edgeWriter distributes the batches of one subtask over one edge.
type edgeWriter interface {
	// write sends b (taking ownership) to one or more downstream subtasks.
	write(b *types.Batch) error
	// channels lists the channels to downstream subtasks.
	channels() []chan Message
}

func (o *output) Collect(b *types.Batch) error {
	if b.Len() == 0 || len(o.writers) == 0 {
		b.Release()
		return nil
	}
	last := len(o.writers) - 1
	for _, w := range o.writers[:last] {
		if err := w.write(copyOf(b)); err != nil {
			b.Release()
			return err
		}
	}
	return o.writers[last].write(b)
}

func (o *output) EmitWatermark(wm int64) error {
	if wm <= o.lastWM {
		return nil
	}
	o.lastWM = wm
	return o.broadcast(Message{Kind: MsgWatermark, Watermark: wm})
}

// broadcast sends a control message on every outgoing channel.
func (o *output) broadcast(m Message) error {
	for _, w := range o.writers {
		for _, ch := range w.channels() {
			if err := o.job.send(ch, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// send sends m on ch unless the job stops first; then it releases m's
// batch and returns ErrStopping.
func (j *Job) send(ch chan Message, m Message) error {
	select {
	case ch <- m:
		return nil
	case <-j.ctx.Done():
		if m.Batch != nil {
			m.Batch.Release()
		}
		return ErrStopping
	}
}

func copyOf(b *types.Batch) *types.Batch {
	c := types.NewBatch(nil)
	CopyBatch(c, b)
	return c
}

// newEdgeWriter returns the writer for edge e of subtask st; targets[d] is
// the channel to downstream subtask d, nil when not connected.
func newEdgeWriter(j *Job, e *Edge, st *subtask, targets []chan Message) edgeWriter {
	var chs []chan Message
	for _, ch := range targets {
		if ch != nil {
			chs = append(chs, ch)
		}
	}
	switch {
	case len(chs) == 1:
		return &forwardWriter{job: j, chs: chs}
	case e.Exchange == Hash:
		return newHashWriter(j, e.KeyCols, targets)
	case e.Exchange == Broadcast:
		return &broadcastWriter{job: j, chs: chs}
	default: // Rebalance
		return &rebalanceWriter{job: j, chs: chs, next: st.idx % len(chs)}
	}
}

// forwardWriter serves Forward, Single and any edge with one receiver.
type forwardWriter struct {
	job *Job
	chs []chan Message
}

func (w *forwardWriter) write(b *types.Batch) error {
	return w.job.send(w.chs[0], Message{Kind: MsgBatch, Batch: b})
}

func (w *forwardWriter) channels() []chan Message { return w.chs }

// rebalanceWriter sends whole batches round-robin.
type rebalanceWriter struct {
	job  *Job
	chs  []chan Message
	next int
}

func (w *rebalanceWriter) write(b *types.Batch) error {
	ch := w.chs[w.next]
	w.next++
	if w.next == len(w.chs) {
		w.next = 0
	}
	return w.job.send(ch, Message{Kind: MsgBatch, Batch: b})
}

func (w *rebalanceWriter) channels() []chan Message { return w.chs }

// broadcastWriter sends every batch to every receiver.
type broadcastWriter struct {
	job *Job
	chs []chan Message
}

func (w *broadcastWriter) write(b *types.Batch) error {
	last := len(w.chs) - 1
	for _, ch := range w.chs[:last] {
		if err := w.job.send(ch, Message{Kind: MsgBatch, Batch: copyOf(b)}); err != nil {
			b.Release()
			return err
		}
	}
	return w.job.send(w.chs[last], Message{Kind: MsgBatch, Batch: b})
}

func (w *broadcastWriter) channels() []chan Message { return w.chs }

// hashWriter splits each batch by the key group of its key columns.
//
// Per batch: hash the key columns column-at-a-time, map each row to its
// subtask through a key group table, collect the row indexes per target,
// then gather each target's rows column-wise into a pooled batch (at most
// BatchSize rows each) and send it. A batch whose rows all go to one target
// is sent as it is. Scratch slices are reused, so steady state does not
// allocate.
type hashWriter struct {
	job     *Job
	keyCols []int
	chs     []chan Message // by downstream subtask
	owner   []int32        // key group → downstream subtask
	maxPar  uint64
	hashes  []uint64
	rows    [][]int32 // row indexes per target
	ts      []types.Type
}

func newHashWriter(j *Job, keyCols []int, chs []chan Message) *hashWriter {
	w := &hashWriter{job: j, keyCols: keyCols, chs: chs, maxPar: uint64(j.maxPar)}
	w.owner = make([]int32, j.maxPar)
	for kg := range w.owner {
		w.owner[kg] = int32(SubtaskForKeyGroup(kg, len(chs), j.maxPar))
	}
	w.rows = make([][]int32, len(chs))
	return w
}

func (w *hashWriter) write(b *types.Batch) error {
	n := b.Len()
	w.hashes = HashColumns(b, w.keyCols, w.hashes)
	for t := range w.rows {
		w.rows[t] = w.rows[t][:0]
	}
	for i, h := range w.hashes {
		t := w.owner[KeyGroup(h, int(w.maxPar))]
		w.rows[t] = append(w.rows[t], int32(i))
	}
	for t, rs := range w.rows {
		if len(rs) == n {
			return w.job.send(w.chs[t], Message{Kind: MsgBatch, Batch: b})
		}
	}
	w.ts = w.ts[:0]
	for c := range b.Cols {
		w.ts = append(w.ts, b.Cols[c].Type)
	}
	size := w.job.opts.BatchSize
	for t, rs := range w.rows {
		for len(rs) > 0 {
			k := min(len(rs), size)
			nb := types.NewBatch(w.ts)
			AppendRows(nb, b, rs[:k])
			rs = rs[k:]
			if err := w.job.send(w.chs[t], Message{Kind: MsgBatch, Batch: nb}); err != nil {
				b.Release()
				return err
			}
		}
	}
	b.Release()
	return nil
}

func (w *hashWriter) channels() []chan Message { return w.chs }
