// Package planner turns parsed statements into plans: it resolves names and
// types against the catalog, builds a logical plan, infers each node's
// changelog mode, optimises it, and compiles it into an exec.JobGraph.
//
//	parser.Query ──build──▶ logical plan ──optimize──▶ logical plan ──compile──▶ exec.JobGraph
//	                (Scan, Values, Filter,     (predicate pushdown,          (vertices of fused
//	                 Project, Union, Sort,      projection pruning,           operator chains,
//	                 Sink)                      merging)                      exchanges)
//
// Logical nodes are plain structs (plans as data). Expressions inside them
// are compiled exec/expr trees whose column references index the node's
// input schema.
//
// EXPLAIN prints the optimised logical plan with each node's changelog mode
// and the physical plan with parallelism and exchanges:
//
//	== Logical Plan ==
//	Project(a, b + 1) [I]
//	  Filter(a > 10) [I]
//	    Scan(t, columns=[a, b]) [I]
//	== Physical Plan ==
//	Vertex 0: Source: t -> Filter -> Project -> Collect (parallelism 2)
package planner
