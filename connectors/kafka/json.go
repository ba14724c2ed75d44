package kafka

import (
	"errors"
	"fmt"

	recformat "github.com/sluicesql/sluice/connectors/format"
	"github.com/sluicesql/sluice/exec/types"
)

// field is a column a value decoder fills: its name in the record and the
// batch column it goes to.
type field struct {
	name string
	col  int // index in the batch
}

// valueDecoder parses one record value into row r of a batch, whose slots
// the caller has added (addSlot). It fills only its fields' columns.
type valueDecoder interface {
	fill(rec []byte, b *types.Batch, r int) error
}

// jsonDecoder parses a JSON object straight into batch vectors with the
// shared recformat.JSONDecoder; value text is parsed by this package's
// setText. Field names match column names case-insensitively (an exact
// match first); unknown fields are skipped; a missing field is NULL unless
// failOnMissing.
type jsonDecoder struct {
	dec *recformat.JSONDecoder
}

func newJSONDecoder(fields []field, failOnMissing bool, a *arena) *jsonDecoder {
	ff := make([]recformat.Field, len(fields))
	for k, f := range fields {
		ff[k] = recformat.Field{Name: f.name, Col: f.col}
	}
	set := func(v *types.Vector, r int, text []byte) error { return setText(v, r, text, a) }
	return &jsonDecoder{recformat.NewJSONDecoder(ff, set, recformat.JSONOptions{FailOnMissingField: failOnMissing})}
}

// fill implements valueDecoder. Errors are *syntaxError or *fieldError.
func (d *jsonDecoder) fill(rec []byte, b *types.Batch, r int) error {
	return jsonErr(d.dec.Fill(rec, b, r))
}

// jsonErr turns format's errors into this package's, whose messages say
// "invalid JSON".
func jsonErr(err error) error {
	if err == nil {
		return nil
	}
	var se *recformat.SyntaxError
	if errors.As(err, &se) {
		return &syntaxError{se.Msg, se.Offset}
	}
	var fe *recformat.FieldError
	if errors.As(err, &fe) {
		return &fieldError{fe.Field, fe.Err}
	}
	return err
}

// syntaxError is malformed JSON.
type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON: %s at offset %d", e.msg, e.off)
}

// fieldError is a value that does not fit its column.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return fmt.Sprintf("field '%s': %v", e.field, e.err) }
func (e *fieldError) Unwrap() error { return e.err }

// The JSON scanning helpers of the Debezium envelope, with errors in this
// package's terms.

func skipSpace(b []byte, i int) int { return recformat.SkipSpace(b, i) }

func hasLiteral(b []byte, i int, lit string) bool { return recformat.HasLiteral(b, i, lit) }

// scanString scans the string whose opening quote is at b[i]: its raw
// content, whether it has escapes, and the offset after the closing quote.
func scanString(b []byte, i int) (s []byte, esc bool, end int, err error) {
	s, esc, end, err = recformat.ScanString(b, i)
	return s, esc, end, jsonErr(err)
}

// skipValue returns the offset after the JSON value at b[i]. The third
// argument, a nesting depth, is ignored: callers pass 0.
func skipValue(b []byte, i, _ int) (int, error) {
	end, err := recformat.SkipValue(b, i)
	return end, jsonErr(err)
}
