package session

import (
	"context"
	"fmt"
	"time"

	"errors"

	"github.com/sluicesql/sluice/checkpoint/runner"
)

// flush waits until every job running in this process has absorbed every
// change made to built-in tables before the call: bounded jobs have
// finished, and each continuous job has read its built-in inputs up to
// their current versions and passed a flush barrier through to its sinks.
// Jobs write into built-in tables other jobs read, so it repeats until a
// round changes no table.
func (s *Session) flush(ctx context.Context) (*Result, error) {
	for round := 0; ; round++ {
		if round > 1000 {
			return nil, fmt.Errorf("FLUSH did not settle after %d rounds: jobs keep changing built-in tables", round)
		}
		before := s.tableVersions()
		for _, rj := range s.runningJobs() {
			if err := s.absorb(ctx, rj, before); err != nil {
				return nil, err
			}
		}
		after := s.tableVersions()
		same := len(before) == len(after)
		for id, v := range before {
			if after[id] != v {
				same = false
			}
		}
		if same {
			return ok("Flushed."), nil
		}
	}
}

// tableVersions returns the change version of every built-in table.
func (s *Session) tableVersions() map[uint64]uint64 {
	out := map[uint64]uint64{}
	for _, t := range s.cat.Tables() {
		if t.Options["connector"] == "" {
			out[t.ID] = s.tables.Version(t.ID)
		}
	}
	return out
}

func (s *Session) absorb(ctx context.Context, rj *runningJob, versions map[uint64]uint64) error {
	if rj.bounded {
		select {
		case <-rj.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, name := range rj.reads {
		t, err := s.cat.Table(name)
		if err != nil || t.Options["connector"] != "" {
			continue
		}
		if err := s.waitSubscribed(ctx, rj, t.ID); err != nil {
			return err
		}
		if err := s.tables.WaitEmitted(ctx, t.ID, versions[t.ID]); err != nil {
			return err
		}
	}
	// A completed checkpoint has passed through every operator and been
	// committed by every sink.
	if err := rj.checkpoint(ctx); err != nil {
		return fmt.Errorf("FLUSH: %w", err)
	}
	return nil
}

// waitSubscribed waits until every source subtask of rj reading built-in
// table id has opened its subscription, so that WaitEmitted counts it: a
// just-started job may not have opened its sources yet.
func (s *Session) waitSubscribed(ctx context.Context, rj *runningJob, id uint64) error {
	wait := 100 * time.Microsecond
	for {
		subtasks := map[int]bool{}
		par := 0
		for _, r := range s.tables.Readers(id) {
			if r.JobID == rj.id {
				subtasks[r.Subtask] = true
				par = r.Parallelism
			}
		}
		if par > 0 && len(subtasks) >= par {
			return nil
		}
		select {
		case <-rj.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Millisecond)
	}
}

// Checkpoint takes a checkpoint of every job running in this process and
// waits until each has completed (jobs that end meanwhile are skipped).
func (s *Session) Checkpoint(ctx context.Context) error {
	for _, rj := range s.runningJobs() {
		if err := rj.checkpoint(ctx); err != nil {
			return err
		}
	}
	return nil
}

// checkpoint takes a checkpoint of rj and waits until its sinks have
// committed it; a job that ends meanwhile is not an error (FLUSH and
// Checkpoint report no job failures: WaitJobs does).
func (rj *runningJob) checkpoint(ctx context.Context) error {
	_, err := rj.run.Checkpoint(ctx, false)
	if err == nil || errors.Is(err, runner.ErrNotRunning) {
		return nil
	}
	select {
	case <-rj.done:
		return nil
	default:
	}
	return fmt.Errorf("checkpoint of job '%s': %w", rj.id, err)
}
