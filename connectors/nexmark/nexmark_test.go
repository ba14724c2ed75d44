package nexmark

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

var (
	personSchema = types.Schema{
		{Name: "id", Type: types.BigInt}, {Name: "name", Type: types.String},
		{Name: "emailAddress", Type: types.String}, {Name: "creditCard", Type: types.String},
		{Name: "city", Type: types.String}, {Name: "state", Type: types.String},
		{Name: "dateTime", Type: ts3}, {Name: "extra", Type: types.String},
	}
	auctionSchema = types.Schema{
		{Name: "id", Type: types.BigInt}, {Name: "itemName", Type: types.String},
		{Name: "description", Type: types.String}, {Name: "initialBid", Type: types.BigInt},
		{Name: "reserve", Type: types.BigInt}, {Name: "dateTime", Type: ts3},
		{Name: "expires", Type: ts3}, {Name: "seller", Type: types.BigInt},
		{Name: "category", Type: types.BigInt}, {Name: "extra", Type: types.String},
	}
	bidSchema = types.Schema{
		{Name: "auction", Type: types.BigInt}, {Name: "bidder", Type: types.BigInt},
		{Name: "price", Type: types.BigInt}, {Name: "channel", Type: types.String},
		{Name: "url", Type: types.String}, {Name: "dateTime", Type: ts3},
		{Name: "extra", Type: types.String},
	}
	ts3 = types.Type{Kind: types.KindTimestamp, Precision: 3}
)

func newTable(schema types.Schema, opts ...string) *connectors.Table {
	o := map[string]string{"connector": "nexmark"}
	for i := 0; i+1 < len(opts); i += 2 {
		o[opts[i]] = opts[i+1]
	}
	return &connectors.Table{Name: "t", Schema: schema, Options: o}
}

func allCols(s types.Schema) []int {
	cols := make([]int, len(s))
	for i := range cols {
		cols[i] = i
	}
	return cols
}

// readRows runs every subtask of the source to its end and returns the rows
// as datums, subtask by subtask.
func readRows(t *testing.T, tbl *connectors.Table, cols []int, p int) [][]types.Datum {
	t.Helper()
	spec, err := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: cols})
	if err != nil {
		t.Fatal(err)
	}
	if !spec.Bounded {
		t.Fatal("source with events.num is not bounded")
	}
	var rows [][]types.Datum
	for s := range p {
		src, err := spec.Factory(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := src.Open(&exec.TaskContext{Ctx: context.Background(), Subtask: s, Parallelism: p}); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, drain(t, src, spec.Types, -1)...)
		if err := src.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return rows
}

// drain reads src until it ends or, when limit >= 0, until it has read
// limit batches.
func drain(t *testing.T, src exec.Source, ts []types.Type, limit int) [][]types.Datum {
	t.Helper()
	var rows [][]types.Datum
	b := types.NewBatch(ts)
	for i := 0; limit < 0 || i < limit; i++ {
		b.Reset(ts)
		end, err := src.Next(b)
		if err != nil {
			t.Fatal(err)
		}
		for r := range b.Len() {
			rows = append(rows, b.Row(r, nil))
		}
		if end {
			break
		}
	}
	return rows
}

func rowKey(r []types.Datum) string {
	parts := make([]string, len(r))
	for i, d := range r {
		parts[i] = d.String()
	}
	return strings.Join(parts, "|")
}

func keys(rows [][]types.Datum) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = rowKey(r)
	}
	return out
}

func TestRowCountsFollowProportions(t *testing.T) {
	cases := []struct {
		events                  int
		persons, auctions, bids int
	}{
		{0, 0, 0, 0},
		{1, 1, 0, 0},
		{3, 1, 2, 0},
		{5, 1, 3, 1},
		{53, 2, 5, 46},
		{5000, 100, 300, 4600},
	}
	for _, c := range cases {
		n := strconv.Itoa(c.events)
		for _, k := range []struct {
			name   string
			schema types.Schema
			want   int
		}{{"person", personSchema, c.persons}, {"auction", auctionSchema, c.auctions}, {"bid", bidSchema, c.bids}} {
			rows := readRows(t, newTable(k.schema[:1], "nexmark.table", k.name, "events.num", n), []int{0}, 2)
			if len(rows) != k.want {
				t.Errorf("events.num=%d: %s table has %d rows, want %d", c.events, k.name, len(rows), k.want)
			}
		}
	}
}

