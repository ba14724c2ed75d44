package kafka

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/types"
)

// Option names, as in Flink's Kafka connector and formats.
const (
	optTopic          = "topic"
	optTopicPattern   = "topic-pattern"
	optBootstrap      = "properties.bootstrap.servers"
	optGroupID        = "properties.group.id"
	optProperties     = "properties.*"
	optFormat         = "format"
	optValueFormat    = "value.format"
	optStartupMode    = "scan.startup.mode"
	optStartupTS      = "scan.startup.timestamp-millis"
	optStartupOffsets = "scan.startup.specific-offsets"
	optBoundedMode    = "scan.bounded.mode"
	optDiscovery      = "scan.topic-partition-discovery.interval"
	optDelivery       = "sink.delivery-guarantee"
	optTxnPrefix      = "sink.transactional-id-prefix"
	optPartitioner    = "sink.partitioner"
	optKeyFormat      = "key.format"
	optKeyFields      = "key.fields"
	optValueInclude   = "value.fields-include"

	optJSONIgnoreErrors  = "json.ignore-parse-errors"
	optJSONFailOnMissing = "json.fail-on-missing-field"
	optCSVDelimiter      = "csv.field-delimiter"
	optCSVIgnoreErrors   = "csv.ignore-parse-errors"
	optCSVNullLiteral    = "csv.null-literal"
	optRawCharset        = "raw.charset"

	optDbzIgnoreErrors  = "debezium-json.ignore-parse-errors"
	optDbzSchemaInclude = "debezium-json.schema-include"
)

var knownOptions = []string{
	optTopic, optTopicPattern, optBootstrap, optGroupID, optProperties, optFormat, optValueFormat,
	optStartupMode, optStartupTS, optStartupOffsets, optBoundedMode, optDiscovery,
	optDelivery, optTxnPrefix, optPartitioner,
	optJSONIgnoreErrors, optJSONFailOnMissing, optCSVDelimiter, optCSVIgnoreErrors, optCSVNullLiteral,
	optRawCharset, optDbzIgnoreErrors, optDbzSchemaInclude,
	"value." + optDbzIgnoreErrors, "value." + optDbzSchemaInclude,
	"value." + optJSONIgnoreErrors, "value." + optJSONFailOnMissing, "value." + optCSVDelimiter,
	"value." + optCSVIgnoreErrors, "value." + optCSVNullLiteral,
	optKeyFormat, optKeyFields, optValueInclude,
	"key." + optJSONIgnoreErrors, "key." + optJSONFailOnMissing, "key." + optCSVDelimiter,
	"key." + optCSVIgnoreErrors, "key." + optCSVNullLiteral,
}

// Startup modes (scan.startup.mode).
const (
	startEarliest  = "earliest-offset"
	startLatest    = "latest-offset"
	startGroup     = "group-offsets"
	startTimestamp = "timestamp"
	startSpecific  = "specific-offsets"
)

// Delivery guarantees (sink.delivery-guarantee).
const (
	deliveryNone        = "none"
	deliveryAtLeastOnce = "at-least-once"
	deliveryExactlyOnce = "exactly-once"
)

// Partitioners (sink.partitioner).
const (
	partDefault    = "default"
	partFixed      = "fixed"
	partRoundRobin = "round-robin"
)

// Formats.
const (
	formatJSON = "json"
	formatCSV  = "csv"
	formatRaw  = "raw"
	// formatDebezium is a changelog of Debezium change events (source only).
	formatDebezium = "debezium-json"
)

// DefaultTransactionTimeout is the transaction timeout of the exactly-once
// sink when 'properties.transaction.timeout.ms' is not set: 15 minutes,
// Kafka's default transaction.max.timeout.ms (franz-go's own default, 40 s,
// is shorter than many checkpoint intervals plus a restart).
const DefaultTransactionTimeout = 15 * time.Minute

