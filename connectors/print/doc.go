// Package print implements the 'print' sink connector: every row is written
// to standard output (or standard error) as Flink's print connector does,
// change op first:
//
//	CREATE TABLE out (id BIGINT, name STRING, note STRING)
//	WITH ('connector' = 'print', 'print-identifier' = 'dbg');
//
//	dbg:1> +I[1, a, NULL]        parallelism > 1: identifier:subtask (1-based)
//	dbg:2> -U[2, b, x]
//	dbg> +U[2, b, y]             parallelism 1: identifier only
//	2> -D[3, c, z]               no identifier, parallelism > 1
//	+I[4, d, NULL]               neither
//
// Values print as SQL results show them (types.Datum.String): NULL,
// TRUE/FALSE, numbers, unquoted strings, ISO dates and timestamps. The sink
// accepts every changelog. Subtasks share the output: each batch is written
// in one piece under a lock, so lines never interleave.
package print
