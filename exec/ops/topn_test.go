package ops_test

import (
	"errors"
	"testing"

	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
)

// pst is (partition STRING, score BIGINT, id STRING).
var pst = []types.Type{types.String, types.BigInt, types.String}

// topNSteps feeds each input batch to a new TopN for spec and checks the
// rows emitted after each one.
func topNSteps(t *testing.T, spec ops.TopNSpec, steps ...[2]string) {
	t.Helper()
	op, err := ops.NewTopN(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	outTypes := op.OutTypes()
	for n, s := range steps {
		var o exectest.Output
		if err := op.Process(parse(t, spec.InTypes, s[0]), &o); err != nil {
			t.Fatalf("step %d: %v", n+1, err)
		}
		if g, w := exectest.FormatAll(o.Batches), canonicalOrEmpty(t, outTypes, s[1]); g != w {
			t.Errorf("step %d: rows:\n%s\nwant:\n%s", n+1, g, w)
		}
	}
}

func canonicalOrEmpty(t *testing.T, ts []types.Type, text string) string {
	t.Helper()
	if text == "" {
		return ""
	}
	return exectest.Canonical(t, ts, text)
}

func TestTopNWithRank(t *testing.T) {
	for _, insertOnly := range []bool{false, true} {
		spec := ops.TopNSpec{PartitionCols: []int{0}, Order: []ops.SortKey{ops.Desc(1)}, N: 2,
			InTypes: pst, WithRank: true, InsertOnly: insertOnly}
		steps := [][2]string{
			{"+I a 10 x / +I a 20 y / +I b 5 z",
				"+I a 20 y 1 / +I a 10 x 2 / +I b 5 z 1"},
			// v enters at rank 1: y moves to rank 2, x leaves.
			{"+I a 15 w / +I a 30 v",
				"-D a 20 y 1 / -D a 10 x 2 / +I a 30 v 1 / +I a 20 y 2"},
			// Below the top 2: nothing changes.
			{"+I a 1 u / +I b 1 t", "+I b 1 t 2"},
		}
		if !insertOnly {
			steps = append(steps,
				// Retracting the top row promotes y and the 3rd row, w.
				[2]string{"-D a 30 v", "-D a 30 v 1 / -D a 20 y 2 / +I a 20 y 1 / +I a 15 w 2"},
				// Retracting a row outside the top N, or a row never added: nothing.
				[2]string{"-D a 1 u / -U a 99 nope / -D c 1 c", ""},
				// An update of a top row in one batch: only the net change.
				[2]string{"-U b 5 z / +U b 0 z", "-D b 5 z 1 / -D b 1 t 2 / +I b 1 t 1 / +I b 0 z 2"},
				// Emptying a partition deletes its rows; it can start again.
				[2]string{"-D b 1 t / -D b 0 z / +I b 7 s", "-D b 1 t 1 / -D b 0 z 2 / +I b 7 s 1"},
			)
		}
		t.Run(map[bool]string{false: "updating", true: "insertonly"}[insertOnly], func(t *testing.T) {
			topNSteps(t, spec, steps...)
		})
	}
}

func TestTopNWithoutRank(t *testing.T) {
	spec := ops.TopNSpec{PartitionCols: []int{0}, Order: []ops.SortKey{ops.Desc(1)}, N: 2, InTypes: pst}
	topNSteps(t, spec,
		[2]string{"+I a 10 x / +I a 20 y / +I b 5 z", "+I a 20 y / +I a 10 x / +I b 5 z"},
		// A rank change alone (y: 1 → 2) emits nothing.
		[2]string{"+I a 15 w / +I a 30 v", "-D a 10 x / +I a 30 v"},
		[2]string{"-D a 30 v", "-D a 30 v / +I a 15 w"},
	)
}

func TestTopNTiesByArrival(t *testing.T) {
	spec := ops.TopNSpec{PartitionCols: []int{0}, Order: []ops.SortKey{ops.Asc(1)}, N: 2, InTypes: pst, WithRank: true}
	topNSteps(t, spec,
		[2]string{"+I a 1 x / +I a 1 y / +I a 1 z", "+I a 1 x 1 / +I a 1 y 2"},
		// A later tie ranks after the earlier ones; a NULL sorts first (ASC).
		[2]string{"+I a 1 w", ""},
		[2]string{"+I a NULL n", "-D a 1 x 1 / -D a 1 y 2 / +I a NULL n 1 / +I a 1 x 2"},
		// Retracting x promotes y, the next tie by arrival.
		[2]string{"-D a NULL n / -D a 1 x", "-D a NULL n 1 / -D a 1 x 2 / +I a 1 y 1 / +I a 1 z 2"},
	)
}

func TestTopNDuplicateRows(t *testing.T) {
	// Rows equal in every column: a retraction removes the last-arrived
	// one, so the emitted copy stays.
	spec := ops.TopNSpec{PartitionCols: []int{0}, Order: []ops.SortKey{ops.Asc(1)}, N: 1, InTypes: pst, WithRank: true}
	topNSteps(t, spec,
		[2]string{"+I a 1 x / +I a 1 x", "+I a 1 x 1"},
		[2]string{"-D a 1 x", ""},
		[2]string{"-D a 1 x", "-D a 1 x 1"},
	)
}

func TestTopNDeduplicateKeepFirst(t *testing.T) {
	spec := ops.TopNSpec{PartitionCols: []int{0}, N: 1, InTypes: pst}
	topNSteps(t, spec,
		[2]string{"+I a 2 x / +I a 1 y / +I b 3 z / +I a 0 w", "+I a 2 x / +I b 3 z"},
		[2]string{"+I a -5 v / +I c 1 c", "+I c 1 c"},
		// Retracting the kept row promotes the next arrival.
		[2]string{"-D a 2 x", "-D a 2 x / +I a 1 y"},
	)

	insertOnly := spec
	insertOnly.InsertOnly = true
	insertOnly.WithRank = true
	topNSteps(t, insertOnly,
		[2]string{"+I a 2 x / +I a 1 y / +I b 3 z", "+I a 2 x 1 / +I b 3 z 1"},
		[2]string{"+I a 0 w", ""},
	)
	op, err := ops.NewTopN(insertOnly)
	if err != nil {
		t.Fatal(err)
	}
	_, err = exectest.Drive(op, parse(t, pst, "+I a 2 x / -D a 2 x"))
	if !errors.Is(err, ops.ErrTopNRetraction) {
		t.Fatalf("err = %v, want ErrTopNRetraction", err)
	}
}

func TestTopNGlobal(t *testing.T) {
	spec := ops.TopNSpec{Order: []ops.SortKey{ops.Desc(1), ops.Asc(2)}, N: 2, InTypes: pst, WithRank: true}
	topNSteps(t, spec,
		[2]string{"+I a 3 x / +I b 5 y / +I c 3 a", "+I b 5 y 1 / +I c 3 a 2"},
		[2]string{"+I d 9 z", "-D b 5 y 1 / -D c 3 a 2 / +I d 9 z 1 / +I b 5 y 2"},
		[2]string{"-D d 9 z / -D b 5 y", "-D d 9 z 1 / -D b 5 y 2 / +I c 3 a 1 / +I a 3 x 2"},
	)
	// Through the factory and the driver, without rank.
	spec.WithRank = false
	op, err := ops.TopNFactory(spec)(0)
	if err != nil {
		t.Fatal(err)
	}
	out := drive(t, op, parse(t, pst, "+I a 3 x / +I b 5 y"), parse(t, pst, "+I c 4 z"))
	exectest.Expect(t, pst, out, "+I b 5 y / +I a 3 x / -D a 3 x / +I c 4 z")
}

func TestTopNZeroN(t *testing.T) {
	spec := ops.TopNSpec{PartitionCols: []int{0}, N: 0, InTypes: pst}
	topNSteps(t, spec, [2]string{"+I a 1 x / -D a 1 x", ""})
}

func TestTopNSpecErrors(t *testing.T) {
	for _, spec := range []ops.TopNSpec{
		{PartitionCols: []int{3}, N: 1, InTypes: pst},
		{Order: []ops.SortKey{ops.Asc(-1)}, N: 1, InTypes: pst},
	} {
		if _, err := ops.TopNFactory(spec)(0); !errors.Is(err, ops.ErrTopNSpec) {
			t.Errorf("%+v: err = %v, want ErrTopNSpec", spec, err)
		}
	}
	op, err := ops.NewTopN(ops.TopNSpec{N: 1, InTypes: pst})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exectest.Drive(op, parse(t, kv, "+I 1 a")); err == nil {
		t.Fatal("a batch of the wrong shape was accepted")
	}
}
