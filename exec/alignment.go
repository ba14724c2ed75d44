package exec

import (
	"math"
	"sync"
	"time"
)

// WatermarkAlignment puts the subtasks of a source vertex into a watermark
// alignment group, as Flink's 'scan.watermark.alignment.group' and
// 'scan.watermark.alignment.max-drift': a source subtask whose watermark is
// more than MaxDrift ahead of the lowest watermark in the group stops
// reading until the group catches up. Sources that feed one join then
// deliver rows of about the same event time, so the join's state for what
// the other side is producing now is recent (hot in its cache) rather than
// minutes of event time old.
//
// Membership, per source subtask of every vertex naming the group:
//   - a subtask that has not emitted a watermark yet holds the group back
//     (at no watermark) until it does;
//   - a subtask whose last read returned no rows (nothing to read for
//     now) and a subtask that ended do not hold it back;
//   - otherwise the subtask counts with the watermark it last emitted.
//
// A subtask pauses only between two batches, and while paused it still
// answers barriers and checkpoint completions. The subtask with the lowest
// watermark never pauses, so the group always makes progress. Alignment
// is re-evaluated after every batch (Flink's periodic update interval has
// no counterpart). Groups are per job.
type WatermarkAlignment struct {
	// Group names the alignment group; vertices with the same Group in one
	// job are aligned together.
	Group string
	// MaxDrift is how far (event time) a subtask's watermark may run ahead
	// of the group's lowest; it must be positive.
	MaxDrift time.Duration
}

// Member states of an alignment group.
const (
	alignStarting = iota // no watermark yet: holds the group back
	alignActive          // counts with its watermark
	alignIdle            // nothing to read: does not count
	alignEnded           // ended: does not count
)

// alignGroup is one watermark alignment group of a running job. Its
// methods are safe for concurrent use by the member subtasks.
type alignGroup struct {
	mu      sync.Mutex
	state   []uint8
	wm      []int64
	low     int64         // lowest watermark over the counting members
	changed chan struct{} // closed (and replaced) when low rises
}

func newAlignGroup() *alignGroup {
	return &alignGroup{low: math.MaxInt64, changed: make(chan struct{})}
}

// join adds a member (in the starting state) and returns its index.
func (g *alignGroup) join() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.state = append(g.state, alignStarting)
	g.wm = append(g.wm, math.MinInt64)
	g.recompute()
	return len(g.state) - 1
}

// report records member m's state and watermark.
func (g *alignGroup) report(m int, state uint8, wm int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state[m] == state && g.wm[m] == wm {
		return
	}
	g.state[m], g.wm[m] = state, wm
	g.recompute()
}

// recompute sets low and wakes waiters when it rose. g.mu is held.
func (g *alignGroup) recompute() {
	low := int64(math.MaxInt64)
	for i, s := range g.state {
		switch s {
		case alignStarting:
			low = math.MinInt64
		case alignActive:
			low = min(low, g.wm[i])
		}
	}
	if low > g.low {
		close(g.changed)
		g.changed = make(chan struct{})
	}
	g.low = low
}

// mayRead reports whether a member at watermark wm may read on with
// maximum drift drift (µs); if not, it returns a channel closed when the
// group's lowest watermark rises.
func (g *alignGroup) mayRead(wm, drift int64) (bool, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if wm == math.MinInt64 || g.low >= wm-drift {
		return true, nil
	}
	return false, g.changed
}

// alignMember is a source subtask's handle on its alignment group.
type alignMember struct {
	g     *alignGroup
	m     int
	drift int64 // µs
}

// alignGroups creates the job's alignment groups and a member for every
// source subtask of an aligned vertex.
func (j *Job) alignGroups() {
	groups := map[string]*alignGroup{}
	for vi := range j.graph.Vertices {
		a := j.graph.Vertices[vi].Alignment
		if a == nil {
			continue
		}
		g := groups[a.Group]
		if g == nil {
			g = newAlignGroup()
			groups[a.Group] = g
		}
		for _, st := range j.subtasks[vi] {
			st.align = &alignMember{g: g, m: g.join(), drift: a.MaxDrift.Microseconds()}
		}
	}
}

// alignReport tells the group what the source subtask did last: read
// rows (its watermark is what it emitted), found nothing to read, or
// ended.
func (st *subtask) alignReport(rows, end bool) {
	a := st.align
	if a == nil {
		return
	}
	switch {
	case end:
		a.g.report(a.m, alignEnded, math.MaxInt64)
	case !rows:
		a.g.report(a.m, alignIdle, st.out.lastWM)
	case st.out.lastWM == math.MinInt64:
		a.g.report(a.m, alignStarting, math.MinInt64)
	default:
		a.g.report(a.m, alignActive, st.out.lastWM)
	}
}

// awaitAlignment pauses the source subtask while its watermark is more
// than the maximum drift ahead of its group, answering controls meanwhile.
func (st *subtask) awaitAlignment() error {
	a := st.align
	if a == nil {
		return nil
	}
	for {
		ok, changed := a.g.mayRead(st.out.lastWM, a.drift)
		if ok {
			return nil
		}
		if err := st.waitControls(changed); err != nil {
			return err
		}
	}
}
