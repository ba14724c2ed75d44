package filesystem

import (
	"errors"
	"fmt"

	"github.com/sluicesql/sluice/connectors/format"
	"github.com/sluicesql/sluice/exec/types"
)

// jsonDecoder parses JSON lines (one object per line) straight into batch
// vectors with the shared format.JSONDecoder; value text is parsed by this
// package's setText and strings are carved from the subtask's arena.
//
// Field names match column names case-insensitively (an exact match is
// tried first); unknown fields are skipped, missing ones are NULL unless
// failOnMissing. Values of columns not requested are skipped unchecked.
type jsonDecoder struct {
	dec *format.JSONDecoder
}

func newJSONDecoder(schema types.Schema, cols []int, failOnMissing bool, a *arena) *jsonDecoder {
	fields := make([]format.Field, len(cols))
	for j, c := range cols {
		fields[j] = format.Field{Name: schema[c].Name, Col: j}
	}
	set := func(v *types.Vector, r int, text []byte) error { return setText(v, r, text, a) }
	return &jsonDecoder{format.NewJSONDecoder(fields, set, format.JSONOptions{FailOnMissingField: failOnMissing})}
}

// fieldError is a well-formed value that does not fit its column.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return fmt.Sprintf("field '%s': %v", e.field, e.err) }
func (e *fieldError) Unwrap() error { return e.err }

// The sentinels are format's, so that errors.Is matches the decoders'
// errors.
var (
	errNullInNotNull = format.ErrNullInNotNull
	errMissingField  = format.ErrMissingField
)

// fill implements recordDecoder. Errors are *format.SyntaxError (the
// caller reports it as "invalid JSON") or *fieldError.
func (d *jsonDecoder) fill(line []byte, b *types.Batch, r int) error {
	if err := d.dec.Fill(line, b, r); err != nil {
		return localErr(err)
	}
	return nil
}

// localErr turns a *format.FieldError into a *fieldError.
func localErr(err error) error {
	var fe *format.FieldError
	if errors.As(err, &fe) {
		return &fieldError{fe.Field, fe.Err}
	}
	return err
}

// quoteByte shows c in an error message.
func quoteByte(c byte) string { return format.QuoteByte(c) }
