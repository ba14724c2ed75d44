package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sluicesql/sluice/catalog"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/parser"
	"github.com/sluicesql/sluice/planner"
	"github.com/sluicesql/sluice/state"
)

// insert plans INSERT INTO and starts it as a durable job.
func (s *Session) insert(ins *parser.Insert) (*Result, error) {
	pl := s.planner()
	plan, err := pl.PlanInsert(ins)
	if err != nil {
		return nil, err
	}
	j, err := s.startJob(pl, plan, ins.Text(), []string{ins.Table})
	if err != nil {
		return nil, ins.ErrorAt(0, err.Error())
	}
	return &Result{Kind: ResultOK, JobID: j.id,
		Message: fmt.Sprintf("Job '%s' started: %s", j.id, summarize(ins.Text()))}, nil
}

// statementSet plans EXECUTE STATEMENT SET BEGIN insert; ... END as one
// job with a sink per INSERT.
func (s *Session) statementSet(set *parser.StatementSet) (*Result, error) {
	if len(set.Inserts) == 0 {
		return nil, set.ErrorAt(0, "a statement set needs at least one INSERT")
	}
	pl := s.planner()
	var plans []*planner.Plan
	var sinks []string
	for _, ins := range set.Inserts {
		plan, err := pl.PlanInsert(ins)
		if err != nil {
			return nil, err
		}
		plans = append(plans, plan)
		sinks = append(sinks, ins.Table)
	}
	cj := &catalog.Job{Name: summarize(set.Text()), SQL: set.Text(), Status: catalog.JobRunning, Sinks: sinks,
		Created: time.Now(), Updated: time.Now()}
	if err := s.cat.CreateJob(cj); err != nil {
		return nil, set.ErrorAt(0, fmt.Sprintf("record job: %v", err))
	}
	ph, err := pl.CompileSet(plans, planner.CompileOptions{JobID: cj.ID})
	if err != nil {
		s.finishJob(cj.ID, err)
		return nil, set.ErrorAt(0, err.Error())
	}
	rj := &runningJob{id: cj.ID, bounded: true, done: make(chan struct{}), flush: newFlushTracker(ph.Graph)}
	for _, plan := range plans {
		rj.bounded = rj.bounded && plan.Root.Bounded()
		rj.noteTables(plan)
	}
	if err := s.runPhysical(rj, ph); err != nil {
		return nil, set.ErrorAt(0, err.Error())
	}
	return &Result{Kind: ResultOK, JobID: rj.id,
		Message: fmt.Sprintf("Job '%s' started: a statement set of %d INSERTs", rj.id, len(plans))}, nil
}

// summarize shortens a statement to one line for messages and job names.
func summarize(sql string) string {
	s := strings.Join(strings.Fields(sql), " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// noteTables records in rj the tables plan reads and, with its sink,
// writes.
func (rj *runningJob) noteTables(plan *planner.Plan) {
	for _, t := range planner.TablesRead(plan.Root) {
		rj.reads = append(rj.reads, t.Name)
		rj.tables = append(rj.tables, t.Name)
	}
	if sink, ok := plan.Root.(*planner.Sink); ok {
		rj.tables = append(rj.tables, sink.Table.Name)
	}
}

// startJob records the job in the catalog and runs it.
func (s *Session) startJob(pl *planner.Planner, plan *planner.Plan, sql string, sinks []string) (*runningJob, error) {
	cj := &catalog.Job{Name: summarize(sql), SQL: sql, Status: catalog.JobRunning, Sinks: sinks,
		Created: time.Now(), Updated: time.Now()}
	if err := s.cat.CreateJob(cj); err != nil {
		return nil, fmt.Errorf("record job: %w", err)
	}
	ph, err := pl.Compile(plan, planner.CompileOptions{JobID: cj.ID})
	if err != nil {
		s.finishJob(cj.ID, err)
		return nil, err
	}
	return s.run(cj.ID, ph, plan)
}

func (s *Session) run(id string, ph *planner.Physical, plan *planner.Plan) (*runningJob, error) {
	rj := &runningJob{id: id, bounded: plan.Root.Bounded(), done: make(chan struct{}), flush: newFlushTracker(ph.Graph)}
	rj.noteTables(plan)
	if err := s.runPhysical(rj, ph); err != nil {
		return nil, err
	}
	return rj, nil
}

// runPhysical starts rj's job graph and records its end in the catalog.
func (s *Session) runPhysical(rj *runningJob, ph *planner.Physical) error {
	id := rj.id
	job, err := exec.Run(s.bg, ph.Graph, exec.RunOptions{
		JobID: id,
		State: s.store,
		OnAck: func(a exec.Ack) {
			if a.Sink {
				rj.flush.ack(a.Vertex, a.Subtask, a.CheckpointID)
			}
		},
		OnSubtaskFinished: rj.flush.finished,
	})
	if err != nil {
		s.finishJob(id, err)
		return err
	}
	rj.job = job
	s.mu.Lock()
	s.jobs[id] = rj
	s.mu.Unlock()
	go func() {
		err := job.Wait()
		rj.err = err
		if s.bg.Err() == nil {
			// A job stopped by Close stays RUNNING in the catalog: it is
			// resumed when the state dir is opened again.
			s.finishJob(id, err)
			s.dropJobState(id)
		}
		s.mu.Lock()
		delete(s.jobs, id)
		s.mu.Unlock()
		close(rj.done)
	}()
	return nil
}

// dropJobState deletes the operator state of a job that has ended: nothing
// restores it (a resumed job starts again under a new id).
func (s *Session) dropJobState(id string) {
	_, _ = s.store.DeletePrefix(state.JobNamespace(id))
}

// finishJob records a job's end in the catalog.
func (s *Session) finishJob(id string, err error) {
	_ = s.cat.UpdateJob(id, func(j *catalog.Job) error {
		j.Updated = time.Now()
		switch {
		case err == nil:
			j.Status = catalog.JobFinished
		case errors.Is(err, context.Canceled):
			if j.Status != catalog.JobCanceled {
				j.Status = catalog.JobCanceled
			}
		default:
			j.Status = catalog.JobFailed
			j.Error = err.Error()
		}
		return nil
	})
}

func (s *Session) runningJobs() []*runningJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*runningJob, 0, len(s.jobs))
	for _, j := range s.jobs {
		out = append(out, j)
	}
	return out
}

