package postgres

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/types"
)

// Option names, as in Flink's JDBC connector where one exists.
const (
	optURL               = "url"
	optTableName         = "table-name"
	optFlushMaxRows      = "sink.buffer-flush.max-rows"
	optFlushInterval     = "sink.buffer-flush.interval"
	optMaxRetries        = "sink.max-retries"
	optDeliveryGuarantee = "sink.delivery-guarantee"
	optCreateTable       = "sink.create-table"
	optParallelism       = "sink.parallelism"
)

var knownOptions = []string{optURL, optTableName, optFlushMaxRows, optFlushInterval,
	optMaxRetries, optDeliveryGuarantee, optCreateTable, optParallelism}

// Delivery guarantees ('sink.delivery-guarantee').
const (
	exactlyOnce = "exactly-once"
	atLeastOnce = "at-least-once"
)

// Defaults of the options.
const (
	// DefaultFlushMaxRows is 'sink.buffer-flush.max-rows': in at-least-once
	// mode the buffer is written when it holds this many rows (after
	// folding updates of one key); 0 disables the size trigger.
	DefaultFlushMaxRows = 1000
	// DefaultFlushInterval is 'sink.buffer-flush.interval': in at-least-once
	// mode the buffer is written at least this often; 0 disables the timer.
	DefaultFlushInterval = time.Second
	// DefaultMaxRetries is 'sink.max-retries': how many times a write that
	// failed on a connection error is retried (with backoff) before the job
	// fails and its restart strategy takes over.
	DefaultMaxRetries = 3
)

// config is a table's parsed postgres options.
type config struct {
	// table is the Sluice table name (for messages and the sink id).
	table string
	// dsn is the connection URL as written; never print it, use redacted.
	dsn string
	// redacted is dsn with the password replaced, safe for messages.
	redacted string
	// target is the Postgres table: [schema,] name, unquoted.
	target pgx.Identifier
	// maxRows and interval trigger at-least-once flushes (0: disabled).
	maxRows  int
	interval time.Duration
	// maxRetries is the number of retries of a write after a connection
	// error.
	maxRetries int
	// exactlyOnce selects the commit-at-checkpoint protocol.
	exactlyOnce bool
	// createTable creates the target table when it does not exist.
	createTable bool
	// parallelism is 'sink.parallelism' (0: not set).
	parallelism int

	schema     types.Schema
	primaryKey []int // column indexes, empty without a primary key
}

// parseOptions checks t's options and schema and returns the sink's
// configuration; errors name the table and the option.
func parseOptions(t *connectors.Table) (*config, error) {
	if err := connectors.CheckOptions(t.Name, t.Options, knownOptions, []string{optURL, optTableName}); err != nil {
		return nil, err
	}
	c := &config{
		table: t.Name, dsn: t.Options[optURL], maxRows: DefaultFlushMaxRows,
		interval: DefaultFlushInterval, maxRetries: DefaultMaxRetries, exactlyOnce: true,
		schema: t.Schema, primaryKey: append([]int(nil), t.PrimaryKey...),
	}
	bad := func(opt, format string, args ...any) error {
		return fmt.Errorf("table %s: option '%s': %s", t.Name, opt, fmt.Sprintf(format, args...))
	}
	c.redacted = redactDSN(c.dsn)
	if !strings.HasPrefix(c.dsn, "postgres://") && !strings.HasPrefix(c.dsn, "postgresql://") {
		return nil, bad(optURL, "'%s' is not a postgres:// URL", c.redacted)
	}
	if _, err := pgx.ParseConfig(c.dsn); err != nil {
		// pgx redacts the password of the URL in its parse errors.
		return nil, bad(optURL, "%v", err)
	}
	target, err := parseTableName(t.Options[optTableName])
	if err != nil {
		return nil, bad(optTableName, "%v", err)
	}
	c.target = target
	if v, ok := t.Options[optFlushMaxRows]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return nil, bad(optFlushMaxRows, "invalid row count '%s' (expected a whole number >= 0)", v)
		}
		c.maxRows = n
	}
	if v, ok := t.Options[optFlushInterval]; ok {
		d, err := parseDuration(v)
		if err != nil {
			return nil, bad(optFlushInterval, "%v", err)
		}
		c.interval = d
	}
	if v, ok := t.Options[optParallelism]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 128 {
			return nil, bad(optParallelism, "invalid parallelism '%s' (expected a whole number from 1 to 128)", v)
		}
		c.parallelism = n
	}
	if v, ok := t.Options[optMaxRetries]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return nil, bad(optMaxRetries, "invalid retry count '%s' (expected a whole number >= 0)", v)
		}
		c.maxRetries = n
	}
	if v, ok := t.Options[optDeliveryGuarantee]; ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case exactlyOnce:
		case atLeastOnce:
			c.exactlyOnce = false
		default:
			return nil, bad(optDeliveryGuarantee, "invalid value '%s' (expected '%s' or '%s')", v, exactlyOnce, atLeastOnce)
		}
	}
	if v, ok := t.Options[optCreateTable]; ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			c.createTable = true
		case "false":
		default:
			return nil, bad(optCreateTable, "invalid boolean '%s' (expected 'true' or 'false')", v)
		}
	}
	if len(t.Schema) == 0 {
		return nil, fmt.Errorf("table %s: a postgres table needs at least one column", t.Name)
	}
	for _, col := range t.Schema {
		if col.Type.Kind == types.KindNull || int(col.Type.Kind) >= len(pgTypeNames) {
			return nil, fmt.Errorf("table %s: column %s: type %v has no PostgreSQL counterpart", t.Name, col.Name, col.Type)
		}
	}
	for _, k := range c.primaryKey {
		if k < 0 || k >= len(t.Schema) {
			return nil, fmt.Errorf("table %s: primary key column index %d out of range", t.Name, k)
		}
	}
	return c, nil
}

