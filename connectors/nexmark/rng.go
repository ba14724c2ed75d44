package nexmark

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
)

// Every column of every event draws from its own random stream: a run of
// splitmix64 outputs whose position is set by the salt of the column and
// the event number (event n of a column owns the 65 536 positions from
// salt/golden + n × 65 536). There is no state shared between events or
// columns, so any value can be generated on its own, and no draw costs
// more than one splitmix64 step.

const (
	golden = 0x9e3779b97f4a7c15 // splitmix64 increment (2^64 / φ)
	// seed fixes the contents of all tables; changing it changes every event.
	seed = 0x6e65_786d_6172_6b21
)

// mix is splitmix64's output function.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// stream identifies the random stream of one column kind.
type stream uint64

// Streams, one per generated quantity (columns that must agree, such as a
// bid's channel and url, share one).
const (
	sPersonName stream = iota + 1
	sPersonEmail
	sPersonCard
	sPersonCity
	sPersonState
	sPersonExtra
	sAuctionItem
	sAuctionDesc
	sAuctionInitial
	sAuctionReserve
	sAuctionExpires
	sAuctionSeller
	sAuctionCategory
	sAuctionExtra
	sBidAuction
	sBidBidder
	sBidPrice
	sBidChannel
	sBidExtra
	sChannelCache
)

// salt returns the salt of stream s.
func (s stream) salt() uint64 { return mix(seed + uint64(s)*golden) }

// rng is a splitmix64 generator; the zero value is not useful, use at.
type rng struct{ state uint64 }

// drawsPerEvent is the size of an event's block of positions in a stream;
// no value takes as many draws.
const drawsPerEvent = 1 << 16

// at returns the generator of event n in the stream with the given salt.
func at(salt uint64, n int64) rng { return rng{state: salt + uint64(n)*drawsPerEvent*golden} }

// next returns 64 random bits.
func (r *rng) next() uint64 {
	r.state += golden
	return mix(r.state)
}

// below returns a uniform value in [0, n) for n > 0 (Lemire's
// multiply-shift; the bias is below 2^-40 for the bounds used here).
func (r *rng) below(n int64) int64 {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int64(hi)
}

// unit returns a float64 uniform in [0, 1).
func (r *rng) unit() float64 { return float64(r.next()>>11) * (1.0 / (1 << 53)) }

// ln10x6 is 6 × ln 10: 10^(6u) = e^(u × ln10x6).
const ln10x6 = 6 * math.Ln10

// price draws a price in cents: round(100 × 10^(6u)), 100 .. 100 000 000,
// log-uniform as in the reference.
func (r *rng) price() int64 {
	return int64(math.Round(math.Exp(r.unit()*ln10x6) * 100))
}

// letters appends n random lower-case letters to dst, 8 per 64 random
// bits: each byte b becomes 'a' + b×26/256, computed for 4 bytes at a
// time in 16-bit lanes.
func (r *rng) letters(dst []byte, n int) []byte {
	start := len(dst)
	dst = slices.Grow(dst, n+8)[:start+(n+7)&^7]
	for i := start; i < len(dst); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], lettersOf(r.next()))
	}
	return dst[:start+n]
}

// lettersOf maps each byte b of x to 'a' + b×26>>8.
func lettersOf(x uint64) uint64 {
	const lanes = 0x00ff00ff00ff00ff
	even := (x & lanes) * 26 >> 8 & lanes
	odd := (x >> 8 & lanes) * 26 &^ lanes
	return even | odd + 0x6161616161616161
}

// word appends what the reference's nextString makes: 3 to maxLen-1
// characters, each a random letter or, one time in 13, special; a space
// special is then trimmed from both ends.
func (r *rng) word(dst []byte, maxLen int, special byte) []byte {
	n := 3 + int(r.below(int64(maxLen-3)))
	start := len(dst)
	for range n {
		x := r.next()
		if x%13 == 0 {
			dst = append(dst, special)
		} else {
			dst = append(dst, 'a'+byte((x>>32)%26))
		}
	}
	if special != ' ' {
		return dst
	}
	w := dst[start:]
	i, j := 0, len(w)
	for i < j && w[i] == ' ' {
		i++
	}
	for j > i && w[j-1] == ' ' {
		j--
	}
	copy(dst[start:], w[i:j])
	return dst[:start+j-i]
}

// extraLen draws the length of the extra column of an event whose other
// columns take size bytes, so that events average avg bytes: uniform in
// [d - d/5, d + d/5) for d = avg - size, or 0 when size >= avg.
func (r *rng) extraLen(size, avg int) int {
	if size >= avg {
		return 0
	}
	d := avg - size
	delta := int(math.Round(float64(d) * 0.2))
	if delta == 0 {
		return d
	}
	return d - delta + int(r.below(int64(2*delta)))
}