// WaitJobs blocks until every job running in this process has finished,
// or ctx is done. It returns the first job failure.
func (s *Session) WaitJobs(ctx context.Context) error {
	var errs []error
	for _, j := range s.runningJobs() {
		select {
		case <-j.done:
			if j.err != nil && !errors.Is(j.err, context.Canceled) {
				errs = append(errs, fmt.Errorf("job '%s' failed: %w", j.id, j.err))
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}

// ResumeJobs handles jobs the catalog lists as running from an earlier
// process. A materialized view's job is rebuilt from scratch: its rows are
// cleared and a new job recomputes them from its inputs (exact, since
// its inputs are the current contents of tables). An INSERT into a
// built-in table with a primary key is re-run from the start: its upserts
// are idempotent. Other jobs cannot resume from where they stopped without
// checkpoints (a later issue), and re-running them would write rows twice,
// so each is marked FAILED with the reason. It returns how many jobs were
// resumed.
func (s *Session) ResumeJobs(ctx context.Context) (int, error) {
	views := map[string]*catalog.View{}
	for _, v := range s.cat.Views() {
		if v.Materialized {
			views[v.JobID] = v
		}
	}
	resumed := 0
	for _, j := range s.cat.Jobs() {
		if j.Status != catalog.JobRunning {
			continue
		}
		s.mu.Lock()
		_, running := s.jobs[j.ID]
		s.mu.Unlock()
		if running {
			continue
		}
		// Whatever happens to the job below, its old operator state is
		// never read again.
		s.dropJobState(j.ID)
		if v := views[j.ID]; v != nil {
			if err := s.rebuildView(v, j.ID); err != nil {
				return resumed, fmt.Errorf("resume materialized view '%s': %w", v.Name, err)
			}
			resumed++
			continue
		}
		newID, err := s.rerunUpsertJob(j)
		if err != nil {
			return resumed, err
		}
		if newID != "" {
			resumed++
			continue
		}
		err = s.cat.UpdateJob(j.ID, func(j *catalog.Job) error {
			j.Status = catalog.JobFailed
			j.Error = "the engine stopped while the job ran; resuming needs checkpoints, which are not implemented yet"
			j.Updated = time.Now()
			return nil
		})
		if err != nil {
			return resumed, err
		}
	}
	return resumed, nil
}

// rerunUpsertJob restarts from scratch an INSERT job that writes into a
// built-in table with a primary key: the re-run upserts the same rows
// again, so over inputs that did not change (built-in tables cannot change
// while the engine is down; datagen is deterministic) the table ends as if
// the job had never stopped. It returns the new job's id, or "" when the
// job is not of that kind.
func (s *Session) rerunUpsertJob(j *catalog.Job) (string, error) {
	stmts, err := parser.Parse(j.SQL)
	if err != nil || len(stmts) != 1 {
		return "", nil
	}
	ins, ok := stmts[0].(*parser.Insert)
	if !ok {
		return "", nil
	}
	t, err := s.cat.Table(ins.Table)
	if err != nil || t.Options["connector"] != "" || len(t.PrimaryKey) == 0 {
		return "", nil
	}
	pl := s.planner()
	plan, err := pl.PlanInsert(ins)
	if err != nil {
		return "", nil
	}
	rj, err := s.startJob(pl, plan, ins.Text(), []string{ins.Table})
	if err != nil {
		return "", fmt.Errorf("resume job '%s': %w", j.ID, err)
	}
	return rj.id, s.cat.UpdateJob(j.ID, func(old *catalog.Job) error {
		old.Status = catalog.JobStopped
		old.Error = fmt.Sprintf("the engine stopped; the job was re-run as '%s' (its upserts are idempotent)", rj.id)
		old.Updated = time.Now()
		return nil
	})
}

// rebuildView clears a materialized view's rows and starts a new job that
// recomputes them; the old job is marked STOPPED.
func (s *Session) rebuildView(v *catalog.View, oldJob string) error {
	t := viewTable(v, s.cfg.StateDir)
	if err := s.tables.Truncate(v.ID, t.Schema.Types(), t.PrimaryKey); err != nil {
		return err
	}
	stmts, err := parser.Parse(v.SQL)
	if err != nil {
		return err
	}
	cv, ok := stmts[0].(*parser.CreateView)
	if !ok || len(stmts) != 1 {
		return fmt.Errorf("stored statement is not CREATE MATERIALIZED VIEW")
	}
	pl := s.planner()
	plan, err := pl.PlanQuery(cv.Query, true)
	if err != nil {
		return err
	}
	rj, err := s.startViewJob(pl, plan, v)
	if err != nil {
		return err
	}
	return s.cat.UpdateJob(oldJob, func(j *catalog.Job) error {
		j.Status = catalog.JobStopped
		j.Error = fmt.Sprintf("the engine stopped; the view is recomputed by job '%s'", rj.id)
		j.Updated = time.Now()
		return nil
	})
}

func (s *Session) stopJob(st *parser.StopJob) (*Result, error) {
	if st.WithSavepoint {
		return nil, st.ErrorAt(0, "STOP JOB ... WITH SAVEPOINT is not supported yet")
	}
	s.mu.Lock()
	rj := s.jobs[st.ID]
	s.mu.Unlock()
	if rj == nil {
		if _, err := s.cat.Job(st.ID); err != nil {
			return nil, st.ErrorAt(0, err.Error())
		}
		return nil, st.ErrorAt(0, fmt.Sprintf("job '%s' is not running", st.ID))
	}
	_ = s.cat.UpdateJob(st.ID, func(j *catalog.Job) error {
		j.Status = catalog.JobCanceled
		j.Updated = time.Now()
		return nil
	})
	rj.job.Cancel()
	<-rj.done
	return ok(fmt.Sprintf("Job '%s' stopped.", st.ID)), nil
}

// flushTracker counts, per barrier, the sink subtasks that acknowledged it
// or have finished, so FLUSH knows when a job has absorbed its input.
type flushTracker struct {
	mu      sync.Mutex
	sinks   map[[2]int]bool // (vertex, subtask) of sink subtasks
	acked   map[int64]map[[2]int]bool
	finish  map[[2]int]bool
	changed chan struct{}
	nextID  int64
}

func newFlushTracker(g *exec.JobGraph) *flushTracker {
	ft := &flushTracker{sinks: map[[2]int]bool{}, acked: map[int64]map[[2]int]bool{},
		finish: map[[2]int]bool{}, changed: make(chan struct{})}
	hasDownstream := map[int]bool{}
	for _, v := range g.Vertices {
		for _, e := range v.Inputs {
			hasDownstream[e.From] = true
		}
	}
	for i, v := range g.Vertices {
		if !hasDownstream[i] {
			for st := 0; st < v.Parallelism; st++ {
				ft.sinks[[2]int{i, st}] = true
			}
		}
	}
	return ft
}

func (ft *flushTracker) signal() {
	close(ft.changed)
	ft.changed = make(chan struct{})
}

func (ft *flushTracker) ack(vertex, subtask int, id int64) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if ft.acked[id] == nil {
		ft.acked[id] = map[[2]int]bool{}
	}
	ft.acked[id][[2]int{vertex, subtask}] = true
	ft.signal()
}

func (ft *flushTracker) finished(vertex, subtask int) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.finish[[2]int{vertex, subtask}] = true
	ft.signal()
}

// done reports whether every sink subtask acknowledged barrier id or
// finished, and otherwise returns a channel closed on the next change.
func (ft *flushTracker) done(id int64) (bool, <-chan struct{}) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	for k := range ft.sinks {
		if !ft.acked[id][k] && !ft.finish[k] {
			return false, ft.changed
		}
	}
	delete(ft.acked, id)
	return true, nil
}

func (ft *flushTracker) newID() int64 {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.nextID++
	return ft.nextID
}
