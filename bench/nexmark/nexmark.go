package nexmark

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

//go:embed *.sql
var files embed.FS

// DefaultRate is the default event-time rate (events per second) of the
// sources, nexmark-flink's.
const DefaultRate = 10_000_000

// AlignEvents is how many events of event time a nexmark source may run
// ahead of the others (the tables' 'scan.watermark.alignment.max-drift'):
// the sources are independent tables generating one event stream, and a
// join of two of them needs its inputs at about the same event time to
// find what it probes in its cache (see docs/nexmark.md).
const AlignEvents = 100_000

// Params fill the placeholders of ddl.sql.
type Params struct {
	// Events is the number of events of all kinds (events.num); > 0.
	Events int64
	// Rate is the event-time rate in events per second (first-event.rate);
	// 0 means DefaultRate.
	Rate int64
	// OutputDir is a scratch directory for the file-writing queries (q10)
	// and q13's side input.
	OutputDir string
}

// Queries returns the names of the standard queries, q0 … q22, in order.
func Queries() []string {
	out := make([]string, 0, 23)
	for i := range 23 {
		out = append(out, "q"+strconv.Itoa(i))
	}
	return out
}

// Query returns the text of query name (q0 … q22, or "generator").
func Query(name string) (string, error) {
	b, err := fs.ReadFile(files, name+".sql")
	if err != nil {
		return "", fmt.Errorf("nexmark query %q: %w", name, err)
	}
	return string(b), nil
}

// DDL returns ddl.sql with the placeholders replaced by p.
func DDL(p Params) (string, error) {
	if p.Events <= 0 {
		return "", fmt.Errorf("nexmark: the number of events must be positive, got %d", p.Events)
	}
	if p.Rate == 0 {
		p.Rate = DefaultRate
	}
	if p.Rate < 0 {
		return "", fmt.Errorf("nexmark: the event rate must be positive, got %d", p.Rate)
	}
	if strings.ContainsAny(p.OutputDir, "'\n") {
		return "", fmt.Errorf("nexmark: output directory %q contains a quote or a newline", p.OutputDir)
	}
	b, err := fs.ReadFile(files, "ddl.sql")
	if err != nil {
		return "", fmt.Errorf("nexmark ddl: %w", err)
	}
	driftMs := max(AlignEvents*1000/p.Rate, 1)
	r := strings.NewReplacer(
		"${EVENTS_NUM}", strconv.FormatInt(p.Events, 10),
		"${RATE}", strconv.FormatInt(p.Rate, 10),
		"${MAX_DRIFT}", strconv.FormatInt(driftMs, 10)+" ms",
		"${OUTPUT_DIR}", p.OutputDir,
	)
	return r.Replace(string(b)), nil
}

// Script returns the DDL followed by query name.
func Script(name string, p Params) (string, error) {
	ddl, err := DDL(p)
	if err != nil {
		return "", err
	}
	q, err := Query(name)
	if err != nil {
		return "", err
	}
	return ddl + "\n" + q, nil
}

// Known reports whether name is a query of the suite or "generator".
func Known(name string) bool { return name == "generator" || slices.Contains(Queries(), name) }