// config is a table's parsed kafka options.
type config struct {
	table     string
	topics    []string       // explicit topics; nil with a pattern
	pattern   *regexp.Regexp // topic-pattern
	bootstrap []string
	groupID   string
	props     map[string]string // other properties.* keys (without the prefix)

	format format // value format
	// keyFormat is the record key's format (name "" when the key is not
	// read or written as columns); keyCols are its table columns.
	keyFormat format
	keyCols   []int
	// exceptKey: 'value.fields-include' = 'EXCEPT_KEY', the value holds
	// the columns that are not in the key.
	exceptKey bool
	// upsert is the 'upsert-kafka' connector: the key is the primary key,
	// a null value (tombstone) is a delete.
	upsert bool
	// meta is the METADATA key of each table column ("" for physical ones,
	// nil for none).
	meta []string

	startMode     string
	startTS       int64
	startOffsets  map[int32]int64 // specific-offsets, for the single topic
	boundedLatest bool
	discovery     time.Duration // 0: no discovery

	delivery    string
	txnPrefix   string
	partitioner string
	txnTimeout  time.Duration
}

// format describes the value format.
type format struct {
	name          string
	ignoreErrors  bool
	failOnMissing bool   // json
	delim         byte   // csv
	nullLiteral   string // csv
	hasNull       bool   // csv
}

// supportedProperties are the properties.* keys passed on to the client
// (see clientOpts), beyond bootstrap.servers and group.id.
var supportedProperties = map[string]bool{
	"client.id": true, "transaction.timeout.ms": true, "auto.offset.reset": true,
	"isolation.level": true, "fetch.max.bytes": true, "max.partition.fetch.bytes": true,
	"fetch.max.wait.ms": true, "linger.ms": true, "batch.size": true, "compression.type": true,
	"request.timeout.ms": true, "acks": true, "enable.auto.commit": true,
	"allow.auto.create.topics": true,
}

func parseConfig(t *connectors.Table) (*config, error) {
	return parseConfigFor(t, false)
}

// parseConfigFor parses the options of a 'kafka' table, or of an
// 'upsert-kafka' one when upsert is set.
func parseConfigFor(t *connectors.Table, upsert bool) (*config, error) {
	opts := t.Options
	known := knownOptions
	if upsert {
		known = upsertKnownOptions
	}
	if err := connectors.CheckOptions(t.Name, opts, known, []string{optBootstrap}); err != nil {
		return nil, err
	}
	c := &config{table: t.Name, props: map[string]string{}, startMode: startGroup, upsert: upsert,
		delivery: deliveryAtLeastOnce, partitioner: partDefault, txnTimeout: DefaultTransactionTimeout}
	if upsert {
		c.startMode = startEarliest // the whole changelog, as Flink
	} else if _, ok := opts[optGroupID]; !ok {
		c.startMode = startEarliest
	}
	for k, v := range opts {
		if p, ok := strings.CutPrefix(k, "properties."); ok && k != optBootstrap && k != optGroupID {
			if !supportedProperties[p] {
				return nil, optionError(t.Name, k, "unsupported Kafka client property (supported: %s)", strings.Join(sortedKeys(supportedProperties), ", "))
			}
			c.props[p] = v
		}
	}
	for _, s := range strings.Split(opts[optBootstrap], ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.bootstrap = append(c.bootstrap, s)
		}
	}
	if len(c.bootstrap) == 0 {
		return nil, optionError(t.Name, optBootstrap, "must list at least one host:port")
	}
	c.groupID = opts[optGroupID]

	topic, hasTopic := opts[optTopic]
	pat, hasPat := opts[optTopicPattern]
	switch {
	case hasTopic && hasPat:
		return nil, optionError(t.Name, optTopicPattern, "cannot be set together with '%s'", optTopic)
	case hasTopic:
		for _, s := range strings.Split(topic, ";") {
			if s = strings.TrimSpace(s); s != "" {
				c.topics = append(c.topics, s)
			}
		}
		if len(c.topics) == 0 {
			return nil, optionError(t.Name, optTopic, "must not be empty")
		}
	case hasPat:
		re, err := regexp.Compile("^(?:" + pat + ")$")
		if err != nil {
			return nil, optionError(t.Name, optTopicPattern, "invalid regular expression: %v", err)
		}
		c.pattern = re
	default:
		return nil, fmt.Errorf("table %s: missing required option '%s' (or '%s') for connector 'kafka'", t.Name, optTopic, optTopicPattern)
	}

	if err := c.parseMetadata(t); err != nil {
		return nil, err
	}
	if err := c.parseKey(t); err != nil {
		return nil, err
	}
	if err := c.parseFormat(t); err != nil {
		return nil, err
	}
	if err := c.parseScan(t); err != nil {
		return nil, err
	}
	if err := c.parseSink(t); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *config) parseFormat(t *connectors.Table) error {
	opts := t.Options
	name, ok := opts[optFormat]
	key := optFormat
	if v, vok := opts[optValueFormat]; vok {
		if ok {
			return optionError(t.Name, optValueFormat, "cannot be set together with '%s'", optFormat)
		}
		name, ok, key = v, true, optValueFormat
	}
	if !ok {
		return fmt.Errorf("table %s: missing required option '%s' for connector '%s'", t.Name, optFormat, c.connector())
	}
	pre := ""
	if key == optValueFormat {
		pre = "value."
	}
	f, err := parseFormatOpts(t, pre, key, name, c.valueCols(t))
	if err != nil {
		return err
	}
	if f.name == formatDebezium && c.upsert {
		return optionError(t.Name, key, "'%s' is a changelog of its own; 'upsert-kafka' takes 'json', 'csv' or 'raw' values", formatDebezium)
	}
	c.format = f
	return nil
}

