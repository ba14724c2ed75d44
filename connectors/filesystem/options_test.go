package filesystem

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/types"
)

func TestValidate(t *testing.T) {
	schema := types.Schema{{Name: "a", Type: types.Int}}
	cases := []struct {
		opts []string
		want string
	}{
		{[]string{"format", "json"}, "missing required option 'path'"},
		{[]string{"path", "/x"}, "missing required option 'format'"},
		{[]string{"path", "/x", "format", "xml"}, "table t: option 'format': unsupported format 'xml'"},
		{[]string{"path", "/x", "format", "json", "csv.field-delimiter", ";"}, "unsupported option 'csv.field-delimiter'"},
		{[]string{"path", "/x", "format", "csv", "json.ignore-parse-errors", "true"}, "unsupported option 'json.ignore-parse-errors'"},
		{[]string{"path", "/x", "format", "csv", "bogus", "1"}, "unsupported option 'bogus'"},
		{[]string{"path", "", "format", "csv"}, "option 'path': must not be empty"},
		{[]string{"path", "/x", "format", "csv", "csv.field-delimiter", ";;"}, "option 'csv.field-delimiter': must be a single ASCII character"},
		{[]string{"path", "/x", "format", "csv", "csv.quote-character", ","}, "option 'csv.quote-character': must differ"},
		{[]string{"path", "/x", "format", "csv", "csv.ignore-parse-errors", "yes"}, "option 'csv.ignore-parse-errors': invalid boolean 'yes'"},
		{[]string{"path", "/x", "format", "json", "json.fail-on-missing-field", "1"}, "option 'json.fail-on-missing-field': invalid boolean '1'"},
		{[]string{"path", "/x", "format", "json", "json.timestamp-format.standard", "RFC"}, "option 'json.timestamp-format.standard': invalid value 'RFC'"},
		{[]string{"path", "/x", "format", "json", "sink.rolling-policy.file-size", "lots"}, "option 'sink.rolling-policy.file-size': invalid size 'lots'"},
		{[]string{"path", "/x", "format", "json", "sink.rolling-policy.rollover-interval", "soon"}, "option 'sink.rolling-policy.rollover-interval': invalid duration 'soon'"},
		{[]string{"path", "/x", "format", "json", "sink.rolling-policy.rollover-interval", "0 s"}, "invalid duration '0 s'"},
		{[]string{"path", "/x", "format", "json", "sink.rolling-policy.rollover-interval", "5 weeks"}, "invalid duration '5 weeks'"},
	}
	for _, c := range cases {
		err := Connector{}.Validate(newTable(schema, c.opts...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.opts, err, c.want)
		}
	}
	for _, ok := range [][]string{
		{"path", "/x", "format", "CSV", "csv.field-delimiter", `\t`, "csv.null-literal", "", "csv.allow-comments", "TRUE"},
		{"path", "/x", "format", "csv", "csv.disable-quote-character", "true"},
		{"path", "/x", "format", "json", "json.timestamp-format.standard", "iso-8601", "sink.rolling-policy.file-size", "64 MB"},
		{"path", "/x", "format", "json", "sink.rolling-policy.rollover-interval", "10 min"},
	} {
		if err := (Connector{}).Validate(newTable(schema, ok...)); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
	if _, err := connectors.Lookup("filesystem"); err != nil {
		t.Fatal(err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"250": 250 * time.Millisecond, "10s": 10 * time.Second, "30 min": 30 * time.Minute,
		"2 H": 2 * time.Hour, "1d": 24 * time.Hour, " 7 seconds ": 7 * time.Second,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "s", "1.5s", "-1s", "10 fortnights", "99999999999999 d"} {
		if d, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", bad, d)
		}
	}
}
