package exec

import "github.com/sluicesql/sluice/exec/types"

// ExchangeKind says how the rows of an upstream vertex's subtasks are
// distributed to the subtasks of a downstream vertex.
type ExchangeKind uint8

// Exchange kinds.
const (
	// Forward sends subtask i's output to subtask i; both sides must have
	// the same parallelism.
	Forward ExchangeKind = iota
	// Hash sends each row to the subtask owning the key group of its key
	// columns (Edge.KeyCols).
	Hash
	// Broadcast sends every row to every downstream subtask.
	Broadcast
	// Single sends everything to downstream subtask 0 (parallelism 1).
	Single
	// Rebalance spreads batches round-robin over the downstream subtasks.
	Rebalance
)

func (k ExchangeKind) String() string {
	return [...]string{"FORWARD", "HASH", "BROADCAST", "SINGLE", "REBALANCE"}[k]
}

// Edge connects an upstream vertex to a downstream one.
type Edge struct {
	// From is the index of the upstream vertex in JobGraph.Vertices.
	From     int
	Exchange ExchangeKind
	// KeyCols are the columns hashed by a Hash exchange.
	KeyCols []int
	// Types are the column types arriving on this edge; nil means the
	// downstream vertex's InTypes. Edges of one vertex with different
	// types need a MultiInputOperator first in the vertex's chain.
	Types []types.Type
}

// Vertex is a chain of operators run as Parallelism subtasks. A vertex has
// either a Source or at least one input edge. Every input delivers rows with
// the vertex's InTypes (several inputs are unioned) unless the first operator
// implements MultiInputOperator, which gets each batch with the index of
// its edge and may take edges of different types (Edge.Types). Run checks
// that a vertex whose edges differ in types starts with a
// MultiInputOperator by building (and closing) one instance of its first
// operator with the factory.
type Vertex struct {
	// Name is shown in EXPLAIN, errors and metrics, e.g. "Source: datagen(t)".
	Name        string
	Parallelism int
	Source      SourceFactory
	Inputs      []Edge
	// InTypes are the column types entering the chain (the source's types
	// for a source vertex).
	InTypes []types.Type
	// Ops is the operator chain; the last operator of a vertex without
	// downstream vertices is a sink.
	Ops []OperatorFactory
	// OutTypes are the column types leaving the chain.
	OutTypes []types.Type
	// Alignment, for a source vertex, puts its subtasks in a watermark
	// alignment group (nil: none).
	Alignment *WatermarkAlignment
}

// JobGraph is a compiled physical plan. Vertices are in topological order:
// every edge points from a lower index to a higher one.
type JobGraph struct {
	Vertices []Vertex
	// MaxParallelism is the number of key groups (default 128).
	MaxParallelism int
}
