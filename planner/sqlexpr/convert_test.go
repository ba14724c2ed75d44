package sqlexpr

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/parser"
)

type fakeCol struct {
	table, name string
	d           types.Datum
}

// The row every test expression is evaluated on.
var fakeCols = []fakeCol{
	{"t", "a", types.Datum{Type: types.Int, I: 7}},
	{"t", "b", types.IntDatum(100)},
	{"t", "s", types.Datum{Type: types.Varchar(10), S: "hello"}},
	{"t", "d", types.DecimalDatum(1250, 10, 2)},
	{"t", "f", types.DoubleDatum(2.5)},
	{"t", "ts", mustLit("2024-02-29 13:45:30.123", types.Type{Kind: types.KindTimestamp, Precision: 3})},
	{"t", "dt", mustLit("2024-01-31", types.Date)},
	{"t", "flag", types.BoolDatum(true)},
	{"t", "n", types.NullDatum(types.Int)},
	{"u", "z", types.StringDatum("zz")},
	{"u", "dup", types.NullDatum(types.Int)},
	{"t", "dup", types.NullDatum(types.Int)},
}

func mustLit(s string, t types.Type) types.Datum {
	d, err := expr.ParseLiteral(s, t)
	if err != nil {
		panic(err)
	}
	return d
}

type fakeScope struct{}

func (fakeScope) Column(qual, name string) (int, types.Type, error) {
	found := -1
	for i, c := range fakeCols {
		if !strings.EqualFold(c.name, name) || (qual != "" && !strings.EqualFold(c.table, qual)) {
			continue
		}
		if found >= 0 {
			return 0, types.Type{}, fmt.Errorf("Column '%s' is ambiguous", name)
		}
		found = i
	}
	if found < 0 {
		if qual != "" {
			name = qual + "." + name
		}
		return 0, types.Type{}, fmt.Errorf("Unknown column '%s'", name)
	}
	return found, fakeCols[found].d.Type, nil
}

func row() []types.Datum {
	out := make([]types.Datum, len(fakeCols))
	for i, c := range fakeCols {
		out[i] = c.d
	}
	return out
}

// convertText parses text as one expression and converts it.
func convertText(text string, hook func(ast.ExprNode) (expr.Expr, bool, error)) (expr.Expr, error) {
	n, ext, err := parser.ParseExprExt(text)
	if err != nil {
		return nil, err
	}
	ctx := &Context{Scope: fakeScope{}, Span: parser.Span{Script: text, End: len(text)}, Ext: ext, Hook: hook}
	return Convert(ctx, n)
}

