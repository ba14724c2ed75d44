// Package nexmark holds the Nexmark benchmark in Sluice SQL: ddl.sql (the
// person, auction and bid sources of the 'nexmark' connector, with
// watermarks, and one blackhole sink per query), q0.sql … q22.sql (each an
// INSERT INTO its sink, as defined by the nexmark-flink suite) and
// generator.sql (the generator alone). `sluice bench nexmark` runs them;
// docs/nexmark.md says which queries Sluice runs today and why the others
// do not.
//
// The files are embedded so that the sluice binary carries them:
//
//	script, err := nexmark.Script("q5", nexmark.Params{Events: 1_000_000, Rate: nexmark.DefaultRate, OutputDir: dir})
package nexmark
