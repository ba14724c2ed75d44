package main

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/mattn/go-runewidth"

	"github.com/sluicesql/sluice/exec/types"
)

// format is an output format for query results.
type format uint8

// Output formats.
const (
	formatTable format = iota // aligned, bordered, with a header
	formatTSV                 // tab-separated, no header
	formatCSV                 // RFC 4180, no header
	formatJSON                // one object per row, one row per line
)

var formatNames = [...]string{formatTable: "table", formatTSV: "tsv", formatCSV: "csv", formatJSON: "json"}

func (f format) String() string { return formatNames[f] }

// parseFormat reads a --format value.
func parseFormat(s string) (format, error) {
	for i, n := range formatNames {
		if strings.EqualFold(s, n) {
			return format(i), nil
		}
	}
	return 0, fmt.Errorf("unknown format %q (want table, tsv, csv or json)", s)
}

// opColumn is the name of the column that shows a row's change op
// (+I, -U, +U, -D) when a result is a changelog.
const opColumn = "op"

// resultWriter prints the rows of one query result.
//
// WriteRow is called once per row, then Close once. In streaming mode each
// row is written through to w as it comes (the caller flushes w); otherwise a
// writer may buffer rows until Close (the aligned table does, to size its
// columns).
type resultWriter interface {
	WriteRow(op types.Op, vals []types.Datum) error
	Close() error
}

