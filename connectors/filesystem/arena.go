package filesystem

import (
	"encoding/base64"
	"unsafe"
)

// arenaChunk is the size of the blocks decoded strings are carved from.
const arenaChunk = 64 << 10

// arena turns decoded bytes into Go strings without an allocation per value:
// it appends them to a large block and returns strings that view the block.
//
// Invariant that makes the unsafe.String views sound: bytes are only ever
// appended to a block, never modified or truncated once a string views them.
// A full block is dropped (never reused); the garbage collector frees it once
// no string refers to it. One arena belongs to one source subtask.
type arena struct{ buf []byte }

// reserve makes room for n more bytes in the current block.
func (a *arena) reserve(n int) {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(arenaChunk, n))
	}
}

// view returns the bytes appended since offset off as a string.
func (a *arena) view(off int) string {
	if len(a.buf) == off {
		return ""
	}
	return unsafe.String(&a.buf[off], len(a.buf)-off)
}

// str returns b as a string that stays valid after b changes.
func (a *arena) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	a.reserve(len(b))
	off := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.view(off)
}

// base64 decodes standard base64 text into a string (BYTES values).
func (a *arena) base64(b []byte) (string, error) {
	n := base64.StdEncoding.DecodedLen(len(b))
	a.reserve(n)
	off := len(a.buf)
	m, err := base64.StdEncoding.Decode(a.buf[off:off+n], b)
	if err != nil {
		return "", err
	}
	a.buf = a.buf[:off+m]
	return a.view(off), nil
}
