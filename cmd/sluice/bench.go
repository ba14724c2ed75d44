package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	nexmarksql "github.com/sluicesql/sluice/bench/nexmark"
	"github.com/sluicesql/sluice/planner/session"
)

const benchSynopsis = "sluice bench nexmark --query qN|q1,q2,...|all|generator --events N [--parallelism P] [--checkpoint-interval D] [--rate R] [--cpuprofile FILE] [--memprofile FILE] [--memory-limit MiB]"

// cmdBench dispatches "sluice bench <suite>"; nexmark is the only suite.
func cmdBench(args []string, std stdio) int {
	if len(args) == 0 || args[0] != "nexmark" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprintf(std.err, "Usage:\n  %s\n", benchSynopsis)
			return exitOK
		}
		fmt.Fprintf(std.err, "sluice bench: expected a benchmark suite (nexmark)\n\nUsage:\n  %s\n", benchSynopsis)
		return exitUsage
	}
	return cmdBenchNexmark(args[1:], std)
}

// benchOpts are the flags of sluice bench nexmark.
type benchOpts struct {
	queries     []string
	events      int64
	parallelism int
	interval    time.Duration
	rate        int64
	cpuProfile  string
	memProfile  string
	memLimitMiB int64
}

// defaultBenchMemoryLimitMiB is the Go runtime's soft memory limit
// (debug.SetMemoryLimit) of a query run unless --memory-limit or GOMEMLIMIT
// says otherwise: the GC works harder as the heap nears it, which keeps
// the peak RSS under the 1 GiB target with room for Badger's off-heap
// tables and the runtime's own overhead.
const defaultBenchMemoryLimitMiB = 768

