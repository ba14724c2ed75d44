package ops_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
)

var (
	avgInt = types.Decimal(18, 4)
	bigint = types.BigInt
)

func call(kind ops.AggKind, arg int, out types.Type) ops.AggCall {
	return ops.AggCall{Kind: kind, Arg: arg, Filter: -1, OutType: out}
}

func countStar() ops.AggCall { return call(ops.AggCountStar, -1, bigint) }

func newAgg(t *testing.T, spec ops.GroupAggSpec) *ops.GroupAgg {
	t.Helper()
	g, err := ops.NewGroupAgg(spec)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// aggSteps drives g with one input batch per step and checks what each
// step emits ("" for nothing); the last step's want is checked after
// Finish when finish is set.
type aggStep struct{ in, want string }

func runSteps(t *testing.T, g *ops.GroupAgg, steps []aggStep, finishWant string) {
	t.Helper()
	in := g.Spec.InTypes
	outTs := g.OutTypes()
	if err := g.Open(exectest.TaskContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := g.Close(); err != nil {
			t.Error(err)
		}
	}()
	for k, s := range steps {
		var o exectest.Output
		if err := g.Process(exectest.MustParse(t, in, s.in), &o); err != nil {
			t.Fatalf("step %d: %v", k+1, err)
		}
		if got, want := exectest.FormatAll(o.Batches), canonical(t, outTs, s.want); got != want {
			t.Errorf("step %d (%s):\n%s\nwant:\n%s", k+1, s.in, got, want)
		}
	}
	var o exectest.Output
	if err := g.Finish(&o); err != nil {
		t.Fatal(err)
	}
	if got, want := exectest.FormatAll(o.Batches), canonical(t, outTs, finishWant); got != want {
		t.Errorf("finish:\n%s\nwant:\n%s", got, want)
	}
}

func canonical(t *testing.T, ts []types.Type, s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return exectest.Canonical(t, ts, s)
}

func TestGroupAggKeyed(t *testing.T) {
	g := newAgg(t, ops.GroupAggSpec{
		GroupCols: []int{0},
		InTypes:   []types.Type{types.String, bigint},
		Calls: []ops.AggCall{
			countStar(),
			call(ops.AggCount, 1, bigint),
			call(ops.AggSum, 1, bigint),
			call(ops.AggAvg, 1, avgInt),
			call(ops.AggMin, 1, bigint),
			call(ops.AggMax, 1, bigint),
		},
	})
	runSteps(t, g, []aggStep{
		{"+I a 1 / +I b 2 / +I a 3 / +I b NULL", `
			+I a 2 2 4 2.0000 1 3
			+I b 2 1 2 2.0000 2 2`},
		{"+I a 4 / -D b 2", `
			-U a 2 2 4 2.0000 1 3
			+U a 3 3 8 2.6667 1 4
			-U b 2 1 2 2.0000 2 2
			+U b 1 0 NULL NULL NULL NULL`},
		{"-D b NULL", "-D b 1 0 NULL NULL NULL NULL"},
		{"-U a 4 / +U a 4", ""}, // unchanged result: nothing
		// The minimum is retracted: the next one replaces it.
		{"-D a 1", `
			-U a 3 3 8 2.6667 1 4
			+U a 2 2 7 3.5000 3 4`},
		// b comes back: a new first result.
		{"+I b 7", "+I b 1 1 7 7.0000 7 7"},
		// A group added and emptied within one batch emits nothing.
		{"+I c 1 / -D c 1", ""},
		{"-D a 3 / -D a 4", "-D a 2 2 7 3.5000 3 4"},
	}, "")
}

func TestGroupAggMinMaxRetraction(t *testing.T) {
	ts := []types.Type{bigint, types.String}
	g := newAgg(t, ops.GroupAggSpec{
		GroupCols: []int{0},
		InTypes:   ts,
		Calls:     []ops.AggCall{call(ops.AggMin, 1, types.String), call(ops.AggMax, 1, types.String)},
	})
	runSteps(t, g, []aggStep{
		{"+I 1 b / +I 1 a / +I 1 B / +I 1 a / +I 1 c", "+I 1 B c"},
		{"-D 1 a", ""}, // a duplicate: min and max unchanged
		{"-D 1 B", "-U 1 B c / +U 1 a c"},
		{"-U 1 c / +U 1 d", "-U 1 a c / +U 1 a d"},
		{"-D 1 d / -D 1 a", "-U 1 a d / +U 1 b b"},
	}, "")
}

func TestGroupAggDistinct(t *testing.T) {
	ts := []types.Type{types.String, bigint}
	g := newAgg(t, ops.GroupAggSpec{
		GroupCols: []int{0},
		InTypes:   ts,
		Calls: []ops.AggCall{
			{Kind: ops.AggCount, Arg: 1, Distinct: true, Filter: -1, OutType: bigint},
			{Kind: ops.AggSum, Arg: 1, Distinct: true, Filter: -1, OutType: bigint},
			{Kind: ops.AggAvg, Arg: 1, Distinct: true, Filter: -1, OutType: avgInt},
			{Kind: ops.AggMax, Arg: 1, Distinct: true, Filter: -1, OutType: bigint},
			countStar(),
		},
	})
	runSteps(t, g, []aggStep{
		{"+I a 1 / +I a 1 / +I a 2 / +I a NULL", "+I a 2 3 1.5000 2 4"},
		{"-D a 1", "-U a 2 3 1.5000 2 4 / +U a 2 3 1.5000 2 3"},
		{"-D a 1", "-U a 2 3 1.5000 2 3 / +U a 1 2 2.0000 2 2"},
		{"-D a 2 / +I a 5 / +I a 5", "-U a 1 2 2.0000 2 2 / +U a 1 5 5.0000 5 3"},
		{"-D a NULL / -D a 5 / -D a 5", "-D a 1 5 5.0000 5 3"},
	}, "")
}

func TestGroupAggFilter(t *testing.T) {
	ts := []types.Type{bigint, bigint, types.Bool}
	filtered := func(c ops.AggCall) ops.AggCall { c.Filter = 2; return c }
	g := newAgg(t, ops.GroupAggSpec{
		GroupCols: []int{0},
		InTypes:   ts,
		Calls: []ops.AggCall{
			filtered(countStar()),
			filtered(call(ops.AggSum, 1, bigint)),
			filtered(call(ops.AggMin, 1, bigint)),
			countStar(),
		},
	})
	runSteps(t, g, []aggStep{
		{"+I 1 10 true / +I 1 20 false / +I 1 30 NULL / +I 1 40 true / +I 2 5 false", `
			+I 1 2 50 10 4
			+I 2 0 NULL NULL 1`},
		{"-D 1 10 true / -D 1 20 false", "-U 1 2 50 10 4 / +U 1 1 40 40 2"},
	}, "")
}

func TestGroupAggGlobal(t *testing.T) {
	ts := []types.Type{bigint}
	spec := ops.GroupAggSpec{
		InTypes: ts,
		Calls: []ops.AggCall{
			countStar(), call(ops.AggCount, 0, bigint), call(ops.AggSum, 0, bigint),
			call(ops.AggAvg, 0, avgInt), call(ops.AggMin, 0, bigint),
		},
	}
	// Empty bounded input: one row at Finish, as a batch database.
	runSteps(t, newAgg(t, spec), nil, "+I 0 0 NULL NULL NULL")
	// A batch with no rows changes nothing.
	runSteps(t, newAgg(t, spec), []aggStep{{"", ""}}, "+I 0 0 NULL NULL NULL")

	runSteps(t, newAgg(t, spec), []aggStep{
		{"+I 1 / +I 2", "+I 2 2 3 1.5000 1"},
		// Back to no rows: the global row updates, it is not deleted.
		{"-D 1 / -D 2", "-U 2 2 3 1.5000 1 / +U 0 0 NULL NULL NULL"},
		{"+I NULL", "-U 0 0 NULL NULL NULL / +U 1 0 NULL NULL NULL"},
	}, "") // rows arrived: nothing at Finish
	// Added and retracted in the first batch: the first result is the
	// empty row.
	runSteps(t, newAgg(t, spec), []aggStep{{"+I 1 / -D 1", "+I 0 0 NULL NULL NULL"}}, "")

	// Only subtask 0 emits the empty row.
	g := newAgg(t, spec)
	tc := exectest.TaskContext(t.Context())
	tc.Subtask, tc.Parallelism = 1, 2
	if err := g.Open(tc); err != nil {
		t.Fatal(err)
	}
	var o exectest.Output
	if err := g.Finish(&o); err != nil || len(o.Batches) != 0 {
		t.Fatalf("subtask 1 finish: %v, %d batches", err, len(o.Batches))
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestGroupAggGlobalDrive(t *testing.T) {
	g := newAgg(t, ops.GroupAggSpec{InTypes: []types.Type{bigint}, Calls: []ops.AggCall{countStar()}})
	out, err := exectest.Drive(g)
	if err != nil {
		t.Fatal(err)
	}
	exectest.Expect(t, g.OutTypes(), out, "+I 0")
}

func TestGroupAggNulls(t *testing.T) {
	ts := []types.Type{types.String, bigint, types.Double}
	g := newAgg(t, ops.GroupAggSpec{
		GroupCols: []int{0, 1},
		InTypes:   ts,
		Calls: []ops.AggCall{
			countStar(), call(ops.AggCount, 2, bigint), call(ops.AggSum, 2, types.Double),
			call(ops.AggAvg, 2, types.Double), call(ops.AggMax, 2, types.Double),
		},
	})
	runSteps(t, g, []aggStep{
		// NULL keys form their own groups; NULL arguments are ignored.
		{"+I NULL 1 NULL / +I NULL 1 1.5 / +I a NULL NULL / +I NULL NULL 2", `
			+I NULL 1 2 1 1.5 1.5 1.5
			+I a NULL 1 0 NULL NULL NULL
			+I NULL NULL 1 1 2 2 2`},
		{"-D NULL 1 1.5", "-U NULL 1 2 1 1.5 1.5 1.5 / +U NULL 1 1 0 NULL NULL NULL"},
	}, "")
}

func TestGroupAggLeadingRetractionIgnored(t *testing.T) {
	ts := []types.Type{types.String, bigint}
	g := newAgg(t, ops.GroupAggSpec{
		GroupCols: []int{0}, InTypes: ts,
		Calls: []ops.AggCall{countStar(), call(ops.AggSum, 1, bigint)},
	})
	runSteps(t, g, []aggStep{
		// As in Flink: a retraction for a group without state is dropped.
		{"-D a 5 / -U a 6 / +I a 2 / +I b 1 / -D a 2 / +I a 3", `
			+I a 1 3
			+I b 1 1`},
		{"-D z 1", ""},
	}, "")
}

func TestGroupAggNumericTypes(t *testing.T) {
	ts := []types.Type{bigint, types.Decimal(10, 2), types.Int, types.Double, types.Float}
	g := newAgg(t, ops.GroupAggSpec{
		GroupCols: []int{0},
		InTypes:   ts,
		Calls: []ops.AggCall{
			call(ops.AggSum, 1, types.Decimal(18, 2)),
			call(ops.AggAvg, 1, types.Decimal(18, 6)),
			call(ops.AggAvg, 2, avgInt),
			call(ops.AggSum, 3, types.Double),
			call(ops.AggAvg, 4, types.Double),
			call(ops.AggMin, 1, types.Decimal(10, 2)),
			call(ops.AggSum, 2, types.Double), // an integer SUM as DOUBLE
		},
	})
	runSteps(t, g, []aggStep{
		{"+I 1 1.00 -1 0.5 1 / +I 1 2.01 -2 0.25 2 / +I 1 0.01 0 1 3.5",
			"+I 1 3.02 1.006667 -1.0000 1.75 2.1666666666666665 0.01 -3"},
		{"-D 1 0.01 0 1 3.5 / +I 1 -3.02 2 0 0", "-U 1 3.02 1.006667 -1.0000 1.75 2.1666666666666665 0.01 -3 / +U 1 -0.01 -0.003333 -0.3333 0.75 1 -3.02 -1"},
		{"+I 2 0.01 1 0 0 / +I 2 0.01 1 0 0 / +I 2 0.00 0 0 0", "+I 2 0.02 0.006667 0.6667 0 0 0.00 2"},
		{"+I 3 -0.01 -1 0 0 / +I 3 -0.01 -1 0 0 / +I 3 0.00 0 0 0", "+I 3 -0.02 -0.006667 -0.6667 0 0 -0.01 -2"},
	}, "")
}

func TestGroupAggSumOverflow(t *testing.T) {
	ts := []types.Type{bigint, bigint}
	g := newAgg(t, ops.GroupAggSpec{GroupCols: []int{0}, InTypes: ts, Calls: []ops.AggCall{call(ops.AggSum, 1, bigint)}})
	_, err := exectest.Drive(g, exectest.MustParse(t, ts, "+I 1 9223372036854775807 / +I 1 1"))
	if !errors.Is(err, expr.ErrOutOfRange) || !strings.Contains(err.Error(), "SUM($1)") {
		t.Fatalf("err = %v", err)
	}
	g = newAgg(t, ops.GroupAggSpec{GroupCols: []int{0}, InTypes: ts, Calls: []ops.AggCall{call(ops.AggSum, 1, bigint)}})
	_, err = exectest.Drive(g, exectest.MustParse(t, ts, "+I 1 -9223372036854775807 / -D 1 2"))
	if err != nil {
		// -D of a row that was never added still applies once the group
		// exists: -9223372036854775807 - 2 overflows.
		if !errors.Is(err, expr.ErrOutOfRange) {
			t.Fatalf("err = %v", err)
		}
	} else {
		t.Fatal("no overflow error")
	}
	// A DECIMAL(18, 0) result beyond 18 digits.
	dts := []types.Type{bigint, types.Decimal(18, 0)}
	g = newAgg(t, ops.GroupAggSpec{GroupCols: []int{0}, InTypes: dts, Calls: []ops.AggCall{call(ops.AggSum, 1, types.Decimal(18, 0))}})
	_, err = exectest.Drive(g, exectest.MustParse(t, dts, "+I 1 999999999999999999 / +I 1 1"))
	if !errors.Is(err, expr.ErrOutOfRange) {
		t.Fatalf("decimal err = %v", err)
	}
}

func TestGroupAggInsertOnly(t *testing.T) {
	ts := []types.Type{bigint, types.String, types.Double}
	spec := ops.GroupAggSpec{
		GroupCols: []int{0}, InTypes: ts, InsertOnly: true,
		Calls: []ops.AggCall{
			call(ops.AggMin, 1, types.String), call(ops.AggMax, 1, types.String),
			call(ops.AggMin, 2, types.Double), call(ops.AggMax, 2, types.Double),
			{Kind: ops.AggCount, Arg: 1, Distinct: true, Filter: -1, OutType: bigint},
		},
	}
	runSteps(t, newAgg(t, spec), []aggStep{
		{"+I 1 b 2 / +I 1 a 3 / +I 1 c 1 / +I 1 NULL NULL", "+I 1 a c 1 3 3"},
		{"+I 1 b 0", "-U 1 a c 1 3 3 / +U 1 a c 0 3 3"},
		{"+I 1 d 5", "-U 1 a c 0 3 3 / +U 1 a d 0 5 4"},
	}, "")
	_, err := exectest.Drive(newAgg(t, spec), exectest.MustParse(t, ts, "+I 1 a 1 / -D 1 a 1"))
	if !errors.Is(err, ops.ErrAggRetraction) {
		t.Fatalf("err = %v", err)
	}
}

func TestGroupAggBadSpec(t *testing.T) {
	ts := []types.Type{bigint, types.String}
	for _, spec := range []ops.GroupAggSpec{
		{GroupCols: []int{2}, InTypes: ts},
		{InTypes: ts, Calls: []ops.AggCall{call(ops.AggSum, 1, bigint)}},                              // SUM of a string
		{InTypes: ts, Calls: []ops.AggCall{call(ops.AggSum, 5, bigint)}},                              // no such column
		{InTypes: ts, Calls: []ops.AggCall{call(ops.AggMin, 1, bigint)}},                              // MIN of a string as BIGINT
		{InTypes: ts, Calls: []ops.AggCall{call(ops.AggCount, 0, types.String)}},                      // COUNT as a string
		{InTypes: ts, Calls: []ops.AggCall{call(ops.AggCountStar, 0, types.BigInt)}},                  // COUNT(*) with an argument
		{InTypes: ts, Calls: []ops.AggCall{{Kind: ops.AggCount, Arg: 0, Filter: 1, OutType: bigint}}}, // string filter
		{InTypes: ts, Calls: []ops.AggCall{call(ops.AggKind(42), 0, bigint)}},
	} {
		if _, err := ops.GroupAggFactory(spec)(0); !errors.Is(err, ops.ErrAggSpec) {
			t.Errorf("%+v: err = %v", spec, err)
		}
	}
	g := newAgg(t, ops.GroupAggSpec{GroupCols: []int{0}, InTypes: ts, Calls: []ops.AggCall{countStar()}})
	if _, err := exectest.Drive(g, exectest.MustParse(t, []types.Type{bigint}, "+I 1")); err == nil {
		t.Error("a batch with a missing column was accepted")
	}
}

func TestGroupAggOutputBatchSize(t *testing.T) {
	ts := []types.Type{bigint}
	g := newAgg(t, ops.GroupAggSpec{GroupCols: []int{0}, InTypes: ts, Calls: []ops.AggCall{countStar()}})
	mk := func() *types.Batch {
		b := types.NewBatch(ts)
		for i := range 3000 {
			b.AppendRow(types.Insert, []types.Datum{types.IntDatum(int64(i))})
		}
		return b
	}
	out, err := exectest.Drive(g, mk(), mk())
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, b := range out {
		if b.Len() > types.DefaultBatchSize {
			t.Errorf("output batch of %d rows", b.Len())
		}
		for i, op := range b.Ops {
			if op == types.UpdateBefore && (i+1 == b.Len() || b.Ops[i+1] != types.UpdateAfter) {
				t.Error("-U not followed by its +U in the same batch")
			}
		}
		rows += b.Len()
	}
	if rows != 3000+6000 {
		t.Errorf("%d rows", rows)
	}
}

// TestGroupAggRandom checks GroupAgg against a recomputation from scratch
// on random changelogs (valid ones: only live rows are retracted), with
// every kind of call, DISTINCT and FILTER. The output changelog is
// checked for consistency (every -U/-D retracts the current row of its
// key) and, once applied, must equal the recomputed aggregate.
func TestGroupAggRandom(t *testing.T) {
	for seed := range uint64(20) {
		for _, insertOnly := range []bool{false, true} {
			t.Run(fmt.Sprintf("seed%d/insertOnly=%v", seed, insertOnly), func(t *testing.T) {
				spec, batches, rowsLive := randomAggInput(seed, insertOnly, 40)
				g := newAgg(t, spec)
				out, err := exectest.Drive(g, batches...)
				if err != nil {
					t.Fatal(err)
				}
				checkAggOutput(t, spec, g.OutTypes(), out, rowsLive)
			})
		}
	}
}

// randomAggSpec is the spec of the random tests: input (k1 BIGINT, k2
// STRING, v BIGINT, d DOUBLE, s STRING, f BOOLEAN, m DECIMAL(8, 2)).
func randomAggSpec(global, insertOnly bool) ops.GroupAggSpec {
	ts := []types.Type{bigint, types.String, bigint, types.Double, types.String, types.Bool, types.Decimal(8, 2)}
	spec := ops.GroupAggSpec{GroupCols: []int{0, 1}, InTypes: ts, InsertOnly: insertOnly}
	if global {
		spec.GroupCols = nil
	}
	add := func(c ops.AggCall, distinct bool, filter int) {
		c.Distinct, c.Filter = distinct, filter
		spec.Calls = append(spec.Calls, c)
	}
	for _, filter := range []int{-1, 5} {
		add(countStar(), false, filter)
		for _, distinct := range []bool{false, true} {
			add(call(ops.AggCount, 2, bigint), distinct, filter)
			add(call(ops.AggSum, 2, bigint), distinct, filter)
			add(call(ops.AggAvg, 2, avgInt), distinct, filter)
			add(call(ops.AggSum, 6, types.Decimal(18, 2)), distinct, filter)
			add(call(ops.AggAvg, 6, types.Decimal(18, 6)), distinct, filter)
			add(call(ops.AggMin, 2, bigint), distinct, filter)
			add(call(ops.AggMax, 4, types.String), distinct, filter)
			add(call(ops.AggMin, 3, types.Double), distinct, filter)
			add(call(ops.AggCount, 4, bigint), distinct, filter)
		}
	}
	return spec
}

// randomAggInput returns a random valid changelog of nBatches batches and
// the rows live at its end.
func randomAggInput(seed uint64, insertOnly bool, nBatches int) (ops.GroupAggSpec, []*types.Batch, [][]types.Datum) {
	r := rand.New(rand.NewPCG(seed, 99))
	spec := randomAggSpec(seed%5 == 0, insertOnly)
	nKeys := []int{1, 3, 20, 300}[r.IntN(4)]
	randRow := func() []types.Datum {
		row := []types.Datum{
			types.IntDatum(r.Int64N(int64(nKeys))),
			types.StringDatum([]string{"x", "y"}[r.IntN(2)]),
			types.IntDatum(r.Int64N(21) - 10),
			types.DoubleDatum(float64(r.IntN(8)) / 4),
			types.StringDatum(string(rune('a' + r.IntN(6)))),
			types.BoolDatum(r.IntN(3) > 0),
			types.DecimalDatum(r.Int64N(2001)-1000, 8, 2),
		}
		for c := range row {
			if r.IntN(7) == 0 {
				row[c] = types.NullDatum(spec.InTypes[c])
			}
		}
		return row
	}
	var live [][]types.Datum
	var batches []*types.Batch
	for range nBatches {
		b := types.NewBatch(spec.InTypes)
		for range r.IntN(60) {
			switch k := r.IntN(10); {
			case insertOnly || k < 5 || len(live) == 0:
				row := randRow()
				live = append(live, row)
				b.AppendRow(types.Insert, row)
			case k < 8:
				j := r.IntN(len(live))
				b.AppendRow([]types.Op{types.Delete, types.UpdateBefore}[r.IntN(2)], live[j])
				live = slices.Delete(live, j, j+1)
			default: // an update: -U old, +U new
				j := r.IntN(len(live))
				b.AppendRow(types.UpdateBefore, live[j])
				row := randRow()
				b.AppendRow(types.UpdateAfter, row)
				live[j] = row
			}
		}
		batches = append(batches, b)
	}
	return spec, batches, live
}

// checkAggOutput applies out to a table keyed by the group columns,
// checking every retraction, and compares the table with the aggregate
// recomputed from the live rows.
func checkAggOutput(t *testing.T, spec ops.GroupAggSpec, outTs []types.Type, out []*types.Batch, live [][]types.Datum) {
	t.Helper()
	ng := len(spec.GroupCols)
	table := map[string]string{}
	pendingU := ""
	for _, b := range out {
		for i, op := range b.Ops {
			row := exectest.Format(rowBatch(b, i))[3:]
			parts := strings.SplitN(row+" ", " ", ng+1)
			key := strings.Join(parts[:ng], " ")
			cur, ok := table[key]
			switch op {
			case types.Insert:
				if ok {
					t.Fatalf("+I %s: key present as %s", row, cur)
				}
				table[key] = row
			case types.UpdateBefore, types.Delete:
				if !ok || cur != row {
					t.Fatalf("%v %s: current row is %q", op, row, cur)
				}
				delete(table, key)
				if op == types.UpdateBefore {
					pendingU = key
				}
			case types.UpdateAfter:
				if pendingU != key || ok {
					t.Fatalf("+U %s without its -U", row)
				}
				pendingU = ""
				table[key] = row
			}
		}
	}
	want := map[string]string{}
	groups := map[string][][]types.Datum{}
	var order []string
	for _, row := range live {
		var kd []types.Datum
		for _, c := range spec.GroupCols {
			kd = append(kd, row[c])
		}
		k := fmt.Sprint(kd)
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], row)
	}
	if ng == 0 && len(groups) == 0 && len(table) > 0 {
		groups[""] = nil
		order = append(order, "")
	}
	for _, k := range order {
		rows := groups[k]
		b := types.NewBatch(outTs)
		var res []types.Datum
		if len(rows) > 0 {
			for _, c := range spec.GroupCols {
				res = append(res, rows[0][c])
			}
		}
		for _, c := range spec.Calls {
			res = append(res, refAggregate(c, rows))
		}
		b.AppendRow(types.Insert, res)
		row := exectest.Format(b)[3:]
		parts := strings.SplitN(row+" ", " ", ng+1)
		want[strings.Join(parts[:ng], " ")] = row
	}
	for k, w := range want {
		if table[k] != w {
			t.Errorf("group %q: %q, want %q", k, table[k], w)
		}
	}
	for k, g := range table {
		if _, ok := want[k]; !ok {
			t.Errorf("extra group %q: %q", k, g)
		}
	}
}

func rowBatch(b *types.Batch, i int) *types.Batch {
	o := types.NewBatch(b.Types())
	o.AppendFrom(b, i)
	return o
}

// refAggregate computes c over rows from scratch.
func refAggregate(c ops.AggCall, rows [][]types.Datum) types.Datum {
	var vals []types.Datum
	seen := map[string]bool{}
	n := 0
	for _, r := range rows {
		if c.Filter >= 0 && (r[c.Filter].Null || r[c.Filter].I == 0) {
			continue
		}
		n++
		if c.Arg < 0 || r[c.Arg].Null {
			continue
		}
		v := r[c.Arg]
		if c.Distinct {
			if seen[v.String()] {
				continue
			}
			seen[v.String()] = true
		}
		vals = append(vals, v)
	}
	switch c.Kind {
	case ops.AggCountStar:
		return types.IntDatum(int64(n))
	case ops.AggCount:
		return types.IntDatum(int64(len(vals)))
	}
	if len(vals) == 0 {
		return types.NullDatum(c.OutType)
	}
	switch c.Kind {
	case ops.AggMin, ops.AggMax:
		best := vals[0]
		for _, v := range vals[1:] {
			if cmp := types.Compare(v, best); (c.Kind == ops.AggMin && cmp < 0) || (c.Kind == ops.AggMax && cmp > 0) {
				best = v
			}
		}
		best.Type = c.OutType
		return best
	}
	var si int64
	var sf float64
	for _, v := range vals {
		si += v.I
		sf += v.F
	}
	if c.OutType.Class() == types.ClassF64 {
		if c.Kind == ops.AggAvg {
			sf /= float64(len(vals))
		}
		return types.DoubleDatum(sf)
	}
	inScale := vals[0].Type.Scale
	if c.Kind == ops.AggSum {
		return types.Datum{Type: c.OutType, I: si * types.Pow10[c.OutType.Scale-inScale]}
	}
	// Round half away from zero, on small values only.
	num := si * types.Pow10[c.OutType.Scale-inScale]
	den := int64(len(vals))
	q, rem := num/den, num%den
	if rem < 0 {
		rem = -rem
	}
	if 2*rem >= den {
		if num < 0 {
			q--
		} else {
			q++
		}
	}
	return types.Datum{Type: c.OutType, I: q}
}

func TestGroupAggDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	ts := []types.Type{bigint, bigint}
	g := newAgg(t, ops.GroupAggSpec{
		GroupCols: []int{0}, InTypes: ts,
		Calls: []ops.AggCall{countStar(), call(ops.AggSum, 1, bigint), call(ops.AggAvg, 1, avgInt)},
	})
	tmpl := types.NewBatch(ts)
	for i := range types.DefaultBatchSize {
		tmpl.AppendRow(types.Insert, []types.Datum{types.IntDatum(int64(i % 500)), types.IntDatum(int64(i))})
	}
	step := func() {
		b := types.NewBatch(ts)
		exec.CopyBatch(b, tmpl)
		if err := g.Process(b, discard{}); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		step()
	}
	if n := testing.AllocsPerRun(50, step); n > 0 {
		t.Errorf("%v allocations per batch of existing groups", n)
	}
}

