package expr

import (
	"math"
	"math/bits"

	"github.com/sluicesql/sluice/exec/types"
)

// DECIMAL arithmetic on int64 unscaled values. Intermediate products use
// 128 bits (math/bits), so nothing allocates.

func abs64(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}

// rescale converts unscaled v from scale `from` to scale `to`, rounding
// half away from zero when the scale shrinks. ok is false on overflow.
func rescale(v int64, from, to int) (int64, bool) {
	switch {
	case from == to:
		return v, true
	case to > from:
		d := to - from
		if d > types.MaxDecimalPrecision {
			return 0, v == 0
		}
		return mulCheck(v, types.Pow10[d])
	default:
		d := from - to
		if d > types.MaxDecimalPrecision {
			return 0, true
		}
		return divRound(v, types.Pow10[d]), true
	}
}

// rescaleDown rounds a value of scale s to an integer (half away from zero).
func rescaleDown(v int64, s int) int64 {
	if s <= 0 {
		return v
	}
	if s > types.MaxDecimalPrecision {
		return 0
	}
	return divRound(v, types.Pow10[s])
}

// divRound divides v by a positive d rounding half away from zero.
func divRound(v, d int64) int64 {
	q, r := v/d, v%d
	if r < 0 {
		r = -r
	}
	if uint64(r)*2 >= uint64(d) {
		if v < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}

// divTrunc divides v by a positive power of ten truncating toward zero.
func divTrunc(v int64, s int) int64 {
	if s <= 0 {
		return v
	}
	if s > types.MaxDecimalPrecision {
		return 0
	}
	return v / types.Pow10[s]
}

func mulCheck(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	c := a * b
	if c/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return c, true
}

// mulDivRound computes a*b/d (d > 0) with a 128-bit intermediate, rounding
// half away from zero. ok is false when the result does not fit int64.
func mulDivRound(a, b int64, d uint64) (int64, bool) {
	neg := (a < 0) != (b < 0)
	hi, lo := bits.Mul64(abs64(a), abs64(b))
	if hi >= d {
		return 0, false
	}
	q, r := bits.Div64(hi, lo, d)
	if r >= d-r { // r*2 >= d without overflow
		q++
	}
	if q > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(q), true
	}
	return int64(q), true
}

// mulDivTrunc is mulDivRound truncating toward zero.
func mulDivTrunc(a, b int64, d uint64) (int64, bool) {
	neg := (a < 0) != (b < 0)
	hi, lo := bits.Mul64(abs64(a), abs64(b))
	if hi >= d {
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, d)
	if q > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(q), true
	}
	return int64(q), true
}

// cmpScaled compares a (scale sa) with b (scale sb) exactly.
func cmpScaled(a int64, sa int, b int64, sb int) int {
	if sa == sb {
		return cmpInt(a, b)
	}
	if (a < 0) != (b < 0) {
		if a < 0 {
			return -1
		}
		return 1
	}
	// Same sign: compare magnitudes scaled to the larger scale in 128 bits.
	var ahi, alo, bhi, blo uint64
	if sa < sb {
		ahi, alo = bits.Mul64(abs64(a), uint64(types.Pow10[sb-sa]))
		blo = abs64(b)
	} else {
		alo = abs64(a)
		bhi, blo = bits.Mul64(abs64(b), uint64(types.Pow10[sa-sb]))
	}
	c := 0
	switch {
	case ahi != bhi:
		c = cmpU(ahi, bhi)
	default:
		c = cmpU(alo, blo)
	}
	if a < 0 {
		return -c
	}
	return c
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// decToFloat converts unscaled v with scale s to a float.
func decToFloat(v int64, s int) float64 {
	if s <= 0 {
		return float64(v)
	}
	return float64(v) / float64(types.Pow10[min(s, types.MaxDecimalPrecision)])
}