// cmdBenchNexmark runs Nexmark queries into blackhole sinks and prints, per
// query, "query=qN events=N seconds=S events_per_sec=R cpu_seconds=C
// peak_rss_mb=M". Several queries (a list or "all") run each in a child
// process of this binary, so that peak RSS is each query's own.
func cmdBenchNexmark(args []string, std stdio) int {
	fs := flag.NewFlagSet("bench nexmark", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() {
		fmt.Fprintf(std.err, "Usage:\n  %s\n\nFlags:\n", benchSynopsis)
		fs.PrintDefaults()
	}
	query := fs.String("query", "", "`qN`, a comma-separated list, all (q0 … q22) or generator (the generator alone)")
	var o benchOpts
	fs.Int64Var(&o.events, "events", 10_000_000, "number of events of all kinds (events.num)")
	fs.IntVar(&o.parallelism, "parallelism", runtime.NumCPU(), "parallelism of the job")
	fs.DurationVar(&o.interval, "checkpoint-interval", 10*time.Second, "exactly-once checkpoint interval (0 disables checkpoints)")
	fs.Int64Var(&o.rate, "rate", nexmarksql.DefaultRate, "event-time rate of the generator in events/s (first-event.rate)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the query to `FILE` (one query only)")
	fs.StringVar(&o.memProfile, "memprofile", "", "write a heap profile of the query, taken when its live heap peaked, to `FILE` (one query only)")
	fs.Int64Var(&o.memLimitMiB, "memory-limit", defaultBenchMemoryLimitMiB, "soft memory limit of the Go runtime in `MiB` (debug.SetMemoryLimit; 0: none; GOMEMLIMIT, when set, wins)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	usageErr := func(msg string) int {
		fmt.Fprintf(std.err, "sluice bench nexmark: %s\n", msg)
		fs.Usage()
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return usageErr(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	case *query == "":
		return usageErr("--query is required")
	case o.events <= 0:
		return usageErr(fmt.Sprintf("--events must be positive, got %d", o.events))
	case o.parallelism < 1:
		return usageErr(fmt.Sprintf("--parallelism must be at least 1, got %d", o.parallelism))
	case o.rate <= 0:
		return usageErr(fmt.Sprintf("--rate must be positive, got %d", o.rate))
	case o.memLimitMiB < 0:
		return usageErr(fmt.Sprintf("--memory-limit must not be negative, got %d", o.memLimitMiB))
	case o.interval < 0:
		return usageErr(fmt.Sprintf("--checkpoint-interval must not be negative, got %s", o.interval))
	}
	if *query == "all" {
		o.queries = nexmarksql.Queries()
	} else {
		for q := range strings.SplitSeq(*query, ",") {
			q = strings.TrimSpace(q)
			if !nexmarksql.Known(q) {
				return usageErr(fmt.Sprintf("unknown query %q (q0 … q22, all or generator)", q))
			}
			o.queries = append(o.queries, q)
		}
	}
	if len(o.queries) > 1 && o.cpuProfile != "" {
		return usageErr("--cpuprofile takes a single query")
	}
	if len(o.queries) > 1 && o.memProfile != "" {
		return usageErr("--memprofile takes a single query")
	}

	sigs := newSignalCatcher(nil)
	defer sigs.stop()
	ctx, release := sigs.context(context.Background())
	defer release()

	var code int
	if len(o.queries) == 1 {
		if o.memLimitMiB > 0 && os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(o.memLimitMiB << 20)
		}
		code = benchOne(ctx, o.queries[0], o, std)
	} else {
		code = benchChildren(ctx, o, std)
	}
	if sig := sigs.received(); sig != nil {
		return exitCodeFor(sig)
	}
	return code
}

// benchLine is the result line of one query.
func benchLine(query string, events int64, elapsed, cpu time.Duration, rssMB float64) string {
	sec := elapsed.Seconds()
	return fmt.Sprintf("query=%s events=%d seconds=%.3f events_per_sec=%.0f cpu_seconds=%.3f peak_rss_mb=%.1f",
		query, events, sec, float64(events)/sec, cpu.Seconds(), rssMB)
}

// benchOne runs one query in this process and prints its line; a query
// Sluice cannot plan prints "query=qN unsupported: reason" instead (exit
// code 1 in both failure cases, "failed:" for an error while running).
func benchOne(ctx context.Context, query string, o benchOpts, std stdio) int {
	dir, err := os.MkdirTemp("", "sluice-nexmark-")
	if err != nil {
		fmt.Fprintf(std.err, "sluice bench nexmark: %v\n", err)
		return exitError
	}
	defer os.RemoveAll(dir)
	elapsed, cpu, err := runBenchQuery(ctx, dir, query, o)
	var unsupported *unsupportedError
	switch {
	case errors.As(err, &unsupported):
		fmt.Fprintf(std.out, "query=%s unsupported: %s\n", query, firstLine(unsupported.err.Error()))
		return exitError
	case err != nil:
		fmt.Fprintf(std.out, "query=%s failed: %s\n", query, firstLine(err.Error()))
		fmt.Fprintf(std.err, "sluice bench nexmark: %s: %v\n", query, err)
		return exitError
	}
	fmt.Fprintln(std.out, benchLine(query, o.events, elapsed, cpu, peakRSSMB()))
	return exitOK
}

// unsupportedError is a query that Sluice refused to plan.
type unsupportedError struct{ err error }

func (e *unsupportedError) Error() string { return e.err.Error() }
func (e *unsupportedError) Unwrap() error { return e.err }

// runBenchQuery runs query over a fresh state dir under dir and returns
// the wall time and the CPU time of this process from the start of the
// query's job to its end (the DDL is not counted).
func runBenchQuery(ctx context.Context, dir, query string, o benchOpts) (_, _ time.Duration, err error) {
	outDir := filepath.Join(dir, "out")
	if err := writeSideInput(filepath.Join(outDir, "side_input")); err != nil {
		return 0, 0, err
	}
	ddl, err := nexmarksql.DDL(nexmarksql.Params{Events: o.events, Rate: o.rate, OutputDir: outDir})
	if err != nil {
		return 0, 0, err
	}
	text, err := nexmarksql.Query(query)
	if err != nil {
		return 0, 0, err
	}
	// The query's time and CPU run until its job has finished (input ended,
	// final checkpoint committed), not through the deletion of its state
	// that follows, as Flink's and RisingWave's figures do.
	var (
		endMu  sync.Mutex
		endAt  time.Time
		endCPU time.Duration
	)
	onFinished := func(string) {
		endMu.Lock()
		defer endMu.Unlock()
		endAt, endCPU = time.Now(), cpuTime()
	}
	s, err := session.Open(session.Config{StateDir: filepath.Join(dir, "state"), Parallelism: o.parallelism, OnJobFinished: onFinished})
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	setup := ddl
	if o.interval > 0 {
		setup = fmt.Sprintf("SET 'execution.checkpointing.interval' = '%dms';\n%s", o.interval.Milliseconds(), ddl)
	}
	if err := s.Execute(ctx, setup, nil); err != nil {
		return 0, 0, fmt.Errorf("nexmark DDL: %w", err)
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return 0, 0, fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return 0, 0, fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if o.memProfile != "" {
		stop := startPeakHeapProfile()
		defer func() {
			if perr := stop(o.memProfile); perr != nil && err == nil {
				err = perr
			}
		}()
	}
	cpu0 := cpuTime()
	start := time.Now()
	if err := s.Execute(ctx, text, nil); err != nil {
		return 0, 0, &unsupportedError{err}
	}
	if err := s.WaitJobs(ctx); err != nil {
		return 0, 0, fmt.Errorf("job: %w", err)
	}
	endMu.Lock()
	defer endMu.Unlock()
	if endAt.IsZero() {
		return 0, 0, fmt.Errorf("job: ended without finishing")
	}
	return endAt.Sub(start), endCPU - cpu0, nil
}

// startPeakHeapProfile samples the live heap every 100 ms and keeps, in
// memory, the heap profile of the sample where it was largest so far. The
// returned stop function ends the sampling and writes that profile to path
// (or the current one when no sample was taken).
func startPeakHeapProfile() (stop func(path string) error) {
	var (
		mu   sync.Mutex
		best bytes.Buffer
		peak uint64
	)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() != metrics.KindUint64 {
				continue
			}
			if live := sample[0].Value.Uint64(); live > peak {
				peak = live
				mu.Lock()
				best.Reset()
				_ = pprof.Lookup("heap").WriteTo(&best, 0) // a failed sample keeps none
				mu.Unlock()
			}
		}
	}()
	return func(path string) error {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		if best.Len() == 0 {
			if err := pprof.Lookup("heap").WriteTo(&best, 0); err != nil {
				return fmt.Errorf("heap profile: %w", err)
			}
		}
		if err := os.WriteFile(path, best.Bytes(), 0o644); err != nil {
			return fmt.Errorf("heap profile: %w", err)
		}
		return nil
	}
}

