package postgres

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/sluicesql/sluice/exec/types"
)

// Row ops in the encoded form: what the row does to the target table once
// the changelog is folded.
const (
	opUpsert byte = 'u' // insert, or replace the row with the same key
	opDelete byte = 'd' // delete the row with this key
)

// Encoded rows. A row is its op byte followed by every column:
//
//	0x00                      NULL
//	0x01 zigzag varint        integer classes (ints, decimals, dates, times, timestamps, booleans)
//	0x01 8 bytes LE           FLOAT and DOUBLE (IEEE 754 bits)
//	0x01 uvarint len, bytes   strings and BYTES
//
// Rows are self-delimiting given the column types, so an epoch's rows are
// simply concatenated. The same encoding of the primary key columns alone
// is the key the buffer folds the changelog by.

// appendValue appends row i of v in the encoded form.
func appendValue(dst []byte, v *types.Vector, i int) []byte {
	if v.IsNull(i) {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	switch v.Type.Class() {
	case types.ClassF64:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.F64[i]))
	case types.ClassStr:
		dst = binary.AppendUvarint(dst, uint64(len(v.Str[i])))
		return append(dst, v.Str[i]...)
	default:
		return binary.AppendVarint(dst, v.I64[i])
	}
}

// value is one decoded column value; s aliases the encoded bytes.
type value struct {
	null bool
	i    int64
	f    float64
	s    []byte
}

var errCorrupt = errors.New("corrupt encoded row")

// decodeRow reads one row at data[pos:] into row (one value per class)
// and returns its op and the position after it.
func decodeRow(data []byte, pos int, classes []types.Class, row []value) (byte, int, error) {
	if pos >= len(data) {
		return 0, pos, errCorrupt
	}
	op := data[pos]
	pos++
	for c, cl := range classes {
		if pos >= len(data) {
			return 0, pos, errCorrupt
		}
		present := data[pos]
		pos++
		if present == 0 {
			row[c] = value{null: true}
			continue
		}
		switch cl {
		case types.ClassF64:
			if pos+8 > len(data) {
				return 0, pos, errCorrupt
			}
			row[c] = value{f: math.Float64frombits(binary.LittleEndian.Uint64(data[pos:]))}
			pos += 8
		case types.ClassStr:
			n, k := binary.Uvarint(data[pos:])
			if k <= 0 || uint64(len(data)-pos-k) < n {
				return 0, pos, errCorrupt
			}
			pos += k
			row[c] = value{s: data[pos : pos+int(n) : pos+int(n)]}
			pos += int(n)
		default:
			v, k := binary.Varint(data[pos:])
			if k <= 0 {
				return 0, pos, errCorrupt
			}
			row[c] = value{i: v}
			pos += k
		}
	}
	return op, pos, nil
}

// slot locates a buffered row in the arena.
type slot struct{ off, end int }

// buffer holds the changelog of one epoch (checkpoint interval or flush
// interval), folded: with a primary key the last op of each key wins (a -U
// or -D becomes a delete, a +I or +U an upsert, so -U followed by +U of the
// same key leaves the upsert); without one every +I is kept in order.
//
// Rows are kept encoded in one arena; a row that replaces an earlier one
// of its key leaves garbage behind, compacted when it outweighs the live
// rows.
type buffer struct {
	cols  []types.Type
	key   []int // primary key column indexes; empty: append-only
	arena []byte
	slots []slot           // live rows, in order of first appearance
	index map[string]int32 // encoded key → slots index (keyed only)
	dead  int              // garbage bytes in arena
	kbuf  []byte
}

// compactAt is the garbage size above which the arena is compacted (when
// garbage also exceeds the live rows).
const compactAt = 4 << 20

// keepArena is the largest arena kept for the next epoch.
const keepArena = 64 << 20

func newBuffer(cols []types.Type, key []int) *buffer {
	b := &buffer{cols: cols, key: key}
	if len(key) > 0 {
		b.index = make(map[string]int32)
	}
	return b
}

// len returns the number of buffered rows (after folding).
func (b *buffer) len() int { return len(b.slots) }

// bytes returns the size of the live encoded rows.
func (b *buffer) bytes() int { return len(b.arena) - b.dead }

// add folds the rows of in into the buffer. Without a primary key only +I
// is accepted.
func (b *buffer) add(in *types.Batch) error {
	if len(in.Cols) != len(b.cols) {
		return fmt.Errorf("batch has %d columns, the table has %d", len(in.Cols), len(b.cols))
	}
	for i, op := range in.Ops {
		if len(b.key) == 0 {
			if op != types.Insert {
				return fmt.Errorf("a table without a primary key accepts only inserts (+I), got %s: declare a PRIMARY KEY to absorb updates and deletes", op)
			}
			off := len(b.arena)
			b.arena = b.appendRow(b.arena, opUpsert, in, i)
			b.slots = append(b.slots, slot{off, len(b.arena)})
			continue
		}
		code := opDelete
		if op.IsAdd() {
			code = opUpsert
		}
		b.kbuf = b.kbuf[:0]
		for _, k := range b.key {
			b.kbuf = appendValue(b.kbuf, &in.Cols[k], i)
		}
		off := len(b.arena)
		b.arena = b.appendRow(b.arena, code, in, i)
		if at, ok := b.index[string(b.kbuf)]; ok {
			s := &b.slots[at]
			b.dead += s.end - s.off
			*s = slot{off, len(b.arena)}
		} else {
			b.index[string(b.kbuf)] = int32(len(b.slots))
			b.slots = append(b.slots, slot{off, len(b.arena)})
		}
	}
	if b.dead > compactAt && b.dead > len(b.arena)-b.dead {
		b.compact()
	}
	return nil
}

func (b *buffer) appendRow(dst []byte, op byte, in *types.Batch, i int) []byte {
	dst = append(dst, op)
	for c := range in.Cols {
		dst = appendValue(dst, &in.Cols[c], i)
	}
	return dst
}

// compact rewrites the arena without garbage.
func (b *buffer) compact() {
	arena := make([]byte, 0, len(b.arena)-b.dead)
	for i, s := range b.slots {
		off := len(arena)
		arena = append(arena, b.arena[s.off:s.end]...)
		b.slots[i] = slot{off, len(arena)}
	}
	b.arena, b.dead = arena, 0
}

// rows is a folded epoch: encoded rows, how many, how many are deletes.
type rows struct {
	data          []byte
	count, delete int
}

// take returns the buffered rows (a copy the buffer no longer uses) and
// empties the buffer, keeping its memory.
func (b *buffer) take() rows {
	r := rows{data: make([]byte, 0, b.bytes()), count: len(b.slots)}
	for _, s := range b.slots {
		if b.arena[s.off] == opDelete {
			r.delete++
		}
		r.data = append(r.data, b.arena[s.off:s.end]...)
	}
	b.arena, b.slots, b.dead = b.arena[:0], b.slots[:0], 0
	if cap(b.arena) > keepArena {
		b.arena, b.slots = nil, nil // after an unusually large epoch
	}
	if b.index != nil {
		clear(b.index)
	}
	return r
}
