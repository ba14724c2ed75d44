package state

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/sluicesql/sluice/exec/types"
)

// Codecs for KeyedState values.

// RowCodec is a Codec of rows ([]types.Datum) with fixed column types,
// using EncodeRow/DecodeRow: rows written with fewer columns decode with
// the missing trailing columns NULL.
type RowCodec struct {
	types []types.Type
}

// NewRowCodec returns a RowCodec for rows of column types ts (copied).
func NewRowCodec(ts []types.Type) RowCodec { return RowCodec{types: slices.Clone(ts)} }

// Encode appends the EncodeRow encoding of row to dst.
func (c RowCodec) Encode(dst []byte, row []types.Datum) []byte { return EncodeRow(dst, row) }

// Decode decodes a row into a new slice (strings copied out of b).
func (c RowCodec) Decode(b []byte) ([]types.Datum, error) { return DecodeRow(b, c.types, nil) }

// Int64Codec is a Codec of int64 values (a zigzag varint).
type Int64Codec struct{}

// Encode appends v as a zigzag varint.
func (Int64Codec) Encode(dst []byte, v int64) []byte { return binary.AppendVarint(dst, v) }

// Decode decodes a value written by Encode.
func (Int64Codec) Decode(b []byte) (int64, error) {
	v, n := binary.Varint(b)
	if n <= 0 || n != len(b) {
		return 0, fmt.Errorf("%w: int64 value %x", ErrCorrupt, b)
	}
	return v, nil
}

// Int64sCodec is a Codec of []int64 values (count, then zigzag varints),
// handy for small fixed sets of counters or accumulators.
type Int64sCodec struct{}

// Encode appends the count of vs and each value as varints.
func (Int64sCodec) Encode(dst []byte, vs []int64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(vs)))
	for _, v := range vs {
		dst = binary.AppendVarint(dst, v)
	}
	return dst
}

// Decode decodes values written by Encode into a new slice.
func (Int64sCodec) Decode(b []byte) ([]int64, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, fmt.Errorf("%w: int64s header", ErrCorrupt)
	}
	b = b[k:]
	vs := make([]int64, n)
	for i := range vs {
		v, k := binary.Varint(b)
		if k <= 0 {
			return nil, fmt.Errorf("%w: int64s value %d", ErrCorrupt, i)
		}
		vs[i] = v
		b = b[k:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: int64s: %d trailing bytes", ErrCorrupt, len(b))
	}
	return vs, nil
}

// BytesCodec is a Codec of raw byte values (stored as they are; Decode
// copies).
type BytesCodec struct{}

// Encode appends v.
func (BytesCodec) Encode(dst []byte, v []byte) []byte { return append(dst, v...) }

// Decode returns a copy of b.
func (BytesCodec) Decode(b []byte) ([]byte, error) { return slices.Clone(b), nil }
