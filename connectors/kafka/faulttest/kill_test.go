package faulttest

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// envKills sets the number of kills of TestKill9 (default 5; the long
// form uses 25).
const envKills = "SLUICE_KAFKA_KILLS"

// envSeed sets the seed of the kill delays (default: from the clock; the
// test logs it for a replay).
const envSeed = "SLUICE_KAFKA_SEED"

// engine is a child engine process on one state directory.
type engine struct {
	t     *testing.T
	dir   string
	cmd   *exec.Cmd
	out   syncBuffer
	done  chan struct{}
	state *os.ProcessState
}

func startEngine(t *testing.T, dir, script string) *engine {
	t.Helper()
	return startEngineEnv(t, dir, script)
}

// startEngineEnv is startEngine with extra environment variables (such as
// SLUICE_CRASH_AT=step:id). The test's cleanup kills an engine still running.
func startEngineEnv(t *testing.T, dir, script string, env ...string) *engine {
	t.Helper()
	e := &engine{t: t, dir: dir, done: make(chan struct{})}
	e.cmd = exec.Command(os.Args[0], "-test.run=^$")
	e.cmd.Env = append(append(os.Environ(), envEngine+"="+dir, envScript+"="+script), env...)
	e.cmd.Stdout, e.cmd.Stderr = &e.out, &e.out
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = e.cmd.Wait()
		e.state = e.cmd.ProcessState
		close(e.done)
	}()
	t.Cleanup(func() {
		_ = e.cmd.Process.Signal(syscall.SIGCONT)
		_ = e.cmd.Process.Signal(syscall.SIGKILL)
		<-e.done
	})
	return e
}

// output returns what the engine wrote so far (only once it exited).
func (e *engine) output() string {
	<-e.done
	return e.out.String()
}

// feeder keeps writing input records, 500 at a time, until finish.
type feeder struct {
	stop chan struct{}
	res  chan feedResult
}

type feedResult struct {
	n   int
	err error
}

// startFeeder writes input records from record from on.
func startFeeder(t *testing.T, addr string, from int) *feeder {
	t.Helper()
	f := &feeder{stop: make(chan struct{}), res: make(chan feedResult)}
	cl := newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	go func() {
		i := from
		for {
			select {
			case <-f.stop:
				f.res <- feedResult{i, nil}
				return
			case <-time.After(20 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			err := produceRange(ctx, cl, i, i+500)
			cancel()
			if err != nil {
				<-f.stop
				f.res <- feedResult{i, err}
				return
			}
			i += 500
		}
	}()
	return f
}

// finish stops the feeder and returns how many input records there are.
func (f *feeder) finish(t *testing.T) int {
	t.Helper()
	close(f.stop)
	r := <-f.res
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.n
}

// catchUp runs an engine on dir (with script, if not "") until both
// output topics hold the results of n input records and no transaction is
// open, then stops it with SIGTERM and checks the outputs once more.
func catchUp(t *testing.T, addr, dir, script string, n int, env ...string) {
	t.Helper()
	e := startEngineEnv(t, dir, script, env...)
	awaitThenStop(t, e, "final run", func() string {
		if m := filteredMismatch(t, addr, n); m != "" {
			return m
		}
		return aggMismatch(t, addr, n)
	})
	checkFiltered(t, addr, n)
	checkAgg(t, addr, n)
}

// syncBuffer is a bytes.Buffer safe for a writer and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// exitCode waits for the process and returns its exit status.
func (e *engine) exitCode() int {
	<-e.done
	return e.state.ExitCode()
}

// TestKill9 runs the pipeline in a child engine and kills it with SIGKILL
// at random moments, resuming it each time from its state directory, then
// lets it finish: a read_committed consumer must see exactly the records
// of a failure-free run (checkFiltered) and the right last value per key
// (checkAgg), with no transaction left open.
func TestKill9(t *testing.T) {
	kills := 5
	if v := os.Getenv(envKills); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s: %v", envKills, err)
		}
		kills = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(envSeed); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", envSeed, err)
		}
		seed = n
	}
	t.Logf("seed %d (replay with %s=%d), %d kills", seed, envSeed, seed, kills)
	rng := rand.New(rand.NewPCG(seed, seed))

	addr := startBroker(t)
	// Input keeps coming while the engine is killed and resumed; the job's
	// source is unbounded.
	produceInput(t, addr, 2000)
	feed := startFeeder(t, addr, 2000)
	script := pipelineScriptOneJob(addr, "100 ms")
	dir := t.TempDir()
	killRepeatedly(t, dir, script, kills, randomDelay(rng))
	n := feed.finish(t)
	t.Logf("%d input records", n)

	// The last run resumes the job (the loop ends with a recorded job),
	// catches up with the input, and is stopped cleanly.
	catchUp(t, addr, dir, "", n)
}

// killRepeatedly runs the engine on dir kills times, killing run k with
// SIGKILL after delay(k). The first run gets script; later
// ones resume the job, except after a kill that came before the job was
// recorded (the engine then finds nothing to resume), when script runs
// again.
func killRepeatedly(t *testing.T, dir, script string, kills int, delay func(kill int) time.Duration) {
	t.Helper()
	needScript := true
	for done := 0; done < kills; {
		s := ""
		if needScript {
			s = script
		}
		e := startEngine(t, dir, s)
		wait := delay(done)
		select {
		case <-e.done:
			if code := e.exitCode(); code != exitNothingToResume {
				t.Fatalf("engine exited with status %d before kill %d:\n%s", code, done+1, e.out.String())
			}
			needScript = true
			continue
		case <-time.After(wait):
		}
		if err := e.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
		if code := e.exitCode(); code != -1 && code != exitNothingToResume {
			t.Fatalf("engine exited with status %d at kill %d:\n%s", code, done+1, e.out.String())
		}
		done++
		t.Logf("kill %d after %v", done, wait)
		needScript = false
	}
}

// randomDelay returns kill delays of 0.2–1.5 s drawn from rng.
func randomDelay(rng *rand.Rand) func(int) time.Duration {
	return func(int) time.Duration { return time.Duration(200+rng.IntN(1300)) * time.Millisecond }
}

// awaitThenStop waits (up to 2 min) until mismatch reports nothing, failing
// if engine e exits first, then stops e with SIGTERM and expects status 0.
// what names the engine in messages.
func awaitThenStop(t *testing.T, e *engine, what string, mismatch func() string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for m := mismatch(); m != ""; m = mismatch() {
		select {
		case <-e.done:
			t.Fatalf("%s exited with status %d (%s):\n%s", what, e.exitCode(), m, e.output())
		case <-time.After(300 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: after 2 min: %s", what, m)
		}
	}
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := e.exitCode(); code != 0 {
		t.Fatalf("%s: exit status %d after SIGTERM:\n%s", what, code, e.output())
	}
}
