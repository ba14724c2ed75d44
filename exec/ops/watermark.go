package ops

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
)

// WatermarkAssigner generates event time for one source subtask: chained
// right after a source, it evaluates the table's WATERMARK expression over
// every row and emits the highest value seen as the watermark (Flink's
// bounded-out-of-orderness strategy when the expression is ts - INTERVAL).
//
// Splits. A subtask may read several splits (the partitions of a Kafka
// topic) whose rows it interleaves. When its source implements SplitSource
// (see SplitLink), the assigner keeps the highest value per split and its
// watermark is the lowest of them over the splits the source is reading,
// as Flink's per-partition watermarks: a partition that lags holds the
// watermark back, so its rows do not become late because another one ran
// ahead. A split that has not produced a row yet holds it back too (at no
// watermark) until it produces one, ends, or goes idle. Without a
// SplitSource the subtask is one split.
//
// Emission. Flink emits periodically (every 200 ms); the assigner emits at
// batch boundaries instead, which is as timely and deterministic: after a
// batch, the watermark so far. Within a batch it also emits before a row
// that the watermark so far has overtaken (an out-of-order row), splitting
// the batch there: a downstream window then sees exactly what it would see
// with a watermark after every row, so which rows are late does not depend
// on how the source cut its batches. In-order input is never split. The
// emitted watermark never decreases.
//
// End of input: a bounded source's split ends with the maximum watermark
// (math.MaxInt64, Finish), so every window downstream fires.
//
// Idleness (IdleTimeout > 0), at two levels. A split that has produced no
// row for IdleTimeout stops holding back the subtask's watermark (until its
// next row; rows behind the watermark are then late, as in Flink). A
// subtask that has produced no row for IdleTimeout stops holding back the
// watermark of its source: its assigner then emits the lowest watermark
// among the source's subtasks that are still active (they share a
// WatermarkGroup), never less than its own. The runtime reports a source
// with nothing to read through exec.SourceIdleListener; see
// exec/watermark.go for what it needs.
//
// Rows pass unchanged; rows whose expression is NULL do not move the
// watermark.
type WatermarkAssigner struct {
	// Expr computes the watermark candidate of a row (TIMESTAMP µs).
	Expr expr.Expr
	// TimeCol is the rowtime column, whose value Expr must not exceed
	// (WATERMARK FOR TimeCol AS ...); it decides which rows may be late.
	// -1 uses Expr's value, which splits batches more often.
	TimeCol int
	// IdleTimeout, when positive, marks a split, and the subtask, idle
	// after that long without rows.
	IdleTimeout time.Duration
	// Group is shared by the assigners of one source's subtasks; nil when
	// there is no idleness handling.
	Group *WatermarkGroup
	// Splits, when not nil, says which split each row of a batch came
	// from: the source this assigner is chained after, which filled the
	// batch that Process receives (so the assigner must be the first
	// operator of the source's chain). Link, if set, provides it instead.
	Splits SplitSource
	// Link, when Splits is nil, is asked for the split source of Subtask
	// at the first batch.
	Link    *SplitLink
	Subtask int
	// Now is the clock of idleness; nil means time.Now.
	Now func() time.Time

	max      int64 // the subtask's watermark so far
	low      int64 // lowest maximum over the active, non-idle splits
	lastRow  time.Time
	idle     bool
	member   int
	vals     types.Vector
	started  bool
	emitted  int64
	splits   map[int32]*splitMark // by split id
	marks    []*splitMark         // the same, for iteration
	active   []int32
	sentinel bool
}

// splitMark is the event time of one split.
type splitMark struct {
	id      int32
	max     int64
	lastRow time.Time
	idle    bool
	seen    bool // listed by the last ActiveSplits call (or has a row)
}

// SplitSource is implemented by a Source that reads several splits, such
// as the partitions of a Kafka topic, so that the watermark assigner
// chained after it tracks event time per split.
//
// Contract: both methods are called from the source subtask's goroutine,
// between calls of Next. SplitOf returns the split of row i of the batch
// the last Next filled (split ids are the source's own, stable while it
// runs). ActiveSplits appends to dst the ids of the splits the source
// currently reads and has not finished; a split that finished (a bounded
// partition read to its end) must no longer be listed, so that it stops
// holding the watermark back.
type SplitSource interface {
	SplitOf(row int) int32
	ActiveSplits(dst []int32) []int32
}

// SplitLink hands the source of each subtask of a vertex to the watermark
// assigner chained after it: the planner wraps the vertex's source factory
// with Sources and builds the assigners with WatermarkAssignerFactory(...,
// link). Sources that do not implement SplitSource are not recorded. It is
// safe for concurrent use; a source built for a subtask replaces the one
// built for it before (a restarted job).
type SplitLink struct {
	mu   sync.Mutex
	srcs map[int]SplitSource
}

