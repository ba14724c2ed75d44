package checkpoint

import (
	"fmt"
	"time"
)

// HistorySize is the number of finished checkpoints History keeps.
const HistorySize = 32

// Checkpoint statuses in Stats.Status.
const (
	StatusInProgress = "IN_PROGRESS"
	StatusCompleted  = "COMPLETED"
	StatusFailed     = "FAILED"
)

// Action is something the caller of a Coordinator must do: a Trigger,
// Complete, Abort or FailJob (values, not pointers). Actions are returned
// in the order they must be carried out.
type Action interface{ action() }

// Trigger asks the caller to inject barrier ID at every source.
type Trigger struct {
	ID int64
	// Savepoint: write the checkpoint as a self-contained savepoint.
	Savepoint bool
	// Final: the sources have ended; this is the job's last checkpoint, and
	// the job finishes once it completes.
	Final bool
	Time  time.Time // trigger time
}

// Complete reports that every task acknowledged checkpoint ID: the caller
// persists its metadata and then tells the subtasks that it completed
// (sinks commit).
type Complete struct {
	ID    int64
	Stats Stats
}

// Abort reports that checkpoint ID was abandoned (timeout, decline,
// subsumption, job failure); the caller tells the subtasks to drop what
// they prepared for it. Reason says why, without the checkpoint id (e.g.
// "timed out after 10 min (execution.checkpointing.timeout)"). Subsumed is true when a newer checkpoint completed
// first, which is not a failure: whoever waited for ID can consider it
// covered by the newer one.
type Abort struct {
	ID       int64
	Reason   string
	Subsumed bool
}

// FailJob reports that more than Config.TolerableFailed consecutive
// checkpoints failed: the caller fails the job (and then calls TaskFailed).
type FailJob struct {
	Reason string
}

func (Trigger) action()  {}
func (Complete) action() {}
func (Abort) action()    {}
func (FailJob) action()  {}

// AckInfo is what a task reports with its acknowledgement.
type AckInfo struct {
	StateBytes int64         // bytes of state the task wrote for the checkpoint
	Alignment  time.Duration // time the task spent aligning barriers
}

// Stats describes one checkpoint, for monitoring.
type Stats struct {
	ID          int64
	Status      string // StatusInProgress, StatusCompleted or StatusFailed
	Savepoint   bool
	Final       bool
	TriggerTime time.Time
	// Duration from trigger to completion or failure; 0 while in progress.
	Duration time.Duration
	// Alignment is the longest alignment among the acknowledgements.
	Alignment time.Duration
	// StateBytes is the sum over the acknowledgements.
	StateBytes    int64
	Acks, Tasks   int
	FailureReason string
}

type pending struct {
	stats *Stats
	acked []bool
}

type request struct {
	id        int64
	savepoint bool
	final     bool
}

// Coordinator decides when checkpoints are triggered, completed and
// aborted; see the package documentation for the state machine. It has no
// goroutines and no clock: every input carries the current time and
// returns the actions due. It is not safe for concurrent use.
type Coordinator struct {
	cfg   Config
	tasks int

	nextID         int64
	lastTrigger    time.Time
	lastCompletion time.Time
	completedOnce  bool
	lastCompleted  int64

	pending []*pending // ascending id
	queue   []request  // requested, not yet triggered; ascending id

	sourcesEnded bool
	finalID      int64 // the final checkpoint's id, once SourcesEnded
	finished     bool  // the final checkpoint completed

	failures    int    // consecutive counted failures
	lastFailure string // the last counted failure, for FailJob
	halted      bool   // FailJob returned; waiting for TaskFailed

	history []*Stats // trigger order
}

// NewCoordinator returns a coordinator for a job whose every checkpoint
// must be acknowledged by tasks tasks (numbered 0..tasks-1), using nextID as
// the first checkpoint id (the last completed id + 1 after a restore; ids
// below 1 mean 1). The first periodic checkpoint is due cfg.Interval after
// now. cfg should pass Config.Validate; MaxConcurrent < 1 is treated as 1
// and Timeout <= 0 as no timeout.
func NewCoordinator(cfg Config, tasks int, nextID int64, now time.Time) *Coordinator {
	if cfg.MaxConcurrent < 1 {
		cfg.MaxConcurrent = 1
	}
	if nextID < 1 {
		nextID = 1
	}
	if tasks < 0 {
		tasks = 0
	}
	return &Coordinator{cfg: cfg, tasks: tasks, nextID: nextID, lastTrigger: now, lastCompleted: nextID - 1}
}

// Tick advances time to now: it aborts checkpoints pending for Timeout or
// longer, returns FailJob when too many failed, and triggers what is due
// (queued requests first, then a periodic checkpoint). Every other method
// also does this after handling its event.
func (c *Coordinator) Tick(now time.Time) []Action {
	return c.advance(now, nil)
}