// newResultWriter returns a writer of rows with columns cols in format f.
// With changelog set, every row is prefixed by its op (an "op" column first;
// a JSON "op" key first). streaming asks the table format to print rows as
// they arrive instead of aligning them at the end; a streaming table prints
// its header at once.
func newResultWriter(w io.Writer, f format, cols types.Schema, changelog, streaming bool) (resultWriter, error) {
	switch f {
	case formatTSV:
		return &tsvWriter{w: w, changelog: changelog}, nil
	case formatCSV:
		return &csvWriter{w: csv.NewWriter(w), changelog: changelog}, nil
	case formatJSON:
		return newJSONWriter(w, cols, changelog), nil
	}
	t := newTableWriter(w, cols, changelog, streaming)
	if streaming {
		if err := t.writeHeader(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// ---- table ----

// tableWriter prints MySQL/Flink tableau style tables:
//
//	+----+-------+
//	| id | name  |
//	+----+-------+
//	|  1 | alice |
//	+----+-------+
//
// Numeric columns are right-aligned, everything else left-aligned. Tabs and
// line breaks in values show as \t, \n and \r.
type tableWriter struct {
	w         io.Writer
	headers   []string
	right     []bool // right-align column i
	widths    []int
	changelog bool
	streaming bool
	rows      [][]string // buffered cells when not streaming
}

func newTableWriter(w io.Writer, cols types.Schema, changelog, streaming bool) *tableWriter {
	t := &tableWriter{w: w, changelog: changelog, streaming: streaming}
	if changelog {
		t.headers = append(t.headers, opColumn)
		t.right = append(t.right, false)
	}
	for _, c := range cols {
		t.headers = append(t.headers, c.Name)
		t.right = append(t.right, c.Type.IsNumeric())
	}
	t.widths = make([]int, len(t.headers))
	for i, h := range t.headers {
		t.widths[i] = runewidth.StringWidth(h)
	}
	if streaming {
		// Rows are printed before the widest value is known: size each
		// column for its type (wider values overflow their cell).
		off := 0
		if changelog {
			t.widths[0] = max(t.widths[0], 2)
			off = 1
		}
		for i, c := range cols {
			t.widths[off+i] = max(t.widths[off+i], typeWidth(c.Type))
		}
	}
	return t
}

// typeWidth is the display width a streaming table gives a column of type t.
func typeWidth(t types.Type) int {
	const null = 4 // "NULL"
	w := 20
	switch t.Kind {
	case types.KindBool:
		w = 5
	case types.KindTinyInt:
		w = 4
	case types.KindSmallInt:
		w = 6
	case types.KindInt:
		w = 11
	case types.KindBigInt:
		w = 20
	case types.KindFloat:
		w = 12
	case types.KindDouble:
		w = 20
	case types.KindDecimal:
		w = t.Precision + 2
	case types.KindChar, types.KindVarchar:
		if t.Length > 0 && t.Length < w {
			w = t.Length
		}
	case types.KindDate:
		w = 10
	case types.KindTime:
		w = 8 + fractionWidth(t.Precision)
	case types.KindTimestamp, types.KindTimestampLTZ:
		w = 19 + fractionWidth(t.Precision)
	}
	return max(w, null)
}

func fractionWidth(prec int) int {
	if prec <= 0 {
		return 0
	}
	return 1 + min(prec, 6)
}

func (t *tableWriter) cells(op types.Op, vals []types.Datum) []string {
	out := make([]string, 0, len(t.headers))
	if t.changelog {
		out = append(out, op.String())
	}
	for _, v := range vals {
		out = append(out, cellEscaper.Replace(v.String()))
	}
	return out
}

// cellEscaper keeps a table cell on one line.
var cellEscaper = strings.NewReplacer("\t", `\t`, "\n", `\n`, "\r", `\r`)

func (t *tableWriter) WriteRow(op types.Op, vals []types.Datum) error {
	cells := t.cells(op, vals)
	if t.streaming {
		return t.writeLine(cells, t.right)
	}
	for i, c := range cells {
		t.widths[i] = max(t.widths[i], runewidth.StringWidth(c))
	}
	t.rows = append(t.rows, cells)
	return nil
}

func (t *tableWriter) Close() error {
	if !t.streaming {
		if err := t.writeHeader(); err != nil {
			return err
		}
		for _, r := range t.rows {
			if err := t.writeLine(r, t.right); err != nil {
				return err
			}
		}
		t.rows = nil
	}
	return t.writeBorder()
}

func (t *tableWriter) writeHeader() error {
	if err := t.writeBorder(); err != nil {
		return err
	}
	if err := t.writeLine(t.headers, nil); err != nil {
		return err
	}
	return t.writeBorder()
}

func (t *tableWriter) writeBorder() error {
	var b strings.Builder
	b.WriteByte('+')
	for _, w := range t.widths {
		b.WriteString(strings.Repeat("-", w+2))
		b.WriteByte('+')
	}
	b.WriteByte('\n')
	_, err := io.WriteString(t.w, b.String())
	return err
}

// writeLine prints one row of cells; right[i] right-aligns cell i (nil:
// all left-aligned).
func (t *tableWriter) writeLine(cells []string, right []bool) error {
	var b strings.Builder
	b.WriteByte('|')
	for i, c := range cells {
		pad := strings.Repeat(" ", max(t.widths[i]-runewidth.StringWidth(c), 0))
		b.WriteByte(' ')
		if right != nil && right[i] {
			b.WriteString(pad)
			b.WriteString(c)
		} else {
			b.WriteString(c)
			b.WriteString(pad)
		}
		b.WriteString(" |")
	}
	b.WriteByte('\n')
	_, err := io.WriteString(t.w, b.String())
	return err
}

// ---- tsv ----

// tsvWriter prints tab-separated lines with no header. NULL prints as NULL;
// backslash, tab, newline and carriage return in values are escaped as \\,
// \t, \n and \r (as MySQL's batch mode does).
type tsvWriter struct {
	w         io.Writer
	changelog bool
}

var tsvEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)

func (t *tsvWriter) WriteRow(op types.Op, vals []types.Datum) error {
	var b strings.Builder
	if t.changelog {
		b.WriteString(op.String())
		b.WriteByte('\t')
	}
	for i, v := range vals {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(tsvEscaper.Replace(v.String()))
	}
	b.WriteByte('\n')
	_, err := io.WriteString(t.w, b.String())
	return err
}

func (t *tsvWriter) Close() error { return nil }

// ---- csv ----

// csvWriter prints RFC 4180 records with no header; NULL prints as NULL
// (unquoted), values are quoted only when they need it.
type csvWriter struct {
	w         *csv.Writer
	changelog bool
	rec       []string
}

func (c *csvWriter) WriteRow(op types.Op, vals []types.Datum) error {
	c.rec = c.rec[:0]
	if c.changelog {
		c.rec = append(c.rec, op.String())
	}
	for _, v := range vals {
		c.rec = append(c.rec, v.String())
	}
	if err := c.w.Write(c.rec); err != nil {
		return err
	}
	// Flush per row so a streaming result reaches the caller's writer.
	c.w.Flush()
	return c.w.Error()
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	return c.w.Error()
}

// ---- json ----

// jsonWriter prints one JSON object per row, keys in column order:
// numbers as JSON numbers (DECIMAL exactly as its text, NaN and infinities
// as strings), BOOLEAN as true/false, NULL as null, BYTES as base64 strings,
// everything else (strings, dates, times, timestamps) as strings.
type jsonWriter struct {
	w         io.Writer
	keys      []string // JSON-encoded column names, with ':'
	changelog bool
	buf       []byte
}

func newJSONWriter(w io.Writer, cols types.Schema, changelog bool) *jsonWriter {
	j := &jsonWriter{w: w, changelog: changelog}
	for _, c := range cols {
		j.keys = append(j.keys, string(jsonString(nil, c.Name))+":")
	}
	return j
}

func (j *jsonWriter) WriteRow(op types.Op, vals []types.Datum) error {
	b := append(j.buf[:0], '{')
	if j.changelog {
		b = append(b, `"`+opColumn+`":`...)
		b = jsonString(b, op.String())
	}
	for i, v := range vals {
		if i > 0 || j.changelog {
			b = append(b, ',')
		}
		b = append(b, j.keys[i]...)
		b = jsonValue(b, v)
	}
	b = append(b, '}', '\n')
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

func (j *jsonWriter) Close() error { return nil }

// jsonValue appends d as a JSON value.
func jsonValue(b []byte, d types.Datum) []byte {
	if d.Null {
		return append(b, "null"...)
	}
	switch d.Type.Kind {
	case types.KindNull:
		return append(b, "null"...)
	case types.KindBool:
		return strconv.AppendBool(b, d.I != 0)
	case types.KindTinyInt, types.KindSmallInt, types.KindInt, types.KindBigInt:
		return strconv.AppendInt(b, d.I, 10)
	case types.KindDecimal:
		return append(b, types.FormatDecimal(d.I, d.Type.Scale)...)
	case types.KindFloat, types.KindDouble:
		if math.IsNaN(d.F) || math.IsInf(d.F, 0) {
			return jsonString(b, d.String())
		}
		return append(b, d.String()...)
	case types.KindBytes:
		return jsonString(b, base64.StdEncoding.EncodeToString([]byte(d.S)))
	}
	return jsonString(b, d.String())
}

// jsonString appends s as a JSON string.
func jsonString(b []byte, s string) []byte {
	enc, _ := json.Marshal(s) // never fails for a string
	return append(b, enc...)
}

// ---- summaries ----

// rowsSummary is the shell's line after a result, e.g.
// "3 rows in set (0.012 sec)".
func rowsSummary(n int, secs float64) string {
	noun := "rows"
	if n == 1 {
		noun = "row"
	}
	return fmt.Sprintf("%d %s in set (%.3f sec)", n, noun, secs)
}
