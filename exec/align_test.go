package exec

import (
	"math"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

// step is one received message as "input:kind[:value]".
func recvAll(t *testing.T, in *inputs, n int) []string {
	t.Helper()
	stop, notify := make(chan struct{}), make(chan struct{})
	var got []string
	for range n {
		i, m, ev := in.recv(stop, notify)
		if ev != evMessage {
			t.Fatalf("event %d", ev)
		}
		s := string(rune('0'+i)) + ":"
		switch m.Kind {
		case MsgBatch:
			s += "batch"
		case MsgBarrier:
			s += "barrier"
			if in.onBarrier(i, m.Barrier) {
				s += "→aligned"
			}
		case MsgEnd:
			s += "end"
			if aligned, _ := in.onEnd(i); aligned {
				s += "→aligned"
			}
		}
		got = append(got, s)
	}
	return got
}

func TestAlignExactlyOnceBlocksInput(t *testing.T) {
	chs := []chan Message{make(chan Message, 8), make(chan Message, 8)}
	batch := Message{Kind: MsgBatch, Batch: types.NewBatch(nil)}
	barrier := Message{Kind: MsgBarrier, Barrier: Barrier{CheckpointID: 1}}
	chs[0] <- barrier
	chs[0] <- batch // after the barrier: must wait for alignment
	chs[1] <- batch
	chs[1] <- barrier
	in := newInputs(chs, ExactlyOnce)
	got := recvAll(t, in, 4)
	want := []string{"0:barrier", "1:batch", "1:barrier→aligned", "0:batch"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestAlignEndedInputCountsAsAligned(t *testing.T) {
	chs := []chan Message{make(chan Message, 8), make(chan Message, 8)}
	chs[0] <- Message{Kind: MsgBarrier, Barrier: Barrier{CheckpointID: 3}}
	chs[1] <- Message{Kind: MsgEnd}
	in := newInputs(chs, ExactlyOnce)
	got := recvAll(t, in, 2)
	if got[0] != "0:barrier" || got[1] != "1:end→aligned" {
		t.Fatalf("got %v", got)
	}
	if in.barrier.CheckpointID != 3 {
		t.Fatalf("aligned barrier %d", in.barrier.CheckpointID)
	}
}

func TestAlignAtLeastOnceDoesNotBlock(t *testing.T) {
	chs := []chan Message{make(chan Message, 8), make(chan Message, 8)}
	chs[0] <- Message{Kind: MsgBarrier, Barrier: Barrier{CheckpointID: 1}}
	chs[0] <- Message{Kind: MsgBatch, Batch: types.NewBatch(nil)}
	in := newInputs(chs, AtLeastOnce)
	got := recvAll(t, in, 2)
	if got[0] != "0:barrier" || got[1] != "0:batch" {
		t.Fatalf("got %v", got)
	}
	// A newer barrier abandons checkpoint 1; the stale 1 is ignored.
	if in.onBarrier(1, Barrier{CheckpointID: 2}) || in.onBarrier(1, Barrier{CheckpointID: 1}) {
		t.Fatal("aligned too early")
	}
	if !in.onBarrier(0, Barrier{CheckpointID: 2}) {
		t.Fatal("checkpoint 2 not aligned")
	}
}

func TestWatermarkIsMinOverLiveInputs(t *testing.T) {
	in := newInputs(make([]chan Message, 3), ExactlyOnce)
	steps := []struct {
		input   int
		wm      int64 // math.MinInt64: end of input
		advance bool
		want    int64
	}{
		{0, 10, false, math.MinInt64},
		{1, 5, false, math.MinInt64},
		{2, 7, true, 5},
		{1, 20, true, 7},
		{1, 15, false, 7}, // an input's watermark never goes back
		{2, math.MinInt64, true, 10},
		{0, math.MinInt64, true, 20},
	}
	for k, s := range steps {
		var adv bool
		if s.wm == math.MinInt64 {
			_, adv = in.onEnd(s.input)
		} else {
			adv = in.onWatermark(s.input, s.wm)
		}
		if adv != s.advance || in.wm != s.want {
			t.Fatalf("step %d: advanced %v wm %d, want %v %d", k, adv, in.wm, s.advance, s.want)
		}
	}
}