// RequestCheckpoint asks for a checkpoint (savepoint=false, e.g. FLUSH) or
// a savepoint as soon as MaxConcurrent allows, regardless of Interval and
// MinPause, and returns the id it will have. A request while one of the
// same kind is still queued returns that one's id. The checkpoint is
// triggered by the next call to any method (call Tick(now) right away).
//
// After SourcesEnded a checkpoint request returns the final checkpoint's id
// and a savepoint request returns 0: no savepoint can be taken any more.
func (c *Coordinator) RequestCheckpoint(now time.Time, savepoint bool) int64 {
	if c.sourcesEnded || c.finished {
		if savepoint {
			return 0
		}
		return c.finalID
	}
	for _, q := range c.queue {
		if q.savepoint == savepoint {
			return q.id
		}
	}
	id := c.allocID()
	c.queue = append(c.queue, request{id: id, savepoint: savepoint})
	return id
}

// SourcesEnded reports that every source reached its end. No periodic
// checkpoints follow; a Final checkpoint is triggered as soon as
// MaxConcurrent allows (a queued checkpoint request becomes it). If the
// final checkpoint fails, another one is triggered; when one completes the
// coordinator is Finished.
func (c *Coordinator) SourcesEnded(now time.Time) []Action {
	if !c.sourcesEnded && !c.finished {
		c.sourcesEnded = true
		c.queueFinal()
	}
	return c.advance(now, nil)
}

// queueFinal turns the queued checkpoint request into the final one, or
// queues a new final request.
func (c *Coordinator) queueFinal() {
	for i := range c.queue {
		if !c.queue[i].savepoint {
			c.queue[i].final = true
			c.finalID = c.queue[i].id
			return
		}
	}
	c.finalID = c.allocID()
	c.queue = append(c.queue, request{id: c.finalID, final: true})
}

// Ack records that task acknowledged checkpoint id. When every task has,
// the checkpoint completes (Complete, then Abort with Subsumed for every
// older pending checkpoint that is not a savepoint). Acks for unknown or
// aborted ids, out-of-range tasks and duplicates are ignored.
func (c *Coordinator) Ack(id int64, task int, a AckInfo, now time.Time) []Action {
	var acts []Action
	if p := c.find(id); p != nil && task >= 0 && task < c.tasks && !p.acked[task] {
		p.acked[task] = true
		p.stats.Acks++
		p.stats.StateBytes += a.StateBytes
		p.stats.Alignment = max(p.stats.Alignment, a.Alignment)
		if p.stats.Acks == c.tasks {
			acts = c.complete(p, now, acts)
		}
	}
	return c.advance(now, acts)
}

// Decline records that task could not take checkpoint id: the checkpoint
// is aborted and counts as a failure (unless it is a savepoint). Unknown
// ids are ignored.
func (c *Coordinator) Decline(id int64, task int, reason string, now time.Time) []Action {
	var acts []Action
	if p := c.find(id); p != nil {
		acts = c.abort(p, fmt.Sprintf("declined by task %d: %s", task, reason), now, true, acts)
	}
	return c.advance(now, acts)
}

// TaskFailed reports that the job failed: every pending and queued
// checkpoint is aborted without counting as a checkpoint failure, and the
// coordinator starts over as for a new run of the job (failure count,
// FailJob and SourcesEnded cleared; the next periodic checkpoint is due
// Interval after now; ids continue from NextID).
func (c *Coordinator) TaskFailed(now time.Time) []Action {
	const reason = "the job failed"
	var acts []Action
	c.sourcesEnded, c.finalID, c.finished = false, 0, false
	for len(c.pending) > 0 {
		acts = c.abort(c.pending[0], reason, now, false, acts)
	}
	for _, q := range c.queue {
		acts = append(acts, Abort{ID: q.id, Reason: reason})
	}
	c.queue = nil
	c.failures, c.halted = 0, false
	c.lastTrigger = now
	return acts
}

// Pending returns the ids of the triggered, not yet completed or aborted
// checkpoints, ascending.
func (c *Coordinator) Pending() []int64 {
	ids := make([]int64, len(c.pending))
	for i, p := range c.pending {
		ids[i] = p.stats.ID
	}
	return ids
}

// LastCompleted returns the highest id of a completed checkpoint or
// savepoint (nextID-1 of NewCoordinator before any completes).
func (c *Coordinator) LastCompleted() int64 { return c.lastCompleted }

// NextID returns the id the next checkpoint will get. A coordinator
// created for a restarted job should start there, so that no id is used
// twice.
func (c *Coordinator) NextID() int64 { return c.nextID }

// Finished reports whether the final checkpoint completed.
func (c *Coordinator) Finished() bool { return c.finished }

// History returns the stats of the pending checkpoints and of up to
// HistorySize finished ones, ascending by id.
func (c *Coordinator) History() []Stats {
	out := make([]Stats, len(c.history))
	for i, s := range c.history {
		out[i] = *s
	}
	return out
}

func (c *Coordinator) allocID() int64 {
	id := c.nextID
	c.nextID++
	return id
}

func (c *Coordinator) find(id int64) *pending {
	for _, p := range c.pending {
		if p.stats.ID == id {
			return p
		}
	}
	return nil
}

