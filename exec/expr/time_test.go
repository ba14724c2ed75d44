package expr

import (
	"testing"
	"time"

	"github.com/sluicesql/sluice/exec/types"
)

func TestTimeFunctions(t *testing.T) {
	runCases(t, []tcase{
		{"extract year", C("EXTRACT", "YEAR", col("ts")), "2024|1999|NULL"},
		{"extract quarter", C("EXTRACT", "QUARTER", col("ts")), "1|4|NULL"},
		{"extract month", C("EXTRACT", "MONTH", col("dt")), "1|NULL|1"},
		{"extract day", C("EXTRACT", "DAY", col("ts")), "29|31|NULL"},
		{"extract hour", C("EXTRACT", "HOUR", col("ts")), "13|23|NULL"},
		{"extract minute", C("EXTRACT", "MINUTE", col("ts")), "45|59|NULL"},
		{"extract second", C("EXTRACT", "SECOND", col("ts")), "30|59|NULL"},
		{"extract microsecond", C("EXTRACT", "MICROSECOND", col("ts")), "123000|0|NULL"},
		{"extract millisecond", C("EXTRACT", "MILLISECOND", col("ts")), "30123|59000|NULL"},
		{"extract week", C("EXTRACT", "WEEK", col("dt")), "4|NULL|0"},
		{"extract dow", C("EXTRACT", "DAYOFWEEK", col("ts")), "5|6|NULL"},
		{"extract doy", C("EXTRACT", "DOY", col("ts")), "60|365|NULL"},
		{"extract year_month", C("EXTRACT", "YEAR_MONTH", col("ts")), "202402|199912|NULL"},
		{"extract day_second", C("EXTRACT", "DAY_SECOND", col("ts")), "29134530|31235959|NULL"},
		{"extract epoch", C("EXTRACT", "EPOCH", col("dt")), "1706659200|NULL|0"},
		{"extract from string", C("EXTRACT", "MONTH", "2020-07-04"), "7"},
		{"extract from bad string", C("EXTRACT", "MONTH", "nope"), "!cannot cast 'nope' to TIMESTAMP"},
		{"extract from time", C("EXTRACT", "HOUR", CastTo("10:11:12", types.Time)), "10"},
		{"extract year from time", C("EXTRACT", "YEAR", CastTo("10:11:12", types.Time)), "!cannot extract YEAR from TIME"},
		{"extract bad unit", C("EXTRACT", "FORTNIGHT", col("ts")), "!unknown time unit 'FORTNIGHT'"},
		{"year", C("YEAR", col("dt")), "2024|NULL|1970"},
		{"month", C("MONTH", col("ts")), "2|12|NULL"},
		{"day", C("DAY", col("ts")), "29|31|NULL"},
		{"dayofmonth", C("DAYOFMONTH", col("dt")), "31|NULL|1"},
		{"hour", C("HOUR", col("ts")), "13|23|NULL"},
		{"minute", C("MINUTE", col("ts")), "45|59|NULL"},
		{"second", C("SECOND", col("ts")), "30|59|NULL"},
		{"quarter", C("QUARTER", col("ts")), "1|4|NULL"},
		{"dayofweek", C("DAYOFWEEK", col("dt")), "4|NULL|5"},
		{"weekday", C("WEEKDAY", col("dt")), "2|NULL|3"},
		{"dayofyear", C("DAYOFYEAR", col("dt")), "31|NULL|1"},
		{"week mode 0", C("WEEK", "2008-02-20"), "7"},
		{"week mode 1", C("WEEK", "2008-02-20", 1), "8"},
		{"week year start", C("WEEK", "2008-12-31", 1), "53"},
		{"weekofyear", C("WEEKOFYEAR", "2008-02-20"), "8"},
		{"weekofyear iso", C("WEEKOFYEAR", "2021-01-01"), "53"},
		{"dayname", C("DAYNAME", col("dt")), "Wednesday|NULL|Thursday"},
		{"monthname", C("MONTHNAME", col("dt")), "January|NULL|January"},
		{"last_day", C("LAST_DAY", col("ts")), "2024-02-29|1999-12-31|NULL"},
		{"date_add day", C("DATE_ADD", col("dt"), 1, "DAY"), "2024-02-01|NULL|1970-01-02"},
		{"date_add month clamps", C("DATE_ADD", col("dt"), 1, "MONTH"), "2024-02-29|NULL|1970-02-01"},
		{"date_add year leap", C("DATE_ADD", col("ts"), 1, "YEAR"), "2025-02-28 13:45:30.123|2000-12-31 23:59:59.000|NULL"},
		{"date_add hour on date", C("DATE_ADD", col("dt"), 2, "HOUR"), "2024-01-31 02:00:00|NULL|1970-01-01 02:00:00"},
		{"date_sub second", C("DATE_SUB", col("ts"), "4", "SECOND"), "2024-02-29 13:45:26.123|1999-12-31 23:59:55.000|NULL"},
		{"date_add fractional second", C("DATE_ADD", TS("2020-01-01 00:00:00", 0), D("1.5"), "SECOND"), "2020-01-01 00:00:01.5"},
		{"date_add composite", C("DATE_ADD", TS("2020-01-01 00:00:00", 0), "1:30", "MINUTE_SECOND"), "2020-01-01 00:01:30"},
		{"date_add day_hour", C("DATE_ADD", TS("2020-01-01 00:00:00", 0), "-1 2", "DAY_HOUR"), "2019-12-30 22:00:00"},
		{"date_add year_month", C("DATE_ADD", DT("2020-01-31"), "1-1", "YEAR_MONTH"), "2021-02-28"},
		{"date_add quarter", C("ADDDATE", DT("2020-01-31"), 1, "QUARTER"), "2020-04-30"},
		{"date_add week", C("DATE_ADD", DT("2020-01-01"), 2, "WEEK"), "2020-01-15"},
		{"date_add column n", C("DATE_ADD", DT("2020-01-01"), col("j"), "DAY"), "2020-01-11|2020-01-01|2020-01-04"},
		{"date_add bad interval", C("DATE_ADD", DT("2020-01-01"), "x", "DAY"), "NULL"},
		{"date_add out of range", C("DATE_ADD", DT("9999-12-31"), 1, "DAY"), "NULL"},
		{"date_add string", C("DATE_ADD", "2020-01-01 10:00:00", 1, "HOUR"), "2020-01-01 11:00:00.000000"},
		{"subdate", C("SUBDATE", DT("2020-03-01"), 1, "DAY"), "2020-02-29"},
		{"timestampadd", C("TIMESTAMPADD", "MINUTE", 90, TS("2020-01-01 00:00:00", 0)), "2020-01-01 01:30:00"},
		{"timestampdiff second", C("TIMESTAMPDIFF", "SECOND", TS("2020-01-01 00:00:00", 0), col("ts")), "131377530|-631152001|NULL"},
		{"timestampdiff month", C("TIMESTAMPDIFF", "MONTH", DT("2003-02-01"), DT("2003-05-01")), "3"},
		{"timestampdiff month partial", C("TIMESTAMPDIFF", "MONTH", DT("2003-01-31"), DT("2003-02-28")), "0"},
		{"timestampdiff year", C("TIMESTAMPDIFF", "YEAR", DT("2002-05-01"), DT("2001-01-01")), "-1"},
		{"timestampdiff minute", C("TIMESTAMPDIFF", "MINUTE", "2003-02-01", "2003-05-01 12:05:55"), "128885"},
		{"datediff", C("DATEDIFF", col("ts"), col("dt")), "29|NULL|NULL"},
		{"datediff strings", C("DATEDIFF", "2007-12-31 23:59:59", "2007-12-30"), "1"},
		{"unix_timestamp", C("UNIX_TIMESTAMP", col("ts")), "1709214330|946684799|NULL"},
		{"unix_timestamp string", C("UNIX_TIMESTAMP", "1970-01-02 00:00:00"), "86400"},
		{"unix_timestamp format", C("UNIX_TIMESTAMP", "02/01/1970", "dd/MM/yyyy"), "86400"},
		{"from_unixtime", C("FROM_UNIXTIME", col("j")), "1970-01-01 00:00:10|1970-01-01 00:00:00|1970-01-01 00:00:03"},
		{"from_unixtime decimal", C("FROM_UNIXTIME", D("1.5")), "1970-01-01 00:00:01.5"},
		{"from_unixtime format", C("FROM_UNIXTIME", 86400, "%Y/%m/%d"), "1970/01/02"},
		{"date_format mysql", C("DATE_FORMAT", col("ts"), "%Y-%m-%d %H:%i:%s.%f"), "2024-02-29 13:45:30.123000|1999-12-31 23:59:59.000000|NULL"},
		{"date_format names", C("DATE_FORMAT", col("ts"), "%W %M %D %y %h:%i %p %j %a %b %e %c %k %l %T %r"),
			"Thursday February 29th 24 01:45 PM 060 Thu Feb 29 2 13 1 13:45:30 01:45:30 PM|Friday December 31st 99 11:59 PM 365 Fri Dec 31 12 23 11 23:59:59 11:59:59 PM|NULL"},
		{"date_format weeks", C("DATE_FORMAT", DT("2021-01-01"), "%U %u %V %v %X %x %w"), "00 00 52 53 2020 2020 5"},
		{"date_format java", C("DATE_FORMAT", col("ts"), "yyyy-MM-dd HH:mm:ss.SSS"), "2024-02-29 13:45:30.123|1999-12-31 23:59:59.000|NULL"},
		{"date_format java names", C("DATE_FORMAT", col("ts"), "EEE, d MMM yy h:mm a 'at' EEEE MMMM"), "Thu, 29 Feb 24 1:45 PM at Thursday February|Fri, 31 Dec 99 11:59 PM at Friday December|NULL"},
		{"date_format string input", C("DATE_FORMAT", "2020-05-06 07:08:09", "yyyyMMdd"), "20200506"},
		{"date_format %%", C("DATE_FORMAT", DT("2020-05-06"), "100%% %Y"), "100% 2020"},
		{"to_timestamp", C("TO_TIMESTAMP", "2020-05-06 07:08:09"), "2020-05-06 07:08:09.000"},
		{"to_timestamp fraction", C("TO_TIMESTAMP", "2020-05-06 07:08:09.123456"), "2020-05-06 07:08:09.123"},
		{"to_timestamp format", C("TO_TIMESTAMP", "06/05/2020 7:08", "dd/MM/yyyy H:mm"), "2020-05-06 07:08:00.000"},
		{"to_timestamp mysql format", C("TO_TIMESTAMP", "2020|05|06", "%Y|%m|%d"), "2020-05-06 00:00:00.000"},
		{"to_timestamp 12h", C("TO_TIMESTAMP", "2020-05-06 07:08 PM", "yyyy-MM-dd hh:mm a"), "2020-05-06 19:08:00.000"},
		{"to_timestamp names", C("TO_TIMESTAMP", "May 6, 2020", "MMM d, yyyy"), "2020-05-06 00:00:00.000"},
		{"to_timestamp bad", C("TO_TIMESTAMP", "2020-13-06 07:08:09"), "NULL"},
		{"to_timestamp bad format", C("TO_TIMESTAMP", "2020-05-06", "dd/MM/yyyy"), "NULL"},
		{"to_timestamp column", C("TO_TIMESTAMP", col("s")), "NULL"},
		{"to_date", C("TO_DATE", "2020-05-06"), "2020-05-06"},
		{"to_date format", C("TO_DATE", "06.05.2020", "dd.MM.yyyy"), "2020-05-06"},
		{"to_timestamp_ltz", C("TO_TIMESTAMP_LTZ", 1500, 3), "1970-01-01 00:00:01.500"},
		{"to_timestamp_ltz seconds", C("TO_TIMESTAMP_LTZ", 86400), "1970-01-02 00:00:00.000"},
		{"date", C("DATE", col("ts")), "2024-02-29|1999-12-31|NULL"},
		{"date string", C("DATE", "2020-01-02 10:00:00"), "2020-01-02"},
		{"date int", C("DATE", 1), "!cannot apply 'DATE' to INT"},
	})
}

