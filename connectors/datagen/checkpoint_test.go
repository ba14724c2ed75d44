package datagen

import (
	"slices"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

func TestSnapshotRestoreContinuesExactly(t *testing.T) {
	schema := types.Schema{{Name: "id", Type: types.BigInt}, {Name: "r", Type: types.String}}
	tbl := newTable(schema, map[string]string{"rows-per-second": "0", "number-of-rows": "10000"})
	spec, err := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: []int{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	const p = 3
	for sub := range p {
		tc := &exec.TaskContext{Subtask: sub, Parallelism: p}
		src, _ := spec.Factory(sub)
		if err := src.Open(tc); err != nil {
			t.Fatal(err)
		}
		b := types.NewBatch(spec.Types)
		if _, err := src.Next(b); err != nil {
			t.Fatal(err)
		}
		snap, err := src.(exec.Snapshotter).Snapshot(4)
		if err != nil {
			t.Fatal(err)
		}
		rest := drain(t, src, spec.Types)
		// The last snapshot, at the end, restores to nothing left.
		endSnap, _ := src.(exec.Snapshotter).Snapshot(5)

		restored, _ := spec.Factory(sub)
		if err := restored.Open(tc); err != nil {
			t.Fatal(err)
		}
		if err := restored.(exec.Restorer).Restore(4, [][]byte{snap}); err != nil {
			t.Fatal(err)
		}
		if got := drain(t, restored, spec.Types); !slices.Equal(got, rest) || len(rest) == 0 {
			t.Fatalf("subtask %d after Restore: %d rows, want the %d remaining", sub, len(got), len(rest))
		}

		ended, _ := spec.Factory(sub)
		ended.Open(tc)
		if err := ended.(exec.Restorer).Restore(5, [][]byte{endSnap}); err != nil {
			t.Fatal(err)
		}
		if got := drain(t, ended, spec.Types); len(got) != 0 {
			t.Fatalf("restored at the end: %d rows", len(got))
		}
	}
}

func TestRestoreRefusesOtherLayouts(t *testing.T) {
	schema := types.Schema{{Name: "id", Type: types.BigInt}}
	tbl := newTable(schema, map[string]string{"rows-per-second": "0"})
	spec, err := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	snapOf := func(sub, p int) []byte {
		src, _ := spec.Factory(sub)
		src.Open(&exec.TaskContext{Subtask: sub, Parallelism: p})
		b, err := src.(exec.Snapshotter).Snapshot(1)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		snaps [][]byte
		want  string
	}{
		{"none", nil, "holds 0 positions for it, want exactly 1"},
		{"two", [][]byte{snapOf(0, 4), snapOf(2, 4)}, "holds 2 positions"},
		{"other parallelism", [][]byte{snapOf(0, 4)}, "recorded the position of subtask 0 of 4"},
		{"other subtask", [][]byte{snapOf(1, 2)}, "recorded the position of subtask 1 of 2"},
		{"corrupt", [][]byte{{1, 5}}, "corrupt datagen position snapshot"},
		{"unknown version", [][]byte{{9, 0, 1, 0}}, "corrupt datagen position snapshot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, _ := spec.Factory(0)
			src.Open(&exec.TaskContext{Subtask: 0, Parallelism: 2})
			err := src.(exec.Restorer).Restore(3, tc.snaps)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
