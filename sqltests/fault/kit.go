package fault

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ExitCrash is the exit status of a process stopped by SLUICE_CRASH_AT.
const ExitCrash = 137

// DefaultRunTimeout bounds one child run; a run that takes longer is
// killed and fails the test as hung.
const DefaultRunTimeout = 3 * time.Minute

var build struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the path of a sluice binary: the file named by the
// environment variable SLUICE_BIN if it is set, else one built with
// "go build ./cmd/sluice" from the module that contains the working
// directory, once per test binary (into a directory removed at exit only by
// the OS's temp cleaning: tests of one binary share it). It fails tb when
// the build fails.
func Binary(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() {
		if p := os.Getenv("SLUICE_BIN"); p != "" {
			build.path, build.err = filepath.Abs(p)
			return
		}
		root, err := moduleRoot()
		if err != nil {
			build.err = err
			return
		}
		dir, err := os.MkdirTemp("", "sluice-fault-bin-")
		if err != nil {
			build.err = fmt.Errorf("build sluice: %w", err)
			return
		}
		build.path = filepath.Join(dir, "sluice")
		cmd := exec.Command("go", "build", "-o", build.path, "./cmd/sluice")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/sluice in %s: %w\n%s", root, err, out)
		}
	})
	if build.err != nil {
		tb.Fatal(build.err)
	}
	return build.path
}

// moduleRoot returns the nearest directory at or above the working
// directory that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Sluice runs sluice commands against one state directory.
type Sluice struct {
	tb testing.TB
	// Bin is the sluice binary (see Binary).
	Bin string
	// StateDir is passed as --state-dir to every command.
	StateDir string
	// Config, when set, is passed as --config to every command, so resumed
	// runs get the same initial settings (see WriteConfig).
	Config string
	// Args are more flags for every command, such as "--parallelism", "2".
	Args []string
	// Env is added to the environment of every command.
	Env []string
	// RunTimeout bounds each run (DefaultRunTimeout when zero).
	RunTimeout time.Duration
}

// New returns a Sluice for stateDir (created by sluice when missing).
func New(tb testing.TB, bin, stateDir string) *Sluice {
	return &Sluice{tb: tb, Bin: bin, StateDir: stateDir}
}

// WriteConfig writes settings as a --config file ("key: value" lines) in
// dir and sets s.Config to it.
func (s *Sluice) WriteConfig(dir string, settings map[string]string) {
	s.tb.Helper()
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, settings[k])
	}
	path := filepath.Join(dir, "sluice-config.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		s.tb.Fatalf("write config: %v", err)
	}
	s.Config = path
}

// WriteScript writes sql to a file in dir and returns its path.
func WriteScript(tb testing.TB, dir, name, sql string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(sql), 0o644); err != nil {
		tb.Fatalf("write script: %v", err)
	}
	return path
}

// Exit is how a child run ended.
type Exit struct {
	// Code is the exit status, -1 when the process died of a signal.
	Code int
	// Killed is set when the kit killed the process (SIGKILL).
	Killed bool
	// After is how long the process ran.
	After          time.Duration
	Stdout, Stderr string
}

// String describes e for failure messages, with the end of its stderr.
func (e Exit) String() string {
	how := fmt.Sprintf("exit status %d", e.Code)
	if e.Killed {
		how = "killed by the kit"
	} else if e.Code < 0 {
		how = "died of a signal"
	}
	return fmt.Sprintf("%s after %v; stderr:\n%s", how, e.After.Round(time.Millisecond), tail(e.Stderr, 4000))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// Start starts "sluice run" with the common flags, then args, with env
// added to the environment. The caller must Wait for the process.
func (s *Sluice) Start(env []string, args ...string) (*Process, error) {
	full := []string{"run", "--state-dir", s.StateDir}
	if s.Config != "" {
		full = append(full, "--config", s.Config)
	}
	full = append(full, s.Args...)
	full = append(full, args...)
	cmd := exec.Command(s.Bin, full...)
	cmd.Env = append(append(os.Environ(), s.Env...), env...)
	p := &Process{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.stdout, &p.stderr
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", strings.Join(full, " "), err)
	}
	go func() {
		p.err = cmd.Wait()
		p.after = time.Since(p.start)
		close(p.done)
	}()
	return p, nil
}

// Process is a running sluice child.
type Process struct {
	cmd            *exec.Cmd
	start          time.Time
	stdout, stderr bytes.Buffer
	done           chan struct{}
	err            error
	after          time.Duration
	killed         bool
}

// Wait waits until the process ends; after killAfter (when > 0) or
// timeout (when > 0) it kills it with SIGKILL first. It reports timedOut
// when the timeout fired.
func (p *Process) Wait(killAfter, timeout time.Duration) (e Exit, timedOut bool) {
	var killC, timeoutC <-chan time.Time
	if killAfter > 0 {
		t := time.NewTimer(killAfter - time.Since(p.start))
		defer t.Stop()
		killC = t.C
	}
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timeoutC = t.C
	}
	select {
	case <-p.done:
	case <-killC:
		p.kill()
	case <-timeoutC:
		p.kill()
		timedOut = true
	}
	<-p.done
	e = Exit{Code: p.cmd.ProcessState.ExitCode(), After: p.after, Stdout: p.stdout.String(), Stderr: p.stderr.String()}
	// A kill that lost the race with a normal exit does not count.
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		e.Killed = p.killed
	}
	return e, timedOut
}

