package filesystem

import (
	"github.com/sluicesql/sluice/connectors/format"
	"github.com/sluicesql/sluice/exec/types"
)

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
	format.AddSlot(b)
	if err := d.fill(rec, b, r); err != nil {
		format.DropSlot(b)
		return err
	}
	b.Ops = append(b.Ops, types.Insert)
	return nil
}
