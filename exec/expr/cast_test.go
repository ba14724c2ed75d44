package expr

import (
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

func TestCast(t *testing.T) {
	ts3 := types.Type{Kind: types.KindTimestamp, Precision: 3}
	ts0 := types.Type{Kind: types.KindTimestamp, Precision: 0}
	runCases(t, []tcase{
		{"int to double", CastTo(col("i"), types.Double), "1|-5|NULL"},
		{"int to decimal", CastTo(col("i"), types.Decimal(5, 2)), "1.00|-5.00|NULL"},
		{"int to small decimal", CastTo(1000, types.Decimal(5, 2)), "!DECIMAL value is out of range"},
		{"decimal to int", CastTo(col("d"), types.BigInt), "2|-2|NULL"},
		{"decimal half away", CastTo(D("-2.5"), types.Int), "-3"},
		{"decimal rescale", CastTo(col("d"), types.Decimal(10, 1)), "1.5|-2.3|NULL"},
		{"double to int", CastTo(col("f"), types.Int), "3|NULL|-1"},
		{"double to int half away", CastTo(-2.5, types.BigInt), "-3"},
		{"double to tinyint overflow", CastTo(300.0, types.TinyInt), "!TINYINT value is out of range"},
		{"int to tinyint overflow", CastTo(300, types.TinyInt), "!TINYINT value is out of range in 'CAST(300 AS TINYINT)'"},
		{"double to decimal", CastTo(1.005, types.Decimal(10, 2)), "1.01"},
		{"double to float", CastTo(0.1, types.Float), "0.1"},
		{"string to int", CastTo("42", types.Int), "42"},
		{"bad string to int", CastTo("4x", types.Int), "NULL"},
		{"string to int range", CastTo("300", types.TinyInt), "NULL"},
		{"string to decimal", CastTo(" 12.345 ", types.Decimal(10, 2)), "12.35"},
		{"string to decimal exp", CastTo("1.5e2", types.Decimal(10, 1)), "150.0"},
		{"string to double", CastTo("1e3", types.Double), "1000"},
		{"string to bool", CastTo("true", types.Bool), "TRUE"},
		{"string to bool bad", CastTo("maybe", types.Bool), "NULL"},
		{"string to date", CastTo("2020-02-29", types.Date), "2020-02-29"},
		{"string to bad date", CastTo("2021-02-29", types.Date), "NULL"},
		{"string with time to date", CastTo("2020-02-29 10:00:00", types.Date), "2020-02-29"},
		{"string to timestamp", CastTo("2020-02-29T10:11:12.5Z", ts3), "2020-02-29 10:11:12.500"},
		{"string to timestamp date only", CastTo("2020-02-29", ts0), "2020-02-29 00:00:00"},
		{"string to time", CastTo("10:11:12", types.Time), "10:11:12"},
		{"string to bad time", CastTo("25:00:00", types.Time), "NULL"},
		{"column to string", CastTo(col("d"), types.String), "1.50|-2.25|NULL"},
		{"bool to string", CastTo(col("b"), types.String), "TRUE|FALSE|NULL"},
		{"ts to string", CastTo(col("ts"), types.String), "2024-02-29 13:45:30.123|1999-12-31 23:59:59.000|NULL"},
		{"double to string", CastTo(col("f"), types.String), "2.5|NULL|-1"},
		{"varchar truncation", CastTo(col("s"), types.Varchar(3)), "abc|Hel|NULL"},
		{"int to varchar truncation", CastTo(12345, types.Varchar(2)), "12"},
		{"ts to date", CastTo(col("ts"), types.Date), "2024-02-29|1999-12-31|NULL"},
		{"date to ts", CastTo(col("dt"), ts0), "2024-01-31 00:00:00|NULL|1970-01-01 00:00:00"},
		{"ts to time", CastTo(col("ts"), types.Time), "13:45:30|23:59:59|NULL"},
		{"ts precision", CastTo(TS("2020-01-01 00:00:00.999999", 6), ts3), "2020-01-01 00:00:00.999"},
		{"ts to bigint", CastTo(col("ts"), types.BigInt), "1709214330|946684799|NULL"},
		{"bigint to ts", CastTo(int64(86400), ts0), "1970-01-02 00:00:00"},
		{"ts to ltz", CastTo(col("ts"), types.Type{Kind: types.KindTimestampLTZ, Precision: 3}), "2024-02-29 13:45:30.123|1999-12-31 23:59:59.000|NULL"},
		{"int to bool", CastTo(col("j"), types.Bool), "TRUE|FALSE|TRUE"},
		{"bool to int", CastTo(col("b"), types.Int), "1|0|NULL"},
		{"null to int", CastTo(nil, types.Int), "NULL"},
		{"date to int", CastTo(col("dt"), types.Int), "!cannot cast DATE to INT"},
		{"time to ts", CastTo(CastTo("10:00:00", types.Time), ts0), "!cannot cast TIME to TIMESTAMP"},
	})
}

func TestParseDecimal(t *testing.T) {
	for _, c := range []struct {
		in       string
		scale    int
		want     int64
		ok, ovfl bool
	}{
		{"1.25", 1, 13, true, false},
		{"-1.25", 1, -13, true, false},
		{"0.004", 2, 0, true, false},
		{"0.005", 2, 1, true, false},
		{"12", 3, 12000, true, false},
		{".5", 0, 1, true, false},
		{"1e-3", 3, 1, true, false},
		{"1e20", 0, 0, true, true},
		{"999999999999999999", 0, 999999999999999999, true, false},
		{"abc", 0, 0, false, false},
		{"1.2.3", 0, 0, false, false},
		{"", 0, 0, false, false},
	} {
		v, ok, ovfl := parseDecimal(c.in, c.scale)
		if v != c.want || ok != c.ok || ovfl != c.ovfl {
			t.Errorf("parseDecimal(%q, %d) = %d %v %v, want %d %v %v", c.in, c.scale, v, ok, ovfl, c.want, c.ok, c.ovfl)
		}
	}
}

func TestCivilDays(t *testing.T) {
	for _, d := range []int64{-800000, -1, 0, 1, 59, 365, 10957, 19782, 2932896} {
		y, m, dd := civilFromDays(d)
		if got := civilDays(y, m, dd); got != d {
			t.Errorf("round trip %d -> %d-%d-%d -> %d", d, y, m, dd, got)
		}
	}
}
