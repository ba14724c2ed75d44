package postgres

import (
	"io"
	"math"
	"strconv"
	"time"

	"github.com/sluicesql/sluice/exec/types"
)

// copyReader streams encoded rows as PostgreSQL COPY text format (one line
// per row, tab-separated, \N for NULL, backslash escapes). With withOp the
// first field is the row's delete flag (t/f) for the staging table.
//
// It is read by pgconn's copy goroutine; it only reads the immutable
// encoded rows.
type copyReader struct {
	data    []byte
	pos     int
	cols    []types.Type
	classes []types.Class
	withOp  bool
	row     []value
	buf     []byte
	off     int
	err     error
}

// copyChunk is how much text copyReader prepares at a time.
const copyChunk = 64 << 10

func newCopyReader(data []byte, cols []types.Type, withOp bool) *copyReader {
	r := &copyReader{data: data, cols: cols, withOp: withOp, row: make([]value, len(cols))}
	r.classes = make([]types.Class, len(cols))
	for i, t := range cols {
		r.classes[i] = t.Class()
	}
	return r
}

// Read implements io.Reader.
func (r *copyReader) Read(p []byte) (int, error) {
	if r.off == len(r.buf) {
		if r.err != nil {
			return 0, r.err
		}
		r.fill()
		if r.off == len(r.buf) {
			return 0, r.err
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// fill formats rows into buf until it holds copyChunk bytes or the rows
// end (then err is io.EOF).
func (r *copyReader) fill() {
	r.buf, r.off = r.buf[:0], 0
	for len(r.buf) < copyChunk {
		if r.pos >= len(r.data) {
			r.err = io.EOF
			return
		}
		op, next, err := decodeRow(r.data, r.pos, r.classes, r.row)
		if err != nil {
			r.err = err
			return
		}
		r.pos = next
		r.buf = appendCopyRow(r.buf, op, r.row, r.cols, r.withOp)
	}
}

// appendCopyRow appends one COPY text line.
func appendCopyRow(dst []byte, op byte, row []value, cols []types.Type, withOp bool) []byte {
	if withOp {
		if op == opDelete {
			dst = append(dst, 't', '\t')
		} else {
			dst = append(dst, 'f', '\t')
		}
	}
	for c, t := range cols {
		if c > 0 {
			dst = append(dst, '\t')
		}
		dst = appendCopyValue(dst, t, row[c])
	}
	return append(dst, '\n')
}

// appendCopyValue appends v, of Sluice type t, as PostgreSQL reads it in
// COPY text format.
func appendCopyValue(dst []byte, t types.Type, v value) []byte {
	if v.null {
		return append(dst, '\\', 'N')
	}
	switch t.Kind {
	case types.KindBool:
		if v.i != 0 {
			return append(dst, 't')
		}
		return append(dst, 'f')
	case types.KindTinyInt, types.KindSmallInt, types.KindInt, types.KindBigInt:
		return strconv.AppendInt(dst, v.i, 10)
	case types.KindDecimal:
		return appendDecimal(dst, v.i, t.Scale)
	case types.KindFloat:
		return appendFloat(dst, v.f, 32)
	case types.KindDouble:
		return appendFloat(dst, v.f, 64)
	case types.KindBytes:
		// bytea hex format; the backslash is escaped for COPY.
		dst = append(dst, '\\', '\\', 'x')
		const hexDigits = "0123456789abcdef"
		for _, c := range v.s {
			dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
		}
		return dst
	case types.KindChar, types.KindVarchar, types.KindString:
		return appendEscaped(dst, v.s)
	case types.KindDate:
		return appendDate(dst, time.Unix(v.i*86400, 0).UTC())
	case types.KindTime:
		return appendClock(dst, v.i)
	case types.KindTimestamp, types.KindTimestampLTZ:
		us := v.i
		day := floorDiv(us, 86_400_000_000)
		dst = appendDateOnly(dst, time.Unix(day*86400, 0).UTC())
		dst = append(dst, ' ')
		dst = appendClock(dst, us-day*86_400_000_000)
		if t.Kind == types.KindTimestampLTZ {
			dst = append(dst, '+', '0', '0')
		}
		return appendEra(dst, time.Unix(day*86400, 0).UTC())
	}
	return append(dst, '\\', 'N')
}

// appendEscaped appends s with COPY's text escapes.
func appendEscaped(dst, s []byte) []byte {
	for _, c := range s {
		switch c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// appendDecimal appends an unscaled decimal v with scale s ("-12.345").
func appendDecimal(dst []byte, v int64, s int) []byte {
	if s <= 0 {
		return strconv.AppendInt(dst, v, 10)
	}
	u := uint64(v)
	if v < 0 {
		dst = append(dst, '-')
		u = uint64(-v) // also right for MinInt64
	}
	var digits [24]byte
	d := strconv.AppendUint(digits[:0], u, 10)
	for len(d) <= s {
		d = append([]byte{'0'}, d...)
	}
	dst = append(dst, d[:len(d)-s]...)
	dst = append(dst, '.')
	return append(dst, d[len(d)-s:]...)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// appendDate appends a date as YYYY-MM-DD, with " BC" for years <= 0.
func appendDate(dst []byte, t time.Time) []byte {
	return appendEra(appendDateOnly(dst, t), t)
}

func appendDateOnly(dst []byte, t time.Time) []byte {
	y, m, d := t.Date()
	if y <= 0 {
		y = 1 - y // year 0 is 1 BC
	}
	dst = appendPadded(dst, int64(y), 4)
	dst = append(dst, '-')
	dst = appendPadded(dst, int64(m), 2)
	dst = append(dst, '-')
	return appendPadded(dst, int64(d), 2)
}

func appendEra(dst []byte, t time.Time) []byte {
	if t.Year() <= 0 {
		return append(dst, " BC"...)
	}
	return dst
}

// appendClock appends µs since midnight as HH:MM:SS[.ffffff].
func appendClock(dst []byte, us int64) []byte {
	dst = appendPadded(dst, us/3_600_000_000, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, us/60_000_000%60, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, us/1_000_000%60, 2)
	if f := us % 1_000_000; f != 0 {
		dst = append(dst, '.')
		dst = appendPadded(dst, f, 6)
	}
	return dst
}

func appendPadded(dst []byte, v int64, width int) []byte {
	var tmp [20]byte
	d := strconv.AppendInt(tmp[:0], v, 10)
	for i := len(d); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, d...)
}
