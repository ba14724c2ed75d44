//go:build !linux

package state

// trimFilePages is a no-op where MADV_PAGEOUT does not exist.
func trimFilePages([]string, int64) bool { return false }

// pageoutSupported is false where MADV_PAGEOUT does not exist.
func pageoutSupported() bool { return false }