func (p *Process) kill() {
	p.killed = true
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
}

// Run runs "sluice run args..." (with env added) to its end and returns
// how it ended; it fails tb when the run cannot start or hangs past the
// run timeout.
func (s *Sluice) Run(env []string, args ...string) Exit {
	s.tb.Helper()
	p, err := s.Start(env, args...)
	if err != nil {
		s.tb.Fatal(err)
	}
	e, timedOut := p.Wait(0, s.timeout())
	if timedOut {
		s.tb.Fatalf("sluice run %s: no end within %v: %s", strings.Join(args, " "), s.timeout(), e)
	}
	return e
}

func (s *Sluice) timeout() time.Duration {
	if s.RunTimeout > 0 {
		return s.RunTimeout
	}
	return DefaultRunTimeout
}

// MustRun runs "sluice run args..." and fails tb unless it exits with 0.
func (s *Sluice) MustRun(args ...string) Exit {
	s.tb.Helper()
	e := s.Run(nil, args...)
	if e.Code != 0 {
		s.tb.Fatalf("sluice run %s: %s", strings.Join(args, " "), e)
	}
	return e
}

// Query runs sql with "sluice run -e sql --format tsv" and returns the
// output lines (one per row, columns separated by tabs), in the order
// printed. Note that "sluice run -e" first resumes, and waits for, the
// jobs the catalog lists as running.
func (s *Sluice) Query(sql string) []string {
	s.tb.Helper()
	e := s.MustRun("-e", sql, "--format", "tsv")
	out := strings.TrimSuffix(e.Stdout, "\n")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// Job is a row of SHOW JOBS.
type Job struct{ ID, Name, Status, Restarts string }

// Jobs returns the jobs of the catalog (SHOW JOBS).
func (s *Sluice) Jobs() []Job {
	s.tb.Helper()
	var jobs []Job
	for _, line := range s.Query("SHOW JOBS") {
		f := strings.Split(line, "\t")
		if len(f) < 5 {
			s.tb.Fatalf("SHOW JOBS: unexpected row %q", line)
		}
		jobs = append(jobs, Job{ID: f[0], Name: f[1], Status: f[2], Restarts: f[4]})
	}
	return jobs
}

// CheckFinished fails tb unless the catalog has at least one job and every
// job is FINISHED.
func (s *Sluice) CheckFinished() {
	s.tb.Helper()
	jobs := s.Jobs()
	if len(jobs) == 0 {
		s.tb.Fatal("SHOW JOBS lists no job")
	}
	for _, j := range jobs {
		if j.Status != "FINISHED" {
			s.tb.Fatalf("job %s (%s) is %s, want FINISHED", j.ID, j.Name, j.Status)
		}
	}
}

// KillPlan says how RunWithKills kills.
type KillPlan struct {
	// Seed seeds the generator of the kill delays.
	Seed uint64
	// Kills is how many runs are killed; the run after the last kill goes
	// to the end.
	Kills int
	// MinDelay and MaxDelay bound the delay, from the start of a run,
	// after which it is killed (uniformly distributed).
	MinDelay, MaxDelay time.Duration
}

// KillReport is what RunWithKills did.
type KillReport struct {
	Seed uint64
	// Delays are the kill delays, in order.
	Delays []time.Duration
	// Runs counts the sluice processes started, Scripts those that ran
	// the script (more than one when a run was killed before it recorded
	// its job).
	Runs, Scripts int
}

// Markers in sluice run's standard error.
const (
	markStarted  = "' started"                 // Job 'job-1' started: ...
	markResumed  = "Resumed "                  // Resumed 1 job(s) from ...
	markNoResume = "No durable jobs to resume" // nothing in the catalog runs
)

// RunWithKills runs script (a file; its jobs must be bounded) to completion
// while killing it plan.Kills times, as the package comment describes,
// then checks that every job is FINISHED. It logs the seed and each kill.
func (s *Sluice) RunWithKills(script string, plan KillPlan) KillReport {
	s.tb.Helper()
	if plan.MinDelay <= 0 || plan.MaxDelay < plan.MinDelay {
		s.tb.Fatalf("kill plan: want 0 < MinDelay <= MaxDelay, got %v, %v", plan.MinDelay, plan.MaxDelay)
	}
	rng := rand.New(rand.NewPCG(plan.Seed, 0x5eed))
	rep := KillReport{Seed: plan.Seed}
	s.tb.Logf("kill plan: seed %d, %d kills after %v..%v", plan.Seed, plan.Kills, plan.MinDelay, plan.MaxDelay)
	// recorded: the script's jobs are known to be in the catalog; unknown
	// after a script run killed before it said so.
	const (
		notStarted = iota
		unknown
		recorded
	)
	phase := notStarted
	for {
		var args []string
		if phase == notStarted {
			args = []string{"-f", script}
			rep.Scripts++
		}
		var delay time.Duration
		if len(rep.Delays) < plan.Kills {
			delay = plan.MinDelay + time.Duration(rng.Int64N(int64(plan.MaxDelay-plan.MinDelay)+1))
		}
		p, err := s.Start(nil, args...)
		if err != nil {
			s.tb.Fatal(err)
		}
		rep.Runs++
		e, timedOut := p.Wait(delay, s.timeout())
		if timedOut {
			s.tb.Fatalf("run %d (seed %d): no end within %v: %s", rep.Runs, plan.Seed, s.timeout(), e)
		}
		what := "resume"
		if args != nil {
			what = "script"
		}
		switch {
		case e.Killed:
			rep.Delays = append(rep.Delays, delay)
			s.tb.Logf("kill %d: run %d (%s) killed after %v%s", len(rep.Delays), rep.Runs, what, delay, restored(e.Stderr))
			switch {
			case strings.Contains(e.Stderr, markStarted) || strings.Contains(e.Stderr, markResumed):
				phase = recorded
			case phase == notStarted:
				phase = unknown
			}
		case e.Code == 0 && phase != recorded && strings.Contains(e.Stderr, markNoResume):
			// The killed script run had not recorded its job: run the script again.
			phase = notStarted
		case e.Code == 0:
			s.tb.Logf("run %d (%s) ended after %v%s; %d kills", rep.Runs, what, e.After.Round(time.Millisecond), restored(e.Stderr), len(rep.Delays))
			s.CheckFinished()
			return rep
		default:
			s.tb.Fatalf("run %d (%s, seed %d, kills so far %v): %s", rep.Runs, what, plan.Seed, rep.Delays, e)
		}
	}
}

// restored returns ", <what the runner logged about its restore>" from a
// run's stderr ("job job-1: restored checkpoint 7 (...)"), or "".
func restored(stderr string) string {
	i := strings.LastIndex(stderr, "restored checkpoint")
	if i < 0 {
		return ""
	}
	line, _, _ := strings.Cut(stderr[i:], "\n")
	return ", " + line
}

// CrashAt runs script with SLUICE_CRASH_AT=step:id, expects it to crash
// there (exit status 137), then resumes with "sluice run" until the jobs
// finish and checks that they are FINISHED.
func (s *Sluice) CrashAt(script, step string, id int64) {
	s.tb.Helper()
	e := s.Run([]string{fmt.Sprintf("SLUICE_CRASH_AT=%s:%d", step, id)}, "-f", script)
	if e.Code != ExitCrash || !strings.Contains(e.Stderr, "SLUICE_CRASH_AT: crashing at "+step) {
		s.tb.Fatalf("SLUICE_CRASH_AT=%s:%d: want exit status %d from the crash point: %s", step, id, ExitCrash, e)
	}
	s.tb.Logf("crashed at %s of checkpoint %d after %v", step, id, e.After.Round(time.Millisecond))
	e = s.MustRun()
	if !strings.Contains(e.Stderr, markResumed) {
		s.tb.Fatalf("resume after the crash resumed nothing: %s", e)
	}
	s.CheckFinished()
}

// PartFiles returns the lines of the committed (visible) part files of a
// filesystem sink directory, and the names of the hidden files (starting
// with '.' or '_') it holds, which a finished exactly-once sink must not
// leave.
func PartFiles(tb testing.TB, dir string) (lines, hidden []string) {
	tb.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatalf("read sink directory: %v", err)
	}
	for _, ent := range ents {
		name := ent.Name()
		if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			hidden = append(hidden, name)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			tb.Fatalf("read part file: %v", err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			tb.Fatalf("part file %s does not end with a newline (torn write?)", name)
		}
		for line := range strings.SplitSeq(strings.TrimSuffix(string(b), "\n"), "\n") {
			if line != "" {
				lines = append(lines, line)
			}
		}
	}
	return lines, hidden
}

// Diff compares two multisets of rows. It returns nil when they are equal,
// else an error counting the rows missing from got and the extra ones
// (present more often in got than in want), with a few of each.
func Diff(want, got []string) error {
	count := map[string]int{}
	for _, r := range want {
		count[r]++
	}
	for _, r := range got {
		count[r]--
	}
	var missing, extra []string
	nMissing, nExtra := 0, 0
	for r, c := range count {
		switch {
		case c > 0:
			nMissing += c
			missing = append(missing, r)
		case c < 0:
			nExtra += -c
			extra = append(extra, r)
		}
	}
	if nMissing == 0 && nExtra == 0 {
		return nil
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return fmt.Errorf("%d rows want, %d got: %d missing (e.g. %q), %d extra (e.g. %q)",
		len(want), len(got), nMissing, first(missing, 5), nExtra, first(extra, 5))
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }
