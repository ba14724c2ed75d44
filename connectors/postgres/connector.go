package postgres

import (
	"fmt"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
)

func init() { connectors.Register(&Connector{}) }

// Connector is the 'postgres' sink connector.
type Connector struct{}

var _ connectors.SinkConnector = (*Connector)(nil)

// Name implements connectors.Connector.
func (*Connector) Name() string { return "postgres" }

// Validate implements connectors.Connector: it checks the options and that
// every column type has a PostgreSQL counterpart. The database is not
// contacted; the table is checked when a job starts.
func (*Connector) Validate(t *connectors.Table) error {
	_, err := parseOptions(t)
	return err
}

// AcceptsUpdates implements connectors.SinkConnector: updates and deletes
// need a primary key to address rows by.
func (*Connector) AcceptsUpdates(t *connectors.Table) bool { return len(t.PrimaryKey) > 0 }

// SinkParallelism implements connectors.SinkParallelizer: 'sink.parallelism'
// when set; else one subtask in exactly-once mode, so that each checkpoint
// is applied in one Postgres transaction and readers never see part of it;
// else no preference.
func (*Connector) SinkParallelism(t *connectors.Table) int {
	c, err := parseOptions(t)
	switch {
	case err != nil:
		return 0 // NewSink reports the error
	case c.parallelism > 0:
		return c.parallelism
	case c.exactlyOnce:
		return 1
	}
	return 0
}

// NewSink implements connectors.SinkConnector.
func (*Connector) NewSink(t *connectors.Table, req connectors.SinkRequest) (exec.OperatorFactory, error) {
	cfg, err := parseOptions(t)
	if err != nil {
		return nil, err
	}
	if req.Mode != connectors.AppendOnly && len(cfg.primaryKey) == 0 {
		return nil, fmt.Errorf("table %s: the query produces updates (%v) but the table has no primary key: declare PRIMARY KEY (...) NOT ENFORCED matching the Postgres table's key",
			t.Name, req.Mode)
	}
	return func(int) (exec.Operator, error) {
		return &sink{cfg: cfg, jobID: req.JobID}, nil
	}, nil
}

// RedactOptions returns a copy of a table's options with the password of
// 'url' replaced, for SHOW CREATE TABLE and logs. (The catalog can find it
// by type assertion: interface{ RedactOptions(map[string]string) map[string]string }.)
func (*Connector) RedactOptions(opts map[string]string) map[string]string {
	out := make(map[string]string, len(opts))
	for k, v := range opts {
		out[k] = v
	}
	if u, ok := out[optURL]; ok {
		out[optURL] = redactDSN(u)
	}
	return out
}
