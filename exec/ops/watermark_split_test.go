package ops_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
)

// splitRows is a source whose split of a row is its first column (k), over
// the batch it was last given, reading the splits in active.
type splitRows struct {
	batch  *types.Batch
	active []int32
}

func (s *splitRows) Open(*exec.TaskContext) error     { return nil }
func (s *splitRows) Next(*types.Batch) (bool, error)  { return true, nil }
func (s *splitRows) Close() error                     { return nil }
func (s *splitRows) SplitOf(row int) int32            { return int32(s.batch.Cols[0].I64[row]) }
func (s *splitRows) ActiveSplits(dst []int32) []int32 { return append(dst, s.active...) }

// eventLog records rows and watermarks in the order they are emitted.
type eventLog struct {
	events []string
	wm     int64 // last watermark
	late   []string
}

func (l *eventLog) Collect(b *types.Batch) error {
	for i := range b.Len() {
		ts := b.Cols[1].I64[i]
		row := fmt.Sprintf("%d@%d", b.Cols[0].I64[i], (ts-day0)/sec)
		l.events = append(l.events, row)
		if ts <= l.wm {
			l.late = append(l.late, row)
		}
	}
	b.Release()
	return nil
}

func (l *eventLog) EmitWatermark(wm int64) error {
	l.wm = wm
	if wm == math.MaxInt64 {
		l.events = append(l.events, "wm=MAX")
	} else {
		l.events = append(l.events, fmt.Sprintf("wm=%d", (wm-day0)/sec))
	}
	return nil
}

// assignerOver builds the assigner of subtask 0 chained after src, through
// a SplitLink as the planner does.
func assignerOver(t *testing.T, src *splitRows, idle time.Duration) *ops.WatermarkAssigner {
	t.Helper()
	link := &ops.SplitLink{}
	if _, err := link.Sources(func(int) (exec.Source, error) { return src, nil })(0); err != nil {
		t.Fatal(err)
	}
	op, err := ops.WatermarkAssignerFactory(expr.Col(1, types.Timestamp, "ts"), 1, idle, link)(0)
	if err != nil {
		t.Fatal(err)
	}
	return op.(*ops.WatermarkAssigner)
}

// Two partitions interleaved in one subtask, partition 1 about 20 seconds
// behind partition 0: with a watermark per partition none of
// partition 1's rows is late, whether the source cuts batches per row or
// not; with one watermark for the subtask they would be.
func TestWatermarkAssignerPerSplitLaggingPartition(t *testing.T) {
	rows := "+I 0 @20 0 / +I 1 @1 0 / +I 0 @21 0 / +I 1 @2 0 / +I 0 @22 0 / +I 1 @3 0 / +I 1 @4 0"
	for _, perRow := range []bool{false, true} {
		src := &splitRows{active: []int32{0, 1}}
		a := assignerOver(t, src, 0)
		var log eventLog
		batches := []string{rows}
		if perRow {
			batches = strings.Split(rows, " / ")
		}
		for _, text := range batches {
			b := winRows(t, at(text))
			src.batch = b
			if err := a.Process(b, &log); err != nil {
				t.Fatal(err)
			}
		}
		if len(log.late) > 0 {
			t.Errorf("perRow=%v: late rows %v in %v", perRow, log.late, log.events)
		}
		if log.wm != day0+4*sec {
			t.Errorf("perRow=%v: watermark %d s, want 4 s (the lagging partition's): %v", perRow, (log.wm-day0)/sec, log.events)
		}
		// Partition 1 finishes: partition 0 alone decides.
		src.active = []int32{0}
		b := winRows(t, at("+I 0 @23 0"))
		src.batch = b
		if err := a.Process(b, &log); err != nil {
			t.Fatal(err)
		}
		if log.wm != day0+23*sec {
			t.Errorf("perRow=%v: after partition 1 ended, watermark %d s, want 23 s", perRow, (log.wm-day0)/sec)
		}
	}

	// The same rows without per-split tracking: partition 1's rows are late.
	a := &ops.WatermarkAssigner{Expr: expr.Col(1, types.Timestamp, "ts"), TimeCol: 1}
	var log eventLog
	if err := a.Process(winRows(t, at(rows)), &log); err != nil {
		t.Fatal(err)
	}
	if len(log.late) == 0 {
		t.Errorf("one watermark per subtask: want late rows, got %v", log.events)
	}
}

