// Package types holds Sluice's value model: SQL types, typed column vectors,
// batches of rows with change operations, and the scalar Datum used where a
// single value is handled outside the hot path (literals, keys, results).
//
// Physical layout. Every SQL type is stored in one of three physical classes:
//
//	class  Go slice      SQL kinds
//	I64    []int64       BOOLEAN (0/1), TINYINT..BIGINT, DECIMAL (scaled by 10^scale),
//	                     DATE (days since 1970-01-01), TIME (µs since midnight),
//	                     TIMESTAMP, TIMESTAMP_LTZ (µs since 1970-01-01 00:00:00 UTC)
//	F64    []float64     FLOAT, DOUBLE
//	Str    []string      CHAR, VARCHAR, STRING/TEXT, BYTES/VARBINARY
//
// A Batch is columnar: one Vector per column plus one Op per row:
//
//	Ops:   +I   +I   -U   +U
//	col0: [ 1    2    3    3  ]   Vector{I64: ...}
//	col1: [ "a"  "b"  "c"  "d"]   Vector{Str: ...}
//
// Nulls are a []bool beside the values (nil when the vector has none); the
// value slot of a NULL holds the zero value.
package types
