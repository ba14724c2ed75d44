package crash

import (
	"os"
	"os/exec"
	"testing"
)

func TestConfigure(t *testing.T) {
	defer configure("")
	configure("after-snapshot:3")
	if !Enabled() || step != "after-snapshot" || at != 3 {
		t.Fatalf("got %q %d", step, at)
	}
	Point("after-snapshot", 2) // below the id: no crash
	Point("before-snapshot", 5)
	configure("nonsense")
	if Enabled() {
		t.Fatal("malformed value enabled injection")
	}
}

func TestPointExits(t *testing.T) {
	if os.Getenv("CRASH_CHILD") == "1" {
		Point("during-commit", 7)
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=TestPointExits")
	cmd.Env = append(os.Environ(), "CRASH_CHILD=1", "SLUICE_CRASH_AT=during-commit:7")
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 137 {
		t.Fatalf("child ended with %v, want exit status 137", err)
	}
}
