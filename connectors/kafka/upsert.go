package kafka

import (
	"fmt"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
)

func init() { connectors.Register(UpsertConnector{}) }

// UpsertConnector is the 'upsert-kafka' connector: a table with a PRIMARY
// KEY kept in a topic as a changelog of keyed records. As a source it reads
// the topic from its earliest offset (or a checkpoint) and turns the
// records into a changelog (see normalize.go): +I for a new key, -U/+U for
// a new value of a present key, -D for a tombstone (a null value) of a
// present key; 'scan.bounded.mode' = 'latest-offset' makes it bounded. It
// relies on Kafka's partitioning by key: all records of a key are in one
// partition. As a sink it writes
// inserts and updates as records keyed by the primary key ('key.format')
// with the row as value ('value.format'), and deletes as tombstones (the
// key with a null value); update-before rows are dropped, since the update
// after them has the same key. Delivery guarantees are the 'kafka' sink's.
type UpsertConnector struct{}

var (
	_ connectors.SinkConnector   = UpsertConnector{}
	_ connectors.SourceConnector = UpsertConnector{}
)

// upsertKnownOptions are Flink's upsert-kafka options that Sluice supports.
var upsertKnownOptions = []string{
	optTopic, optBootstrap, optProperties, optKeyFormat, optValueFormat, optValueInclude,
	optDelivery, optTxnPrefix, optBoundedMode, optDiscovery,
	"key." + optJSONIgnoreErrors, "key." + optJSONFailOnMissing, "key." + optCSVDelimiter,
	"key." + optCSVIgnoreErrors, "key." + optCSVNullLiteral,
	"value." + optJSONIgnoreErrors, "value." + optJSONFailOnMissing, "value." + optCSVDelimiter,
	"value." + optCSVIgnoreErrors, "value." + optCSVNullLiteral,
}

// Name implements connectors.Connector.
func (UpsertConnector) Name() string { return "upsert-kafka" }

// Validate implements connectors.Connector: PRIMARY KEY, 'key.format' and
// 'value.format' are required, 'topic' is a single topic.
func (UpsertConnector) Validate(t *connectors.Table) error {
	cfg, err := parseConfigFor(t, true)
	if err != nil {
		return err
	}
	if len(cfg.topics) != 1 {
		return fmt.Errorf("table %s: 'upsert-kafka' needs exactly one 'topic'", t.Name)
	}
	return nil
}

// MetadataKeys tells the engine that the connector accepts METADATA
// columns (a sink ignores their values).
func (UpsertConnector) MetadataKeys() []string { return MetadataKeys() }

// NewSource implements connectors.SourceConnector: a changelog (Retract
// mode) normalized per key in the source subtask.
func (UpsertConnector) NewSource(t *connectors.Table, req connectors.SourceRequest) (connectors.SourceSpec, error) {
	cfg, err := parseConfigFor(t, true)
	if err != nil {
		return connectors.SourceSpec{}, err
	}
	if len(cfg.topics) != 1 {
		return connectors.SourceSpec{}, fmt.Errorf("table %s: 'upsert-kafka' needs exactly one 'topic'", t.Name)
	}
	return newSource(cfg, t, req)
}

// AcceptsUpdates implements connectors.SinkConnector: every change is
// written as an upsert or a tombstone.
func (UpsertConnector) AcceptsUpdates(*connectors.Table) bool { return true }

// NewSink implements connectors.SinkConnector.
func (UpsertConnector) NewSink(t *connectors.Table, req connectors.SinkRequest) (exec.OperatorFactory, error) {
	cfg, err := parseConfigFor(t, true)
	if err != nil {
		return nil, err
	}
	if len(cfg.topics) != 1 {
		return nil, fmt.Errorf("table %s: 'upsert-kafka' needs exactly one 'topic'", t.Name)
	}
	if err := checkDelivery(cfg, req); err != nil {
		return nil, err
	}
	return newSink(cfg, t, req), nil
}
