package splitpos

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, p := range []Position{
		{Subtask: 0, Parallelism: 1, Next: 0},
		{Subtask: 2, Parallelism: 3, Next: 1 << 40},
		{Subtask: 199, Parallelism: 200, Next: maxValue},
	} {
		got, err := Decode(p.Encode())
		if err != nil || got != p {
			t.Errorf("Decode(Encode(%+v)) = %+v, %v", p, got, err)
		}
	}
}

func TestDecodeRejectsCorrupt(t *testing.T) {
	good := Position{Subtask: 1, Parallelism: 2, Next: 300}.Encode()
	for name, b := range map[string][]byte{
		"empty":             nil,
		"unknown version":   {9, 0, 1, 0},
		"truncated":         good[:len(good)-1],
		"trailing byte":     append(append([]byte{}, good...), 0),
		"zero parallelism":  {version, 0, 0, 5},
		"subtask too large": {version, 2, 2, 5},
		"number too large":  Position{Subtask: 0, Parallelism: 1, Next: maxValue + 1}.Encode(),
	} {
		if p, err := Decode(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Decode = %+v, %v; want ErrCorrupt", name, p, err)
		}
	}
}

func TestRestore(t *testing.T) {
	snap := Position{Subtask: 1, Parallelism: 2, Next: 41}.Encode()
	next, err := Restore("gen", 1, 2, 7, [][]byte{snap})
	if err != nil || next != 41 {
		t.Fatalf("Restore = %d, %v; want 41", next, err)
	}
	for _, c := range []struct {
		name         string
		subtask, par int64
		snaps        [][]byte
		want         string
	}{
		{"none", 1, 2, nil, "gen subtask 1 of 2: checkpoint 7 holds 0 positions for it, want exactly 1"},
		{"two", 1, 2, [][]byte{snap, snap}, "holds 2 positions for it"},
		{"other subtask", 0, 2, [][]byte{snap}, "gen subtask 0 of 2: checkpoint 7 recorded the position of subtask 1 of 2"},
		{"other parallelism", 1, 3, [][]byte{snap}, "recorded the position of subtask 1 of 2"},
		{"corrupt", 1, 2, [][]byte{{version, 5}}, "corrupt gen position snapshot"},
	} {
		_, err := Restore("gen", c.subtask, c.par, 7, c.snaps)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Restore error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestProduced(t *testing.T) {
	got, err := Produced(
		Position{Subtask: 0, Parallelism: 3, Next: 9}.Encode(),  // 0 3 6
		Position{Subtask: 1, Parallelism: 3, Next: 4}.Encode(),  // 1
		Position{Subtask: 2, Parallelism: 3, Next: 11}.Encode(), // 2 5 8
	)
	if want := []int64{0, 1, 2, 3, 5, 6, 8}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("Produced = %v, %v; want %v", got, err, want)
	}
	if _, err := Produced([]byte{9}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Produced of a corrupt snapshot: %v, want ErrCorrupt", err)
	}
}
