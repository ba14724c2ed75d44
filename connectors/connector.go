package connectors

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// Table is what a connector knows of a table: its schema, key and options.
type Table struct {
	Name   string
	Schema types.Schema
	// PrimaryKey holds column indexes of the declared primary key, if any.
	PrimaryKey []int
	// Options are the WITH options, keys lower-cased, 'connector' included.
	Options map[string]string
	// StateDir is the engine's state directory, for connectors that keep
	// files of their own.
	StateDir string
	// Metadata holds, per column of Schema, the key of a METADATA column
	// (`col BIGINT METADATA FROM 'offset'`) or "" for a physical column;
	// nil when the table has no METADATA column. A source fills metadata
	// columns from the records' metadata, not from their payload; a sink
	// does not write them as payload. Connectors that read no metadata
	// never see a non-nil Metadata (the engine refuses such tables).
	Metadata []string
}

// ChangelogMode says which change ops a stream may contain.
type ChangelogMode uint8

// Changelog modes.
const (
	// AppendOnly streams contain only +I.
	AppendOnly ChangelogMode = iota
	// Upsert streams contain +I, +U and -D keyed by a unique key; -U may be
	// present too.
	Upsert
	// Retract streams contain all four ops with full -U before rows.
	Retract
)

func (m ChangelogMode) String() string {
	return [...]string{"[I]", "[I,UA,D]", "[I,UB,UA,D]"}[m]
}

// SourceRequest says what a job wants to read from a table.
type SourceRequest struct {
	// Columns are the table column indexes to produce, in this order
	// (projection pushdown). The source's batches have exactly these columns.
	Columns []int
	// Continuous asks a table that can be read both as a snapshot and as a
	// changelog (built-in tables) for the snapshot followed by changes; when
	// false it reads a bounded snapshot.
	Continuous bool
}

// SourceSpec is a source ready to be started.
type SourceSpec struct {
	Factory exec.SourceFactory
	// Types are the column types of the produced batches.
	Types []types.Type
	// Bounded sources end; the job finishes when all its sources have.
	Bounded bool
	// MaxParallelism caps the useful number of subtasks (0 = no cap), e.g.
	// the number of files of a filesystem source.
	MaxParallelism int
	Mode           ChangelogMode
}

// SinkRequest says what a job writes into a table.
type SinkRequest struct {
	// Mode is the changelog mode of the rows arriving.
	Mode ChangelogMode
	// JobID identifies the writing job.
	JobID string
	// Checkpointing describes how the job takes checkpoints, for sinks that
	// commit at checkpoints and check their settings against it (for
	// example a Kafka transaction timeout). Zero when checkpointing is off.
	Checkpointing CheckpointSettings
}

// CheckpointSettings is what a sink may need to know of the job's
// checkpointing configuration.
type CheckpointSettings struct {
	// Enabled is true when the job takes checkpoints (periodic or final).
	Enabled bool
	// ExactlyOnce is true with execution.checkpointing.mode EXACTLY_ONCE.
	ExactlyOnce bool
	// Interval, Timeout: execution.checkpointing.interval and .timeout.
	Interval, Timeout time.Duration
	// MaxRestartDelay is the longest delay the restart strategy may wait
	// before restarting the job.
	MaxRestartDelay time.Duration
}

// Connector is implemented by every connector.
type Connector interface {
	// Name is the value of the 'connector' option.
	Name() string
	// Validate checks a table's options and schema at CREATE TABLE time and
	// reports unknown or missing options by name.
	Validate(t *Table) error
}

// SourceConnector is implemented by connectors that can be read.
type SourceConnector interface {
	Connector
	NewSource(t *Table, req SourceRequest) (SourceSpec, error)
}

// SinkConnector is implemented by connectors that can be written.
type SinkConnector interface {
	Connector
	// AcceptsUpdates reports whether the table can absorb an updating
	// changelog (for example because it has a primary key).
	AcceptsUpdates(t *Table) bool
	// NewSink returns the factory of the sink operator of each subtask.
	NewSink(t *Table, req SinkRequest) (exec.OperatorFactory, error)
}

// TxnInfo describes a transaction a sink subtask holds: open (collecting
// rows) or pre-committed (waiting for its checkpoint to complete).
type TxnInfo struct {
	Table      string
	Subtask    int
	ID         string // e.g. the Kafka transactional id
	State      string // OPEN or PRE-COMMITTED
	Checkpoint int64  // the checkpoint that pre-committed it (0 while open)
	ProducerID int64
	Epoch      int16
	Records    int64 // records written in it so far
}

