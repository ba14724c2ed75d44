package kafka

import (
	"fmt"
	"sort"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

func init() { connectors.Register(Connector{}) }

// Connector is the 'kafka' connector.
type Connector struct{}

var (
	_ connectors.SourceConnector = Connector{}
	_ connectors.SinkConnector   = Connector{}
)

// Name implements connectors.Connector.
func (Connector) Name() string { return "kafka" }

// Validate implements connectors.Connector.
func (Connector) Validate(t *connectors.Table) error {
	_, err := parseConfig(t)
	return err
}

// metadataKeys are the METADATA columns the source fills, with the types
// each may be declared with.
var metadataKeys = map[string]func(types.Type) bool{
	"topic":          types.Type.IsString,
	"partition":      types.Type.IsInteger,
	"offset":         isBigInt,
	"timestamp":      isTimestamp,
	"timestamp-type": types.Type.IsString,
	"leader-epoch":   types.Type.IsInteger,
	"key":            types.Type.IsString,
}

func isBigInt(t types.Type) bool { return t.Kind == types.KindBigInt }
func isTimestamp(t types.Type) bool {
	return t.Kind == types.KindTimestamp || t.Kind == types.KindTimestampLTZ
}

// MetadataKeys returns the METADATA keys the Kafka source fills, sorted:
// topic, partition (INT), offset (BIGINT), timestamp (TIMESTAMP_LTZ(3)),
// timestamp-type, leader-epoch and key (STRING or BYTES). A sink ignores
// the values of METADATA columns.
func MetadataKeys() []string {
	ks := make([]string, 0, len(metadataKeys))
	for k := range metadataKeys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// MetadataKeys tells the engine that the connector reads METADATA columns.
func (Connector) MetadataKeys() []string { return MetadataKeys() }

// NewSource implements connectors.SourceConnector.
func (Connector) NewSource(t *connectors.Table, req connectors.SourceRequest) (connectors.SourceSpec, error) {
	cfg, err := parseConfig(t)
	if err != nil {
		return connectors.SourceSpec{}, err
	}
	return newSource(cfg, t, req)
}

// newSource builds the source spec of a parsed table.
func newSource(cfg *config, t *connectors.Table, req connectors.SourceRequest) (connectors.SourceSpec, error) {
	cols, ts, err := connectors.ColumnTypes(cfg.connector(), t, req.Columns)
	if err != nil {
		return connectors.SourceSpec{}, err
	}
	out := map[int]int{} // table column → batch column
	for j, c := range cols {
		out[c] = j
	}
	var metas []metaCol
	for c := range t.Schema {
		if j, ok := out[c]; ok && cfg.isMeta(c) {
			metas = append(metas, metaCol{col: j, key: cfg.meta[c]})
		}
	}
	// decFields maps the columns a format holds to batch columns: JSON
	// skips unrequested fields, CSV needs every field in order (-1: not
	// requested), raw has one column (-1 when only metadata is requested).
	decFields := func(f format, tcols []int) []field {
		var fs []field
		for _, c := range tcols {
			j, ok := out[c]
			if !ok {
				if f.name == formatJSON || f.name == formatDebezium {
					continue
				}
				j = -1
			}
			fs = append(fs, field{name: t.Schema[c].Name, col: j})
		}
		return fs
	}
	fields := decFields(cfg.format, cfg.valueCols(t))
	var keyFields []field
	if cfg.exceptKey {
		keyFields = decFields(cfg.keyFormat, cfg.keyCols)
	}
	factory := func(int) (exec.Source, error) {
		return &Source{cfg: cfg, fields: fields, keyFields: keyFields, meta: metas, types: ts}, nil
	}
	mode := connectors.AppendOnly
	if cfg.format.name == formatDebezium || cfg.upsert {
		mode = connectors.Retract
	}
	return connectors.SourceSpec{Factory: factory, Types: ts, Bounded: cfg.boundedLatest, Mode: mode}, nil
}

// AcceptsUpdates implements connectors.SinkConnector: the kafka connector
// appends (use upsert-kafka for updates).
func (Connector) AcceptsUpdates(*connectors.Table) bool { return false }

// NewSink implements connectors.SinkConnector. It refuses settings that
// would break the delivery guarantee.
func (Connector) NewSink(t *connectors.Table, req connectors.SinkRequest) (exec.OperatorFactory, error) {
	cfg, err := parseConfig(t)
	if err != nil {
		return nil, err
	}
	if len(cfg.topics) != 1 {
		return nil, fmt.Errorf("table %s: a kafka sink needs exactly one 'topic' (no list, no 'topic-pattern')", t.Name)
	}
	if cfg.format.name == formatDebezium {
		return nil, fmt.Errorf("table %s: format '%s' is read-only in Sluice (a sink writes 'json', 'csv' or 'raw')", t.Name, formatDebezium)
	}
	if req.Mode != connectors.AppendOnly {
		return nil, fmt.Errorf("table %s: the 'kafka' connector only appends, but the query produces updates %s (use 'upsert-kafka')", t.Name, req.Mode)
	}
	if err := checkDelivery(cfg, req); err != nil {
		return nil, err
	}
	return newSink(cfg, t, req), nil
}

// newSink returns the sink factory of a parsed table.
func newSink(cfg *config, t *connectors.Table, req connectors.SinkRequest) exec.OperatorFactory {
	encFields := func(tcols []int) []field {
		fs := make([]field, len(tcols))
		for i, c := range tcols {
			fs[i] = field{name: t.Schema[c].Name, col: c}
		}
		return fs
	}
	enc := newEncoder(cfg.format, encFields(cfg.valueCols(t)))
	var keyEnc encoder
	if cfg.keyFormat.name != "" {
		keyEnc = newEncoder(cfg.keyFormat, encFields(cfg.keyCols))
	}
	return func(int) (exec.Operator, error) {
		return &sink{cfg: cfg, topic: cfg.topics[0], enc: enc, keyEnc: keyEnc, req: req}, nil
	}
}

// checkDelivery checks the exactly-once settings against the job's
// checkpointing and fills the default transactional id prefix.
func checkDelivery(cfg *config, req connectors.SinkRequest) error {
	if cfg.delivery != deliveryExactlyOnce {
		return nil
	}
	cp := req.Checkpointing
	if !cp.Enabled {
		return fmt.Errorf("table %s: '%s' = 'exactly-once' needs checkpointing: set 'execution.checkpointing.interval' (transactions commit when a checkpoint completes)", cfg.table, optDelivery)
	}
	if !cp.ExactlyOnce {
		return fmt.Errorf("table %s: '%s' = 'exactly-once' needs 'execution.checkpointing.mode' = 'EXACTLY_ONCE'", cfg.table, optDelivery)
	}
	if need := cp.Interval + cp.Timeout + cp.MaxRestartDelay; cfg.txnTimeout < need {
		return fmt.Errorf("table %s: 'properties.transaction.timeout.ms' (%v) is shorter than checkpoint interval + checkpoint timeout + restart delay (%v + %v + %v): "+
			"the broker could abort a transaction before its checkpoint commits it, losing data; raise it (at most the broker's transaction.max.timeout.ms)",
			cfg.table, cfg.txnTimeout, cp.Interval, cp.Timeout, cp.MaxRestartDelay)
	}
	if cfg.txnPrefix == "" {
		if req.JobID == "" {
			return fmt.Errorf("table %s: '%s' = 'exactly-once' needs '%s'", cfg.table, optDelivery, optTxnPrefix)
		}
		cfg.txnPrefix = "sluice-" + req.JobID + "-" + cfg.table
	}
	return nil
}
