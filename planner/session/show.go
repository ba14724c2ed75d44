package session

import (
	"fmt"
	"time"

	"github.com/sluicesql/sluice/checkpoint"
	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/types"
)

// showJobs lists every job: id, name, status, uptime (running jobs),
// restarts after failures, the last completed checkpoint and the error of a
// failed job.
func (s *Session) showJobs() *Result {
	var rows [][]types.Datum
	for _, j := range s.cat.Jobs() {
		s.mu.Lock()
		rj := s.jobs[j.ID]
		s.mu.Unlock()
		uptime, restarts, last := "", int64(j.Restarts), ""
		if rj != nil {
			uptime = time.Since(rj.run.StartedAt()).Truncate(time.Second).String()
			restarts += int64(rj.run.Restarts())
			if id := rj.run.LastCompleted(); id > 0 {
				last = fmt.Sprint(id)
			}
		} else if cfg, err := s.checkpointConfig(j.Config); err == nil {
			if md, _, err := (&checkpoint.Store{Dir: cfg.Dir}).Latest(j.ID); err == nil && md != nil {
				last = fmt.Sprint(md.ID)
			}
		}
		rows = append(rows, []types.Datum{types.StringDatum(j.ID), types.StringDatum(j.Name),
			types.StringDatum(string(j.Status)), types.StringDatum(uptime), types.IntDatum(restarts),
			types.StringDatum(last), types.StringDatum(j.Error)})
	}
	schema := types.Schema{
		{Name: "job id", Type: types.String}, {Name: "name", Type: types.String},
		{Name: "status", Type: types.String}, {Name: "uptime", Type: types.String},
		{Name: "restarts", Type: types.BigInt}, {Name: "last checkpoint", Type: types.String},
		{Name: "error", Type: types.String},
	}
	return rowsResult(schema, rows)
}

// showCheckpoints lists the recent checkpoints of a job: those the running
// job took (completed, failed and in progress), or, for a job not running
// here, the completed ones retained on disk.
func (s *Session) showCheckpoints(id string) (*Result, error) {
	job, err := s.cat.Job(id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	rj := s.jobs[id]
	s.mu.Unlock()
	var stats []checkpoint.Stats
	if rj != nil {
		stats = rj.run.History()
	} else {
		cfg, err := s.checkpointConfig(job.Config)
		if err != nil {
			return nil, err
		}
		store := &checkpoint.Store{Dir: cfg.Dir}
		ids, err := store.List(id)
		if err != nil {
			return nil, err
		}
		for _, cid := range ids {
			md, err := store.Load(store.CheckpointDir(id, cid))
			if err != nil {
				stats = append(stats, checkpoint.Stats{ID: cid, Status: "CORRUPT", FailureReason: err.Error()})
				continue
			}
			stats = append(stats, checkpoint.Stats{ID: md.ID, Status: checkpoint.StatusCompleted, Savepoint: md.Savepoint,
				TriggerTime: md.TriggerTime, Duration: md.Duration, Alignment: md.Alignment, StateBytes: md.StateBytes})
		}
	}
	var rows [][]types.Datum
	for _, st := range stats {
		kind := "checkpoint"
		if st.Savepoint {
			kind = "savepoint"
		}
		rows = append(rows, []types.Datum{types.IntDatum(st.ID), types.StringDatum(kind), types.StringDatum(st.Status),
			types.StringDatum(st.TriggerTime.UTC().Format("2006-01-02 15:04:05.000")),
			types.StringDatum(st.Duration.Round(time.Millisecond).String()),
			types.StringDatum(st.Alignment.Round(time.Microsecond).String()),
			types.IntDatum(st.StateBytes), types.StringDatum(st.FailureReason)})
	}
	schema := types.Schema{
		{Name: "id", Type: types.BigInt}, {Name: "type", Type: types.String}, {Name: "status", Type: types.String},
		{Name: "trigger time", Type: types.String}, {Name: "duration", Type: types.String},
		{Name: "alignment", Type: types.String}, {Name: "state size", Type: types.BigInt},
		{Name: "failure", Type: types.String},
	}
	return rowsResult(schema, rows), nil
}

// showTransactions lists the transactions the job's sinks hold open in
// this process (exactly-once Kafka sinks): open ones collect rows,
// pre-committed ones wait for their checkpoint to complete.
func (s *Session) showTransactions(id string) (*Result, error) {
	if _, err := s.cat.Job(id); err != nil {
		return nil, err
	}
	var rows [][]types.Datum
	for _, t := range connectors.Transactions(id) {
		cp := types.NullDatum(types.BigInt)
		if t.Checkpoint > 0 {
			cp = types.IntDatum(t.Checkpoint)
		}
		rows = append(rows, []types.Datum{types.StringDatum(t.Table), types.IntDatum(int64(t.Subtask)),
			types.StringDatum(t.ID), types.StringDatum(t.State), cp, types.IntDatum(t.ProducerID),
			types.IntDatum(int64(t.Epoch)), types.IntDatum(t.Records)})
	}
	schema := types.Schema{
		{Name: "table", Type: types.String}, {Name: "subtask", Type: types.BigInt},
		{Name: "transactional id", Type: types.String}, {Name: "state", Type: types.String},
		{Name: "checkpoint", Type: types.BigInt}, {Name: "producer id", Type: types.BigInt},
		{Name: "epoch", Type: types.BigInt}, {Name: "records", Type: types.BigInt},
	}
	return rowsResult(schema, rows), nil
}
