package datagen

import (
	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
)

func init() { connectors.Register(Connector{}) }

// Connector is the 'datagen' source connector.
type Connector struct{}

var _ connectors.SourceConnector = Connector{}

// Name implements connectors.Connector.
func (Connector) Name() string { return "datagen" }

// Validate implements connectors.Connector: it checks every option and
// that each 'fields.<col>.*' option names an existing column and suits its
// type and kind.
func (Connector) Validate(t *connectors.Table) error {
	_, err := parseConfig(t)
	return err
}

// NewSource implements connectors.SourceConnector. The produced batches
// hold exactly req.Columns (nil or empty: no columns, rows only); values do
// not depend on the projection. The source is bounded when number-of-rows
// or a sequence column is set; any parallelism is useful (MaxParallelism 0).
func (Connector) NewSource(t *connectors.Table, req connectors.SourceRequest) (connectors.SourceSpec, error) {
	cfg, err := parseConfig(t)
	if err != nil {
		return connectors.SourceSpec{}, err
	}
	cols, ts, err := connectors.ColumnTypes("datagen", t, req.Columns)
	if err != nil {
		return connectors.SourceSpec{}, err
	}
	return connectors.SourceSpec{
		Factory: func(int) (exec.Source, error) { return newSource(cfg, cols), nil },
		Types:   ts,
		Bounded: cfg.total >= 0,
		Mode:    connectors.AppendOnly,
	}, nil
}