func TestConvert(t *testing.T) {
	for _, c := range []struct {
		sql, want, typ string
	}{
		{"1", "1", "INT"},
		{"3000000000", "3000000000", "BIGINT"},
		{"-9223372036854775808", "-9223372036854775808", "BIGINT"},
		{"18446744073709551615", "1.8446744073709552e+19", "DOUBLE"},
		{"1.50", "1.50", "DECIMAL(3, 2)"},
		{"-1.5", "-1.5", "DECIMAL(2, 1)"},
		{"1e3", "1000", "DOUBLE"},
		{"'x'", "x", "STRING"},
		{"TRUE", "TRUE", "BOOLEAN"},
		{"false", "FALSE", "BOOLEAN"},
		{"NULL", "NULL", "NULL"},
		{"x'4142'", "AB", "BYTES"},
		{"0x41", "A", "BYTES"},
		{"DATE '2020-01-02'", "2020-01-02", "DATE"},
		{"TIMESTAMP '2020-01-02 03:04:05.5'", "2020-01-02 03:04:05.5", "TIMESTAMP(1)"},
		{"TIME '10:11:12'", "10:11:12", "TIME"},
		{"a", "7", "INT"},
		{"t.a", "7", "INT"},
		{"u.z", "zz", "STRING"},
		{"(a + 1) * 2", "16", "BIGINT"},
		{"a / 2", "3.5000", "DECIMAL(14, 4)"},
		{"a DIV 2", "3", "BIGINT"},
		{"a % 4", "3", "BIGINT"},
		{"a MOD 4", "3", "BIGINT"},
		{"-a", "-7", "BIGINT"},
		{"+a", "7", "INT"},
		{"d * 2", "25.00", "DECIMAL(18, 2)"},
		{"f + a", "9.5", "DOUBLE"},
		{"a = 7 AND b > 50", "TRUE", "BOOLEAN"},
		{"a <> 7 OR n IS NULL", "TRUE", "BOOLEAN"},
		{"a != 7", "FALSE", "BOOLEAN"},
		{"NOT flag", "FALSE", "BOOLEAN"},
		{"!flag", "FALSE", "BOOLEAN"},
		{"a XOR 0", "TRUE", "BOOLEAN"},
		{"n <=> NULL", "TRUE", "BOOLEAN"},
		{"n = NULL", "NULL", "BOOLEAN"},
		{"flag IS TRUE", "TRUE", "BOOLEAN"},
		{"n IS NOT FALSE", "TRUE", "BOOLEAN"},
		{"a IS NOT NULL", "TRUE", "BOOLEAN"},
		{"a BETWEEN 1 AND 10", "TRUE", "BOOLEAN"},
		{"a NOT BETWEEN 1 AND 10", "FALSE", "BOOLEAN"},
		{"a IN (1, 7)", "TRUE", "BOOLEAN"},
		{"a NOT IN (1, NULL)", "NULL", "BOOLEAN"},
		{"s LIKE 'he%'", "TRUE", "BOOLEAN"},
		{"s NOT LIKE 'he%'", "FALSE", "BOOLEAN"},
		{"s LIKE 'h!_llo' ESCAPE '!'", "FALSE", "BOOLEAN"},
		{"s ILIKE 'HE%'", "TRUE", "BOOLEAN"},
		{"s REGEXP '^h.*o$'", "TRUE", "BOOLEAN"},
		{"s RLIKE 'x'", "FALSE", "BOOLEAN"},
		{"s NOT REGEXP 'x'", "TRUE", "BOOLEAN"},
		{"CASE WHEN a > 5 THEN 'big' ELSE 'small' END", "big", "STRING"},
		{"CASE a WHEN 1 THEN 'one' WHEN 7 THEN 'seven' END", "seven", "STRING"},
		{"CASE a WHEN 1 THEN 'one' END", "NULL", "STRING"},
		{"CASE WHEN flag THEN a ELSE d END", "7.00", "DECIMAL(12, 2)"},
		{"IF(a > 1, 'y', 'n')", "y", "STRING"},
		{"IFNULL(n, 5)", "5", "INT"},
		{"COALESCE(n, b, 1)", "100", "BIGINT"},
		{"NULLIF(a, 7)", "NULL", "INT"},
		{"CAST(a AS STRING)", "7", "STRING"},
		{"CAST(a AS DECIMAL(5, 1))", "7.0", "DECIMAL(5, 1)"},
		{"CAST('12' AS INT)", "12", "INT"},
		{"CAST('x' AS INT)", "NULL", "INT"},
		{"CAST(ts AS DATE)", "2024-02-29", "DATE"},
		{"CAST(ts AS TIMESTAMP(0))", "2024-02-29 13:45:30", "TIMESTAMP(0)"},
		{"CAST(flag AS VARCHAR(2))", "TR", "VARCHAR(2)"},
		{"CAST(s AS CHAR(3))", "hel", "CHAR(3)"},
		{"UPPER(s)", "HELLO", "VARCHAR(10)"},
		{"concat(s, '-', a)", "hello-7", "STRING"},
		{"SUBSTRING(s, 2, 3)", "ell", "VARCHAR(10)"},
		{"SUBSTRING(s FROM 2 FOR 3)", "ell", "VARCHAR(10)"},
		{"SUBSTR(s, -3)", "llo", "VARCHAR(10)"},
		{"TRIM('  x  ')", "x", "STRING"},
		{"TRIM(LEADING 'x' FROM 'xxaxx')", "axx", "STRING"},
		{"TRIM(TRAILING FROM '  a  ')", "  a", "STRING"},
		{"TRIM(BOTH 'x' FROM 'xxaxx')", "a", "STRING"},
		{"TRIM('x' FROM 'xxaxx')", "a", "STRING"},
		{"POSITION('l' IN s)", "3", "INT"},
		{"CHAR_LENGTH(s)", "5", "INT"},
		{"REGEXP_EXTRACT('foothebar', 'foo(.*?)(bar)', 2)", "bar", "STRING"},
		{"SPLIT_INDEX('a,b,c', ',', 1)", "b", "STRING"},
		{"ROUND(d, 1)", "12.5", "DECIMAL(10, 1)"},
		{"ROUND(2.5)", "3", "DECIMAL(2, 0)"},
		{"ABS(-a)", "7", "BIGINT"},
		{"GREATEST(a, 3, b)", "100", "BIGINT"},
		{"EXTRACT(YEAR FROM ts)", "2024", "BIGINT"},
		{"EXTRACT(DAY_HOUR FROM ts)", "2913", "BIGINT"},
		{"YEAR(dt)", "2024", "INT"},
		{"ts + INTERVAL 1 DAY", "2024-03-01 13:45:30.123", "TIMESTAMP(3)"},
		{"ts - INTERVAL '4' SECOND", "2024-02-29 13:45:26.123", "TIMESTAMP(3)"},
		{"dt + INTERVAL 1 MONTH", "2024-02-29", "DATE"},
		{"INTERVAL 1 DAY + dt", "2024-02-01", "DATE"},
		{"DATE_ADD(dt, INTERVAL 2 HOUR)", "2024-01-31 02:00:00", "TIMESTAMP(0)"},
		{"DATE_SUB(dt, INTERVAL '1-1' YEAR_MONTH)", "2022-12-31", "DATE"},
		{"ADDDATE(dt, 3)", "2024-02-03", "DATE"},
		{"TIMESTAMPADD(MINUTE, 90, dt)", "2024-01-31 01:30:00", "TIMESTAMP(0)"},
		{"TIMESTAMPDIFF(DAY, dt, ts)", "29", "BIGINT"},
		{"DATEDIFF(ts, dt)", "29", "INT"},
		{"DATE_FORMAT(ts, '%Y/%m/%d')", "2024/02/29", "STRING"},
		{"DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm')", "2024-02-29 13:45", "STRING"},
		{"TO_TIMESTAMP('2020-01-02 03:04:05')", "2020-01-02 03:04:05.000", "TIMESTAMP(3)"},
		{"UNIX_TIMESTAMP(dt)", "1706659200", "BIGINT"},
		{"FROM_UNIXTIME(0)", "1970-01-01 00:00:00", "TIMESTAMP(0)"},
		{"DATE(ts)", "2024-02-29", "DATE"},
		{"ts > '2024-01-01'", "TRUE", "BOOLEAN"},
		{"dt = '2024-01-31'", "TRUE", "BOOLEAN"},
		{"a = '7'", "TRUE", "BOOLEAN"},
		{"s = 'hello' COLLATE utf8mb4_bin", "TRUE", "BOOLEAN"},
		{"(((a)))", "7", "INT"},
	} {
		t.Run(c.sql, func(t *testing.T) {
			e, err := convertText(c.sql, nil)
			if err != nil {
				t.Fatalf("convert: %v", err)
			}
			if got := e.Type().String(); got != c.typ {
				t.Errorf("type %s, want %s", got, c.typ)
			}
			d, err := expr.EvalRow(e, row())
			if err != nil {
				t.Fatalf("eval %s: %v", e, err)
			}
			if got := d.String(); got != c.want {
				t.Errorf("%s = %s, want %s", e, got, c.want)
			}
		})
	}
}

