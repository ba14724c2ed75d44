package filesystem

import (
	"testing"
	"time"

	"github.com/sluicesql/sluice/exec/types"
)

func TestParseDecimal(t *testing.T) {
	cases := []struct {
		in   string
		p, s int
		want int64
		ok   bool
	}{
		{"123.45", 10, 2, 12345, true},
		{"-0.05", 10, 2, -5, true},
		{"+7", 5, 2, 700, true},
		{"1.005", 10, 2, 101, true}, // half away from zero
		{"-1.004", 10, 2, -100, true},
		{"1.5e2", 10, 2, 15000, true},
		{"12345e-4", 10, 2, 123, true},
		{"0.00000000000000000000001", 10, 2, 0, true},
		{"99999999.99", 10, 2, 9999999999, true},
		{"99999999.995", 10, 2, 0, false}, // rounds to 10^8
		{"100000000", 10, 2, 0, false},
		{"999999999999999999", 18, 0, 999999999999999999, true},
		{"9999999999999999999", 18, 0, 0, false},
		{"0000000000000000000000001", 3, 0, 1, true},
		{".5", 3, 1, 5, true},
		{"5.", 3, 1, 50, true},
		{"", 3, 1, 0, false},
		{".", 3, 1, 0, false},
		{"1e", 3, 1, 0, false},
		{"1.2.3", 3, 1, 0, false},
		{"abc", 3, 1, 0, false},
	}
	for _, c := range cases {
		got, err := parseDecimal([]byte(c.in), c.p, c.s)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("parseDecimal(%q, %d, %d) = %d, %v; want %d, ok=%v", c.in, c.p, c.s, got, err, c.want, c.ok)
		}
	}
}

func TestParseInteger(t *testing.T) {
	for _, c := range []struct {
		in   string
		kind types.Kind
		ok   bool
	}{
		{"127", types.KindTinyInt, true}, {"128", types.KindTinyInt, false}, {"-128", types.KindTinyInt, true},
		{"-2147483648", types.KindInt, true}, {"2147483648", types.KindInt, false},
		{"9223372036854775807", types.KindBigInt, true}, {"9223372036854775808", types.KindBigInt, false},
		{"-9223372036854775808", types.KindBigInt, true}, {"99999999999999999999", types.KindBigInt, false},
		{"1.0", types.KindBigInt, false}, {"", types.KindBigInt, false}, {"-", types.KindBigInt, false},
	} {
		if _, err := parseInteger([]byte(c.in), c.kind); (err == nil) != c.ok {
			t.Errorf("parseInteger(%q, %s): err %v, want ok=%v", c.in, c.kind, err, c.ok)
		}
	}
}

func TestCivilDays(t *testing.T) {
	for d := int64(-800_000); d <= 800_000; d += 37 {
		y, m, dd := civilFromDays(d)
		if back := daysFromCivil(y, m, dd); back != d {
			t.Fatalf("day %d → %d-%d-%d → %d", d, y, m, dd, back)
		}
		want := time.Unix(d*86400, 0).UTC()
		if int(y) != want.Year() || time.Month(m) != want.Month() || int(dd) != want.Day() {
			t.Fatalf("day %d: %d-%d-%d, want %s", d, y, m, dd, want.Format(time.DateOnly))
		}
	}
}

func TestTimestampText(t *testing.T) {
	good := map[string]string{ // input → SQL form at precision 3
		"2024-02-29 23:59:59.1239":    "2024-02-29 23:59:59.123",
		"2024-02-29T23:59:59":         "2024-02-29 23:59:59.000",
		"1969-12-31 23:59:59.5Z":      "1969-12-31 23:59:59.500",
		"0001-01-01 00:00:00":         "0001-01-01 00:00:00.000",
		"2024-1-2 3:04:05.123456789":  "2024-01-02 03:04:05.123",
		"9999-12-31T23:59:59.999999Z": "9999-12-31 23:59:59.999",
	}
	for in, want := range good {
		us, err := parseTimestamp([]byte(in))
		if err != nil {
			t.Errorf("parseTimestamp(%q): %v", in, err)
			continue
		}
		if got := string(appendTimestamp(nil, truncateMicros(us, 3), 3, ' ')); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
		if got, want := string(appendTimestamp(nil, us, 6, ' ')), types.FormatTimestamp(us, 6); got != want {
			t.Errorf("appendTimestamp = %q, types.FormatTimestamp = %q", got, want)
		}
	}
	for _, in := range []string{"2023-02-29 00:00:00", "2024-13-01 00:00:00", "2024-01-01", "2024-01-01 24:00:00",
		"2024-01-01 00:00", "2024-01-01 00:00:00.", "2024-01-01 00:00:00+01:00", "24-01-01 00:00:00", ""} {
		if _, err := parseTimestamp([]byte(in)); err == nil {
			t.Errorf("parseTimestamp(%q) succeeded", in)
		}
	}
	if d, err := parseDate([]byte("1970-01-02")); err != nil || d != 1 {
		t.Errorf("parseDate = %d, %v", d, err)
	}
	if us, err := parseTime([]byte("01:02:03.5")); err != nil || us != 3723_500_000 {
		t.Errorf("parseTime = %d, %v", us, err)
	}
	if got := string(appendClock(nil, 3723_500_000, 2)); got != "01:02:03.50" {
		t.Errorf("appendClock = %q", got)
	}
}
