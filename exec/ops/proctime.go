package ops

import (
	"fmt"
	"math"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// ProctimeAssigner drives processing-time windows: chained before the
// exchange of a window operator whose time column is a processing-time
// attribute (PROCTIME()), it stamps that column of every row with the
// wall clock and turns the wall clock into the watermark the window
// operator fires on.
//
// Stamps and watermarks. Every row of a batch gets the same stamp s: the
// clock truncated to the millisecond (TIMESTAMP_LTZ(3)), never below an
// earlier stamp, so a clock stepped back does not reorder time. After the
// batch the assigner emits watermark s - 1 µs: every window whose end is at
// or below s fires, and no row stamped later can be late, since its stamp
// is at least s and each of its windows ends above it. The column's value
// computed upstream (PROCTIME() in a projection) is overwritten, so the
// time a row is assigned to is the time it reaches the window's input.
//
// Upstream watermarks (event time of the source) are swallowed: after this
// operator time is processing time. When the source has nothing to read
// (exec.SourceIdleListener, if the runtime reports idleness to it) the
// assigner emits the clock as the watermark, so windows fire on time
// without new rows. At the end of the input (Finish) it emits
// math.MaxInt64: a bounded input fires every open window.
//
// The operator has no state: after a restore it goes on with the clock.
type ProctimeAssigner struct {
	// TimeCol is the processing-time column to stamp (TIMESTAMP_LTZ or
	// TIMESTAMP, µs).
	TimeCol int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	last    int64 // the highest stamp so far (µs), math.MinInt64 before any
	emitted int64 // the last watermark emitted
	started bool
}

// ProctimeAssignerFactory returns a factory of ProctimeAssigners over
// column timeCol of inputs of types ts.
func ProctimeAssignerFactory(timeCol int, ts []types.Type) exec.OperatorFactory {
	return func(int) (exec.Operator, error) {
		if timeCol < 0 || timeCol >= len(ts) {
			return nil, fmt.Errorf("proctime assigner: time column %d out of range (%d columns)", timeCol, len(ts))
		}
		if k := ts[timeCol].Kind; k != types.KindTimestampLTZ && k != types.KindTimestamp {
			return nil, fmt.Errorf("proctime assigner: column %d is %v, not a TIMESTAMP_LTZ", timeCol, ts[timeCol])
		}
		return &ProctimeAssigner{TimeCol: timeCol}, nil
	}
}

func (p *ProctimeAssigner) start() {
	if !p.started {
		p.started = true
		p.last, p.emitted = math.MinInt64, math.MinInt64
	}
}

// stamp returns the current stamp: the clock in whole milliseconds (µs
// units), not below the previous stamp.
func (p *ProctimeAssigner) stamp(now time.Time) int64 {
	p.start()
	us := now.UnixMicro()
	us -= ((us % 1000) + 1000) % 1000
	if us > p.last {
		p.last = us
	}
	return p.last
}

func (p *ProctimeAssigner) clock() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Process implements exec.Operator.
func (p *ProctimeAssigner) Process(b *types.Batch, out exec.Collector) error {
	s := p.stamp(p.clock())
	col := &b.Cols[p.TimeCol]
	col.Nulls = nil // a stamp is never NULL
	for i := range col.I64 {
		col.I64[i] = s
	}
	if err := out.Collect(b); err != nil {
		return err
	}
	return p.emit(out, s-1)
}

// emit sends wm downstream if it is above the last one sent.
func (p *ProctimeAssigner) emit(out exec.Collector, wm int64) error {
	if wm <= p.emitted {
		return nil
	}
	wc, ok := out.(exec.WatermarkCollector)
	if !ok {
		return nil
	}
	p.emitted = wm
	return wc.EmitWatermark(wm)
}

// ProcessWatermark implements exec.WatermarkHandler: upstream (event-time)
// watermarks stop here. math.MinInt64 is below anything already sent, so
// nothing is forwarded.
func (p *ProctimeAssigner) ProcessWatermark(int64, exec.Collector) (int64, error) {
	return math.MinInt64, nil
}

// SourceIdle implements exec.SourceIdleListener: with nothing to read, the
// wall clock still advances the watermark.
func (p *ProctimeAssigner) SourceIdle(now time.Time, out exec.Collector) error {
	return p.emit(out, p.stamp(now)-1)
}

// Finish implements exec.Finisher: the input ended, so every window may
// fire.
func (p *ProctimeAssigner) Finish(out exec.Collector) error {
	p.start()
	return p.emit(out, math.MaxInt64)
}