func (c *Coordinator) remove(p *pending) {
	for i, q := range c.pending {
		if q == p {
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			return
		}
	}
}

// advance runs timeouts, the failure check and triggers at now, appending
// to acts.
func (c *Coordinator) advance(now time.Time, acts []Action) []Action {
	if c.cfg.Timeout > 0 {
		for i := 0; i < len(c.pending); {
			p := c.pending[i]
			if now.Sub(p.stats.TriggerTime) >= c.cfg.Timeout {
				acts = c.abort(p, fmt.Sprintf("timed out after %s (%s)", FormatDuration(c.cfg.Timeout), KeyTimeout), now, true, acts)
				continue
			}
			i++
		}
	}
	if c.failures > c.cfg.TolerableFailed && !c.halted {
		c.halted = true
		acts = append(acts, FailJob{Reason: fmt.Sprintf(
			"too many failed checkpoints: %d in a row, more than %s = %d allows; last: %s",
			c.failures, KeyTolerableFailed, c.cfg.TolerableFailed, c.lastFailure)})
	}
	if c.halted || c.finished {
		return acts
	}
	for len(c.queue) > 0 && len(c.pending) < c.cfg.MaxConcurrent {
		q := c.queue[0]
		c.queue = c.queue[1:]
		acts = c.trigger(q, now, acts)
	}
	if len(c.queue) == 0 && c.periodicDue(now) {
		acts = c.trigger(request{id: c.allocID()}, now, acts)
	}
	return acts
}

func (c *Coordinator) periodicDue(now time.Time) bool {
	switch {
	case c.cfg.Interval <= 0, c.sourcesEnded:
		return false
	case now.Sub(c.lastTrigger) < c.cfg.Interval:
		return false
	case len(c.pending) >= c.cfg.MaxConcurrent:
		return false
	case c.cfg.MinPause > 0 && len(c.pending) > 0:
		return false
	case c.completedOnce && now.Sub(c.lastCompletion) < c.cfg.MinPause:
		return false
	}
	return true
}

func (c *Coordinator) trigger(q request, now time.Time, acts []Action) []Action {
	s := &Stats{ID: q.id, Status: StatusInProgress, Savepoint: q.savepoint, Final: q.final,
		TriggerTime: now, Tasks: c.tasks}
	p := &pending{stats: s, acked: make([]bool, c.tasks)}
	c.pending = append(c.pending, p)
	c.record(s)
	c.lastTrigger = now
	acts = append(acts, Trigger{ID: q.id, Savepoint: q.savepoint, Final: q.final, Time: now})
	if c.tasks == 0 {
		acts = c.complete(p, now, acts)
	}
	return acts
}

func (c *Coordinator) complete(p *pending, now time.Time, acts []Action) []Action {
	s := p.stats
	s.Status = StatusCompleted
	s.Duration = now.Sub(s.TriggerTime)
	c.remove(p)
	c.lastCompleted = max(c.lastCompleted, s.ID)
	c.lastCompletion, c.completedOnce = now, true
	c.failures = 0
	if s.Final {
		c.finished = true
	}
	acts = append(acts, Complete{ID: s.ID, Stats: *s})
	if !s.Savepoint {
		for i := 0; i < len(c.pending); {
			o := c.pending[i]
			if o.stats.ID < s.ID && !o.stats.Savepoint {
				s := o.stats
				s.Status, s.Duration = StatusFailed, now.Sub(s.TriggerTime)
				s.FailureReason = fmt.Sprintf("subsumed by checkpoint %d", p.stats.ID)
				c.remove(o)
				acts = append(acts, Abort{ID: s.ID, Reason: s.FailureReason, Subsumed: true})
				continue
			}
			i++
		}
	}
	return acts
}

// abort abandons p; counted failures (of checkpoints, not savepoints) add
// to the consecutive failure count. An aborted final checkpoint is queued
// again.
func (c *Coordinator) abort(p *pending, reason string, now time.Time, counted bool, acts []Action) []Action {
	s := p.stats
	s.Status, s.Duration, s.FailureReason = StatusFailed, now.Sub(s.TriggerTime), reason
	c.remove(p)
	if counted && !s.Savepoint {
		c.failures++
		c.lastFailure = fmt.Sprintf("checkpoint %d: %s", s.ID, reason)
	}
	if s.Final && c.sourcesEnded {
		c.queueFinal()
	}
	return append(acts, Abort{ID: s.ID, Reason: reason})
}

// record appends s to the history, dropping the oldest finished entries
// beyond HistorySize.
func (c *Coordinator) record(s *Stats) {
	c.history = append(c.history, s)
	finished := 0
	for _, h := range c.history {
		if h.Status != StatusInProgress {
			finished++
		}
	}
	for i := 0; finished > HistorySize && i < len(c.history); {
		if c.history[i].Status != StatusInProgress {
			c.history = append(c.history[:i], c.history[i+1:]...)
			finished--
			continue
		}
		i++
	}
}
