package planner

import (
	"strconv"
	"strings"
	"testing"
)

// Proctime implements ProctimeCatalog for bidsCatalog: pbids declares
// pt AS PROCTIME() after its three columns.
func (c *windowCatalog) Proctime(table string) (string, int, bool) {
	if strings.EqualFold(table, "pbids") {
		return "pt", 3, true
	}
	return "", 0, false
}

// sumColumn adds up column col (0-based, after the change op) of the rows
// runWindow returned, and checks every row is an insert.
func sumColumn(t *testing.T, rows string, col int) int64 {
	t.Helper()
	var sum int64
	for _, l := range strings.Split(rows, "\n") {
		if l == "" {
			continue
		}
		f := strings.Fields(l)
		if f[0] != "+I" {
			t.Fatalf("not an insert: %s", l)
		}
		v, err := strconv.ParseInt(f[1+col], 10, 64)
		if err != nil {
			t.Fatalf("row %q column %d: %v", l, col, err)
		}
		sum += v
	}
	return sum
}

// Processing-time windows over a bounded input: which window a row falls
// in depends on the clock, but every row is counted exactly once (no row is
// late), and the windows all fire at the end of the input.
func TestRunProctimeWindows(t *testing.T) {
	queries := []string{
		// the computed column of the table
		`SELECT auction, COUNT(*) AS n, SUM(price) AS s, window_start, window_end
		 FROM TABLE(TUMBLE(TABLE pbids, DESCRIPTOR(pt), INTERVAL '1' SECOND))
		 GROUP BY auction, window_start, window_end`,
		// PROCTIME() in a view over an event-time table (its watermarks
		// must not leak into the processing-time windows)
		`SELECT auction, COUNT(*) AS n, SUM(price) AS s, window_start, window_end
		 FROM TABLE(TUMBLE(TABLE bids_pt, DESCRIPTOR(pt), INTERVAL '10' MILLISECOND))
		 GROUP BY auction, window_start, window_end`,
		`SELECT auction, COUNT(*) AS n, SUM(price) AS s, window_start, window_end
		 FROM TABLE(SESSION(TABLE pbids PARTITION BY auction, DESCRIPTOR(pt), INTERVAL '1' MINUTE))
		 GROUP BY auction, window_start, window_end`,
	}
	for _, q := range queries {
		for _, par := range []int{1, 3} {
			rows := runWindow(t, par, q, bidsInOrder[:2], bidsInOrder[2:4], bidsInOrder[4:])
			if n, s := sumColumn(t, rows, 1), sumColumn(t, rows, 2); n != 6 || s != 74 {
				t.Errorf("par %d, %s:\ncount %d, sum %d; want 6, 74\n%s", par, q, n, s, rows)
			}
		}
	}
	// HOP: each row is in size/slide windows.
	hop := `SELECT COUNT(*) AS n, window_start FROM TABLE(HOP(TABLE pbids, DESCRIPTOR(pt), INTERVAL '1' SECOND, INTERVAL '3' SECOND))
		GROUP BY window_start, window_end`
	if n := sumColumn(t, runWindow(t, 2, hop, bidsInOrder), 0); n != 18 {
		t.Errorf("HOP: %d rows counted, want 18", n)
	}
	// The TVF alone annotates each row once.
	tvf := `SELECT auction, price FROM TABLE(TUMBLE(TABLE pbids, DESCRIPTOR(pt), INTERVAL '1' MINUTE)) WHERE window_end > pt`
	if s := sumColumn(t, runWindow(t, 2, tvf, bidsInOrder), 1); s != 74 {
		t.Errorf("TVF: price sum %d, want 74", s)
	}
}

func TestProctimePlanning(t *testing.T) {
	cases := []struct{ sql, want string }{
		// a proctime column is not a rowtime attribute of the event-time
		// operators
		{`SELECT * FROM pbids a JOIN pbids b ON a.auction = b.auction AND a.pt BETWEEN b.pt - INTERVAL '1' SECOND AND b.pt`,
			"InnerJoin(keys=[auction = auction], residual=[(a.pt >= b.pt - INTERVAL '1' SECOND) AND (a.pt <= b.pt)])"},
		// window Top-N over processing-time windows is a regular Top-N
		{`SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY price DESC) AS rn
		   FROM TABLE(TUMBLE(TABLE pbids, DESCRIPTOR(pt), INTERVAL '1' SECOND))) WHERE rn <= 1`,
			"Rank(rankType=[ROW_NUMBER], partitionBy=[window_start, window_end], orderBy=[price DESC], rankRange=[1..1]), changelogMode=[I,UB,UA,D]"},
		{`SELECT COUNT(*) FROM TABLE(TUMBLE(TABLE plain_bids, DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY window_start, window_end`,
			"or a processing-time column (ts AS PROCTIME())"},
	}
	for _, c := range cases {
		got := explainWindow(c.sql)
		if !strings.Contains(got, c.want) {
			t.Errorf("%s:\n%s\nwant it to contain %q", c.sql, got, c.want)
		}
	}
}
