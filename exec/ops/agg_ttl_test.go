package ops_test

import (
	"math"
	"testing"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// fakeClock is a processing-time clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// ttlStep is one input batch at a time: at is the clock's offset from the
// start, in the input (0 or 1 for joins), and want the rows emitted.
type ttlStep struct {
	at    time.Duration
	input int
	in    string
	want  string
}

// ttlModes runs fn with in-memory state and with keyed state (a fresh
// store per run; st is nil in memory).
func ttlModes(t *testing.T, fn func(t *testing.T, tc *exec.TaskContext, st *state.Store)) {
	t.Run("memory", func(t *testing.T) { fn(t, exectest.TaskContext(t.Context()), nil) })
	t.Run("keyed", func(t *testing.T) {
		st := openStore(t)
		fn(t, keyedTC(t, st, "ttl"), st)
	})
}

// runTTLSteps feeds the steps to op (opened with tc) with the clock at
// each step's time, checking each step's output.
func runTTLSteps(t *testing.T, op exec.Operator, clock *fakeClock, inTypes [2][]types.Type, outTypes []types.Type, steps []ttlStep) {
	t.Helper()
	start := clock.t
	for n, s := range steps {
		clock.t = start.Add(s.at)
		var o exectest.Output
		b := parse(t, inTypes[s.input], s.in)
		var err error
		if m, ok := op.(exec.MultiInputOperator); ok {
			err = m.ProcessInput(s.input, b, &o)
		} else {
			err = op.Process(b, &o)
		}
		if err != nil {
			t.Fatalf("step %d: %v", n+1, err)
		}
		if g, w := exectest.FormatAll(o.Batches), canonicalOrEmpty(t, outTypes, s.want); g != w {
			t.Errorf("step %d (at %v): rows:\n%s\nwant:\n%s", n+1, s.at, g, w)
		}
	}
}

// checkSwept moves the clock far ahead, snapshots op until every key group
// has been swept, and checks that the job's state is empty.
func checkSwept(t *testing.T, op exec.Snapshotter, clock *fakeClock, st *state.Store) {
	t.Helper()
	if st == nil {
		return
	}
	if _, err := op.Snapshot(1); err != nil {
		t.Fatal(err)
	}
	if n, err := st.NamespaceKeys(state.JobNamespace("ttl"), math.MaxUint64); err != nil || n == 0 {
		t.Fatalf("before the sweep: %d keys, %v; want some", n, err)
	}
	clock.t = clock.t.Add(24 * time.Hour)
	for id := int64(2); id < 2+128/8; id++ {
		if _, err := op.Snapshot(id); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := st.NamespaceKeys(state.JobNamespace("ttl"), math.MaxUint64); err != nil || n != 0 {
		t.Fatalf("after the sweep: %d keys, %v; want none", n, err)
	}
}

var ttlBigints = []types.Type{types.BigInt, types.BigInt}

// TestGroupAggStateTTL: a group idle for longer than the TTL starts again
// from zero (+I, as Flink emits for a group without state); one accessed
// within the TTL keeps its state; checkpoints sweep expired groups.
func TestGroupAggStateTTL(t *testing.T) {
	ttlModes(t, func(t *testing.T, tc *exec.TaskContext, st *state.Store) {
		clock := &fakeClock{t: time.Unix(1_000_000, 0)}
		spec := ops.GroupAggSpec{GroupCols: []int{0}, InTypes: ttlBigints, StateTTL: time.Hour, Now: clock.now,
			Calls: []ops.AggCall{
				{Kind: ops.AggCountStar, Arg: -1, Filter: -1, OutType: types.BigInt},
				{Kind: ops.AggSum, Arg: 1, Filter: -1, OutType: types.BigInt},
			}}
		g, err := ops.NewGroupAgg(spec)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		if err := g.Open(tc); err != nil {
			t.Fatal(err)
		}
		runTTLSteps(t, g, clock, [2][]types.Type{ttlBigints}, g.OutTypes(), []ttlStep{
			{0, 0, "+I 1 10 / +I 2 5", "+I 1 1 10 / +I 2 1 5"},
			{30 * time.Minute, 0, "+I 2 5", "-U 2 1 5 / +U 2 2 10"},
			// Group 1 has been idle 80 minutes, group 2 50.
			{80 * time.Minute, 0, "+I 1 7 / +I 2 1", "+I 1 1 7 / -U 2 2 10 / +U 2 3 11"},
			// Group 1's state expired: a retraction finds none.
			{200 * time.Minute, 0, "-D 1 7", ""},
			{201 * time.Minute, 0, "+I 1 3", "+I 1 1 3"},
		})
		checkSwept(t, g, clock, st)
	})
}

// TestJoinStateTTL: a side's rows idle for longer than the TTL no longer
// join; reading rows (a match) keeps them alive.
func TestJoinStateTTL(t *testing.T) {
	ttlModes(t, func(t *testing.T, tc *exec.TaskContext, st *state.Store) {
		clock := &fakeClock{t: time.Unix(1_000_000, 0)}
		j, err := ops.NewJoin(ops.JoinSpec{Type: ops.InnerJoin, LeftKeys: []int{0}, RightKeys: []int{0},
			LeftTypes: ttlBigints, RightTypes: ttlBigints, StateTTL: time.Hour, Now: clock.now})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		if err := j.Open(tc); err != nil {
			t.Fatal(err)
		}
		runTTLSteps(t, j, clock, [2][]types.Type{ttlBigints, ttlBigints}, j.OutTypes(), []ttlStep{
			{0, 0, "+I 1 10", ""},
			// The left row expired.
			{120 * time.Minute, 1, "+I 1 20", ""},
			{130 * time.Minute, 0, "+I 1 11", "+I 1 11 1 20"},
			// The right row is read (and so kept) by the match at 170.
			{170 * time.Minute, 0, "+I 1 12", "+I 1 12 1 20"},
			{220 * time.Minute, 1, "+I 1 21", "+I 1 11 1 21 / +I 1 12 1 21"},
			// 150 minutes after it was added, 20 still joins.
			{270 * time.Minute, 0, "+I 1 13", "+I 1 13 1 20 / +I 1 13 1 21"},
		})
		checkSwept(t, j, clock, st)
	})
}

// TestTopNStateTTL: a partition idle for longer than the TTL starts again
// from its next row; the rows emitted before are not retracted (as in
// Flink).
func TestTopNStateTTL(t *testing.T) {
	ttlModes(t, func(t *testing.T, tc *exec.TaskContext, st *state.Store) {
		clock := &fakeClock{t: time.Unix(1_000_000, 0)}
		op, err := ops.NewTopN(ops.TopNSpec{PartitionCols: []int{0}, Order: []ops.SortKey{ops.Desc(1)}, N: 1,
			InTypes: ttlBigints, StateTTL: time.Hour, Now: clock.now})
		if err != nil {
			t.Fatal(err)
		}
		defer op.Close()
		if err := op.Open(tc); err != nil {
			t.Fatal(err)
		}
		runTTLSteps(t, op, clock, [2][]types.Type{ttlBigints}, op.OutTypes(), []ttlStep{
			{0, 0, "+I 1 10 / +I 2 10", "+I 1 10 / +I 2 10"},
			{50 * time.Minute, 0, "+I 2 5", ""},
			{100 * time.Minute, 0, "+I 1 5 / +I 2 4", "+I 1 5"},
			{110 * time.Minute, 0, "+I 1 7 / +I 2 11", "-D 1 5 / +I 1 7 / -D 2 10 / +I 2 11"},
		})
		checkSwept(t, op, clock, st)
	})
}
