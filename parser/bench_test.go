package parser

import (
	"strings"
	"testing"
)

const benchQuery = `SELECT auction, bidder, price, window_start, window_end,
       COUNT(*) FILTER (WHERE price > 100) AS big, CAST(price AS DOUBLE) * 0.908 AS euro,
       MAX(CAST(extra AS STRING)) AS extra
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
WHERE channel IN ('apple', 'google', 'facebook', 'baidu') AND url LIKE '%/item%'
  AND auction BETWEEN 1000 AND 2000
GROUP BY auction, bidder, price, window_start, window_end
HAVING COUNT(*) > 1
ORDER BY price DESC
LIMIT 10`

func BenchmarkParse(b *testing.B) {
	b.SetBytes(int64(len(benchQuery)))
	for b.Loop() {
		if _, err := Parse(benchQuery); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTiDBOnly is the cost of TiDB's parser alone on the same text,
// for comparison.
func BenchmarkTiDBOnly(b *testing.B) {
	c, err := newCursor(Span{Script: benchQuery, End: len(benchQuery)})
	if err != nil {
		b.Fatal(err)
	}
	r := newRewriter(c)
	if err := r.scan(0, len(c.toks)); err != nil {
		b.Fatal(err)
	}
	buf, _ := r.build(0, len(benchQuery), false)
	buf = strings.Replace(buf, "FILTER", "      ", 1)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := tidbParse(buf); err != nil {
			b.Fatal(err)
		}
	}
}