func TestConvertErrors(t *testing.T) {
	for _, c := range []struct {
		sql, msg string
		col      int // 1-based column of the caret
	}{
		{"x + 1", "Unknown column 'x'", 1},
		{"a + t.q", "Unknown column 't.q'", 5},
		{"dup + 1", "Column 'dup' is ambiguous", 1},
		{"a + s", "cannot apply '+' to INT and VARCHAR", 3},
		{"a   *   (s)", "cannot apply '*' to INT and VARCHAR", 5},
		{"s = a", "cannot compare VARCHAR with INT", 3},
		{"a = 1 AND s", "cannot apply 'AND' to BOOLEAN and VARCHAR", 7},
		{"a DIV s", "cannot apply 'DIV' to INT and VARCHAR", 3},
		{"dt = 'abc'", "cannot cast 'abc' to DATE", 6},
		{"a BETWEEN s AND 3", "cannot compare INT with VARCHAR", 3},
		{"a IN (1, s)", "cannot compare INT with VARCHAR", 3},
		{"a LIKE 'x'", "cannot apply 'LIKE' to INT and STRING", 3},
		{"s REGEXP '('", "invalid regular expression '(': error parsing regexp: missing closing ): `(`", 10},
		{"FOO(a)", "Unknown function 'FOO'", 1},
		{"a + UPPER(s, s)", "function UPPER expects 1 argument, got 2", 5},
		{"SQRT(s)", "cannot apply 'SQRT' to VARCHAR", 1},
		{"EXTRACT(YEAR FROM 'nope')", "cannot cast 'nope' to TIMESTAMP", 19},
		{"COUNT(a) + 1", "aggregate functions are not supported here", 1},
		{"a IN (SELECT 1)", "IN (subquery) not supported yet", 6},
		{"EXISTS (SELECT 1)", "subqueries are not supported yet", 1},
		{"a & 1", "operator '&' is not supported", 3},
		{"~a", "operator '~' is not supported", 1},
		{"CASE WHEN flag THEN s ELSE a END", "cannot find a common type for VARCHAR and INT in CASE", 1},
		{"CASE a WHEN 'x' THEN 1 END", "cannot cast 'x' to INT", 13},
		{"DATE '2020-13-01'", "cannot cast '2020-13-01' to DATE", 1},
		{"CAST(dt AS INT)", "cannot cast DATE to INT", 1},
		{"\n  a +\n  s", "cannot apply '+' to INT and VARCHAR", 5},
		{"a + /* c */ s", "cannot apply '+' to INT and VARCHAR", 3},
		{"a + ?", "parameter markers are not supported", 5},
	} {
		t.Run(c.sql, func(t *testing.T) {
			_, err := convertText(c.sql, nil)
			var pe *parser.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *parser.Error", err, err)
			}
			if pe.Msg != c.msg {
				t.Errorf("message %q, want %q", pe.Msg, c.msg)
			}
			if pe.Column != c.col {
				t.Errorf("column %d, want %d\n%s", pe.Column, c.col, pe)
			}
		})
	}
}

