package ops

import (
	"errors"
	"testing"

	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/types"
)

func TestSingleRow(t *testing.T) {
	ts := []types.Type{types.BigInt}
	op := &SingleRow{}
	var sink collectSink
	// One row, replaced by another (-U/+U in one batch), is fine.
	for _, in := range []string{"+I 1", "-U 1 / +U 2"} {
		if err := op.Process(exectest.MustParse(t, ts, in), &sink); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
	}
	err := op.Process(exectest.MustParse(t, ts, "+I 3"), &sink)
	if !errors.Is(err, ErrTooManyRows) {
		t.Fatalf("second live row: %v", err)
	}
}

type collectSink struct{ n int }

func (c *collectSink) Collect(b *types.Batch) error { c.n += b.Len(); b.Release(); return nil }
