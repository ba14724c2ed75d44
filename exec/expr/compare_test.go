package expr

import (
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

func TestCompare(t *testing.T) {
	runCases(t, []tcase{
		{"eq", C("=", col("i"), 1), "TRUE|FALSE|NULL"},
		{"ne", C("<>", col("i"), 1), "FALSE|TRUE|NULL"},
		{"bang ne", C("!=", col("j"), 0), "TRUE|FALSE|TRUE"},
		{"lt", C("<", col("i"), col("j")), "TRUE|TRUE|NULL"},
		{"le", C("<=", col("j"), 3), "FALSE|TRUE|TRUE"},
		{"gt", C(">", col("f"), 0), "TRUE|NULL|FALSE"},
		{"ge", C(">=", col("d"), D("1.5")), "TRUE|FALSE|NULL"},
		{"int vs decimal", C("=", col("i"), D("1.0")), "TRUE|FALSE|NULL"},
		{"decimal scales", C("<", col("d"), D("1.501")), "TRUE|TRUE|NULL"},
		{"int vs double", C("<", col("j"), 2.5), "FALSE|TRUE|FALSE"},
		{"null safe", C("<=>", col("i"), nil), "FALSE|FALSE|TRUE"},
		{"null safe cols", C("<=>", col("i"), col("i")), "TRUE"},
		{"null literal", C("=", col("i"), nil), "NULL"},
		{"strings", C("<", col("s"), "b"), "TRUE|TRUE|NULL"},
		{"strings bytewise", C("<", "Z", "a"), "TRUE"},
		{"string col vs int", C("=", col("s"), 1), "!cannot compare VARCHAR with INT"},
		{"int vs string col", C("=", col("j"), col("s")), "!cannot compare INT with VARCHAR"},
		{"string literal vs int", C("=", col("j"), "10"), "TRUE|FALSE|FALSE"},
		{"string literal vs decimal", C("=", col("d"), "1.5"), "TRUE|FALSE|NULL"},
		{"ts vs string", C(">", col("ts"), "2000-01-01"), "TRUE|FALSE|NULL"},
		{"ts vs string time", C("=", col("ts"), "2024-02-29 13:45:30.123"), "TRUE|FALSE|NULL"},
		{"date vs string", C("=", col("dt"), "2024-01-31"), "TRUE|NULL|FALSE"},
		{"date vs bad string", C("=", col("dt"), "abc"), "!cannot cast 'abc' to DATE"},
		{"date vs ts", C("<", col("dt"), col("ts")), "TRUE|NULL|NULL"},
		{"date vs int", C("=", col("dt"), 1), "!cannot compare DATE with INT"},
		{"bool", C("=", col("b"), true), "TRUE|FALSE|NULL"},
		{"bool vs string", C("=", col("b"), "false"), "FALSE|TRUE|NULL"},
		{"between", func() (Expr, error) {
			e, _ := col("j")()
			lo, _ := lit(1)()
			hi, _ := lit(5)()
			return Between(e, lo, hi, false)
		}, "FALSE|FALSE|TRUE"},
		{"not between", func() (Expr, error) {
			e, _ := col("i")()
			lo, _ := lit(0)()
			hi, _ := lit(5)()
			return Between(e, lo, hi, true)
		}, "FALSE|TRUE|NULL"},
	})
}

func TestLogic(t *testing.T) {
	runCases(t, []tcase{
		{"and", C("AND", col("b"), true), "TRUE|FALSE|NULL"},
		{"and false null", C("AND", col("b"), false), "FALSE"},
		{"and null", C("AND", nil, false), "FALSE"},
		{"and null true", C("AND", nil, true), "NULL"},
		{"or", C("OR", col("b"), false), "TRUE|FALSE|NULL"},
		{"or true null", C("OR", col("b"), true), "TRUE"},
		{"or null false", C("OR", nil, false), "NULL"},
		{"xor", C("XOR", col("b"), true), "FALSE|TRUE|NULL"},
		{"not", C("NOT", col("b")), "FALSE|TRUE|NULL"},
		{"numeric operands", C("AND", col("j"), 1), "TRUE|FALSE|TRUE"},
		{"not numeric", C("NOT", col("f")), "FALSE|NULL|FALSE"},
		{"string operand", C("AND", col("s"), true), "!cannot apply 'AND' to VARCHAR and BOOLEAN"},
		{"is null", C("IS NULL", col("i")), "FALSE|FALSE|TRUE"},
		{"is not null", C("IS NOT NULL", col("s")), "TRUE|TRUE|FALSE"},
		{"is true", C("IS TRUE", col("b")), "TRUE|FALSE|FALSE"},
		{"is not true", C("IS NOT TRUE", col("b")), "FALSE|TRUE|TRUE"},
		{"is false", C("IS FALSE", col("b")), "FALSE|TRUE|FALSE"},
		{"is not false", C("IS NOT FALSE", col("b")), "TRUE|FALSE|TRUE"},
		{"is true numeric", C("IS TRUE", col("j")), "TRUE|FALSE|TRUE"},
		// The right side overflows only on rows the left side excludes.
		{"and guards error", C("AND", C("<", col("big"), 10), C(">", C("+", col("big"), 1), 0)), "FALSE|TRUE|TRUE"},
		{"or guards error", C("OR", C(">", col("big"), 10), C(">", C("+", col("big"), 1), 0)), "TRUE"},
		{"and error unguarded", C("AND", C(">", col("big"), 10), C(">", C("+", col("big"), 1), 0)), "!BIGINT value is out of range"},
	})
}

func TestControl(t *testing.T) {
	caseOf := func(whens, thens []any, els any) mk {
		return func() (Expr, error) {
			ws := make([]Expr, len(whens))
			ts := make([]Expr, len(thens))
			for i := range whens {
				ws[i], _ = lit(whens[i])()
				ts[i], _ = lit(thens[i])()
			}
			var e Expr
			if els != nil {
				e, _ = lit(els)()
			}
			return Case(ws, ts, e)
		}
	}
	inOf := func(x any, not bool, list ...any) mk {
		return func() (Expr, error) {
			e, err := lit(x)()
			if err != nil {
				return nil, err
			}
			l := make([]Expr, len(list))
			for i := range list {
				if l[i], err = lit(list[i])(); err != nil {
					return nil, err
				}
			}
			return In(e, l, not)
		}
	}
	runCases(t, []tcase{
		{"case", caseOf([]any{C("<", col("i"), 0), C("=", col("i"), 1)}, []any{"neg", "one"}, "other"), "one|neg|other"},
		{"case no else", caseOf([]any{C("=", col("i"), 1)}, []any{col("j")}, nil), "10|NULL|NULL"},
		{"case widen", caseOf([]any{col("b")}, []any{col("j")}, col("d")), "10.00|-2.25|NULL"},
		{"case float", caseOf([]any{col("b")}, []any{1}, 2.5), "1|2.5|2.5"},
		{"case string literal coerced", caseOf([]any{col("b")}, []any{col("dt")}, "2000-01-01"), "2024-01-31|2000-01-01|2000-01-01"},
		{"case bad types", caseOf([]any{col("b")}, []any{col("s")}, col("i")), "!cannot find a common type for VARCHAR and BIGINT in CASE"},
		{"case guards error", caseOf([]any{C("<", col("big"), 10)}, []any{C("+", col("big"), 1)}, 0), "0|2|1"},
		{"case null cond", caseOf([]any{nil}, []any{1}, 2), "2"},
		{"coalesce", C("COALESCE", col("i"), col("j")), "1|-5|3"},
		{"coalesce types", C("COALESCE", col("f"), col("i"), 7), "2.5|-5|-1"},
		{"coalesce all null", C("COALESCE", nil, nil), "NULL"},
		{"ifnull", C("IFNULL", col("s"), "none"), "abc|Hello World|none"},
		{"if", C("IF", col("b"), "y", "n"), "y|n|n"},
		{"nullif", C("NULLIF", col("j"), 0), "10|NULL|3"},
		{"in", inOf(col("j"), false, 10, 3), "TRUE|FALSE|TRUE"},
		{"in null", inOf(col("j"), false, 10, nil), "TRUE|NULL|NULL"},
		{"not in", inOf(col("j"), true, 10, 3), "FALSE|TRUE|FALSE"},
		{"not in null", inOf(col("j"), true, 10, nil), "FALSE|NULL|NULL"},
		{"in null value", inOf(col("i"), false, 1, 2), "TRUE|FALSE|NULL"},
		{"in strings", inOf(col("s"), false, "abc", "x"), "TRUE|FALSE|NULL"},
		{"in decimal", inOf(col("d"), false, D("1.5"), 7), "TRUE|FALSE|NULL"},
		{"in columns", inOf(col("i"), false, col("j"), 1), "TRUE|FALSE|NULL"},
		{"in columns null", inOf(col("j"), false, col("i"), 0), "FALSE|TRUE|NULL"},
		{"in bad", inOf(col("s"), false, 1), "!cannot"},
		{"in string literal", inOf(col("j"), false, "10"), "TRUE|FALSE|FALSE"},
		{"greatest", C("GREATEST", col("i"), col("j"), 2), "10|2|NULL"},
		{"least", C("LEAST", col("j"), 5, D("4.5")), "4.5|0.0|3.0"},
		{"greatest strings", C("GREATEST", "a", "c", "b"), "c"},
	})
}

func TestLike(t *testing.T) {
	like := func(x, p any, esc byte, not bool) mk {
		return func() (Expr, error) {
			e, _ := lit(x)()
			pe, _ := lit(p)()
			return Like(e, pe, esc, not)
		}
	}
	runCases(t, []tcase{
		{"prefix", C("LIKE", col("s"), "ab%"), "TRUE|FALSE|NULL"},
		{"suffix", C("LIKE", col("s"), "%World"), "FALSE|TRUE|NULL"},
		{"contains", C("LIKE", col("s"), "%lo W%"), "FALSE|TRUE|NULL"},
		{"exact", C("LIKE", col("s"), "abc"), "TRUE|FALSE|NULL"},
		{"underscore", C("LIKE", col("s"), "a_c"), "TRUE|FALSE|NULL"},
		{"general", C("LIKE", col("s"), "H%o%d"), "FALSE|TRUE|NULL"},
		{"backtrack", C("LIKE", "aaab", "%a_b"), "TRUE"},
		{"backtrack2", C("LIKE", "abcabd", "%ab_"), "TRUE"},
		{"case sensitive", C("LIKE", col("s"), "ABC"), "FALSE|FALSE|NULL"},
		{"all", C("LIKE", col("s"), "%"), "TRUE|TRUE|NULL"},
		{"not like", C("NOT LIKE", col("s"), "a%"), "FALSE|TRUE|NULL"},
		{"escape default", C("LIKE", "a%", "a\\%"), "TRUE"},
		{"escape default no match", C("LIKE", "ab", "a\\%"), "FALSE"},
		{"escape custom", like("10%", "10!%", '!', false), "TRUE"},
		{"escape arg", C("LIKE", "a_b", "a!_b", "!"), "TRUE"},
		{"unicode underscore", C("LIKE", "héllo", "h_llo"), "TRUE"},
		{"pattern column", C("LIKE", col("s"), col("s2")), "TRUE|TRUE|NULL"},
		{"null pattern", C("LIKE", col("s"), nil), "NULL"},
		{"non-string", C("LIKE", col("j"), "1%"), "!cannot apply 'LIKE' to INT and STRING"},
		{"regexp", C("REGEXP", col("s"), "^[a-c]+$"), "TRUE|FALSE|NULL"},
		{"regexp search", C("REGEXP", col("s"), "o W"), "FALSE|TRUE|NULL"},
		{"not regexp", C("NOT REGEXP", col("s"), "b"), "FALSE|TRUE|NULL"},
		{"regexp invalid", C("REGEXP", col("s"), "a("), "!invalid regular expression"},
		{"rlike column", C("RLIKE", "abc", col("s")), "TRUE|FALSE|NULL"},
	})
}

func TestCommonType(t *testing.T) {
	for _, c := range []struct {
		a, b types.Type
		want string
	}{
		{types.Null, types.Int, "INT"},
		{types.Int, types.BigInt, "BIGINT"},
		{types.Int, types.Decimal(5, 2), "DECIMAL(12, 2)"},
		{types.Float, types.Decimal(5, 2), "DOUBLE"},
		{types.Varchar(3), types.Varchar(5), "VARCHAR(5)"},
		{types.Varchar(3), types.String, "STRING"},
		{types.Date, types.Timestamp, "TIMESTAMP(6)"},
		{types.Bool, types.Bool, "BOOLEAN"},
		{types.Varchar(3), types.Int, "none"},
		{types.Date, types.Int, "none"},
	} {
		got := "none"
		if ct, ok := CommonType(c.a, c.b); ok {
			got = ct.String()
		}
		if got != c.want {
			t.Errorf("CommonType(%s, %s) = %s, want %s", c.a, c.b, got, c.want)
		}
	}
}