// writeSideInput writes q13's side input: keys 0 … 9999, each with a value.
func writeSideInput(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("side input: %w", err)
	}
	var b bytes.Buffer
	for k := range 10_000 {
		fmt.Fprintf(&b, "%d,value-%d\n", k, k)
	}
	if err := os.WriteFile(filepath.Join(dir, "side_input.csv"), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("side input: %w", err)
	}
	return nil
}

// cpuTime returns the user + system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSSMB returns the peak resident set size of this process in MiB
// (ru_maxrss is in KiB on Linux).
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// benchExecutable is the binary the queries of a list run in; tests may
// replace it.
var benchExecutable = os.Executable

// benchChildren runs each query in a child process of this binary and
// relays its result line. Queries Sluice cannot plan are reported and
// skipped; the exit code is 1 when a query failed while running.
func benchChildren(ctx context.Context, o benchOpts, std stdio) int {
	self, err := benchExecutable()
	if err != nil {
		fmt.Fprintf(std.err, "sluice bench nexmark: %v\n", err)
		return exitError
	}
	code := exitOK
	var ran, unsupported []string
	for _, q := range o.queries {
		if ctx.Err() != nil {
			return exitError
		}
		args := []string{"bench", "nexmark", "--query", q,
			"--events", strconv.FormatInt(o.events, 10),
			"--parallelism", strconv.Itoa(o.parallelism),
			"--checkpoint-interval", o.interval.String(),
			"--rate", strconv.FormatInt(o.rate, 10),
			"--memory-limit", strconv.FormatInt(o.memLimitMiB, 10)}
		cmd := exec.CommandContext(ctx, self, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, std.err
		runErr := cmd.Run()
		line := lastLine(out.String())
		switch {
		case strings.HasPrefix(line, "query="+q+" unsupported:"):
			unsupported = append(unsupported, q)
		case runErr != nil:
			code = exitError
			if line == "" {
				line = fmt.Sprintf("query=%s failed: %v", q, runErr)
			}
		default:
			ran = append(ran, q)
		}
		fmt.Fprintln(std.out, line)
	}
	fmt.Fprintf(std.err, "ran %d queries (%s); unsupported %d (%s)\n",
		len(ran), strings.Join(ran, " "), len(unsupported), strings.Join(unsupported, " "))
	return code
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	var last string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			last = t
		}
	}
	return last
}
