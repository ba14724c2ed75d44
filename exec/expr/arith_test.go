package expr

import (
	"errors"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

func TestArith(t *testing.T) {
	runCases(t, []tcase{
		{"int add", C("+", 1, 2), "3"},
		{"col add", C("+", col("i"), col("j")), "11|-5|NULL"},
		{"sub", C("-", col("j"), col("i")), "9|5|NULL"},
		{"mul", C("*", col("i"), 3), "3|-15|NULL"},
		{"add overflow", C("+", col("big"), 1), "!BIGINT value is out of range in 'big + 1'"},
		{"sub overflow", C("-", C("NEG", col("big")), 2), "!BIGINT value is out of range"},
		{"mul overflow", C("*", col("big"), 2), "!BIGINT value is out of range in 'big * 2'"},
		{"large mul", C("*", col("i"), int64(1844674407370955161)), "1844674407370955161|-9223372036854775805|NULL"},
		{"int div is decimal", C("/", 1, 3), "0.3333"},
		{"int div rounds", C("/", 2, 3), "0.6667"},
		{"negative div", C("/", -2, 3), "-0.6667"},
		{"div by zero", C("/", col("i"), col("j")), "0.1000|NULL|NULL"},
		{"intdiv", C("DIV", 7, 2), "3"},
		{"intdiv neg", C("DIV", -7, 2), "-3"},
		{"intdiv zero", C("DIV", 7, 0), "NULL"},
		{"mod", C("%", 7, 3), "1"},
		{"mod neg", C("%", -7, 3), "-1"},
		{"mod zero", C("MOD", 7, 0), "NULL"},
		{"decimal add", C("+", col("d"), D("1.005")), "2.505|-1.245|NULL"},
		{"decimal sub int", C("-", col("d"), 1), "0.50|-3.25|NULL"},
		{"decimal same scale", C("+", col("d"), col("d")), "3.00|-4.50|NULL"},
		{"decimal same scale overflow", C("+", D("99999999999999999.9"), D("0.1")), "!DECIMAL value is out of range"},
		{"decimal mul", C("*", col("d"), D("1.5")), "2.250|-3.375|NULL"},
		{"decimal div", C("/", col("d"), 4), "0.375000|-0.562500|NULL"},
		{"decimal div decimal", C("/", D("1.00"), D("3.0")), "0.333333"},
		{"decimal div rounding", C("/", D("2.00"), 3), "0.666667"},
		{"decimal div zero", C("/", col("d"), D("0.0")), "NULL"},
		{"decimal mod", C("%", D("7.5"), 2), "1.5"},
		{"decimal intdiv", C("DIV", D("7.5"), D("2.5")), "3"},
		{"decimal overflow", C("*", D("999999999.99"), D("999999999.99")), "!DECIMAL value is out of range"},
		{"float", C("+", col("f"), 1), "3.5|NULL|0"},
		{"float mixed", C("*", col("f"), col("d")), "3.75|NULL|NULL"},
		{"float div zero", C("/", col("f"), 0.0), "NULL"},
		{"float intdiv", C("DIV", 7.5, 2), "3"},
		{"float mod", C("%", 7.5, 2), "1.5"},
		{"float overflow", C("*", 1e308, 10.0), "!DOUBLE value is out of range"},
		{"bool arith", C("+", true, 1), "2"},
		{"null adopt", C("+", nil, 1), "NULL"},
		{"null null", C("+", nil, nil), "NULL"},
		{"string literal numeric", C("+", col("j"), "2"), "12|2|5"},
		{"string literal decimal", C("+", 1, "2.5"), "3.5"},
		{"string literal bad", C("+", 1, "abc"), "!cannot cast 'abc' to INT"},
		{"string column", C("+", col("s"), col("j")), "!cannot apply '+' to VARCHAR and INT"},
		{"date plus int", C("+", col("dt"), 1), "!cannot apply '+' to DATE and INT"},
		{"neg", C("NEG", col("i")), "-1|5|NULL"},
		{"neg decimal", C("NEG", col("d")), "-1.50|2.25|NULL"},
		{"neg min", C("NEG", int64(-9223372036854775808)), "!BIGINT value is out of range"},
		{"nested", C("*", C("+", col("i"), 1), C("-", col("j"), 2)), "16|8|NULL"},
	})
}

func TestArithTypes(t *testing.T) {
	for _, c := range []struct {
		e    mk
		want string
	}{
		{C("+", col("j"), col("j")), "BIGINT"},
		{C("/", col("j"), col("j")), "DECIMAL(14, 4)"},
		{C("/", col("d"), col("j")), "DECIMAL(14, 6)"},
		{C("+", col("d"), D("1.005")), "DECIMAL(12, 3)"},
		{C("*", col("d"), D("1.5")), "DECIMAL(12, 3)"},
		{C("+", col("f"), col("d")), "DOUBLE"},
		{C("DIV", col("f"), col("d")), "BIGINT"},
		{C("%", col("d"), col("j")), "DECIMAL(12, 2)"},
	} {
		if got := typeOf(t, c.e); got != c.want {
			x, _ := c.e()
			t.Errorf("type of %s = %s, want %s", x, got, c.want)
		}
	}
}

func TestErrorKinds(t *testing.T) {
	_, err := C("+", col("s"), 1)()
	if !errors.Is(err, ErrType) {
		t.Fatalf("%v is not ErrType", err)
	}
	_, err = C("UPPER", "a", "b")()
	if !errors.Is(err, ErrArity) || err.Error() != "function UPPER expects 1 argument, got 2" {
		t.Fatalf("arity: %v", err)
	}
	_, err = C("FOO")()
	if !errors.Is(err, ErrUnknownFunction) || err.Error() != "Unknown function 'FOO'" {
		t.Fatalf("unknown: %v", err)
	}
	e, _ := C("+", col("big"), 1)()
	_, err = render(e)
	if !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("overflow: %v", err)
	}
	_ = types.Bool
}
