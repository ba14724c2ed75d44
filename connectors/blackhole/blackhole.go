package blackhole

import (
	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

func init() { connectors.Register(Connector{}) }

// Connector is the 'blackhole' sink connector. It takes no options.
type Connector struct{}

var _ connectors.SinkConnector = Connector{}

// Name implements connectors.Connector.
func (Connector) Name() string { return "blackhole" }

// Validate implements connectors.Connector: any option but 'connector' is
// an error.
func (Connector) Validate(t *connectors.Table) error {
	return connectors.CheckOptions(t.Name, t.Options, nil, nil)
}

// AcceptsUpdates implements connectors.SinkConnector: every op is discarded.
func (Connector) AcceptsUpdates(*connectors.Table) bool { return true }

// NewSink implements connectors.SinkConnector.
func (Connector) NewSink(*connectors.Table, connectors.SinkRequest) (exec.OperatorFactory, error) {
	return func(int) (exec.Operator, error) { return sink{}, nil }, nil
}

// sink releases every batch it is given; it is stateless, so one value may
// serve any number of subtasks.
type sink struct{}

// Process implements exec.Operator.
func (sink) Process(b *types.Batch, _ exec.Collector) error {
	b.Release()
	return nil
}