func TestGroupAggFloatSumRestartsAtZero(t *testing.T) {
	ts := []types.Type{bigint, types.Double}
	g := newAgg(t, ops.GroupAggSpec{
		GroupCols: []int{0}, InTypes: ts,
		Calls: []ops.AggCall{countStar(), call(ops.AggSum, 1, types.Double)},
	})
	runSteps(t, g, []aggStep{
		{"+I 1 0.1 / +I 1 0.2 / +I 1 NULL", "+I 1 3 0.30000000000000004"},
		// 0.1 + 0.2 - 0.1 - 0.2 leaves a residue of 2.8e-17 in a float
		// sum; a sum over no value starts again from 0.
		{"-D 1 0.1 / -D 1 0.2", "-U 1 3 0.30000000000000004 / +U 1 1 NULL"},
		{"+I 1 1e-20", "-U 1 1 NULL / +U 1 2 1e-20"},
	}, "")
}

func TestGroupAggStructLiteral(t *testing.T) {
	ts := []types.Type{bigint}
	g := &ops.GroupAgg{Spec: ops.GroupAggSpec{GroupCols: []int{0}, InTypes: ts, Calls: []ops.AggCall{countStar()}}}
	out, err := exectest.Drive(g, exectest.MustParse(t, ts, "+I 1 / +I 1 / +I 2"))
	if err != nil {
		t.Fatal(err)
	}
	exectest.Expect(t, g.OutTypes(), out, "+I 1 2 / +I 2 1")

	bad := &ops.GroupAgg{Spec: ops.GroupAggSpec{GroupCols: []int{3}, InTypes: ts}}
	if _, err := exectest.Drive(bad, exectest.MustParse(t, ts, "+I 1")); !errors.Is(err, ops.ErrAggSpec) {
		t.Fatalf("err = %v", err)
	}
}

