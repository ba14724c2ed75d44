package expr

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

// Test notation: C("name", args...) builds a Call; arguments may be Expr,
// another C(...), or Go values turned into literals: int → INT (BIGINT when
// wide), int64 → BIGINT, float64 → DOUBLE, string → STRING, bool →
// BOOLEAN, nil → NULL, D("1.50") → DECIMAL.

type mk func() (Expr, error)

func lit(v any) mk {
	return func() (Expr, error) {
		switch x := v.(type) {
		case nil:
			return Lit(types.NullDatum(types.Null)), nil
		case int:
			return Lit(IntLiteral(int64(x))), nil
		case int64:
			return Lit(types.IntDatum(x)), nil
		case float64:
			return Lit(types.DoubleDatum(x)), nil
		case string:
			return Lit(types.StringDatum(x)), nil
		case bool:
			return Lit(types.BoolDatum(x)), nil
		case types.Datum:
			return Lit(x), nil
		case Expr:
			return x, nil
		case mk:
			return x()
		}
		panic("bad literal")
	}
}

// D is a DECIMAL literal.
func D(s string) types.Datum {
	d, ok := numericLiteral(s)
	if !ok || d.Type.Kind != types.KindDecimal {
		panic("bad decimal " + s)
	}
	return d
}

// TS is a TIMESTAMP(p) literal.
func TS(s string, p int) types.Datum {
	us, ok := parseTimestamp(s)
	if !ok {
		panic("bad timestamp " + s)
	}
	return types.Datum{Type: types.Type{Kind: types.KindTimestamp, Precision: p}, I: us}
}

// DT is a DATE literal.
func DT(s string) types.Datum {
	d, ok := parseDate(s)
	if !ok {
		panic("bad date " + s)
	}
	return types.Datum{Type: types.Date, I: d}
}

func C(name string, args ...any) mk {
	return func() (Expr, error) {
		es := make([]Expr, len(args))
		for i, a := range args {
			e, err := lit(a)()
			if err != nil {
				return nil, err
			}
			es[i] = e
		}
		return Call(name, es...)
	}
}

// CastTo builds CAST(x AS t).
func CastTo(x any, t types.Type) mk {
	return func() (Expr, error) {
		e, err := lit(x)()
		if err != nil {
			return nil, err
		}
		return Cast(e, t)
	}
}

// The fixture batch (3 rows).
var fixtureCols = []struct {
	name string
	t    types.Type
	vals []types.Datum
}{
	{"i", types.BigInt, []types.Datum{types.IntDatum(1), types.IntDatum(-5), types.NullDatum(types.BigInt)}},
	{"j", types.Int, []types.Datum{{Type: types.Int, I: 10}, {Type: types.Int, I: 0}, {Type: types.Int, I: 3}}},
	{"d", types.Decimal(10, 2), []types.Datum{types.DecimalDatum(150, 10, 2), types.DecimalDatum(-225, 10, 2), types.NullDatum(types.Decimal(10, 2))}},
	{"f", types.Double, []types.Datum{types.DoubleDatum(2.5), types.NullDatum(types.Double), types.DoubleDatum(-1)}},
	{"s", types.Varchar(20), []types.Datum{{Type: types.Varchar(20), S: "abc"}, {Type: types.Varchar(20), S: "Hello World"}, types.NullDatum(types.Varchar(20))}},
	{"ts", types.Type{Kind: types.KindTimestamp, Precision: 3}, []types.Datum{TS("2024-02-29 13:45:30.123", 3), TS("1999-12-31 23:59:59", 3), types.NullDatum(types.Type{Kind: types.KindTimestamp, Precision: 3})}},
	{"dt", types.Date, []types.Datum{DT("2024-01-31"), types.NullDatum(types.Date), DT("1970-01-01")}},
	{"b", types.Bool, []types.Datum{types.BoolDatum(true), types.BoolDatum(false), types.NullDatum(types.Bool)}},
	{"big", types.BigInt, []types.Datum{types.IntDatum(9223372036854775807), types.IntDatum(1), types.IntDatum(0)}},
	{"s2", types.String, []types.Datum{types.StringDatum("a%"), types.StringDatum("%World"), types.StringDatum("x")}},
}

func col(name string) mk {
	return func() (Expr, error) {
		for i, c := range fixtureCols {
			if c.name == name {
				return Col(i, c.t, c.name), nil
			}
		}
		panic("no column " + name)
	}
}

func fixture() *types.Batch {
	ts := make([]types.Type, len(fixtureCols))
	for i, c := range fixtureCols {
		ts[i] = c.t
	}
	b := &types.Batch{}
	b.Reset(ts)
	for r := 0; r < 3; r++ {
		row := make([]types.Datum, len(fixtureCols))
		for i, c := range fixtureCols {
			row[i] = c.vals[r]
		}
		b.AppendRow(types.Insert, row)
	}
	return b
}

type tcase struct {
	name string
	e    mk
	want string // "v" (constant: every row) or "v0|v1|v2"; "!msg" for an error containing msg
}

// render evaluates e on the fixture and prints its rows joined by '|'.
func render(e Expr) (string, error) {
	var out types.Vector
	if err := e.Eval(fixture(), &out); err != nil {
		return "", err
	}
	if out.Len() != 3 {
		return "", errors.New("wrong length")
	}
	parts := make([]string, 3)
	for i := range parts {
		if out.IsNull(i) {
			parts[i] = "NULL"
			// NULL slots must hold the zero value.
			if out.Get(i) != types.NullDatum(out.Type) {
				return "", errors.New("bad null")
			}
			continue
		}
		d := out.Get(i)
		parts[i] = d.String()
	}
	if parts[0] == parts[1] && parts[1] == parts[2] {
		return parts[0], nil
	}
	return strings.Join(parts, "|"), nil
}

func runCases(t *testing.T, cases []tcase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := c.e()
			if err == nil {
				var got string
				got, err = render(e)
				if err == nil {
					if strings.HasPrefix(c.want, "!") {
						t.Fatalf("%s = %s, want error %q", e, got, c.want[1:])
					}
					if got != c.want {
						t.Fatalf("%s = %s, want %s", e, got, c.want)
					}
					// The clone and the folded form agree.
					if got2, err := render(e.Clone()); err != nil || got2 != got {
						t.Fatalf("clone of %s = %s, %v", e, got2, err)
					}
					if f, err := Fold(e.Clone()); err != nil {
						t.Fatalf("fold %s: %v", e, err)
					} else if got3, err := render(f); err != nil || got3 != got {
						t.Fatalf("folded %s = %s, %v; want %s", f, got3, err, got)
					}
					return
				}
			}
			if !strings.HasPrefix(c.want, "!") {
				t.Fatalf("unexpected error: %v", err)
			}
			if !strings.Contains(err.Error(), c.want[1:]) {
				t.Fatalf("error %q does not contain %q", err, c.want[1:])
			}
			var ee *Error
			if !errors.As(err, &ee) {
				t.Fatalf("error %v is not an *expr.Error", err)
			}
		})
	}
}

// typeOf builds e and returns its type's string.
func typeOf(t *testing.T, e mk) string {
	t.Helper()
	x, err := e()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return x.Type().String()
}
