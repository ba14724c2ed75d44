package nexmark

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
)

func init() { connectors.Register(Connector{}) }

// Connector is the 'nexmark' source connector.
type Connector struct{}

var _ connectors.SourceConnector = Connector{}

// Option names. events.num and first-event.rate are nexmark-flink's.
const (
	optTable  = "nexmark.table"
	optEvents = "events.num"
	optRate   = "first-event.rate"
)

var knownOptions = []string{optTable, optEvents, optRate}

// config is a table's parsed options.
type config struct {
	kind  kind
	clock clock
	// rows is the table's row count (the events of its kind among the first
	// events.num), -1 when unbounded.
	rows int64
	// cols has the generator column of each table column, in schema order.
	cols []column
}

// Name implements connectors.Connector.
func (Connector) Name() string { return "nexmark" }

// Validate implements connectors.Connector: it checks the options and that
// every column is one of the kind's columns with a suitable type.
func (Connector) Validate(t *connectors.Table) error {
	_, err := parseConfig(t)
	return err
}

// NewSource implements connectors.SourceConnector. The produced batches hold
// exactly req.Columns; values do not depend on the projection and columns
// not requested are not generated. The source is bounded when events.num is
// set; any parallelism is useful.
func (Connector) NewSource(t *connectors.Table, req connectors.SourceRequest) (connectors.SourceSpec, error) {
	cfg, err := parseConfig(t)
	if err != nil {
		return connectors.SourceSpec{}, err
	}
	idx, ts, err := connectors.ColumnTypes("nexmark", t, req.Columns)
	if err != nil {
		return connectors.SourceSpec{}, err
	}
	cols := make([]column, len(idx))
	for i, c := range idx {
		cols[i] = cfg.cols[c]
	}
	return connectors.SourceSpec{
		Factory: func(int) (exec.Source, error) { return newSource(cfg, cols), nil },
		Types:   ts,
		Bounded: cfg.rows >= 0,
		Mode:    connectors.AppendOnly,
	}, nil
}

// parseConfig validates t's options and schema. Errors name the table and
// the offending option or column.
func parseConfig(t *connectors.Table) (*config, error) {
	if err := connectors.CheckOptions(t.Name, t.Options, knownOptions, []string{optTable}); err != nil {
		return nil, err
	}
	cfg := &config{rows: -1, clock: clock{baseMs: BaseTime.UnixMilli(), rate: DefaultRate}}
	switch v := strings.ToLower(strings.TrimSpace(t.Options[optTable])); v {
	case "person":
		cfg.kind = kindPerson
	case "auction":
		cfg.kind = kindAuction
	case "bid":
		cfg.kind = kindBid
	default:
		return nil, optionError(t.Name, optTable, "expected 'person', 'auction' or 'bid', got '%s'", t.Options[optTable])
	}
	if v, ok := t.Options[optEvents]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return nil, optionError(t.Name, optEvents, "expected a non-negative integer, got '%s'", v)
		}
		cfg.rows = cfg.kind.rowsBelow(n)
	}
	if v, ok := t.Options[optRate]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 {
			return nil, optionError(t.Name, optRate, "expected a positive integer (events per second), got '%s'", v)
		}
		cfg.clock.rate = uint64(n)
	}
	cfg.cols = make([]column, len(t.Schema))
	for i, c := range t.Schema {
		col, ok := findColumn(cfg.kind, c.Name)
		if !ok {
			names := make([]string, len(tableColumns[cfg.kind]))
			for j, tc := range tableColumns[cfg.kind] {
				names[j] = tc.name
			}
			return nil, fmt.Errorf("table %s: column '%s' is not a column of the nexmark %s table (%s)",
				t.Name, c.Name, cfg.kind, strings.Join(names, ", "))
		}
		if !col.class.accepts(c.Type) {
			return nil, fmt.Errorf("table %s: nexmark column '%s' must be %s, not %s", t.Name, c.Name, col.class, c.Type)
		}
		cfg.cols[i] = col
	}
	return cfg, nil
}

func optionError(table, opt, format string, args ...any) error {
	return fmt.Errorf("table %s: option '%s': %s", table, opt, fmt.Sprintf(format, args...))
}
