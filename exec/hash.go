package exec

import (
	"math"
	"math/bits"

	"github.com/sluicesql/sluice/exec/types"
)

// Key hashing for Hash exchanges.
//
// The hash decides which key group, and so which subtask, owns a key. Key
// groups are persisted with keyed state, so the function must never change
// once checkpoints exist: it is deterministic across processes and
// platforms (no per-process seed, unlike hash/maphash) and is not meant to
// resist collision attacks.
//
// Per value (column-at-a-time, by physical class):
//
//	I64  the value's two's complement bits
//	F64  the IEEE bits, with -0 folded onto +0 and every NaN onto one NaN,
//	     so that values equal in SQL hash equal
//	Str  a 64-bit hash of the bytes, 8 at a time (hashString)
//	NULL the constant nullHash, whatever the type
//
// A row's hash folds its key values left to right with an xxhash-style
// round (combine) starting from hashSeed, then finishes with the murmur3
// 64-bit finaliser so that the low bits (used by key groups) are well mixed.
const (
	hashSeed = 0x9e3779b97f4a7c15
	prime1   = 0x9e3779b185ebca87
	prime2   = 0xc2b2ae3d27d4eb4f
	prime3   = 0x165667b19e3779f9
	nullHash = 0x6a09e667f3bcc908
	nanBits  = 0x7ff8000000000001
)

func combine(h, v uint64) uint64 {
	h += v * prime2
	h = bits.RotateLeft64(h, 31)
	return h * prime1
}

func finalize(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func floatBits(f float64) uint64 {
	switch {
	case f == 0:
		return 0
	case f != f:
		return nanBits
	}
	return math.Float64bits(f)
}

// hashString hashes s 8 bytes at a time.
func hashString(s string) uint64 {
	h := uint64(len(s))*prime3 + hashSeed
	for len(s) >= 8 {
		_ = s[7]
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		h = combine(h, w)
		s = s[8:]
	}
	if len(s) > 0 {
		var w uint64
		for i := len(s) - 1; i >= 0; i-- {
			w = w<<8 | uint64(s[i])
		}
		h = combine(h, w^prime3)
	}
	return finalize(h)
}

// HashColumns computes the key hash of every row of b over the columns
// cols into hashes, reusing its capacity, and returns it. Rows with equal
// key values (NULLs included) get equal hashes.
func HashColumns(b *types.Batch, cols []int, hashes []uint64) []uint64 {
	n := b.Len()
	if cap(hashes) < n {
		hashes = make([]uint64, n)
	}
	hashes = hashes[:n]
	for i := range hashes {
		hashes[i] = hashSeed
	}
	for _, c := range cols {
		v := &b.Cols[c]
		if len(v.Nulls) > 0 {
			for i := range hashes {
				hashes[i] = combine(hashes[i], valueHash(v, i))
			}
			continue
		}
		switch v.Type.Class() {
		case types.ClassF64:
			for i, f := range v.F64[:n] {
				hashes[i] = combine(hashes[i], floatBits(f))
			}
		case types.ClassStr:
			for i, s := range v.Str[:n] {
				hashes[i] = combine(hashes[i], hashString(s))
			}
		default:
			for i, x := range v.I64[:n] {
				hashes[i] = combine(hashes[i], uint64(x))
			}
		}
	}
	for i, h := range hashes {
		hashes[i] = finalize(h)
	}
	return hashes
}

func valueHash(v *types.Vector, i int) uint64 {
	if i < len(v.Nulls) && v.Nulls[i] {
		return nullHash
	}
	switch v.Type.Class() {
	case types.ClassF64:
		return floatBits(v.F64[i])
	case types.ClassStr:
		return hashString(v.Str[i])
	default:
		return uint64(v.I64[i])
	}
}

// HashDatums hashes a key given as datums; it equals the HashColumns hash
// of a row holding the same values.
func HashDatums(key []types.Datum) uint64 {
	h := uint64(hashSeed)
	for _, d := range key {
		var x uint64
		switch {
		case d.Null:
			x = nullHash
		case d.Type.Class() == types.ClassF64:
			x = floatBits(d.F)
		case d.Type.Class() == types.ClassStr:
			x = hashString(d.S)
		default:
			x = uint64(d.I)
		}
		h = combine(h, x)
	}
	return finalize(h)
}

// KeyGroup returns the key group of a key hash: hash mod maxParallelism.
func KeyGroup(hash uint64, maxParallelism int) int {
	return int(hash % uint64(maxParallelism))
}

// SubtaskForKeyGroup returns the subtask owning key group kg when a vertex
// runs with the given parallelism: subtasks own contiguous ranges of key
// groups (as in Flink), so state can be redistributed at another
// parallelism.
func SubtaskForKeyGroup(kg, parallelism, maxParallelism int) int {
	return kg * parallelism / maxParallelism
}

// KeyGroupRange returns the key groups [first, last] owned by subtask; it is
// the inverse of SubtaskForKeyGroup. The range is empty (first > last) when
// parallelism exceeds maxParallelism for that subtask.
func KeyGroupRange(subtask, parallelism, maxParallelism int) (first, last int) {
	first = (subtask*maxParallelism + parallelism - 1) / parallelism
	last = ((subtask+1)*maxParallelism - 1) / parallelism
	return first, last
}
