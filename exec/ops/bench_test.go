package ops_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
)

var benchTypes = []types.Type{types.BigInt, types.BigInt, types.Varchar(32), types.Double}

// benchBatch returns 1024 rows (c0 sequential, c1 uniform in [0, 1000),
// c2 a short string, c3 a double).
func benchBatch(ts []types.Type, seed uint64) *types.Batch {
	r := rand.New(rand.NewPCG(seed, 7))
	b := types.NewBatch(ts)
	for i := range types.DefaultBatchSize {
		b.AppendRow(types.Insert, []types.Datum{
			types.IntDatum(int64(i) + int64(seed)*1024),
			types.IntDatum(r.Int64N(1000)),
			{Type: ts[2], S: fmt.Sprintf("customer-%05d", r.IntN(100000))},
			types.DoubleDatum(r.Float64() * 1000),
		})
	}
	return b
}

// pipelineOps: Filter c1 > 499 (~50%) → Project (c0, c1 * 2, c3), built
// with exec/expr.
func pipelineOps(b *testing.B) (filter, project exec.OperatorFactory) {
	c1 := expr.Col(1, types.BigInt, "c1")
	cond, err := expr.Call(">", c1, expr.Lit(types.IntDatum(499)))
	if err != nil {
		b.Fatal(err)
	}
	double, err := expr.Call("*", c1, expr.Lit(types.IntDatum(2)))
	if err != nil {
		b.Fatal(err)
	}
	filter = ops.FilterFactory(cond)
	project = ops.ProjectFactory([]expr.Expr{expr.Col(0, types.BigInt, "c0"), double, expr.Col(3, types.Double, "c3")})
	return filter, project
}

func benchSources(n, batches int) []*exectest.Source {
	srcs := make([]*exectest.Source, n)
	for s := range srcs {
		var bs []*types.Batch
		for k := range 8 {
			bs = append(bs, benchBatch(benchTypes, uint64(s*8+k)))
		}
		srcs[s] = &exectest.Source{Batches: bs, Loop: true, Limit: (batches + n - 1) / n}
	}
	return srcs
}

func runBench(b *testing.B, g *exec.JobGraph) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	job, err := exec.Run(context.Background(), g, exec.RunOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)*types.DefaultBatchSize/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkPipeline runs source → Filter → Project → blackhole through the
// real runtime; one op is one batch of 1024 rows.
//
//	fused:   one vertex, parallelism 1 (source, operators and sink on one goroutine)
//	hash_p2: source → Filter (p=2) ─HASH(c0)→ Project → blackhole (p=2)
func BenchmarkPipeline(b *testing.B) {
	b.Run("fused", func(b *testing.B) {
		filter, project := pipelineOps(b)
		runBench(b, &exec.JobGraph{Vertices: []exec.Vertex{{
			Name: "pipeline", Parallelism: 1, Source: exectest.Sources(benchSources(1, b.N)...),
			InTypes: benchTypes, Ops: []exec.OperatorFactory{filter, project, ops.DiscardFactory()},
		}}})
	})
	b.Run("hash_p2", func(b *testing.B) {
		filter, project := pipelineOps(b)
		runBench(b, &exec.JobGraph{Vertices: []exec.Vertex{
			{Name: "source", Parallelism: 2, Source: exectest.Sources(benchSources(2, b.N)...),
				InTypes: benchTypes, OutTypes: benchTypes, Ops: []exec.OperatorFactory{filter}},
			{Name: "project", Parallelism: 2, InTypes: benchTypes,
				Inputs: []exec.Edge{{From: 0, Exchange: exec.Hash, KeyCols: []int{0}}},
				Ops:    []exec.OperatorFactory{project, ops.DiscardFactory()}},
		}})
	})
}