func (c *config) connector() string {
	if c.upsert {
		return "upsert-kafka"
	}
	return "kafka"
}

// valueCols returns the table columns the record value holds: the
// physical columns, less the key's with 'value.fields-include' = 'EXCEPT_KEY'.
func (c *config) valueCols(t *connectors.Table) []int {
	inKey := map[int]bool{}
	if c.exceptKey {
		for _, k := range c.keyCols {
			inKey[k] = true
		}
	}
	var out []int
	for i := range t.Schema {
		if !c.isMeta(i) && !inKey[i] {
			out = append(out, i)
		}
	}
	return out
}

func (c *config) isMeta(col int) bool { return col < len(c.meta) && c.meta[col] != "" }

// parseMetadata checks the METADATA columns: a known key, a fitting type.
func (c *config) parseMetadata(t *connectors.Table) error {
	for i, m := range t.Metadata {
		if m == "" {
			continue
		}
		col := t.Schema[i]
		key := strings.ToLower(m)
		want, ok := metadataKeys[key]
		if !ok {
			return fmt.Errorf("table %s: column '%s': unknown %s metadata key '%s' (known: %s)", t.Name, col.Name, c.connector(), m, strings.Join(MetadataKeys(), ", "))
		}
		if !want(col.Type) {
			return fmt.Errorf("table %s: column '%s': metadata '%s' cannot be read as %s", t.Name, col.Name, key, col.Type)
		}
		if c.meta == nil {
			c.meta = make([]string, len(t.Schema))
		}
		c.meta[i] = key
	}
	return nil
}

