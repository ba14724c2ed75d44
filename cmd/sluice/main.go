// Command sluice is the Sluice streaming SQL engine: an interactive shell,
// a script runner that also resumes durable jobs, and a sqllogictest runner.
//
//	sluice run -f pipeline.sql     # run a script, wait for its jobs
//	sluice run                     # resume the durable jobs in the state dir
//	sluice shell                   # interactive SQL
//	sluice slt sqltests/           # sqllogictest files
//
// See docs/cli.md for every flag, output format and exit code.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"github.com/sluicesql/sluice/planner/session"
)

// version is the release this binary reports; set with
// -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// Exit codes.
const (
	exitOK      = 0
	exitError   = 1   // a statement, a job or a test failed
	exitUsage   = 2   // bad command line
	exitSIGINT  = 130 // 128 + SIGINT
	exitSIGTERM = 143 // 128 + SIGTERM
)

// stdio are the streams a subcommand uses.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

const usage = `Sluice is a streaming SQL engine.

Usage:
  sluice <command> [flags] [arguments]

Commands:
  run       run a SQL script and wait for its jobs; without -f/-e resume durable jobs
  shell     interactive SQL shell
  slt       run sqllogictest files
  bench     run a benchmark: "sluice bench nexmark --query q5 --events 1000000"
  kafka-dev run a local Kafka-protocol broker (for trying Sluice and tests)
  version   print the version
  help      print this help, or "sluice help <command>" for a command's flags

Every command takes --state-dir (default ./sluice-data) and --parallelism
(default: number of CPUs). See docs/cli.md.
`

func main() {
	os.Exit(sluiceMain(os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}))
}

// sluiceMain runs the command line args and returns the exit code.
func sluiceMain(args []string, std stdio) int {
	if len(args) == 0 {
		fmt.Fprint(std.err, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return cmdRun(rest, std)
	case "shell":
		return cmdShell(rest, std)
	case "slt":
		return cmdSLT(rest, std)
	case "bench":
		return cmdBench(rest, std)
	case "kafka-dev":
		return cmdKafkaDev(rest, std)
	case "version", "--version", "-version":
		fmt.Fprintf(std.out, "sluice %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 && rest[0] != "help" && rest[0] != "version" {
			return sluiceMain([]string{rest[0], "-h"}, std)
		}
		fmt.Fprint(std.out, usage)
		return exitOK
	}
	fmt.Fprintf(std.err, "sluice: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}

// stateDirUsage describes --state-dir of the commands that keep state.
const stateDirUsage = "`directory` of the catalog, built-in tables and job state"

// engineFlags are the flags every engine command shares.
type engineFlags struct {
	stateDir    string
	parallelism int
	configFile  string
}

// defaultStateDir is the default of --state-dir.
const defaultStateDir = "./sluice-data"

// newFlagSet returns a FlagSet for subcommand name that writes its usage to
// w, with --state-dir (default stateDir, described by stateDirUsage) and
// --parallelism registered into ef.
func newFlagSet(name, synopsis string, w io.Writer, ef *engineFlags, stateDir, stateDirUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage:\n  %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	fs.StringVar(&ef.stateDir, "state-dir", stateDir, stateDirUsage)
	fs.IntVar(&ef.parallelism, "parallelism", runtime.NumCPU(), "default parallelism of jobs (parallelism.default)")
	fs.StringVar(&ef.configFile, "config", "", "read initial settings from `FILE` (lines 'key: value' as in Flink's config.yaml, or 'key = value'; # comments)")
	return fs
}

// parseFlags parses args into fs. It returns done with the exit code when
// the command should stop (-h, or a usage error).
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK, true
	case err != nil:
		return exitUsage, true
	}
	return 0, false
}

func (ef *engineFlags) config() (session.Config, error) {
	if ef.parallelism < 1 {
		return session.Config{}, fmt.Errorf("--parallelism must be at least 1, got %d", ef.parallelism)
	}
	cfg := session.Config{StateDir: ef.stateDir, Parallelism: ef.parallelism}
	if ef.configFile != "" {
		settings, err := readConfigFile(ef.configFile)
		if err != nil {
			return cfg, err
		}
		cfg.Settings = settings
	}
	return cfg, nil
}

// readConfigFile reads settings from a flat config file: one 'key: value'
// (Flink's config.yaml style) or 'key = value' per line; blank lines and
// lines starting with # are ignored; values may be quoted.
func readConfigFile(name string) (map[string]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if eq := strings.Index(line, "="); eq >= 0 && (!ok || eq < len(k)) {
			k, v, ok = line[:eq], line[eq+1:], true
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("--config %s:%d: want 'key: value', got %q", name, i+1, line)
		}
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return out, nil
}

// openSession opens a session on the flags' state dir.
func (ef *engineFlags) openSession() (*session.Session, error) {
	cfg, err := ef.config()
	if err != nil {
		return nil, err
	}
	return session.Open(cfg) // its errors name the state dir
}

// signalCatcher turns SIGINT and SIGTERM into cancellation.
//
// A signal that comes while an operation runs (see context) cancels it and
// is remembered for the exit code; a second one before reset exits the
// process at once with the signal's exit code, for a shutdown that hangs.
// A signal that comes while no operation runs goes to onIdle when set, else
// it is remembered and cancels the next operation at once.
type signalCatcher struct {
	ch     chan os.Signal
	onIdle func(os.Signal)

	mu     sync.Mutex
	got    os.Signal          // signal received since the last reset
	cancel context.CancelFunc // cancels the running operation, if any
}

func newSignalCatcher(onIdle func(os.Signal)) *signalCatcher {
	c := &signalCatcher{ch: make(chan os.Signal, 2), onIdle: onIdle}
	signal.Notify(c.ch, os.Interrupt, syscall.SIGTERM)
	go c.loop()
	return c
}

func (c *signalCatcher) loop() {
	for sig := range c.ch {
		c.mu.Lock()
		cancel, again := c.cancel, c.got != nil
		idle := cancel == nil && c.onIdle != nil
		if !idle {
			c.got = sig
		}
		c.mu.Unlock()
		switch {
		case idle:
			c.onIdle(sig)
		case again:
			os.Exit(exitCodeFor(sig))
		case cancel != nil:
			cancel()
		}
	}
}

// context returns a context cancelled by the next signal (or at once when
// one was already received and not reset) and a func to release it.
func (c *signalCatcher) context(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	c.mu.Lock()
	if c.got != nil {
		cancel()
	}
	c.cancel = cancel
	c.mu.Unlock()
	return ctx, func() {
		c.mu.Lock()
		c.cancel = nil
		c.mu.Unlock()
		cancel()
	}
}

// received returns the signal received since the last reset, or nil.
func (c *signalCatcher) received() os.Signal {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.got
}

// reset forgets the signal received, so the next operation runs.
func (c *signalCatcher) reset() {
	c.mu.Lock()
	c.got = nil
	c.mu.Unlock()
}

// stop restores the default signal handling.
func (c *signalCatcher) stop() {
	signal.Stop(c.ch)
	close(c.ch)
}

// exitCodeFor returns 128 + the signal number, as shells report it.
func exitCodeFor(sig os.Signal) int {
	if sig == syscall.SIGTERM {
		return exitSIGTERM
	}
	return exitSIGINT
}
