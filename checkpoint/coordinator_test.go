package checkpoint

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/coordinator/*.txt with the actual output")

// TestCoordinatorScenarios runs the scenarios in testdata/coordinator. A
// scenario is a sequence of commands, each followed by "----" and the
// actions it must return, one per line, then a blank line. Lines starting
// with '#' are comments. A command is a time offset from the start (Flink
// duration syntax, no blanks: 10s, 1500ms) and a verb:
//
//	new key=value...            NewCoordinator; keys: interval, timeout, min-pause,
//	                            max-concurrent, tolerable (durations or numbers),
//	                            tasks (default 1), next (first id, default 1)
//	tick                        Tick
//	ack <id> <task> [bytes=N] [align=D]
//	decline <id> <task> <reason...>
//	request [savepoint]         RequestCheckpoint; prints "id=N"
//	ended                       SourcesEnded
//	failed                      TaskFailed
//	state                       prints Pending, LastCompleted, NextID, Finished
//	history                     prints History, one line per checkpoint
//
// Run with -rewrite to write the actual output into the files (then read
// the diff).
func TestCoordinatorScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "coordinator", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScenario(t, f) })
	}
}

func runScenario(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var out []string
	var c *Coordinator
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			out = append(out, line)
			continue
		}
		out = append(out, line)
		if i+1 >= len(lines) || lines[i+1] != "----" {
			t.Fatalf("%s:%d: command without ---- line", file, i+1)
		}
		i++
		var want []string
		for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
			i++
			want = append(want, lines[i])
		}
		got, err := runCommand(&c, line)
		if err != nil {
			t.Fatalf("%s:%d: %s: %v", file, i+1, line, err)
		}
		out = append(out, "----")
		out = append(out, got...)
		if !*rewrite && strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: %s\ngot:\n%s\nwant:\n%s", file, line, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if *rewrite {
		if err := os.WriteFile(file, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func runCommand(cp **Coordinator, line string) ([]string, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return nil, fmt.Errorf("want <time> <verb> ...")
	}
	at, err := ParseDuration(f[0])
	if err != nil {
		return nil, err
	}
	now := t0.Add(at)
	verb, args := f[1], f[2:]
	c := *cp
	if c == nil && verb != "new" {
		return nil, fmt.Errorf("no coordinator: start with new")
	}
	switch verb {
	case "new":
		cfg := DefaultConfig()
		tasks, next := 1, int64(1)
		for _, a := range args {
			k, v, _ := strings.Cut(a, "=")
			var d time.Duration
			var n int
			var err error
			switch k {
			case "interval", "timeout", "min-pause":
				d, err = ParseDuration(v)
			default:
				n, err = strconv.Atoi(v)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a, err)
			}
			switch k {
			case "interval":
				cfg.Interval = d
			case "timeout":
				cfg.Timeout = d
			case "min-pause":
				cfg.MinPause = d
			case "max-concurrent":
				cfg.MaxConcurrent = n
			case "tolerable":
				cfg.TolerableFailed = n
			case "tasks":
				tasks = n
			case "next":
				next = int64(n)
			default:
				return nil, fmt.Errorf("unknown key %q", k)
			}
		}
		*cp = NewCoordinator(cfg, tasks, next, now)
		return nil, nil
	case "tick":
		return formatActions(c.Tick(now)), nil
	case "ack":
		if len(args) < 2 {
			return nil, fmt.Errorf("ack <id> <task> [bytes=N] [align=D]")
		}
		id, _ := strconv.ParseInt(args[0], 10, 64)
		task, _ := strconv.Atoi(args[1])
		var info AckInfo
		for _, a := range args[2:] {
			k, v, _ := strings.Cut(a, "=")
			switch k {
			case "bytes":
				info.StateBytes, _ = strconv.ParseInt(v, 10, 64)
			case "align":
				if info.Alignment, err = ParseDuration(v); err != nil {
					return nil, err
				}
			default:
				return nil, fmt.Errorf("unknown ack key %q", k)
			}
		}
		return formatActions(c.Ack(id, task, info, now)), nil
	case "decline":
		if len(args) < 3 {
			return nil, fmt.Errorf("decline <id> <task> <reason>")
		}
		id, _ := strconv.ParseInt(args[0], 10, 64)
		task, _ := strconv.Atoi(args[1])
		return formatActions(c.Decline(id, task, strings.Join(args[2:], " "), now)), nil
	case "request":
		id := c.RequestCheckpoint(now, len(args) > 0 && args[0] == "savepoint")
		return []string{fmt.Sprintf("id=%d", id)}, nil
	case "ended":
		return formatActions(c.SourcesEnded(now)), nil
	case "failed":
		return formatActions(c.TaskFailed(now)), nil
	case "state":
		return []string{fmt.Sprintf("pending=%v last-completed=%d next-id=%d finished=%v",
			c.Pending(), c.LastCompleted(), c.NextID(), c.Finished())}, nil
	case "history":
		var out []string
		for _, s := range c.History() {
			out = append(out, formatStats(s))
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown verb %q", verb)
}

func formatActions(acts []Action) []string {
	var out []string
	for _, a := range acts {
		switch x := a.(type) {
		case Trigger:
			s := fmt.Sprintf("trigger %d", x.ID)
			if x.Savepoint {
				s += " savepoint"
			}
			if x.Final {
				s += " final"
			}
			out = append(out, s+" at "+FormatDuration(x.Time.Sub(t0)))
		case Complete:
			if x.ID != x.Stats.ID {
				out = append(out, fmt.Sprintf("BAD complete %d with stats of %d", x.ID, x.Stats.ID))
			}
			out = append(out, "complete: "+formatStats(x.Stats))
		case Abort:
			s := fmt.Sprintf("abort %d: %s", x.ID, x.Reason)
			if x.Subsumed {
				s += " (subsumed)"
			}
			out = append(out, s)
		case FailJob:
			out = append(out, "fail-job: "+x.Reason)
		default:
			out = append(out, fmt.Sprintf("BAD action %T", a))
		}
	}
	return out
}

func formatStats(s Stats) string {
	kind := ""
	if s.Savepoint {
		kind += " savepoint"
	}
	if s.Final {
		kind += " final"
	}
	str := fmt.Sprintf("%d%s %s triggered=%s duration=%s alignment=%s state=%d acks=%d/%d",
		s.ID, kind, s.Status, FormatDuration(s.TriggerTime.Sub(t0)), FormatDuration(s.Duration),
		FormatDuration(s.Alignment), s.StateBytes, s.Acks, s.Tasks)
	if s.FailureReason != "" {
		str += " reason=" + s.FailureReason
	}
	return str
}

// TestCoordinatorHistoryBounded checks that History keeps the pending
// checkpoints and the last HistorySize finished ones.
func TestCoordinatorHistoryBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxConcurrent = 2
	c := NewCoordinator(cfg, 1, 1, t0)
	now := t0
	for i := 0; i < 100; i++ {
		now = now.Add(cfg.Interval)
		c.Tick(now)
		id := c.Pending()[len(c.Pending())-1]
		if i%2 == 0 { // leave odd ones pending until the next completes
			c.Ack(id, 0, AckInfo{}, now)
		}
	}
	h := c.History()
	pending := c.Pending()
	if len(h) != HistorySize+len(pending) {
		t.Fatalf("history has %d entries with %d pending; want %d", len(h), len(pending), HistorySize+len(pending))
	}
	for i := 1; i < len(h); i++ {
		if h[i].ID <= h[i-1].ID {
			t.Fatalf("history not ascending: %d after %d", h[i].ID, h[i-1].ID)
		}
	}
	if last := h[len(h)-1]; last.ID != 100 || last.Status != StatusInProgress {
		t.Fatalf("last entry %+v; want checkpoint 100 in progress", last)
	}
}
