package checkpoint

import (
	"testing"
	"time"
)

// BenchmarkCoordinatorCheckpoint measures one whole checkpoint (trigger and
// 64 acks) through the coordinator.
func BenchmarkCoordinatorCheckpoint(b *testing.B) {
	const tasks = 64
	cfg := DefaultConfig()
	c := NewCoordinator(cfg, tasks, 1, t0)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(cfg.Interval)
		acts := c.Tick(now)
		id := acts[0].(Trigger).ID
		for task := range tasks {
			c.Ack(id, task, AckInfo{StateBytes: 10, Alignment: time.Millisecond}, now)
		}
	}
}

// BenchmarkStoreWrite measures a durable metadata write (encode, temp file,
// fsync, rename, directory fsync) of a checkpoint with 64 snapshots.
func BenchmarkStoreWrite(b *testing.B) {
	s := &Store{Dir: b.TempDir()}
	md := testMetadata("bench", 1)
	for i := range 64 {
		md.Snapshots = append(md.Snapshots, Snapshot{Vertex: 2, Subtask: i, Data: make([]byte, 64)})
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Write(md); err != nil {
			b.Fatal(err)
		}
		md.ID++
	}
}
