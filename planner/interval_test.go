package planner

import "testing"

// Interval joins run end to end over bidsCatalog: the bids of auction 1
// at 1 s, 7 s, 12 s and 21 s, of auction 2 at 4 s and 14 s.
func TestRunIntervalJoin(t *testing.T) {
	const on = `ON a.auction = b.auction AND a.ts BETWEEN b.ts - INTERVAL '5' SECOND AND b.ts AND a.price <> b.price`
	inner := `SELECT a.price, b.price FROM bids a JOIN bids b ` + on
	left := `SELECT a.price, b.price FROM bids a LEFT JOIN bids b ` + on
	full := `SELECT a.price, b.price FROM bids a FULL JOIN bids b ON a.auction = b.auction AND a.ts > b.ts AND a.ts <= b.ts + INTERVAL '6' SECOND`
	for _, par := range []int{1, 3} {
		for _, splits := range [][][][3]int64{{bidsInOrder}, {bidsInOrder[:2], bidsInOrder[2:4], bidsInOrder[4:]}} {
			checkRows(t, runWindow(t, par, inner, splits...), `+I 30 5`)
			checkRows(t, runWindow(t, par, left, splits...), `
				+I 30 5
				+I 10 NULL
				+I 20 NULL
				+I 5 NULL
				+I 8 NULL
				+I 1 NULL`)
			// a after b by at most 6 s: 30 after 10, 5 after 30; 1 (21 s)
			// and 8 (14 s) follow nothing close enough.
			checkRows(t, runWindow(t, par, full, splits...), `
				+I 30 10
				+I 5 30
				+I 10 NULL
				+I 20 NULL
				+I 8 NULL
				+I 1 NULL
				+I NULL 20
				+I NULL 5
				+I NULL 8
				+I NULL 1`)
		}
	}
}
