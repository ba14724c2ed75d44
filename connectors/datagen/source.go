package datagen

import (
	"context"
	"fmt"
	"math"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// Source is the datagen source of one subtask. Subtask s of p produces the
// rows n ≡ s (mod p) with n < the table's row count, in increasing order.
//
// Contract: as exec.Source; Position and SeekTo are called from the subtask's
// goroutine too (between Next calls, or before Open to restore).
type Source struct {
	cfg  *config
	gens []*colGen // generators of the requested columns, in output order

	subtask, parallelism int64
	// next is the global number of the next row this subtask produces.
	next int64
	thr  throttle
	ctx  context.Context
}

var _ exec.Source = (*Source)(nil)

func newSource(cfg *config, cols []int) *Source {
	s := &Source{cfg: cfg, gens: make([]*colGen, len(cols)), parallelism: 1, ctx: context.Background()}
	for i, c := range cols {
		s.gens[i] = &cfg.cols[c]
	}
	return s
}

// Open implements exec.Source. It aligns a position set by SeekTo to this
// subtask's rows.
func (s *Source) Open(tc *exec.TaskContext) error {
	p := max(tc.Parallelism, 1)
	if tc.Subtask < 0 || tc.Subtask >= p {
		return fmt.Errorf("datagen: subtask %d out of range for parallelism %d", tc.Subtask, p)
	}
	s.subtask, s.parallelism = int64(tc.Subtask), int64(p)
	if tc.Ctx != nil {
		s.ctx = tc.Ctx
	}
	s.next = s.align(s.next)
	rate := 0.0
	if s.cfg.rowsPerSecond > 0 {
		rate = float64(s.cfg.rowsPerSecond) / float64(p)
	}
	s.thr = newThrottle(rate, types.DefaultBatchSize)
	return nil
}

// align returns the first row number >= n that belongs to this subtask.
func (s *Source) align(n int64) int64 {
	n = max(n, 0)
	if r := (s.subtask - n%s.parallelism + s.parallelism) % s.parallelism; r > 0 {
		return n + r
	}
	return n
}

// remaining returns how many rows this subtask has left (math.MaxInt64 when
// unbounded).
func (s *Source) remaining() int64 {
	if s.cfg.total < 0 {
		return math.MaxInt64
	}
	if s.next >= s.cfg.total {
		return 0
	}
	return (s.cfg.total - s.next + s.parallelism - 1) / s.parallelism
}

// Next implements exec.Source: up to types.DefaultBatchSize rows, fewer when
// throttled (possibly none, after waiting at most 100 ms).
func (s *Source) Next(b *types.Batch) (bool, error) {
	rem := s.remaining()
	if rem == 0 {
		return true, nil
	}
	want := int(min(rem, types.DefaultBatchSize))
	n, err := s.thr.take(s.ctx, want)
	if err != nil {
		return false, fmt.Errorf("datagen: %w", err)
	}
	if n > 0 {
		s.generate(b, n)
	}
	return s.remaining() == 0, nil
}

// generate appends n rows starting at s.next to the empty batch b.
func (s *Source) generate(b *types.Batch, n int) {
	for range n {
		b.Ops = append(b.Ops, types.Insert)
	}
	for j, g := range s.gens {
		v := &b.Cols[j]
		v.Resize(n)
		g.fill(v, s.next, s.parallelism, n)
	}
	s.next += int64(n) * s.parallelism
}

// Close implements exec.Source; it holds no resources.
func (s *Source) Close() error { return nil }

// Position returns the global number of the next row this subtask will
// produce (rows before it that belong to this subtask have been produced).
// A checkpoint records it; after the subtask has finished it is at least the
// table's row count.
func (s *Source) Position() int64 { return s.next }

// SeekTo makes the subtask continue at the first of its rows numbered >=
// next. It may be called before Open (to restore a checkpoint) or between
// Next calls. (Not named Seek: go vet reserves that name for io.Seeker's
// signature.)
func (s *Source) SeekTo(next int64) {
	s.next = s.align(next)
}
