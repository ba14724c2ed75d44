package postgres

import (
	"encoding/binary"
	"fmt"

	"github.com/sluicesql/sluice/exec/types"
)

// epoch is the folded changelog of one checkpoint interval of one sink
// subtask: applied in one transaction together with the progress row
// (sinkID, subtask) once checkpoint id completes.
type epoch struct {
	id      int64
	sinkID  string
	subtask int
	rows
}

// Snapshot format (what Snapshot returns and Restore reads):
//
//	"SPG1"
//	uvarint  number of epochs
//	per epoch:
//	  varint   checkpoint id
//	  uvarint  len, bytes   sink id
//	  uvarint  subtask
//	  uvarint  number of columns, then one byte per column: its Kind
//	  uvarint  rows, uvarint deletes
//	  uvarint  len, bytes   encoded rows (see buffer.go)
const snapshotMagic = "SPG1"

// encodeSnapshot encodes the pending epochs; nil when there are none.
func encodeSnapshot(eps []*epoch, cols []types.Type) []byte {
	if len(eps) == 0 {
		return nil
	}
	size := len(snapshotMagic) + 10
	for _, e := range eps {
		size += 64 + len(e.sinkID) + len(cols) + len(e.data)
	}
	out := make([]byte, 0, size)
	out = append(out, snapshotMagic...)
	out = binary.AppendUvarint(out, uint64(len(eps)))
	for _, e := range eps {
		out = binary.AppendVarint(out, e.id)
		out = binary.AppendUvarint(out, uint64(len(e.sinkID)))
		out = append(out, e.sinkID...)
		out = binary.AppendUvarint(out, uint64(e.subtask))
		out = binary.AppendUvarint(out, uint64(len(cols)))
		for _, t := range cols {
			out = append(out, byte(t.Kind))
		}
		out = binary.AppendUvarint(out, uint64(e.count))
		out = binary.AppendUvarint(out, uint64(e.delete))
		out = binary.AppendUvarint(out, uint64(len(e.data)))
		out = append(out, e.data...)
	}
	return out
}

// decodeSnapshot reads what encodeSnapshot wrote, checking that the
// columns are those of cols (same count, same storage classes).
func decodeSnapshot(data []byte, cols []types.Type) ([]*epoch, error) {
	if len(data) < len(snapshotMagic) || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return nil, fmt.Errorf("not a postgres sink snapshot")
	}
	d := decoder{data: data, pos: len(snapshotMagic)}
	n := d.uvarint()
	var eps []*epoch
	for i := uint64(0); i < n && d.err == nil; i++ {
		e := &epoch{id: d.varint()}
		e.sinkID = string(d.bytes(d.uvarint()))
		e.subtask = int(d.uvarint())
		ncols := d.uvarint()
		kinds := d.bytes(ncols)
		if d.err == nil {
			if int(ncols) != len(cols) {
				return nil, fmt.Errorf("snapshot of checkpoint %d has %d columns, the table has %d", e.id, ncols, len(cols))
			}
			for c, k := range kinds {
				if (types.Type{Kind: types.Kind(k)}).Class() != cols[c].Class() {
					return nil, fmt.Errorf("snapshot of checkpoint %d: column %d was %v, the table has %v", e.id, c+1, types.Kind(k), cols[c].Kind)
				}
			}
		}
		e.count = int(d.uvarint())
		e.delete = int(d.uvarint())
		e.data = d.bytes(d.uvarint())
		eps = append(eps, e)
	}
	if d.err == nil && d.pos != len(data) {
		d.err = fmt.Errorf("%d trailing bytes", len(data)-d.pos)
	}
	if d.err != nil {
		return nil, fmt.Errorf("corrupt postgres sink snapshot: %w", d.err)
	}
	return eps, nil
}

// decoder reads varints and byte strings, remembering the first error.
type decoder struct {
	data []byte
	pos  int
	err  error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, k := binary.Uvarint(d.data[d.pos:])
	if k <= 0 {
		d.err = fmt.Errorf("bad varint at byte %d", d.pos)
		return 0
	}
	d.pos += k
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, k := binary.Varint(d.data[d.pos:])
	if k <= 0 {
		d.err = fmt.Errorf("bad varint at byte %d", d.pos)
		return 0
	}
	d.pos += k
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if uint64(len(d.data)-d.pos) < n {
		d.err = fmt.Errorf("truncated at byte %d", d.pos)
		return nil
	}
	b := d.data[d.pos : d.pos+int(n) : d.pos+int(n)]
	d.pos += int(n)
	return b
}
