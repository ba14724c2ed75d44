package expr

import (
	"strconv"
	"strings"

	"github.com/sluicesql/sluice/exec/types"
)

// colExpr reads input column idx.
type colExpr struct {
	idx  int
	t    types.Type
	name string
}

// Col returns a reference to column idx of the input batch, of type t.
// name is used only for printing (EXPLAIN and error messages); "" prints
// $idx.
func Col(idx int, t types.Type, name string) Expr {
	return &colExpr{idx: idx, t: t, name: name}
}

// ColumnIndex reports whether e is a plain column reference and its index.
func ColumnIndex(e Expr) (int, bool) {
	if c, ok := e.(*colExpr); ok {
		return c.idx, true
	}
	return 0, false
}

func (c *colExpr) Type() types.Type { return c.t }
func (c *colExpr) children() []Expr { return nil }
func (c *colExpr) Clone() Expr      { cp := *c; return &cp }

func (c *colExpr) String() string {
	if c.name != "" {
		return c.name
	}
	return "$" + strconv.Itoa(c.idx)
}

func (c *colExpr) column(b *types.Batch) (*types.Vector, error) {
	if c.idx < 0 || c.idx >= len(b.Cols) {
		return nil, newErr(ErrEval, "column %s is beyond the input's %d columns", c.String(), len(b.Cols))
	}
	v := &b.Cols[c.idx]
	if v.Type.Class() != c.t.Class() || v.Len() < b.Len() {
		return nil, newErr(ErrEval, "column %s holds %d %s values, expected %d %s", c.String(),
			v.Len(), v.Type, b.Len(), c.t)
	}
	return v, nil
}

func (c *colExpr) Eval(b *types.Batch, out *types.Vector) error {
	v, err := c.column(b)
	if err != nil {
		return err
	}
	copyVector(out, v, c.t, b.Len())
	return nil
}

// litExpr is a constant. It caches a vector of the constant repeated, so
// parents read it without copying.
type litExpr struct {
	d     types.Datum
	cache types.Vector
}

// Lit returns a constant. d.Type is its type; a NULL of KindNull is the
// untyped NULL literal, which adopts the type of its context.
func Lit(d types.Datum) Expr {
	return &litExpr{d: d}
}

// LitValue reports whether e is a literal and returns its value.
func LitValue(e Expr) (types.Datum, bool) {
	if l, ok := e.(*litExpr); ok {
		return l.d, true
	}
	return types.Datum{}, false
}

func (l *litExpr) Type() types.Type { return l.d.Type }
func (l *litExpr) children() []Expr { return nil }
func (l *litExpr) Clone() Expr      { return &litExpr{d: l.d} }
func (l *litExpr) String() string   { return sqlLiteral(l.d) }

func (l *litExpr) broadcast(n int) *types.Vector {
	v := &l.cache
	if v.Len() == n && v.Type == l.d.Type {
		return v
	}
	prepare(v, l.d.Type, n)
	if l.d.Null {
		nulls := ensureNulls(v, n)
		for i := range nulls {
			nulls[i] = true
		}
		return v
	}
	switch l.d.Type.Class() {
	case types.ClassF64:
		for i := range v.F64 {
			v.F64[i] = l.d.F
		}
	case types.ClassStr:
		for i := range v.Str {
			v.Str[i] = l.d.S
		}
	default:
		for i := range v.I64 {
			v.I64[i] = l.d.I
		}
	}
	return v
}

func (l *litExpr) Eval(b *types.Batch, out *types.Vector) error {
	copyVector(out, l.broadcast(b.Len()), l.d.Type, b.Len())
	return nil
}

// sqlLiteral prints d as a SQL literal.
func sqlLiteral(d types.Datum) string {
	if d.Null {
		return "NULL"
	}
	switch d.Type.Kind {
	case types.KindChar, types.KindVarchar, types.KindString, types.KindBytes:
		return "'" + strings.ReplaceAll(d.S, "'", "''") + "'"
	case types.KindDate:
		return "DATE '" + d.String() + "'"
	case types.KindTime:
		return "TIME '" + d.String() + "'"
	case types.KindTimestamp, types.KindTimestampLTZ:
		return "TIMESTAMP '" + d.String() + "'"
	}
	return d.String()
}
