package ops

import (
	"fmt"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// WindowTVF is a window table-valued function without aggregation
// (SELECT * FROM TABLE(TUMBLE(...))): it emits each input row once per
// window containing its time, followed by window_start, window_end and
// window_time (TIMESTAMP(3), window_time = window_end - 1 ms). TUMBLE gives
// one row per input row, HOP size/slide rows (fewer when slide > size
// leaves gaps), CUMULATE up to size/step rows. SESSION needs state and is
// only planned with an aggregation (WindowAgg).
//
// The input must be append-only (+I rows); the output is append-only. Rows
// with a NULL time are dropped. Late rows are not dropped here (as in
// Flink, only window aggregation drops them); watermarks pass through.
type WindowTVF struct {
	Window  WindowSpec
	InTypes []types.Type

	checked  bool
	outTypes []types.Type
	rows     []int32
	starts   []int64
}

// WindowTVFFactory returns a factory of WindowTVFs; it fails when the spec
// is invalid (ErrWindowSpec).
func WindowTVFFactory(w WindowSpec, in []types.Type) exec.OperatorFactory {
	return func(int) (exec.Operator, error) {
		t := &WindowTVF{Window: w, InTypes: in}
		return t, t.check()
	}
}

func (t *WindowTVF) check() error {
	if t.checked {
		return nil
	}
	if t.Window.Kind == WindowSession {
		return fmt.Errorf("%w: SESSION windows need an aggregation", ErrWindowSpec)
	}
	if err := t.Window.Validate(t.InTypes); err != nil {
		return err
	}
	t.outTypes = append(append([]types.Type(nil), t.InTypes...), WindowTimeType, WindowTimeType, WindowTimeType)
	t.checked = true
	return nil
}

// OutTypes returns the input types followed by the three window columns.
func (t *WindowTVF) OutTypes() []types.Type {
	if t.check() != nil {
		return nil
	}
	return t.outTypes
}

// Process implements exec.Operator.
func (t *WindowTVF) Process(b *types.Batch, out exec.Collector) error {
	defer b.Release()
	if err := t.check(); err != nil {
		return err
	}
	if len(b.Cols) != len(t.InTypes) {
		return fmt.Errorf("window %s: %d-column batch, want %d", t.Window.Kind, len(b.Cols), len(t.InTypes))
	}
	tc := &b.Cols[t.Window.TimeCol]
	size := t.Window.Size
	t.rows, t.starts = t.rows[:0], t.starts[:0]
	for i := range b.Len() {
		if b.Ops[i] != types.Insert {
			return fmt.Errorf("window %s: a %v row: window functions take append-only input", t.Window.Kind, b.Ops[i])
		}
		if tc.IsNull(i) {
			continue
		}
		t.Window.windowsOf(tc.I64[i], func(s, e int64) {
			t.rows = append(t.rows, int32(i))
			t.starts = append(t.starts, s)
			if t.Window.Kind == WindowCumulate {
				// CUMULATE windows share their start; the end varies.
				t.starts = append(t.starts, e)
			}
		})
	}
	for len(t.rows) > 0 {
		k := min(len(t.rows), types.DefaultBatchSize)
		o := types.NewBatch(t.InTypes)
		exec.AppendRows(o, b, t.rows[:k])
		ws := make([]int64, k)
		we := make([]int64, k)
		wt := make([]int64, k)
		for j := range k {
			if t.Window.Kind == WindowCumulate {
				ws[j], we[j] = t.starts[2*j], t.starts[2*j+1]
			} else {
				ws[j], we[j] = t.starts[j], t.starts[j]+size
			}
			wt[j] = we[j] - MicrosPerMilli
		}
		o.Cols = append(o.Cols,
			types.Vector{Type: WindowTimeType, I64: ws},
			types.Vector{Type: WindowTimeType, I64: we},
			types.Vector{Type: WindowTimeType, I64: wt})
		t.rows = t.rows[k:]
		if t.Window.Kind == WindowCumulate {
			t.starts = t.starts[2*k:]
		} else {
			t.starts = t.starts[k:]
		}
		if err := out.Collect(o); err != nil {
			return err
		}
	}
	return nil
}