// parseKey reads key.format, key.fields and value.fields-include; for
// upsert-kafka the key is the primary key.
func (c *config) parseKey(t *connectors.Table) error {
	opts := t.Options
	if v, ok := opts[optValueInclude]; ok {
		switch strings.ToUpper(strings.TrimSpace(v)) {
		case "ALL":
		case "EXCEPT_KEY":
			c.exceptKey = true
		default:
			return optionError(t.Name, optValueInclude, "invalid value '%s' (expected 'ALL' or 'EXCEPT_KEY')", v)
		}
	}
	name, hasKeyFormat := opts[optKeyFormat]
	fieldsOpt, hasFields := opts[optKeyFields]
	if c.upsert {
		if len(t.PrimaryKey) == 0 {
			return fmt.Errorf("table %s: 'upsert-kafka' needs a PRIMARY KEY (it is the record key)", t.Name)
		}
		if !hasKeyFormat {
			return fmt.Errorf("table %s: missing required option '%s' for connector 'upsert-kafka'", t.Name, optKeyFormat)
		}
		if _, ok := opts[optValueFormat]; !ok {
			return fmt.Errorf("table %s: missing required option '%s' for connector 'upsert-kafka'", t.Name, optValueFormat)
		}
		for _, k := range t.PrimaryKey {
			if c.isMeta(k) {
				return fmt.Errorf("table %s: primary key column '%s' is a METADATA column", t.Name, t.Schema[k].Name)
			}
		}
		c.keyCols = append([]int(nil), t.PrimaryKey...)
	} else {
		if hasFields != hasKeyFormat {
			if hasFields {
				return optionError(t.Name, optKeyFields, "needs '%s'", optKeyFormat)
			}
			return optionError(t.Name, optKeyFormat, "needs '%s' (the columns that form the key)", optKeyFields)
		}
		for _, n := range strings.Split(fieldsOpt, ";") {
			if n = strings.TrimSpace(n); n == "" {
				continue
			}
			i := t.Schema.Index(n)
			if i < 0 || c.isMeta(i) {
				return optionError(t.Name, optKeyFields, "'%s' is not a physical column of the table", n)
			}
			c.keyCols = append(c.keyCols, i)
		}
		if hasFields && len(c.keyCols) == 0 {
			return optionError(t.Name, optKeyFields, "must name at least one column")
		}
	}
	if c.exceptKey && !hasKeyFormat {
		return optionError(t.Name, optValueInclude, "'EXCEPT_KEY' needs '%s'", optKeyFormat)
	}
	if !hasKeyFormat {
		return nil
	}
	f, err := parseFormatOpts(t, "key.", optKeyFormat, name, c.keyCols)
	if err != nil {
		return err
	}
	c.keyFormat = f
	return nil
}

// parseFormatOpts parses format name (given by option nameKey) and its
// options, prefixed with pre, for the table columns cols.
func parseFormatOpts(t *connectors.Table, pre, nameKey, name string, cols []int) (format, error) {
	opts := t.Options
	f := format{name: strings.ToLower(strings.TrimSpace(name)), delim: ','}
	var err error
	get := func(k string) (string, bool) { v, ok := opts[pre+k]; return v, ok }
	boolOpt := func(k string) bool {
		v, ok := get(k)
		if !ok || err != nil {
			return false
		}
		b, perr := parseBool(v)
		if perr != nil {
			err = optionError(t.Name, pre+k, "%v", perr)
		}
		return b
	}
	switch f.name {
	case formatJSON:
		f.ignoreErrors = boolOpt(optJSONIgnoreErrors)
		f.failOnMissing = boolOpt(optJSONFailOnMissing)
	case formatCSV:
		f.ignoreErrors = boolOpt(optCSVIgnoreErrors)
		if v, ok := get(optCSVDelimiter); ok {
			if v == `\t` {
				v = "\t"
			}
			if len(v) != 1 || v[0] == '"' || v[0] == '\n' || v[0] >= 0x80 {
				return f, optionError(t.Name, pre+optCSVDelimiter, "must be a single ASCII character other than '\"' and a line break, got '%s'", v)
			}
			f.delim = v[0]
		}
		f.nullLiteral, f.hasNull = get(optCSVNullLiteral)
	case formatDebezium:
		if pre == "key." {
			return f, optionError(t.Name, nameKey, "'%s' is a value format (a change event), not a key format", formatDebezium)
		}
		f.ignoreErrors = boolOpt(optDbzIgnoreErrors)
		boolOpt(optDbzSchemaInclude) // both envelope forms are recognised; checked for syntax only
	case formatRaw:
		if v, ok := opts[optRawCharset]; ok && !strings.EqualFold(v, "UTF-8") {
			return f, optionError(t.Name, optRawCharset, "only 'UTF-8' is supported, got '%s'", v)
		}
		for _, i := range cols {
			col := t.Schema[i]
			if col.Type.Kind != types.KindString && col.Type.Kind != types.KindVarchar &&
				col.Type.Kind != types.KindChar && col.Type.Kind != types.KindBytes {
				return f, fmt.Errorf("table %s: format 'raw' ('%s') needs one STRING or BYTES column, '%s' is %s", t.Name, nameKey, col.Name, col.Type)
			}
		}
		if len(cols) != 1 {
			return f, fmt.Errorf("table %s: format 'raw' ('%s') needs exactly one column, it has %d", t.Name, nameKey, len(cols))
		}
	default:
		return f, optionError(t.Name, nameKey, "unsupported format '%s' (expected 'json', 'csv', 'raw' or 'debezium-json')", name)
	}
	if err != nil {
		return f, err
	}
	for _, i := range cols {
		if col := t.Schema[i]; col.Type.Kind == types.KindNull {
			return f, fmt.Errorf("table %s: column '%s' of type NULL cannot be stored in %s", t.Name, col.Name, f.name)
		}
	}
	return f, nil
}

