// Package exec runs physical streaming plans.
//
// A running job is a graph of vertices. Each vertex is a chain of operators
// fused into one goroutine per subtask, fed by a source or by exchanges from
// upstream vertices:
//
//	source subtask 0 ─┐  forward/hash/broadcast/single  ┌─▶ subtask 0: op → op → sink
//	source subtask 1 ─┴──────── bounded channels ───────┴─▶ subtask 1: op → op → sink
//
// Every edge carries one Message type: a batch of rows with change ops, a
// barrier, a watermark, or end of stream. Operators implement one required
// method (Process) and optional capabilities found by type assertion
// (Opener, Finisher, WatermarkHandler, Snapshotter, CheckpointListener,
// Closer; MultiInputOperator and EndInputListener for operators such as
// joins that tell their inputs apart). The runtime, not the operator,
// aligns barriers across inputs. Operators keep keyed state in
// TaskContext.State (package state) under StateNamespace.
//
// exec never imports planner/ or parser/: plans arrive already compiled into
// a JobGraph of operator constructors.
package exec
