package exec_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering enforces that the runtime never depends on the planner or
// the parser: plans reach exec already compiled into job graphs.
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/sluicesql/sluice/exec/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{
			"github.com/sluicesql/sluice/planner",
			"github.com/sluicesql/sluice/parser",
			"github.com/pingcap/tidb",
		} {
			if dep == banned || strings.HasPrefix(dep, banned+"/") {
				t.Errorf("exec/... depends on %s", dep)
			}
		}
	}
}
