package exec

import (
	"fmt"

	"github.com/sluicesql/sluice/exec/types"
)

// Operators with several inputs (joins): the capabilities, their
// validation and the subtask's dispatch by input edge.

// MultiInputOperator is implemented by the first operator of a vertex with
// several input edges that must tell its inputs apart (joins). In a vertex
// with input edges whose first operator implements it, the runtime calls
// ProcessInput(i, b, out) with i the index of the edge in Vertex.Inputs
// that delivered b, instead of Process; the batch's columns are the edge's
// Edge.Types (or Vertex.InTypes). In a source vertex, Process is called
// as usual. Same ownership rules as Process.
// A vertex whose input edges carry different column types must start with
// a MultiInputOperator.
type MultiInputOperator interface {
	Operator
	ProcessInput(input int, b *types.Batch, out Collector) error
}

// EndInputListener is implemented by the first operator of a vertex with
// input edges that acts when one input has ended (e.g. a join over bounded
// inputs emitting what can no longer match). EndInput(i, out) is called
// once per edge i of Vertex.Inputs, when every upstream subtask of that
// edge has sent end of stream, before any checkpoint that this end
// completes; after the last input's EndInput, Finish is called as usual.
// out is the rest of the chain.
type EndInputListener interface {
	EndInput(input int, out Collector) error
}

// edgeTypes returns the column types arriving on edge e of v.
func edgeTypes(v *Vertex, e *Edge) []types.Type {
	if e.Types != nil {
		return e.Types
	}
	return v.InTypes
}

// mixedInputTypes reports whether the input edges of v carry different
// column types (ignoring nullability).
func mixedInputTypes(v *Vertex) bool {
	for i := 1; i < len(v.Inputs); i++ {
		a, b := edgeTypes(v, &v.Inputs[0]), edgeTypes(v, &v.Inputs[i])
		if len(a) != len(b) {
			return true
		}
		for c := range a {
			if !a[c].Equal(b[c]) {
				return true
			}
		}
	}
	return false
}

// checkMultiInput checks that the first operator of v, whose inputs differ
// in types, is a MultiInputOperator, by building one instance with the
// factory (for subtask 0) and closing it.
func checkMultiInput(v *Vertex) error {
	if len(v.Ops) == 0 {
		return fmt.Errorf("%w: vertex %q: inputs of different types need a MultiInputOperator, and the vertex has no operator",
			ErrInvalidGraph, v.Name)
	}
	op, err := v.Ops[0](0)
	if err != nil {
		return fmt.Errorf("vertex %q: create operator 0: %w", v.Name, err)
	}
	if op == nil {
		return fmt.Errorf("vertex %q: create operator 0: factory returned nil", v.Name)
	}
	_, multi := op.(MultiInputOperator)
	if c, ok := op.(Closer); ok {
		if err := c.Close(); err != nil {
			return fmt.Errorf("vertex %q: close operator 0 after checking it: %w", v.Name, err)
		}
	}
	if !multi {
		return fmt.Errorf("%w: vertex %q: inputs of different types need a MultiInputOperator first, not %T",
			ErrInvalidGraph, v.Name, op)
	}
	return nil
}

// processInput feeds a batch from channel i to the MultiInputOperator with
// the index of its edge.
func (st *subtask) processInput(i int, b *types.Batch) error {
	if b.Len() == 0 {
		b.Release()
		return nil
	}
	return st.multi.ProcessInput(st.inputEdge[i], b, st.links[1])
}

// endOfChannel records that channel i ended; when it was the last open
// channel of its edge, the first operator learns that the input ended.
func (st *subtask) endOfChannel(i int) error {
	e := st.inputEdge[i]
	st.edgeOpen[e]--
	if st.edgeOpen[e] > 0 || st.endIn == nil {
		return nil
	}
	if err := st.endIn.EndInput(e, st.links[1]); err != nil {
		return fmt.Errorf("end of input %d of operator 0: %w", e, err)
	}
	return nil
}
