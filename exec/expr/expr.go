package expr

import "github.com/sluicesql/sluice/exec/types"

// Expr is a typed, compiled scalar expression evaluated a batch at a time.
//
// Contract: Eval may be called concurrently from several goroutines only on
// distinct Expr values (an Expr may keep scratch space); the planner builds
// one tree per subtask via Clone. Eval reads the input batch and never
// modifies it; it resets out to Type() and fills exactly b.Len() values.
// Errors are runtime failures the query cannot continue after (for example
// a decimal overflow or an invalid CAST in strict contexts) and name the
// expression.
type Expr interface {
	// Type is the result type, fixed at construction.
	Type() types.Type
	// Eval computes the expression for every row of b into out.
	Eval(b *types.Batch, out *types.Vector) error
	// String prints the expression as SQL-like text for EXPLAIN, with
	// column references shown as $index or their name when known.
	String() string
	// Clone returns an independent copy for use by another goroutine.
	Clone() Expr
}
