package filesystem

import "github.com/sluicesql/sluice/exec/types"

// recordDecoder parses one record into a batch.
type recordDecoder interface {
	// fill stores the record's values into row r of every vector of b,
	// whose slots decode has added; it returns why the record is malformed.
	fill(rec []byte, b *types.Batch, r int) error
}

// decode appends the record rec to b, or leaves b unchanged and returns why
// the record is malformed.
func decode(d recordDecoder, rec []byte, b *types.Batch) error {
	r := b.Len()
	addSlot(b)
	if err := d.fill(rec, b, r); err != nil {
		dropSlot(b)
		return err
	}
	b.Ops = append(b.Ops, types.Insert)
	return nil
}

// addSlot appends a zero, non-NULL slot to every vector of b, for row
// b.Len() that a decoder is about to fill (b.Ops is appended once the row
// is complete). It is a lighter Vector.Resize(n+1) for the per-record path.
func addSlot(b *types.Batch) {
	for j := range b.Cols {
		v := &b.Cols[j]
		switch v.Type.Class() {
		case types.ClassF64:
			v.F64 = append(v.F64, 0)
		case types.ClassStr:
			v.Str = append(v.Str, "")
		default:
			v.I64 = append(v.I64, 0)
		}
		if v.Nulls != nil {
			v.Nulls = append(v.Nulls, false)
		}
	}
}

// dropSlot removes the slot addSlot added, after a malformed record.
func dropSlot(b *types.Batch) {
	n := b.Len()
	for j := range b.Cols {
		v := &b.Cols[j]
		switch v.Type.Class() {
		case types.ClassF64:
			v.F64 = v.F64[:n]
		case types.ClassStr:
			v.Str[n] = ""
			v.Str = v.Str[:n]
		default:
			v.I64 = v.I64[:n]
		}
		if len(v.Nulls) > n {
			v.Nulls = v.Nulls[:n]
		}
	}
}
