package exec

import (
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"time"

	"github.com/sluicesql/sluice/checkpoint/crash"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// subtask runs one parallel instance of a vertex on its own goroutine:
//
//	source.Next ─┐
//	             ├─▶ link(op0) ─▶ link(op1) ─▶ … ─▶ output ─▶ edge writers ─▶ channels
//	inputs.recv ─┘
//
// Lifecycle: build and Open the source and operators; loop (source: Next
// until end; otherwise receive until every input ended), handling barriers,
// watermarks and controls between batches; Finish every operator in chain
// order; send end of stream; Close everything exactly once, whatever
// happened. A panic anywhere is recovered into a *PanicError. When op0 is a
// MultiInputOperator, batches from the inputs bypass link(op0) and go to
// op0.ProcessInput with the index of their edge; an EndInputListener op0
// hears about each edge whose channels have all ended. Every operator
// is opened with its own copy of the TaskContext (OperatorIndex = k).
type subtask struct {
	job    *Job
	vid    int
	idx    int
	vertex *Vertex
	tc     TaskContext

	src   Source
	ops   []Operator
	links []WatermarkCollector // links[k] feeds ops[k]; links[len(ops)] is out
	out   *output
	sink  bool // no downstream vertices: acknowledges barriers

	inputs    []chan Message // set by Job.wire
	inputEdge []int          // inputs[i] belongs to edge inputEdge[i] of vertex.Inputs
	in        *inputs
	edgeOpen  []int // channels per edge that have not ended

	opTCs []TaskContext      // opTCs[k] is ops[k]'s TaskContext
	multi MultiInputOperator // ops[0] when it tells inputs apart
	endIn EndInputListener   // ops[0]'s capability, nil if absent
	mail  mailbox
	ctl   []control

	align   *alignMember // the source's watermark alignment group, if any
	finalID int64        // id of the Final barrier this subtask forwarded, 0 if none
	done    int64        // highest checkpoint id notified complete

	// End of data (FinalCheckpoint): eod[i] is set once channel i sent
	// MsgEndOfData or ended; finished once the operators' Finish ran.
	eod      []bool
	nEOD     int
	finished bool
}

func newSubtask(j *Job, vi, i int) *subtask {
	v := &j.graph.Vertices[vi]
	st := &subtask{job: j, vid: vi, idx: i, vertex: v}
	st.tc = TaskContext{
		Ctx: j.ctx, JobID: j.opts.JobID, VertexID: vi,
		Subtask: i, Parallelism: v.Parallelism, MaxParallelism: j.maxPar,
		State: j.opts.State, OperatorIndex: -1,
		Checkpointing: j.opts.StartTs != 0,
	}
	if j.opts.StartTs != 0 && j.opts.State != nil {
		st.tc.Epoch = state.NewEpoch(j.opts.StartTs)
		// Keyed state is written back in the background at barriers; the
		// acknowledgement waits for it (see checkpoint).
		st.tc.Epoch.SetAsync(true)
	}
	st.out = &output{job: j, lastWM: math.MinInt64}
	st.mail.notify = make(chan struct{}, 1)
	return st
}

func (st *subtask) run() {
	defer st.job.wg.Done()
	if err := st.runAndClose(); err != nil {
		if !errors.Is(err, ErrStopping) {
			err = &SubtaskError{Vertex: st.vertex.Name, Subtask: st.idx, Err: err}
		}
		st.job.fail(err)
		return
	}
	if f := st.job.opts.OnSubtaskFinished; f != nil {
		f(st.vid, st.idx)
	}
}

func (st *subtask) runAndClose() (err error) {
	defer func() {
		if cerr := st.closeAll(); err == nil {
			err = cerr
		}
	}()
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	if err := st.open(); err != nil {
		return err
	}
	if err := st.restore(); err != nil {
		return err
	}
	if err := st.start(); err != nil {
		return err
	}
	if st.src != nil {
		err = st.runSource()
	} else {
		err = st.runInputs()
	}
	if err != nil {
		return err
	}
	if err := st.finish(); err != nil {
		return err
	}
	return st.awaitFinal()
}

// sourceIdle tells every chained operator that listens that the source
// had nothing to read.
func (st *subtask) sourceIdle() error {
	now := time.Now()
	for k, op := range st.ops {
		if l, ok := op.(SourceIdleListener); ok {
			if err := l.SourceIdle(now, st.links[k+1]); err != nil {
				return fmt.Errorf("operator %d: source idle: %w", k, err)
			}
		}
	}
	return nil
}

// restore hands the source and every Restorer operator its snapshots when
// the job is recovered from a checkpoint.
func (st *subtask) restore() error {
	r := st.job.opts.Restore
	if r == nil || r.Snapshots == nil {
		return nil
	}
	if rs, ok := st.src.(Restorer); ok {
		if err := rs.Restore(r.CheckpointID, r.Snapshots(st.vid, st.idx, -1)); err != nil {
			return fmt.Errorf("restore source from checkpoint %d: %w", r.CheckpointID, err)
		}
	}
	for k, op := range st.ops {
		if rs, ok := op.(Restorer); ok {
			if err := rs.Restore(r.CheckpointID, r.Snapshots(st.vid, st.idx, k)); err != nil {
				return fmt.Errorf("restore operator %d from checkpoint %d: %w", k, r.CheckpointID, err)
			}
		}
	}
	return nil
}

// awaitFinal waits, after end of stream was sent, until the Final
// checkpoint this subtask took part in is complete (and its listeners
// notified), so that sinks commit before the job ends.
func (st *subtask) awaitFinal() error {
	for st.finalID != 0 && st.done < st.finalID {
		if err := st.waitControls(nil); err != nil {
			return err
		}
	}
	return nil
}

// waitControls blocks until controls arrive, which it handles, wake is
// closed or the job stops (ErrStopping). A nil wake never wakes.
func (st *subtask) waitControls(wake <-chan struct{}) error {
	select {
	case <-st.job.ctx.Done():
		return ErrStopping
	case <-st.mail.notify:
		return st.handleControls()
	case <-wake:
		return nil
	}
}

// awaitFinalBarrier is where a source subtask that reached its end waits
// (with FinalCheckpoint) until it has forwarded the Final barrier,
// answering other barriers at its end position meanwhile.
func (st *subtask) awaitFinalBarrier() error {
	if f := st.job.opts.OnSourceEnded; f != nil {
		f(st.vid, st.idx)
	}
	for st.finalID == 0 {
		if err := st.waitControls(nil); err != nil {
			return err
		}
	}
	return nil
}

func (st *subtask) open() error {
	v := st.vertex
	if v.Source != nil {
		src, err := v.Source(st.idx)
		if err != nil {
			return fmt.Errorf("create source: %w", err)
		}
		if src == nil {
			return errors.New("create source: factory returned nil")
		}
		st.src = src
	}
	for k, f := range v.Ops {
		op, err := f(st.idx)
		if err != nil {
			return fmt.Errorf("create operator %d: %w", k, err)
		}
		if op == nil {
			return fmt.Errorf("create operator %d: factory returned nil", k)
		}
		st.ops = append(st.ops, op)
	}
	st.links = make([]WatermarkCollector, len(st.ops)+1)
	st.links[len(st.ops)] = st.out
	for k := len(st.ops) - 1; k >= 0; k-- {
		l := &link{op: st.ops[k], next: st.links[k+1]}
		l.wm, _ = st.ops[k].(WatermarkHandler)
		st.links[k] = l
	}
	if len(v.Inputs) > 0 && len(st.ops) > 0 {
		st.multi, _ = st.ops[0].(MultiInputOperator)
		st.endIn, _ = st.ops[0].(EndInputListener)
	}
	if st.multi == nil && mixedInputTypes(v) {
		return errors.New("the inputs differ in types but operator 0 is not a MultiInputOperator")
	}
	if st.src != nil {
		if err := st.src.Open(&st.tc); err != nil {
			return fmt.Errorf("open source: %w", err)
		}
	}
	st.opTCs = make([]TaskContext, len(st.ops))
	for k, op := range st.ops {
		st.opTCs[k] = st.tc
		st.opTCs[k].OperatorIndex = k
		if o, ok := op.(Opener); ok {
			if err := o.Open(&st.opTCs[k]); err != nil {
				return fmt.Errorf("open operator %d: %w", k, err)
			}
		}
	}
	return nil
}

// start calls Start on every Starter operator in chain order; what one
// emits flows through the rest of the chain.
func (st *subtask) start() error {
	for k, op := range st.ops {
		if s, ok := op.(Starter); ok {
			if err := s.Start(st.links[k+1]); err != nil {
				return fmt.Errorf("start operator %d: %w", k, err)
			}
		}
	}
	return nil
}

// runSource pulls batches from the source until it ends, handling controls
// (barrier injection, checkpoint completion) between batches.
func (st *subtask) runSource() error {
	stop := st.job.ctx.Done()
	ts := st.vertex.InTypes
	var b *types.Batch
	defer func() { b.Release() }()
	defer st.alignReport(false, true) // an ended or failed source holds no one back
	for {
		select {
		case <-stop:
			return ErrStopping
		case <-st.mail.notify:
			if err := st.handleControls(); err != nil {
				return err
			}
		default:
		}
		if err := st.awaitAlignment(); err != nil {
			return err
		}
		if b == nil {
			b = types.NewBatch(ts)
		} else {
			b.Reset(ts)
		}
		end, err := st.src.Next(b)
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		if b.Len() == 0 && !end {
			if err := st.sourceIdle(); err != nil {
				return err
			}
		}
		rows := b.Len() > 0
		if rows {
			full := b
			b = nil
			if err := st.links[0].Collect(full); err != nil {
				return err
			}
		}
		st.alignReport(rows, end)
		if end {
			if st.job.opts.FinalCheckpoint {
				if err := st.endOfData(); err != nil {
					return err
				}
				return st.awaitFinalBarrier()
			}
			return nil
		}
	}
}

// runInputs receives from the input channels until every input ended.
func (st *subtask) runInputs() error {
	st.in = newInputs(st.inputs, st.job.opts.Mode)
	st.edgeOpen = make([]int, len(st.vertex.Inputs))
	for _, e := range st.inputEdge {
		st.edgeOpen[e]++
	}
	stop := st.job.ctx.Done()
	for !st.in.done() {
		i, m, ev := st.in.recv(stop, st.mail.notify)
		switch ev {
		case evStop:
			return ErrStopping
		case evControl:
			if err := st.handleControls(); err != nil {
				return err
			}
			continue
		}
		var err error
		switch m.Kind {
		case MsgBatch:
			if st.multi != nil {
				err = st.processInput(i, m.Batch)
			} else {
				err = st.links[0].Collect(m.Batch)
			}
		case MsgWatermark:
			if st.in.onWatermark(i, m.Watermark) {
				err = st.links[0].EmitWatermark(st.in.wm)
			}
		case MsgBarrier:
			if st.in.onBarrier(i, m.Barrier) {
				err = st.checkpoint(st.in.barrier)
			}
		case MsgEndOfData:
			err = st.channelEOD(i)
		case MsgEnd:
			first := !st.in.ended[i]
			aligned, advanced := st.in.onEnd(i)
			if first && !st.eodOf(i) {
				err = st.endOfChannel(i)
			}
			if err == nil && first {
				err = st.channelEOD(i)
			}
			if err == nil && aligned {
				err = st.checkpoint(st.in.barrier)
			}
			if err == nil && advanced {
				err = st.links[0].EmitWatermark(st.in.wm)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (st *subtask) handleControls() error {
	st.ctl = st.mail.take(st.ctl[:0])
	for _, c := range st.ctl {
		var err error
		switch c.kind {
		case ctlBarrier:
			if st.src != nil {
				err = st.checkpoint(c.barrier)
			}
		case ctlComplete:
			err = st.notifyComplete(c.id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkpoint snapshots the source and operators for barrier b (aligned on
// every input), moves the state epoch on, acknowledges b and forwards it
// unless this is a sink.
func (st *subtask) checkpoint(b Barrier) error {
	crash.Point("before-snapshot", b.CheckpointID)
	ack := Ack{Vertex: st.vid, Subtask: st.idx, CheckpointID: b.CheckpointID, Sink: st.sink,
		Final: b.Final, Savepoint: b.Savepoint}
	if st.in != nil {
		ack.Alignment = st.in.alignment
	}
	if s, ok := st.src.(Snapshotter); ok {
		data, err := s.Snapshot(b.CheckpointID)
		if err != nil {
			return fmt.Errorf("snapshot source for checkpoint %d: %w", b.CheckpointID, err)
		}
		if len(data) > 0 {
			ack.Snapshots = append(ack.Snapshots, OpSnapshot{Op: -1, Data: data})
		}
	}
	for k, op := range st.ops {
		if s, ok := op.(Snapshotter); ok {
			data, err := s.Snapshot(b.CheckpointID)
			if err != nil {
				return fmt.Errorf("snapshot operator %d for checkpoint %d: %w", k, b.CheckpointID, err)
			}
			if len(data) > 0 {
				ack.Snapshots = append(ack.Snapshots, OpSnapshot{Op: k, Data: data})
			}
		}
	}
	var wait func() error
	if e := st.tc.Epoch; e != nil {
		wait = e.TakePending()
		if b.WriteTs != 0 {
			e.Set(b.WriteTs)
		}
	}
	if b.Final {
		st.finalID = b.CheckpointID
	}
	crash.Point("after-snapshot", b.CheckpointID)
	if wait == nil {
		st.acknowledge(ack)
	} else {
		// The keyed state of the checkpoint is being written back in the
		// background: acknowledge once it is in Badger, and go on
		// processing the next epoch meanwhile.
		st.job.acks.Add(1)
		go func() {
			defer st.job.acks.Done()
			if err := wait(); err != nil {
				st.job.fail(&SubtaskError{Vertex: st.vertex.Name, Subtask: st.idx,
					Err: fmt.Errorf("snapshot for checkpoint %d: %w", b.CheckpointID, err)})
				return
			}
			st.acknowledge(ack)
		}()
	}
	if st.sink {
		return nil
	}
	return st.out.broadcast(Message{Kind: MsgBarrier, Barrier: b})
}

// acknowledge reports ack with the bytes written back since the previous
// acknowledgement.
func (st *subtask) acknowledge(ack Ack) {
	if e := st.tc.Epoch; e != nil {
		ack.StateBytes = e.TakeWritten()
	}
	if f := st.job.opts.OnAck; f != nil {
		f(ack)
	}
}

func (st *subtask) notifyComplete(id int64) error {
	if id > st.done {
		if err := st.commit(id); err != nil {
			return err
		}
		st.done = id
	}
	if f := st.job.opts.OnCommitted; f != nil {
		f(st.vid, st.idx, id)
	}
	return nil
}

// commit tells the source and operators that checkpoint id is complete.
func (st *subtask) commit(id int64) error {
	if l, ok := st.src.(CheckpointListener); ok {
		if err := l.NotifyCheckpointComplete(id); err != nil {
			return fmt.Errorf("source: checkpoint %d complete: %w", id, err)
		}
	}
	for k, op := range st.ops {
		if l, ok := op.(CheckpointListener); ok {
			if err := l.NotifyCheckpointComplete(id); err != nil {
				return fmt.Errorf("operator %d: checkpoint %d complete: %w", k, id, err)
			}
		}
	}
	return nil
}

// finish calls Finish on every operator in chain order, each emitting into
// the rest of the chain, then sends end of stream downstream.
func (st *subtask) finish() error {
	if err := st.finishOps(); err != nil {
		return err
	}
	return st.out.broadcast(Message{Kind: MsgEnd})
}

// finishOps calls Finish on every operator in chain order, once.
func (st *subtask) finishOps() error {
	if st.finished {
		return nil
	}
	st.finished = true
	for k, op := range st.ops {
		if f, ok := op.(Finisher); ok {
			if err := f.Finish(st.links[k+1]); err != nil {
				return fmt.Errorf("finish operator %d: %w", k, err)
			}
		}
	}
	return nil
}

// endOfData finishes the operators and tells the downstream subtasks
// that no more data follows.
func (st *subtask) endOfData() error {
	if err := st.finishOps(); err != nil {
		return err
	}
	return st.out.broadcast(Message{Kind: MsgEndOfData})
}

func (st *subtask) eodOf(i int) bool { return st.eod != nil && st.eod[i] }

// channelEOD records that input channel i has no more data (end of data or
// end of stream). The first time it tells the operator that the channel's
// edge may have ended; when every channel is done the subtask reaches its
// own end of data.
func (st *subtask) channelEOD(i int) error {
	if st.eod == nil {
		st.eod = make([]bool, len(st.inputs))
	}
	if st.eod[i] {
		return nil
	}
	st.eod[i] = true
	st.nEOD++
	if !st.in.ended[i] {
		// MsgEndOfData: the edge's data ends here (MsgEnd follows later).
		if err := st.endOfChannel(i); err != nil {
			return err
		}
	}
	if st.nEOD == len(st.inputs) && !st.finished && st.job.opts.FinalCheckpoint {
		return st.endOfData()
	}
	return nil
}

// closeAll closes the source and every operator built, once, recovering
// panics, and returns the first error.
func (st *subtask) closeAll() error {
	var first error
	try := func(what string, c func() error) {
		defer func() {
			if r := recover(); r != nil && first == nil {
				first = fmt.Errorf("close %s: %w", what, &PanicError{Value: r, Stack: debug.Stack()})
			}
		}()
		if err := c(); err != nil && first == nil {
			first = fmt.Errorf("close %s: %w", what, err)
		}
	}
	for k, op := range st.ops {
		if c, ok := op.(Closer); ok {
			try(fmt.Sprintf("operator %d", k), c.Close)
		}
	}
	st.ops = nil
	if st.src != nil {
		try("source", st.src.Close)
		st.src = nil
	}
	return first
}
