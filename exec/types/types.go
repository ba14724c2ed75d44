package types

import (
	"fmt"
	"strings"
)

// Kind is the SQL type of a value.
type Kind uint8

// The SQL kinds. KindNull is the type of an untyped NULL literal only.
const (
	KindNull Kind = iota
	KindBool
	KindTinyInt
	KindSmallInt
	KindInt
	KindBigInt
	KindFloat
	KindDouble
	KindDecimal
	KindChar
	KindVarchar
	KindString
	KindBytes
	KindDate
	KindTime
	KindTimestamp
	KindTimestampLTZ
)

// Class is the physical storage class of a kind.
type Class uint8

// Physical classes.
const (
	ClassI64 Class = iota
	ClassF64
	ClassStr
)

// MaxDecimalPrecision is the largest DECIMAL precision Sluice stores: decimals
// are int64 scaled by 10^scale.
const MaxDecimalPrecision = 18

// Type is a SQL type with its parameters.
//
// Precision and Scale apply to DECIMAL (digits, fractional digits) and
// Precision to TIMESTAMP/TIME (fractional second digits, 0..6). Length applies
// to CHAR/VARCHAR (0 = unbounded). NotNull records a NOT NULL constraint.
type Type struct {
	Kind      Kind
	Precision int
	Scale     int
	Length    int
	NotNull   bool
}

// Common types.
var (
	Null      = Type{Kind: KindNull}
	Bool      = Type{Kind: KindBool}
	TinyInt   = Type{Kind: KindTinyInt}
	SmallInt  = Type{Kind: KindSmallInt}
	Int       = Type{Kind: KindInt}
	BigInt    = Type{Kind: KindBigInt}
	Float     = Type{Kind: KindFloat}
	Double    = Type{Kind: KindDouble}
	String    = Type{Kind: KindString}
	Bytes     = Type{Kind: KindBytes}
	Date      = Type{Kind: KindDate}
	Time      = Type{Kind: KindTime}
	Timestamp = Type{Kind: KindTimestamp, Precision: 6}
)

// Decimal returns DECIMAL(p, s).
func Decimal(p, s int) Type { return Type{Kind: KindDecimal, Precision: p, Scale: s} }

// Varchar returns VARCHAR(n).
func Varchar(n int) Type { return Type{Kind: KindVarchar, Length: n} }

// Class returns the physical storage class of t.
func (t Type) Class() Class {
	switch t.Kind {
	case KindFloat, KindDouble:
		return ClassF64
	case KindChar, KindVarchar, KindString, KindBytes:
		return ClassStr
	default:
		return ClassI64
	}
}

// IsInteger reports whether t is TINYINT, SMALLINT, INT or BIGINT.
func (t Type) IsInteger() bool { return t.Kind >= KindTinyInt && t.Kind <= KindBigInt }

// IsNumeric reports whether t is an integer, floating point or decimal type.
func (t Type) IsNumeric() bool { return t.Kind >= KindTinyInt && t.Kind <= KindDecimal }

// IsFloat reports whether t is FLOAT or DOUBLE.
func (t Type) IsFloat() bool { return t.Kind == KindFloat || t.Kind == KindDouble }

// IsString reports whether t is a character or binary string type.
func (t Type) IsString() bool { return t.Kind >= KindChar && t.Kind <= KindBytes }

// IsTemporal reports whether t is DATE, TIME, TIMESTAMP or TIMESTAMP_LTZ.
func (t Type) IsTemporal() bool { return t.Kind >= KindDate && t.Kind <= KindTimestampLTZ }

// Nullable returns t without its NOT NULL constraint.
func (t Type) Nullable() Type { t.NotNull = false; return t }

// Equal reports whether a and b are the same type, ignoring nullability.
func (t Type) Equal(o Type) bool { t.NotNull, o.NotNull = false, false; return t == o }

var kindNames = [...]string{
	KindNull: "NULL", KindBool: "BOOLEAN", KindTinyInt: "TINYINT", KindSmallInt: "SMALLINT",
	KindInt: "INT", KindBigInt: "BIGINT", KindFloat: "FLOAT", KindDouble: "DOUBLE",
	KindDecimal: "DECIMAL", KindChar: "CHAR", KindVarchar: "VARCHAR", KindString: "STRING",
	KindBytes: "BYTES", KindDate: "DATE", KindTime: "TIME", KindTimestamp: "TIMESTAMP",
	KindTimestampLTZ: "TIMESTAMP_LTZ",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// String prints t in SQL, for example DECIMAL(10, 2) or VARCHAR(64) NOT NULL.
func (t Type) String() string {
	var b strings.Builder
	b.WriteString(t.Kind.String())
	switch t.Kind {
	case KindDecimal:
		fmt.Fprintf(&b, "(%d, %d)", t.Precision, t.Scale)
	case KindChar, KindVarchar:
		if t.Length > 0 {
			fmt.Fprintf(&b, "(%d)", t.Length)
		}
	case KindTimestamp, KindTimestampLTZ:
		fmt.Fprintf(&b, "(%d)", t.Precision)
	}
	if t.NotNull {
		b.WriteString(" NOT NULL")
	}
	return b.String()
}

// Column is a named, typed column of a schema.
type Column struct {
	Name string
	Type Type
}

// Schema is an ordered list of columns.
type Schema []Column

// Index returns the position of the column named name (case-insensitive), or -1.
func (s Schema) Index(name string) int {
	for i, c := range s {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// Types returns the column types of s.
func (s Schema) Types() []Type {
	out := make([]Type, len(s))
	for i, c := range s {
		out[i] = c.Type
	}
	return out
}
