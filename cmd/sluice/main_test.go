package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binary is the sluice binary TestMain builds for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sluice-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "sluice")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	code           int
}

// sluice runs the binary with args and stdin in a fresh state dir given
// with --state-dir after the subcommand.
func sluice(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	if len(args) > 0 && args[0] != "version" && args[0] != "help" {
		args = append([]string{args[0], "--state-dir", filepath.Join(t.TempDir(), "state")}, args[1:]...)
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("sluice %v: %v", args, err)
	}
	return r
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// valuesQuery names its columns as Flink does: EXPR$0, EXPR$1.
const valuesQuery = `VALUES (1, 'a'), (2, NULL);`

func TestRunFormats(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{"table", `+--------+--------+
| EXPR$0 | EXPR$1 |
+--------+--------+
|      1 | a      |
|      2 | NULL   |
+--------+--------+
`},
		{"tsv", "1\ta\n2\tNULL\n"},
		{"csv", "1,a\n2,NULL\n"},
		{"json", `{"EXPR$0":1,"EXPR$1":"a"}` + "\n" + `{"EXPR$0":2,"EXPR$1":null}` + "\n"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			r := sluice(t, "", "run", "--parallelism", "1", "--format", tc.format, "-e", valuesQuery)
			if r.code != 0 || r.stdout != tc.want {
				t.Errorf("want exit 0 and stdout\n%s\ngot %v", tc.want, r)
			}
		})
	}
}

func TestRunStdinScript(t *testing.T) {
	r := sluice(t, "SELECT 1 AS one;\n", "run", "--format", "tsv", "-f", "-")
	if r.code != 0 || r.stdout != "1\n" {
		t.Errorf("want exit 0 and stdout 1, got %v", r)
	}
}

func TestRunSyntaxError(t *testing.T) {
	script := "SELECT 1;\n\nSELEC 2;\n"
	path := filepath.Join(t.TempDir(), "bad.sql")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	r := sluice(t, "", "run", "-f", path)
	if r.code == 0 {
		t.Fatalf("want a non-zero exit, got %v", r)
	}
	if !strings.Contains(r.stderr, "ERROR at line 3, column") {
		t.Errorf("stderr lacks the error position: %v", r)
	}
	if !strings.Contains(r.stderr, "\nSELEC 2;\n") || !strings.Contains(r.stderr, "^") {
		t.Errorf("stderr lacks the line and its caret: %v", r)
	}
	if r.stdout != "" {
		t.Errorf("a script with a syntax error must run nothing: %v", r)
	}
}

func TestRunUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--format", "xml", "-e", "SELECT 1;"},
		{"run", "-e", "SELECT 1;", "-f", "x.sql"},
		{"run", "extra"},
		{"nope"},
	} {
		if r := sluice(t, "", args...); r.code != exitUsage {
			t.Errorf("sluice %v: want exit %d, got %v", args, exitUsage, r)
		}
	}
}

func TestShellPiped(t *testing.T) {
	in := "SELECT 1 AS one;\nSELECT\n  2 AS two;\nSELEC 3;\nSELECT 'still here' AS s;\n"
	r := sluice(t, in, "shell", "--parallelism", "1")
	for _, want := range []string{
		"| one |\n", "|   1 |\n", "1 row in set (",
		"| two |\n", "|   2 |\n",
		"| still here |\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q: %v", want, r)
		}
	}
	if strings.Contains(r.stdout, "sluice> ") {
		t.Errorf("a piped shell must not prompt: %v", r)
	}
	if !strings.Contains(r.stderr, "ERROR at line 1, column") {
		t.Errorf("stderr lacks the syntax error: %v", r)
	}
	if r.code != exitError {
		t.Errorf("want exit %d after a failed statement, got %v", exitError, r)
	}
}

func TestShellHelpAndQuit(t *testing.T) {
	r := sluice(t, "help\nquit\nSELECT 1;\n", "shell")
	if r.code != 0 || !strings.Contains(r.stdout, "Shortcuts") || strings.Contains(r.stdout, "row in set") {
		t.Errorf("want help, then quit before the SELECT: %v", r)
	}
}

func TestSLT(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.slt")
	slt := "query I\nSELECT 1\n----\n1\n"
	if err := os.WriteFile(path, []byte(slt), 0o644); err != nil {
		t.Fatal(err)
	}
	r := sluice(t, "", "slt", path)
	if r.code != 0 || !strings.Contains(r.stdout, "1 passed, 0 failed") {
		t.Errorf("want 1 passed, got %v", r)
	}

	bad := filepath.Join(dir, "bad.slt")
	if err := os.WriteFile(bad, []byte("query I\nSELECT 2\n----\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = sluice(t, "", "slt", bad)
	if r.code == 0 || !strings.Contains(r.stdout, "0 passed, 1 failed") {
		t.Errorf("want 1 failed and a non-zero exit, got %v", r)
	}
}

func TestVersionAndHelp(t *testing.T) {
	if r := sluice(t, "", "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "sluice ") {
		t.Errorf("version: %v", r)
	}
	if r := sluice(t, "", "help"); r.code != 0 || !strings.Contains(r.stdout, "shell") {
		t.Errorf("help: %v", r)
	}
}

func TestQuickstart(t *testing.T) {
	r := sluice(t, "", "run", "--format", "tsv", "-f", filepath.Join("..", "..", "examples", "quickstart.sql"))
	if r.code != 0 || r.stdout == "" {
		t.Errorf("examples/quickstart.sql: %v", r)
	}
}
