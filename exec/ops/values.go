package ops

import (
	"encoding/binary"
	"fmt"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// Values is a bounded source of literal rows (VALUES, or a constant table).
// Subtask s of p emits rows s, s+p, s+2p, ... as inserts, in batches of at
// most types.DefaultBatchSize, then ends. Every datum must be NULL or of
// its column's physical class.
type Values struct {
	Rows [][]types.Datum

	next, step int
}

// ValuesFactory returns a factory of Values sources sharing rows (which
// must not change while the job runs).
func ValuesFactory(rows [][]types.Datum) exec.SourceFactory {
	return func(int) (exec.Source, error) { return &Values{Rows: rows}, nil }
}

var _ exec.Source = (*Values)(nil)

// Open implements exec.Source.
func (v *Values) Open(tc *exec.TaskContext) error {
	v.next, v.step = tc.Subtask, max(tc.Parallelism, 1)
	return nil
}

// Next implements exec.Source.
func (v *Values) Next(b *types.Batch) (bool, error) {
	if v.step == 0 {
		v.step = 1
	}
	for ; v.next < len(v.Rows) && b.Len() < types.DefaultBatchSize; v.next += v.step {
		row := v.Rows[v.next]
		if len(row) != len(b.Cols) {
			return false, fmt.Errorf("values: row %d has %d values for %d columns", v.next+1, len(row), len(b.Cols))
		}
		for c := range row {
			if !row[c].Null && row[c].Type.Class() != b.Cols[c].Type.Class() {
				return false, fmt.Errorf("values: row %d column %d: %v value for a %v column",
					v.next+1, c, row[c].Type, b.Cols[c].Type)
			}
		}
		b.AppendRow(types.Insert, row)
	}
	return v.next >= len(v.Rows), nil
}

// Close implements exec.Source.
func (v *Values) Close() error { return nil }

// Snapshot implements exec.Snapshotter: the index of the next row.
func (v *Values) Snapshot(int64) ([]byte, error) {
	return binary.AppendUvarint(nil, uint64(v.next)), nil
}

// Restore implements exec.Restorer: it continues after the rows emitted
// before the checkpoint. Values sources are restored at their checkpointed
// parallelism, so there is at most one snapshot.
func (v *Values) Restore(id int64, snaps [][]byte) error {
	if len(snaps) > 1 {
		return fmt.Errorf("values: %d snapshots for one subtask in checkpoint %d", len(snaps), id)
	}
	for _, s := range snaps {
		n, k := binary.Uvarint(s)
		if k <= 0 || k != len(s) {
			return fmt.Errorf("values: corrupt snapshot in checkpoint %d", id)
		}
		v.next = int(n)
	}
	return nil
}
