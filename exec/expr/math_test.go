package expr

import "testing"

func TestMathFunctions(t *testing.T) {
	runCases(t, []tcase{
		{"abs", C("ABS", col("i")), "1|5|NULL"},
		{"abs decimal", C("ABS", col("d")), "1.50|2.25|NULL"},
		{"abs double", C("ABS", -2.5), "2.5"},
		{"abs min", C("ABS", int64(-9223372036854775808)), "!BIGINT value is out of range"},
		{"mod", C("MOD", col("j"), 4), "2|0|3"},
		{"round", C("ROUND", D("2.5")), "3"},
		{"round negative", C("ROUND", D("-2.5")), "-3"},
		{"round decimal places", C("ROUND", col("d"), 1), "1.5|-2.3|NULL"},
		{"round decimal keeps", C("ROUND", col("d"), 5), "1.50|-2.25|NULL"},
		{"round int negative places", C("ROUND", 1250, -2), "1300"},
		{"round double", C("ROUND", 2.345, 2), "2.35"},
		{"round double neg", C("ROUND", -2.5), "-3"},
		{"truncate", C("TRUNCATE", D("1.999"), 1), "1.9"},
		{"truncate neg", C("TRUNCATE", D("-1.999"), 2), "-1.99"},
		{"truncate int", C("TRUNCATE", 1299, -2), "1200"},
		{"truncate double", C("TRUNCATE", 1.999, 1), "1.9"},
		{"floor", C("FLOOR", col("d")), "1|-3|NULL"},
		{"ceil", C("CEIL", col("d")), "2|-2|NULL"},
		{"ceiling double", C("CEILING", 1.2), "2"},
		{"floor int", C("FLOOR", col("i")), "1|-5|NULL"},
		{"power", C("POWER", 2, 10), "1024"},
		{"pow", C("POW", col("j"), 2), "100|0|9"},
		{"sqrt", C("SQRT", 16), "4"},
		{"sqrt negative", C("SQRT", -1), "NULL"},
		{"exp", C("EXP", 0), "1"},
		{"exp overflow", C("EXP", 1000), "!DOUBLE value is out of range"},
		{"ln", C("LN", 1), "0"},
		{"ln zero", C("LN", 0), "NULL"},
		{"log base", C("LOG", 2, 8), "3"},
		{"log", C("LOG", 1), "0"},
		{"log10", C("LOG10", 1000), "3"},
		{"log2", C("LOG2", 8), "3"},
		{"sign", C("SIGN", col("i")), "1|-1|NULL"},
		{"sign decimal", C("SIGN", col("d")), "1|-1|NULL"},
		{"sign double", C("SIGN", col("f")), "1|NULL|-1"},
		{"pi", C("PI"), "3.141592653589793"},
		{"sqrt string", C("SQRT", col("s")), "!cannot apply 'SQRT' to VARCHAR"},
	})
}

func TestRoundTypes(t *testing.T) {
	for _, c := range []struct {
		e    mk
		want string
	}{
		{C("ROUND", col("d")), "DECIMAL(9, 0)"},
		{C("ROUND", col("d"), 1), "DECIMAL(10, 1)"},
		{C("ROUND", col("d"), col("j")), "DECIMAL(10, 2)"},
		{C("ROUND", col("f"), 1), "DOUBLE"},
		{C("ROUND", col("j")), "BIGINT"},
		{C("FLOOR", col("d")), "DECIMAL(9, 0)"},
	} {
		if got := typeOf(t, c.e); got != c.want {
			x, _ := c.e()
			t.Errorf("type of %s = %s, want %s", x, got, c.want)
		}
	}
}
