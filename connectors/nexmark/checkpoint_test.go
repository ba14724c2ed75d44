package nexmark

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
)

func TestSnapshotRestore(t *testing.T) {
	tbl := newTable(bidSchema[:3], "nexmark.table", "bid", "events.num", "20000")
	spec, err := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: []int{0, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	tc := &exec.TaskContext{Ctx: context.Background(), Subtask: 1, Parallelism: 2}
	whole, _ := spec.Factory(1)
	if err := whole.Open(tc); err != nil {
		t.Fatal(err)
	}
	want := keys(drain(t, whole, spec.Types, -1))

	first, _ := spec.Factory(1)
	if err := first.Open(tc); err != nil {
		t.Fatal(err)
	}
	got := keys(drain(t, first, spec.Types, 2))
	snap, err := first.(*Source).Snapshot(7)
	if err != nil {
		t.Fatal(err)
	}
	restored, _ := spec.Factory(1)
	if err := restored.Open(tc); err != nil {
		t.Fatal(err)
	}
	if err := restored.(*Source).Restore(7, [][]byte{snap}); err != nil {
		t.Fatal(err)
	}
	got = append(got, keys(drain(t, restored, spec.Types, -1))...)
	if !slices.Equal(got, want) {
		t.Fatalf("restored run: %d rows, uninterrupted %d (or different rows)", len(got), len(want))
	}

	other, _ := spec.Factory(0)
	if err := other.Open(&exec.TaskContext{Subtask: 0, Parallelism: 2}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][][]byte{nil, {snap, snap}, {{9, 1}}, {snap[:len(snap)-1]}} {
		if err := restored.(*Source).Restore(7, bad); err == nil {
			t.Errorf("Restore(%v) succeeded", bad)
		}
	}
	if err := other.(*Source).Restore(7, [][]byte{snap}); err == nil || !strings.Contains(err.Error(), "subtask 1 of 2") {
		t.Errorf("restoring subtask 1's position in subtask 0: %v", err)
	}
}
