package filesystem

import (
	"context"
	"fmt"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

func init() { connectors.Register(Connector{}) }

// Connector is the 'filesystem' connector: a bounded source and an
// append-only sink of JSON-lines or CSV files.
type Connector struct{}

var (
	_ connectors.SourceConnector = Connector{}
	_ connectors.SinkConnector   = Connector{}
)

// Name implements connectors.Connector.
func (Connector) Name() string { return "filesystem" }

// Validate implements connectors.Connector. It checks the options only: the
// path need not exist yet (a sink creates it).
func (Connector) Validate(t *connectors.Table) error {
	_, err := parseConfig(t)
	return err
}

// NewSource implements connectors.SourceConnector. It lists the files now,
// so MaxParallelism is the number of files (1 when there are none); the
// source is bounded and append-only. Batches hold exactly req.Columns (nil
// or empty: rows without columns); values of other columns are skipped
// without being checked.
func (Connector) NewSource(t *connectors.Table, req connectors.SourceRequest) (connectors.SourceSpec, error) {
	cfg, err := parseConfig(t)
	if err != nil {
		return connectors.SourceSpec{}, err
	}
	cols, ts, err := connectors.ColumnTypes("filesystem", t, req.Columns)
	if err != nil {
		return connectors.SourceSpec{}, err
	}
	files, err := listFiles(cfg.path)
	if err != nil {
		return connectors.SourceSpec{}, err
	}
	schema := append(types.Schema(nil), t.Schema...)
	factory := func(int) (exec.Source, error) {
		a := &arena{}
		var dec recordDecoder
		if cfg.format == formatCSV {
			dec = newCSVDecoder(schema, cols, cfg.csv, a)
		} else {
			dec = newJSONDecoder(schema, cols, cfg.json.failOnMissing, a)
		}
		return &Source{cfg: cfg, all: files, dec: dec, ctx: context.Background()}, nil
	}
	return connectors.SourceSpec{
		Factory:        factory,
		Types:          ts,
		Bounded:        true,
		MaxParallelism: max(len(files), 1),
		Mode:           connectors.AppendOnly,
	}, nil
}

// AcceptsUpdates implements connectors.SinkConnector: part files are
// append-only, so the sink takes inserts only.
func (Connector) AcceptsUpdates(*connectors.Table) bool { return false }

// NewSink implements connectors.SinkConnector. Each subtask writes its own
// part files into the directory 'path' (created when missing).
func (Connector) NewSink(t *connectors.Table, req connectors.SinkRequest) (exec.OperatorFactory, error) {
	cfg, err := parseConfig(t)
	if err != nil {
		return nil, err
	}
	if req.Mode != connectors.AppendOnly {
		return nil, fmt.Errorf("filesystem sink of table %s accepts only inserts, not a %s changelog", t.Name, req.Mode)
	}
	schema := append(types.Schema(nil), t.Schema...)
	return func(subtask int) (exec.Operator, error) {
		return newSink(cfg, schema, req.JobID, subtask), nil
	}, nil
}