// parseTableName splits 'table-name' into an optional schema and a table.
// A part may be double-quoted (to hold a dot); names are used exactly as
// written (case-sensitive), and always quoted in SQL.
func parseTableName(s string) (pgx.Identifier, error) {
	var parts pgx.Identifier
	var cur strings.Builder
	quoted, wasQuoted := false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quoted && ch == '"' && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case ch == '"' && (quoted || cur.Len() == 0):
			quoted = !quoted
			wasQuoted = true
		case ch == '.' && !quoted:
			parts = append(parts, cur.String())
			cur.Reset()
			wasQuoted = false
		default:
			cur.WriteByte(ch)
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote in '%s'", s)
	}
	last := cur.String()
	if !wasQuoted {
		last = strings.TrimSpace(last)
	}
	parts = append(parts, last)
	if len(parts) > 2 {
		return nil, fmt.Errorf("'%s' has more than two parts (expected table or schema.table)", s)
	}
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("empty name in '%s' (expected table or schema.table)", s)
		}
		if strings.IndexByte(p, 0) >= 0 {
			return nil, fmt.Errorf("NUL byte in '%s'", s)
		}
	}
	return parts, nil
}

// redactDSN returns dsn with the password of its user info, and any
// password query parameter, replaced by "xxxxx", for messages.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		// Not a URL we can take apart: show only the scheme.
		if i := strings.Index(dsn, "://"); i >= 0 {
			return dsn[:i+3] + "xxxxx"
		}
		return "xxxxx"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	for k := range q {
		if strings.EqualFold(k, "password") {
			q.Set(k, "xxxxx")
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// parseDuration reads a duration in Flink's syntax ('1 s', '500ms',
// '2 min'); a bare number is milliseconds.
func parseDuration(s string) (time.Duration, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil || i == 0 {
		return 0, fmt.Errorf("invalid duration '%s' (expected e.g. '1 s', '500 ms', '1 min')", s)
	}
	unit := strings.TrimSpace(t[i:])
	var d time.Duration
	switch unit {
	case "", "ms", "milli", "millis", "millisecond", "milliseconds":
		d = time.Millisecond
	case "s", "sec", "secs", "second", "seconds":
		d = time.Second
	case "m", "min", "mins", "minute", "minutes":
		d = time.Minute
	case "h", "hour", "hours":
		d = time.Hour
	default:
		return 0, fmt.Errorf("invalid duration '%s': unknown unit '%s' (expected ms, s, min or h)", s, unit)
	}
	if n > int64(365*24*time.Hour/d) {
		return 0, fmt.Errorf("duration '%s' is too long", s)
	}
	return time.Duration(n) * d, nil
}