func TestHook(t *testing.T) {
	hook := func(n ast.ExprNode) (expr.Expr, bool, error) {
		switch x := n.(type) {
		case *ast.AggregateFuncExpr:
			if strings.EqualFold(x.F, "sum") {
				return nil, false, errors.New("SUM is not allowed here")
			}
			return expr.Col(1, types.BigInt, x.F), true, nil
		}
		return nil, false, nil
	}
	e, err := convertText("COUNT(*) + 1", hook)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := expr.EvalRow(e, row()); d.String() != "101" {
		t.Fatalf("got %s", d)
	}
	_, err = convertText("a + SUM(b)", hook)
	var pe *parser.Error
	if !errors.As(err, &pe) || pe.Msg != "SUM is not allowed here" || pe.Column != 5 {
		t.Fatalf("hook error %v", err)
	}
}

// TestConvertTiDBDirect converts nodes from the TiDB parser itself (no
// pre-parser: CAST types come from TiDB's FieldType).
func TestConvertTiDBDirect(t *testing.T) {
	for _, c := range []struct{ sql, want, typ string }{
		{"CAST(a AS SIGNED)", "7", "BIGINT"},
		{"CAST(d AS DECIMAL(10, 1))", "12.5", "DECIMAL(10, 1)"},
		{"CAST('2020-01-02 03:04:05' AS DATETIME)", "2020-01-02 03:04:05", "TIMESTAMP(0)"},
		{"CAST(a AS DOUBLE) / 2", "3.5", "DOUBLE"},
	} {
		sql := "SELECT " + c.sql + " FROM t"
		n := tidbExpr(t, sql)
		e, err := Convert(&Context{Scope: fakeScope{}, Span: parser.Span{Script: sql, End: len(sql)}}, n)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		d, err := expr.EvalRow(e, row())
		if err != nil || d.String() != c.want || e.Type().String() != c.typ {
			t.Errorf("%s = %s %s (%v), want %s %s", c.sql, d, e.Type(), err, c.want, c.typ)
		}
	}
}
