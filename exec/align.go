package exec

import (
	"math"
	"reflect"
	"time"
)

// inputs is the receiving side of a non-source subtask: one channel per
// connected upstream subtask, barrier alignment and watermark tracking.
// It is used only by the subtask's goroutine.
//
// Barrier alignment (ExactlyOnce): when input i delivers barrier n it is
// blocked (simply not read; nothing is buffered) until every input that has
// not ended has delivered n; then the subtask snapshots and forwards n and
// every input is unblocked. Inputs that end count as aligned. AtLeastOnce
// never blocks: the checkpoint happens when the last input delivers n, and
// a newer barrier overtaking an unfinished alignment abandons it.
//
// Watermarks: each input keeps the highest watermark it delivered; the
// subtask's watermark is the minimum over inputs that have not ended and is
// forwarded only when it advances.
type inputs struct {
	chans   []chan Message
	ended   []bool
	nEnded  int
	blocked []bool // ExactlyOnce: delivered the pending barrier

	mode     CheckpointingMode
	pending  bool
	barrier  Barrier // pending alignment
	seen     []bool  // inputs that delivered the pending barrier
	nSeen    int
	inputWMs []int64
	wm       int64 // last combined watermark

	alignStart time.Time     // when the pending barrier first arrived
	alignment  time.Duration // duration of the last completed alignment

	rr    int // round-robin start for polling
	dirty bool
	cases []reflect.SelectCase
	which []int // case index → input index (-1: control, -2: stop)
}

func newInputs(chans []chan Message, mode CheckpointingMode) *inputs {
	n := len(chans)
	in := &inputs{
		chans: chans, ended: make([]bool, n), blocked: make([]bool, n),
		mode: mode, seen: make([]bool, n), inputWMs: make([]int64, n),
		wm: math.MinInt64, dirty: true,
	}
	for i := range in.inputWMs {
		in.inputWMs[i] = math.MinInt64
	}
	return in
}

// done reports whether every input has ended.
func (in *inputs) done() bool { return in.nEnded == len(in.chans) }

func (in *inputs) readable(i int) bool { return !in.ended[i] && !in.blocked[i] }

type recvEvent uint8

const (
	evMessage recvEvent = iota
	evControl           // the mailbox has controls
	evStop              // the job is stopping
)

// recv waits for the next message from a readable input, a control or the
// job stopping. With one readable input it is a plain select; with more it
// polls them round-robin without blocking and falls back to reflect.Select
// when all are empty.
func (in *inputs) recv(stop, notify <-chan struct{}) (int, Message, recvEvent) {
	select {
	case <-stop:
		return 0, Message{}, evStop
	case <-notify:
		return 0, Message{}, evControl
	default:
	}
	only, count := -1, 0
	for i := range in.chans {
		if in.readable(i) {
			only = i
			count++
		}
	}
	if count == 1 {
		select {
		case m := <-in.chans[only]:
			return only, m, evMessage
		case <-notify:
			return 0, Message{}, evControl
		case <-stop:
			return 0, Message{}, evStop
		}
	}
	n := len(in.chans)
	for k := range n {
		i := (in.rr + k) % n
		if !in.readable(i) {
			continue
		}
		select {
		case m := <-in.chans[i]:
			in.rr = (i + 1) % n
			return i, m, evMessage
		default:
		}
	}
	if in.dirty {
		in.buildCases(stop, notify)
	}
	c, v, _ := reflect.Select(in.cases)
	switch i := in.which[c]; i {
	case -1:
		return 0, Message{}, evControl
	case -2:
		return 0, Message{}, evStop
	default:
		return i, v.Interface().(Message), evMessage
	}
}

func (in *inputs) buildCases(stop, notify <-chan struct{}) {
	in.cases = in.cases[:0]
	in.which = in.which[:0]
	for i, ch := range in.chans {
		if in.readable(i) {
			in.cases = append(in.cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
			in.which = append(in.which, i)
		}
	}
	in.cases = append(in.cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(notify)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(stop)})
	in.which = append(in.which, -1, -2)
	in.dirty = false
}

// onBarrier records that input i delivered b. It returns true when the
// pending barrier is aligned on every input that has not ended; the caller
// then snapshots and forwards in.barrier.
func (in *inputs) onBarrier(i int, b Barrier) bool {
	switch {
	case in.pending && b.CheckpointID < in.barrier.CheckpointID:
		return false // stale: its alignment was abandoned (AtLeastOnce)
	case !in.pending || b.CheckpointID > in.barrier.CheckpointID:
		in.resetAlignment()
		in.pending, in.barrier = true, b
		in.alignStart = time.Now()
	}
	if !in.seen[i] {
		in.seen[i] = true
		in.nSeen++
		if in.mode == ExactlyOnce {
			in.blocked[i] = true
			in.dirty = true
		}
	}
	return in.aligned()
}

func (in *inputs) aligned() bool {
	if !in.pending || in.nSeen < len(in.chans)-in.nEnded {
		return false
	}
	in.alignment = time.Since(in.alignStart)
	in.resetAlignment()
	return true
}

func (in *inputs) resetAlignment() {
	in.pending = false
	in.nSeen = 0
	clear(in.seen)
	clear(in.blocked)
	in.dirty = true
}

// onEnd records that input i ended. It reports whether a pending barrier
// became aligned and whether the combined watermark advanced.
func (in *inputs) onEnd(i int) (aligned, wmAdvanced bool) {
	if in.ended[i] {
		return false, false
	}
	in.ended[i] = true
	in.nEnded++
	in.dirty = true
	if in.seen[i] {
		in.seen[i] = false
		in.nSeen--
	}
	if in.done() {
		in.pending = false
		return false, false
	}
	return in.aligned(), in.advance()
}

// onWatermark records watermark wm of input i and reports whether the
// combined watermark (in.wm) advanced.
func (in *inputs) onWatermark(i int, wm int64) bool {
	if wm > in.inputWMs[i] {
		in.inputWMs[i] = wm
	}
	return in.advance()
}

func (in *inputs) advance() bool {
	lowest := int64(math.MaxInt64)
	for i, w := range in.inputWMs {
		if !in.ended[i] && w < lowest {
			lowest = w
		}
	}
	if lowest == math.MaxInt64 || lowest <= in.wm {
		return false
	}
	in.wm = lowest
	return true
}
