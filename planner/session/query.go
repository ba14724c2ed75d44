package session

import (
	"context"
	"errors"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/parser"
	"github.com/sluicesql/sluice/planner"
)

// query plans and starts an ad-hoc SELECT; its rows stream through the
// returned iterator.
func (s *Session) query(ctx context.Context, q *parser.Query) (*Result, error) {
	pl := s.planner()
	plan, err := pl.PlanQuery(q, false)
	if err != nil {
		return nil, err
	}
	return s.runQuery(q, pl, plan)
}

// runQuery starts a planned query; its rows stream through the returned
// result's iterator.
func (s *Session) runQuery(q *parser.Query, pl *planner.Planner, plan *planner.Plan) (*Result, error) {
	it := &batchIter{ch: make(chan *types.Batch, 4)}
	jobCtx, cancel := context.WithCancel(s.bg)
	it.cancel = cancel
	collect := func(b *types.Batch) error {
		select {
		case it.ch <- b:
			return nil
		case <-jobCtx.Done():
			b.Release()
			return jobCtx.Err()
		}
	}
	ph, err := pl.Compile(plan, planner.CompileOptions{Collect: collect})
	if err != nil {
		cancel()
		return nil, q.ErrorAt(0, err.Error())
	}
	job, err := exec.Run(jobCtx, ph.Graph, exec.RunOptions{})
	if err != nil {
		cancel()
		return nil, q.ErrorAt(0, err.Error())
	}
	it.job = job
	fs := plan.Root.Fields()
	cols := make(types.Schema, len(fs))
	for i, f := range fs {
		cols[i] = types.Column{Name: plan.Names[i], Type: f.Type}
	}
	r := &Result{Kind: ResultRows, Columns: cols, Rows: it, Bounded: plan.Root.Bounded(),
		Changelog: plan.Root.Mode() != 0}
	if r.Bounded && r.Changelog {
		// A bounded query answers with its final rows, as a database does.
		r.Rows, r.Changelog = &foldIter{in: it}, false
	}
	return r, nil
}

// batchIter turns the batches a query's Collect sink delivers into rows.
type batchIter struct {
	ch     chan *types.Batch
	job    *exec.Job
	cancel context.CancelFunc
	cur    *types.Batch
	pos    int
	ended  bool
	err    error
}

// Next implements RowIterator.
func (it *batchIter) Next(ctx context.Context) (Row, bool, error) {
	for {
		if it.cur != nil && it.pos < it.cur.Len() {
			i := it.pos
			it.pos++
			return Row{Op: it.cur.Ops[i], Values: it.cur.Row(i, nil)}, true, nil
		}
		if it.cur != nil {
			it.cur.Release()
			it.cur = nil
		}
		if it.ended {
			return Row{}, false, it.err
		}
		select {
		case b := <-it.ch:
			it.cur, it.pos = b, 0
		case <-it.job.Done():
			// The job is over: whatever it collected is already in the channel.
			select {
			case b := <-it.ch:
				it.cur, it.pos = b, 0
				continue
			default:
			}
			it.ended = true
			if err := it.job.Err(); err != nil && !errors.Is(err, context.Canceled) {
				it.err = err
			}
		case <-ctx.Done():
			return Row{}, false, ctx.Err()
		}
	}
}

// Close implements RowIterator.
func (it *batchIter) Close() error {
	it.cancel()
	if it.job != nil {
		<-it.job.Done()
	}
	for {
		select {
		case b := <-it.ch:
			b.Release()
		default:
			if it.cur != nil {
				it.cur.Release()
				it.cur = nil
			}
			return nil
		}
	}
}

// sliceIter iterates over rows computed in advance (SHOW, DESCRIBE, ...).
type sliceIter struct {
	rows [][]types.Datum
	pos  int
}

func (it *sliceIter) Next(ctx context.Context) (Row, bool, error) {
	if err := ctx.Err(); err != nil {
		return Row{}, false, err
	}
	if it.pos >= len(it.rows) {
		return Row{}, false, nil
	}
	it.pos++
	return Row{Op: types.Insert, Values: it.rows[it.pos-1]}, true, nil
}

func (it *sliceIter) Close() error { return nil }

func rowsResult(cols types.Schema, rows [][]types.Datum) *Result {
	return &Result{Kind: ResultRows, Columns: cols, Rows: &sliceIter{rows: rows}, Bounded: true}
}

// compileOptsForExplain compiles queries with a result collector so the
// physical plan shows it.
func compileOptsForExplain(plan *planner.Plan) planner.CompileOptions {
	if _, isSink := plan.Root.(*planner.Sink); isSink {
		return planner.CompileOptions{JobID: "explain"}
	}
	return planner.CompileOptions{Collect: func(b *types.Batch) error { b.Release(); return nil }}
}
