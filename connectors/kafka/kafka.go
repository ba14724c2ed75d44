package kafka

import (
	"fmt"
	"strings"

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

// metadataKeys are the METADATA columns the source fills, with the type
// class each needs.
var metadataKeys = map[string]types.Class{
	"topic": types.ClassStr, "partition": types.ClassI64, "offset": types.ClassI64,
	"timestamp": types.ClassI64, "timestamp-type": types.ClassStr, "leader-epoch": types.ClassI64,
	"key": types.ClassStr,
}

// NewSource implements connectors.SourceConnector.
func (Connector) NewSource(t *connectors.Table, req connectors.SourceRequest) (connectors.SourceSpec, error) {
	return newSource(t, nil, req)
}

// newSource builds the source spec; meta holds the METADATA key of each
// table column ("" for physical ones, nil for none).
func newSource(t *connectors.Table, meta []string, req connectors.SourceRequest) (connectors.SourceSpec, error) {
	cfg, err := parseConfig(t)
	if err != nil {
		return connectors.SourceSpec{}, err
	}
	cols, ts, err := connectors.ColumnTypes("kafka", t, req.Columns)
	if err != nil {
		return connectors.SourceSpec{}, err
	}
	out := map[int]int{} // table column → batch column
	for j, c := range cols {
		out[c] = j
	}
	var fields []field
	var metas []metaCol
	for c, col := range t.Schema {
		if c < len(meta) && meta[c] != "" {
			key := strings.ToLower(meta[c])
			class, ok := metadataKeys[key]
			if !ok {
				return connectors.SourceSpec{}, fmt.Errorf("table %s: column '%s': unknown kafka metadata key '%s'", t.Name, col.Name, meta[c])
			}
			if col.Type.Class() != class {
				return connectors.SourceSpec{}, fmt.Errorf("table %s: column '%s': metadata '%s' cannot be read as %s", t.Name, col.Name, key, col.Type)
			}
			if j, ok := out[c]; ok {
				metas = append(metas, metaCol{col: j, key: key})
			}
			continue
		}
		j, ok := out[c]
		if !ok {
			if cfg.format.name != formatCSV {
				continue // JSON skips unrequested fields; raw has one column
			}
			j = -1
		}
		fields = append(fields, field{name: col.Name, col: j})
	}
	if len(fields) == 0 { // raw with only metadata requested
		fields = []field{{col: -1}}
	}
	factory := func(int) (exec.Source, error) {
		return &Source{cfg: cfg, fields: fields, meta: metas, types: ts}, nil
	}
	return connectors.SourceSpec{Factory: factory, Types: ts, Bounded: cfg.boundedLatest, Mode: connectors.AppendOnly}, nil
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
	if req.Mode != connectors.AppendOnly {
		return nil, fmt.Errorf("table %s: the 'kafka' connector only appends, but the query produces updates %s (use 'upsert-kafka')", t.Name, req.Mode)
	}
	if err := checkDelivery(cfg, req); err != nil {
		return nil, err
	}
	var fields []field
	for c, col := range t.Schema {
		fields = append(fields, field{name: col.Name, col: c})
	}
	enc := newEncoder(cfg.format, fields)
	return func(int) (exec.Operator, error) {
		return &sink{cfg: cfg, topic: cfg.topics[0], enc: enc, req: req}, nil
	}, nil
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
