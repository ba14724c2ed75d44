// Package fault is a kit for fault tests that run Sluice as a child
// process and crash it: kill -9 at random moments, or a crash injected at a
// named step of the checkpoint protocol (package checkpoint/crash), then
// resume the job from its state directory until it finishes, and compare
// its results with a failure-free run.
//
// The kit is used from tests (it takes a testing.TB and fails it on any
// unexpected outcome):
//
//	bin := fault.Binary(t)                      // go build ./cmd/sluice, once per test binary
//	s := fault.New(t, bin, t.TempDir())         // one state directory
//	s.MustRun("-f", "setup.sql")                // run to completion, exit 0
//	rep := s.RunWithKills(script, fault.KillPlan{Seed: seed, Kills: 5, ...})
//	rows := s.Query("SELECT k, cnt FROM agg")   // sluice run -e ... --format tsv
//
// RunWithKills starts "sluice run -f script", kills it with SIGKILL after
// a random delay drawn from the plan's seeded generator, then resumes with
// "sluice run" (no script) and kills again, Kills times; the last run goes
// to the end. A run killed before it recorded its job leaves nothing to
// resume: the kit notices ("No durable jobs to resume") and runs the
// script again. The seed and every kill delay are logged, so a failure can
// be replayed with the same seed (timing still varies from run to run, so
// a replay is likely, not certain, to fail the same way). CrashAt runs a
// script with SLUICE_CRASH_AT=step:id, expects exit status 137 and resumes
// to completion. Both check at the end that the catalog lists every job as
// FINISHED.
//
// The sluice binary comes from "go build" of the module that holds the
// test (found by walking up from the working directory to go.mod), or from
// the file named by the environment variable SLUICE_BIN when it is set.
//
// The tests of this package are issue 4's fault tests; see the "Fault
// tests" section of docs/checkpoints.md for the commands.
package fault
