package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// upsertSource emits total upserts (+U) of keys spread over [0, keys), with
// the row number as value, then ends.
type upsertSource struct {
	n, total, keys int64
}

func (s *upsertSource) Open(*exec.TaskContext) error { return nil }
func (s *upsertSource) Close() error                 { return nil }

func (s *upsertSource) Next(b *types.Batch) (bool, error) {
	for range types.DefaultBatchSize {
		if s.n == s.total {
			return true, nil
		}
		k := s.n % s.keys
		if s.total > s.keys {
			k = int64(uint64(s.n)*0x9E3779B97F4A7C15>>11) % s.keys
		}
		b.Ops = append(b.Ops, types.UpdateAfter)
		b.Cols[0].I64 = append(b.Cols[0].I64, k)
		b.Cols[1].I64 = append(b.Cols[1].I64, s.n)
		b.Cols[2].Str = append(b.Cols[2].Str, "payload-of-some-length")
		s.n++
	}
	return false, nil
}

// BenchmarkUpsert runs a job of 1 M upserts over 100 k keys into a local
// Postgres, with a checkpoint every second (the first delivery guarantee)
// or flushes (the second), and a final checkpoint; rows/s counts the
// changelog rows from the start of the job to its end, commits included.
//
//	go test -run XXX -bench Upsert -benchtime 1x ./connectors/postgres/
func BenchmarkUpsert(b *testing.B) {
	for _, guarantee := range []string{exactlyOnce, atLeastOnce} {
		b.Run(guarantee+"/1M_rows_100k_keys", func(b *testing.B) {
			benchUpsert(b, guarantee, 1_000_000, 100_000)
		})
	}
	// Every key once: nothing folds, every row is written to Postgres.
	b.Run(exactlyOnce+"/300k_rows_300k_keys", func(b *testing.B) {
		benchUpsert(b, exactlyOnce, 300_000, 300_000)
	})
}

func benchUpsert(b *testing.B, guarantee string, total, keys int64) {
	d := connect(b)
	d.exec("CREATE TABLE t (k bigint PRIMARY KEY, n bigint NOT NULL, s text)")
	schema := types.Schema{{Name: "k", Type: types.BigInt}, {Name: "n", Type: types.BigInt}, {Name: "s", Type: types.String}}
	table := d.sinkTable("t", schema, []int{0}, "sink.delivery-guarantee", guarantee,
		"sink.buffer-flush.max-rows", "50000")
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		d.exec("TRUNCATE t")
		jobID := fmt.Sprintf("bench-%d", i)
		factory, err := (&Connector{}).NewSink(table, connectors.SinkRequest{Mode: connectors.Upsert, JobID: jobID})
		if err != nil {
			b.Fatal(err)
		}
		ts := schema.Types()
		g := &exec.JobGraph{Vertices: []exec.Vertex{
			{Name: "source", Parallelism: 1, InTypes: ts, OutTypes: ts,
				Source: func(int) (exec.Source, error) { return &upsertSource{total: total, keys: keys}, nil }},
			{Name: "sink", Parallelism: 1, InTypes: ts, Inputs: []exec.Edge{{From: 0, Exchange: exec.Forward}},
				Ops: []exec.OperatorFactory{factory}},
		}}
		acks := make(chan int64, 16)
		ended := make(chan struct{}, 1)
		start := time.Now()
		job, err := exec.Run(context.Background(), g, exec.RunOptions{JobID: jobID, StartTs: 1, FinalCheckpoint: true,
			OnAck: func(a exec.Ack) {
				if a.Sink {
					acks <- a.CheckpointID
				}
			},
			OnSourceEnded: func(int, int) { ended <- struct{}{} },
		})
		if err != nil {
			b.Fatal(err)
		}
		go drive(job, 1, acks, ended)
		if err := job.Wait(); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
	}
	var n int64
	if err := d.QueryRow(context.Background(), "SELECT count(*) FROM t").Scan(&n); err != nil || n != keys {
		b.Fatalf("%d rows in the table (%v), want %d", n, err, keys)
	}
	b.ReportMetric(float64(total)*float64(b.N)/elapsed.Seconds(), "rows/s")
}

// drive injects a barrier every second and a final one when the source
// ends, and completes each checkpoint when all par sink subtasks have
// acknowledged it.
func drive(job *exec.Job, par int, acks <-chan int64, ended <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	id := int64(0)
	seen := map[int64]int{}
	for {
		select {
		case <-job.Done():
			return
		case <-tick.C:
			id++
			job.InjectBarrier(exec.Barrier{CheckpointID: id})
		case <-ended:
			id++
			job.InjectBarrier(exec.Barrier{CheckpointID: id, Final: true})
		case a := <-acks:
			if seen[a]++; seen[a] == par {
				job.NotifyCheckpointComplete(a)
			}
		}
	}
}