// Sources returns f recording each source it builds that implements
// SplitSource.
func (l *SplitLink) Sources(f exec.SourceFactory) exec.SourceFactory {
	return func(subtask int) (exec.Source, error) {
		src, err := f(subtask)
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.srcs == nil {
			l.srcs = map[int]SplitSource{}
		}
		if ss, ok := src.(SplitSource); ok {
			l.srcs[subtask] = ss
		} else {
			delete(l.srcs, subtask)
		}
		return src, nil
	}
}

// source returns the split source last built for subtask, or nil.
func (l *SplitLink) source(subtask int) SplitSource {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.srcs[subtask]
}

// WatermarkGroup lets the assigners of one source's subtasks see each
// other's watermarks, for idleness. It is safe for concurrent use.
type WatermarkGroup struct {
	mu      sync.Mutex
	wms     []int64
	idle    []bool
	members int
}

// join registers a member and returns its index.
func (g *WatermarkGroup) join() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.wms = append(g.wms, math.MinInt64)
	g.idle = append(g.idle, false)
	g.members++
	return g.members - 1
}

// update records member m's watermark and idleness and returns the lowest
// watermark of the active members (math.MaxInt64 when all are idle).
func (g *WatermarkGroup) update(m int, wm int64, idle bool) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.wms[m], g.idle[m] = wm, idle
	low := int64(math.MaxInt64)
	for i, w := range g.wms {
		if !g.idle[i] && w < low {
			low = w
		}
	}
	return low
}

// WatermarkAssignerFactory returns a factory of WatermarkAssigners over
// rowtime column timeCol, each with its own clone of e, sharing one
// WatermarkGroup when idleTimeout is positive. link, when not nil, gives
// each assigner its subtask's source (per-split watermarks, see
// SplitSource).
func WatermarkAssignerFactory(e expr.Expr, timeCol int, idleTimeout time.Duration, link ...*SplitLink) exec.OperatorFactory {
	var g *WatermarkGroup
	if idleTimeout > 0 {
		g = &WatermarkGroup{}
	}
	var l *SplitLink
	if len(link) > 0 {
		l = link[0]
	}
	return func(subtask int) (exec.Operator, error) {
		if e.Type().Kind != types.KindTimestamp && e.Type().Kind != types.KindTimestampLTZ {
			return nil, fmt.Errorf("watermark expression %s is %v, not a TIMESTAMP", e, e.Type())
		}
		return &WatermarkAssigner{Expr: e.Clone(), TimeCol: timeCol, IdleTimeout: idleTimeout, Group: g,
			Link: l, Subtask: subtask}, nil
	}
}

func (w *WatermarkAssigner) start() {
	if w.started {
		return
	}
	w.started = true
	w.max, w.emitted, w.low = math.MinInt64, math.MinInt64, math.MinInt64
	w.splits = map[int32]*splitMark{}
	if w.Group != nil {
		w.member = w.Group.join()
	}
	if w.Splits == nil && w.Link != nil {
		w.Splits = w.Link.source(w.Subtask)
	}
}

func (w *WatermarkAssigner) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// Watermark returns the subtask's watermark so far (before idleness of the
// subtask itself).
func (w *WatermarkAssigner) Watermark() int64 {
	w.start()
	return w.max
}

// refreshSplits updates the set of active splits and their idleness at
// time now, then the watermark.
func (w *WatermarkAssigner) refreshSplits(now time.Time) {
	w.active = w.active[:0]
	if w.Splits == nil {
		w.active = append(w.active, 0)
	} else {
		w.active = w.Splits.ActiveSplits(w.active)
	}
	for _, s := range w.marks {
		s.seen = false
	}
	for _, id := range w.active {
		s := w.splits[id]
		if s == nil {
			s = w.addSplit(id, now)
		}
		s.seen = true
		if w.IdleTimeout > 0 && now.Sub(s.lastRow) >= w.IdleTimeout {
			s.idle = true
		}
	}
	kept := w.marks[:0]
	for _, s := range w.marks {
		if s.seen {
			kept = append(kept, s)
		} else {
			delete(w.splits, s.id) // finished
		}
	}
	clear(w.marks[len(kept):])
	w.marks = kept
	w.recompute()
}

// recompute sets low to the lowest maximum of the non-idle splits and
// raises the watermark to it. With every split idle (or none) the
// watermark stays.
func (w *WatermarkAssigner) recompute() {
	low, any := int64(math.MaxInt64), false
	for _, s := range w.marks {
		if !s.idle && s.max < low {
			low, any = s.max, true
		}
	}
	if !any {
		w.low = math.MaxInt64
		return
	}
	w.low = low
	if low > w.max {
		w.max = low
	}
}

