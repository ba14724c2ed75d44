package ops_test

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

const (
	aggBenchRows = 10_000_000
	aggBenchKeys = 100_000
)

// aggBenchBatches returns 64 batches of 1024 append-only rows (k BIGINT
// uniform over aggBenchKeys, v BIGINT).
func aggBenchBatches() []*types.Batch {
	ts := []types.Type{types.BigInt, types.BigInt}
	r := rand.New(rand.NewPCG(1, 2))
	bs := make([]*types.Batch, 64)
	for n := range bs {
		b := types.NewBatch(ts)
		for range types.DefaultBatchSize {
			b.AppendRow(types.Insert, []types.Datum{types.IntDatum(r.Int64N(aggBenchKeys)), types.IntDatum(r.Int64N(1000))})
		}
		bs[n] = b
	}
	return bs
}

func aggBenchSpec() ops.GroupAggSpec {
	return ops.GroupAggSpec{
		GroupCols: []int{0},
		InTypes:   []types.Type{types.BigInt, types.BigInt},
		Calls: []ops.AggCall{
			{Kind: ops.AggCountStar, Arg: -1, Filter: -1, OutType: types.BigInt},
			{Kind: ops.AggSum, Arg: 1, Filter: -1, OutType: types.BigInt},
		},
	}
}

// runAggBench feeds aggBenchRows rows in 1024-row batches through a fresh
// operator per iteration (Open, Process..., Snapshot, Close) and reports
// rows/s and allocations per row.
func runAggBench(b *testing.B, open func(*ops.GroupAgg), spec ops.GroupAggSpec) {
	in := aggBenchBatches()
	ts := spec.InTypes
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for range b.N {
		g, err := ops.NewGroupAgg(spec)
		if err != nil {
			b.Fatal(err)
		}
		open(g)
		for n := 0; n*types.DefaultBatchSize < aggBenchRows; n++ {
			batch := types.NewBatch(ts)
			exec.CopyBatch(batch, in[n%len(in)])
			if err := g.Process(batch, discard{}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := g.Snapshot(1); err != nil {
			b.Fatal(err)
		}
		if err := g.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	rows := float64(b.N) * aggBenchRows
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/rows, "allocs/row")
}

// BenchmarkGroupAgg: 10 M append-only rows, 100 k distinct BIGINT keys,
// COUNT(*) and SUM(v), 1024-row batches fed to the operator directly; one
// op is the whole 10 M rows (run with -benchtime=3x).
//
//	map    in-memory store (no state backend)
//	keyed  keyed state on Badger (a b.TempDir store), cache 200 k groups
func BenchmarkGroupAgg(b *testing.B) {
	b.Run("map", func(b *testing.B) {
		runAggBench(b, func(g *ops.GroupAgg) {
			if err := g.Open(exectest.TaskContext(b.Context())); err != nil {
				b.Fatal(err)
			}
		}, aggBenchSpec())
	})
	b.Run("keyed", func(b *testing.B) {
		st, err := state.Open(b.TempDir(), state.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		spec := aggBenchSpec()
		spec.CacheEntries = 200_000
		n := 0
		runAggBench(b, func(g *ops.GroupAgg) {
			n++ // a fresh namespace per run
			tc := exectest.TaskContext(b.Context())
			tc.State, tc.JobID, tc.VertexID = st, "bench", n
			if err := g.Open(tc); err != nil {
				b.Fatal(err)
			}
		}, spec)
	})
}
