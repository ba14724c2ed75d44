package sqlexpr

import (
	"math"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/test_driver"
	tidbtypes "github.com/pingcap/tidb/pkg/parser/types"

	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
)

// value converts a literal.
func (c *converter) value(x ast.ValueExpr) (expr.Expr, error) {
	d, err := c.literal(x)
	if err != nil {
		return nil, err
	}
	return expr.Lit(d), nil
}

func (c *converter) literal(x ast.ValueExpr) (types.Datum, error) {
	off := x.OriginTextPosition()
	switch v := x.GetValue().(type) {
	case nil:
		return types.NullDatum(types.Null), nil
	case int64:
		if x.GetType().GetFlag()&mysql.IsBooleanFlag != 0 {
			return types.BoolDatum(v != 0), nil
		}
		return expr.IntLiteral(v), nil
	case uint64:
		if v <= math.MaxInt64 {
			return expr.IntLiteral(int64(v)), nil
		}
		return types.DoubleDatum(float64(v)), nil
	case float64:
		return types.DoubleDatum(v), nil
	case float32:
		return types.DoubleDatum(float64(v)), nil
	case string:
		return types.StringDatum(v), nil
	case []byte:
		return types.Datum{Type: types.Bytes, S: string(v)}, nil
	case *test_driver.MyDecimal:
		d, ok := expr.NumericLiteral(v.String())
		if !ok {
			return types.Datum{}, c.errAt(off, "invalid number "+v.String())
		}
		return d, nil
	case test_driver.BinaryLiteral:
		return types.Datum{Type: types.Bytes, S: string(v)}, nil
	}
	return types.Datum{}, c.errAt(off, "unsupported literal")
}

// negateLiteral folds -<number literal> into one literal, so
// -9223372036854775808 is a BIGINT.
func negateLiteral(x ast.ValueExpr) (types.Datum, bool) {
	switch v := x.GetValue().(type) {
	case int64:
		if x.GetType().GetFlag()&mysql.IsBooleanFlag != 0 || v == math.MinInt64 {
			return types.Datum{}, false
		}
		return expr.IntLiteral(-v), true
	case uint64:
		if v == 1<<63 {
			return types.IntDatum(math.MinInt64), true
		}
		if v < 1<<63 {
			return expr.IntLiteral(-int64(v)), true
		}
	case float64:
		return types.DoubleDatum(-v), true
	case *test_driver.MyDecimal:
		return expr.NumericLiteral("-" + v.String())
	}
	return types.Datum{}, false
}

func (c *converter) funcCall(x *ast.FuncCallExpr) (expr.Expr, error) {
	off := x.OriginTextPosition()
	name := x.FnName.L
	if x.Schema.L != "" {
		return nil, c.errAt(off, "Unknown function '"+x.Schema.O+"."+x.FnName.O+"'")
	}
	switch name {
	case ast.DateLiteral, ast.TimeLiteral, ast.TimestampLiteral:
		return c.typedLiteral(x)
	case "convert":
		return nil, c.errAt(off, "CONVERT ... USING is not supported")
	}
	args := make([]expr.Expr, len(x.Args))
	for i, a := range x.Args {
		// TRIM([dir] FROM s): TiDB passes a NULL remstr for "the default".
		if name == "trim" && i == 1 {
			if v, ok := a.(ast.ValueExpr); ok && v.GetValue() == nil {
				args[i] = expr.Lit(types.StringDatum(" "))
				continue
			}
		}
		e, err := c.conv(a)
		if err != nil {
			return nil, err
		}
		args[i] = e
	}
	return c.call(off, x.Args, strings.ToUpper(name), args...)
}

// typedLiteral converts DATE '...', TIME '...' and TIMESTAMP '...'.
func (c *converter) typedLiteral(x *ast.FuncCallExpr) (expr.Expr, error) {
	off := x.OriginTextPosition()
	if len(x.Args) != 1 {
		return nil, c.errAt(off, "invalid typed literal")
	}
	v, ok := x.Args[0].(ast.ValueExpr)
	s, isStr := "", false
	if ok {
		s, isStr = v.GetValue().(string)
	}
	if !isStr {
		return nil, c.errAt(off, "invalid typed literal")
	}
	var t types.Type
	switch x.FnName.L {
	case ast.DateLiteral:
		t = types.Date
	case ast.TimeLiteral:
		t = types.Type{Kind: types.KindTime, Precision: -1}
	default:
		t = types.Type{Kind: types.KindTimestamp, Precision: -1}
	}
	d, err := expr.ParseLiteral(s, t)
	if err != nil {
		return nil, c.wrap(off, err)
	}
	return expr.Lit(d), nil
}

