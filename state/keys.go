package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/sluicesql/sluice/exec/types"
)

// Key namespaces: the first byte of every key in the store (see doc.go).
const (
	// NSMeta holds store-level metadata (the layout version).
	NSMeta byte = 0x00
	// NSCatalog holds catalog objects (package catalog).
	NSCatalog byte = 0x01
	// NSBuiltin holds built-in table rows and their per-table counters
	// (package connectors/builtin): NSBuiltin, table id (8 bytes BE), ...
	NSBuiltin byte = 0x02
	// NSOperator holds keyed operator state (KeyedState; see
	// OperatorNamespace).
	NSOperator byte = 0x03
	// NSCheckpoint is reserved for checkpoint metadata.
	NSCheckpoint byte = 0x04
)

// AppendUint64 appends v as 8 bytes big-endian (so keys sort numerically).
func AppendUint64(dst []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(dst, v) }

// BuiltinTablePrefix returns the prefix of every key of the built-in table
// (or materialized view) with the given catalog id: NSBuiltin followed by
// the id as 8 bytes big-endian. Deleting this prefix deletes the table's
// rows and counters.
func BuiltinTablePrefix(id uint64) []byte {
	return AppendUint64([]byte{NSBuiltin}, id)
}

// Key tags. A NULL sorts before every value.
const (
	keyNull    = 0x00
	keyNotNull = 0x01
)

// Escape of 0x00 inside strings and the string terminator.
const (
	strEscape = 0xFF // 0x00 0xFF encodes a 0x00 byte
	strEnd    = 0x01 // 0x00 0x01 ends the string
)

// EncodeKey appends the order-preserving encoding of ds to dst: for datums of
// the same types, bytes.Compare of two encodings orders them like
// types.Compare column by column, with NULL first. Each datum is a tag byte
// (0x00 NULL, 0x01 value) followed, for values, by:
//
//	I64 class  8 bytes big-endian with the sign bit flipped
//	F64 class  8 bytes: IEEE bits, sign bit flipped for positives and all
//	           bits flipped for negatives; -0 is written as +0 and every NaN
//	           as one NaN that sorts after +Inf (so equal SQL values encode
//	           equally)
//	Str class  the bytes with 0x00 escaped as 0x00 0xFF, then 0x00 0x01
//
// Every component is self-delimiting, so concatenations compare column by
// column and no encoding is a prefix of a different one.
func EncodeKey(dst []byte, ds []types.Datum) []byte {
	for i := range ds {
		d := &ds[i]
		if d.Null {
			dst = append(dst, keyNull)
			continue
		}
		dst = append(dst, keyNotNull)
		switch d.Type.Class() {
		case types.ClassF64:
			dst = AppendUint64(dst, encodeFloatKey(d.F))
		case types.ClassStr:
			dst = appendStringKey(dst, d.S)
		default:
			dst = AppendUint64(dst, uint64(d.I)^(1<<63))
		}
	}
	return dst
}

// EncodeKeyColumns appends the EncodeKey encoding of row i of columns cols
// of b, without building datums.
func EncodeKeyColumns(dst []byte, b *types.Batch, cols []int, i int) []byte {
	for _, c := range cols {
		v := &b.Cols[c]
		if v.IsNull(i) {
			dst = append(dst, keyNull)
			continue
		}
		dst = append(dst, keyNotNull)
		switch v.Type.Class() {
		case types.ClassF64:
			dst = AppendUint64(dst, encodeFloatKey(v.F64[i]))
		case types.ClassStr:
			dst = appendStringKey(dst, v.Str[i])
		default:
			dst = AppendUint64(dst, uint64(v.I64[i])^(1<<63))
		}
	}
	return dst
}

// canonicalFloatBits returns the bits of f with -0 mapped to +0 and every
// NaN to the same quiet NaN, so SQL-equal values have equal bits.
func canonicalFloatBits(f float64) uint64 {
	switch {
	case f == 0:
		return 0
	case f != f:
		return 0x7FF8000000000000
	}
	return math.Float64bits(f)
}

func encodeFloatKey(f float64) uint64 {
	u := canonicalFloatBits(f)
	if u&(1<<63) != 0 {
		return ^u
	}
	return u | 1<<63
}

func decodeFloatKey(u uint64) float64 {
	if u&(1<<63) != 0 {
		return math.Float64frombits(u &^ (1 << 63))
	}
	return math.Float64frombits(^u)
}

func appendStringKey(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 {
			dst = append(dst, 0, strEscape)
		} else {
			dst = append(dst, c)
		}
	}
	return append(dst, 0, strEnd)
}

// ErrCorrupt is returned by the decoders for bytes they did not encode.
var ErrCorrupt = errors.New("state: corrupt encoding")

// DecodeKey decodes len(ts) datums encoded by EncodeKey from the start of b,
// appending them to dst, and returns them with the rest of b. Floats come
// back canonical (-0 as +0, NaN as the one quiet NaN); every other value
// round-trips exactly.
func DecodeKey(b []byte, ts []types.Type, dst []types.Datum) ([]types.Datum, []byte, error) {
	for _, t := range ts {
		if len(b) == 0 {
			return dst, b, fmt.Errorf("%w: key too short", ErrCorrupt)
		}
		tag := b[0]
		b = b[1:]
		if tag == keyNull {
			dst = append(dst, types.NullDatum(t))
			continue
		}
		if tag != keyNotNull {
			return dst, b, fmt.Errorf("%w: key tag %#x", ErrCorrupt, tag)
		}
		switch t.Class() {
		case types.ClassF64:
			if len(b) < 8 {
				return dst, b, fmt.Errorf("%w: key too short", ErrCorrupt)
			}
			dst = append(dst, types.Datum{Type: t, F: decodeFloatKey(binary.BigEndian.Uint64(b))})
			b = b[8:]
		case types.ClassStr:
			s, rest, err := decodeStringKey(b)
			if err != nil {
				return dst, b, err
			}
			dst = append(dst, types.Datum{Type: t, S: s})
			b = rest
		default:
			if len(b) < 8 {
				return dst, b, fmt.Errorf("%w: key too short", ErrCorrupt)
			}
			dst = append(dst, types.Datum{Type: t, I: int64(binary.BigEndian.Uint64(b) ^ (1 << 63))})
			b = b[8:]
		}
	}
	return dst, b, nil
}

func decodeStringKey(b []byte) (string, []byte, error) {
	// Fast path: no escaped zero bytes.
	for i := 0; i+1 < len(b); i++ {
		if b[i] != 0 {
			continue
		}
		if b[i+1] == strEnd {
			return string(b[:i]), b[i+2:], nil
		}
		// Escapes present: decode the slow way.
		out := make([]byte, 0, len(b))
		for j := 0; j+1 < len(b); j++ {
			if b[j] != 0 {
				out = append(out, b[j])
				continue
			}
			switch b[j+1] {
			case strEnd:
				return string(out), b[j+2:], nil
			case strEscape:
				out = append(out, 0)
				j++
			default:
				return "", b, fmt.Errorf("%w: string key escape %#x", ErrCorrupt, b[j+1])
			}
		}
		break
	}
	return "", b, fmt.Errorf("%w: unterminated string key", ErrCorrupt)
}