func (c *config) parseScan(t *connectors.Table) error {
	opts := t.Options
	if v, ok := opts[optStartupMode]; ok {
		c.startMode = strings.ToLower(strings.TrimSpace(v))
		switch c.startMode {
		case startEarliest, startLatest, startTimestamp, startSpecific:
		case startGroup:
			if c.groupID == "" {
				return optionError(t.Name, optStartupMode, "'group-offsets' needs '%s'", optGroupID)
			}
		default:
			return optionError(t.Name, optStartupMode, "invalid value '%s' (expected earliest-offset, latest-offset, group-offsets, timestamp or specific-offsets)", v)
		}
	}
	if v, ok := opts[optStartupTS]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return optionError(t.Name, optStartupTS, "invalid milliseconds '%s'", v)
		}
		c.startTS = n
	}
	if _, ok := opts[optStartupTS]; (c.startMode == startTimestamp) != ok {
		if ok {
			return optionError(t.Name, optStartupTS, "needs '%s' = 'timestamp'", optStartupMode)
		}
		return fmt.Errorf("table %s: '%s' = 'timestamp' needs '%s'", t.Name, optStartupMode, optStartupTS)
	}
	if v, ok := opts[optStartupOffsets]; ok {
		if c.startMode != startSpecific {
			return optionError(t.Name, optStartupOffsets, "needs '%s' = 'specific-offsets'", optStartupMode)
		}
		if len(c.topics) != 1 {
			return optionError(t.Name, optStartupOffsets, "needs a single 'topic'")
		}
		m, err := parseSpecificOffsets(v)
		if err != nil {
			return optionError(t.Name, optStartupOffsets, "%v", err)
		}
		c.startOffsets = m
	} else if c.startMode == startSpecific {
		return fmt.Errorf("table %s: '%s' = 'specific-offsets' needs '%s'", t.Name, optStartupMode, optStartupOffsets)
	}
	if v, ok := opts[optBoundedMode]; ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "unbounded":
		case "latest-offset":
			c.boundedLatest = true
		default:
			return optionError(t.Name, optBoundedMode, "invalid value '%s' (expected 'unbounded' or 'latest-offset')", v)
		}
	}
	if v, ok := opts[optDiscovery]; ok {
		d, err := parseDuration(v)
		if err != nil {
			return optionError(t.Name, optDiscovery, "%v", err)
		}
		c.discovery = d
	} else if c.pattern != nil {
		c.discovery = 5 * time.Minute // Flink's default
	}
	if v, ok := c.props["auto.offset.reset"]; ok {
		switch strings.ToLower(v) {
		case "earliest", "latest", "none":
		default:
			return optionError(t.Name, "properties.auto.offset.reset", "invalid value '%s' (expected earliest, latest or none)", v)
		}
	}
	if v, ok := c.props["isolation.level"]; ok && !strings.EqualFold(v, "read_committed") {
		return optionError(t.Name, "properties.isolation.level", "only 'read_committed' is supported (exactly-once needs it), got '%s'", v)
	}
	return nil
}

