package filesystem

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/types"
)

// Option names, as in Flink's filesystem connector and json/csv formats.
const (
	optPath   = "path"
	optFormat = "format"

	optCSVDelimiter     = "csv.field-delimiter"
	optCSVQuote         = "csv.quote-character"
	optCSVDisableQuote  = "csv.disable-quote-character"
	optCSVNullLiteral   = "csv.null-literal"
	optCSVIgnoreErrors  = "csv.ignore-parse-errors"
	optCSVAllowComments = "csv.allow-comments"

	optJSONIgnoreErrors   = "json.ignore-parse-errors"
	optJSONFailOnMissing  = "json.fail-on-missing-field"
	optJSONTimestampStd   = "json.timestamp-format.standard"
	optSinkRollingMaxSize = "sink.rolling-policy.file-size"
	optSinkRolloverTime   = "sink.rolling-policy.rollover-interval"
)

var (
	commonOptions = []string{optPath, optFormat, optSinkRollingMaxSize, optSinkRolloverTime}
	csvOptionKeys = []string{optCSVDelimiter, optCSVQuote, optCSVDisableQuote, optCSVNullLiteral,
		optCSVIgnoreErrors, optCSVAllowComments}
	jsonOptionKeys = []string{optJSONIgnoreErrors, optJSONFailOnMissing, optJSONTimestampStd}
)

// Formats.
const (
	formatJSON = "json"
	formatCSV  = "csv"
)

// DefaultRollingFileSize is the part size at which the sink starts a new
// part file ('sink.rolling-policy.file-size', Flink's default 128 MB).
const DefaultRollingFileSize = 128 << 20

// DefaultRolloverInterval is the longest time a part file stays open before
// the sink starts a new one ('sink.rolling-policy.rollover-interval',
// Flink's default 30 min). It is checked when rows arrive.
const DefaultRolloverInterval = 30 * time.Minute

// config is a table's parsed filesystem options.
type config struct {
	table  string
	path   string
	format string // formatJSON or formatCSV
	csv    csvOptions
	json   jsonOptions
	// rollSize is the part file size that triggers a roll.
	rollSize int64
	// rollInterval is the part file age that triggers a roll.
	rollInterval time.Duration
}

type csvOptions struct {
	delim         byte   // default ','
	quote         byte   // default '"'; 0 when disabled
	nullLiteral   string // a field equal to it is NULL (when hasNull)
	hasNull       bool
	ignoreErrors  bool
	allowComments bool // skip lines starting with '#'
}

type jsonOptions struct {
	ignoreErrors  bool
	failOnMissing bool
	// isoTimestamps writes timestamps as ISO-8601 ('T' separator) instead
	// of SQL ('yyyy-MM-dd HH:mm:ss'); both are read either way.
	isoTimestamps bool
}

func (c *config) ignoreErrors() bool {
	if c.format == formatCSV {
		return c.csv.ignoreErrors
	}
	return c.json.ignoreErrors
}

