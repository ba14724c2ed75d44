package state

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func pageSize() int { return os.Getpagesize() }

// mapTestFile creates a file of n bytes at path, maps it shared and reads
// every page in.
func mapTestFile(t *testing.T, path string, n int) ([]byte, func()) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if err := f.Truncate(int64(n)); err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += pageSize() {
		m[i] = 1 // dirty, so the page cannot simply be absent
	}
	if err := unix.Msync(m, unix.MS_SYNC); err != nil {
		t.Fatal(err)
	}
	return m, func() { _ = unix.Munmap(m) }
}

// residentPages counts the pages of m mapped in (mincore).
func residentPages(t *testing.T, m []byte) int {
	t.Helper()
	vec := make([]byte, (len(m)+pageSize()-1)/pageSize())
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatal(errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

func TestTrimUnderBudgetKeepsPages(t *testing.T) {
	// Under its budget trimFilePages leaves the mapped pages alone: a
	// mapping read in stays resident (mincore).
	if !pageoutSupported() {
		t.Skip("no MADV_PAGEOUT here")
	}
	dir := t.TempDir()
	m, cleanup := mapTestFile(t, dir+"/000001.sst", 1<<20)
	defer cleanup()
	dirs := mappedDirs(dir)
	if !trimFilePages(dirs, 1<<50) {
		t.Fatal("trimFilePages failed")
	}
	if r := residentPages(t, m); r != len(m)/pageSize() {
		t.Fatalf("under the budget: %d of %d pages resident", r, len(m)/pageSize())
	}
	if !trimFilePages(dirs, 0) {
		t.Fatal("trimFilePages failed")
	}
	if r := residentPages(t, m); r == len(m)/pageSize() {
		t.Fatalf("over the budget: all %d pages still resident", r)
	}
}
