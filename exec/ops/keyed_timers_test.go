package ops

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/types"
)

// TestKeyTimersFireOrderAndLead: timers fire once the watermark reaches
// their time minus lead, in order of time then of id, each id once per
// time, and not again.
func TestKeyTimersFireOrderAndLead(t *testing.T) {
	k := newKeyTimers(1)
	k.add(30, "b")
	k.add(10, "z")
	k.add(30, "a")
	k.add(30, "b") // again: one timer
	k.add(20, "m")
	k.add(math.MaxInt64, "last")
	var fired []string
	o := pendingOut{types: []types.Type{types.BigInt}}
	var out exectest.Output
	fire := func(wm int64) {
		t.Helper()
		if err := k.fire(wm, &o, &out, func(id string) error { fired = append(fired, id); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	fire(8) // 10 - 1 > 8
	if len(fired) != 0 {
		t.Fatalf("fired %v at 8", fired)
	}
	fire(9)
	fire(29)
	fire(29)
	if want := []string{"z", "m", "a", "b"}; !slices.Equal(fired, want) {
		t.Fatalf("fired %v, want %v", fired, want)
	}
	fire(math.MaxInt64)
	if want := []string{"z", "m", "a", "b", "last"}; !slices.Equal(fired, want) {
		t.Fatalf("fired %v, want %v", fired, want)
	}
	if len(out.Batches) != 0 {
		t.Fatalf("%d batches flushed with nothing appended", len(out.Batches))
	}
}

// TestKeyTimersFlushFullBatches: fire passes the output on whenever a
// batch is full and flushes the rest at the end; an error of fn stops it.
func TestKeyTimersFlushFullBatches(t *testing.T) {
	k := newKeyTimers(0)
	for i := range 3 {
		k.add(5, string(rune('a'+i)))
	}
	o := pendingOut{types: []types.Type{types.BigInt}}
	var out exectest.Output
	row := []types.Datum{{Type: types.BigInt, I: 1}}
	err := k.fire(5, &o, &out, func(string) error {
		for range types.DefaultBatchSize*2/3 + 1 {
			o.batch().AppendRow(types.Insert, row)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, b := range out.Batches {
		sizes = append(sizes, b.Len())
		b.Release()
	}
	n := types.DefaultBatchSize*2/3 + 1
	if want := []int{2 * n, n}; !slices.Equal(sizes, want) {
		t.Fatalf("batch sizes %v, want %v", sizes, want)
	}

	boom := errors.New("boom")
	k.add(7, "x")
	k.add(7, "y")
	calls := 0
	err = k.fire(7, &o, &out, func(string) error { calls++; return boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("fire = %v after %d calls, want boom after 1", err, calls)
	}
}

// TestMemKVScanRange: scan visits the entries of the key groups asked
// for, in key group then key order.
func TestMemKVScanRange(t *testing.T) {
	s := newMemKV[int]()
	for i, e := range []struct {
		kg  int
		key string
	}{{300, "b"}, {2, "x"}, {300, "a"}, {7, "k"}, {1000, "z"}} {
		if err := s.put(e.kg, []byte(e.key), i); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.del(7, []byte("k")); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := s.scan(2, 300, func(kg int, key []byte, v int) error {
		got = append(got, string(key))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"x", "a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("scan 2..300 = %v, want %v", got, want)
	}
	if n, err := countKV[int](s); err != nil || n != 4 {
		t.Fatalf("countKV = %d, %v; want 4", n, err)
	}
	kg, key := splitKgKeyID(kgKeyID(1000, []byte("z")))
	if kg != 1000 || string(key) != "z" {
		t.Fatalf("splitKgKeyID = %d %q", kg, key)
	}
}

// TestPendingOutAppendPadded: a left row is padded on the right, a right
// row on the left, with the output's types.
func TestPendingOutAppendPadded(t *testing.T) {
	ts := []types.Type{types.BigInt, types.String, types.BigInt}
	o := pendingOut{types: ts}
	o.appendPadded(2, 0, []types.Datum{{Type: types.BigInt, I: 1}, {Type: types.String, S: "a"}})
	o.appendPadded(2, 1, []types.Datum{{Type: types.BigInt, I: 9}})
	var out exectest.Output
	if err := o.flush(&out); err != nil {
		t.Fatal(err)
	}
	exectest.Expect(t, ts, out.Batches, "+I 1 a NULL\n+I NULL NULL 9")
	if err := o.flush(&out); err != nil || len(out.Batches) != 1 {
		t.Fatalf("second flush: %v, %d batches", err, len(out.Batches))
	}
}

func TestValidateTimedJoinTimeColumns(t *testing.T) {
	ts := []types.Type{types.BigInt, types.Timestamp}
	js := JoinSpec{Type: InnerJoin, LeftKeys: []int{0}, RightKeys: []int{0}, LeftTypes: ts, RightTypes: ts}
	if err := validateTimedJoin(js, "a test join", "time", [2]int{1, 1}); err != nil {
		t.Fatal(err)
	}
	for _, cols := range [][2]int{{0, 1}, {1, 0}, {2, 1}, {1, -1}} {
		if err := validateTimedJoin(js, "a test join", "time", cols); !errors.Is(err, ErrJoinSpec) {
			t.Errorf("time columns %v: %v, want ErrJoinSpec", cols, err)
		}
	}
	js.Type = FullJoin + 1
	if err := validateTimedJoin(js, "a test join", "time", [2]int{1, 1}); !errors.Is(err, ErrJoinSpec) {
		t.Errorf("join type %v: %v, want ErrJoinSpec", js.Type, err)
	}
}
