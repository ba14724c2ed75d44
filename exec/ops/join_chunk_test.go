package ops_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// Tests of the chunked keyed state of Join (join_chunk.go): a tiny chunk
// bound (a few rows) and a tiny cache, so that keys span many chunks,
// chunks are evicted and read back, rows are retracted from old chunks
// and chunks get compacted.

// joinChunkBytes is the chunk bound of these tests: two or three rows of
// two small BIGINTs.
const joinChunkBytes = 20

var joinBigints = []types.Type{types.BigInt, types.BigInt}

// vLEw is the residual v <= w over (k, v, k, w).
func vLEw(t *testing.T) expr.Expr {
	t.Helper()
	cond, err := expr.Call("<=", expr.Col(1, types.BigInt, "v"), expr.Col(3, types.BigInt, "w"))
	if err != nil {
		t.Fatal(err)
	}
	return cond
}

// openChunkedJoin returns a Join over keyed state in tc with the test
// chunk bound.
func openChunkedJoin(t *testing.T, spec ops.JoinSpec, tc *exec.TaskContext) *ops.Join {
	t.Helper()
	j, err := ops.NewJoin(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Open(tc); err != nil {
		t.Fatal(err)
	}
	ops.SetJoinChunkBytes(j, joinChunkBytes)
	return j
}

func chunkTC(st *state.Store, job string, epoch *state.Epoch) *exec.TaskContext {
	return &exec.TaskContext{Ctx: context.Background(), JobID: job, VertexID: 1,
		Parallelism: 1, MaxParallelism: 128, State: st, Epoch: epoch}
}

func memStore(t *testing.T) *state.Store {
	t.Helper()
	st, err := state.Open("", state.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func checkChunks(t *testing.T, j *ops.Join) [2]ops.JoinChunkStats {
	t.Helper()
	st, err := ops.CheckJoinChunks(j)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestJoinChunksAgainstModel runs random changelogs with many rows per
// key (two keys, up to 200 rows per side) and retractions of any present
// row through every join type over chunked keyed state with a cache of 3
// values, checking the result against the naive join and the state's
// invariants.
func TestJoinChunksAgainstModel(t *testing.T) {
	cond := vLEw(t)
	for _, jt := range []ops.JoinType{ops.InnerJoin, ops.LeftJoin, ops.RightJoin, ops.FullJoin, ops.SemiJoin, ops.AntiJoin} {
		for _, residual := range []expr.Expr{nil, cond} {
			name := jt.String()
			if residual != nil {
				name += "/residual"
			}
			t.Run(name, func(t *testing.T) {
				spec := ops.JoinSpec{Type: jt, LeftKeys: []int{0}, RightKeys: []int{0},
					LeftTypes: joinBigints, RightTypes: joinBigints, Residual: residual, CacheEntries: 3}
				j := openChunkedJoin(t, spec, chunkTC(memStore(t), "chunks", nil))
				defer j.Close()
				checkJoinAgainstModel(t, spec, j, randomJoinInputs(uint64(jt)*2+7, 600, 2, 60, 200))
				st := checkChunks(t, j)
				t.Logf("state: %+v", st)
				if st[0].MaxNext < 8 && st[1].MaxNext < 8 {
					t.Errorf("keys span at most %d and %d chunks: the test chunks too little", st[0].MaxNext, st[1].MaxNext)
				}
			})
		}
	}
}

// chunkRows returns rows of key 1 with the values vs, in batch notation,
// each preceded by op and followed by suffix.
func chunkRows(op string, vs []int, suffix string) string {
	var b strings.Builder
	for _, v := range vs {
		if b.Len() > 0 {
			b.WriteString(" / ")
		}
		fmt.Fprintf(&b, "%s 1 %d%s", op, v, suffix)
	}
	return b.String()
}

func intRange(lo, hi int) []int {
	var vs []int
	for v := lo; v < hi; v++ {
		vs = append(vs, v)
	}
	return vs
}

// TestJoinChunksOuterTransitions drives a LEFT join with a residual whose
// left rows of one key span several chunks: right rows that match rows of
// several chunks retract their padded rows and emit the pairs, in the
// rows' order, and give the padded rows back when they go; rows retracted
// from old chunks stop joining. Memory and chunked keyed state must emit
// exactly the expected rows.
func TestJoinChunksOuterTransitions(t *testing.T) {
	spec := ops.JoinSpec{Type: ops.LeftJoin, LeftKeys: []int{0}, RightKeys: []int{0},
		LeftTypes: joinBigints, RightTypes: joinBigints, Residual: vLEw(t), CacheEntries: 2}
	all := intRange(0, 12)
	without := func(vs []int, drop ...int) []int {
		var out []int
		for _, v := range vs {
			keep := true
			for _, d := range drop {
				keep = keep && v != d
			}
			if keep {
				out = append(out, v)
			}
		}
		return out
	}
	steps := []joinStep{
		{0, chunkRows("+I", all, ""), chunkRows("+I", all, " NULL NULL")},
		// 5 matches rows 0..5, in the first two chunks.
		{1, "+I 1 5", chunkRows("-D", intRange(0, 6), " NULL NULL") + " / " + chunkRows("+I", intRange(0, 6), " 1 5")},
		// 9 also matches 6..9: those lose their padded rows.
		{1, "+I 1 9", chunkRows("-D", intRange(6, 10), " NULL NULL") + " / " + chunkRows("+I", intRange(0, 10), " 1 9")},
		// Retractions from the first chunk.
		{0, "-D 1 0 / -D 1 1", "-D 1 0 1 5 / -D 1 0 1 9 / -D 1 1 1 5 / -D 1 1 1 9"},
		{1, "-D 1 5", chunkRows("-D", intRange(2, 6), " 1 5")},
		// 9 goes: rows 2..9 get their padded rows back.
		{1, "-D 1 9", chunkRows("-D", intRange(2, 10), " 1 9") + " / " + chunkRows("+I", intRange(2, 10), " NULL NULL")},
		{0, "+I 1 20 / -D 1 4", "+I 1 20 NULL NULL / -D 1 4 NULL NULL"},
		{1, "+I 1 100", chunkRows("-D", without(append(intRange(2, 12), 20), 4), " NULL NULL") + " / " +
			chunkRows("+I", without(append(intRange(2, 12), 20), 4), " 1 100")},
	}
	t.Run("memory", func(t *testing.T) { runJoinSteps(t, spec, steps) })
	t.Run("keyed", func(t *testing.T) {
		j := openChunkedJoin(t, spec, chunkTC(memStore(t), "outer", nil))
		defer j.Close()
		out := j.OutTypes()
		for n, s := range steps {
			var o exectest.Output
			if err := j.ProcessInput(s.in, exectest.MustParse(t, joinBigints, s.rows), &o); err != nil {
				t.Fatalf("step %d: %v", n+1, err)
			}
			if g, w := exectest.FormatAll(o.Batches), exectest.Canonical(t, out, s.want); g != w {
				t.Errorf("step %d (input %d: %s):\n%s\nwant:\n%s", n+1, s.in, s.rows, g, w)
			}
			if n == 0 {
				if st := checkChunks(t, j); st[0].MaxNext < 4 {
					t.Fatalf("12 left rows in %d chunks: the test chunks too little", st[0].MaxNext)
				}
			}
		}
		checkChunks(t, j)
	})
}

// TestJoinChunksRetractOldRows adds many rows to one key, with a cache of
// one value per side, so that nearly every row starts a chunk; retracts
// most of them, oldest first, and checks that a probe joins exactly the
// rest, in order, and compacts the holes and sparse chunks away, back
// into the head once the rest fits there.
func TestJoinChunksRetractOldRows(t *testing.T) {
	spec := ops.JoinSpec{Type: ops.InnerJoin, LeftKeys: []int{0}, RightKeys: []int{0},
		LeftTypes: joinBigints, RightTypes: joinBigints, CacheEntries: 1}
	j := openChunkedJoin(t, spec, chunkTC(memStore(t), "retract", nil))
	defer j.Close()
	out := j.OutTypes()
	feed := func(in int, rows, want string) {
		t.Helper()
		var o exectest.Output
		if err := j.ProcessInput(in, exectest.MustParse(t, joinBigints, rows), &o); err != nil {
			t.Fatal(err)
		}
		if g, w := exectest.FormatAll(o.Batches), canonicalOrEmpty(t, out, want); g != w {
			t.Fatalf("input %d: %s:\n%s\nwant:\n%s", in, rows, g, w)
		}
	}
	for v := range 60 {
		// One row at a time, a row of another key in between: the
		// key's last chunk is evicted before the next row comes.
		feed(0, fmt.Sprintf("+I 1 %d / +I %d 0", v, 1000+v), "")
	}
	before := checkChunks(t, j)
	if before[0].MaxNext < 20 {
		t.Fatalf("60 rows in %d chunks: the cache kept the last chunk", before[0].MaxNext)
	}
	feed(0, chunkRows("-D", intRange(0, 50), ""), "")
	feed(0, "+I 1 0", "")
	rest := append(intRange(50, 60), 0)
	feed(1, "+I 1 7", chunkRows("+I", rest, " 1 7"))
	after := checkChunks(t, j)
	if need := 11*7/joinChunkBytes + 1; after[0].MaxNext > 2*need+1 {
		t.Errorf("after the probe key 1 spans %d chunks for 11 rows, want at most %d", after[0].MaxNext, 2*need+1)
	}
	feed(1, "-D 1 7", chunkRows("-D", rest, " 1 7"))
	// Two rows left: the next probe packs them back into the head.
	feed(0, chunkRows("-D", intRange(50, 59), ""), "")
	feed(1, "+I 1 8", "+I 1 59 1 8 / +I 1 0 1 8")
	if st := checkChunks(t, j); st[0].MaxNext != 1 {
		t.Errorf("two rows left in %d chunks, want them in the head", st[0].MaxNext)
	}
	feed(1, "-D 1 8", "-D 1 59 1 8 / -D 1 0 1 8")
	feed(0, "-D 1 59 / -D 1 0", "")
	if st := checkChunks(t, j); st[0].Keys != 60 || st[1].Keys != 0 {
		t.Errorf("state holds %d left and %d right keys, want 60 and 0", st[0].Keys, st[1].Keys)
	}
}

// TestJoinChunksRestore checkpoints a join over chunked keyed state
// (Snapshot at an epoch), goes on, then restores the state to the
// checkpoint, as a job restart does (Store.RestoreNamespace, a new
// operator over the same store) and replays the inputs from there: the
// output must be exactly that of a run without restarts.
func TestJoinChunksRestore(t *testing.T) {
	cond := vLEw(t)
	for n, jt := range []ops.JoinType{ops.InnerJoin, ops.FullJoin, ops.SemiJoin, ops.AntiJoin} {
		t.Run(jt.String(), func(t *testing.T) {
			spec := ops.JoinSpec{Type: jt, LeftKeys: []int{0}, RightKeys: []int{0},
				LeftTypes: joinBigints, RightTypes: joinBigints, CacheEntries: 4}
			if jt != ops.SemiJoin {
				spec.Residual = cond
			}
			inputs := randomJoinInputs(uint64(n)+40, 900, 3, 40, 150)
			st := memStore(t)
			// Checkpoints every 50 steps; crash 30 steps after every third.
			const every, crashAfter = 50, 30
			restores := 0
			run := func(job string, crashes bool) []string {
				epoch := state.NewEpoch(st.NextTs())
				j := openChunkedJoin(t, spec, chunkTC(st, job, epoch))
				defer func() { j.Close() }()
				outs := make([]string, len(inputs))
				var cpTs uint64
				cpStep, crashed := -1, map[int]bool{}
				for step := 0; step < len(inputs); step++ {
					x := inputs[step]
					var o exectest.Output
					if err := j.ProcessInput(x.in, x.batch(), &o); err != nil {
						t.Fatalf("%s step %d: %v", job, step, err)
					}
					outs[step] = exectest.FormatAll(o.Batches)
					switch {
					case step%every == every-1:
						if _, err := j.Snapshot(int64(step)); err != nil {
							t.Fatal(err)
						}
						if step%(3*every) == every-1 {
							checkChunks(t, j)
						}
						cpTs, cpStep = epoch.Ts(), step
						epoch.Set(st.NextTs())
					case crashes && cpStep >= 0 && step == cpStep+crashAfter && !crashed[cpStep] && cpStep%(3*every) == every-1:
						// Crash: back to the checkpoint, replay after it.
						crashed[cpStep] = true
						restores++
						j.Close()
						startTs, _, err := st.RestoreNamespace(state.JobNamespace(job), cpTs)
						if err != nil {
							t.Fatal(err)
						}
						epoch = state.NewEpoch(startTs)
						j = openChunkedJoin(t, spec, chunkTC(st, job, epoch))
						step = cpStep
					}
				}
				checkChunks(t, j)
				return outs
			}
			want := run("straight", false)
			got := run("restarted", true)
			emitted := 0
			for step := range inputs {
				if got[step] != want[step] {
					t.Fatalf("step %d after restarts:\n%s\nwithout:\n%s", step, got[step], want[step])
				}
				if want[step] != "" {
					emitted += strings.Count(want[step], "\n") + 1
				}
			}
			if emitted < 500 || restores < 5 {
				t.Errorf("%d rows emitted, %d restores: the test checks too little", emitted, restores)
			}
		})
	}
}
