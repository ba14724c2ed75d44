package builtin

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// Name is the connector name: "builtin".
func (s *Store) Name() string { return "builtin" }

// Validate accepts a table without WITH options (or with only
// 'connector' = 'builtin'): built-in tables have nothing to configure.
func (s *Store) Validate(t *connectors.Table) error {
	keys := make([]string, 0, len(t.Options))
	for k, v := range t.Options {
		if k == "connector" && strings.EqualFold(v, "builtin") {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		return fmt.Errorf("table %s: a built-in table (CREATE TABLE without a connector) accepts no WITH options, got '%s'",
			t.Name, strings.Join(keys, "', '"))
	}
	for _, c := range t.PrimaryKey {
		if c < 0 || c >= len(t.Schema) {
			return fmt.Errorf("table %s: primary key column %d out of range", t.Name, c)
		}
	}
	return nil
}

// AcceptsUpdates reports whether the table can absorb an updating
// changelog: only with a primary key (upserts by key).
func (s *Store) AcceptsUpdates(t *connectors.Table) bool { return len(t.PrimaryKey) > 0 }

// NewSource reads the table named t.Name (a built-in table or a
// materialized view). t.Schema must be the stored columns and t.PrimaryKey
// its key, the same for every reader and writer of the table;
// req.Columns index t.Schema.
//
// req.Continuous = false: a bounded snapshot (one consistent Badger read
// per subtask), only +I, mode AppendOnly. req.Continuous = true: the
// snapshot as +I followed by the table's effective changelog, unbounded,
// mode Retract (every update and delete carries the full previous row, so
// it is a complete retract stream; it is also a valid upsert stream when
// the table has a primary key).
//
// Rows are split over subtasks by their routing hash, state.HashColumns of
// the primary key (all columns without one), with state.HashOwner(hash,
// MaxParallelism, Parallelism) choosing the subtask, for the snapshot and
// for changes alike: each row goes to exactly one subtask, and all
// versions of a key to the same one, in order. Without a primary key this
// is the partitioning a hash exchange on all columns would produce; with
// one, a hash exchange on the key.
func (s *Store) NewSource(t *connectors.Table, req connectors.SourceRequest) (connectors.SourceSpec, error) {
	id, err := s.TableID(t.Name)
	if err != nil {
		return connectors.SourceSpec{}, err
	}
	ts := t.Schema.Types()
	out := make([]types.Type, len(req.Columns))
	for i, c := range req.Columns {
		if c < 0 || c >= len(ts) {
			return connectors.SourceSpec{}, fmt.Errorf("table %s: column %d out of range", t.Name, c)
		}
		out[i] = ts[c]
	}
	if _, err := s.table(id, t.Name, ts, t.PrimaryKey); err != nil {
		return connectors.SourceSpec{}, err
	}
	cols := append([]int(nil), req.Columns...)
	pk := append([]int(nil), t.PrimaryKey...)
	mode := connectors.AppendOnly
	if req.Continuous {
		mode = connectors.Retract
	}
	return connectors.SourceSpec{
		Factory: func(subtask int) (exec.Source, error) {
			return &source{s: s, id: id, name: t.Name, types: ts, pk: pk, cols: cols, continuous: req.Continuous,
				subtask: subtask}, nil
		},
		Types:   out,
		Bounded: !req.Continuous,
		Mode:    mode,
	}, nil
}

// NewSink writes into the table named t.Name; the operator emits nothing.
// t.Schema and t.PrimaryKey as for NewSource.
//
// A table with a primary key, or any table written by a job without
// checkpoints, gets each batch applied with Apply (one atomic transaction,
// see Apply) as it arrives: rows are visible as soon as Process returns and
// Finish and Close have nothing to flush. A table without a primary key
// written by a job with checkpoints is written exactly-once through a
// staging area (see sink).
func (s *Store) NewSink(t *connectors.Table, req connectors.SinkRequest) (exec.OperatorFactory, error) {
	id, err := s.TableID(t.Name)
	if err != nil {
		return nil, err
	}
	ts := t.Schema.Types()
	pk := append([]int(nil), t.PrimaryKey...)
	if _, err := s.table(id, t.Name, ts, pk); err != nil {
		return nil, err
	}
	return func(subtask int) (exec.Operator, error) {
		return &sink{s: s, id: id, name: t.Name, types: ts, pk: pk, jobID: req.JobID, subtask: subtask}, nil
	}, nil
}

var (
	_ connectors.SourceConnector = (*Store)(nil)
	_ connectors.SinkConnector   = (*Store)(nil)
)
