package nexmark

import (
	"strings"

	"github.com/sluicesql/sluice/exec/types"
)

// colClass is what a column's declared type must be.
type colClass uint8

const (
	classBigInt colClass = iota
	classString
	classTime
)

func (c colClass) String() string {
	return [...]string{"BIGINT", "a string type", "TIMESTAMP or TIMESTAMP_LTZ"}[c]
}

func (c colClass) accepts(t types.Type) bool {
	switch c {
	case classBigInt:
		return t.Kind == types.KindBigInt
	case classString:
		return t.Kind == types.KindVarchar || t.Kind == types.KindString || t.Kind == types.KindChar
	default:
		return t.Kind == types.KindTimestamp || t.Kind == types.KindTimestampLTZ
	}
}

// filler writes the values of column rows g.events into v, which holds
// len(g.events) zeroed slots.
type filler func(g *batchGen, v *types.Vector)

// column is one column a table may declare.
type column struct {
	name  string
	class colClass
	fill  filler
}

// tableColumns lists the columns of each kind's table, in the reference's
// order.
var tableColumns = [...][]column{
	kindPerson: {
		{"id", classBigInt, fillPersonID},
		{"name", classString, fillPersonName},
		{"emailAddress", classString, fillPersonEmail},
		{"creditCard", classString, fillPersonCard},
		{"city", classString, fillPersonCity},
		{"state", classString, fillPersonState},
		{"dateTime", classTime, fillDateTime},
		{"extra", classString, fillPersonExtra},
	},
	kindAuction: {
		{"id", classBigInt, fillAuctionID},
		{"itemName", classString, fillAuctionItem},
		{"description", classString, fillAuctionDesc},
		{"initialBid", classBigInt, fillAuctionInitial},
		{"reserve", classBigInt, fillAuctionReserve},
		{"dateTime", classTime, fillDateTime},
		{"expires", classTime, fillAuctionExpires},
		{"seller", classBigInt, fillAuctionSeller},
		{"category", classBigInt, fillAuctionCategory},
		{"extra", classString, fillAuctionExtra},
	},
	kindBid: {
		{"auction", classBigInt, fillBidAuction},
		{"bidder", classBigInt, fillBidBidder},
		{"price", classBigInt, fillBidPrice},
		{"channel", classString, fillBidChannel},
		{"url", classString, fillBidURL},
		{"dateTime", classTime, fillDateTime},
		{"extra", classString, fillBidExtra},
	},
}

// findColumn returns kind k's column named name (case-insensitive).
func findColumn(k kind, name string) (column, bool) {
	for _, c := range tableColumns[k] {
		if strings.EqualFold(c.name, name) {
			return c, true
		}
	}
	return column{}, false
}

// Salts of the streams, computed once.
var (
	saltPersonName      = sPersonName.salt()
	saltPersonEmail     = sPersonEmail.salt()
	saltPersonCard      = sPersonCard.salt()
	saltPersonCity      = sPersonCity.salt()
	saltPersonState     = sPersonState.salt()
	saltPersonExtra     = sPersonExtra.salt()
	saltAuctionItem     = sAuctionItem.salt()
	saltAuctionDesc     = sAuctionDesc.salt()
	saltAuctionInitial  = sAuctionInitial.salt()
	saltAuctionReserve  = sAuctionReserve.salt()
	saltAuctionExpires  = sAuctionExpires.salt()
	saltAuctionSeller   = sAuctionSeller.salt()
	saltAuctionCategory = sAuctionCategory.salt()
	saltAuctionExtra    = sAuctionExtra.salt()
	saltBidAuction      = sBidAuction.salt()
	saltBidBidder       = sBidBidder.salt()
	saltBidPrice        = sBidPrice.salt()
	saltBidChannel      = sBidChannel.salt()
	saltBidExtra        = sBidExtra.salt()
)

// --- person ---

func fillPersonID(g *batchGen, v *types.Vector) {
	for i, n := range g.events {
		v.I64[i] = firstPersonID + lastBase0PersonID(n)
	}
}

func fillPersonName(g *batchGen, v *types.Vector) {
	for i, n := range g.events {
		v.Str[i] = fullNames[personName(saltPersonName, n)]
	}
}

func fillPersonEmail(g *batchGen, v *types.Vector) {
	g.strings(v, 16, func(dst []byte, n int64) []byte { return email(dst, saltPersonEmail, n) })
}

func fillPersonCard(g *batchGen, v *types.Vector) {
	g.strings(v, creditCardLen, func(dst []byte, n int64) []byte { return creditCard(dst, saltPersonCard, n) })
}

func fillPersonCity(g *batchGen, v *types.Vector) {
	for i, n := range g.events {
		v.Str[i] = city(saltPersonCity, n)
	}
}

func fillPersonState(g *batchGen, v *types.Vector) {
	for i, n := range g.events {
		v.Str[i] = state(saltPersonState, n)
	}
}

