package state

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/sluicesql/sluice/exec/types"
)

// Row encoding (values of built-in table rows, later operator state):
//
//	uvarint  number of columns n
//	n bits   NULL bitmap, (n+7)/8 bytes, bit i%8 of byte i/8 set = column i NULL
//	per non-NULL column, in order:
//	  I64 class  zigzag uvarint
//	  F64 class  8 bytes little-endian IEEE bits (exact, -0 and NaN kept)
//	  Str class  uvarint length, bytes
//
// The column count lets a row written before columns were appended be read
// with the longer schema: missing trailing columns decode as NULL.

// EncodeRow appends the encoding of ds to dst.
func EncodeRow(dst []byte, ds []types.Datum) []byte {
	n := len(ds)
	dst = binary.AppendUvarint(dst, uint64(n))
	bm := len(dst)
	for i := 0; i < (n+7)/8; i++ {
		dst = append(dst, 0)
	}
	for i := range ds {
		d := &ds[i]
		if d.Null {
			dst[bm+i/8] |= 1 << (i % 8)
			continue
		}
		switch d.Type.Class() {
		case types.ClassF64:
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(d.F))
		case types.ClassStr:
			dst = binary.AppendUvarint(dst, uint64(len(d.S)))
			dst = append(dst, d.S...)
		default:
			dst = binary.AppendVarint(dst, d.I)
		}
	}
	return dst
}

// EncodeBatchRow appends the encoding of row i of b (all its columns) to
// dst; the result equals EncodeRow(dst, b.Row(i, nil)).
func EncodeBatchRow(dst []byte, b *types.Batch, i int) []byte {
	n := len(b.Cols)
	dst = binary.AppendUvarint(dst, uint64(n))
	bm := len(dst)
	for j := 0; j < (n+7)/8; j++ {
		dst = append(dst, 0)
	}
	for c := range b.Cols {
		v := &b.Cols[c]
		if v.IsNull(i) {
			dst[bm+c/8] |= 1 << (c % 8)
			continue
		}
		switch v.Type.Class() {
		case types.ClassF64:
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.F64[i]))
		case types.ClassStr:
			dst = binary.AppendUvarint(dst, uint64(len(v.Str[i])))
			dst = append(dst, v.Str[i]...)
		default:
			dst = binary.AppendVarint(dst, v.I64[i])
		}
	}
	return dst
}

// DecodeRow decodes a row encoded by EncodeRow with column types ts into
// dst (reusing its capacity) and returns dst[:len(ts)]. Strings are copied
// out of b, so b may be reused afterwards. Stored columns beyond len(ts) are
// ignored; missing ones are NULL.
func DecodeRow(b []byte, ts []types.Type, dst []types.Datum) ([]types.Datum, error) {
	return DecodeRowProjected(b, ts, nil, dst)
}

// DecodeRowProjected is DecodeRow that only materialises the columns i with
// need[i] true (need nil = all): the others are returned as zero non-NULL
// datums without allocating their strings.
func DecodeRowProjected(b []byte, ts []types.Type, need []bool, dst []types.Datum) ([]types.Datum, error) {
	if cap(dst) < len(ts) {
		dst = make([]types.Datum, len(ts))
	}
	dst = dst[:len(ts)]
	n64, k := binary.Uvarint(b)
	if k <= 0 {
		return dst, fmt.Errorf("%w: row header", ErrCorrupt)
	}
	b = b[k:]
	n := int(n64)
	if n64 > uint64(len(b))*8+8 {
		return dst, fmt.Errorf("%w: row column count %d", ErrCorrupt, n64)
	}
	nb := (n + 7) / 8
	if len(b) < nb {
		return dst, fmt.Errorf("%w: row bitmap", ErrCorrupt)
	}
	bm := b[:nb]
	b = b[nb:]
	for i, t := range ts {
		if i >= n || bm[i/8]&(1<<(i%8)) != 0 {
			dst[i] = types.NullDatum(t)
			continue
		}
		d := types.Datum{Type: t}
		switch t.Class() {
		case types.ClassF64:
			if len(b) < 8 {
				return dst, fmt.Errorf("%w: row value %d", ErrCorrupt, i)
			}
			d.F = math.Float64frombits(binary.LittleEndian.Uint64(b))
			b = b[8:]
		case types.ClassStr:
			l, k := binary.Uvarint(b)
			if k <= 0 || uint64(len(b)-k) < l {
				return dst, fmt.Errorf("%w: row value %d", ErrCorrupt, i)
			}
			if need == nil || need[i] {
				d.S = string(b[k : k+int(l)])
			}
			b = b[k+int(l):]
		default:
			v, k := binary.Varint(b)
			if k <= 0 {
				return dst, fmt.Errorf("%w: row value %d", ErrCorrupt, i)
			}
			d.I = v
			b = b[k:]
		}
		dst[i] = d
	}
	return dst, nil
}

// DatumsEqual reports whether a and b hold the same values in SQL terms,
// with NULL equal to NULL (IS NOT DISTINCT FROM) and -0 = +0, NaN = NaN for
// floats. It is the equality under which HashDatums and EncodeKey agree.
func DatumsEqual(a, b []types.Datum) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.Null || y.Null {
			if x.Null != y.Null {
				return false
			}
			continue
		}
		switch x.Type.Class() {
		case types.ClassF64:
			if canonicalFloatBits(x.F) != canonicalFloatBits(y.F) {
				return false
			}
		case types.ClassStr:
			if x.S != y.S {
				return false
			}
		default:
			if x.I != y.I {
				return false
			}
		}
	}
	return true
}
