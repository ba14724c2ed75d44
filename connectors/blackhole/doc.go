// Package blackhole implements the 'blackhole' sink connector, which
// discards every row (of any changelog). It is for benchmarks and for jobs
// run only for their side effects:
//
//	CREATE TABLE sink (id BIGINT, v STRING) WITH ('connector' = 'blackhole');
package blackhole
