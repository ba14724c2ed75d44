package runner

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicesql/sluice/checkpoint"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

var intType = []types.Type{types.BigInt}

// seqSource emits 0..n-1 in small batches, slowly enough for several
// checkpoints, and checkpoints its position.
type seqSource struct {
	n, next int64
	step    int64
	slow    time.Duration
}

func (s *seqSource) Open(tc *exec.TaskContext) error {
	s.next, s.step = int64(tc.Subtask), int64(tc.Parallelism)
	return nil
}

func (s *seqSource) Next(b *types.Batch) (bool, error) {
	for i := 0; i < 16 && s.next < s.n; i++ {
		b.AppendRow(types.Insert, []types.Datum{types.IntDatum(s.next)})
		s.next += s.step
	}
	time.Sleep(s.slow)
	return s.next >= s.n, nil
}

func (s *seqSource) Close() error { return nil }

func (s *seqSource) Snapshot(int64) ([]byte, error) {
	return binary.AppendVarint(nil, s.next), nil
}

func (s *seqSource) Restore(_ int64, snaps [][]byte) error {
	if len(snaps) != 1 {
		return fmt.Errorf("want one snapshot, got %d", len(snaps))
	}
	v, _ := binary.Varint(snaps[0])
	s.next = v
	return nil
}

// failOnce fails the job the first time it sees the row failAt.
type failOnce struct {
	failAt int64
	failed *atomic.Bool
}

func (f *failOnce) Process(b *types.Batch, out exec.Collector) error {
	for i := 0; i < b.Len(); i++ {
		if b.Cols[0].I64[i] == f.failAt && f.failed.CompareAndSwap(false, true) {
			b.Release()
			return errors.New("injected failure")
		}
	}
	return out.Collect(b)
}

// committed is what an exactly-once test sink made visible.
type committed struct {
	mu   sync.Mutex
	rows []int64
	done map[string]bool // "subtask/checkpoint" already applied
}

// txnSink stages rows per checkpoint and makes them visible when the
// checkpoint completes (or on restore), idempotently.
type txnSink struct {
	c        *committed
	subtask  int
	current  []int64
	pending  map[int64][]int64
	restored bool
}

func (s *txnSink) Open(tc *exec.TaskContext) error {
	s.subtask, s.pending = tc.Subtask, map[int64][]int64{}
	return nil
}

func (s *txnSink) Process(b *types.Batch, _ exec.Collector) error {
	s.current = append(s.current, b.Cols[0].I64[:b.Len()]...)
	b.Release()
	return nil
}

func (s *txnSink) Snapshot(id int64) ([]byte, error) {
	s.pending[id], s.current = s.current, nil
	var out []byte
	for cid, rows := range s.pending {
		out = binary.AppendVarint(out, cid)
		out = binary.AppendVarint(out, int64(len(rows)))
		for _, r := range rows {
			out = binary.AppendVarint(out, r)
		}
	}
	return out, nil
}

func (s *txnSink) apply(id int64, rows []int64) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	key := fmt.Sprintf("%d/%d", s.subtask, id)
	if s.c.done[key] {
		return
	}
	s.c.done[key] = true
	s.c.rows = append(s.c.rows, rows...)
}

func (s *txnSink) NotifyCheckpointComplete(id int64) error {
	for cid, rows := range s.pending {
		if cid <= id {
			s.apply(cid, rows)
			delete(s.pending, cid)
		}
	}
	return nil
}

func (s *txnSink) Restore(id int64, snaps [][]byte) error {
	for _, snap := range snaps {
		for len(snap) > 0 {
			cid, k := binary.Varint(snap)
			snap = snap[k:]
			n, k := binary.Varint(snap)
			snap = snap[k:]
			rows := make([]int64, n)
			for i := range rows {
				rows[i], k = binary.Varint(snap)
				snap = snap[k:]
			}
			if cid <= id {
				s.apply(cid, rows)
			}
		}
	}
	return nil
}

func newSpec(t *testing.T, st *state.Store, dir string, n int64, failAt int64, c *committed) Spec {
	var failed atomic.Bool
	cfg := checkpoint.DefaultConfig()
	cfg.Interval = 20 * time.Millisecond
	cfg.Restart = checkpoint.RestartConfig{Type: checkpoint.RestartFixedDelay, Attempts: 3, Delay: time.Millisecond}
	return Spec{
		JobID: "job-t", Config: cfg, State: st, Checkpoints: &checkpoint.Store{Dir: dir}, Restorable: true,
		Build: func() (*exec.JobGraph, error) {
			return &exec.JobGraph{Vertices: []exec.Vertex{
				{Name: "src", Parallelism: 2, InTypes: intType, OutTypes: intType,
					Source: func(int) (exec.Source, error) { return &seqSource{n: n, slow: time.Millisecond}, nil },
					Ops: []exec.OperatorFactory{func(int) (exec.Operator, error) {
						return &failOnce{failAt: failAt, failed: &failed}, nil
					}}},
				{Name: "sink", Parallelism: 2, InTypes: intType,
					Inputs: []exec.Edge{{From: 0, Exchange: exec.Hash, KeyCols: []int{0}}},
					Ops: []exec.OperatorFactory{func(int) (exec.Operator, error) {
						return &txnSink{c: c}, nil
					}}},
			}}, nil
		},
	}
}

