package ops

import (
	"math"
	"strings"

	"github.com/sluicesql/sluice/exec/types"
)

// SortKey is one key of an ORDER BY.
type SortKey struct {
	// Col is the input column index.
	Col int
	// Desc sorts descending.
	Desc bool
	// NullsFirst puts NULLs before every value, whatever the direction;
	// otherwise after. MySQL (and Sluice's default) is NULLs first for ASC
	// and last for DESC: see Asc and Desc.
	NullsFirst bool
}

// Asc returns an ascending key with MySQL's NULL placement (first).
func Asc(col int) SortKey { return SortKey{Col: col, NullsFirst: true} }

// Desc returns a descending key with MySQL's NULL placement (last).
func Desc(col int) SortKey { return SortKey{Col: col, Desc: true} }

// compareKeys orders row i of a against row j of b by keys: negative when
// row i sorts first. Values compare by physical class: integers (and
// DECIMAL, DATE, TIMESTAMP...) numerically, floats numerically with NaN
// above every number, strings bytewise.
func compareKeys(keys []SortKey, a *types.Batch, i int, b *types.Batch, j int) int {
	for _, k := range keys {
		if c := compareValues(&a.Cols[k.Col], i, &b.Cols[k.Col], j, k); c != 0 {
			return c
		}
	}
	return 0
}

func isNull(v *types.Vector, i int) bool { return i < len(v.Nulls) && v.Nulls[i] }

func compareValues(va *types.Vector, i int, vb *types.Vector, j int, k SortKey) int {
	if c, done := compareNulls(isNull(va, i), isNull(vb, j), k); done {
		return c
	}
	var c int
	switch va.Type.Class() {
	case types.ClassF64:
		c = compareFloat(va.F64[i], vb.F64[j])
	case types.ClassStr:
		c = strings.Compare(va.Str[i], vb.Str[j])
	default:
		x, y := va.I64[i], vb.I64[j]
		switch {
		case x < y:
			c = -1
		case x > y:
			c = 1
		}
	}
	if k.Desc {
		c = -c
	}
	return c
}

// compareNulls orders two values of which at least one is NULL (done =
// true), NULLs first or last as k says; done = false when neither is.
func compareNulls(na, nb bool, k SortKey) (c int, done bool) {
	switch {
	case na && nb:
		return 0, true
	case na:
		if k.NullsFirst {
			return -1, true
		}
		return 1, true
	case nb:
		if k.NullsFirst {
			return 1, true
		}
		return -1, true
	}
	return 0, false
}

func compareFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	case x == y:
		return 0
	}
	xn, yn := math.IsNaN(x), math.IsNaN(y)
	switch {
	case xn && yn:
		return 0
	case xn:
		return 1
	}
	return -1
}

// equalRows reports whether row i of a and row j of b hold the same values
// in every column (NULL equal to NULL), as a multiset would match them.
func equalRows(a *types.Batch, i int, b *types.Batch, j int) bool {
	for c := range a.Cols {
		va, vb := &a.Cols[c], &b.Cols[c]
		na, nb := isNull(va, i), isNull(vb, j)
		if na || nb {
			if na != nb {
				return false
			}
			continue
		}
		switch va.Type.Class() {
		case types.ClassF64:
			if compareFloat(va.F64[i], vb.F64[j]) != 0 {
				return false
			}
		case types.ClassStr:
			if va.Str[i] != vb.Str[j] {
				return false
			}
		default:
			if va.I64[i] != vb.I64[j] {
				return false
			}
		}
	}
	return true
}
