package splitpos

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// version is the first byte of a snapshot.
const version = 1

// maxValue bounds each decoded number, so that it fits an int64 with room
// to spare.
const maxValue = 1 << 62

// ErrCorrupt is wrapped by the errors of Decode.
var ErrCorrupt = errors.New("corrupt split position")

// Position is the checkpointed position of one subtask of a strided split.
type Position struct {
	// Subtask owns the rows n ≡ Subtask (mod Parallelism); 0 <= Subtask <
	// Parallelism.
	Subtask, Parallelism int64
	// Next is the number of the next row the subtask produces.
	Next int64
}

// Encode returns the snapshot of p (see the package doc). Every field must
// be non-negative.
func (p Position) Encode() []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64)
	b = append(b, version)
	b = binary.AppendUvarint(b, uint64(p.Subtask))
	b = binary.AppendUvarint(b, uint64(p.Parallelism))
	return binary.AppendUvarint(b, uint64(p.Next))
}

// Decode reads a snapshot Encode wrote. It fails with an error wrapping
// ErrCorrupt on an unknown version, a truncated or overlong snapshot, a
// number above 2^62, or a subtask out of range of the parallelism.
func Decode(b []byte) (Position, error) {
	if len(b) == 0 || b[0] != version {
		return Position{}, fmt.Errorf("%w: unknown version", ErrCorrupt)
	}
	b = b[1:]
	var vals [3]int64
	for i := range vals {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > maxValue {
			return Position{}, fmt.Errorf("%w: bad number %d of 3", ErrCorrupt, i+1)
		}
		vals[i] = int64(v)
		b = b[n:]
	}
	if len(b) != 0 {
		return Position{}, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(b))
	}
	p := Position{Subtask: vals[0], Parallelism: vals[1], Next: vals[2]}
	if p.Parallelism == 0 || p.Subtask >= p.Parallelism {
		return Position{}, fmt.Errorf("%w: subtask %d of %d", ErrCorrupt, p.Subtask, p.Parallelism)
	}
	return p, nil
}

// Restore returns the position to continue from for subtask of
// parallelism after a restore from checkpoint id, whose snapshots for the
// subtask are snaps. It wants exactly one snapshot, taken by this very
// subtask at this parallelism, and fails otherwise. source names the
// connector in errors ("datagen").
func Restore(source string, subtask, parallelism, id int64, snaps [][]byte) (next int64, err error) {
	if len(snaps) != 1 {
		return 0, fmt.Errorf("%s subtask %d of %d: checkpoint %d holds %d positions for it, want exactly 1 "+
			"(a %s source must be restored at its checkpointed parallelism)", source, subtask, parallelism, id, len(snaps), source)
	}
	p, err := Decode(snaps[0])
	if err != nil {
		return 0, fmt.Errorf("%s subtask %d: checkpoint %d: corrupt %s position snapshot: %w", source, subtask, id, source, err)
	}
	if p.Subtask != subtask || p.Parallelism != parallelism {
		return 0, fmt.Errorf("%s subtask %d of %d: checkpoint %d recorded the position of subtask %d of %d "+
			"(a %s source must be restored at its checkpointed parallelism)", source, subtask, parallelism, id, p.Subtask, p.Parallelism, source)
	}
	return p.Next, nil
}

// Produced returns the numbers of the rows produced before the positions
// whose snapshots are snaps (one per subtask), sorted.
func Produced(snaps ...[]byte) ([]int64, error) {
	var rows []int64
	for _, b := range snaps {
		p, err := Decode(b)
		if err != nil {
			return nil, err
		}
		for n := p.Subtask; n < p.Next; n += p.Parallelism {
			rows = append(rows, n)
		}
	}
	slices.Sort(rows)
	return rows, nil
}
