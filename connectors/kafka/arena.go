package kafka

import "unsafe"

// arenaChunk is the size of the blocks decoded strings are carved from.
const arenaChunk = 64 << 10

// arena turns decoded bytes into strings without an allocation per value:
// bytes are appended to a block and the strings view the block. Bytes are
// never modified once viewed; a full block is dropped, never reused, and
// the garbage collector frees it when no string refers to it. An arena
// belongs to one source subtask.
type arena struct{ buf []byte }

func (a *arena) reserve(n int) {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(arenaChunk, n))
	}
}

// str returns a copy of b as a string.
func (a *arena) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	a.reserve(len(b))
	off := len(a.buf)
	a.buf = append(a.buf, b...)
	return unsafe.String(&a.buf[off], len(b))
}
