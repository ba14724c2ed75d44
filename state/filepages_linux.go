package state

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// trimFilePages asks the kernel to reclaim the pages of the trimmable
// mappings of files in dirs (see filepages.go). It reports false when
// /proc/self/maps cannot be read, so the caller stops trying. A
// mapping that went away since /proc/self/maps was read is harmless:
// MADV_PAGEOUT never changes the contents of any mapping.
func trimFilePages(dirs []string) (supported bool) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return false
	}
	ms := trimmable(f, dirs)
	_ = f.Close()
	for _, m := range ms {
		// Errors (a mapping unmapped meanwhile) are of no consequence.
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_PAGEOUT)
	}
	return true
}

// pageoutSupported reports whether the kernel knows MADV_PAGEOUT, tried on
// a page of anonymous memory (where, without swap, it does nothing).
func pageoutSupported() bool {
	b, err := unix.Mmap(-1, 0, os.Getpagesize(), unix.PROT_READ, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return false
	}
	defer func() { _ = unix.Munmap(b) }()
	return !errors.Is(unix.Madvise(b, unix.MADV_PAGEOUT), unix.EINVAL)
}
