package runner

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/sluicesql/sluice/checkpoint"
	"github.com/sluicesql/sluice/checkpoint/crash"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/state"
)

// Spec describes one durable job to run.
type Spec struct {
	// JobID names the job, its keyed state (state.JobNamespace) and its
	// checkpoints.
	JobID string
	// Build compiles the job graph. It is called once per attempt, so
	// every attempt gets fresh operator factories.
	Build func() (*exec.JobGraph, error)
	// Config is the checkpointing and restart configuration.
	Config checkpoint.Config
	// State holds the job's keyed state.
	State *state.Store
	// Checkpoints stores checkpoint metadata (under Config.Dir).
	Checkpoints *checkpoint.Store
	// Restorable says whether every source of the job can be rewound to a
	// checkpointed position. When false, every attempt starts from scratch:
	// the job's state is dropped and Reset is called first.
	Restorable bool
	// Reset, when set, is called before an attempt that starts from scratch
	// after an earlier attempt ran (for example to clear a materialized
	// view the job rebuilds). Not called before the very first attempt of a
	// fresh job.
	Reset func() error
	// RecoveryPath, when set, is a savepoint or checkpoint directory
	// (execution.state-recovery.path) the first attempt starts from.
	RecoveryPath string
	// Resume says that the job ran before (in an earlier process): the first
	// attempt restores from its latest completed checkpoint.
	Resume bool
	// ChannelCapacity is passed to exec.RunOptions.
	ChannelCapacity int
	// Logf receives progress messages (restarts, failed checkpoints); nil
	// discards them.
	Logf func(format string, args ...any)
	// OnFinished, when set, is called once the job has finished: its
	// input has ended and its final checkpoint (with its sinks' commits)
	// has completed. The job's state is deleted after it returns, before
	// Wait returns.
	OnFinished func()
}

// Runner runs a job with checkpoints and restarts it after failures as its
// restart strategy says. Its methods are safe for concurrent use.
type Runner struct {
	spec Spec
	ctx  context.Context
	stop context.CancelFunc
	done chan struct{}
	err  error

	mu        sync.Mutex
	drv       *driver // current attempt's driver
	restarts  int     // restarts so far
	history   []checkpoint.Stats
	lastDone  int64 // last completed checkpoint id over all attempts
	nextID    int64 // first checkpoint id the next attempt may use
	started   time.Time
	cancelled bool
	attemptCh chan struct{} // closed and replaced when an attempt starts
}

// ErrNotRunning is returned by Checkpoint and StopWithSavepoint when the job
// has ended.
var ErrNotRunning = errors.New("job is not running")

// Start starts the job's first attempt and returns at once.
func Start(ctx context.Context, spec Spec) (*Runner, error) {
	if spec.JobID == "" || spec.Build == nil || spec.State == nil || spec.Checkpoints == nil {
		return nil, errors.New("runner: Spec needs JobID, Build, State and Checkpoints")
	}
	if spec.Logf == nil {
		spec.Logf = func(string, ...any) {}
	}
	r := &Runner{spec: spec, done: make(chan struct{}), started: time.Now(), attemptCh: make(chan struct{})}
	r.ctx, r.stop = context.WithCancel(ctx)
	go r.loop()
	return r, nil
}

// Done is closed when the job has ended for good.
func (r *Runner) Done() <-chan struct{} { return r.done }

// Wait waits for the job to end: nil when it finished, context.Canceled
// when it was cancelled or the engine stopped, else the failure the
// restart strategy gave up on.
func (r *Runner) Wait() error {
	<-r.done
	return r.err
}

// Cancel stops the job (STOP JOB). With DELETE_ON_CANCELLATION its
// checkpoints and state are deleted once it has stopped.
func (r *Runner) Cancel() {
	r.mu.Lock()
	r.cancelled = true
	r.mu.Unlock()
	r.stop()
}

