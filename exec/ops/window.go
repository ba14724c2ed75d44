package ops

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluicesql/sluice/exec/types"
)

// Event-time windows: the window kinds of Flink's window table-valued
// functions, how a timestamp maps to windows, and the panes (Flink's
// slices) that window aggregation accumulates into.
//
// All times are TIMESTAMP microseconds. A window is the half-open interval
// [start, end); its window_time is end - 1 ms (Flink's rowtime of a window,
// TIMESTAMP(3)). A window is complete, and fires, when the watermark
// reaches end - 1 µs: no row with a timestamp in it may arrive any more.
//
//	TUMBLE(size, offset)    windows [k·size+offset, (k+1)·size+offset)
//	HOP(slide, size, off)   windows of length size starting every slide;
//	                        panes of gcd(size, slide), each window the union
//	                        of size/pane consecutive panes
//	CUMULATE(step, size)    within each tumbling cycle [S, S+size): windows
//	                        [S, S+step), [S, S+2·step) ... [S, S+size); panes
//	                        of step
//	SESSION(gap)            per key: a row at t opens [t, t+gap); windows
//	                        that overlap merge

// WindowKind is a window table-valued function.
type WindowKind uint8

// Window kinds.
const (
	WindowTumble WindowKind = iota
	WindowHop
	WindowCumulate
	WindowSession
)

var windowKindNames = [...]string{"TUMBLE", "HOP", "CUMULATE", "SESSION"}

func (k WindowKind) String() string {
	if int(k) < len(windowKindNames) {
		return windowKindNames[k]
	}
	return fmt.Sprintf("WindowKind(%d)", k)
}

// WindowSpec describes the windows of a window TVF. Durations are in
// microseconds.
type WindowSpec struct {
	Kind WindowKind
	// TimeCol is the input TIMESTAMP column the windows are over (the
	// DESCRIPTOR column, a rowtime attribute). Rows with a NULL time are
	// dropped.
	TimeCol int
	// Size is the window length (TUMBLE, HOP; CUMULATE's max size).
	Size int64
	// Slide is HOP's slide and CUMULATE's step.
	Slide int64
	// Offset shifts the window boundaries (TUMBLE, HOP, CUMULATE).
	Offset int64
	// Gap is SESSION's inactivity gap.
	Gap int64
}

// ErrWindowSpec wraps the errors of an invalid WindowSpec or WindowAggSpec.
var ErrWindowSpec = errors.New("window: invalid plan")

// MicrosPerMilli is the difference between a window's end and its
// window_time.
const MicrosPerMilli = 1000

// WindowTimeType is the type of window_start, window_end and window_time.
var WindowTimeType = types.Type{Kind: types.KindTimestamp, Precision: 3}

// Validate checks the spec against the input column types.
func (w *WindowSpec) Validate(in []types.Type) error {
	if w.TimeCol < 0 || w.TimeCol >= len(in) || in[w.TimeCol].Kind != types.KindTimestamp && in[w.TimeCol].Kind != types.KindTimestampLTZ {
		return fmt.Errorf("%w: time column %d is not a TIMESTAMP column", ErrWindowSpec, w.TimeCol)
	}
	switch w.Kind {
	case WindowTumble:
		if w.Size <= 0 {
			return fmt.Errorf("%w: TUMBLE size must be positive", ErrWindowSpec)
		}
	case WindowHop:
		if w.Size <= 0 || w.Slide <= 0 {
			return fmt.Errorf("%w: HOP size and slide must be positive", ErrWindowSpec)
		}
	case WindowCumulate:
		if w.Size <= 0 || w.Slide <= 0 || w.Size%w.Slide != 0 {
			return fmt.Errorf("%w: CUMULATE size must be a positive multiple of its step", ErrWindowSpec)
		}
	case WindowSession:
		if w.Gap <= 0 {
			return fmt.Errorf("%w: SESSION gap must be positive", ErrWindowSpec)
		}
	default:
		return fmt.Errorf("%w: unknown window kind %d", ErrWindowSpec, w.Kind)
	}
	return nil
}

// String prints the spec for EXPLAIN, e.g. "HOP(slide=5s, size=10s)".
func (w *WindowSpec) String() string {
	var args []string
	switch w.Kind {
	case WindowTumble:
		args = append(args, "size="+FormatMicros(w.Size))
	case WindowHop:
		args = append(args, "slide="+FormatMicros(w.Slide), "size="+FormatMicros(w.Size))
	case WindowCumulate:
		args = append(args, "step="+FormatMicros(w.Slide), "size="+FormatMicros(w.Size))
	case WindowSession:
		args = append(args, "gap="+FormatMicros(w.Gap))
	}
	if w.Offset != 0 {
		args = append(args, "offset="+FormatMicros(w.Offset))
	}
	return w.Kind.String() + "(" + strings.Join(args, ", ") + ")"
}

