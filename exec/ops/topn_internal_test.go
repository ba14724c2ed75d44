package ops

import (
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// TestTopNCodecSize: the cache is bounded by bytes, so Size must grow with
// a partition's rows and their strings.
func TestTopNCodecSize(t *testing.T) {
	c := &topnCodec{types: []types.Type{types.BigInt, types.String}, n: 3}
	row := func(s string) topnRow {
		return topnRow{vals: []types.Datum{types.IntDatum(1), {Type: types.String, S: s}}}
	}
	one := &topnPart{key: "k", rows: []topnRow{row("ab")}}
	two := &topnPart{key: "k", rows: []topnRow{row("ab"), row("cd")}}
	long := &topnPart{key: "k", rows: []topnRow{row(strings.Repeat("x", 1000))}}
	if a, b := c.Size(one), c.Size(two); b <= a {
		t.Fatalf("Size with 2 rows %d <= with 1 row %d", b, a)
	}
	if a, b := c.Size(one), c.Size(long); b < a+998 {
		t.Fatalf("Size with a 1000-byte string %d, with 2 bytes %d", b, a)
	}
	var _ state.Sizer[*topnPart] = c
}
