package kafka

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"

	recformat "github.com/sluicesql/sluice/connectors/format"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
)

// valueError reports text that is not a valid value of a column type.
type valueError struct {
	typ  types.Type
	text string
}

func (e *valueError) Error() string { return fmt.Sprintf("invalid %s value '%s'", e.typ, e.text) }

func badValue(t types.Type, b []byte) error {
	s := string(b)
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return &valueError{typ: t, text: s}
}

// errNullInNotNull is the shared decoders' sentinel, so JSON and CSV
// records report a NULL in a NOT NULL column alike.
var errNullInNotNull = recformat.ErrNullInNotNull

// setText parses b, the text of a non-NULL value, into row r of v. The
// common types have fast paths; temporal and decimal values go through the
// engine's literal parser (exec/expr), so they read as CAST does.
func setText(v *types.Vector, r int, b []byte, a *arena) error {
	t := v.Type
	switch t.Kind {
	case types.KindChar, types.KindVarchar, types.KindString:
		v.Str[r] = a.str(b)
		return nil
	case types.KindBytes:
		out := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
		n, err := base64.StdEncoding.Decode(out, b)
		if err != nil {
			return badValue(t, b)
		}
		v.Str[r] = string(out[:n])
		return nil
	case types.KindBool:
		switch string(b) {
		case "true", "TRUE", "True":
			v.I64[r] = 1
		case "false", "FALSE", "False":
			v.I64[r] = 0
		default:
			return badValue(t, b)
		}
		return nil
	case types.KindTinyInt, types.KindSmallInt, types.KindInt, types.KindBigInt:
		n, ok := parseInt(b)
		if !ok || !fits(n, t.Kind) {
			return badValue(t, b)
		}
		v.I64[r] = n
		return nil
	case types.KindFloat, types.KindDouble:
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return badValue(t, b)
		}
		if t.Kind == types.KindFloat {
			f = float64(float32(f))
		}
		v.F64[r] = f
		return nil
	}
	d, err := expr.ParseLiteral(string(b), t)
	if err != nil {
		return badValue(t, b)
	}
	switch t.Class() {
	case types.ClassF64:
		v.F64[r] = d.F
	case types.ClassStr:
		v.Str[r] = d.S
	default:
		v.I64[r] = d.I
	}
	return nil
}

// parseInt parses a decimal integer without allocating.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	neg := b[0] == '-'
	if neg || b[0] == '+' {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

func fits(n int64, k types.Kind) bool {
	switch k {
	case types.KindTinyInt:
		return n >= math.MinInt8 && n <= math.MaxInt8
	case types.KindSmallInt:
		return n >= math.MinInt16 && n <= math.MaxInt16
	case types.KindInt:
		return n >= math.MinInt32 && n <= math.MaxInt32
	}
	return true
}
