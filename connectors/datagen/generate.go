package datagen

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"

	"github.com/sluicesql/sluice/exec/types"
)

// genMode selects how a column's values are produced.
type genMode uint8

const (
	modeRandI64   genMode = iota // min + uniform in [min, max], floored to unit
	modeRandF64                  // minF + uniform in [minF, maxF)
	modeRandStr                  // length random hex digits
	modeRandBytes                // length random bytes
	modeSeqI64                   // (start + n) * mul
	modeSeqF64                   // float(start + n)
	modeSeqStr                   // decimal digits of start + n
)

func (m genMode) isSequence() bool { return m >= modeSeqI64 }

// colGen generates the values of one table column. It is immutable after
// parseConfig and shared by all subtasks.
type colGen struct {
	mode     genMode
	salt     uint64  // seeds the value stream
	nullSalt uint64  // seeds the null stream
	nullRate float64 // probability of NULL, 0..1

	start, end int64 // sequence bounds, inclusive
	mul        int64 // sequence scale factor: 10^scale for DECIMAL, else 1

	min, max int64 // random I64 range, inclusive
	unit     int64 // random I64 values are floored to a multiple of unit (TIME/TIMESTAMP precision)

	minF, maxF float64 // random F64 range
	float32    bool    // round F64 values to FLOAT precision

	length int // random string length
}

const hexDigits = "0123456789abcdef"

// fill writes the values of rows first, first+stride, ... (rows of them)
// into v, which must already hold rows slots. It allocates at most one
// string buffer per call for string modes, never per row.
func (g *colGen) fill(v *types.Vector, first, stride int64, rows int) {
	switch g.mode {
	case modeSeqI64:
		x := g.start + first
		for i := range rows {
			v.I64[i] = (x + int64(i)*stride) * g.mul
		}
	case modeSeqF64:
		x := g.start + first
		for i := range rows {
			v.F64[i] = g.roundFloat(float64(x + int64(i)*stride))
		}
	case modeSeqStr:
		g.fillSeqStr(v, first, stride, rows)
	case modeRandI64:
		g.fillRandI64(v, first, stride, rows)
	case modeRandF64:
		width := g.maxF - g.minF
		for i := range rows {
			v.F64[i] = g.roundFloat(g.minF + width*unit01(at(g.salt, first+int64(i)*stride)))
		}
	case modeRandStr, modeRandBytes:
		g.fillRandStr(v, first, stride, rows)
	}
	if g.nullRate > 0 {
		for i := range rows {
			if unit01(at(g.nullSalt, first+int64(i)*stride)) < g.nullRate {
				v.SetNull(i)
			}
		}
	}
}

func (g *colGen) roundFloat(f float64) float64 {
	if g.float32 {
		return float64(float32(f))
	}
	return f
}

func (g *colGen) fillRandI64(v *types.Vector, first, stride int64, rows int) {
	span := uint64(g.max-g.min) + 1 // 0 when the range is all of int64
	out := v.I64[:rows]
	if span == 0 {
		for i := range out {
			out[i] = int64(at(g.salt, first+int64(i)*stride))
		}
		return
	}
	for i := range out {
		hi, _ := bits.Mul64(at(g.salt, first+int64(i)*stride), span)
		out[i] = g.min + int64(hi)
	}
	if g.unit > 1 {
		for i, x := range out {
			r := x % g.unit
			if r < 0 {
				r += g.unit
			}
			x -= r
			if x < g.min {
				x += g.unit
			}
			out[i] = x
		}
	}
}

func (g *colGen) fillRandStr(v *types.Vector, first, stride int64, rows int) {
	n := g.length
	if n == 0 {
		return // Resize left "" in every slot
	}
	var sb strings.Builder
	sb.Grow(rows * n)
	var chunk [16]byte
	for i := range rows {
		h := at(g.salt, first+int64(i)*stride)
		for rem := n; rem > 0; {
			var k int
			if g.mode == modeRandBytes {
				binary.LittleEndian.PutUint64(chunk[:], h)
				k = min(rem, 8)
			} else {
				k = min(rem, 16)
				for j, x := 0, h; j < k; j, x = j+1, x>>4 {
					chunk[j] = hexDigits[x&15]
				}
			}
			sb.Write(chunk[:k])
			rem -= k
			h = mix(h + golden) // next 64 bits for long strings
		}
	}
	s := sb.String()
	for i := range rows {
		v.Str[i] = s[i*n : (i+1)*n]
	}
}

func (g *colGen) fillSeqStr(v *types.Vector, first, stride int64, rows int) {
	var sb strings.Builder
	sb.Grow(rows * 8)
	var digits [20]byte
	ends := make([]int, rows)
	x := g.start + first
	for i := range rows {
		sb.Write(strconv.AppendInt(digits[:0], x+int64(i)*stride, 10))
		ends[i] = sb.Len()
	}
	s := sb.String()
	prev := 0
	for i, e := range ends {
		v.Str[i] = s[prev:e]
		prev = e
	}
}
