package exec

import (
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// Key hashing and key groups.
//
// One definition serves the whole engine: Hash exchanges route rows with
// it, keyed operators file their state under the key groups it gives, and
// built-in tables order and split their rows by it. It lives in package
// state (which keyed state and built-in tables need without importing
// exec); these functions are the runtime's names for it. The hash is
// deterministic across processes and platforms; key groups are contiguous
// ranges of hash values and subtasks own contiguous ranges of key groups
// (as in Flink), so state saved at one parallelism can be redistributed at
// another.

// HashColumns computes the key hash of every row of b over the columns
// cols into hashes, reusing its capacity, and returns it. Rows with equal
// key values (NULLs included) get equal hashes; HashDatums of a row's key
// datums gives the same value.
func HashColumns(b *types.Batch, cols []int, hashes []uint64) []uint64 {
	n := b.Len()
	if cap(hashes) < n {
		hashes = make([]uint64, n)
	}
	hashes = hashes[:n]
	state.HashColumns(b, cols, hashes)
	return hashes
}

// HashDatums hashes one key given as datums.
func HashDatums(key []types.Datum) uint64 { return state.HashDatums(key) }

// KeyGroup returns the key group of a key hash.
func KeyGroup(hash uint64, maxParallelism int) int { return state.KeyGroup(hash, maxParallelism) }

// SubtaskForKeyGroup returns the subtask owning key group kg when a vertex
// runs with the given parallelism.
func SubtaskForKeyGroup(kg, parallelism, maxParallelism int) int {
	return state.KeyGroupOwner(kg, maxParallelism, parallelism)
}

// KeyGroupRange returns the key groups [first, last] owned by subtask; it is
// the inverse of SubtaskForKeyGroup. The range is empty (first > last) when
// parallelism exceeds maxParallelism for that subtask.
func KeyGroupRange(subtask, parallelism, maxParallelism int) (first, last int) {
	return state.KeyGroupRange(subtask, parallelism, maxParallelism)
}
