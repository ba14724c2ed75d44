package main

import (
	"bytes"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// benchLineRE is the result line of sluice bench nexmark.
var benchLineRE = regexp.MustCompile(`^query=(q\d+|generator) events=(\d+) seconds=\d+\.\d{3} events_per_sec=\d+ cpu_seconds=\d+\.\d{3} peak_rss_mb=\d+\.\d$`)

// runBench runs the sluice binary with "bench nexmark" and args.
func runBench(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"bench", "nexmark"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("sluice bench nexmark %v: %v", args, err)
	}
	return r
}

// checkLines checks that r printed one result line per query, in order,
// each for events events.
func checkLines(t *testing.T, r result, events string, queries ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != len(queries) {
		t.Fatalf("want %d result lines and exit 0, got\n%v", len(queries), r)
	}
	for i, l := range lines {
		m := benchLineRE.FindStringSubmatch(l)
		if m == nil || m[1] != queries[i] || m[2] != events {
			t.Errorf("line %d: %q is not the result line of %s with events=%s", i, l, queries[i], events)
		}
	}
}

func TestBenchNexmarkQ0(t *testing.T) {
	r := runBench(t, "--query", "q0", "--events", "20000", "--parallelism", "2")
	checkLines(t, r, "20000", "q0")
}

func TestBenchNexmarkGenerator(t *testing.T) {
	r := runBench(t, "--query", "generator", "--events", "20000", "--parallelism", "2", "--checkpoint-interval", "50ms")
	checkLines(t, r, "20000", "generator")
}

// TestBenchNexmarkSupportedQueries runs every query Sluice supports on a
// small event count, each in a child process as --query all does.
func TestBenchNexmarkSupportedQueries(t *testing.T) {
	queries := []string{"q1", "q2", "q3", "q4", "q5", "q7", "q8", "q9", "q10", "q11", "q12", "q14",
		"q15", "q16", "q17", "q18", "q19", "q20", "q21", "q22"}
	r := runBench(t, "--query", strings.Join(queries, ","), "--events", "10000", "--parallelism", "2")
	checkLines(t, r, "10000", queries...)
	if !strings.Contains(r.stderr, "ran 20 queries") {
		t.Errorf("summary missing from stderr:\n%s", r.stderr)
	}
}

func TestBenchNexmarkUnsupported(t *testing.T) {
	r := runBench(t, "--query", "q6", "--events", "1000")
	if r.code != exitError || !strings.HasPrefix(r.stdout, "query=q6 unsupported: ERROR at line") {
		t.Fatalf("want an unsupported line and exit 1, got\n%v", r)
	}
}

func TestBenchNexmarkUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--query", "q23"},
		{"--query", "q1", "--events", "0"},
		{"--query", "q1", "--parallelism", "0"},
		{"--query", "q1,q2", "--cpuprofile", "x"},
		{"--query", "q1", "extra"},
	} {
		r := runBench(t, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "Usage:") {
			t.Errorf("args %v: want a usage error (exit 2), got\n%v", args, r)
		}
	}
	var out, errOut bytes.Buffer
	if code := sluiceMain([]string{"bench", "tpch"}, stdio{in: strings.NewReader(""), out: &out, err: &errOut}); code != exitUsage {
		t.Errorf("sluice bench tpch: exit %d, want %d", code, exitUsage)
	}
}