func TestGroupAggInsertOnlyRefusesAnyRetraction(t *testing.T) {
	ts := []types.Type{bigint, bigint}
	g := newAgg(t, ops.GroupAggSpec{GroupCols: []int{0}, InTypes: ts, InsertOnly: true,
		Calls: []ops.AggCall{countStar(), call(ops.AggMax, 1, bigint)}})
	// The retracted row has a NULL argument: MAX would skip it, yet the
	// input is not insert-only.
	_, err := exectest.Drive(g, exectest.MustParse(t, ts, "+I 1 NULL / -U 1 NULL / +U 1 2"))
	if !errors.Is(err, ops.ErrAggRetraction) {
		t.Fatalf("err = %v", err)
	}
}

func TestGroupAggFailureIsSticky(t *testing.T) {
	ts := []types.Type{bigint, bigint}
	g := newAgg(t, ops.GroupAggSpec{GroupCols: []int{0}, InTypes: ts, Calls: []ops.AggCall{call(ops.AggSum, 1, bigint)}})
	var o exectest.Output
	err1 := g.Process(exectest.MustParse(t, ts, "+I 1 9223372036854775807 / +I 1 1"), &o)
	err2 := g.Process(exectest.MustParse(t, ts, "+I 2 1"), &o)
	if err1 == nil || !errors.Is(err2, expr.ErrOutOfRange) || len(o.Batches) != 0 {
		t.Fatalf("err1 %v err2 %v out %q", err1, err2, exectest.FormatAll(o.Batches))
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}
