package exec

import "time"

// SourceIdleListener is implemented by operators chained after a source
// that act when the source has nothing to read, such as a watermark
// assigner that stops holding back the watermark of an idle split
// ('scan.watermark.idle-timeout').
//
// Contract: the runtime calls SourceIdle on every operator of a source's chain
// that implements it, in chain order, from the source subtask's
// goroutine after a call of Source.Next that returned no rows and did not
// end the source (an unbounded source waiting for data returns such an
// empty batch within about 100 ms), with the current time and the
// operator's downstream collector, which is also a WatermarkCollector.
// SourceIdle may emit watermarks, not rows.
type SourceIdleListener interface {
	SourceIdle(now time.Time, out Collector) error
}
