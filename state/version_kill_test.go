//go:build unix

package state

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

const crashEnv = "SLUICE_STATE_CRASH_DIR"

// TestKill9 runs crashChild in a subprocess that SIGKILLs itself after
// checkpointing W1 (Flush + SyncState) and writing part of W2, then
// reopens the store and restores W1.
func TestKill9(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(t, dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "w1"))
	if err != nil {
		t.Fatal(err)
	}
	w1, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	s := openDisk(t, dir)
	defer s.Close()
	ns := OperatorNamespace("crash", 0, 0)
	if above := keysAbove(t, s, ns, w1); above == 0 {
		t.Fatal("no W2 writes survived the kill: the test proves nothing")
	}
	startTs, n, err := s.RestoreNamespace(ns, w1)
	if err != nil || n == 0 {
		t.Fatalf("restore: %d keys, %v", n, err)
	}
	want := map[int]int64{}
	for i := range 2000 {
		want[i] = int64(i)
	}
	mustEqualState(t, "after kill -9", scanAll(t, s, ns, startTs), want)
}

func crashChild(t *testing.T, dir string) {
	s := openDisk(t, dir)
	ns := OperatorNamespace("crash", 0, 0)
	w1 := s.NextTs()
	if err := s.Pin("crash", w1); err != nil {
		t.Fatal(err)
	}
	e := NewEpoch(w1)
	k := NewKeyedState[int64](s, ns, Int64Codec{}, 64)
	k.SetEpoch(e)
	for i := range 2000 {
		put(t, k, nil, i, int64(i))
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncState(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "w1"), []byte(strconv.FormatUint(w1, 10)), 0o644); err != nil {
		t.Fatal(err)
	}
	e.Set(s.NextTs())
	for i := 1000; i < 3000; i++ {
		put(t, k, nil, i, -int64(i))
	}
	for i := range 100 {
		del(t, k, nil, i)
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // not reached
}