func (c *converter) cast(x *ast.FuncCastExpr) (expr.Expr, error) {
	off := x.OriginTextPosition()
	e, err := c.conv(x.Expr)
	if err != nil {
		return nil, err
	}
	var t types.Type
	found := false
	if c.ctx.Ext != nil {
		t, found = c.ctx.Ext.CastTypes[x]
	}
	if !found {
		if t, err = castType(x.Tp); err != nil {
			return nil, c.wrap(off, err)
		}
	}
	r, err := expr.Cast(e, t)
	if err != nil {
		return nil, c.wrap(off, err)
	}
	return r, nil
}

// castType maps a TiDB cast target to a Sluice type (used when the
// pre-parser recorded none).
func castType(ft *tidbtypes.FieldType) (types.Type, error) {
	if ft == nil {
		return types.Type{}, errorf("missing CAST type")
	}
	flen, dec := ft.GetFlen(), ft.GetDecimal()
	switch ft.GetType() {
	case mysql.TypeTiny:
		if flen == 1 {
			return types.Bool, nil
		}
		return types.TinyInt, nil
	case mysql.TypeShort:
		return types.SmallInt, nil
	case mysql.TypeLong, mysql.TypeInt24:
		return types.Int, nil
	case mysql.TypeLonglong:
		return types.BigInt, nil
	case mysql.TypeFloat:
		return types.Float, nil
	case mysql.TypeDouble:
		return types.Double, nil
	case mysql.TypeNewDecimal:
		if flen <= 0 {
			flen = 10
		}
		dec = max(dec, 0)
		if flen > types.MaxDecimalPrecision {
			return types.Type{}, errorf("DECIMAL precision " + strconv.Itoa(flen) + " exceeds the maximum of 18")
		}
		return types.Decimal(flen, dec), nil
	case mysql.TypeVarString, mysql.TypeString, mysql.TypeVarchar:
		if ft.GetCharset() == "binary" {
			return types.Bytes, nil
		}
		if flen > 0 {
			return types.Varchar(flen), nil
		}
		return types.String, nil
	case mysql.TypeBlob, mysql.TypeTinyBlob, mysql.TypeMediumBlob, mysql.TypeLongBlob:
		return types.String, nil
	case mysql.TypeDate:
		return types.Date, nil
	case mysql.TypeDatetime, mysql.TypeTimestamp:
		return types.Type{Kind: types.KindTimestamp, Precision: max(dec, 0)}, nil
	case mysql.TypeDuration:
		return types.Type{Kind: types.KindTime, Precision: max(dec, 0)}, nil
	}
	return types.Type{}, errorf("cannot cast to " + strings.ToUpper(ft.String()))
}

type plainError string

func (e plainError) Error() string { return string(e) }

func errorf(msg string) error { return plainError(msg) }

func isWordChar(ch byte) bool {
	return ch == '_' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9'
}

func isOpChar(ch byte) bool { return strings.IndexByte("+-*/%=<>!|&^~:", ch) >= 0 }

// operatorPos finds the operator token written just before the right
// operand: in `a +  (b)` the '+'. It falls back to fallback (the node's
// own offset) when the text does not show one.
func (c *converter) operatorPos(fallback int, right ast.ExprNode) int {
	if right == nil {
		return fallback
	}
	r := right.OriginTextPosition()
	if r <= fallback || r > len(c.text) {
		return fallback
	}
	i := r
	for i > fallback {
		ch := c.text[i-1]
		if ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '(' {
			i--
			continue
		}
		if ch == '/' && i >= 2 && c.text[i-2] == '*' {
			j := strings.LastIndex(c.text[:i-2], "/*")
			if j < 0 {
				return fallback
			}
			i = j
			continue
		}
		break
	}
	if i <= fallback {
		return fallback
	}
	j := i
	switch ch := c.text[i-1]; {
	case isWordChar(ch):
		for j > fallback && isWordChar(c.text[j-1]) {
			j--
		}
	case isOpChar(ch):
		for j > fallback && isOpChar(c.text[j-1]) {
			j--
		}
	default:
		return fallback
	}
	return j
}
