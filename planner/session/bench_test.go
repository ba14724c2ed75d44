package session

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sluicesql/sluice/checkpoint"
	"github.com/sluicesql/sluice/state"
)

// BenchmarkSQLJob runs whole SQL jobs (parse, plan, run) from datagen into
// a blackhole at parallelism 1 and reports rows/s. Run with -cpu 1 for the
// one-core figure:
//
//	go test -run XXX -bench SQLJob -cpu 1 ./planner/session/
func BenchmarkSQLJob(b *testing.B) {
	const rows = 2_000_000
	cases := []struct{ name, query string }{
		{"datagen_blackhole", "INSERT INTO bh SELECT * FROM gen"},
		{"datagen_filter_project_blackhole", "INSERT INTO bh2 SELECT id, v * 2, UPPER(s) FROM gen WHERE v > 500"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			s, err := Open(Config{StateDir: b.TempDir(), Parallelism: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ddl := fmt.Sprintf(`
				CREATE TABLE gen (id BIGINT, v INT, s VARCHAR(10), d DOUBLE) WITH ('connector' = 'datagen',
					'rows-per-second' = '0', 'number-of-rows' = '%d',
					'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '%d',
					'fields.v.min' = '1', 'fields.v.max' = '1000', 'fields.s.length' = '10');
				CREATE TABLE bh (id BIGINT, v INT, s VARCHAR(10), d DOUBLE) WITH ('connector' = 'blackhole');
				CREATE TABLE bh2 (id BIGINT, v BIGINT, s STRING) WITH ('connector' = 'blackhole');`, rows, rows)
			ctx := context.Background()
			if err := s.Execute(ctx, ddl, nil); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if err := s.Execute(ctx, c.query+";", nil); err != nil {
					b.Fatal(err)
				}
				if err := s.WaitJobs(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows*b.N)/time.Since(start).Seconds(), "rows/s")
		})
	}
}

