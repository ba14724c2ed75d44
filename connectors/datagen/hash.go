package datagen

// Random values are pure functions of (column, row number): value(n) =
// splitmix64 output number n of a stream seeded by the column's salt. This
// is stateless, so any row can be generated on its own, in any subtask.

const (
	golden = 0x9e3779b97f4a7c15 // splitmix64 increment (2^64 / φ)
	// seed fixes the whole table's contents; changing it changes every row.
	seed = 0x5c1e_5eed_da7a_6e11
	// nullSaltMix separates a column's null stream from its value stream.
	nullSaltMix = 0x6a09e667f3bcc909
)

// mix is splitmix64's output function.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// at returns the 64 random bits of row n in the stream with the given salt.
func at(salt uint64, n int64) uint64 { return mix(salt + uint64(n)*golden) }

// columnSalt derives the salt of the table column at index col.
func columnSalt(col int) uint64 { return mix(seed + uint64(col+1)*golden) }

// unit01 maps 64 random bits to a float64 in [0, 1).
func unit01(h uint64) float64 { return float64(h>>11) * (1.0 / (1 << 53)) }