// FormatMicros prints a duration in the largest unit that divides it:
// 90s, 5min, 2h, 1d, 250ms, 7µs.
func FormatMicros(us int64) string {
	units := []struct {
		n    int64
		name string
	}{{86_400_000_000, "d"}, {3_600_000_000, "h"}, {60_000_000, "min"}, {1_000_000, "s"}, {1000, "ms"}}
	for _, u := range units {
		if us != 0 && us%u.n == 0 {
			return fmt.Sprintf("%d%s", us/u.n, u.name)
		}
	}
	return fmt.Sprintf("%dµs", us)
}

// floorDiv is a / b rounded toward negative infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// alignDown returns the largest t' <= t with t' ≡ offset (mod unit).
func alignDown(t, unit, offset int64) int64 {
	return floorDiv(t-offset, unit)*unit + offset
}

// alignUp returns the smallest t' >= t with t' ≡ offset (mod unit).
func alignUp(t, unit, offset int64) int64 {
	d := alignDown(t, unit, offset)
	if d == t {
		return t
	}
	return d + unit
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// pane returns the pane length of a TUMBLE, HOP or CUMULATE spec.
func (w *WindowSpec) pane() int64 {
	switch w.Kind {
	case WindowHop:
		return gcd(w.Size, w.Slide)
	case WindowCumulate:
		return w.Slide
	}
	return w.Size
}

// paneOf returns the start of the pane holding ts.
func (w *WindowSpec) paneOf(ts int64) int64 { return alignDown(ts, w.pane(), w.Offset) }

// firstEnd returns the end of the first window that contains the pane
// starting at ps: a row in that pane is late once that window fired.
func (w *WindowSpec) firstEnd(ps int64) int64 {
	pe := ps + w.pane()
	if w.Kind == WindowHop {
		return alignUp(pe, w.Slide, w.hopEndOffset())
	}
	return pe
}

// hopEndOffset is the residue of HOP window ends modulo the slide: windows
// start at offset + k·slide and end size later.
func (w *WindowSpec) hopEndOffset() int64 { return w.Offset + w.Size }

// lastEnd returns the end of the last window that contains the pane
// starting at ps: the pane's state is dropped when that window fires.
func (w *WindowSpec) lastEnd(ps int64) int64 {
	switch w.Kind {
	case WindowHop:
		return alignDown(ps+w.Size, w.Slide, w.hopEndOffset())
	case WindowCumulate:
		return alignDown(ps, w.Size, w.Offset) + w.Size
	}
	return ps + w.Size
}

// windowStart returns the start of the window ending at end: the window
// is made of the panes starting in [start, end).
func (w *WindowSpec) windowStart(end int64) int64 {
	if w.Kind == WindowCumulate {
		return alignDown(end-1, w.Size, w.Offset)
	}
	return end - w.Size
}

// endAfter returns the end of the first window containing the pane
// starting at ps that ends after t, and false when there is none.
func (w *WindowSpec) endAfter(ps, t int64) (int64, bool) {
	e := w.firstEnd(ps)
	if e <= t {
		step := w.Slide
		if w.Kind == WindowTumble {
			step = w.Size
		}
		e += (floorDiv(t-e, step) + 1) * step
	}
	return e, e <= w.lastEnd(ps)
}

// windowsOf calls fn with the [start, end) of every window containing ts
// (TUMBLE, HOP, CUMULATE), in increasing order of end.
func (w *WindowSpec) windowsOf(ts int64, fn func(start, end int64)) {
	switch w.Kind {
	case WindowTumble:
		s := alignDown(ts, w.Size, w.Offset)
		fn(s, s+w.Size)
	case WindowHop:
		// The latest window containing ts starts at the last slide boundary
		// at or before ts; earlier ones start a slide apart.
		last := alignDown(ts, w.Slide, w.Offset)
		first := last
		for first-w.Slide > ts-w.Size {
			first -= w.Slide
		}
		for s := first; s <= last; s += w.Slide {
			fn(s, s+w.Size)
		}
	case WindowCumulate:
		s := alignDown(ts, w.Size, w.Offset)
		for e := alignDown(ts, w.Slide, w.Offset) + w.Slide; e <= s+w.Size; e += w.Slide {
			fn(s, e)
		}
	}
}
