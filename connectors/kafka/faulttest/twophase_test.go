package faulttest

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashAt is the SLUICE_CRASH_AT setting of an engine (see checkpoint/crash).
func crashAt(step string, id int) string {
	return "SLUICE_CRASH_AT=" + step + ":" + strconv.Itoa(id)
}

// waitCrash waits for an engine started with crashAt(step, ...) to crash
// there.
func waitCrash(t *testing.T, e *engine, step string) {
	t.Helper()
	select {
	case <-e.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("engine did not crash at %s within 2 min", step)
	}
	if code := e.exitCode(); code != 137 || !strings.Contains(e.output(), "crashing at "+step) {
		t.Fatalf("engine ended with status %d, want a crash at %s:\n%s", code, step, e.output())
	}
}

// TestCrashAtCommitSteps crashes the engine at each step of the two-phase
// commit, at the third checkpoint, while input keeps coming: after the
// sinks pre-committed (after-snapshot: the transactions are flushed and
// recorded in the snapshot, the checkpoint is not complete), after the
// checkpoint completed but before the sinks committed (after-complete:
// recovery must commit them with raw EndTxn requests), and after the sinks
// committed, before the next checkpoint (after-commit: recovery finds
// them committed already). A new engine then resumes the job: the
// read_committed outputs must be exact and no transaction may stay open
// (the last stable offset reaches the high watermark).
func TestCrashAtCommitSteps(t *testing.T) {
	for _, step := range []string{"after-snapshot", "after-complete", "after-commit"} {
		t.Run(step, func(t *testing.T) {
			addr := startBroker(t)
			produceInput(t, addr, 2000)
			feed := startFeeder(t, addr, 2000)
			dir := t.TempDir()
			e := startEngineEnv(t, dir, pipelineScriptOneJob(addr, "100 ms"), crashAt(step, 3))
			waitCrash(t, e, step)
			if step != "after-commit" {
				// The crash left the pre-committed transactions open.
				if o := openTransactions(t, addr, "filtered") + openTransactions(t, addr, "agg"); o == 0 {
					t.Fatalf("no open transaction after a crash at %s", step)
				}
			}
			n := feed.finish(t)
			t.Logf("%d input records", n)
			catchUp(t, addr, dir, "", n)
		})
	}
}