func TestEventNumbering(t *testing.T) {
	for k := kindPerson; k <= kindBid; k++ {
		lo, c := k.span()
		prev := int64(-1)
		for r := range int64(500) {
			n := k.eventNumber(r)
			if n <= prev {
				t.Fatalf("%s row %d: event %d not after %d", k, r, n, prev)
			}
			if m := n % totalProportion; m < lo || m >= lo+c {
				t.Fatalf("%s row %d: event %d has the wrong kind (n mod 50 = %d)", k, r, n, m)
			}
			if got := k.rowsBelow(n); got != r {
				t.Fatalf("%s: rowsBelow(%d) = %d, want %d", k, n, got, r)
			}
			prev = n
		}
	}
}

func TestDeterministicAcrossParallelismAndProjection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		schema types.Schema
	}{{"person", personSchema}, {"auction", auctionSchema}, {"bid", bidSchema}} {
		t.Run(tc.name, func(t *testing.T) {
			tbl := newTable(tc.schema, "nexmark.table", tc.name, "events.num", "20000")
			one := keys(readRows(t, tbl, allCols(tc.schema), 1))
			three := keys(readRows(t, tbl, allCols(tc.schema), 3))
			again := keys(readRows(t, tbl, allCols(tc.schema), 1))
			if !slices.Equal(one, again) {
				t.Fatal("two runs at parallelism 1 differ")
			}
			sort1, sort3 := slices.Clone(one), slices.Clone(three)
			slices.Sort(sort1)
			slices.Sort(sort3)
			if !slices.Equal(sort1, sort3) {
				t.Fatal("parallelism 1 and 3 produce different rows")
			}
			// Each column alone, reversed order of two: same values as in
			// the full rows.
			full := readRows(t, tbl, allCols(tc.schema), 1)
			for c := range tc.schema {
				other := (c + 1) % len(tc.schema)
				part := readRows(t, tbl, []int{other, c}, 1)
				for i := range full {
					if part[i][1] != full[i][c] || part[i][0] != full[i][other] {
						t.Fatalf("row %d column %s: projected %v/%v, full %v/%v", i, tc.schema[c].Name,
							part[i][1], part[i][0], full[i][c], full[i][other])
					}
				}
			}
		})
	}
}

func TestSeekToResumes(t *testing.T) {
	tbl := newTable(bidSchema, "nexmark.table", "bid", "events.num", "50000")
	spec, err := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: allCols(bidSchema)})
	if err != nil {
		t.Fatal(err)
	}
	const p = 2
	for s := range p {
		tc := &exec.TaskContext{Ctx: context.Background(), Subtask: s, Parallelism: p}
		whole, _ := spec.Factory(s)
		if err := whole.Open(tc); err != nil {
			t.Fatal(err)
		}
		want := keys(drain(t, whole, spec.Types, -1))

		first, _ := spec.Factory(s)
		if err := first.Open(tc); err != nil {
			t.Fatal(err)
		}
		got := keys(drain(t, first, spec.Types, 3))
		pos := first.(*Source).Position()
		resumed, _ := spec.Factory(s)
		resumed.(*Source).SeekTo(pos)
		if err := resumed.Open(tc); err != nil {
			t.Fatal(err)
		}
		got = append(got, keys(drain(t, resumed, spec.Types, -1))...)
		if !slices.Equal(got, want) {
			t.Fatalf("subtask %d: resuming at %d gives %d rows, an uninterrupted run %d (or different rows)", s, pos, len(got), len(want))
		}
		if end := resumed.(*Source).Position(); end < 50000*46/50 {
			t.Fatalf("subtask %d: final position %d below the row count", s, end)
		}
	}
}

func TestUnbounded(t *testing.T) {
	tbl := newTable(bidSchema[:1], "nexmark.table", "bid")
	spec, err := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Bounded {
		t.Fatal("source without events.num is bounded")
	}
	src, _ := spec.Factory(0)
	if err := src.Open(&exec.TaskContext{Parallelism: 1}); err != nil {
		t.Fatal(err)
	}
	b := types.NewBatch(spec.Types)
	for range 3 {
		b.Reset(spec.Types)
		end, err := src.Next(b)
		if err != nil || end || b.Len() != types.DefaultBatchSize {
			t.Fatalf("Next = %v, %v with %d rows; want a full batch and no end", end, err, b.Len())
		}
	}
}

