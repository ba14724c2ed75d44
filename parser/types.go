package parser

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/charset"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	tidbtypes "github.com/pingcap/tidb/pkg/parser/types"

	"github.com/sluicesql/sluice/exec/types"
)

// Limits of type parameters.
const (
	maxTimePrecision = 6
	maxStringLength  = 2147483647 // VARCHAR(2147483647) is Flink's STRING
)

// parseType parses a type name at the cursor: BOOLEAN, INT, DECIMAL(p, s),
// VARCHAR(n), TIMESTAMP(3) [WITH LOCAL TIME ZONE], TIMESTAMP_LTZ(3), ...
// NOT NULL is not part of it.
func (c *cursor) parseType() (types.Type, error) {
	t := c.peek()
	if t.kind != tkIdent {
		return types.Type{}, c.errNear("a type name")
	}
	name := strings.ToUpper(c.text(t))
	c.next()
	switch name {
	case "BOOLEAN", "BOOL":
		return types.Bool, nil
	case "TINYINT", "SMALLINT", "INT", "INTEGER", "MEDIUMINT", "BIGINT":
		if _, err := c.typeParams(0, 1); err != nil { // display width, ignored
			return types.Type{}, err
		}
		if c.isKw("UNSIGNED") {
			return types.Type{}, c.sp.ErrorAt(t.pos, "unsupported type "+name+" UNSIGNED")
		}
		c.acceptKw("SIGNED")
		switch name {
		case "TINYINT":
			return types.TinyInt, nil
		case "SMALLINT":
			return types.SmallInt, nil
		case "BIGINT":
			return types.BigInt, nil
		}
		return types.Int, nil
	case "SIGNED":
		if !c.acceptKw("INTEGER") {
			c.acceptKw("INT")
		}
		return types.BigInt, nil
	case "FLOAT":
		p, err := c.typeParams(0, 2)
		if err != nil {
			return types.Type{}, err
		}
		if len(p) == 1 && p[0] > 24 {
			return types.Double, nil
		}
		return types.Float, nil
	case "DOUBLE", "REAL":
		if name == "DOUBLE" {
			c.acceptKw("PRECISION")
		}
		if _, err := c.typeParams(0, 2); err != nil {
			return types.Type{}, err
		}
		return types.Double, nil
	case "DECIMAL", "DEC", "NUMERIC":
		return c.decimalType(t.pos)
	case "CHAR", "CHARACTER", "NCHAR":
		if name == "CHARACTER" && c.acceptKw("VARYING") {
			return c.varcharType(t.pos)
		}
		p, err := c.typeParams(0, 1)
		if err != nil {
			return types.Type{}, err
		}
		n := 1
		if len(p) == 1 {
			n = p[0]
		}
		if n < 1 {
			return types.Type{}, c.sp.ErrorAt(t.pos, "CHAR length must be at least 1")
		}
		return types.Type{Kind: types.KindChar, Length: n}, nil
	case "VARCHAR", "NVARCHAR":
		return c.varcharType(t.pos)
	case "STRING", "TEXT", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT":
		return types.String, nil
	case "BYTES", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY":
		if _, err := c.typeParams(0, 1); err != nil {
			return types.Type{}, err
		}
		return types.Bytes, nil
	case "DATE":
		return types.Date, nil
	case "TIME":
		p, err := c.precision(t.pos, name, 0)
		if err != nil {
			return types.Type{}, err
		}
		c.timeZoneSuffix(false)
		return types.Type{Kind: types.KindTime, Precision: p}, nil
	case "TIMESTAMP", "DATETIME":
		p, err := c.precision(t.pos, name, 6)
		if err != nil {
			return types.Type{}, err
		}
		if name == "TIMESTAMP" && c.timeZoneSuffix(true) {
			return types.Type{Kind: types.KindTimestampLTZ, Precision: p}, nil
		}
		return types.Type{Kind: types.KindTimestamp, Precision: p}, nil
	case "TIMESTAMP_LTZ":
		p, err := c.precision(t.pos, name, 6)
		if err != nil {
			return types.Type{}, err
		}
		return types.Type{Kind: types.KindTimestampLTZ, Precision: p}, nil
	}
	return types.Type{}, c.sp.ErrorAt(t.pos, "unsupported type "+name)
}

// typeParams parses an optional ( n [, m] ) list of between lo and hi
// integers.
func (c *cursor) typeParams(lo, hi int) ([]int, error) {
	if !c.isOp("(") {
		return nil, nil
	}
	c.next()
	var out []int
	for {
		t := c.peek()
		if t.kind != tkNumber {
			return nil, c.errNear("a number")
		}
		n, err := strconv.Atoi(c.text(t))
		if err != nil || n < 0 {
			return nil, c.sp.ErrorAt(t.pos, fmt.Sprintf("invalid type parameter %s", c.text(t)))
		}
		out = append(out, n)
		c.next()
		if c.isOp(",") {
			c.next()
			continue
		}
		if err := c.expectOp(")"); err != nil {
			return nil, err
		}
		break
	}
	if len(out) < lo || len(out) > hi {
		return nil, c.sp.ErrorAt(c.toks[c.i-1].pos, fmt.Sprintf("expected at most %d type parameters", hi))
	}
	return out, nil
}

