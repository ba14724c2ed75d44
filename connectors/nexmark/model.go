package nexmark

import (
	"math/bits"
	"time"
)

// Proportions of the event kinds in every run of totalProportion events:
// event n is a person when n mod 50 < 1, an auction when < 4, else a bid.
const (
	personProportion  = 1
	auctionProportion = 3
	bidProportion     = 46
	totalProportion   = personProportion + auctionProportion + bidProportion
)

// Constants of the reference generator.
const (
	firstPersonID  = 1000
	firstAuctionID = 1000
	firstCategory  = 10
	numCategories  = 5

	// hotRatio: hot sellers, auctions and bidders are multiples of it.
	hotRatio = 100
	// Hot draws: a draw is hot when below(ratio) > 0.
	hotAuctionRatio = 2
	hotSellerRatio  = 4
	hotBidderRatio  = 4
	hotChannelRatio = 2

	numActivePeople     = 1000
	numInFlightAuctions = 100
	personIDLead        = 10
	auctionIDLead       = 10

	numChannels = 10_000

	avgPersonSize  = 200
	avgAuctionSize = 500
	avgBidSize     = 100
)

// DefaultRate is the default 'first-event.rate' in events per second.
const DefaultRate = 10_000_000

// BaseTime is the event time of event 0: 2015-07-15 00:00:00 UTC, the
// reference generator's base time.
var BaseTime = time.Date(2015, 7, 15, 0, 0, 0, 0, time.UTC)

// kind is an event kind: one table.
type kind uint8

const (
	kindPerson kind = iota
	kindAuction
	kindBid
)

var kindNames = [...]string{"person", "auction", "bid"}

func (k kind) String() string { return kindNames[k] }

// span returns the offset of the kind's first event in a run of
// totalProportion events and how many of the run it has.
func (k kind) span() (lo, count int64) {
	switch k {
	case kindPerson:
		return 0, personProportion
	case kindAuction:
		return personProportion, auctionProportion
	default:
		return personProportion + auctionProportion, bidProportion
	}
}

// eventNumber returns the global event number of row r of kind k's table.
func (k kind) eventNumber(r int64) int64 {
	lo, c := k.span()
	return r/c*totalProportion + lo + r%c
}

// rowsBelow returns how many events of kind k have an event number < n.
func (k kind) rowsBelow(n int64) int64 {
	lo, c := k.span()
	return n/totalProportion*c + min(max(n%totalProportion-lo, 0), c)
}

// lastBase0PersonID is the 0-based id of the last person generated at or
// before event n.
func lastBase0PersonID(n int64) int64 { return n / totalProportion }

// lastBase0AuctionID is the 0-based id of the last auction generated at or
// before event n (-1 before the first).
func lastBase0AuctionID(n int64) int64 {
	epoch, off := n/totalProportion, n%totalProportion
	switch {
	case off < personProportion:
		epoch--
		off = auctionProportion - 1
	case off >= personProportion+auctionProportion:
		off = auctionProportion - 1
	default:
		off -= personProportion
	}
	return epoch*auctionProportion + off
}

// nextBase0PersonID draws a 0-based person id among the last
// numActivePeople people, up to personIDLead beyond the last one.
func nextBase0PersonID(n int64, r *rng) int64 {
	people := lastBase0PersonID(n) + 1
	active := min(people, numActivePeople)
	return people - active + r.below(active+personIDLead)
}

// nextBase0AuctionID draws a 0-based auction id among the last
// numInFlightAuctions auctions, up to auctionIDLead beyond the last one.
func nextBase0AuctionID(n int64, r *rng) int64 {
	maxID := lastBase0AuctionID(n)
	minID := max(maxID-numInFlightAuctions, 0)
	return minID + r.below(maxID-minID+1+auctionIDLead)
}

// clock maps event numbers to event times.
type clock struct {
	baseMs int64  // event time of event 0, ms since the epoch
	rate   uint64 // events per second, > 0
}

// millis returns the event time of event n in ms since the epoch:
// base + floor(n × 1000 / rate), exact for every n >= 0.
func (c clock) millis(n int64) int64 {
	hi, lo := bits.Mul64(uint64(n), 1000)
	if hi >= c.rate { // quotient beyond 64 bits: not reachable for sane inputs
		return maxMillis
	}
	q, _ := bits.Div64(hi, lo, c.rate)
	if q > uint64(maxMillis-c.baseMs) {
		return maxMillis
	}
	return c.baseMs + int64(q)
}

// maxMillis caps event times so that µs values fit in an int64.
const maxMillis = (1<<63 - 1) / 1000

// auctionLengthMs draws how long the auction of event n, opened at ms,
// runs: 1 + uniform [0, 2 × the time numInFlightAuctions auctions take).
func (c clock) auctionLengthMs(n, ms int64, r *rng) int64 {
	const eventsForAuctions = numInFlightAuctions * totalProportion / auctionProportion
	horizon := c.millis(n+eventsForAuctions) - ms
	return 1 + r.below(max(horizon*2, 1))
}
