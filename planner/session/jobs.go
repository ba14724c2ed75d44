package session

import (
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"strings"
	"time"

	"github.com/sluicesql/sluice/catalog"
	"github.com/sluicesql/sluice/checkpoint"
	"github.com/sluicesql/sluice/checkpoint/runner"
	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/parser"
	"github.com/sluicesql/sluice/planner"
)

// jobPlan is a durable job ready to run: its plans and what recovery may
// do with it.
type jobPlan struct {
	plans []*planner.Plan
	// restorable: every source can be rewound to a checkpointed position
	// (none reads a built-in table).
	restorable bool
	// replayable: running the job again from scratch ends with the same
	// sink contents (every sink is a built-in table with a primary key, or
	// a materialized view that is cleared first).
	replayable bool
	// view is set for a materialized view's job: its rows are cleared
	// before the job starts from scratch again.
	view *catalog.View
	// sinks are the built-in tables the job writes; a job that is not
	// restorable clears them before it starts from scratch again, so
	// rows it wrote for keys that have since gone do not linger.
	sinks []*connectors.Table
}

// newJobPlan classifies plans for recovery.
func (s *Session) newJobPlan(plans []*planner.Plan, view *catalog.View) *jobPlan {
	jp := &jobPlan{plans: plans, restorable: true, replayable: true, view: view}
	for _, p := range plans {
		for _, t := range planner.TablesRead(p.Root) {
			if t.Options["connector"] == "" {
				jp.restorable = false
			}
		}
		if view != nil {
			continue
		}
		sink, ok := p.Root.(*planner.Sink)
		if !ok || sink.Table.Options["connector"] != "" || len(sink.Table.PrimaryKey) == 0 {
			jp.replayable = false
			continue
		}
		jp.sinks = append(jp.sinks, sink.Table)
	}
	return jp
}

func (jp *jobPlan) bounded() bool {
	for _, p := range jp.plans {
		if !p.Root.Bounded() {
			return false
		}
	}
	return true
}

