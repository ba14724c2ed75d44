package session

import (
	"context"
	"time"

	"github.com/sluicesql/sluice/exec/types"
)

// Config configures a Session.
type Config struct {
	// StateDir holds the catalog, built-in tables and job state
	// (default "./sluice-data").
	StateDir string
	// Parallelism is parallelism.default (default: number of CPUs).
	Parallelism int
	// InMemory keeps Badger in memory (tests only); StateDir is then unused.
	InMemory bool
	// Settings are initial SET values (for example from a config file);
	// they are validated like SET.
	Settings map[string]string
	// OnJobFinished, when set, is called with a job's id when the job has
	// processed all its input and committed its results, before its state
	// is deleted (see runner.Spec.OnFinished). It may be called from
	// several goroutines at once.
	OnJobFinished func(id string)
}

// ResultKind says what a statement returned.
type ResultKind uint8

// Result kinds.
const (
	// ResultOK is a statement without rows (DDL, SET, INSERT that started a job).
	ResultOK ResultKind = iota
	// ResultRows is a query; read Rows until it ends.
	ResultRows
)

// Row is one result row with its change op. Bounded query results are +I.
type Row struct {
	Op     types.Op
	Values []types.Datum
}

// RowIterator streams the rows of a query.
//
// Contract: Next blocks until a row is available, the query ends
// (ok = false, err = nil) or ctx is cancelled (err = ctx.Err()); cancelling
// stops only this query. Close stops the query if still running, waits for
// its goroutines and is idempotent. Next and Close are called from one
// goroutine.
type RowIterator interface {
	Next(ctx context.Context) (row Row, ok bool, err error)
	Close() error
}

// Result is what one statement returned.
type Result struct {
	Kind ResultKind
	// Message describes a ResultOK, e.g. "Table 't' created." or
	// "Job 'j-1' started (INSERT INTO s ...)."
	Message string
	// Columns and Rows are set for ResultRows.
	Columns types.Schema
	Rows    RowIterator
	// Bounded reports whether Rows ends by itself.
	Bounded bool
	// Changelog reports whether rows can carry ops other than +I, so a
	// client should show the op column.
	Changelog bool
	// Elapsed is the time the statement took to plan and start.
	Elapsed time.Duration
	// JobID is set when the statement started a job.
	JobID string
}