// split returns the mark of split id, creating it for a row of a split
// the source did not list.
func (w *WatermarkAssigner) split(id int32, now time.Time) *splitMark {
	s := w.splits[id]
	if s == nil {
		s = w.addSplit(id, now)
		s.seen = true
	}
	return s
}

// addSplit starts tracking split id, first seen at now.
func (w *WatermarkAssigner) addSplit(id int32, now time.Time) *splitMark {
	s := &splitMark{id: id, max: math.MinInt64, lastRow: now}
	w.splits[id] = s
	w.marks = append(w.marks, s)
	return s
}

// Process implements exec.Operator.
func (w *WatermarkAssigner) Process(b *types.Batch, out exec.Collector) error {
	w.start()
	now := w.now()
	if w.IdleTimeout > 0 {
		w.lastRow = now
		w.idle = false
	}
	w.refreshSplits(now)
	if err := w.Expr.Eval(b, &w.vals); err != nil {
		b.Release()
		return fmt.Errorf("watermark %s: %w", w.Expr, err)
	}
	v := &w.vals
	from := 0
	var cur *splitMark
	curID := int32(-1)
	for i := range b.Len() {
		id := int32(0)
		if w.Splits != nil {
			id = w.Splits.SplitOf(i)
		}
		if cur == nil || id != curID {
			cur, curID = w.split(id, now), id
		}
		cur.lastRow = now
		if cur.idle { // back from idleness: it holds the watermark again
			cur.idle = false
			w.recompute()
		}
		if v.IsNull(i) {
			continue
		}
		t := v.I64[i]
		rt := t
		if w.TimeCol >= 0 {
			if tc := &b.Cols[w.TimeCol]; !tc.IsNull(i) {
				rt = tc.I64[i]
			}
		}
		if rt <= w.max && w.max > w.emitted && i > from {
			// An out-of-order row: the rows before it and the watermark
			// they raised go first.
			part := types.NewBatch(b.Types())
			rows := make([]int32, 0, i-from)
			for r := from; r < i; r++ {
				rows = append(rows, int32(r))
			}
			exec.AppendRows(part, b, rows)
			if err := out.Collect(part); err != nil {
				b.Release()
				return err
			}
			if err := w.emit(out, w.max); err != nil {
				b.Release()
				return err
			}
			from = i
		}
		if t > cur.max {
			old := cur.max
			cur.max = t
			switch {
			case len(w.marks) == 1: // the common case
				w.low = t
				w.max = max(w.max, t)
			case old <= w.low || w.low == math.MaxInt64:
				w.recompute() // cur may have been holding the watermark back
			}
		}
	}
	if from > 0 {
		keep := make([]bool, b.Len())
		for r := from; r < len(keep); r++ {
			keep[r] = true
		}
		b.Filter(keep)
	}
	if err := out.Collect(b); err != nil {
		return err
	}
	return w.emit(out, w.max)
}

// emit sends wm downstream if it is above the last one sent.
func (w *WatermarkAssigner) emit(out exec.Collector, wm int64) error {
	if w.Group != nil {
		low := w.Group.update(w.member, w.max, w.idle)
		if w.idle {
			wm = max(w.max, low)
		}
	}
	if wm <= w.emitted || wm == math.MinInt64 {
		return nil
	}
	wc, ok := out.(exec.WatermarkCollector)
	if !ok {
		return nil
	}
	w.emitted = wm
	return wc.EmitWatermark(wm)
}

// SourceIdle implements exec.SourceIdleListener: splits without rows for
// IdleTimeout stop holding back the watermark, and after IdleTimeout
// without rows at all the subtask is idle and its watermark follows the
// source's active subtasks.
func (w *WatermarkAssigner) SourceIdle(now time.Time, out exec.Collector) error {
	w.start()
	if w.IdleTimeout <= 0 {
		return nil
	}
	before := w.max
	w.refreshSplits(now)
	if w.max > before {
		if err := w.emit(out, w.max); err != nil {
			return err
		}
	}
	if w.Group == nil {
		return nil
	}
	if w.lastRow.IsZero() {
		w.lastRow = now
	}
	if now.Sub(w.lastRow) < w.IdleTimeout {
		return nil
	}
	w.idle = true
	low := w.Group.update(w.member, w.max, true)
	if low == math.MaxInt64 {
		return nil // every subtask is idle: nothing to follow
	}
	return w.emit(out, low)
}

// Finish implements exec.Finisher: the split ended, so its event time is
// complete.
func (w *WatermarkAssigner) Finish(out exec.Collector) error {
	w.start()
	if w.Group != nil {
		w.Group.update(w.member, math.MaxInt64, false)
	}
	wc, ok := out.(exec.WatermarkCollector)
	if !ok || w.emitted == math.MaxInt64 {
		return nil
	}
	w.emitted = math.MaxInt64
	return wc.EmitWatermark(math.MaxInt64)
}
