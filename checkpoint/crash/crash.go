package crash

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

var (
	step string
	at   int64
)

func init() { configure(os.Getenv("SLUICE_CRASH_AT")) }

// configure parses a SLUICE_CRASH_AT value; a malformed one disables
// injection and is reported on stderr.
func configure(v string) {
	step, at = "", 0
	if v == "" {
		return
	}
	name, num, ok := strings.Cut(v, ":")
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || name == "" {
		fmt.Fprintf(os.Stderr, "SLUICE_CRASH_AT=%q ignored: want step:checkpoint-id\n", v)
		return
	}
	step, at = name, n
}

// Enabled reports whether a crash step is configured.
func Enabled() bool { return step != "" }

// Point exits the process when crash injection is configured for name and
// id has reached the configured checkpoint id.
func Point(name string, id int64) {
	if step == "" || name != step || id < at {
		return
	}
	fmt.Fprintf(os.Stderr, "SLUICE_CRASH_AT: crashing at %s of checkpoint %d\n", name, id)
	os.Exit(137)
}
