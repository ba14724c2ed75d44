package state

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// trimFilePages reclaims the pages of the trimmable mappings of files in
// dirs (see filepages.go), in trimOrder, when the process's resident file
// pages exceed budget, until they are under three quarters of it. It
// reports false when /proc/self/status or /proc/self/maps cannot be read,
// so the caller stops trying. A mapping that went away since
// /proc/self/maps was read is harmless: MADV_PAGEOUT never changes the
// contents of any mapping.
func trimFilePages(dirs []string, budget int64) (supported bool) {
	rss, ok := selfFileRSS()
	if !ok {
		return false
	}
	if rss <= budget {
		return true
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return false
	}
	ms := trimmable(f, dirs)
	_ = f.Close()
	for _, m := range ms {
		// Errors (a mapping unmapped meanwhile) are of no consequence.
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_PAGEOUT)
		if rss, ok = selfFileRSS(); !ok || rss <= budget*3/4 {
			break
		}
	}
	return true
}

// selfFileRSS returns the process's resident file pages in bytes.
func selfFileRSS() (int64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer func() { _ = f.Close() }()
	return fileRSS(f)
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
