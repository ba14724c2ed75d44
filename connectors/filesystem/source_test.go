package filesystem

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/types"
)

func TestSourceDirectorySplit(t *testing.T) {
	dir := t.TempDir()
	for i, name := range []string{"b.json", "a.json", "sub/c.json", "d.json"} {
		writeFile(t, filepath.Join(dir, name), strings.Repeat(`{"n":`+string(rune('0'+i))+"}\n", i+1))
	}
	writeFile(t, filepath.Join(dir, ".part-x-0-0.json.inprogress"), "garbage\n")
	writeFile(t, filepath.Join(dir, "_SUCCESS"), "garbage\n")
	writeFile(t, filepath.Join(dir, ".hidden/e.json"), "garbage\n")
	schema := types.Schema{{Name: "n", Type: types.Int}}
	tbl := newTable(schema, "path", dir, "format", "json")

	spec, err := Connector{}.NewSource(tbl, sourceRequest(0))
	if err != nil {
		t.Fatal(err)
	}
	if !spec.Bounded || spec.MaxParallelism != 4 || spec.Mode != connectors.AppendOnly || len(spec.Types) != 1 {
		t.Fatalf("spec = %+v", spec)
	}
	one, err := readTable(t, tbl, []int{0}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Sorted: a.json (n=1 twice), b.json (0), d.json (3 x4), sub/c.json (2 x3).
	want := []string{"+I[1]", "+I[1]", "+I[0]", "+I[3]", "+I[3]", "+I[3]", "+I[3]", "+I[2]", "+I[2]", "+I[2]"}
	if !slices.Equal(one, want) {
		t.Fatalf("parallelism 1: %v, want %v", one, want)
	}
	three, err := readTable(t, tbl, []int{0}, 3)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(one)
	slices.Sort(three)
	if !slices.Equal(one, three) {
		t.Fatalf("parallelism 3 read %v", three)
	}
	// More subtasks than files: the extra ones end at once.
	if five, err := readTable(t, tbl, []int{0}, 5); err != nil || len(five) != 10 {
		t.Fatalf("parallelism 5: %v, %v", five, err)
	}
}

func TestSourceMissingPath(t *testing.T) {
	tbl := newTable(types.Schema{{Name: "n", Type: types.Int}}, "path", filepath.Join(t.TempDir(), "nope"), "format", "csv")
	_, err := Connector{}.NewSource(tbl, sourceRequest(0))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "filesystem source path") {
		t.Fatalf("got %v", err)
	}
	empty := newTable(types.Schema{{Name: "n", Type: types.Int}}, "path", t.TempDir(), "format", "csv")
	rows, err := readTable(t, empty, []int{0}, 1)
	if err != nil || len(rows) != 0 {
		t.Fatalf("empty directory: %v, %v", rows, err)
	}
}

func TestSourcePositionAndSeekTo(t *testing.T) {
	dir := t.TempDir()
	var sb strings.Builder
	for i := range 3000 {
		sb.WriteString(`{"n":` + strconv.Itoa(i) + "}\n")
	}
	writeFile(t, filepath.Join(dir, "a.json"), sb.String())
	writeFile(t, filepath.Join(dir, "b.json"), `{"n":-1}`+"\n")
	schema := types.Schema{{Name: "n", Type: types.Int}}
	spec, err := Connector{}.NewSource(newTable(schema, "path", dir, "format", "json"), sourceRequest(0))
	if err != nil {
		t.Fatal(err)
	}
	src, _ := spec.Factory(0)
	src.Open(taskContext(0, 1))
	b := types.NewBatch(spec.Types)
	if _, err := src.Next(b); err != nil {
		t.Fatal(err)
	}
	pos := src.(*Source).Position()
	if pos.File != filepath.Join(dir, "a.json") || pos.Line != int64(b.Len()) {
		t.Fatalf("position %+v after %d rows", pos, b.Len())
	}
	rest, err := drain(src, spec.Types)
	if err != nil {
		t.Fatal(err)
	}
	if p := src.(*Source).Position(); p != (Position{}) {
		t.Fatalf("position at the end: %+v", p)
	}

	again, _ := spec.Factory(0)
	again.(*Source).SeekTo(pos)
	again.Open(taskContext(0, 1))
	got, err := drain(again, spec.Types)
	if err != nil || !slices.Equal(got, rest) {
		t.Fatalf("after SeekTo: %d rows (%v), want %d", len(got), err, len(rest))
	}
}