// TestEventTimes checks that each subtask's rows are in event-time order,
// that event n is at base + n/rate, and that auctions expire after they
// open.
func TestEventTimes(t *testing.T) {
	const rate = 1000 // 1 ms per event
	baseUs := BaseTime.UnixMicro()
	for _, k := range []struct {
		name   string
		schema types.Schema
		kind   kind
	}{{"person", personSchema, kindPerson}, {"auction", auctionSchema, kindAuction}, {"bid", bidSchema, kindBid}} {
		tbl := newTable(k.schema, "nexmark.table", k.name, "events.num", "10000", "first-event.rate", strconv.Itoa(rate))
		dt := k.schema.Index("dateTime")
		for s := range 2 {
			spec, _ := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: allCols(k.schema)})
			src, _ := spec.Factory(s)
			if err := src.Open(&exec.TaskContext{Subtask: s, Parallelism: 2}); err != nil {
				t.Fatal(err)
			}
			for i, row := range drain(t, src, spec.Types, -1) {
				n := k.kind.eventNumber(int64(2*i + s))
				if got, want := row[dt].I, baseUs+n*1000; got != want {
					t.Fatalf("%s subtask %d row %d (event %d): dateTime %d, want %d", k.name, s, i, n, got, want)
				}
				if k.kind == kindAuction {
					exp := row[auctionSchema.Index("expires")].I
					if exp <= row[dt].I {
						t.Fatalf("auction event %d expires at %d, not after it opens (%d)", n, exp, row[dt].I)
					}
				}
			}
		}
	}
	// The default rate: 10 M events/s, 10 000 events per ms.
	c := clock{baseMs: 0, rate: DefaultRate}
	for _, tc := range [][2]int64{{0, 0}, {9999, 0}, {10000, 1}, {10_000_000, 1000}, {1 << 62, (1 << 62) / 10000}} {
		if got := c.millis(tc[0]); got != tc[1] {
			t.Errorf("millis(%d) = %d, want %d", tc[0], got, tc[1])
		}
	}
}

// TestReferences checks ids and the references between events: person
// and auction ids are consecutive from 1000; sellers, bidders and bid
// auctions refer to people and auctions generated before the event, or at
// most the reference's lead (10) beyond the latest.
func TestReferences(t *testing.T) {
	const events = 100_000
	n := strconv.Itoa(events)
	persons := readRows(t, newTable(personSchema, "nexmark.table", "person", "events.num", n), allCols(personSchema), 1)
	for i, r := range persons {
		if r[0].I != firstPersonID+int64(i) {
			t.Fatalf("person %d has id %d", i, r[0].I)
		}
	}
	auctions := readRows(t, newTable(auctionSchema, "nexmark.table", "auction", "events.num", n), allCols(auctionSchema), 1)
	hotSellers := 0
	for i, r := range auctions {
		if r[0].I != firstAuctionID+int64(i) {
			t.Fatalf("auction %d has id %d", i, r[0].I)
		}
		ev := kindAuction.eventNumber(int64(i))
		seller := r[auctionSchema.Index("seller")].I
		if seller < firstPersonID || seller > firstPersonID+lastBase0PersonID(ev)+personIDLead {
			t.Fatalf("auction event %d: seller %d out of range", ev, seller)
		}
		if seller%hotRatio == 0 {
			hotSellers++
		}
		if c := r[auctionSchema.Index("category")].I; c < 10 || c > 14 {
			t.Fatalf("auction event %d: category %d", ev, c)
		}
		if init, res := r[3].I, r[4].I; init < 100 || res <= init {
			t.Fatalf("auction event %d: initialBid %d, reserve %d", ev, init, res)
		}
	}
	if f := float64(hotSellers) / float64(len(auctions)); f < 0.70 || f > 0.82 {
		t.Errorf("hot sellers: %.3f of auctions, want about 0.75", f)
	}
	bids := readRows(t, newTable(bidSchema, "nexmark.table", "bid", "events.num", n), allCols(bidSchema), 1)
	var hotAuctions, hotBidders, hotChannel, withID int
	for i, r := range bids {
		ev := kindBid.eventNumber(int64(i))
		a, b, price := r[0].I, r[1].I, r[2].I
		if a < firstAuctionID || a > firstAuctionID+lastBase0AuctionID(ev)+auctionIDLead {
			t.Fatalf("bid event %d: auction %d out of range (last auction %d)", ev, a, firstAuctionID+lastBase0AuctionID(ev))
		}
		if b < firstPersonID || b > firstPersonID+lastBase0PersonID(ev)+personIDLead {
			t.Fatalf("bid event %d: bidder %d out of range", ev, b)
		}
		if price < 100 || price > 100_000_000 {
			t.Fatalf("bid event %d: price %d", ev, price)
		}
		if a%hotRatio == 0 {
			hotAuctions++
		}
		if b%hotRatio == 1 {
			hotBidders++
		}
		ch, url := r[3].S, r[4].S
		if slices.Contains(hotChannels[:], ch) {
			hotChannel++
		} else if !strings.HasPrefix(ch, "channel-") {
			t.Fatalf("bid event %d: channel %q", ev, ch)
		}
		if !strings.HasPrefix(url, "https://www.nexmark.com/") || len(strings.Split(url, "/")) != 7 {
			t.Fatalf("bid event %d: url %q", ev, url)
		}
		if strings.Contains(url, "&channel_id=") {
			withID++
		}
		if l := len(r[6].S); l < 54 || l > 81 {
			t.Fatalf("bid event %d: extra of %d bytes", ev, l)
		}
	}
	frac := func(k int) float64 { return float64(k) / float64(len(bids)) }
	if f := frac(hotAuctions); f < 0.48 || f > 0.53 {
		t.Errorf("hot auctions: %.3f of bids, want about 0.5", f)
	}
	if f := frac(hotBidders); f < 0.73 || f > 0.78 {
		t.Errorf("hot bidders: %.3f of bids, want about 0.75", f)
	}
	if f := frac(hotChannel); f < 0.48 || f > 0.52 {
		t.Errorf("hot channels: %.3f of bids, want about 0.5", f)
	}
	if f := frac(withID); f < 0.42 || f > 0.48 {
		t.Errorf("urls with channel_id: %.3f of bids, want about 0.45", f)
	}
	// Every auction a bid names exists by the end of a slightly longer run.
	lastAuction := auctions[len(auctions)-1][0].I
	for _, r := range bids {
		if r[0].I > lastAuction+auctionIDLead {
			t.Fatalf("bid names auction %d, last auction is %d", r[0].I, lastAuction)
		}
	}
}

