package filesystem

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

func TestSourceSnapshotRestore(t *testing.T) {
	dir := t.TempDir()
	for f, n := range map[string]int{"a.json": 2500, "b.json": 1500, "c.json": 10, "d.json": 3000} {
		var sb strings.Builder
		for i := range n {
			sb.WriteString(`{"n":"` + f + strconv.Itoa(i) + `"}` + "\n")
		}
		writeFile(t, filepath.Join(dir, f), sb.String())
	}
	schema := types.Schema{{Name: "n", Type: types.String}}
	tbl := newTable(schema, "path", dir, "format", "json")
	spec, err := Connector{}.NewSource(tbl, sourceRequest(0))
	if err != nil {
		t.Fatal(err)
	}
	all, err := readTable(t, tbl, []int{0}, 1)
	if err != nil {
		t.Fatal(err)
	}

	// Two subtasks read one batch each, snapshot, and read on.
	var snaps [][]byte
	var before, after []string
	for s := range 2 {
		src, _ := spec.Factory(s)
		if err := src.Open(taskContext(s, 2)); err != nil {
			t.Fatal(err)
		}
		b := types.NewBatch(spec.Types)
		if _, err := src.Next(b); err != nil {
			t.Fatal(err)
		}
		before = append(before, showRows(b)...)
		snap, err := src.(exec.Snapshotter).Snapshot(1)
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, snap)
		rest, err := drain(src, spec.Types)
		if err != nil {
			t.Fatal(err)
		}
		after = append(after, rest...)
		src.Close()
	}

	restore := func(s, p int, snaps [][]byte) []string {
		t.Helper()
		src, _ := spec.Factory(s)
		if err := src.Open(taskContext(s, p)); err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if err := src.(exec.Restorer).Restore(1, snaps); err != nil {
			t.Fatal(err)
		}
		rows, err := drain(src, spec.Types)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	// Same parallelism: each subtask continues exactly.
	var same []string
	for s := range 2 {
		same = append(same, restore(s, 2, snaps[s:s+1])...)
	}
	if !slices.Equal(same, after) {
		t.Fatalf("restored at parallelism 2: %d rows, want %d", len(same), len(after))
	}
	// Parallelism 1 takes over both; parallelism 3's third subtask has none.
	one := restore(0, 1, snaps)
	three := append(restore(0, 3, snaps[:1]), restore(1, 3, snaps[1:])...)
	if extra := restore(2, 3, nil); len(extra) != 0 {
		t.Fatalf("a subtask without a snapshot read %d rows", len(extra))
	}
	for _, got := range [][]string{one, three} {
		got = append(slices.Clone(before), got...)
		slices.Sort(got)
		want := slices.Sorted(slices.Values(all))
		if !slices.Equal(got, want) {
			t.Fatalf("before + restored: %d rows, want the %d of the table once each", len(got), len(want))
		}
	}

	// Finished subtasks snapshot an empty work list.
	src, _ := spec.Factory(0)
	src.Open(taskContext(0, 1))
	if _, err := drain(src, spec.Types); err != nil {
		t.Fatal(err)
	}
	end, _ := src.(exec.Snapshotter).Snapshot(2)
	if got := restore(0, 1, [][]byte{end}); len(got) != 0 {
		t.Fatalf("restored at the end: %d rows", len(got))
	}
	for _, bad := range [][]byte{{}, {1, 1, 3, 'a'}, append(slices.Clone(end), 0), {2, 0}} {
		src, _ := spec.Factory(0)
		src.Open(taskContext(0, 1))
		if err := src.(exec.Restorer).Restore(1, [][]byte{bad}); err == nil || !strings.Contains(err.Error(), "corrupt filesystem source snapshot") {
			t.Errorf("Restore(%x) = %v", bad, err)
		}
	}
}
