package nexmark

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// batchGen holds what the column fillers of one batch share: the event
// numbers and times of its rows and scratch buffers. It belongs to one
// subtask and is reused across batches.
type batchGen struct {
	clock  clock
	events []int64 // event number of each row
	millis []int64 // event time of each row, ms since the epoch
	// scratch is for fillers that regenerate other columns' values
	// (to size extra).
	scratch []byte
	ends    []int
}

// prepare sets the batch's rows to rows first, first+stride, ... of kind
// k's table (count of them).
func (g *batchGen) prepare(k kind, first, stride int64, count int, times bool) {
	g.events = g.events[:0]
	for i := range int64(count) {
		g.events = append(g.events, k.eventNumber(first+i*stride))
	}
	g.millis = g.millis[:0]
	if times {
		for _, n := range g.events {
			g.millis = append(g.millis, g.clock.millis(n))
		}
	}
}

// micros converts an event time in ms to t's representation (µs) floored
// to t's precision.
func (g *batchGen) micros(ms int64, t types.Type) int64 {
	us := ms * 1000
	if t.Precision < 3 {
		unit := int64(math.Pow10(6 - t.Precision))
		us -= us % unit
	}
	return us
}

// strings fills string column v with gen's value for each row. gen appends
// the value of event n to dst. The values share one buffer allocated for
// the batch, which is never written again once it backs the strings: no
// allocation or copy per row. avg is the expected length, to size the
// buffer.
func (g *batchGen) strings(v *types.Vector, avg int, gen func(dst []byte, n int64) []byte) {
	buf := make([]byte, 0, len(g.events)*(avg+avg/4)+8)
	g.ends = g.ends[:0]
	for _, n := range g.events {
		buf = gen(buf, n)
		g.ends = append(g.ends, len(buf))
	}
	if len(buf) == 0 {
		return // every slot holds "" already
	}
	s := unsafe.String(unsafe.SliceData(buf), len(buf))
	prev := 0
	for i, e := range g.ends {
		v.Str[i] = s[prev:e]
		prev = e
	}
}

// Source is the nexmark source of one subtask. Subtask s of p produces the
// rows k ≡ s (mod p) of its table, in increasing order, up to the table's
// row count when bounded.
//
// Contract: as exec.Source; Position and SeekTo are called from the subtask's
// goroutine too (between Next calls, or before Open to restore).
type Source struct {
	cfg   *config
	fills []filler // fillers of the requested columns, in output order
	times bool     // a requested column needs event times

	subtask, parallelism int64
	// next is the number of the next row of the table this subtask produces.
	next int64
	gen  batchGen
}

var _ exec.Source = (*Source)(nil)

func newSource(cfg *config, cols []column) *Source {
	s := &Source{cfg: cfg, parallelism: 1, gen: batchGen{clock: cfg.clock}}
	for _, c := range cols {
		s.fills = append(s.fills, c.fill)
		s.times = s.times || c.class == classTime
	}
	return s
}

// Open implements exec.Source. It aligns a position set by SeekTo to this
// subtask's rows.
func (s *Source) Open(tc *exec.TaskContext) error {
	p := max(tc.Parallelism, 1)
	if tc.Subtask < 0 || tc.Subtask >= p {
		return fmt.Errorf("nexmark: subtask %d out of range for parallelism %d", tc.Subtask, p)
	}
	s.subtask, s.parallelism = int64(tc.Subtask), int64(p)
	s.next = s.align(s.next)
	return nil
}

// align returns the first row number >= r that belongs to this subtask.
func (s *Source) align(r int64) int64 {
	r = max(r, 0)
	if d := (s.subtask - r%s.parallelism + s.parallelism) % s.parallelism; d > 0 {
		return r + d
	}
	return r
}

// remaining returns how many rows this subtask has left (math.MaxInt64 when
// unbounded).
func (s *Source) remaining() int64 {
	if s.cfg.rows < 0 {
		return math.MaxInt64
	}
	if s.next >= s.cfg.rows {
		return 0
	}
	return (s.cfg.rows - s.next + s.parallelism - 1) / s.parallelism
}

// Next implements exec.Source: types.DefaultBatchSize rows, fewer at the
// end of a bounded table. It never blocks.
func (s *Source) Next(b *types.Batch) (bool, error) {
	rem := s.remaining()
	if rem == 0 {
		return true, nil
	}
	n := int(min(rem, types.DefaultBatchSize))
	s.generate(b, n)
	return s.remaining() == 0, nil
}

// generate appends n rows starting at s.next to the empty batch b.
func (s *Source) generate(b *types.Batch, n int) {
	for range n {
		b.Ops = append(b.Ops, types.Insert)
	}
	s.gen.prepare(s.cfg.kind, s.next, s.parallelism, n, s.times)
	for j, fill := range s.fills {
		v := &b.Cols[j]
		v.Resize(n)
		fill(&s.gen, v)
	}
	s.next += int64(n) * s.parallelism
}

// Close implements exec.Source; it holds no resources.
func (s *Source) Close() error { return nil }

// Position returns the number of the next row of the table this subtask
// will produce (its rows before it have been produced). A checkpoint
// records it; after the subtask has finished it is at least the table's row
// count.
func (s *Source) Position() int64 { return s.next }

// SeekTo makes the subtask continue at the first of its rows numbered >=
// next. It may be called before Open (to restore a checkpoint) or between
// Next calls.
func (s *Source) SeekTo(next int64) {
	s.next = s.align(next)
}
