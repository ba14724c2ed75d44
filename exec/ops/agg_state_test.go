package ops_test

import (
	"fmt"
	"testing"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

func openStore(t *testing.T) *state.Store {
	t.Helper()
	// On disk: in memory, Badger refuses values of 1 KB or more, which
	// large multisets reach.
	st, err := state.Open(t.TempDir(), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// keyedTC returns a task context with state in st, for job job.
func keyedTC(t *testing.T, st *state.Store, job string) *exec.TaskContext {
	tc := exectest.TaskContext(t.Context())
	tc.State, tc.JobID, tc.VertexID = st, job, 1
	return tc
}

// copyBatches returns deep copies of bs (Process takes ownership).
func copyBatches(bs []*types.Batch) []*types.Batch {
	out := make([]*types.Batch, len(bs))
	for i, b := range bs {
		out[i] = types.NewBatch(b.Types())
		exec.CopyBatch(out[i], b)
	}
	return out
}

// driveAgg runs a GroupAgg over in, opened with tc, snapshotting after
// every snapEvery batches (0: never) and after Finish (as a job's final
// checkpoint), and returns its output as text.
func driveAgg(t *testing.T, spec ops.GroupAggSpec, tc *exec.TaskContext, in []*types.Batch, snapEvery int) string {
	t.Helper()
	g, err := ops.NewGroupAgg(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Open(tc); err != nil {
		t.Fatal(err)
	}
	var o exectest.Output
	for k, b := range copyBatches(in) {
		if err := g.Process(b, &o); err != nil {
			t.Fatal(err)
		}
		if snapEvery > 0 && (k+1)%snapEvery == 0 {
			if _, err := g.Snapshot(int64(k)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := g.Finish(&o); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Snapshot(int64(len(in))); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	return exectest.FormatAll(o.Batches)
}

// TestGroupAggKeyedStateBeyondCache runs random changelogs over about
// 1000 groups with a 10-entry cache: groups are evicted to Badger and read
// back constantly. The output must equal the in-memory store's, and be
// right.
func TestGroupAggKeyedStateBeyondCache(t *testing.T) {
	st := openStore(t)
	for seed := range uint64(6) {
		for _, insertOnly := range []bool{false, true} {
			spec, batches, live := randomAggInput(seed+100, insertOnly, 30)
			widenKeys(batches, live, 500) // k1 in [0, 500), k2 in {x, y}
			spec.CacheEntries = 10
			want := driveAgg(t, spec, exectest.TaskContext(t.Context()), batches, 0)
			job := fmt.Sprintf("job%d-%v", seed, insertOnly)
			got := driveAgg(t, spec, keyedTC(t, st, job), batches, 7)
			if got != want {
				t.Fatalf("seed %d: keyed state output differs from the map store's", seed)
			}
			g, err := ops.NewGroupAgg(spec)
			if err != nil {
				t.Fatal(err)
			}
			var out []*types.Batch
			if want != "" {
				out = append(out, exectest.MustParse(t, g.OutTypes(), want))
			}
			checkAggOutput(t, spec, g.OutTypes(), out, live)
		}
	}
}

// TestGroupAggRestore stops an operator after a snapshot and continues
// with a new one on the same state: the output must be as if nothing
// happened.
func TestGroupAggRestore(t *testing.T) {
	st := openStore(t)
	spec, batches, _ := randomAggInput(7, false, 40)
	widenKeys(batches, nil, 100)
	spec.CacheEntries = 50
	want := driveAgg(t, spec, exectest.TaskContext(t.Context()), batches, 0)

	tc := keyedTC(t, st, "restore")
	first := driveAgg(t, spec, tc, batches[:20], 20) // snapshot at the end, then Close
	second := driveAgg(t, spec, tc, batches[20:], 0)
	got := first
	if second != "" {
		got += "\n" + second
	}
	if got != want {
		t.Fatalf("restored run differs:\n%s\nwant:\n%s", got, want)
	}

	// A global aggregate that emitted its empty row at Finish does not
	// emit it again after a restore.
	gspec := ops.GroupAggSpec{InTypes: []types.Type{bigint}, Calls: []ops.AggCall{countStar()}}
	gtc := keyedTC(t, st, "global")
	if out := driveAgg(t, gspec, gtc, nil, 0); out != "+I 0" {
		t.Fatalf("first run: %q", out)
	}
	g, _ := ops.NewGroupAgg(gspec)
	if err := g.Open(gtc); err != nil {
		t.Fatal(err)
	}
	var o exectest.Output
	if err := g.Finish(&o); err != nil || len(o.Batches) != 0 {
		t.Fatalf("after restore: %v %v", err, exectest.FormatAll(o.Batches))
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
}

// widenKeys rewrites column 0 (k1) of the rows of bs and live to a value
// in [0, n) derived from the row's values (a retraction carries the values
// of the row it retracts, so it keeps the row's key).
func widenKeys(bs []*types.Batch, live [][]types.Datum, n int64) {
	key := func(k, v int64, s string) int64 {
		h := uint64(k)*0x9E3779B97F4A7C15 + uint64(v)*31 + uint64(len(s))*7 + uint64(len(s)+1)*uint64(s0(s))
		return int64(h>>1) % n
	}
	for _, b := range bs {
		for i := range b.Len() {
			if !b.Cols[0].IsNull(i) {
				b.Cols[0].I64[i] = key(b.Cols[0].I64[i], b.Cols[2].I64[i], b.Cols[4].Str[i])
			}
		}
	}
	for _, r := range live {
		if !r[0].Null {
			r[0].I = key(r[0].I, r[2].I, r[4].S)
		}
	}
}

func s0(s string) byte {
	if s == "" {
		return 0
	}
	return s[0]
}

// TestGroupAggJob runs GroupAgg in a job: one source, a Hash exchange on
// the group columns, three aggregate subtasks with keyed state, a sink.
func TestGroupAggJob(t *testing.T) {
	exectest.CheckLeaks(t)
	st := openStore(t)
	spec, batches, live := randomAggInput(11, false, 60)
	widenKeys(batches, live, 300)
	spec.CacheEntries = 40
	g, err := ops.NewGroupAgg(spec)
	if err != nil {
		t.Fatal(err)
	}
	var out []*types.Batch
	graph := &exec.JobGraph{Vertices: []exec.Vertex{
		{
			Name: "Source", Parallelism: 1, InTypes: spec.InTypes, OutTypes: spec.InTypes,
			Source: exectest.Sources(&exectest.Source{Batches: batches}),
		},
		{
			Name: "GroupAggregate", Parallelism: 3, InTypes: spec.InTypes, OutTypes: g.OutTypes(),
			Inputs: []exec.Edge{{From: 0, Exchange: exec.Hash, KeyCols: spec.GroupCols}},
			Ops: []exec.OperatorFactory{
				ops.GroupAggFactory(spec),
				ops.CollectFunc(func(b *types.Batch) error { out = append(out, b); return nil }),
			},
		},
	}}
	job, err := exec.Run(t.Context(), graph, exec.RunOptions{State: st, JobID: "agg-job"})
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	checkAggOutput(t, spec, g.OutTypes(), out, live)
}
