package kafka

import (
	"slices"
	"testing"

	"github.com/sluicesql/sluice/exec/ops"
)

var _ ops.SplitSource = (*Source)(nil)

// A partition read to its bounded end is no longer an active split, so it
// stops holding back the watermark.
func TestSourceActiveSplits(t *testing.T) {
	s := &Source{parts: map[tp]*partState{
		{"a", 0}: {id: 0, stop: -1},
		{"a", 1}: {id: 1, stop: 5, done: true},
		{"b", 0}: {id: 2, stop: -1},
	}, rowSplit: []int32{2, 0, 2}}
	got := s.ActiveSplits(nil)
	slices.Sort(got)
	if !slices.Equal(got, []int32{0, 2}) {
		t.Errorf("active splits %v, want [0 2]", got)
	}
	if s.SplitOf(1) != 0 || s.SplitOf(2) != 2 {
		t.Errorf("SplitOf: %d %d, want 0 2", s.SplitOf(1), s.SplitOf(2))
	}
}
