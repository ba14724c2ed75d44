package state

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/cespare/xxhash/v2"
	"github.com/sluicesql/sluice/exec/types"
)

// DefaultMaxParallelism is the number of key groups when a job does not set
// one (Flink's default is 128 as well).
const DefaultMaxParallelism = 128

// Hashing. A row's hash combines one 64-bit value per column:
//
//	NULL       nullHash
//	I64 class  the int64 bits
//	F64 class  the canonical IEEE bits (-0 as +0, one NaN), as in EncodeKey
//	Str class  xxhash64 of the bytes
//
// h starts at hashSeed, each column does h = (rotl(h, 27) ^ x) * prime1,
// and the result goes through a 64-bit finaliser (murmur3 fmix64) so every
// input bit reaches the high bits KeyGroup uses. HashDatums and HashColumns
// compute the same function: a value hashes the same on the vector and the
// datum path, and values equal under DatumsEqual hash equal.
const (
	hashSeed = 0x9E3779B97F4A7C15
	prime1   = 0x9E3779B185EBCA87
	nullHash = 0xA0761D6478BD642F
)

func combine(h, x uint64) uint64 { return (bits.RotateLeft64(h, 27) ^ x) * prime1 }

func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// HashDatums hashes a row of datums (e.g. a key).
func HashDatums(ds []types.Datum) uint64 {
	h := uint64(hashSeed)
	for i := range ds {
		d := &ds[i]
		var x uint64
		switch {
		case d.Null:
			x = nullHash
		case d.Type.Class() == types.ClassF64:
			x = canonicalFloatBits(d.F)
		case d.Type.Class() == types.ClassStr:
			x = xxhash.Sum64String(d.S)
		default:
			x = uint64(d.I)
		}
		h = combine(h, x)
	}
	return fmix64(h)
}

// HashColumns hashes columns cols of every row of b into out[:b.Len()],
// which must be at least that long. It does not allocate, and
// out[i] == HashDatums(the datums of row i's columns cols).
func HashColumns(b *types.Batch, cols []int, out []uint64) {
	n := b.Len()
	out = out[:n]
	for i := range out {
		out[i] = hashSeed
	}
	for _, c := range cols {
		v := &b.Cols[c]
		if v.HasNulls() {
			for i := range out {
				out[i] = combine(out[i], valueHash(v, i))
			}
			continue
		}
		switch v.Type.Class() {
		case types.ClassF64:
			for i, f := range v.F64[:n] {
				out[i] = combine(out[i], canonicalFloatBits(f))
			}
		case types.ClassStr:
			for i, s := range v.Str[:n] {
				out[i] = combine(out[i], xxhash.Sum64String(s))
			}
		default:
			for i, x := range v.I64[:n] {
				out[i] = combine(out[i], uint64(x))
			}
		}
	}
	for i := range out {
		out[i] = fmix64(out[i])
	}
}

// valueHash is the per-column hash input of row i of v.
func valueHash(v *types.Vector, i int) uint64 {
	switch {
	case v.IsNull(i):
		return nullHash
	case v.Type.Class() == types.ClassF64:
		return canonicalFloatBits(v.F64[i])
	case v.Type.Class() == types.ClassStr:
		return xxhash.Sum64String(v.Str[i])
	default:
		return uint64(v.I64[i])
	}
}

// KeyGroup maps a hash to a key group in [0, maxParallelism). It uses the
// high 32 bits of the hash scaled to the range (Lemire's multiply-shift), so
// key groups are contiguous, ordered ranges of hash values: a subtask's key
// groups cover one contiguous hash range. maxParallelism <= 0 means
// DefaultMaxParallelism.
func KeyGroup(hash uint64, maxParallelism int) int {
	if maxParallelism <= 0 {
		maxParallelism = DefaultMaxParallelism
	}
	return int(((hash >> 32) * uint64(maxParallelism)) >> 32)
}

// KeyGroupOwner returns the subtask in [0, parallelism) that owns key group
// kg: subtasks own contiguous ranges of key groups (as in Flink), so state
// saved at one parallelism can be redistributed at another.
func KeyGroupOwner(kg, maxParallelism, parallelism int) int {
	if maxParallelism <= 0 {
		maxParallelism = DefaultMaxParallelism
	}
	if parallelism <= 1 {
		return 0
	}
	return kg * parallelism / maxParallelism
}

// KeyGroupRange returns the first and last key group owned by subtask; first
// > last when the subtask owns none (parallelism > maxParallelism).
func KeyGroupRange(subtask, parallelism, maxParallelism int) (first, last int) {
	if maxParallelism <= 0 {
		maxParallelism = DefaultMaxParallelism
	}
	if parallelism <= 1 {
		return 0, maxParallelism - 1
	}
	first = (subtask*maxParallelism + parallelism - 1) / parallelism
	last = ((subtask+1)*maxParallelism - 1) / parallelism
	return first, last
}

// HashOwner returns the subtask owning a hash: KeyGroupOwner(KeyGroup(...)).
func HashOwner(hash uint64, maxParallelism, parallelism int) int {
	if parallelism <= 1 {
		return 0
	}
	return KeyGroupOwner(KeyGroup(hash, maxParallelism), maxParallelism, parallelism)
}

// KeyGroupHashStart returns the smallest hash whose key group is kg, for
// range scans over keys that start with a big-endian hash. It returns 0 for
// kg <= 0 and the largest uint64 for kg >= maxParallelism.
func KeyGroupHashStart(kg, maxParallelism int) uint64 {
	if maxParallelism <= 0 {
		maxParallelism = DefaultMaxParallelism
	}
	if kg <= 0 {
		return 0
	}
	if kg >= maxParallelism {
		return ^uint64(0)
	}
	// smallest u with u*M >> 32 >= kg is ceil(kg << 32 / M).
	m := uint64(maxParallelism)
	u := (uint64(kg)<<32 + m - 1) / m
	return u << 32
}

// HashEncodedKey returns HashDatums of the datums EncodeKey encoded at the
// start of b (len(ts) of them), without decoding them into datums: routing a
// stored row by its primary key costs no allocation unless a string key
// contains a 0x00 byte.
func HashEncodedKey(b []byte, ts []types.Type) (uint64, error) {
	h := uint64(hashSeed)
	for _, t := range ts {
		if len(b) == 0 {
			return 0, fmt.Errorf("%w: key too short", ErrCorrupt)
		}
		tag := b[0]
		b = b[1:]
		if tag == keyNull {
			h = combine(h, nullHash)
			continue
		}
		if tag != keyNotNull {
			return 0, fmt.Errorf("%w: key tag %#x", ErrCorrupt, tag)
		}
		switch t.Class() {
		case types.ClassStr:
			end := -1
			for i := 0; i+1 < len(b); i++ {
				if b[i] == 0 {
					if b[i+1] == strEnd {
						end = i
					}
					break
				}
			}
			if end >= 0 {
				h = combine(h, xxhash.Sum64(b[:end]))
				b = b[end+2:]
				continue
			}
			s, rest, err := decodeStringKey(b)
			if err != nil {
				return 0, err
			}
			h = combine(h, xxhash.Sum64String(s))
			b = rest
		default:
			if len(b) < 8 {
				return 0, fmt.Errorf("%w: key too short", ErrCorrupt)
			}
			u := binary.BigEndian.Uint64(b)
			b = b[8:]
			if t.Class() == types.ClassF64 {
				h = combine(h, canonicalFloatBits(decodeFloatKey(u)))
			} else {
				h = combine(h, u^(1<<63))
			}
		}
	}
	return fmix64(h), nil
}
