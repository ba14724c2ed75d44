package fault

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	if err := Diff([]string{"a", "b", "b"}, []string{"b", "a", "b"}); err != nil {
		t.Fatalf("equal multisets: %v", err)
	}
	err := Diff([]string{"a", "b", "b"}, []string{"b", "c", "c"})
	if err == nil {
		t.Fatal("different multisets compared equal")
	}
	for _, want := range []string{`2 missing (e.g. ["a" "b"])`, `2 extra (e.g. ["c"])`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %s", err, want)
		}
	}
	// A row twice where it should be once is an extra row.
	if Diff([]string{"a"}, []string{"a", "a"}) == nil {
		t.Fatal("a duplicate went unnoticed")
	}
}

func TestPartFiles(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"part-job-1-0-0.csv":                 "1,a\n2,b\n",
		"part-job-1-1-0.csv":                 "3,c\n",
		".part-job-1-0-1.csv.inprogress":     "4,d\n",
		".part-job-1-1-1.csv.ckpt-3.pending": "5,e\n",
		"_SUCCESS":                           "",
		"part-job-1-0-2.csv":                 "",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lines, hidden := PartFiles(t, dir)
	slices.Sort(lines)
	if !slices.Equal(lines, []string{"1,a", "2,b", "3,c"}) {
		t.Errorf("lines %q", lines)
	}
	slices.Sort(hidden)
	if !slices.Equal(hidden, []string{".part-job-1-0-1.csv.inprogress", ".part-job-1-1-1.csv.ckpt-3.pending", "_SUCCESS"}) {
		t.Errorf("hidden %q", hidden)
	}
}