func fillPersonExtra(g *batchGen, v *types.Vector) {
	g.strings(v, avgPersonSize, func(dst []byte, n int64) []byte {
		g.scratch = email(g.scratch[:0], saltPersonEmail, n)
		size := 8 + len(fullNames[personName(saltPersonName, n)]) + len(g.scratch) + creditCardLen +
			len(city(saltPersonCity, n)) + len(state(saltPersonState, n))
		r := at(saltPersonExtra, n)
		return r.letters(dst, r.extraLen(size, avgPersonSize))
	})
}

// --- auction ---

func fillAuctionID(g *batchGen, v *types.Vector) {
	for i, n := range g.events {
		v.I64[i] = firstAuctionID + lastBase0AuctionID(n)
	}
}

func itemName(dst []byte, n int64) []byte {
	r := at(saltAuctionItem, n)
	return r.word(dst, 20, ' ')
}

func description(dst []byte, n int64) []byte {
	r := at(saltAuctionDesc, n)
	return r.word(dst, 100, ' ')
}

func fillAuctionItem(g *batchGen, v *types.Vector) { g.strings(v, 11, itemName) }

func fillAuctionDesc(g *batchGen, v *types.Vector) { g.strings(v, 51, description) }

func initialBid(n int64) int64 {
	r := at(saltAuctionInitial, n)
	return r.price()
}

func fillAuctionInitial(g *batchGen, v *types.Vector) {
	for i, n := range g.events {
		v.I64[i] = initialBid(n)
	}
}

func fillAuctionReserve(g *batchGen, v *types.Vector) {
	for i, n := range g.events {
		r := at(saltAuctionReserve, n)
		v.I64[i] = initialBid(n) + r.price()
	}
}

func fillAuctionExpires(g *batchGen, v *types.Vector) {
	for i, n := range g.events {
		ms := g.millis[i]
		r := at(saltAuctionExpires, n)
		v.I64[i] = g.micros(ms+g.clock.auctionLengthMs(n, ms, &r), v.Type)
	}
}

func fillAuctionSeller(g *batchGen, v *types.Vector) {
	for i, n := range g.events {
		r := at(saltAuctionSeller, n)
		var id int64
		if r.below(hotSellerRatio) > 0 {
			id = lastBase0PersonID(n) / hotRatio * hotRatio
		} else {
			id = nextBase0PersonID(n, &r)
		}
		v.I64[i] = firstPersonID + id
	}
}

func fillAuctionCategory(g *batchGen, v *types.Vector) {
	for i, n := range g.events {
		r := at(saltAuctionCategory, n)
		v.I64[i] = firstCategory + r.below(numCategories)
	}
}

func fillAuctionExtra(g *batchGen, v *types.Vector) {
	g.strings(v, avgAuctionSize-120, func(dst []byte, n int64) []byte {
		g.scratch = itemName(g.scratch[:0], n)
		g.scratch = description(g.scratch, n)
		size := 8 + len(g.scratch) + 5*8
		r := at(saltAuctionExtra, n)
		return r.letters(dst, r.extraLen(size, avgAuctionSize))
	})
}

// --- bid ---

func fillBidAuction(g *batchGen, v *types.Vector) {
	for i, n := range g.events {
		r := at(saltBidAuction, n)
		var id int64
		if r.below(hotAuctionRatio) > 0 {
			id = lastBase0AuctionID(n) / hotRatio * hotRatio
		} else {
			id = nextBase0AuctionID(n, &r)
		}
		v.I64[i] = firstAuctionID + id
	}
}

func fillBidBidder(g *batchGen, v *types.Vector) {
	for i, n := range g.events {
		r := at(saltBidBidder, n)
		var id int64
		if r.below(hotBidderRatio) > 0 {
			id = lastBase0PersonID(n)/hotRatio*hotRatio + 1
		} else {
			id = nextBase0PersonID(n, &r)
		}
		v.I64[i] = firstPersonID + id
	}
}

func fillBidPrice(g *batchGen, v *types.Vector) {
	for i, n := range g.events {
		r := at(saltBidPrice, n)
		v.I64[i] = r.price()
	}
}

func fillBidChannel(g *batchGen, v *types.Vector) {
	tab := channelTable()
	for i, n := range g.events {
		r := at(saltBidChannel, n)
		v.Str[i] = tab[pickChannel(&r)].name
	}
}

func fillBidURL(g *batchGen, v *types.Vector) {
	tab := channelTable()
	for i, n := range g.events {
		r := at(saltBidChannel, n)
		v.Str[i] = tab[pickChannel(&r)].url
	}
}

// bidFixedSize is what the reference counts for a bid's other columns.
const bidFixedSize = 4 * 8

func fillBidExtra(g *batchGen, v *types.Vector) {
	g.strings(v, avgBidSize-bidFixedSize, func(dst []byte, n int64) []byte {
		r := at(saltBidExtra, n)
		return r.letters(dst, r.extraLen(bidFixedSize, avgBidSize))
	})
}

// --- shared ---

func fillDateTime(g *batchGen, v *types.Vector) {
	for i, ms := range g.millis {
		v.I64[i] = g.micros(ms, v.Type)
	}
}
