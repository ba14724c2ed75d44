package exec

import "github.com/sluicesql/sluice/exec/types"

// WatermarkCollector is implemented by every Collector the runtime passes to
// an operator. An operator that generates event time (a watermark assigner
// after a source, say) emits a watermark with
//
//	if wc, ok := out.(WatermarkCollector); ok { err = wc.EmitWatermark(wm) }
//
// The watermark passes through the rest of the chain (WatermarkHandler
// operators) and is sent downstream if it is above the last one sent.
// Same calling rules as Collect: only from the subtask's goroutine, during
// Process, ProcessWatermark or Finish.
type WatermarkCollector interface {
	Collector
	EmitWatermark(wm int64) error
}

// link feeds one operator of a chain: Collect calls op.Process with the
// next link as its collector.
type link struct {
	op   Operator
	wm   WatermarkHandler // op's capability, nil if absent
	next WatermarkCollector
}

func (l *link) Collect(b *types.Batch) error {
	if b.Len() == 0 {
		b.Release()
		return nil
	}
	return l.op.Process(b, l.next)
}

func (l *link) EmitWatermark(wm int64) error {
	if l.wm != nil {
		var err error
		if wm, err = l.wm.ProcessWatermark(wm, l.next); err != nil {
			return err
		}
	}
	return l.next.EmitWatermark(wm)
}
