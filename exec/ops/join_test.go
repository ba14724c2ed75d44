package ops_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// Left input (k BIGINT, v STRING), right input (k BIGINT, w STRING),
// joined on k.
var (
	joinL   = []types.Type{types.BigInt, types.String}
	joinR   = []types.Type{types.BigInt, types.String}
	joinOut = []types.Type{types.BigInt, types.String, types.BigInt, types.String}
)

func kvSpec(jt ops.JoinType) ops.JoinSpec {
	return ops.JoinSpec{Type: jt, LeftKeys: []int{0}, RightKeys: []int{0}, LeftTypes: joinL, RightTypes: joinR}
}

// joinStep feeds rows (batch notation) to input in (0 left, 1 right) and
// expects the rows want to be emitted.
type joinStep struct {
	in   int
	rows string
	want string
}

// runJoinSteps drives a Join through steps, checking each step's output.
func runJoinSteps(t *testing.T, spec ops.JoinSpec, steps []joinStep) {
	t.Helper()
	j, err := ops.NewJoin(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	out := j.OutTypes()
	ins := [2][]types.Type{spec.LeftTypes, spec.RightTypes}
	for n, s := range steps {
		var o exectest.Output
		if err := j.ProcessInput(s.in, exectest.MustParse(t, ins[s.in], s.rows), &o); err != nil {
			t.Fatalf("step %d: %v", n+1, err)
		}
		if g, w := exectest.FormatAll(o.Batches), exectest.Canonical(t, out, s.want); g != w {
			t.Errorf("step %d (input %d: %s):\n%s\nwant:\n%s", n+1, s.in, s.rows, g, w)
		}
	}
}

func TestJoinInner(t *testing.T) {
	runJoinSteps(t, kvSpec(ops.InnerJoin), []joinStep{
		{0, "+I 1 a / +I 2 b", ""},
		{1, "+I 1 x", "+I 1 a 1 x"},
		{1, "+I 1 y / +I 3 z", "+I 1 a 1 y"},
		{0, "+I 1 c", "+I 1 c 1 x / +I 1 c 1 y"},
		{0, "-D 1 a", "-D 1 a 1 x / -D 1 a 1 y"},
		// An update moving x from key 1 to key 2.
		{1, "-U 1 x / +U 2 x", "-D 1 c 1 x / +I 2 b 2 x"},
		{0, "-D 9 nope / -D 1 a", ""}, // retractions of absent rows are ignored
		{1, "-D 1 y", "-D 1 c 1 y"},   // c loses its last match: nothing padded
		{0, "-U 2 b / +U 3 b", "-D 2 b 2 x / +I 3 b 3 z"},
	})
}

func TestJoinLeft(t *testing.T) {
	runJoinSteps(t, kvSpec(ops.LeftJoin), []joinStep{
		{0, "+I 1 a / +I 2 b", "+I 1 a NULL NULL / +I 2 b NULL NULL"},
		{1, "+I 1 x", "-D 1 a NULL NULL / +I 1 a 1 x"},
		{1, "+I 1 y", "+I 1 a 1 y"},
		{1, "-D 1 x", "-D 1 a 1 x"},
		{1, "-D 1 y", "-D 1 a 1 y / +I 1 a NULL NULL"}, // last match lost
		{0, "-D 1 a", "-D 1 a NULL NULL"},
		{1, "+I 3 z", ""},
		{0, "+I 3 c", "+I 3 c 3 z"},
		{0, "-U 3 c / +U 3 d", "-D 3 c 3 z / +I 3 d 3 z"},
		{1, "-D 3 z / +I 3 z2", "-D 3 d 3 z / +I 3 d NULL NULL / -D 3 d NULL NULL / +I 3 d 3 z2"},
	})
}

func TestJoinRight(t *testing.T) {
	runJoinSteps(t, kvSpec(ops.RightJoin), []joinStep{
		{1, "+I 1 x / +I 2 y", "+I NULL NULL 1 x / +I NULL NULL 2 y"},
		{0, "+I 1 a", "-D NULL NULL 1 x / +I 1 a 1 x"},
		{0, "+I 1 b", "+I 1 b 1 x"},
		{0, "-D 1 a / -D 1 b", "-D 1 a 1 x / -D 1 b 1 x / +I NULL NULL 1 x"},
		{1, "-D 1 x", "-D NULL NULL 1 x"},
		{0, "+I 2 c", "-D NULL NULL 2 y / +I 2 c 2 y"},
		{1, "-D 2 y", "-D 2 c 2 y"},
	})
}

func TestJoinFull(t *testing.T) {
	runJoinSteps(t, kvSpec(ops.FullJoin), []joinStep{
		{0, "+I 1 a", "+I 1 a NULL NULL"},
		{1, "+I 2 y", "+I NULL NULL 2 y"},
		{1, "+I 1 x", "-D 1 a NULL NULL / +I 1 a 1 x"},
		{0, "+I 2 b", "-D NULL NULL 2 y / +I 2 b 2 y"},
		{0, "-D 1 a", "-D 1 a 1 x / +I NULL NULL 1 x"},
		{1, "-D 2 y", "-D 2 b 2 y / +I 2 b NULL NULL"},
		{0, "-D 2 b", "-D 2 b NULL NULL"},
		{1, "-D 1 x", "-D NULL NULL 1 x"},
	})
}

func TestJoinNullKeysNeverMatch(t *testing.T) {
	t.Run("inner", func(t *testing.T) {
		runJoinSteps(t, kvSpec(ops.InnerJoin), []joinStep{
			{0, "+I NULL a", ""},
			{1, "+I NULL x", ""},
			{0, "-D NULL a", ""},
		})
	})
	t.Run("full", func(t *testing.T) {
		runJoinSteps(t, kvSpec(ops.FullJoin), []joinStep{
			{0, "+I NULL a", "+I NULL a NULL NULL"},
			{1, "+I NULL x", "+I NULL NULL NULL x"},
			{0, "+I NULL b", "+I NULL b NULL NULL"},
			{1, "-D NULL x", "-D NULL NULL NULL x"},
		})
	})
	t.Run("semi and anti", func(t *testing.T) {
		runJoinSteps(t, kvSpec(ops.SemiJoin), []joinStep{
			{1, "+I NULL x", ""},
			{0, "+I NULL a", ""},
			{0, "-D NULL a", ""},
		})
		runJoinSteps(t, kvSpec(ops.AntiJoin), []joinStep{
			{1, "+I NULL x", ""},
			{0, "+I NULL a", "+I NULL a"}, // NOT EXISTS: no match, kept
			{0, "-D NULL a", "-D NULL a"},
		})
	})
}

func TestJoinResidual(t *testing.T) {
	// Left (k, v BIGINT), right (k, w BIGINT), ON l.k = r.k AND l.v < r.w.
	ts := []types.Type{types.BigInt, types.BigInt}
	cond, err := expr.Call("<", expr.Col(1, types.BigInt, "v"), expr.Col(3, types.BigInt, "w"))
	if err != nil {
		t.Fatal(err)
	}
	spec := ops.JoinSpec{Type: ops.LeftJoin, LeftKeys: []int{0}, RightKeys: []int{0},
		LeftTypes: ts, RightTypes: ts, Residual: cond}
	runJoinSteps(t, spec, []joinStep{
		{1, "+I 1 10 / +I 1 20 / +I 2 5", ""},
		{0, "+I 1 15", "+I 1 15 1 20"},
		{0, "+I 1 25 / +I 2 1", "+I 1 25 NULL NULL / +I 2 1 2 5"},
		{0, "+I 1 NULL", "+I 1 NULL NULL NULL"}, // NULL < w is not TRUE
		{1, "+I 1 30", "-D 1 25 NULL NULL / +I 1 15 1 30 / +I 1 25 1 30"},
		{1, "-D 1 20", "-D 1 15 1 20"},
		{1, "-D 1 30", "-D 1 15 1 30 / -D 1 25 1 30 / +I 1 15 NULL NULL / +I 1 25 NULL NULL"},
	})
}

func TestJoinSemi(t *testing.T) {
	runJoinSteps(t, kvSpec(ops.SemiJoin), []joinStep{
		{0, "+I 1 a / +I 2 b", ""},
		{1, "+I 1 x", "+I 1 a"},
		{1, "+I 1 y", ""},
		{0, "+I 1 c", "+I 1 c"},
		{1, "-D 1 x", ""},
		{1, "-D 1 y", "-D 1 a / -D 1 c"},
		{1, "+I 2 z / +I 2 z", "+I 2 b"},
		{0, "-D 2 b", "-D 2 b"},
		{0, "-D 1 a", ""},
	})
}

func TestJoinAnti(t *testing.T) {
	runJoinSteps(t, kvSpec(ops.AntiJoin), []joinStep{
		{0, "+I 1 a / +I 2 b", "+I 1 a / +I 2 b"},
		{1, "+I 1 x", "-D 1 a"},
		{1, "+I 1 y", ""},
		{0, "+I 1 c", ""},
		{1, "-D 1 x", ""},
		{1, "-D 1 y", "+I 1 a / +I 1 c"},
		{0, "-D 1 a", "-D 1 a"},
		{1, "+I 2 z", "-D 2 b"},
		{0, "-D 2 b", ""},
	})
}

func TestJoinMultiColumnKeys(t *testing.T) {
	// Left (a INT, b STRING, v DOUBLE), right (x STRING, y INT), ON a = y AND b = x.
	lt := []types.Type{types.Int, types.String, types.Double}
	rt := []types.Type{types.String, types.Int}
	spec := ops.JoinSpec{Type: ops.InnerJoin, LeftKeys: []int{0, 1}, RightKeys: []int{1, 0}, LeftTypes: lt, RightTypes: rt}
	runJoinSteps(t, spec, []joinStep{
		{0, "+I 1 a 0.5 / +I 1 b 1.5 / +I 2 a 2.5 / +I 1 NULL 3.5", ""},
		{1, "+I a 1", "+I 1 a 0.5 a 1"},
		{1, "+I b 2 / +I a 2 / +I NULL 1", "+I 2 a 2.5 a 2"},
		{0, "-D 1 a 0.5 / +I 2 b 9", "-D 1 a 0.5 a 1 / +I 2 b 9 b 2"},
	})
}

func TestJoinFloatKeys(t *testing.T) {
	// -0 equals 0; the output keeps each side's own value.
	ts := []types.Type{types.Double, types.String}
	spec := ops.JoinSpec{Type: ops.InnerJoin, LeftKeys: []int{0}, RightKeys: []int{0}, LeftTypes: ts, RightTypes: ts}
	runJoinSteps(t, spec, []joinStep{
		{0, "+I 0 a / +I 1.5 b", ""},
		{1, "+I -0 x / +I 1.5 y / +I 2 z", "+I 0 a -0 x / +I 1.5 b 1.5 y"},
		{0, "-D 0 a", "-D 0 a -0 x"},
	})
}

func TestJoinNoKeys(t *testing.T) {
	// A theta join: ON l.v < r.w, every row under the one empty key.
	ts := []types.Type{types.BigInt, types.BigInt}
	cond, err := expr.Call("<", expr.Col(1, types.BigInt, "v"), expr.Col(3, types.BigInt, "w"))
	if err != nil {
		t.Fatal(err)
	}
	spec := ops.JoinSpec{Type: ops.RightJoin, LeftTypes: ts, RightTypes: ts, Residual: cond}
	runJoinSteps(t, spec, []joinStep{
		{0, "+I 1 10 / +I 2 20", ""},
		{1, "+I 7 15", "+I 1 10 7 15"},
		{1, "+I 8 5", "+I NULL NULL 8 5"},
		{0, "+I 3 1", "-D NULL NULL 8 5 / +I 3 1 7 15 / +I 3 1 8 5"},
	})
}

func TestJoinDuplicateRows(t *testing.T) {
	runJoinSteps(t, kvSpec(ops.LeftJoin), []joinStep{
		{0, "+I 1 a / +I 1 a", "+I 1 a NULL NULL / +I 1 a NULL NULL"},
		{1, "+I 1 x", "-D 1 a NULL NULL / -D 1 a NULL NULL / +I 1 a 1 x / +I 1 a 1 x"},
		{1, "+I 1 x", "+I 1 a 1 x / +I 1 a 1 x"},
		{0, "+I 1 a", "+I 1 a 1 x / +I 1 a 1 x"},
		{0, "-D 1 a", "-D 1 a 1 x / -D 1 a 1 x"},
		{1, "-D 1 x", "-D 1 a 1 x / -D 1 a 1 x"},
		{1, "-D 1 x", "-D 1 a 1 x / -D 1 a 1 x / +I 1 a NULL NULL / +I 1 a NULL NULL"},
		{1, "-D 1 x", ""}, // no copy left
		{0, "-D 1 a / -D 1 a / -D 1 a", "-D 1 a NULL NULL / -D 1 a NULL NULL"},
	})
}

func TestJoinErrors(t *testing.T) {
	if _, err := ops.NewJoin(ops.JoinSpec{LeftKeys: []int{0}, RightKeys: []int{0}, LeftTypes: joinL,
		RightTypes: []types.Type{types.String}}); !errors.Is(err, ops.ErrJoinSpec) {
		t.Errorf("BIGINT = STRING key: err = %v", err)
	}
	if _, err := ops.JoinFactory(ops.JoinSpec{LeftKeys: []int{2}, RightKeys: []int{0}, LeftTypes: joinL,
		RightTypes: joinR})(0); !errors.Is(err, ops.ErrJoinSpec) {
		t.Errorf("key out of range: err = %v", err)
	}
	j, err := ops.NewJoin(kvSpec(ops.InnerJoin))
	if err != nil {
		t.Fatal(err)
	}
	var o exectest.Output
	if err := j.Process(exectest.MustParse(t, joinL, "+I 1 a"), &o); !errors.Is(err, ops.ErrJoinInputs) {
		t.Errorf("Process: err = %v", err)
	}
	if err := j.ProcessInput(2, exectest.MustParse(t, joinL, "+I 1 a"), &o); !errors.Is(err, ops.ErrJoinInputs) {
		t.Errorf("input 2: err = %v", err)
	}
	bad := exectest.MustParse(t, []types.Type{types.String}, "+I a")
	if err := j.ProcessInput(0, bad, &o); err == nil || !strings.Contains(err.Error(), "1 columns, want 2") {
		t.Errorf("wrong batch: err = %v", err)
	}
	spec := kvSpec(ops.InnerJoin)
	spec.Residual = failing{}
	j2, _ := ops.NewJoin(spec)
	if err := j2.ProcessInput(0, exectest.MustParse(t, joinL, "+I 1 a"), &o); err != nil {
		t.Fatal(err)
	}
	err = j2.ProcessInput(1, exectest.MustParse(t, joinR, "+I 1 x"), &o)
	if err == nil || !strings.Contains(err.Error(), "join condition fail(): division by zero") {
		t.Errorf("failing residual: err = %v", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestJoinOutputBatches checks that a row matching many rows emits
// batches of bounded size.
func TestJoinOutputBatches(t *testing.T) {
	j, err := ops.NewJoin(kvSpec(ops.InnerJoin))
	if err != nil {
		t.Fatal(err)
	}
	var o exectest.Output
	var sb strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&sb, "+I 7 r%d\n", i)
	}
	if err := j.ProcessInput(1, exectest.MustParse(t, joinR, sb.String()), &o); err != nil {
		t.Fatal(err)
	}
	if err := j.ProcessInput(0, exectest.MustParse(t, joinL, "+I 7 a"), &o); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, b := range o.Batches {
		if b.Len() > types.DefaultBatchSize {
			t.Errorf("batch of %d rows", b.Len())
		}
		total += b.Len()
	}
	if total != 3000 {
		t.Errorf("%d rows, want 3000", total)
	}
}

// TestJoinRandomAgainstModel feeds random changelogs (duplicates, NULL
// keys, many rows per key, retractions of present rows) to every join type
// and checks every 25 batches that the output changelog, applied to a
// multiset, equals the join of the current inputs computed naively, and
// that it never retracts a row it has not emitted.
func TestJoinRandomAgainstModel(t *testing.T) {
	ts := []types.Type{types.BigInt, types.BigInt}
	cond, err := expr.Call("<=", expr.Col(1, types.BigInt, "v"), expr.Col(3, types.BigInt, "w"))
	if err != nil {
		t.Fatal(err)
	}
	for _, jt := range []ops.JoinType{ops.InnerJoin, ops.LeftJoin, ops.RightJoin, ops.FullJoin, ops.SemiJoin, ops.AntiJoin} {
		for _, residual := range []expr.Expr{nil, cond} {
			name := jt.String()
			if residual != nil {
				name += "/residual"
			}
			t.Run(name, func(t *testing.T) {
				spec := ops.JoinSpec{Type: jt, LeftKeys: []int{0}, RightKeys: []int{0},
					LeftTypes: ts, RightTypes: ts, Residual: residual}
				j, err := ops.NewJoin(spec)
				if err != nil {
					t.Fatal(err)
				}
				defer j.Close()
				// Keys 0..1, so that entries get past the index threshold.
				checkJoinAgainstModel(t, spec, j, randomJoinInputs(uint64(jt)*2+1, 400, 2, 60, 200))
			})
		}
	}
}

// TestJoinKeyedStateBeyondCache runs joins over keyed state with a cache of
// 10 keys per side against the same joins over memory, on 1000 keys: the
// outputs must be identical. Along the way it checkpoints (Snapshot) and
// restarts the keyed join from the store, as recovery would.
func TestJoinKeyedStateBeyondCache(t *testing.T) {
	st, err := state.Open("", state.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts := []types.Type{types.BigInt, types.BigInt}
	cond, err := expr.Call("<=", expr.Col(1, types.BigInt, "v"), expr.Col(3, types.BigInt, "w"))
	if err != nil {
		t.Fatal(err)
	}
	for n, jt := range []ops.JoinType{ops.InnerJoin, ops.FullJoin, ops.SemiJoin, ops.AntiJoin} {
		t.Run(jt.String(), func(t *testing.T) {
			spec := ops.JoinSpec{Type: jt, LeftKeys: []int{0}, RightKeys: []int{0},
				LeftTypes: ts, RightTypes: ts, CacheEntries: 10}
			if jt == ops.FullJoin {
				spec.Residual = cond
			}
			tc := &exec.TaskContext{Ctx: context.Background(), JobID: "join-test", VertexID: n,
				Parallelism: 1, MaxParallelism: 128, State: st}
			open := func() *ops.Join {
				j, err := ops.NewJoin(spec)
				if err != nil {
					t.Fatal(err)
				}
				if err := j.Open(tc); err != nil {
					t.Fatal(err)
				}
				return j
			}
			mem, err := ops.NewJoin(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer mem.Close()
			keyed := open()
			defer func() { keyed.Close() }()
			emitted := 0
			for step, x := range randomJoinInputs(uint64(n)+10, 1500, 1000, 4, 3000) {
				var want, got exectest.Output
				if err := mem.ProcessInput(x.in, x.batch(), &want); err != nil {
					t.Fatal(err)
				}
				if err := keyed.ProcessInput(x.in, x.batch(), &got); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				if g, w := exectest.FormatAll(got.Batches), exectest.FormatAll(want.Batches); g != w {
					t.Fatalf("step %d: keyed state output\n%s\nmemory\n%s", step, g, w)
				}
				for _, b := range got.Batches {
					emitted += b.Len()
				}
				switch {
				case step%500 == 499:
					// Restart from the last checkpoint, taken now.
					if _, err := keyed.Snapshot(int64(step)); err != nil {
						t.Fatal(err)
					}
					keyed.Close()
					keyed = open()
				case step%100 == 99:
					if _, err := keyed.Snapshot(int64(step)); err != nil {
						t.Fatal(err)
					}
				}
			}
			if emitted < 2000 {
				t.Errorf("only %d rows emitted: the test joins too little", emitted)
			}
		})
	}
}

// TestJoinJob runs a LEFT join in a job: two sources, hash exchanges on
// the keys, the join at parallelism 2 with keyed state, a collecting sink.
// The changelog collected, applied to a multiset, must be the left join.
func TestJoinJob(t *testing.T) {
	exectest.CheckLeaks(t)
	st, err := state.Open("", state.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var left, right [][]types.Datum
	for i := range 300 {
		left = append(left, []types.Datum{types.IntDatum(int64(i % 100)), types.StringDatum(fmt.Sprint("l", i))})
		if i%3 == 0 {
			right = append(right, []types.Datum{types.IntDatum(int64(i % 50)), types.StringDatum(fmt.Sprint("r", i))})
		}
	}
	spec := kvSpec(ops.LeftJoin)
	spec.CacheEntries = 16
	got := map[string]int{}
	var mu sync.Mutex
	g := &exec.JobGraph{Vertices: []exec.Vertex{
		{Name: "left", Parallelism: 2, Source: ops.ValuesFactory(left), InTypes: joinL, OutTypes: joinL},
		{Name: "right", Parallelism: 1, Source: ops.ValuesFactory(right), InTypes: joinR, OutTypes: joinR},
		{Name: "join", Parallelism: 2, InTypes: joinL, OutTypes: spec.OutTypes(),
			Inputs: []exec.Edge{
				{From: 0, Exchange: exec.Hash, KeyCols: spec.LeftKeys, Types: joinL},
				{From: 1, Exchange: exec.Hash, KeyCols: spec.RightKeys, Types: joinR},
			},
			Ops: []exec.OperatorFactory{ops.JoinFactory(spec), ops.CollectFunc(func(b *types.Batch) error {
				defer b.Release()
				mu.Lock()
				defer mu.Unlock()
				for _, line := range strings.Split(exectest.Format(b), "\n") {
					op, row, _ := strings.Cut(line, " ")
					if op == "+I" {
						got[row]++
					} else if got[row]--; got[row] == 0 {
						delete(got, row)
					}
				}
				return nil
			})}},
	}}
	job, err := exec.Run(context.Background(), g, exec.RunOptions{JobID: "join-job", State: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, l := range left {
		matched := false
		for _, r := range right {
			if l[0].I == r[0].I {
				matched = true
				want[fmt.Sprintf("%d %s %d %s", l[0].I, l[1].S, r[0].I, r[1].S)]++
			}
		}
		if !matched {
			want[fmt.Sprintf("%d %s NULL NULL", l[0].I, l[1].S)]++
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("result has %d rows, want %d:\n%v", len(got), len(want), got)
	}
}

// joinModel is a naive join: the current input multisets, joined on
// demand.
type joinModel struct {
	spec ops.JoinSpec
	rows [2]map[[2]int64]int // (key or NULL, value) → count; key -1 means NULL
}

type joinRow = [2]int64

const nullKey = -1

func (m *joinModel) result() map[string]int {
	res := map[string]int{}
	ls, rs := m.rows[0], m.rows[1]
	matches := func(l, r joinRow) bool {
		if l[0] == nullKey || r[0] == nullKey || l[0] != r[0] {
			return false
		}
		return m.spec.Residual == nil || l[1] <= r[1]
	}
	f := func(v int64) string {
		if v == nullKey {
			return "NULL"
		}
		return fmt.Sprint(v)
	}
	rightMatched := map[joinRow]bool{}
	for l, lc := range ls {
		n := 0
		for r, rc := range rs {
			if matches(l, r) {
				n += rc
				rightMatched[r] = true
				if m.spec.Type != ops.SemiJoin && m.spec.Type != ops.AntiJoin {
					res[fmt.Sprintf("%s %d %s %d", f(l[0]), l[1], f(r[0]), r[1])] += lc * rc
				}
			}
		}
		switch {
		case m.spec.Type == ops.SemiJoin && n > 0, m.spec.Type == ops.AntiJoin && n == 0:
			res[fmt.Sprintf("%s %d", f(l[0]), l[1])] += lc
		case n == 0 && (m.spec.Type == ops.LeftJoin || m.spec.Type == ops.FullJoin):
			res[fmt.Sprintf("%s %d NULL NULL", f(l[0]), l[1])] += lc
		}
	}
	if m.spec.Type == ops.RightJoin || m.spec.Type == ops.FullJoin {
		for r, rc := range rs {
			if !rightMatched[r] {
				res[fmt.Sprintf("NULL NULL %s %d", f(r[0]), r[1])] += rc
			}
		}
	}
	return res
}

// joinInput is one input batch of a random test.
type joinInput struct {
	in   int
	ops  []types.Op
	rows []joinRow
}

func (x joinInput) batch() *types.Batch {
	b := types.NewBatch([]types.Type{types.BigInt, types.BigInt})
	for k, r := range x.rows {
		b.AppendRow(x.ops[k], modelDatums(r))
	}
	return b
}

// randomJoinInputs returns a random valid changelog for both inputs of a
// join over (k BIGINT, v BIGINT): batches of 1 to 8 rows, keys in
// [0, keys) or NULL, values in [0, values), retractions (-D or -U) only of
// rows present, about a third of the rows, two thirds once an input holds
// maxRows rows.
func randomJoinInputs(seed uint64, steps, keys, values, maxRows int) []joinInput {
	rnd := rand.New(rand.NewPCG(seed, 99))
	var present [2]map[joinRow]int
	present[0], present[1] = map[joinRow]int{}, map[joinRow]int{}
	var total [2]int
	var out []joinInput
	for range steps {
		x := joinInput{in: rnd.IntN(2)}
		p := present[x.in]
		for range 1 + rnd.IntN(8) {
			if total[x.in] > 0 && (rnd.IntN(3) == 0 || total[x.in] > maxRows && rnd.IntN(2) == 0) {
				rows := slices.SortedFunc(maps.Keys(p), func(a, b joinRow) int {
					return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
				})
				r := rows[rnd.IntN(len(rows))]
				x.ops = append(x.ops, []types.Op{types.Delete, types.UpdateBefore}[rnd.IntN(2)])
				x.rows = append(x.rows, r)
				if p[r]--; p[r] == 0 {
					delete(p, r)
				}
				total[x.in]--
				continue
			}
			r := joinRow{int64(rnd.IntN(keys+1)) - 1, int64(rnd.IntN(values))}
			x.ops = append(x.ops, []types.Op{types.Insert, types.UpdateAfter}[rnd.IntN(2)])
			x.rows = append(x.rows, r)
			p[r]++
			total[x.in]++
		}
		out = append(out, x)
	}
	return out
}

// checkJoinAgainstModel feeds inputs to j and checks every 25 batches and
// at the end that its output, applied to a multiset, is the naive join of
// the inputs so far, and that it never retracts a row it has not emitted.
func checkJoinAgainstModel(t *testing.T, spec ops.JoinSpec, j *ops.Join, inputs []joinInput) {
	t.Helper()
	m := &joinModel{spec: spec, rows: [2]map[joinRow]int{{}, {}}}
	got := map[string]int{}
	for step, x := range inputs {
		for k, r := range x.rows {
			if x.ops[k].IsAdd() {
				m.rows[x.in][r]++
			} else if m.rows[x.in][r]--; m.rows[x.in][r] == 0 {
				delete(m.rows[x.in], r)
			}
		}
		var o exectest.Output
		if err := j.ProcessInput(x.in, x.batch(), &o); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		for _, ob := range o.Batches {
			for _, line := range strings.Split(exectest.Format(ob), "\n") {
				op, row, _ := strings.Cut(line, " ")
				switch op {
				case "+I":
					got[row]++
				case "-D":
					if got[row]--; got[row] < 0 {
						t.Fatalf("step %d: -D %s of a row not emitted", step, row)
					}
					if got[row] == 0 {
						delete(got, row)
					}
				default:
					t.Fatalf("step %d: unexpected op in %q", step, line)
				}
			}
		}
		if step%25 != 24 && step != len(inputs)-1 {
			continue
		}
		if want := m.result(); !maps.Equal(got, want) {
			t.Fatalf("step %d: result\n%v\nwant\n%v", step, got, want)
		}
	}
}

func modelDatums(r joinRow) []types.Datum {
	k := types.IntDatum(r[0])
	if r[0] == nullKey {
		k = types.NullDatum(types.BigInt)
	}
	return []types.Datum{k, types.IntDatum(r[1])}
}

// TestJoinSteadyStateDoesNotAllocate adds and retracts rows of keys that
// already have state, on both sides of a FULL join with a residual: once
// entries and buffers have grown, processing allocates nothing per row.
func TestJoinSteadyStateDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	ts := []types.Type{types.BigInt, types.BigInt}
	cond, err := expr.Call("<=", expr.Col(1, types.BigInt, "v"), expr.Col(3, types.BigInt, "w"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := ops.NewJoin(ops.JoinSpec{Type: ops.FullJoin, LeftKeys: []int{0}, RightKeys: []int{0},
		LeftTypes: ts, RightTypes: ts, Residual: cond})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var sink joinDiscard
	batch := func(op types.Op, base int64) *types.Batch {
		b := types.NewBatch(ts)
		for i := range int64(types.DefaultBatchSize) {
			b.Ops = append(b.Ops, op)
			b.Cols[0].I64 = append(b.Cols[0].I64, i%100)
			b.Cols[1].I64 = append(b.Cols[1].I64, base+i%7)
		}
		return b
	}
	for in := range 2 {
		if err := j.ProcessInput(in, batch(types.Insert, 0), &sink); err != nil {
			t.Fatal(err)
		}
	}
	step := func() {
		for in := range 2 {
			if err := j.ProcessInput(in, batch(types.Insert, 3), &sink); err != nil {
				t.Fatal(err)
			}
			if err := j.ProcessInput(in, batch(types.Delete, 3), &sink); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 3 {
		step()
	}
	before := sink.batches
	n := testing.AllocsPerRun(20, step)
	batches := float64(sink.batches-before) / 21 // AllocsPerRun runs step once more to warm up
	// Output vectors get their NULL slices anew in every batch (see
	// types.Vector.Reset), and a pooled batch may need to grow: allow two
	// allocations per output column and batch, none per row.
	if limit := 2 * 4 * batches; n > limit {
		t.Errorf("%v allocations per %d input rows and %.1f output batches, want at most %.0f",
			n, 4*types.DefaultBatchSize, batches, limit)
	}
	t.Logf("%v allocations per %d input rows, %.1f output batches", n, 4*types.DefaultBatchSize, batches)
	if sink.rows == 0 {
		t.Error("nothing emitted")
	}
}

// joinDiscard counts and releases what the join emits.
type joinDiscard struct{ rows, batches int }

func (d *joinDiscard) Collect(b *types.Batch) error {
	d.rows += b.Len()
	d.batches++
	b.Release()
	return nil
}

// BenchmarkJoin joins two append-only streams of 1 M rows each (k BIGINT
// uniform over 100 k keys, v BIGINT), fed in interleaved batches of 1024,
// with an inner join. One op is the whole 2 M rows; rows/s counts input
// rows per second of wall time, rows/cpu-s per second of the process's CPU
// time (GC included), which a busy machine disturbs less.
//
//	map    in-memory state (no state backend)
//	keyed  keyed state on Badger (a b.TempDir store, default cache)
func BenchmarkJoin(b *testing.B) {
	b.Run("map", func(b *testing.B) { runJoinBench(b, nil) })
	b.Run("keyed", func(b *testing.B) {
		st, err := state.Open(b.TempDir(), state.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		n := 0
		runJoinBench(b, func(j *ops.Join) {
			n++ // a fresh namespace per run
			tc := exectest.TaskContext(b.Context())
			tc.State, tc.JobID, tc.VertexID = st, "bench", n
			if err := j.Open(tc); err != nil {
				b.Fatal(err)
			}
		})
	})
}

func runJoinBench(b *testing.B, open func(*ops.Join)) {
	const (
		rowsPerSide = 1_000_000
		keys        = 100_000
	)
	ts := []types.Type{types.BigInt, types.BigInt}
	spec := ops.JoinSpec{Type: ops.InnerJoin, LeftKeys: []int{0}, RightKeys: []int{0}, LeftTypes: ts, RightTypes: ts}
	b.ReportAllocs()
	var outRows int
	cpu0 := processCPU()
	for b.Loop() {
		j, err := ops.NewJoin(spec)
		if err != nil {
			b.Fatal(err)
		}
		if open != nil {
			open(j)
		}
		rnd := rand.New(rand.NewPCG(1, 2))
		var sink joinDiscard
		for n := 0; n < 2*rowsPerSide; n += types.DefaultBatchSize {
			bt := types.NewBatch(ts)
			size := min(types.DefaultBatchSize, 2*rowsPerSide-n)
			for i := range size {
				bt.Ops = append(bt.Ops, types.Insert)
				bt.Cols[0].I64 = append(bt.Cols[0].I64, rnd.Int64N(keys))
				bt.Cols[1].I64 = append(bt.Cols[1].I64, int64(n+i))
			}
			if err := j.ProcessInput((n/types.DefaultBatchSize)%2, bt, &sink); err != nil {
				b.Fatal(err)
			}
		}
		outRows = sink.rows
		j.Close()
	}
	cpu := processCPU() - cpu0
	b.ReportMetric(float64(2*rowsPerSide)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	if cpu > 0 {
		b.ReportMetric(float64(2*rowsPerSide)*float64(b.N)/cpu.Seconds(), "rows/cpu-s")
	}
	b.ReportMetric(float64(outRows), "out-rows/op")
}
