package state

import (
	"math/rand/v2"
	"testing"
	"time"
)

const (
	benchKeys    = 1_000_000
	benchChanged = 10_000
	benchCache   = 50_000
)

// benchState opens a store in dir holding benchKeys int64 keys written
// through a KeyedState at one epoch, flushed and synced (checkpoint 1),
// with the epoch pinned.
func benchState(b *testing.B, dir string) (*Store, *KeyedState[int64], *Epoch) {
	b.Helper()
	s := openDisk(b, dir)
	ns := OperatorNamespace("bench", 0, 0)
	e := NewEpoch(s.NextTs())
	if err := s.Pin("bench", e.Ts()); err != nil {
		b.Fatal(err)
	}
	k := NewKeyedState[int64](s, ns, Int64Codec{}, benchCache)
	k.SetEpoch(e)
	for i := range benchKeys {
		kg, key := ikey(i)
		if err := k.Put(kg, key, int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := k.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := s.SyncState(); err != nil {
		b.Fatal(err)
	}
	return s, k, e
}

// change updates benchChanged random keys.
func change(b *testing.B, k *KeyedState[int64], rng *rand.Rand) {
	for range benchChanged {
		i := rng.IntN(benchKeys)
		kg, key := ikey(i)
		if err := k.Put(kg, key, rng.Int64()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckpoint1MKeys10kChanged measures one checkpoint (Flush at
// the epoch's ts, then SyncState) of a KeyedState over 1 M keys after 10 k
// random keys changed in the epoch. Changing the keys (cache misses,
// evictions at the epoch's ts) is not timed; their fsync in SyncState is.
func BenchmarkCheckpoint1MKeys10kChanged(b *testing.B) {
	s, k, e := benchState(b, b.TempDir())
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	e.TakeWritten() // the initial load
	var written int64
	for b.Loop() {
		b.StopTimer()
		e.Set(s.NextTs())
		change(b, k, rng)
		b.StartTimer()
		if err := k.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := s.SyncState(); err != nil {
			b.Fatal(err)
		}
		written += e.TakeWritten()
	}
	b.ReportMetric(float64(written)/float64(b.N), "state-bytes/checkpoint")
}

// BenchmarkRestore1MKeys measures recovery after a crash: opening the
// store (replaying the WAL) and RestoreNamespace to the last checkpoint,
// with 1 M keys of state of which 10 k random keys were changed and
// written after the checkpoint.
func BenchmarkRestore1MKeys(b *testing.B) {
	dir := b.TempDir()
	s, k, e := benchState(b, dir)
	ns := k.Namespace()
	checkpoint := e.Ts()
	rng := rand.New(rand.NewPCG(3, 4))
	var rewritten int
	var restoreOnly time.Duration // RestoreNamespace without Open
	for b.Loop() {
		b.StopTimer()
		e.Set(s.NextTs())
		change(b, k, rng)
		if err := k.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		s = openDisk(b, dir)
		t0 := time.Now()
		startTs, n, err := s.RestoreNamespace(ns, checkpoint)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		restoreOnly += time.Since(t0)
		if n < benchChanged*9/10 || n > benchChanged {
			b.Fatalf("rewrote %d keys after %d changes", n, benchChanged)
		}
		rewritten += n
		// The restored state is the next iteration's checkpoint.
		checkpoint = startTs
		if err := s.Pin("bench", checkpoint); err != nil {
			b.Fatal(err)
		}
		e = NewEpoch(checkpoint)
		k = NewKeyedState[int64](s, ns, Int64Codec{}, benchCache)
		k.SetEpoch(e)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(rewritten)/float64(b.N), "keys-rewritten/op")
	b.ReportMetric(float64(restoreOnly.Nanoseconds())/float64(b.N), "restore-ns/op")
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
}