func TestPersonValues(t *testing.T) {
	rows := readRows(t, newTable(personSchema, "nexmark.table", "person", "events.num", "50000"), allCols(personSchema), 2)
	total := 0
	for _, r := range rows {
		name, mail, card := r[1].S, r[2].S, r[3].S
		if !slices.Contains(fullNames, name) {
			t.Fatalf("name %q", name)
		}
		if !strings.Contains(mail, "@") || !strings.HasSuffix(mail, ".com") { // a word may trim to "", as in the reference
			t.Fatalf("email %q", mail)
		}
		if len(card) != creditCardLen || strings.Count(card, " ") != 3 {
			t.Fatalf("credit card %q", card)
		}
		if !slices.Contains(cities[:], r[4].S) || !slices.Contains(states[:], r[5].S) {
			t.Fatalf("city/state %q/%q", r[4].S, r[5].S)
		}
		for _, c := range []byte(r[7].S) {
			if c < 'a' || c > 'z' {
				t.Fatalf("extra %q", r[7].S)
			}
		}
		total += 8 + len(name) + len(mail) + len(card) + len(r[4].S) + len(r[5].S) + len(r[7].S)
	}
	if avg := float64(total) / float64(len(rows)); avg < 190 || avg > 210 {
		t.Errorf("average person size %.1f bytes, want about %d", avg, avgPersonSize)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		schema types.Schema
		opts   []string
		want   string
	}{
		{"missing table", bidSchema, nil, "missing required option 'nexmark.table'"},
		{"bad table", bidSchema, []string{"nexmark.table", "bids"}, "expected 'person', 'auction' or 'bid'"},
		{"bad events", bidSchema, []string{"nexmark.table", "bid", "events.num", "-1"}, "events.num"},
		{"bad rate", bidSchema, []string{"nexmark.table", "bid", "first-event.rate", "0"}, "first-event.rate"},
		{"unknown option", bidSchema, []string{"nexmark.table", "bid", "rows-per-second", "1"}, "unsupported option 'rows-per-second'"},
		{"unknown column", types.Schema{{Name: "seller", Type: types.BigInt}}, []string{"nexmark.table", "bid"}, "column 'seller' is not a column of the nexmark bid table"},
		{"wrong type", types.Schema{{Name: "price", Type: types.Int}}, []string{"nexmark.table", "bid"}, "'price' must be BIGINT"},
		{"wrong time type", types.Schema{{Name: "dateTime", Type: types.String}}, []string{"nexmark.table", "person"}, "must be TIMESTAMP"},
	}
	for _, c := range cases {
		err := Connector{}.Validate(newTable(c.schema, c.opts...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	ok := newTable(types.Schema{{Name: "DATETIME", Type: types.Type{Kind: types.KindTimestampLTZ, Precision: 3}}, {Name: "Price", Type: types.BigInt}},
		"nexmark.table", "BID", "events.num", "10", "first-event.rate", "1000")
	if err := (Connector{}).Validate(ok); err != nil {
		t.Errorf("valid table: %v", err)
	}
}

func TestRegistered(t *testing.T) {
	if _, err := connectors.Lookup("nexmark"); err != nil {
		t.Fatal(err)
	}
}