func TestNow(t *testing.T) {
	saved := nowFunc
	defer func() { nowFunc = saved }()
	nowFunc = func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", 3600)) }
	runCases(t, []tcase{
		{"now", C("NOW"), "2024-05-06 06:08:09.123"},
		{"current_timestamp", C("CURRENT_TIMESTAMP"), "2024-05-06 06:08:09.123"},
		{"localtimestamp", C("LOCALTIMESTAMP"), "2024-05-06 06:08:09.123"},
		{"now precision", C("NOW", 6), "2024-05-06 06:08:09.123456"},
		{"now precision 0", C("NOW", 0), "2024-05-06 06:08:09"},
		{"current_date", C("CURRENT_DATE"), "2024-05-06"},
		{"curtime", C("CURTIME"), "06:08:09"},
		{"proctime", C("PROCTIME"), "2024-05-06 06:08:09.123"},
		{"unix_timestamp now", C("UNIX_TIMESTAMP"), "1714975689"},
	})
	e, _ := C("NOW")()
	if IsConst(e) {
		t.Fatal("NOW() must not be constant")
	}
	f, _ := Fold(e)
	if _, ok := LitValue(f); ok {
		t.Fatal("NOW() was folded")
	}
	if got := e.Type().String(); got != "TIMESTAMP(3)" {
		t.Fatalf("NOW() type %s", got)
	}
}

func TestFormatRoundTrip(t *testing.T) {
	for _, f := range []string{"yyyy-MM-dd HH:mm:ss.SSS", "%Y-%m-%d %H:%i:%s.%f", "dd MMMM yyyy, hh:mm:ss a", "%d %b %Y %r"} {
		tf := compileFormat(f)
		for _, s := range []string{"2024-02-29 13:45:30.123", "1970-01-01 00:00:00", "1999-12-31 12:59:59.5"} {
			us, _ := parseTimestamp(s)
			us = truncFraction(us, 3)
			text := string(tf.format(nil, us))
			back, ok := tf.parse(text)
			if f == "dd MMMM yyyy, hh:mm:ss a" || f == "%d %b %Y %r" {
				us = truncFraction(us, 0)
			}
			if !ok || back != us {
				t.Errorf("format %q: %s -> %q -> %v %v", f, s, text, types.FormatTimestamp(back, 6), ok)
			}
		}
	}
}
