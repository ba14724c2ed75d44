// Package ops holds Sluice's stateless and bounded operators: Filter,
// Project, Sort, Limit, the Values source and the Collect and Discard sinks.
//
// Each operator is a plain struct usable directly (its exported fields are
// its plan), plus a factory function that builds one instance per subtask
// for a JobGraph, cloning expressions so that no two goroutines share one:
//
//	g := &exec.JobGraph{Vertices: []exec.Vertex{{
//	    Name: "Values → Filter → Collect", Parallelism: 1,
//	    Source:  ops.ValuesFactory(rows),
//	    InTypes: ts,
//	    Ops: []exec.OperatorFactory{
//	        ops.FilterFactory(cond),
//	        ops.CollectFunc(func(b *types.Batch) error { ...; b.Release(); return nil }),
//	    },
//	}}}
//
// Operators follow exec.Operator's contract: one goroutine per instance, and
// Process owns the batch it is given (it passes it on or releases it).
package ops
