package exec

import "github.com/sluicesql/sluice/exec/types"

// Column copy helpers used by exchanges and operators. They keep the
// invariant that a vector's Nulls is either nil or as long as its values
// (types.Vector.IsNull relies on it),
// and they reuse the destination's capacity so that steady-state copying
// does not allocate. (They belong in types; they live here until its owner
// takes them.)

// CopyVector makes dst a copy of src (type, values and NULLs). Strings are
// shared, as they are immutable.
func CopyVector(dst, src *types.Vector) {
	dst.Type = src.Type
	switch src.Type.Class() {
	case types.ClassF64:
		dst.F64 = append(dst.F64[:0], src.F64...)
	case types.ClassStr:
		dst.Str = append(clearStr(dst.Str), src.Str...)
	default:
		dst.I64 = append(dst.I64[:0], src.I64...)
	}
	switch {
	case len(src.Nulls) > 0:
		dst.Nulls = append(dst.Nulls[:0], src.Nulls...)
	case dst.Nulls != nil:
		dst.Nulls = growNulls(dst.Nulls[:0], dst.Len())
	}
}

// CopyBatch makes dst a copy of src: same ops, column types and values.
func CopyBatch(dst, src *types.Batch) {
	dst.Ops = append(dst.Ops[:0], src.Ops...)
	if cap(dst.Cols) >= len(src.Cols) {
		dst.Cols = dst.Cols[:len(src.Cols)]
	} else {
		dst.Cols = append(dst.Cols[:cap(dst.Cols)], make([]types.Vector, len(src.Cols)-cap(dst.Cols))...)
	}
	for c := range src.Cols {
		CopyVector(&dst.Cols[c], &src.Cols[c])
	}
}

// AppendRows appends the rows of src listed in rows (in that order) to dst,
// which must have src's column classes.
func AppendRows(dst, src *types.Batch, rows []int32) {
	for _, r := range rows {
		dst.Ops = append(dst.Ops, src.Ops[r])
	}
	for c := range dst.Cols {
		gatherVector(&dst.Cols[c], &src.Cols[c], rows)
	}
}

func gatherVector(dst, src *types.Vector, rows []int32) {
	n := dst.Len()
	switch src.Type.Class() {
	case types.ClassF64:
		for _, r := range rows {
			dst.F64 = append(dst.F64, src.F64[r])
		}
	case types.ClassStr:
		for _, r := range rows {
			dst.Str = append(dst.Str, src.Str[r])
		}
	default:
		for _, r := range rows {
			dst.I64 = append(dst.I64, src.I64[r])
		}
	}
	switch {
	case len(src.Nulls) > 0:
		dst.Nulls = growNulls(dst.Nulls, n)
		for _, r := range rows {
			dst.Nulls = append(dst.Nulls, src.Nulls[r])
		}
	case dst.Nulls != nil:
		dst.Nulls = growNulls(dst.Nulls, n+len(rows))
	}
}

// SetRow overwrites row i of dst with row j of src (same column classes).
func SetRow(dst *types.Batch, i int, src *types.Batch, j int) {
	dst.Ops[i] = src.Ops[j]
	for c := range dst.Cols {
		d, s := &dst.Cols[c], &src.Cols[c]
		switch s.Type.Class() {
		case types.ClassF64:
			d.F64[i] = s.F64[j]
		case types.ClassStr:
			d.Str[i] = s.Str[j]
		default:
			d.I64[i] = s.I64[j]
		}
		null := j < len(s.Nulls) && s.Nulls[j]
		if null || d.Nulls != nil {
			d.Nulls = growNulls(d.Nulls, d.Len())
			d.Nulls[i] = null
		}
	}
}

// growNulls returns nulls with length n; slots past its old length are false.
func growNulls(nulls []bool, n int) []bool {
	if len(nulls) >= n {
		return nulls[:n]
	}
	if cap(nulls) >= n {
		old := len(nulls)
		nulls = nulls[:n]
		clear(nulls[old:])
		return nulls
	}
	return append(nulls, make([]bool, n-len(nulls))...)
}

func clearStr(s []string) []string {
	clear(s)
	return s[:0]
}