func (c *cursor) decimalType(at int) (types.Type, error) {
	p, err := c.typeParams(0, 2)
	if err != nil {
		return types.Type{}, err
	}
	prec, scale := 10, 0
	if len(p) > 0 {
		prec = p[0]
	}
	if len(p) > 1 {
		scale = p[1]
	}
	switch {
	case prec < 1:
		return types.Type{}, c.sp.ErrorAt(at, "DECIMAL precision must be at least 1")
	case prec > types.MaxDecimalPrecision:
		return types.Type{}, c.sp.ErrorAt(at, fmt.Sprintf("DECIMAL precision %d exceeds the maximum of %d", prec, types.MaxDecimalPrecision))
	case scale > prec:
		return types.Type{}, c.sp.ErrorAt(at, fmt.Sprintf("DECIMAL scale %d exceeds the precision %d", scale, prec))
	}
	return types.Decimal(prec, scale), nil
}

func (c *cursor) varcharType(at int) (types.Type, error) {
	p, err := c.typeParams(0, 1)
	if err != nil {
		return types.Type{}, err
	}
	switch {
	case len(p) == 0 || p[0] >= maxStringLength:
		return types.String, nil
	case p[0] < 1:
		return types.Type{}, c.sp.ErrorAt(at, "VARCHAR length must be at least 1")
	}
	return types.Varchar(p[0]), nil
}

// precision parses an optional (p) of TIME and TIMESTAMP types.
func (c *cursor) precision(at int, name string, def int) (int, error) {
	p, err := c.typeParams(0, 1)
	if err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return def, nil
	}
	if p[0] > maxTimePrecision {
		return 0, c.sp.ErrorAt(at, fmt.Sprintf("%s precision %d exceeds the maximum of %d", name, p[0], maxTimePrecision))
	}
	return p[0], nil
}

// timeZoneSuffix accepts WITHOUT TIME ZONE and, when local is true, WITH
// LOCAL TIME ZONE; it reports whether the latter was given.
func (c *cursor) timeZoneSuffix(local bool) bool {
	if c.acceptKw("WITHOUT", "TIME", "ZONE") {
		return false
	}
	return local && c.acceptKw("WITH", "LOCAL", "TIME", "ZONE")
}

// castTypeText returns the text TiDB is given in place of a CAST target of
// type t, in order of preference (TiDB's CAST accepts fewer type names than
// Sluice). Ext.CastTypes keeps the real type.
func castTypeText(t types.Type) []string {
	switch t.Kind {
	case types.KindBool, types.KindTinyInt, types.KindSmallInt, types.KindInt, types.KindBigInt:
		return []string{"SIGNED"}
	case types.KindFloat:
		return []string{"FLOAT"}
	case types.KindDouble:
		return []string{"DOUBLE", "REAL"}
	case types.KindDecimal:
		return []string{fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale)}
	case types.KindChar, types.KindVarchar:
		return []string{fmt.Sprintf("CHAR(%d)", t.Length), "CHAR"}
	case types.KindString:
		return []string{"CHAR"}
	case types.KindBytes:
		return []string{"BINARY"}
	case types.KindDate:
		return []string{"DATE"}
	case types.KindTime:
		return []string{fmt.Sprintf("TIME(%d)", t.Precision), "TIME"}
	default: // TIMESTAMP, TIMESTAMP_LTZ
		return []string{fmt.Sprintf("DATETIME(%d)", t.Precision), "DATETIME"}
	}
}

// typeFromFieldType derives a Sluice type from TiDB's, for casts the
// pre-parser did not rewrite (BINARY x, for one).
func typeFromFieldType(ft *tidbtypes.FieldType) types.Type {
	if ft == nil {
		return types.String
	}
	switch ft.GetType() {
	case mysql.TypeTiny:
		return types.TinyInt
	case mysql.TypeShort:
		return types.SmallInt
	case mysql.TypeLong, mysql.TypeInt24:
		return types.Int
	case mysql.TypeLonglong, mysql.TypeYear, mysql.TypeBit:
		return types.BigInt
	case mysql.TypeFloat:
		return types.Float
	case mysql.TypeDouble:
		return types.Double
	case mysql.TypeNewDecimal:
		p, s := ft.GetFlen(), ft.GetDecimal()
		if p <= 0 {
			p = 10
		}
		p = min(p, types.MaxDecimalPrecision)
		s = max(0, min(s, p))
		return types.Decimal(p, s)
	case mysql.TypeDate:
		return types.Date
	case mysql.TypeDuration:
		return types.Type{Kind: types.KindTime, Precision: max(0, min(ft.GetDecimal(), maxTimePrecision))}
	case mysql.TypeDatetime, mysql.TypeTimestamp:
		return types.Type{Kind: types.KindTimestamp, Precision: max(0, min(ft.GetDecimal(), maxTimePrecision))}
	}
	if ft.GetCharset() == charset.CharsetBin {
		return types.Bytes
	}
	return types.String
}