// insert plans INSERT INTO and starts it as a durable job.
func (s *Session) insert(ins *parser.Insert) (*Result, error) {
	plan, err := s.planner().PlanInsert(ins)
	if err != nil {
		return nil, err
	}
	rj, err := s.startJob(s.newJobPlan([]*planner.Plan{plan}, nil), ins.Text(), []string{ins.Table}, "")
	if err != nil {
		return nil, ins.ErrorAt(0, err.Error())
	}
	return &Result{Kind: ResultOK, JobID: rj.id,
		Message: fmt.Sprintf("Job '%s' started: %s", rj.id, summarize(ins.Text()))}, nil
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
	rj, err := s.startJob(s.newJobPlan(plans, nil), set.Text(), sinks, "")
	if err != nil {
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

// startJob records a new job in the catalog and runs it. name defaults to
// a summary of sql.
func (s *Session) startJob(jp *jobPlan, sql string, sinks []string, name string) (*runningJob, error) {
	if name == "" {
		name = summarize(sql)
	}
	cfg, err := s.checkpointConfig(s.settings)
	if err != nil {
		return nil, err
	}
	// The job keeps the settings it was started with: a resumed job
	// checkpoints and restarts as it did before.
	cj := &catalog.Job{Name: name, SQL: sql, Status: catalog.JobRunning, Sinks: sinks,
		Created: time.Now(), Updated: time.Now(), Config: maps.Clone(s.settings)}
	if err := s.cat.CreateJob(cj); err != nil {
		return nil, fmt.Errorf("record job: %w", err)
	}
	if jp.view != nil {
		if err := s.cat.UpdateView(jp.view.Name, func(cv *catalog.View) error { cv.JobID = cj.ID; return nil }); err != nil {
			s.finishJob(cj.ID, err)
			return nil, err
		}
	}
	rj, err := s.runJob(cj.ID, jp, cfg, false, s.settings[keyRecoveryPath])
	if err != nil {
		s.finishJob(cj.ID, err)
		return nil, err
	}
	return rj, nil
}

// keyRecoveryPath names the savepoint a new job starts from.
const keyRecoveryPath = "execution.state-recovery.path"

// checkpointConfig returns the checkpointing configuration of settings.
func (s *Session) checkpointConfig(settings map[string]string) (checkpoint.Config, error) {
	cfg, err := checkpoint.Parse(settings, checkpoint.DefaultConfig())
	if err != nil {
		return cfg, err
	}
	if cfg.Dir == "" {
		cfg.Dir = s.ckptDir
	}
	return cfg, nil
}

// compile compiles jp's plans for job id.
func (s *Session) compile(id string, jp *jobPlan, cfg checkpoint.Config) (*planner.Physical, error) {
	opts := planner.CompileOptions{JobID: id, Checkpointing: connectors.CheckpointSettings{
		Enabled: cfg.Interval > 0, ExactlyOnce: cfg.Mode == checkpoint.ExactlyOnce,
		Interval: cfg.Interval, Timeout: cfg.Timeout, MaxRestartDelay: maxRestartDelay(cfg.Restart),
	}}
	pl := s.planner()
	if len(jp.plans) == 1 {
		return pl.Compile(jp.plans[0], opts)
	}
	return pl.CompileSet(jp.plans, opts)
}

// maxRestartDelay is the longest a restart strategy waits before a
// restart.
func maxRestartDelay(r checkpoint.RestartConfig) time.Duration {
	switch r.Type {
	case checkpoint.RestartFixedDelay:
		return r.Delay
	case checkpoint.RestartFailureRate:
		return r.FailureRateDelay
	case checkpoint.RestartExponentialDelay:
		return time.Duration(float64(r.MaxBackoff) * (1 + r.JitterFactor))
	}
	return 0
}

// runJob starts job id under a checkpoint runner. resume says the job ran
// in an earlier process and continues from its latest checkpoint.
func (s *Session) runJob(id string, jp *jobPlan, cfg checkpoint.Config, resume bool, recoveryPath string) (*runningJob, error) {
	ph, err := s.compile(id, jp, cfg)
	if err != nil {
		return nil, err
	}
	if !jp.restorable && !jp.replayable {
		// Starting it again from scratch would write its rows twice.
		cfg.Restart.Type = checkpoint.RestartNone
	}
	rj := &runningJob{id: id, bounded: jp.bounded(), done: make(chan struct{})}
	for _, p := range jp.plans {
		rj.noteTables(p)
	}
	var reset func() error
	switch {
	case jp.view != nil:
		v := jp.view
		reset = func() error {
			t := viewTable(v, s.cfg.StateDir)
			return s.tables.Truncate(v.ID, t.Schema.Types(), t.PrimaryKey)
		}
	case !jp.restorable:
		if table, other := s.sharedSink(id, jp.sinks); other != "" {
			// Clearing the table would lose the other writer's rows.
			cfg.Restart.Type = checkpoint.RestartNone
			if resume {
				return nil, fmt.Errorf("it reads built-in tables, so it must start from scratch, but its sink table '%s' is also written by job '%s'", table, other)
			}
			break
		}
		sinks := jp.sinks
		reset = func() error {
			for _, t := range sinks {
				tid, err := s.tables.TableID(t.Name)
				if err != nil {
					return err
				}
				if err := s.tables.Truncate(tid, t.Schema.Types(), t.PrimaryKey); err != nil {
					return err
				}
			}
			return nil
		}
	}
	graph := ph.Graph
	spec := runner.Spec{
		JobID: id,
		Build: func() (*exec.JobGraph, error) {
			g := *graph
			g.Vertices = append([]exec.Vertex(nil), graph.Vertices...)
			return &g, nil
		},
		Config: cfg, State: s.store, Checkpoints: &checkpoint.Store{Dir: cfg.Dir},
		Restorable: jp.restorable, Reset: reset, Resume: resume, RecoveryPath: recoveryPath,
		Logf: func(f string, a ...any) { log.Printf(f, a...) },
	}
	if fn := s.cfg.OnJobFinished; fn != nil {
		spec.OnFinished = func() { fn(id) }
	}
	if recoveryPath != "" && !jp.restorable {
		return nil, fmt.Errorf("'%s' is set but the job reads built-in tables, which cannot be restored from a savepoint", keyRecoveryPath)
	}
	r, err := runner.Start(s.bg, spec)
	if err != nil {
		return nil, err
	}
	rj.run = r
	s.mu.Lock()
	s.jobs[id] = rj
	s.mu.Unlock()
	go func() {
		err := r.Wait()
		rj.err = err
		if n := r.Restarts(); n > 0 {
			// Restarts add up over the engine processes that ran the job.
			_ = s.cat.UpdateJob(id, func(j *catalog.Job) error { j.Restarts += n; return nil })
		}
		if s.bg.Err() == nil {
			// A job stopped by Close stays RUNNING in the catalog: it is
			// resumed when the state dir is opened again.
			s.finishJob(id, err)
		}
		s.mu.Lock()
		delete(s.jobs, id)
		if err != nil && !errors.Is(err, context.Canceled) {
			s.failures = append(s.failures, fmt.Errorf("job '%s' failed: %w", id, err))
		}
		s.mu.Unlock()
		close(rj.done)
	}()
	return rj, nil
}

// sharedSink returns the first of sinks that another job (not terminal)
// also writes, with that job's id, or "", "".
func (s *Session) sharedSink(id string, sinks []*connectors.Table) (table, job string) {
	for _, j := range s.cat.Jobs() {
		if j.ID == id || j.Status.Terminal() {
			continue
		}
		for _, t := range sinks {
			for _, sk := range j.Sinks {
				if strings.EqualFold(sk, t.Name) {
					return t.Name, j.ID
				}
			}
		}
	}
	return "", ""
}

// finishJob records a job's end in the catalog.
func (s *Session) finishJob(id string, err error) {
	_ = s.cat.UpdateJob(id, func(j *catalog.Job) error {
		j.Updated = time.Now()
		switch {
		case err == nil:
			j.Status = catalog.JobFinished
		case errors.Is(err, context.Canceled):
			if j.Status != catalog.JobCanceled && j.Status != catalog.JobStopped {
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
// or ctx is done. It returns the failures of the jobs that failed since the
// previous call (also those that ended before this one), joined.
func (s *Session) WaitJobs(ctx context.Context) error {
	for _, j := range s.runningJobs() {
		select {
		case <-j.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	errs := s.failures
	s.failures = nil
	s.mu.Unlock()
	return errors.Join(errs...)
}

// ResumeJobs resumes the jobs the catalog lists as running from an earlier
// process, each under its own id from its latest completed checkpoint. A
// job that reads built-in tables cannot be rewound; it starts again from
// scratch when that is exact (a materialized view, whose rows are cleared
// first, or an INSERT into a built-in table with a primary key, whose
// upserts are idempotent) and is marked FAILED with the reason otherwise.
// It returns how many jobs were resumed.
func (s *Session) ResumeJobs(ctx context.Context) (int, error) {
	views := map[string]*catalog.View{}
	for _, v := range s.cat.Views() {
		if v.Materialized {
			views[v.JobID] = v
		}
	}
	resumed := 0
	var rebuilt []*runningJob
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
		jp, err := s.planStored(j, views[j.ID])
		if err == nil && !jp.restorable && !jp.replayable {
			err = errors.New("it reads built-in tables, which cannot be rewound to a checkpoint, and its sinks cannot absorb a replay from the start")
		}
		var cfg checkpoint.Config
		if err == nil {
			settings := j.Config
			if settings == nil {
				settings = s.settings
			}
			cfg, err = s.checkpointConfig(settings)
		}
		var rj *runningJob
		if err == nil {
			rj, err = s.runJob(j.ID, jp, cfg, true, "")
		}
		if err == nil && !jp.restorable {
			rebuilt = append(rebuilt, rj)
		}
		if err != nil {
			uerr := s.cat.UpdateJob(j.ID, func(j *catalog.Job) error {
				j.Status = catalog.JobFailed
				j.Error = fmt.Sprintf("cannot resume after the engine stopped: %v", err)
				j.Updated = time.Now()
				return nil
			})
			if uerr != nil {
				return resumed, uerr
			}
			continue
		}
		resumed++
	}
	// Jobs started from scratch cleared their sink tables: wait until they
	// have caught up with their inputs, so that nothing they showed before
	// the restart is missing afterwards.
	versions := s.tableVersions()
	for _, rj := range rebuilt {
		if err := s.absorb(ctx, rj, versions); err != nil {
			return resumed, fmt.Errorf("rebuild of job '%s': %w", rj.id, err)
		}
	}
	return resumed, nil
}

// planStored plans a job from the statement the catalog recorded.
func (s *Session) planStored(j *catalog.Job, view *catalog.View) (*jobPlan, error) {
	stmts, err := parser.Parse(j.SQL)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("stored statement of job '%s' is not one statement", j.ID)
	}
	pl := s.planner()
	switch x := stmts[0].(type) {
	case *parser.CreateView:
		if view == nil {
			return nil, fmt.Errorf("job '%s' belongs to no materialized view", j.ID)
		}
		plan, err := pl.PlanQuery(x.Query, true)
		if err != nil {
			return nil, err
		}
		sinkPlan, err := pl.PlanSink(plan, viewTable(view, s.cfg.StateDir))
		if err != nil {
			return nil, err
		}
		return s.newJobPlan([]*planner.Plan{sinkPlan}, view), nil
	case *parser.Insert:
		plan, err := pl.PlanInsert(x)
		if err != nil {
			return nil, err
		}
		return s.newJobPlan([]*planner.Plan{plan}, nil), nil
	case *parser.StatementSet:
		var plans []*planner.Plan
		for _, ins := range x.Inserts {
			plan, err := pl.PlanInsert(ins)
			if err != nil {
				return nil, err
			}
			plans = append(plans, plan)
		}
		return s.newJobPlan(plans, nil), nil
	}
	return nil, fmt.Errorf("stored statement of job '%s' is a %T", j.ID, stmts[0])
}

// stopJob stops a running job, optionally taking a savepoint first.
func (s *Session) stopJob(ctx context.Context, st *parser.StopJob) (*Result, error) {
	s.mu.Lock()
	rj := s.jobs[st.ID]
	s.mu.Unlock()
	if rj == nil {
		if _, err := s.cat.Job(st.ID); err != nil {
			return nil, st.ErrorAt(0, err.Error())
		}
		return nil, st.ErrorAt(0, fmt.Sprintf("job '%s' is not running", st.ID))
	}
	if st.WithSavepoint {
		dir := s.settings["state.savepoints.dir"]
		if dir == "" {
			dir = s.savepointDir
		}
		_ = s.cat.UpdateJob(st.ID, func(j *catalog.Job) error {
			j.Status = catalog.JobStopped
			j.Updated = time.Now()
			return nil
		})
		path, err := rj.run.StopWithSavepoint(ctx, dir)
		if err != nil {
			_ = s.cat.UpdateJob(st.ID, func(j *catalog.Job) error { j.Status = catalog.JobRunning; return nil })
			return nil, st.ErrorAt(0, fmt.Sprintf("stop job '%s' with savepoint: %v", st.ID, err))
		}
		<-rj.done
		return rowsResult(stringSchema("savepoint path"), [][]types.Datum{{types.StringDatum(path)}}), nil
	}
	_ = s.cat.UpdateJob(st.ID, func(j *catalog.Job) error {
		j.Status = catalog.JobCanceled
		j.Updated = time.Now()
		return nil
	})
	rj.run.Cancel()
	<-rj.done
	return ok(fmt.Sprintf("Job '%s' stopped.", st.ID)), nil
}
