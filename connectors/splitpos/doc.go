// Package splitpos checkpoints the position of a strided source split.
//
// Sources such as datagen and nexmark number the rows of a table 0, 1, 2, …
// and give subtask s of p the rows n ≡ s (mod p). A subtask's position is
// the number of the next row it will produce; rows before it that it owns
// have been produced. Such a position only means something at the
// parallelism it was taken at, so a snapshot records the subtask and the
// parallelism too, and Restore refuses one taken by another subtask
// layout rather than produce rows twice or lose some.
//
// Snapshot format:
//
//	version(1) uvarint(subtask) uvarint(parallelism) uvarint(next row)
package splitpos
