package kafka

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func testPool(addr, prefix string) *txnPool {
	return &txnPool{table: "out", prefix: prefix, subtask: 0, ctx: context.Background(),
		opts: []kgo.Opt{kgo.SeedBrokers(addr)}}
}

// writeOne opens (or continues) the pool's transaction and writes v to it.
func writeOne(t *testing.T, p *txnPool, topic, v string) error {
	t.Helper()
	cl, err := p.current()
	if err != nil {
		return err
	}
	p.cur.records++
	return cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr()
}

// TestTxnPoolFixed: the pool has txnSlots ids, all initialised at start;
// pre-committed transactions that no completed checkpoint commits use them
// up, and then the sink fails instead of initialising a new id.
func TestTxnPoolFixed(t *testing.T) {
	addr := startBroker(t)
	createTopic(t, addr, "fixed", 1)
	p := testPool(addr, "fixed")
	defer p.close()
	for cp := int64(1); cp <= txnSlots; cp++ {
		if err := writeOne(t, p, "fixed", "v"); err != nil {
			t.Fatalf("checkpoint %d: %v", cp, err)
		}
		if cp == 1 && len(p.slots) != txnSlots {
			t.Fatalf("%d slots after start, want %d", len(p.slots), txnSlots)
		}
		if err := p.cur.cl.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := p.preCommit(cp); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.current(); !errors.Is(err, ErrTxnPoolExhausted) {
		t.Fatalf("with %d pending transactions: err = %v, want ErrTxnPoolExhausted", txnSlots, err)
	}
	if len(p.slots) != txnSlots {
		t.Fatalf("the pool grew to %d slots", len(p.slots))
	}
	// A completed checkpoint commits them all and frees the slots (all but
	// the committed ones the last snapshot may list).
	if n, err := p.commitUpTo(txnSlots); err != nil || n != txnSlots {
		t.Fatalf("commitUpTo = %d, %v", n, err)
	}
	if got := readCommitted(t, addr, "fixed"); len(got) != txnSlots {
		t.Fatalf("read_committed sees %d records, want %d", len(got), txnSlots)
	}
	if _, err := p.preCommit(txnSlots + 1); err != nil {
		t.Fatal(err)
	}
	if _, err := p.commitUpTo(txnSlots + 1); err != nil {
		t.Fatal(err)
	}
	if err := writeOne(t, p, "fixed", "again"); err != nil {
		t.Fatal(err)
	}
}

// TestTxnPoolZombieFenced: a second pool restored from the first one's
// checkpoint fences every client of the first (including, once a checkpoint
// of its own completes, the slot the checkpoint listed), and the first can
// neither write nor commit afterwards.
func TestTxnPoolZombieFenced(t *testing.T) {
	addr := startBroker(t)
	createTopic(t, addr, "zombie", 1)
	old := testPool(addr, "zombie")
	defer old.close()
	if err := writeOne(t, old, "zombie", "a"); err != nil {
		t.Fatal(err)
	}
	if err := old.cur.cl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap, err := old.preCommit(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeOne(t, old, "zombie", "b"); err != nil { // T(2), open
		t.Fatal(err)
	}

	// The new instance recovers from checkpoint 1 while the old one is frozen.
	nu := testPool(addr, "zombie")
	defer nu.close()
	if err := nu.restore(1, [][]byte{snap}); err != nil {
		t.Fatal(err)
	}
	if err := writeOne(t, nu, "zombie", "c"); err != nil {
		t.Fatal(err)
	}

	// The old instance resumes: its open transaction is fenced.
	if err := old.cur.cl.Flush(context.Background()); err == nil {
		err = writeOne(t, old, "zombie", "b2")
		if err == nil {
			t.Fatal("the old instance wrote to a transactional id the new one initialised")
		}
	}
	// Committing checkpoint 1 again is a harmless retry.
	if _, err := old.commitUpTo(1); err != nil {
		t.Fatal(err)
	}

	// The new instance completes checkpoint 2: the slot checkpoint 1
	// listed is initialised as soon as it is free (before any transaction
	// uses it), fencing the old client.
	if err := nu.cur.cl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := nu.preCommit(2); err != nil {
		t.Fatal(err)
	}
	if _, err := nu.commitUpTo(2); err != nil {
		t.Fatal(err)
	}
	listed := old.slots[0]
	if err := listed.cl.BeginTransaction(); err == nil {
		rec := &kgo.Record{Topic: "zombie", Value: []byte("zombie")}
		err = listed.cl.ProduceSync(context.Background(), rec).FirstErr()
		if err == nil {
			err = listed.cl.EndTransaction(context.Background(), kgo.TryCommit)
		}
		if err == nil {
			t.Fatal("the old instance committed a transaction on the slot checkpoint 1 listed")
		}
	}
	if err := writeOne(t, nu, "zombie", "d"); err != nil { // uncommitted
		t.Fatal(err)
	}
	got := sortedCopy(readCommitted(t, addr, "zombie"))
	sameValues(t, got, []string{"a", "c"})
	if len(nu.slots) != txnSlots {
		t.Fatalf("the new pool has %d slots, want %d", len(nu.slots), txnSlots)
	}
}
