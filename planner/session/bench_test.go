package session

import (
	"context"
	"fmt"
	"testing"
	"time"
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
