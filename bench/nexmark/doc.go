// Package nexmark holds the Nexmark benchmark in Sluice SQL: ddl.sql (the
// person, auction and bid sources of the 'nexmark' connector, with
// watermarks, and one blackhole sink per query), q0.sql … q22.sql (each an
// INSERT INTO its sink, as defined by the nexmark-flink suite) and
// generator.sql (the generator alone). `sluice bench nexmark` runs them;
// docs/nexmark.md says which queries Sluice runs today and why the others
// do not.
//
// pg/qN.sql are the same queries written for PostgreSQL (windows with
// date_bin, Flink functions translated; see docs/nexmark.md#correctness):
// TestNexmarkAgainstPostgres compares each query's result in Sluice with
// PostgreSQL's over the same generated events.
//
// The files are embedded so that the sluice binary carries them:
//
//	script, err := nexmark.Script("q5", nexmark.Params{Events: 1_000_000, Rate: nexmark.DefaultRate, OutputDir: dir})
package nexmark