// TransactionLister is implemented by connectors whose sinks hold
// transactions across checkpoints: Transactions lists those of job's sink
// subtasks running in this process (SHOW TRANSACTIONS FOR JOB).
type TransactionLister interface {
	Transactions(jobID string) []TxnInfo
}

// SinkParallelizer is implemented by sink connectors that want a fixed
// number of sink subtasks for a table, for example one so that each
// checkpoint is committed in a single transaction that readers see whole
// ('sink.parallelism' in Flink). SinkParallelism returns 0 for no
// preference; the planner then uses the job's parallelism.
type SinkParallelizer interface {
	SinkParallelism(t *Table) int
}

var (
	mu       sync.RWMutex
	registry = map[string]Connector{}
)

// Register adds a connector; it is called from the connector package's init.
// Registering a name twice replaces the earlier connector.
func Register(c Connector) {
	mu.Lock()
	defer mu.Unlock()
	registry[strings.ToLower(c.Name())] = c
}

// Lookup returns the connector registered under name.
func Lookup(name string) (Connector, error) {
	mu.RLock()
	defer mu.RUnlock()
	c, ok := registry[strings.ToLower(name)]
	if !ok {
		names := make([]string, 0, len(registry))
		for n := range registry {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("unknown connector '%s' (available: %s)", name, strings.Join(names, ", "))
	}
	return c, nil
}

// Transactions lists the transactions that job's sinks hold in this
// process, from every registered TransactionLister.
func Transactions(jobID string) []TxnInfo {
	mu.RLock()
	var listers []TransactionLister
	for _, c := range registry {
		if l, ok := c.(TransactionLister); ok {
			listers = append(listers, l)
		}
	}
	mu.RUnlock()
	var out []TxnInfo
	for _, l := range listers {
		out = append(out, l.Transactions(jobID)...)
	}
	return out
}

// CheckOptions returns an error naming the first option in opts that is not
// in known (keys compared lower-case; 'connector' is always allowed) and the
// first of required that is missing.
func CheckOptions(table string, opts map[string]string, known, required []string) error {
	allowed := map[string]bool{"connector": true}
	for _, k := range known {
		allowed[k] = true
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// scan.watermark.* options are handled by the planner for every
		// source (Flink's names), not by connectors.
		if !allowed[k] && !prefixAllowed(k, known) && !strings.HasPrefix(k, "scan.watermark.") {
			ks := append([]string(nil), known...)
			sort.Strings(ks)
			return fmt.Errorf("table %s: unsupported option '%s' for connector '%s' (supported: %s)",
				table, k, opts["connector"], strings.Join(ks, ", "))
		}
	}
	for _, k := range required {
		if _, ok := opts[k]; !ok {
			return fmt.Errorf("table %s: missing required option '%s' for connector '%s'", table, k, opts["connector"])
		}
	}
	return nil
}

// prefixAllowed accepts keys matching a known pattern ending in ".*" or
// containing "<col>", e.g. "fields.*.kind".
func prefixAllowed(k string, known []string) bool {
	for _, p := range known {
		if strings.HasSuffix(p, ".*") && strings.HasPrefix(k, strings.TrimSuffix(p, "*")) {
			return true
		}
		if i := strings.Index(p, ".*."); i >= 0 {
			pre, suf := p[:i+1], p[i+2:]
			if strings.HasPrefix(k, pre) && strings.HasSuffix(k, suf) && len(k) > len(pre)+len(suf) {
				return true
			}
		}
	}
	return false
}

// ColumnTypes returns a copy of the requested column indexes and their
// types in t, for a source honouring SourceRequest.Columns; an index out of
// range is an error naming the connector.
func ColumnTypes(connector string, t *Table, columns []int) ([]int, []types.Type, error) {
	cols := append([]int(nil), columns...)
	ts := make([]types.Type, len(cols))
	for i, c := range cols {
		if c < 0 || c >= len(t.Schema) {
			return nil, nil, fmt.Errorf("%s: column index %d out of range (table has %d columns)", connector, c, len(t.Schema))
		}
		ts[i] = t.Schema[c].Type
	}
	return cols, ts, nil
}