func checkExact(t *testing.T, c *committed, n int64) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	rows := append([]int64(nil), c.rows...)
	sort.Slice(rows, func(i, j int) bool { return rows[i] < rows[j] })
	if int64(len(rows)) != n {
		t.Fatalf("%d rows committed, want %d", len(rows), n)
	}
	for i, r := range rows {
		if r != int64(i) {
			t.Fatalf("row %d is %d: rows lost or doubled", i, r)
		}
	}
}

// TestRestartAfterFailureIsExact: a job that fails once mid-way restarts
// from its latest checkpoint and commits every row exactly once.
func TestRestartAfterFailureIsExact(t *testing.T) {
	st, err := state.Open(t.TempDir(), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &committed{done: map[string]bool{}}
	const n = 3000
	r, err := Start(context.Background(), newSpec(t, st, t.TempDir(), n, 1700, c))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Wait(); err != nil {
		t.Fatal(err)
	}
	if r.Restarts() != 1 {
		t.Fatalf("restarts = %d, want 1", r.Restarts())
	}
	checkExact(t, c, n)
}

// TestOnFinishedBeforeCleanup: OnFinished runs once, after the final
// commit and while the job's checkpoints still exist (state deletion
// follows it).
func TestOnFinishedBeforeCleanup(t *testing.T) {
	st, err := state.Open(t.TempDir(), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &committed{done: map[string]bool{}}
	const n = 500
	dir := t.TempDir()
	spec := newSpec(t, st, dir, n, -1, c)
	calls, rowsAtCall, hadCheckpoint := 0, 0, false
	spec.OnFinished = func() {
		calls++
		c.mu.Lock()
		rowsAtCall = len(c.rows)
		c.mu.Unlock()
		md, _, err := spec.Checkpoints.Latest(spec.JobID)
		hadCheckpoint = err == nil && md != nil
	}
	r, err := Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Wait(); err != nil {
		t.Fatal(err)
	}
	if calls != 1 || rowsAtCall != n || !hadCheckpoint {
		t.Fatalf("OnFinished: %d calls, %d rows committed at the call (want %d), checkpoint present %v",
			calls, rowsAtCall, n, hadCheckpoint)
	}
	if md, _, _ := spec.Checkpoints.Latest(spec.JobID); md != nil {
		t.Fatalf("checkpoint %d left after Wait", md.ID)
	}
	checkExact(t, c, n)
}

// TestResumeAfterEngineStop: stopping the engine (context cancelled, as at
// shutdown or a crash) keeps the checkpoints; a new runner with Resume
// continues from the latest one and the result is exact.
func TestResumeAfterEngineStop(t *testing.T) {
	dir := t.TempDir()
	st, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ckpts := t.TempDir()
	c := &committed{done: map[string]bool{}}
	const n = 4000
	ctx, cancel := context.WithCancel(context.Background())
	r, err := Start(ctx, newSpec(t, st, ckpts, n, -1, c))
	if err != nil {
		t.Fatal(err)
	}
	for r.LastCompleted() < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := r.Wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	spec := newSpec(t, st, ckpts, n, -1, c)
	spec.Resume = true
	r, err = Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Wait(); err != nil {
		t.Fatal(err)
	}
	checkExact(t, c, n)
	if ids, _ := (&checkpoint.Store{Dir: ckpts}).List("job-t"); len(ids) != 0 {
		t.Fatalf("checkpoints %v left after the job finished", ids)
	}
}

// TestCorruptOnlyCheckpointRefusesStart: with its only retained checkpoint
// damaged, a job is not silently started from scratch.
func TestCorruptOnlyCheckpointRefusesStart(t *testing.T) {
	dir := t.TempDir()
	st, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ckpts := t.TempDir()
	c := &committed{done: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	r, err := Start(ctx, newSpec(t, st, ckpts, 100000, -1, c))
	if err != nil {
		t.Fatal(err)
	}
	for r.LastCompleted() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	_ = r.Wait()
	store := &checkpoint.Store{Dir: ckpts}
	ids, err := store.List("job-t")
	if err != nil || len(ids) != 1 {
		t.Fatalf("checkpoints %v, %v; want exactly one retained", ids, err)
	}
	md := filepath.Join(store.CheckpointDir("job-t", ids[0]), "_metadata")
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(md, b, 0o644); err != nil {
		t.Fatal(err)
	}
	spec := newSpec(t, st, ckpts, 100000, -1, c)
	spec.Resume = true
	r, err = Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Wait()
	if err == nil || !strings.Contains(err.Error(), "unusable") || r.Restarts() != 0 {
		t.Fatalf("Wait = %v after %d restarts; want a refusal without restarts", err, r.Restarts())
	}
	t.Logf("refused: %v", err)
}