func (c *config) parseSink(t *connectors.Table) error {
	opts := t.Options
	if v, ok := opts[optDelivery]; ok {
		c.delivery = strings.ToLower(strings.TrimSpace(v))
		switch c.delivery {
		case deliveryNone, deliveryAtLeastOnce, deliveryExactlyOnce:
		default:
			return optionError(t.Name, optDelivery, "invalid value '%s' (expected none, at-least-once or exactly-once)", v)
		}
	}
	c.txnPrefix = opts[optTxnPrefix]
	if v, ok := opts[optPartitioner]; ok {
		c.partitioner = strings.ToLower(strings.TrimSpace(v))
		switch c.partitioner {
		case partDefault, partFixed, partRoundRobin:
		default:
			return optionError(t.Name, optPartitioner, "invalid value '%s' (expected default, fixed or round-robin)", v)
		}
	}
	if v, ok := c.props["transaction.timeout.ms"]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 {
			return optionError(t.Name, "properties.transaction.timeout.ms", "invalid milliseconds '%s'", v)
		}
		c.txnTimeout = time.Duration(n) * time.Millisecond
	}
	return nil
}

// parseSpecificOffsets parses Flink's 'partition:0,offset:42;partition:1,offset:300'.
func parseSpecificOffsets(s string) (map[int32]int64, error) {
	m := map[int32]int64{}
	for _, part := range strings.Split(s, ";") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		var p int32
		var o int64
		var gotP, gotO bool
		for _, kv := range strings.Split(part, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), ":")
			if !ok {
				return nil, fmt.Errorf("invalid entry '%s' (expected 'partition:N,offset:M')", part)
			}
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("invalid number '%s' in '%s'", v, part)
			}
			switch strings.TrimSpace(k) {
			case "partition":
				if n > 1<<31-1 {
					return nil, fmt.Errorf("partition %d out of range", n)
				}
				p, gotP = int32(n), true
			case "offset":
				o, gotO = n, true
			default:
				return nil, fmt.Errorf("unknown key '%s' in '%s'", k, part)
			}
		}
		if !gotP || !gotO {
			return nil, fmt.Errorf("invalid entry '%s' (expected 'partition:N,offset:M')", part)
		}
		m[p] = o
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("no offsets in '%s'", s)
	}
	return m, nil
}

// parseDuration accepts Go durations ("30s") and Flink's forms ("30 s",
// "5 min", plain milliseconds).
func parseDuration(v string) (time.Duration, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Millisecond, nil
	}
	if d, err := time.ParseDuration(strings.ReplaceAll(s, " ", "")); err == nil && d >= 0 {
		return d, nil
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err == nil {
		switch strings.TrimSpace(s[i:]) {
		case "ms", "milli", "millis", "millisecond", "milliseconds":
			return time.Duration(n) * time.Millisecond, nil
		case "s", "sec", "secs", "second", "seconds":
			return time.Duration(n) * time.Second, nil
		case "min", "mins", "minute", "minutes":
			return time.Duration(n) * time.Minute, nil
		case "h", "hour", "hours":
			return time.Duration(n) * time.Hour, nil
		}
	}
	return 0, fmt.Errorf("invalid duration '%s' (e.g. '30 s', '5 min')", v)
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("invalid boolean '%s' (expected 'true' or 'false')", v)
}

func sortedKeys(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// optionError formats "table t: option 'k': <why>".
func optionError(table, key, format string, args ...any) error {
	return fmt.Errorf("table %s: option '%s': %s", table, key, fmt.Sprintf(format, args...))
}