// A partition that produces nothing holds the watermark back until the
// idle timeout, measured on the assigner's clock; when it resumes it holds
// it again (its rows behind the watermark are late), and never moves the
// emitted watermark back.
func TestWatermarkAssignerIdleSplitExcluded(t *testing.T) {
	src := &splitRows{active: []int32{0, 1}}
	a := assignerOver(t, src, 10*time.Second)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	a.Now = func() time.Time { return now }
	var log eventLog
	process := func(text string) {
		t.Helper()
		b := winRows(t, at(text))
		src.batch = b
		if err := a.Process(b, &log); err != nil {
			t.Fatal(err)
		}
	}
	process("+I 0 @10 0 / +I 0 @20 0")
	if len(log.events) != 2 {
		t.Fatalf("partition 1 has no row yet: want no watermark, got %v", log.events)
	}
	now = now.Add(9 * time.Second)
	process("+I 0 @30 0")
	if log.wm != 0 {
		t.Fatalf("partition 1 not idle yet (9 s of 10): want no watermark, got %v", log.events)
	}
	now = now.Add(time.Second)
	process("+I 0 @40 0")
	if log.wm != day0+40*sec {
		t.Fatalf("partition 1 idle: want watermark 40 s, got %v", log.events)
	}
	// Partition 0 stops too: the runtime reports the idle source; partition
	// 1 comes back behind the watermark.
	now = now.Add(time.Second)
	if err := a.SourceIdle(now, &log); err != nil {
		t.Fatal(err)
	}
	process("+I 1 @35 0 / +I 0 @50 0")
	if log.wm != day0+40*sec {
		t.Fatalf("partition 1 back at 35 s: want the watermark to stay at 40 s, got %v", log.events)
	}
	if !slices.Equal(log.late, []string{"1@35"}) {
		t.Errorf("late rows %v, want [1@35]", log.late)
	}
	process("+I 1 @45 0")
	if log.wm != day0+45*sec {
		t.Fatalf("want watermark 45 s (partition 1 holds it), got %v", log.events)
	}
	// Partition 1 goes quiet again; a call of SourceIdle (the source had
	// nothing to read) releases it.
	now = now.Add(5 * time.Second)
	process("+I 0 @55 0")
	if log.wm != day0+45*sec {
		t.Fatalf("partition 1 quiet for 5 s: want watermark 45 s, got %v", log.events)
	}
	now = now.Add(5 * time.Second)
	if err := a.SourceIdle(now, &log); err != nil {
		t.Fatal(err)
	}
	if log.wm != day0+55*sec {
		t.Fatalf("partition 1 idle again: want watermark 55 s, got %v", log.events)
	}
}

// BenchmarkWatermarkAssigner measures the assigner over in-order batches
// of 1024 rows, as one split and as 8 interleaved partitions.
func BenchmarkWatermarkAssigner(b *testing.B) {
	for _, splits := range []int{1, 8} {
		b.Run(fmt.Sprintf("splits=%d", splits), func(b *testing.B) {
			src := &splitRows{}
			for i := range splits {
				src.active = append(src.active, int32(i))
			}
			in := types.NewBatch(winIn)
			for i := range types.DefaultBatchSize {
				in.Ops = append(in.Ops, types.Insert)
				in.Cols[0].I64 = append(in.Cols[0].I64, int64(i%splits))
				in.Cols[1].I64 = append(in.Cols[1].I64, day0+int64(i))
				in.Cols[2].I64 = append(in.Cols[2].I64, 0)
			}
			a := &ops.WatermarkAssigner{Expr: expr.Col(1, types.Timestamp, "ts"), TimeCol: 1}
			if splits > 1 {
				a.Splits = src
			}
			var out discardOut
			b.ReportAllocs()
			b.SetBytes(int64(in.Len()))
			for n := range b.N {
				bt := types.NewBatch(winIn)
				exec.AppendRows(bt, in, allRows[:in.Len()])
				off := int64(n) * int64(in.Len())
				for i := range bt.Cols[1].I64 {
					bt.Cols[1].I64[i] += off
				}
				src.batch = bt
				if err := a.Process(bt, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var allRows = func() []int32 {
	rs := make([]int32, types.DefaultBatchSize)
	for i := range rs {
		rs[i] = int32(i)
	}
	return rs
}()

type discardOut struct{}

func (discardOut) Collect(b *types.Batch) error { b.Release(); return nil }
func (discardOut) EmitWatermark(int64) error    { return nil }
