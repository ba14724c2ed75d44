package builtin

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// openSink opens sink subtask sub of p of a job that takes checkpoints;
// chunkCost, when > 0, makes staged chunks that small.
func (e *env) openSink(t *testing.T, ct *connectors.Table, job string, sub, p int, chunkCost int64) *sink {
	t.Helper()
	f, err := e.bs.NewSink(ct, connectors.SinkRequest{Mode: connectors.AppendOnly, JobID: job})
	if err != nil {
		t.Fatal(err)
	}
	op, _ := f(sub)
	k := op.(*sink)
	tc := &exec.TaskContext{Ctx: context.Background(), JobID: job, Subtask: sub, Parallelism: p, Checkpointing: true}
	if err := k.Open(tc); err != nil {
		t.Fatal(err)
	}
	if chunkCost > 0 {
		k.maxCost = chunkCost
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func process(t *testing.T, k *sink, rows ...row) {
	t.Helper()
	if err := k.Process(batchOf(rows...), nil); err != nil {
		t.Fatal(err)
	}
}

func snap(t *testing.T, k *sink, id int64) []byte {
	t.Helper()
	b, err := k.Snapshot(id)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func notify(t *testing.T, k *sink, id int64) {
	t.Helper()
	if err := k.NotifyCheckpointComplete(id); err != nil {
		t.Fatal(err)
	}
}

// stagedChunks counts the staged chunks of table id.
func (e *env) stagedChunks(t *testing.T, id uint64) int {
	t.Helper()
	n := 0
	err := e.st.DB().View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = append(state.BuiltinTablePrefix(id), subStage)
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStagedSinkCommitsAtCheckpoints(t *testing.T) {
	e := newEnv(t, t.TempDir())
	bt, id := e.createTable(t, "bag", false)
	e.apply(t, bt, id, ins(9, "old"))
	srcs, _ := e.openSources(t, bt, connectors.SourceRequest{Columns: allCols(bt), Continuous: true}, 1, 0)
	if got := nextChanges(t, srcs[0]); !reflect.DeepEqual(got, []row{ins(9, "old")}) {
		t.Fatalf("snapshot %v", got)
	}
	k := e.openSink(t, bt, "job", 0, 1, 100) // a few rows per chunk
	for i := range int64(10) {
		process(t, k, ins(i, "a"), ins(i, "b"))
	}
	snap(t, k, 1)
	if n := e.stagedChunks(t, id); n < 3 {
		t.Fatalf("%d staged chunks, want several", n)
	}
	process(t, k, del(9, "old"), ins(100, "c"))
	snap(t, k, 2) // aborted: checkpoint 3's completion commits it
	process(t, k, ins(200, "d"))
	snap(t, k, 3)
	process(t, k, ins(300, "after"))
	if got := nextChanges(t, srcs[0]); len(got) != 0 {
		t.Fatalf("staged rows published before completion: %v", got)
	}
	if got := e.contents(t, bt); len(got) != 1 {
		t.Fatalf("staged rows visible before completion: %v", got)
	}
	notify(t, k, 1)
	if got := nextChanges(t, srcs[0]); len(got) != 20 {
		t.Fatalf("after completing 1 a reader got %d changes, want 20", len(got))
	}
	notify(t, k, 3)
	got := nextChanges(t, srcs[0])
	if want := []row{del(9, "old"), ins(100, "c"), ins(200, "d")}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after completing 3 a reader got %v, want %v", got, want)
	}
	if got := e.contents(t, bt); len(got) != 22 {
		t.Fatalf("table holds %d rows, want 22", len(got))
	}
	// No chunk is left: the rows after checkpoint 3 are still in memory.
	if n := e.stagedChunks(t, id); n != 0 {
		t.Fatalf("%d staged chunks left", n)
	}
}

// TestStagedSinkRestore: two subtasks stage rows; checkpoint 1 completes
// but one notification is lost, checkpoint 2 does not complete, then a
// crash. One subtask restores both from checkpoint 1.
func TestStagedSinkRestore(t *testing.T) {
	e := newEnv(t, t.TempDir())
	bt, id := e.createTable(t, "bag", false)
	k0, k1 := e.openSink(t, bt, "job", 0, 2, 100), e.openSink(t, bt, "job", 1, 2, 100)
	var want []row
	for i := range int64(8) {
		process(t, k0, ins(i, "x"))
		process(t, k1, ins(100+i, "y"))
		want = append(want, ins(i, "x"), ins(100+i, "y"))
	}
	s0, s1 := snap(t, k0, 1), snap(t, k1, 1)
	notify(t, k0, 1)
	for i := range int64(8) {
		process(t, k0, ins(200+i, "lost"))
		process(t, k1, ins(300+i, "lost"))
	}
	snap(t, k0, 2)
	process(t, k1, ins(400, "lost"), ins(401, "lost"), ins(402, "lost"))
	k0.Close()
	k1.Close()
	// A leftover of another job is not touched.
	other := e.openSink(t, bt, "other", 0, 1, 100)
	process(t, other, ins(500, "other"))
	snap(t, other, 1)

	r := e.openSink(t, bt, "job", 0, 1, 0)
	if err := r.Restore(1, [][]byte{s0, s1}); err != nil {
		t.Fatal(err)
	}
	sortRows(want)
	if got := e.contents(t, bt); !reflect.DeepEqual(got, want) {
		t.Fatalf("after restore %v, want %v", got, want)
	}
	if n := e.stagedChunks(t, id); n != 1 {
		t.Fatalf("%d staged chunks after restore, want the other job's 1", n)
	}
	// Restoring again (a crash before the next checkpoint) changes nothing.
	r2 := e.openSink(t, bt, "job", 0, 1, 0)
	if err := r2.Restore(1, [][]byte{s0, s1}); err != nil {
		t.Fatal(err)
	}
	if got := e.contents(t, bt); len(got) != len(want) {
		t.Fatalf("after a second restore: %d rows", len(got))
	}
	// A fresh start of the other job drops its staged rows.
	fresh := e.openSink(t, bt, "other", 0, 1, 0)
	process(t, fresh, ins(600, "new"))
	if n := e.stagedChunks(t, id); n != 0 {
		t.Fatalf("%d staged chunks after a fresh start", n)
	}
	if err := r.Restore(1, [][]byte{{1, 0, 0}}); err == nil || !strings.Contains(err.Error(), "corrupt built-in table sink snapshot") {
		t.Fatalf("corrupt snapshot: %v", err)
	}
}

func TestKeyedSinkWritesDirectly(t *testing.T) {
	e := newEnv(t, t.TempDir())
	ct, _ := e.createTable(t, "kv", true)
	k := e.openSink(t, ct, "job", 0, 1, 0)
	process(t, k, ins(1, "a"), ins(2, "b"))
	if b := snap(t, k, 1); b != nil {
		t.Fatalf("keyed sink snapshot %x", b)
	}
	// Visible at once; a replay after a restore converges.
	process(t, k, ins(1, "a"), ins(2, "c"))
	if got := e.contents(t, ct); !reflect.DeepEqual(got, []row{ins(1, "a"), ins(2, "c")}) {
		t.Fatalf("keyed table %v", got)
	}
}

func TestChunkRoundTrip(t *testing.T) {
	ts := []types.Type{types.BigInt, types.String, types.Double}
	e := newEnv(t, t.TempDir())
	bt, _ := e.createTable(t, "bag", false)
	k := e.openSink(t, bt, "job", 0, 1, 1<<20)
	in := []row{ins(1, "a"), del(2, ""), ub(3, "é"), ua(3, strings.Repeat("z", 3000))}
	process(t, k, in...)
	b, err := decodeChunk(k.chunk, ts)
	if err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(b); !reflect.DeepEqual(got, in) {
		t.Fatalf("decoded %v, want %v", got, in)
	}
	if _, err := decodeChunk(k.chunk[:len(k.chunk)-1], ts); err == nil {
		t.Fatal("truncated chunk decoded")
	}
}

// BenchmarkSink compares the sink of a table without a primary key written
// directly (no checkpoints) and staged (checkpoints, one every 64 batches
// of 1024 rows, completed at once).
func BenchmarkSink(b *testing.B) {
	for _, staged := range []bool{false, true} {
		b.Run(map[bool]string{false: "direct", true: "staged"}[staged], func(b *testing.B) {
			e := newEnv(b, b.TempDir())
			bt, _ := e.createTable(b, "bench", false)
			f, err := e.bs.NewSink(bt, connectors.SinkRequest{Mode: connectors.AppendOnly, JobID: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			op, _ := f(0)
			k := op.(*sink)
			tc := &exec.TaskContext{Ctx: context.Background(), JobID: "bench", Parallelism: 1, Checkpointing: staged}
			if err := k.Open(tc); err != nil {
				b.Fatal(err)
			}
			ts := bt.Schema.Types()
			ckpt := int64(0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch := types.NewBatch(ts)
				for j := 0; j < 1024; j++ {
					batch.AppendRow(types.Insert, []types.Datum{types.IntDatum(int64(i*1024 + j)),
						types.StringDatum("some-value"), types.DoubleDatum(float64(j))})
				}
				if err := k.Process(batch, nil); err != nil {
					b.Fatal(err)
				}
				if staged && (i%64 == 63 || i == b.N-1) {
					ckpt++
					if _, err := k.Snapshot(ckpt); err != nil {
						b.Fatal(err)
					}
					if err := k.NotifyCheckpointComplete(ckpt); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*1024)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