// parseConfig validates t's options and schema.
func parseConfig(t *connectors.Table) (*config, error) {
	opts := t.Options
	format := strings.ToLower(strings.TrimSpace(opts[optFormat]))
	known := append([]string(nil), commonOptions...)
	switch format {
	case formatJSON:
		known = append(known, jsonOptionKeys...)
	case formatCSV:
		known = append(known, csvOptionKeys...)
	case "":
		known = append(append(known, jsonOptionKeys...), csvOptionKeys...)
	default:
		return nil, optionError(t.Name, optFormat, "unsupported format '%s' (expected 'json' or 'csv')", opts[optFormat])
	}
	if err := connectors.CheckOptions(t.Name, opts, known, []string{optPath, optFormat}); err != nil {
		return nil, err
	}
	cfg := &config{
		table: t.Name, path: opts[optPath], format: format,
		csv:      csvOptions{delim: ',', quote: '"'},
		rollSize: DefaultRollingFileSize, rollInterval: DefaultRolloverInterval,
	}
	if strings.TrimSpace(cfg.path) == "" {
		return nil, optionError(t.Name, optPath, "must not be empty")
	}
	p := optionParser{table: t.Name, opts: opts}
	cfg.csv.ignoreErrors = p.bool(optCSVIgnoreErrors)
	cfg.csv.allowComments = p.bool(optCSVAllowComments)
	cfg.json.ignoreErrors = p.bool(optJSONIgnoreErrors)
	cfg.json.failOnMissing = p.bool(optJSONFailOnMissing)
	if v, ok := opts[optCSVDelimiter]; ok {
		cfg.csv.delim = p.char(optCSVDelimiter, v)
	}
	if v, ok := opts[optCSVQuote]; ok {
		cfg.csv.quote = p.char(optCSVQuote, v)
	}
	if p.bool(optCSVDisableQuote) {
		if _, ok := opts[optCSVQuote]; ok && p.err == nil {
			p.err = optionError(t.Name, optCSVQuote, "cannot be set together with '%s'", optCSVDisableQuote)
		}
		cfg.csv.quote = 0
	}
	if p.err == nil && cfg.csv.quote != 0 && cfg.csv.quote == cfg.csv.delim {
		p.err = optionError(t.Name, optCSVQuote, "must differ from '%s'", optCSVDelimiter)
	}
	cfg.csv.nullLiteral, cfg.csv.hasNull = opts[optCSVNullLiteral]
	if v, ok := opts[optJSONTimestampStd]; ok && p.err == nil {
		switch strings.ToUpper(strings.TrimSpace(v)) {
		case "SQL":
		case "ISO-8601":
			cfg.json.isoTimestamps = true
		default:
			p.err = optionError(t.Name, optJSONTimestampStd, "invalid value '%s' (expected 'SQL' or 'ISO-8601')", v)
		}
	}
	if v, ok := opts[optSinkRollingMaxSize]; ok && p.err == nil {
		n, err := parseMemorySize(v)
		if err != nil || n <= 0 {
			p.err = optionError(t.Name, optSinkRollingMaxSize, "invalid size '%s' (e.g. '128MB')", v)
		}
		cfg.rollSize = n
	}
	if v, ok := opts[optSinkRolloverTime]; ok && p.err == nil {
		d, err := parseDuration(v)
		if err != nil || d <= 0 {
			p.err = optionError(t.Name, optSinkRolloverTime, "invalid duration '%s' (e.g. '30 min', '10 s')", v)
		}
		cfg.rollInterval = d
	}
	if p.err != nil {
		return nil, p.err
	}
	for _, c := range t.Schema {
		if c.Type.Kind == types.KindNull {
			return nil, fmt.Errorf("table %s: column '%s' of type NULL cannot be stored in %s", t.Name, c.Name, format)
		}
	}
	return cfg, nil
}

// optionParser parses typed options, keeping the first error.
type optionParser struct {
	table string
	opts  map[string]string
	err   error
}

func (p *optionParser) bool(key string) bool {
	v, ok := p.opts[key]
	if !ok {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true
	case "false":
		return false
	}
	if p.err == nil {
		p.err = optionError(p.table, key, "invalid boolean '%s' (expected 'true' or 'false')", v)
	}
	return false
}

// char parses a single ASCII character; "\t" may be written escaped.
func (p *optionParser) char(key, v string) byte {
	if v == `\t` {
		return '\t'
	}
	if len(v) != 1 || v[0] == '\n' || v[0] == '\r' || v[0] >= 0x80 {
		if p.err == nil {
			p.err = optionError(p.table, key, "must be a single ASCII character other than a line break, got '%s'", v)
		}
		return 0
	}
	return v[0]
}

// parseMemorySize parses Flink memory sizes: "1048576", "64kb", "128 mb", "1g".
func parseMemorySize(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, err
	}
	mul := int64(1)
	switch strings.TrimSpace(s[i:]) {
	case "", "b", "bytes":
	case "k", "kb", "kibibytes":
		mul = 1 << 10
	case "m", "mb", "mebibytes":
		mul = 1 << 20
	case "g", "gb", "gibibytes":
		mul = 1 << 30
	case "t", "tb", "tebibytes":
		mul = 1 << 40
	default:
		return 0, fmt.Errorf("unknown unit in '%s'", s)
	}
	if n > (1<<63-1)/mul {
		return 0, fmt.Errorf("'%s' is too large", s)
	}
	return n * mul, nil
}

// parseDuration parses Flink durations: a whole number and an optional
// unit ("500 ms", "10s", "30 min", "1 h", "2 d"); no unit means
// milliseconds.
func parseDuration(s string) (time.Duration, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, err
	}
	var unit time.Duration
	switch strings.TrimSpace(s[i:]) {
	case "", "ms", "milli", "millis", "millisecond", "milliseconds":
		unit = time.Millisecond
	case "s", "sec", "secs", "second", "seconds":
		unit = time.Second
	case "m", "min", "mins", "minute", "minutes":
		unit = time.Minute
	case "h", "hour", "hours":
		unit = time.Hour
	case "d", "day", "days":
		unit = 24 * time.Hour
	default:
		return 0, fmt.Errorf("unknown unit in '%s'", s)
	}
	if n > int64(1<<63-1)/int64(unit) {
		return 0, fmt.Errorf("'%s' is too large", s)
	}
	return time.Duration(n) * unit, nil
}

// optionError formats "table t: option 'k': <why>".
func optionError(table, key, format string, args ...any) error {
	return fmt.Errorf("table %s: option '%s': %s", table, key, fmt.Sprintf(format, args...))
}
