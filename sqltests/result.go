package sqltests

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicesql/sluice/exec/types"
)

// FormatValue renders d as a result value of a column of type letter t
// (I, R or T), the way sqllogictest files write it:
//
//   - NULL is "NULL" and the empty string "(empty)", whatever the letter.
//   - I: integers as %d, booleans as 1/0, decimals and floats truncated
//     toward zero, strings holding a number converted likewise.
//   - R: numbers and booleans as %.3f, strings holding a number likewise.
//   - T: Datum.String() (booleans TRUE/FALSE, decimals with their scale).
//
// Control characters (bytes below 0x20 and 0x7f) become '@' so that a value
// stays on one line. Values that have no rendering under the letter (a date
// in an I column) fall back to Datum.String().
func FormatValue(d types.Datum, t byte) string {
	if d.Null || d.Type.Kind == types.KindNull {
		return "NULL"
	}
	var s string
	switch t {
	case 'I':
		s = formatInt(d)
	case 'R':
		s = formatReal(d)
	default:
		s = d.String()
	}
	if s == "" {
		return "(empty)"
	}
	return sanitize(s)
}

func formatInt(d types.Datum) string {
	switch {
	case d.Type.Kind == types.KindBool:
		if d.I != 0 {
			return "1"
		}
		return "0"
	case d.Type.IsInteger():
		return strconv.FormatInt(d.I, 10)
	case d.Type.Kind == types.KindDecimal:
		if d.Type.Scale <= 0 || d.Type.Scale >= len(types.Pow10) {
			return strconv.FormatInt(d.I, 10)
		}
		return strconv.FormatInt(d.I/types.Pow10[d.Type.Scale], 10) // Go's / truncates toward zero
	case d.Type.IsFloat():
		return truncFloat(d.F)
	case d.Type.IsString():
		s := strings.TrimSpace(d.S)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return strconv.FormatInt(i, 10)
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return truncFloat(f)
		}
		return d.S
	}
	return d.String()
}

func truncFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) >= 9.2e18 {
		return types.FormatFloat(f, 64)
	}
	return strconv.FormatInt(int64(f), 10) // conversion truncates toward zero
}

func formatReal(d types.Datum) string {
	switch {
	case d.Type.Kind == types.KindBool, d.Type.IsInteger():
		return fmt.Sprintf("%.3f", float64(d.I))
	case d.Type.Kind == types.KindDecimal:
		f, err := strconv.ParseFloat(d.String(), 64)
		if err != nil {
			return d.String()
		}
		return fmt.Sprintf("%.3f", f)
	case d.Type.IsFloat():
		return fmt.Sprintf("%.3f", d.F)
	case d.Type.IsString():
		if f, err := strconv.ParseFloat(strings.TrimSpace(d.S), 64); err == nil {
			return fmt.Sprintf("%.3f", f)
		}
		return d.S
	}
	return d.String()
}

func sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = '@'
		}
	}
	return string(b)
}

// sortValues orders rendered values in place: rows of ncols values
// (RowSort) or all values (ValueSort), comparing bytewise like strcmp.
func sortValues(vals []string, ncols int, mode SortMode) {
	switch mode {
	case ValueSort:
		slices.Sort(vals)
	case RowSort:
		if ncols <= 0 || len(vals)%ncols != 0 {
			slices.Sort(vals)
			return
		}
		rows := make([][]string, 0, len(vals)/ncols)
		for i := 0; i < len(vals); i += ncols {
			rows = append(rows, slices.Clone(vals[i:i+ncols]))
		}
		slices.SortStableFunc(rows, func(a, b []string) int { return slices.Compare(a, b) })
		i := 0
		for _, r := range rows {
			i += copy(vals[i:], r)
		}
	}
}

// HashValues returns sqllogictest's hash of values: the md5, in lower-case
// hex, of every value followed by "\n".
func HashValues(vals []string) string {
	h := md5.New()
	for _, v := range vals {
		h.Write([]byte(v))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// expectedValues turns the lines written after "----" into a flat list of
// values. A line holds either one value (SQLite's form) or one row whose
// values are separated by tabs or spaces (CockroachDB's form). The row form
// is chosen when there are several columns, every line splits into exactly
// ncols values and the value count then matches the actual result's (or the
// one-value-per-line count does not).
func expectedValues(lines []string, ncols, nactual int) (vals []string, rowForm bool) {
	if ncols > 1 {
		var split []string
		ok := true
		for _, l := range lines {
			f := splitRow(l, ncols)
			if f == nil {
				ok = false
				break
			}
			split = append(split, f...)
		}
		if ok && len(lines) > 0 && (len(split) == nactual || len(lines) != nactual) {
			return split, true
		}
	}
	return slices.Clone(lines), false
}

// splitRow splits a row line into ncols values: on tabs when it has exactly
// ncols-1 of them, else on runs of spaces; nil when that does not give ncols.
func splitRow(l string, ncols int) []string {
	if strings.Count(l, "\t") == ncols-1 {
		f := strings.Split(l, "\t")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		return f
	}
	f := strings.Fields(l)
	if len(f) != ncols {
		return nil
	}
	return f
}