// BenchmarkStatefulSQL runs the stateful benchmarks of the SQL layer at
// parallelism 2 (this machine has 2 cores): a GROUP BY with COUNT and SUM
// over append-only rows with 100 k keys, and an equi-join of two
// append-only streams with 100 k keys, into a blackhole.
//
//	go test -run XXX -bench StatefulSQL -benchtime 1x ./planner/session/
func BenchmarkStatefulSQL(b *testing.B) {
	cases := []struct {
		name string
		rows int
		ddl  string
		job  string
	}{
		{"groupby_count_sum_10M_100k_keys", 10_000_000, `
			CREATE TABLE gen (k BIGINT, v BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '0',
				'number-of-rows' = '10000000', 'fields.k.min' = '0', 'fields.k.max' = '99999',
				'fields.v.min' = '1', 'fields.v.max' = '1000');
			CREATE TABLE bh (k BIGINT, n BIGINT, s BIGINT) WITH ('connector' = 'blackhole');`,
			"INSERT INTO bh SELECT k, COUNT(*), SUM(v) FROM gen GROUP BY k"},
		{"join_2x1M_100k_keys", 2_000_000, `
			CREATE TABLE l (k BIGINT, a BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '0',
				'number-of-rows' = '1000000', 'fields.k.min' = '0', 'fields.k.max' = '99999');
			CREATE TABLE r (k BIGINT, b BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '0',
				'number-of-rows' = '1000000', 'fields.k.min' = '0', 'fields.k.max' = '99999');
			CREATE TABLE bh (k BIGINT, a BIGINT, b BIGINT) WITH ('connector' = 'blackhole');`,
			"INSERT INTO bh SELECT l.k, l.a, r.b FROM l JOIN r ON l.k = r.k"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s, err := Open(Config{StateDir: b.TempDir(), Parallelism: 2})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Execute(ctx, c.ddl, nil); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := s.Execute(ctx, c.job+";", nil); err != nil {
					b.Fatal(err)
				}
				if err := s.WaitJobs(ctx); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(c.rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkCheckpointOverhead runs the GROUP BY of BenchmarkStatefulSQL
// (10 M rows, 100 k keys, parallelism 2, into a blackhole) with periodic
// checkpoints every second and with periodic checkpoints off (interval 0:
// the bounded job still ends with a final checkpoint). Compare the rows/s
// of the two:
//
//	go test -run XXX -bench CheckpointOverhead -benchtime 3x ./planner/session/
func BenchmarkCheckpointOverhead(b *testing.B) {
	for _, interval := range []string{"0", "1 s"} {
		b.Run("interval_"+strings.ReplaceAll(interval, " ", ""), func(b *testing.B) {
			ctx := context.Background()
			const rows = 30_000_000
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s, err := Open(Config{StateDir: b.TempDir(), Parallelism: 2})
				if err != nil {
					b.Fatal(err)
				}
				mustExec(b, s, `SET 'execution.checkpointing.interval' = '`+interval+`';
					CREATE TABLE gen (k BIGINT, v BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '0',
						'number-of-rows' = '30000000', 'fields.k.min' = '0', 'fields.k.max' = '99999',
						'fields.v.min' = '1', 'fields.v.max' = '1000');
					CREATE TABLE bh (k BIGINT, n BIGINT, s BIGINT) WITH ('connector' = 'blackhole');`)
				b.StartTimer()
				id := startJob(b, s, "INSERT INTO bh SELECT k, COUNT(*), SUM(v) FROM gen GROUP BY k;")
				s.mu.Lock()
				rj := s.jobs[id]
				s.mu.Unlock()
				if err := s.WaitJobs(ctx); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if rj != nil {
					b.ReportMetric(float64(rj.run.LastCompleted()), "checkpoints")
				}
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkCheckpoint1MKeys10kChanged measures, through SQL, the duration
// of a checkpoint (as SHOW CHECKPOINTS reports it) of a GROUP BY job
// holding 1 M keys of which 10 k changed since the previous checkpoint.
// The job reads a built-in table, so each round inserts 10 k rows with new
// values of 10 k distinct keys and FLUSHes (one checkpoint).
//
//	go test -run XXX -bench Checkpoint1MKeys10kChanged -benchtime 20x ./planner/session/
func BenchmarkCheckpoint1MKeys10kChanged(b *testing.B) {
	s, err := Open(Config{StateDir: b.TempDir(), Parallelism: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	mustExec(b, s, `SET 'execution.checkpointing.interval' = '0';
		CREATE TABLE src (k BIGINT, v BIGINT);
		CREATE TABLE bh (k BIGINT, n BIGINT, s BIGINT) WITH ('connector' = 'blackhole');
		CREATE TABLE g1m (k BIGINT, v BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '0',
			'fields.k.kind' = 'sequence', 'fields.k.start' = '0', 'fields.k.end' = '999999',
			'fields.v.min' = '1', 'fields.v.max' = '1000');
		INSERT INTO src SELECT * FROM g1m;
		FLUSH;`)
	id := startJob(b, s, "INSERT INTO bh SELECT k, COUNT(*), SUM(v) FROM src GROUP BY k;")
	mustExec(b, s, "FLUSH;")
	if n, err := s.store.NamespaceKeys(state.JobNamespace(id), math.MaxUint64); err != nil || n < 1_000_000 {
		b.Fatalf("job state: %d keys, %v", n, err)
	}
	s.mu.Lock()
	rj := s.jobs[id]
	s.mu.Unlock()
	var total, worst time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := (i * 10_000) % 1_000_000
		mustExec(b, s, fmt.Sprintf(`CREATE TABLE g%d (k BIGINT, v BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '0',
				'fields.k.kind' = 'sequence', 'fields.k.start' = '%d', 'fields.k.end' = '%d');
			INSERT INTO src SELECT * FROM g%d;
			FLUSH;`, i, start, start+9_999, i))
		h := rj.run.History()
		last := h[len(h)-1]
		if last.Status != checkpoint.StatusCompleted {
			b.Fatalf("last checkpoint: %+v", last)
		}
		total += last.Duration
		worst = max(worst, last.Duration)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/checkpoint")
	b.ReportMetric(float64(worst.Milliseconds()), "max-ms/checkpoint")
}

// BenchmarkRecovery1MKeys measures recovery through SQL: a GROUP BY job
// over datagen holding 1 M keys is checkpointed, the engine is closed
// (the job stays RUNNING), and the time is taken from reopening the state
// dir to the resumed job completing a checkpoint, which it does only once
// its state is restored and it is processing again.
//
//	go test -run XXX -bench Recovery1MKeys -benchtime 3x ./planner/session/
func BenchmarkRecovery1MKeys(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		s, err := Open(Config{StateDir: dir, Parallelism: 2})
		if err != nil {
			b.Fatal(err)
		}
		// 1 M distinct keys at full speed, then a trickle that keeps the
		// job running.
		mustExec(b, s, `SET 'execution.checkpointing.interval' = '0';
			CREATE TABLE seq (k BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '0',
				'fields.k.kind' = 'sequence', 'fields.k.start' = '0', 'fields.k.end' = '999999');
			CREATE TABLE trickle (k BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '10',
				'fields.k.min' = '0', 'fields.k.max' = '999999');
			CREATE TABLE bh (k BIGINT, n BIGINT) WITH ('connector' = 'blackhole');`)
		id := startJob(b, s, "INSERT INTO bh SELECT k, COUNT(*) FROM (SELECT k FROM seq UNION ALL SELECT k FROM trickle) GROUP BY k;")
		for {
			if err := s.Checkpoint(ctx); err != nil {
				b.Fatal(err)
			}
			n, err := s.store.NamespaceKeys(state.JobNamespace(id), math.MaxUint64)
			if err != nil {
				b.Fatal(err)
			}
			if n >= 1_000_000 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		s, err = Open(Config{StateDir: dir, Parallelism: 2})
		if err != nil {
			b.Fatal(err)
		}
		if n, err := s.ResumeJobs(ctx); err != nil || n != 1 {
			b.Fatalf("ResumeJobs: %d, %v", n, err)
		}
		if err := s.Checkpoint(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/recovery")
}
