package sqltests

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/planner/session"
)

var (
	sltTimeout = flag.Duration("slt.timeout", 60*time.Second, "time limit of each slt record")
	sltVerbose = flag.Bool("slt.verbose", false, "print every slt record's outcome")
	sltEngine  = flag.String("slt.engine", "sluice",
		"engine name for skipif/onlyif; -slt.engine=any also runs the records marked 'skipif sluice' (known bugs)")
)

// sessionEngine adapts *session.Session to Engine.
type sessionEngine struct {
	cfg session.Config
	s   *session.Session
}

func openSessionEngine(cfg session.Config) (*sessionEngine, error) {
	s, err := session.Open(cfg)
	if err != nil {
		return nil, err
	}
	return &sessionEngine{cfg: cfg, s: s}, nil
}

// Exec implements Engine. A script's last query gives the result; a query
// whose rows carry changes (-U, +U, -D) is folded into its final rows.
func (e *sessionEngine) Exec(ctx context.Context, sql string) ([]types.Column, [][]types.Datum, error) {
	var cols []types.Column
	var rows [][]types.Datum
	err := e.s.Execute(ctx, sql, func(r *session.Result) error {
		if r.Kind != session.ResultRows {
			return nil
		}
		if !r.Bounded {
			return errors.New("sqltests: the query's result is unbounded; the runner needs results that end")
		}
		cols, rows = r.Columns, nil
		var fold *changelog
		for {
			row, ok, err := r.Rows.Next(ctx)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if row.Op != types.Insert && fold == nil {
				fold = newChangelog(rows)
			}
			if fold != nil {
				if err := fold.apply(row.Op, row.Values); err != nil {
					return err
				}
				continue
			}
			rows = append(rows, row.Values)
		}
		if fold != nil {
			rows = fold.rows()
		}
		return nil
	})
	return cols, rows, err
}

// Checkpoint implements Engine: a checkpoint of every running job.
func (e *sessionEngine) Checkpoint(ctx context.Context) error { return e.s.Checkpoint(ctx) }

// Restart implements Engine: it closes the session and opens the state
// directory again, as a new process would, resuming durable jobs.
func (e *sessionEngine) Restart(ctx context.Context) error {
	if e.cfg.InMemory {
		return fmt.Errorf("restart of an in-memory engine: %w", ErrNotSupported)
	}
	// The client keeps its SET values across the restart.
	cfg := e.cfg
	cfg.Settings = e.s.Settings()
	if err := e.s.Close(); err != nil {
		return err
	}
	s, err := session.Open(cfg)
	if err != nil {
		return err
	}
	e.s = s
	_, err = s.ResumeJobs(ctx)
	return err
}

// Close implements Engine.
func (e *sessionEngine) Close() error { return e.s.Close() }

// changelog folds a stream of change ops into the rows it leaves.
type changelog struct {
	order []string
	rowOf map[string][]types.Datum
	count map[string]int
}

func newChangelog(inserted [][]types.Datum) *changelog {
	c := &changelog{rowOf: map[string][]types.Datum{}, count: map[string]int{}}
	for _, r := range inserted {
		c.apply(types.Insert, r)
	}
	return c
}

func rowKey(r []types.Datum) string {
	var b strings.Builder
	for _, d := range r {
		if d.Null {
			b.WriteString("\x00N")
		} else {
			b.WriteString(d.Type.String())
			b.WriteByte(':')
			b.WriteString(d.String())
		}
		b.WriteByte('\x01')
	}
	return b.String()
}

func (c *changelog) apply(op types.Op, r []types.Datum) error {
	k := rowKey(r)
	if op.IsAdd() {
		if _, ok := c.rowOf[k]; !ok {
			c.order = append(c.order, k)
			c.rowOf[k] = r
		}
		c.count[k]++
		return nil
	}
	if c.count[k] == 0 {
		return fmt.Errorf("sqltests: %v of a row the result does not hold: %v", op, r)
	}
	c.count[k]--
	return nil
}

func (c *changelog) rows() [][]types.Datum {
	var out [][]types.Datum
	for _, k := range c.order {
		for i := 0; i < c.count[k]; i++ {
			out = append(out, c.rowOf[k])
		}
	}
	return out
}

// TestSLT runs every .slt file of this folder on a fresh session with its
// own state directory, at parallelism 1 and 4. Run one file with
// go test ./sqltests -run 'TestSLT/.*/casts$'; see the records skipped as
// known bugs fail with -slt.engine=any.
func TestSLT(t *testing.T) {
	files, err := collectFiles([]string{"."})
	if err != nil {
		t.Fatal(err)
	}
	configs := []struct {
		name    string
		par     int
		restart bool
	}{
		{"parallelism=1", 1, false},
		{"parallelism=4", 4, false},
		// Every file again, restarting the engine after every statement:
		// what each statement built must survive a crash at that point.
		{"restart-each-statement", 2, true},
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			for _, f := range files {
				name := strings.TrimSuffix(filepath.Base(f), ".slt")
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					var out bytes.Buffer
					opts := Options{Timeout: *sltTimeout, Verbose: *sltVerbose, EngineName: *sltEngine,
						RestartEachStatement: c.restart}
					sum, err := Run(context.Background(), []string{f}, opts, func() (Engine, error) {
						return openSessionEngine(session.Config{StateDir: t.TempDir(), Parallelism: c.par})
					}, &out)
					if err != nil {
						t.Fatal(err)
					}
					if sum.Failed > 0 || *sltVerbose {
						t.Logf("\n%s", out.String())
					}
					if sum.Failed > 0 {
						t.Fail()
					}
				})
			}
		})
	}
}

func TestChangelogFold(t *testing.T) {
	r := func(v int64) []types.Datum { return []types.Datum{types.IntDatum(v)} }
	c := newChangelog([][]types.Datum{r(1), r(2)})
	for _, step := range []struct {
		op types.Op
		v  int64
	}{{types.UpdateBefore, 1}, {types.UpdateAfter, 10}, {types.Insert, 2}, {types.Delete, 2}} {
		if err := c.apply(step.op, r(step.v)); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(c.rows()); got != fmt.Sprint([][]types.Datum{r(2), r(10)}) {
		t.Fatalf("rows = %v", got)
	}
	if err := c.apply(types.Delete, r(99)); err == nil {
		t.Fatal("deleting a missing row should fail")
	}
}
