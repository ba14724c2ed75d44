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

// WatermarkAssigner generates event time for one source split: chained
// right after a source, it evaluates the table's WATERMARK expression over
// every row and emits the highest value seen as the watermark (Flink's
// bounded-out-of-orderness strategy when the expression is ts - INTERVAL).
//
// Emission. Flink emits periodically (every 200 ms); the assigner emits at
// batch boundaries instead, which is as timely and deterministic: after a
// batch, the maximum so far. Within a batch it also emits before a row that
// the watermark so far has overtaken (an out-of-order row), splitting the
// batch there: a downstream window then sees exactly what it would see
// with a watermark after every row, so which rows are late does not depend
// on how the source cut its batches. In-order input is never split.
//
// End of input: a bounded source's split ends with the maximum watermark
// (math.MaxInt64, Finish), so every window downstream fires.
//
// Idleness (IdleTimeout > 0): a split that has produced no row for longer
// than IdleTimeout stops holding back the watermark of its source: its
// assigner then emits the lowest watermark among the source's splits that
// are still active (they share a WatermarkGroup), never less than its own.
// The runtime reports idleness through exec.SourceIdleListener; see
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
	// IdleTimeout, when positive, marks the split idle after that long
	// without rows.
	IdleTimeout time.Duration
	// Group is shared by the assigners of one source's splits; nil when
	// there is no idleness handling.
	Group *WatermarkGroup

	max      int64
	lastRow  time.Time
	idle     bool
	member   int
	vals     types.Vector
	started  bool
	emitted  int64
	sentinel bool
}

// WatermarkGroup lets the assigners of one source's splits see each other's
// watermarks, for idleness. It is safe for concurrent use.
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
// WatermarkGroup when idleTimeout is positive.
func WatermarkAssignerFactory(e expr.Expr, timeCol int, idleTimeout time.Duration) exec.OperatorFactory {
	var g *WatermarkGroup
	if idleTimeout > 0 {
		g = &WatermarkGroup{}
	}
	return func(int) (exec.Operator, error) {
		if e.Type().Kind != types.KindTimestamp && e.Type().Kind != types.KindTimestampLTZ {
			return nil, fmt.Errorf("watermark expression %s is %v, not a TIMESTAMP", e, e.Type())
		}
		return &WatermarkAssigner{Expr: e.Clone(), TimeCol: timeCol, IdleTimeout: idleTimeout, Group: g}, nil
	}
}

func (w *WatermarkAssigner) start() {
	if w.started {
		return
	}
	w.started = true
	w.max, w.emitted = math.MinInt64, math.MinInt64
	if w.Group != nil {
		w.member = w.Group.join()
	}
}

// Watermark returns the highest watermark computed so far.
func (w *WatermarkAssigner) Watermark() int64 {
	w.start()
	return w.max
}

// Process implements exec.Operator.
func (w *WatermarkAssigner) Process(b *types.Batch, out exec.Collector) error {
	w.start()
	if w.IdleTimeout > 0 {
		w.lastRow = time.Now()
		w.idle = false
	}
	if err := w.Expr.Eval(b, &w.vals); err != nil {
		b.Release()
		return fmt.Errorf("watermark %s: %w", w.Expr, err)
	}
	v := &w.vals
	from := 0
	for i := range b.Len() {
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
		if t > w.max {
			w.max = t
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

// SourceIdle implements exec.SourceIdleListener: after IdleTimeout without
// rows the split is idle and its watermark follows the active splits.
func (w *WatermarkAssigner) SourceIdle(now time.Time, out exec.Collector) error {
	w.start()
	if w.IdleTimeout <= 0 || w.Group == nil {
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
		return nil // every split is idle: nothing to follow
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