// TestZombieFenced freezes an engine (SIGSTOP), starts a second engine on
// a copy of its state directory (the same job, the same transactional
// ids), lets it make progress, then resumes the frozen one (SIGCONT). The
// old instance must fail — its producers were fenced when the new one
// initialised their ids — without adding a record; it is then killed, as
// a cluster manager would kill a zombie (until then it may in turn fence
// the new instance, which restarts). The outputs must be exact.
func TestZombieFenced(t *testing.T) {
	addr := startBroker(t)
	produceInput(t, addr, 2000)
	feed := startFeeder(t, addr, 2000)
	script := strings.Replace(pipelineScriptOneJob(addr, "100 ms"), "SET 'execution.checkpointing.interval'",
		"SET 'restart-strategy.type' = 'fixed-delay';\nSET 'restart-strategy.fixed-delay.attempts' = '10';\n"+
			"SET 'restart-strategy.fixed-delay.delay' = '1 s';\nSET 'execution.checkpointing.interval'", 1)
	oldDir := t.TempDir()
	old := startEngineEnv(t, oldDir, script)
	waitOutput(t, addr, old, 1000)
	if err := old.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	newDir := t.TempDir() + "/state"
	if out, err := exec.Command("cp", "-a", oldDir, newDir).CombinedOutput(); err != nil {
		t.Fatalf("copy state: %v: %s", err, out)
	}
	seen := len(readCommitted(t, addr, "filtered"))
	nu := startEngineEnv(t, newDir, "")
	waitOutput(t, addr, nu, seen+1000)
	if err := old.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(old.out.String(), " failed: ") {
		select {
		case <-old.done:
			t.Fatalf("the resumed old instance exited with status %d:\n%s", old.exitCode(), old.output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the resumed old instance did not fail within a minute:\n%s", old.out.String())
		}
	}
	if err := old.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	out := old.output()
	if !strings.Contains(out, "PRODUCER_FENCED") && !strings.Contains(out, "INVALID_PRODUCER_EPOCH") {
		t.Fatalf("the old instance failed, but not because it was fenced:\n%s", out)
	}
	t.Logf("old instance after SIGCONT:\n%s", lastLines(out, 3))
	n := feed.finish(t)
	// The old instance added nothing and, holding only ids the new one
	// initialised since (the pool is fixed), fenced none of its
	// transactions: the output is exact.
	awaitThenStop(t, nu, "new instance", func() string {
		if m := filteredExtra(t, addr, n); m != "" {
			t.Fatal(m)
		}
		if m := filteredMismatch(t, addr, n); m != "" {
			return m
		}
		return aggMismatch(t, addr, n)
	})
	t.Logf("exact output; new instance restarts: %q", restarts(nu.output()))
}

// waitOutput waits until topic 'filtered' holds at least n committed
// records, failing if e exits first.
func waitOutput(t *testing.T, addr string, e *engine, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for len(readCommitted(t, addr, "filtered")) < n {
		select {
		case <-e.done:
			t.Fatalf("engine exited with status %d:\n%s", e.exitCode(), e.output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d output records after a minute", n)
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// restarts returns the engine's log lines about restarts after failures.
func restarts(out string) []string {
	var l []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "restarting in") {
			l = append(l, line)
		}
	}
	return l
}

// TestBrokerRestart stops the broker cleanly (SIGTERM) while the job runs
// and starts it again on the same data directory and port: the job rides
// it out (client retries, restarts from the last checkpoint) with exact
// results.
func TestBrokerRestart(t *testing.T) {
	b := startBrokerProc(t, t.TempDir(), 0)
	addr := b.Addr
	produceInput(t, addr, 2000)
	dir := t.TempDir()
	e := startEngine(t, dir, pipelineScriptOneJob(addr, "100 ms"))
	waitOutput(t, addr, e, 500)
	b.Stop(syscall.SIGTERM)
	time.Sleep(500 * time.Millisecond) // the engine sees the broker gone
	b = b.Restart()
	produceInputRange(t, addr, 2000, 4000)
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := e.exitCode(); code != 0 {
		t.Fatalf("engine: exit status %d after SIGTERM:\n%s", code, e.output())
	}
	t.Logf("restarts while the broker was down: %d %q", len(restarts(e.output())), restarts(e.output()))
	catchUp(t, addr, dir, "", 4000)
}

// TestBrokerKilledBeforeCommit crashes the engine after a checkpoint
// completed but before its transactions were committed, then kills the
// broker with SIGKILL (a dev broker aborts open transactions when it
// restarts after a kill; a real Kafka keeps them). The restarted engine
// cannot commit what the checkpoint lists: it must fail loudly with
// possible data loss, not carry on with a gap.
func TestBrokerKilledBeforeCommit(t *testing.T) {
	b := startBrokerProc(t, t.TempDir(), 0)
	produceInput(t, b.Addr, 3000)
	dir := t.TempDir()
	script := noRestarts(pipelineScriptOneJob(b.Addr, "100 ms"))
	e := startEngineEnv(t, dir, script, crashAt("after-complete", 1))
	waitCrash(t, e, "after-complete")
	b.Stop(syscall.SIGKILL)
	b = b.Restart()
	e = startEngine(t, dir, "")
	select {
	case <-e.done:
	case <-time.After(time.Minute):
		t.Fatal("the engine did not fail within a minute")
	}
	if out := e.output(); e.exitCode() == 0 || !strings.Contains(out, "possible data loss") {
		t.Fatalf("engine: exit status %d, want a failure reporting possible data loss:\n%s", e.exitCode(), out)
	}
	t.Logf("engine:\n%s", lastLines(e.output(), 3))
}

// shortTimeoutScript is the pipeline with a 3 s transaction timeout, and
// checkpoint and restart settings that the sink's safety check accepts
// with it (two restarts 200 ms apart).
func shortTimeoutScript(addr string) string {
	s := pipelineScriptOneJob(addr, "100 ms")
	for _, table := range []string{"ft-filtered'", "ft-agg'"} {
		s = strings.Replace(s, table, table+", 'properties.transaction.timeout.ms' = '3000'", 1)
	}
	return strings.Replace(s, "SET 'execution.checkpointing.interval'",
		"SET 'restart-strategy.type' = 'fixed-delay';\nSET 'restart-strategy.fixed-delay.attempts' = '2';\n"+
			"SET 'restart-strategy.fixed-delay.delay' = '200 ms';\n"+
			"SET 'execution.checkpointing.timeout' = '1 s';\nSET 'execution.checkpointing.interval'", 1)
}

// noRestarts sets the restart strategy of a pipeline script's job to none.
func noRestarts(script string) string {
	return strings.Replace(script, "SET 'execution.checkpointing.interval'",
		"SET 'restart-strategy.type' = 'none';\nSET 'execution.checkpointing.interval'", 1)
}

// TestTransactionTimeoutAfterCrash: the engine crashes between checkpoint
// completion and commit and comes back after the transaction timeout; the
// broker has aborted the pre-committed transactions, and the engine must
// say so (possible data loss) rather than carry on with a gap.
func TestTransactionTimeoutAfterCrash(t *testing.T) {
	addr := startBroker(t)
	produceInput(t, addr, 3000)
	dir := t.TempDir()
	e := startEngineEnv(t, dir, shortTimeoutScript(addr), crashAt("after-complete", 1))
	waitCrash(t, e, "after-complete")
	time.Sleep(4500 * time.Millisecond) // past the 3 s transaction timeout
	e = startEngine(t, dir, "")
	select {
	case <-e.done:
	case <-time.After(time.Minute):
		t.Fatal("the engine did not fail within a minute")
	}
	if out := e.output(); e.exitCode() == 0 || !strings.Contains(out, "possible data loss") {
		t.Fatalf("engine: exit status %d, want a failure reporting possible data loss:\n%s", e.exitCode(), out)
	}
	t.Logf("engine:\n%s", lastLines(e.output(), 3))
}

// TestTransactionTimeoutPause freezes a running engine (SIGSTOP) for
// longer than the transaction timeout, then resumes it. Whatever the
// pause hit (an open transaction, a pre-committed one), the outcome must
// be exact output or a failure reporting possible data loss — never a
// silent gap.
func TestTransactionTimeoutPause(t *testing.T) {
	addr := startBroker(t)
	produceInput(t, addr, 2000)
	feed := startFeeder(t, addr, 2000)
	dir := t.TempDir()
	e := startEngine(t, dir, shortTimeoutScript(addr))
	waitOutput(t, addr, e, 1000)
	if err := e.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4500 * time.Millisecond)
	if err := e.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	n := feed.finish(t)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m := filteredMismatch(t, addr, n)
		if m == "" {
			m = aggMismatch(t, addr, n)
		}
		if m == "" {
			t.Log("the job rode out the pause with exact output")
			break
		}
		select {
		case <-e.done:
			out := e.output()
			if !strings.Contains(out, "possible data loss") {
				t.Fatalf("engine exited with status %d, output wrong (%s), no loud error:\n%s", e.exitCode(), m, out)
			}
			t.Logf("the job failed loudly (%s):\n%s", m, lastLines(out, 3))
			return
		case <-time.After(300 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 min, engine still running: %s", m)
		}
	}
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := e.exitCode(); code != 0 {
		t.Fatalf("exit status %d after SIGTERM:\n%s", code, e.output())
	}
}

// TestAtLeastOnceKills: with 'sink.delivery-guarantee' = 'at-least-once'
// a kill -9 may repeat records but never lose one.
func TestAtLeastOnceKills(t *testing.T) {
	addr := startBroker(t)
	produceInput(t, addr, 2000)
	feed := startFeeder(t, addr, 2000)
	script := strings.ReplaceAll(pipelineScriptOneJob(addr, "100 ms"), "'exactly-once'", "'at-least-once'")
	dir := t.TempDir()
	killRepeatedly(t, dir, script, 3, func(k int) time.Duration { return time.Duration(400+300*k) * time.Millisecond })
	n := feed.finish(t)
	e := startEngine(t, dir, "") // resumes the job the kills left recorded
	awaitThenStop(t, e, "final run", func() string {
		if m := filteredMissing(t, addr, n); m != "" {
			return m
		}
		return aggMismatch(t, addr, n)
	})
}