// Restarts returns how many times the job was restarted after a failure.
func (r *Runner) Restarts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.restarts
}

// StartedAt returns when the runner started.
func (r *Runner) StartedAt() time.Time { return r.started }

// LastCompleted returns the id of the last completed checkpoint (0: none).
func (r *Runner) LastCompleted() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastDone
}

// History returns statistics of recent checkpoints, oldest first.
func (r *Runner) History() []checkpoint.Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]checkpoint.Stats(nil), r.history...)
	if r.drv != nil {
		out = append(out, r.drv.inProgress()...)
	}
	return out
}

// Checkpoint triggers a checkpoint (a savepoint when savepoint is set) and
// waits until it completes, returning its metadata. It fails when the
// checkpoint is aborted or the job ends first.
func (r *Runner) Checkpoint(ctx context.Context, savepoint bool) (*checkpoint.Metadata, error) {
	for {
		r.mu.Lock()
		d, attempt := r.drv, r.attemptCh
		r.mu.Unlock()
		if d == nil {
			select {
			case <-r.done:
				return nil, ErrNotRunning
			case <-attempt:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		md, err := d.request(ctx, savepoint)
		if errors.Is(err, errAttemptEnded) {
			select {
			case <-r.done:
				return nil, ErrNotRunning
			case <-ctx.Done():
				return nil, ctx.Err()
			default:
				time.Sleep(10 * time.Millisecond)
				continue
			}
		}
		return md, err
	}
}

// StopWithSavepoint takes a savepoint, writes it as a self-contained
// directory under dir (state and metadata) and stops the job. It returns
// the savepoint's path.
func (r *Runner) StopWithSavepoint(ctx context.Context, dir string) (string, error) {
	md, err := r.Checkpoint(ctx, true)
	if err != nil {
		return "", fmt.Errorf("savepoint: %w", err)
	}
	path := r.spec.Checkpoints.SavepointDir(dir, r.spec.JobID, md.ID)
	if err := writeSavepoint(r.spec.State, path, md); err != nil {
		return "", err
	}
	r.mu.Lock()
	r.cancelled = false // a stopped job keeps nothing to delete but its checkpoints
	r.mu.Unlock()
	r.stop()
	<-r.done
	return path, nil
}

func (r *Runner) loop() {
	defer close(r.done)
	restarter := checkpoint.NewRestarter(r.spec.Config.Restart, rand.Float64)
	first := true
	for {
		attemptStart := time.Now()
		err := r.attempt(first)
		first = false
		if err == nil {
			if r.spec.OnFinished != nil {
				r.spec.OnFinished()
			}
			r.cleanup()
			return
		}
		if r.ctx.Err() != nil {
			r.mu.Lock()
			cancelled := r.cancelled
			r.mu.Unlock()
			if cancelled && r.spec.Config.Retention == checkpoint.DeleteOnCancellation {
				r.cleanup()
			}
			r.err = context.Canceled
			return
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			r.err = perm.err
			return
		}
		if errors.Is(err, exec.ErrUnrecoverable) {
			r.err = err
			return
		}
		delay, ok, reason := restarter.Failure(time.Now(), attemptStart)
		if !ok {
			r.err = fmt.Errorf("%w (restart strategy: %s)", err, reason)
			return
		}
		r.mu.Lock()
		r.restarts++
		r.mu.Unlock()
		r.spec.Logf("job %s failed: %v; restarting in %v", r.spec.JobID, err, delay)
		select {
		case <-r.ctx.Done():
			r.err = context.Canceled
			return
		case <-time.After(delay):
		}
	}
}

// cleanup deletes the job's checkpoints and state once it has ended for
// good (finished, or cancelled with DELETE_ON_CANCELLATION).
func (r *Runner) cleanup() {
	if err := r.spec.Checkpoints.DeleteJob(r.spec.JobID); err != nil {
		r.spec.Logf("job %s: delete checkpoints: %v", r.spec.JobID, err)
	}
	if err := r.spec.State.Unpin(r.spec.JobID); err != nil {
		r.spec.Logf("job %s: unpin state: %v", r.spec.JobID, err)
	}
	if _, err := r.spec.State.DeletePrefix(state.JobNamespace(r.spec.JobID)); err != nil {
		r.spec.Logf("job %s: delete state: %v", r.spec.JobID, err)
	}
}

// restorePoint decides where an attempt starts: it returns the checkpoint
// metadata to restore (nil: from scratch), the state timestamp to start
// writing at, and whether the metadata came from a savepoint of another
// job.
func (r *Runner) restorePoint(first bool) (*checkpoint.Metadata, uint64, bool, error) {
	st, ns := r.spec.State, state.JobNamespace(r.spec.JobID)
	if first && r.spec.RecoveryPath != "" {
		md, err := loadSavepoint(st, r.spec.RecoveryPath, r.spec.JobID)
		if err != nil {
			return nil, 0, false, err
		}
		return md, st.NextTs(), true, nil
	}
	if r.spec.Restorable && (!first || r.spec.Resume) {
		md, skipped, err := r.spec.Checkpoints.Latest(r.spec.JobID)
		for _, s := range skipped {
			r.spec.Logf("job %s: skipping unusable checkpoint: %v", r.spec.JobID, s)
		}
		if err != nil {
			return nil, 0, false, fmt.Errorf("find latest checkpoint: %w", err)
		}
		if md == nil && len(skipped) > 0 {
			// Starting from scratch would replay what committed sinks
			// already hold: refuse, and say why.
			return nil, 0, false, fmt.Errorf("cannot restore job %s: its checkpoints are unusable and no earlier one is retained (%v); raise %s to keep more",
				r.spec.JobID, errors.Join(skipped...), checkpoint.KeyNumRetained)
		}
		if md != nil {
			ts, n, err := st.RestoreNamespace(ns, md.WriteTs)
			if err != nil {
				return nil, 0, false, fmt.Errorf("restore state of checkpoint %d: %w", md.ID, err)
			}
			r.spec.Logf("job %s: restored checkpoint %d (%d keys rolled back)", r.spec.JobID, md.ID, n)
			return md, ts, false, nil
		}
		// A savepoint the job started from is still its latest state when
		// it failed before its first checkpoint.
		if r.spec.RecoveryPath != "" {
			if _, err := st.DeletePrefix(ns); err != nil {
				return nil, 0, false, err
			}
			md, err := loadSavepoint(st, r.spec.RecoveryPath, r.spec.JobID)
			if err != nil {
				return nil, 0, false, err
			}
			return md, st.NextTs(), true, nil
		}
	}
	// From scratch: drop whatever an earlier attempt left.
	if !first || r.spec.Resume {
		if _, err := st.DeletePrefix(ns); err != nil {
			return nil, 0, false, fmt.Errorf("drop state: %w", err)
		}
		if r.spec.Reset != nil {
			if err := r.spec.Reset(); err != nil {
				return nil, 0, false, fmt.Errorf("reset: %w", err)
			}
		}
	}
	return nil, st.NextTs(), false, nil
}

// attempt runs the job once, until it finishes, fails or is cancelled.
func (r *Runner) attempt(first bool) error {
	md, startTs, fromSavepoint, err := r.restorePoint(first)
	if err != nil {
		// Restarting cannot help when the job cannot be restored.
		return &permanentError{err}
	}
	// Keep the versions the job may be restored to until its next
	// checkpoint completes (then pinOldest moves the pin on).
	pin := startTs
	if md != nil && !fromSavepoint {
		pin = md.WriteTs
	}
	if err := r.spec.State.Pin(r.spec.JobID, pin); err != nil {
		return fmt.Errorf("pin state: %w", err)
	}
	g, err := r.spec.Build()
	if err != nil {
		return err
	}
	opts := exec.RunOptions{
		JobID: r.spec.JobID, State: r.spec.State, StartTs: startTs, FinalCheckpoint: true,
		ChannelCapacity: r.spec.ChannelCapacity,
	}
	if r.spec.Config.Mode == checkpoint.AtLeastOnce {
		opts.Mode = exec.AtLeastOnce
	}
	nextID := int64(1)
	if md != nil {
		keepSourceParallelism(g, md)
		opts.Restore = restoreFor(g, md, fromSavepoint)
		if !fromSavepoint {
			nextID = md.ID + 1
		}
	}
	r.mu.Lock()
	nextID = max(nextID, r.lastDone+1, r.nextID)
	r.mu.Unlock()
	d := newDriver(r, g, nextID, startTs)
	opts.OnAck = d.onAck
	opts.OnSourceEnded = d.onSourceEnded
	opts.OnCommitted = d.onCommitted
	opts.OnSubtaskFinished = d.onFinished
	// Subtasks may call back (a source that ends at once) before Run
	// returns: the driver's events are buffered and it waits on
	// attemptEnded, not on the job, until run starts.
	job, err := exec.Run(r.ctx, g, opts)
	if err != nil {
		close(d.attemptEnded)
		return err
	}
	d.job = job
	go func() { <-job.Done(); close(d.attemptEnded) }()
	r.mu.Lock()
	r.drv = d
	close(r.attemptCh)
	r.attemptCh = make(chan struct{})
	r.mu.Unlock()
	d.run()
	err = job.Wait()
	<-d.stopped
	r.mu.Lock()
	r.drv = nil
	r.nextID = max(r.nextID, d.coord.NextID())
	r.mu.Unlock()
	return err
}

// keepSourceParallelism gives every vertex with a source (and the
// vertices joined to it by forward edges) the parallelism it had in the
// checkpoint: source positions are per subtask and cannot be redistributed.
// Keyed vertices take the new parallelism; their key groups move.
func keepSourceParallelism(g *exec.JobGraph, md *checkpoint.Metadata) {
	keep := map[int]bool{}
	for i, v := range g.Vertices {
		if v.Source != nil {
			keep[i] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for i, v := range g.Vertices {
			for _, e := range v.Inputs {
				if e.Exchange == exec.Forward && keep[e.From] != keep[i] {
					keep[i], keep[e.From] = true, true
					changed = true
				}
			}
		}
	}
	for i := range g.Vertices {
		if p, ok := md.Parallelism[i]; ok && keep[i] && p > 0 {
			g.Vertices[i].Parallelism = p
		}
	}
}

// restoreFor maps the checkpoint's snapshots to the subtasks of g. From a
// savepoint only source positions are restored: the savepoint's sink
// transactions were committed when it completed, before its job stopped.
func restoreFor(g *exec.JobGraph, md *checkpoint.Metadata, fromSavepoint bool) *exec.Restore {
	type key struct{ v, s, op int }
	byKey := map[key][]byte{}
	for _, s := range md.Snapshots {
		if fromSavepoint && s.Op != -1 {
			continue
		}
		byKey[key{s.Vertex, s.Subtask, s.Op}] = s.Data
	}
	return &exec.Restore{
		CheckpointID: md.ID,
		Snapshots: func(vertex, subtask, op int) [][]byte {
			oldP := md.Parallelism[vertex]
			newP := g.Vertices[vertex].Parallelism
			var out [][]byte
			for j := 0; j < max(oldP, 1); j++ {
				if j%newP != subtask {
					continue
				}
				if d := byKey[key{vertex, j, op}]; len(d) > 0 {
					out = append(out, d)
				}
			}
			return out
		},
	}
}

// driver runs the coordinator of one attempt.
type driver struct {
	r     *Runner
	g     *exec.JobGraph
	job   *exec.Job
	coord *checkpoint.Coordinator

	taskIndex map[[2]int]int // (vertex, subtask) → task number
	tasks     int
	sources   int

	events       chan any
	stopped      chan struct{} // closed when run's goroutine has returned
	attemptEnded chan struct{} // closed when the attempt's job has ended (or never started)

	// owned by run's goroutine
	lastTs      uint64                         // epoch ts in effect before the next barrier
	pending     map[int64]*checkpoint.Metadata // triggered, not complete
	waiters     map[int64][]chan result
	ended       map[[2]int]bool
	committed   map[[2]int]int64               // highest completion each subtask handled
	finished    map[[2]int]bool                // subtasks that ended
	completed   map[int64]*checkpoint.Metadata // complete, waiting for commits
	endedAll    bool
	progressMu  sync.Mutex
	progressSnp []checkpoint.Stats
}

type result struct {
	md  *checkpoint.Metadata
	err error
}

type ackEvent struct{ a exec.Ack }
type committedEvent struct {
	vertex, subtask int
	id              int64
}
type finishedEvent struct{ vertex, subtask int }
type endedEvent struct{ vertex, subtask int }
type requestEvent struct {
	savepoint bool
	reply     chan result
}

var errAttemptEnded = errors.New("the job attempt ended")

// traceCheckpoints logs every completed checkpoint's figures (set
// SLUICE_TRACE_CHECKPOINTS=1).
var traceCheckpoints = os.Getenv("SLUICE_TRACE_CHECKPOINTS") != ""

// permanentError is a failure the restart strategy must not retry.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func newDriver(r *Runner, g *exec.JobGraph, nextID int64, startTs uint64) *driver {
	d := &driver{r: r, g: g, taskIndex: map[[2]int]int{}, events: make(chan any, 256),
		lastTs: startTs, pending: map[int64]*checkpoint.Metadata{}, waiters: map[int64][]chan result{},
		ended: map[[2]int]bool{}, stopped: make(chan struct{}), attemptEnded: make(chan struct{}),
		committed: map[[2]int]int64{}, finished: map[[2]int]bool{}, completed: map[int64]*checkpoint.Metadata{}}
	for vi, v := range g.Vertices {
		for s := 0; s < v.Parallelism; s++ {
			d.taskIndex[[2]int{vi, s}] = d.tasks
			d.tasks++
			if v.Source != nil {
				d.sources++
			}
		}
	}
	d.coord = checkpoint.NewCoordinator(r.spec.Config, d.tasks, nextID, time.Now())
	return d
}

func (d *driver) onAck(a exec.Ack) { d.send(ackEvent{a}) }

func (d *driver) onSourceEnded(vertex, subtask int) { d.send(endedEvent{vertex, subtask}) }

func (d *driver) onCommitted(vertex, subtask int, id int64) {
	d.send(committedEvent{vertex, subtask, id})
}

func (d *driver) onFinished(vertex, subtask int) { d.send(finishedEvent{vertex, subtask}) }

// send delivers an event to the driver unless the attempt has ended.
func (d *driver) send(ev any) {
	select {
	case d.events <- ev:
	case <-d.attemptEnded:
	}
}

func (d *driver) request(ctx context.Context, savepoint bool) (*checkpoint.Metadata, error) {
	reply := make(chan result, 1)
	select {
	case d.events <- requestEvent{savepoint: savepoint, reply: reply}:
	case <-d.attemptEnded:
		return nil, errAttemptEnded
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case res := <-reply:
		return res.md, res.err
	case <-d.job.Done():
		// The reply may have raced with the end of the job.
		select {
		case res := <-reply:
			return res.md, res.err
		default:
		}
		return nil, errAttemptEnded
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (d *driver) inProgress() []checkpoint.Stats {
	d.progressMu.Lock()
	defer d.progressMu.Unlock()
	return append([]checkpoint.Stats(nil), d.progressSnp...)
}

// run drives the coordinator until the attempt ends. It runs on its own
// goroutine and returns at once.
func (d *driver) run() {
	tick := time.NewTicker(tickInterval(d.r.spec.Config))
	go func() {
		defer close(d.stopped)
		defer tick.Stop()
		for {
			select {
			case <-d.job.Done():
				for _, ws := range d.waiters {
					for _, w := range ws {
						w <- result{err: errAttemptEnded}
					}
				}
				return
			case now := <-tick.C:
				d.apply(d.coord.Tick(now))
			case ev := <-d.events:
				d.handle(ev)
			}
		}
	}()
}

func tickInterval(c checkpoint.Config) time.Duration {
	t := 100 * time.Millisecond
	if c.Interval > 0 && c.Interval/4 < t {
		t = max(c.Interval/4, 5*time.Millisecond)
	}
	return t
}

func (d *driver) handle(ev any) {
	now := time.Now()
	switch e := ev.(type) {
	case ackEvent:
		a := e.a
		if md := d.pending[a.CheckpointID]; md != nil {
			for _, s := range a.Snapshots {
				md.Snapshots = append(md.Snapshots, checkpoint.Snapshot{Vertex: a.Vertex, Subtask: a.Subtask, Op: s.Op, Data: s.Data})
			}
		}
		d.apply(d.coord.Ack(a.CheckpointID, d.taskIndex[[2]int{a.Vertex, a.Subtask}],
			checkpoint.AckInfo{StateBytes: a.StateBytes, Alignment: a.Alignment}, now))
	case endedEvent:
		d.ended[[2]int{e.vertex, e.subtask}] = true
		if !d.endedAll && len(d.ended) == d.sources {
			d.endedAll = true
			d.apply(d.coord.SourcesEnded(now))
		}
	case committedEvent:
		k := [2]int{e.vertex, e.subtask}
		d.committed[k] = max(d.committed[k], e.id)
		d.replyCommitted()
	case finishedEvent:
		d.finished[[2]int{e.vertex, e.subtask}] = true
		d.replyCommitted()
	case requestEvent:
		id := d.coord.RequestCheckpoint(now, e.savepoint)
		d.waiters[id] = append(d.waiters[id], e.reply)
		d.apply(d.coord.Tick(now))
	}
}

func (d *driver) apply(actions []checkpoint.Action) {
	for _, a := range actions {
		switch x := a.(type) {
		case checkpoint.Trigger:
			next := d.r.spec.State.NextTs()
			md := &checkpoint.Metadata{JobID: d.r.spec.JobID, ID: x.ID, Savepoint: x.Savepoint, Final: x.Final,
				WriteTs: d.lastTs, TriggerTime: x.Time, Parallelism: map[int]int{}}
			for vi, v := range d.g.Vertices {
				md.Parallelism[vi] = v.Parallelism
			}
			d.pending[x.ID] = md
			d.lastTs = next
			d.job.InjectBarrier(exec.Barrier{CheckpointID: x.ID, Savepoint: x.Savepoint, Final: x.Final, WriteTs: next})
		case checkpoint.Complete:
			d.complete(x)
		case checkpoint.Abort:
			delete(d.pending, x.ID)
			for _, st := range d.coord.History() {
				if st.ID == x.ID {
					d.r.record(st)
				}
			}
			if !x.Subsumed {
				d.r.spec.Logf("job %s: checkpoint %d aborted: %s", d.r.spec.JobID, x.ID, x.Reason)
				d.reply(x.ID, result{err: fmt.Errorf("checkpoint %d aborted: %s", x.ID, x.Reason)})
			}
		case checkpoint.FailJob:
			d.job.Fail(fmt.Errorf("checkpointing failed: %s", x.Reason))
		}
	}
	d.progressMu.Lock()
	d.progressSnp = d.progressSnp[:0]
	for _, s := range d.coord.History() {
		if s.Status == "IN_PROGRESS" {
			d.progressSnp = append(d.progressSnp, s)
		}
	}
	d.progressMu.Unlock()
}

// complete makes checkpoint x durable (state fsync, then metadata), prunes
// old checkpoints and tells the subtasks, whose sinks then commit.
func (d *driver) complete(x checkpoint.Complete) {
	md := d.pending[x.ID]
	delete(d.pending, x.ID)
	if md == nil {
		return
	}
	md.Duration, md.Alignment, md.StateBytes = x.Stats.Duration, x.Stats.Alignment, x.Stats.StateBytes
	sort.Slice(md.Snapshots, func(i, j int) bool {
		a, b := md.Snapshots[i], md.Snapshots[j]
		if a.Vertex != b.Vertex {
			return a.Vertex < b.Vertex
		}
		if a.Subtask != b.Subtask {
			return a.Subtask < b.Subtask
		}
		return a.Op < b.Op
	})
	syncStart := time.Now()
	err := d.r.spec.State.SyncState()
	syncDur := time.Since(syncStart)
	if err == nil {
		err = d.r.spec.Checkpoints.Write(md)
	}
	if traceCheckpoints {
		log.Printf("job %s: checkpoint %d complete: %d bytes, duration %v (acks), alignment %v, state fsync %v, metadata %v",
			d.r.spec.JobID, x.ID, md.StateBytes, md.Duration, md.Alignment, syncDur, time.Since(syncStart)-syncDur)
	}
	if err != nil {
		d.job.Fail(fmt.Errorf("checkpoint %d: %w", x.ID, err))
		d.reply(x.ID, result{err: err})
		return
	}
	crash.Point("after-complete", x.ID)
	if err := d.r.spec.Checkpoints.Retain(d.r.spec.JobID, max(d.r.spec.Config.NumRetained, 1)); err != nil {
		d.r.spec.Logf("job %s: prune checkpoints: %v", d.r.spec.JobID, err)
	}
	if err := d.pinOldest(md); err != nil {
		d.r.spec.Logf("job %s: pin state of retained checkpoints: %v", d.r.spec.JobID, err)
	}
	d.r.mu.Lock()
	d.r.lastDone = x.ID
	d.r.mu.Unlock()
	d.r.record(x.Stats)
	d.completed[x.ID] = md
	d.job.NotifyCheckpointComplete(x.ID)
}

// record adds a finished (completed or failed) checkpoint to the history
// History shows, keeping the newest 32.
func (r *Runner) record(st checkpoint.Stats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.history = append(r.history, st)
	if len(r.history) > 32 {
		r.history = r.history[len(r.history)-32:]
	}
}

// replyCommitted answers the requests for completed checkpoints whose
// completion every subtask has handled (sinks committed) or that ended.
func (d *driver) replyCommitted() {
	for id, md := range d.completed {
		all := true
		for k := range d.taskIndex {
			if !d.finished[k] && d.committed[k] < id {
				all = false
				break
			}
		}
		if all {
			delete(d.completed, id)
			d.reply(id, result{md: md})
		}
	}
}

// pinOldest keeps the state versions of the oldest retained checkpoint.
func (d *driver) pinOldest(latest *checkpoint.Metadata) error {
	ids, err := d.r.spec.Checkpoints.List(d.r.spec.JobID)
	if err != nil || len(ids) == 0 {
		return d.r.spec.State.Pin(d.r.spec.JobID, latest.WriteTs)
	}
	oldest := latest.WriteTs
	if md, err := d.r.spec.Checkpoints.Load(d.r.spec.Checkpoints.CheckpointDir(d.r.spec.JobID, ids[0])); err == nil && md.WriteTs < oldest {
		oldest = md.WriteTs
	}
	return d.r.spec.State.Pin(d.r.spec.JobID, oldest)
}

func (d *driver) reply(id int64, res result) {
	for wid, ws := range d.waiters {
		if wid > id || (res.err != nil && wid != id) {
			continue
		}
		for _, w := range ws {
			w <- res
		}
		delete(d.waiters, wid)
	}
}
