package planner

import (
	"strings"
	"testing"
	"time"
)

// TestWatermarkAlignmentOptions: 'scan.watermark.alignment.*' put the
// table's source vertex in an alignment group; wrong or unknown
// scan.watermark.* options are errors that name the option.
func TestWatermarkAlignmentOptions(t *testing.T) {
	cases := []struct {
		table string // bids has a WATERMARK, plain_bids does not
		opts  map[string]string
		group string
		drift time.Duration
		err   string
	}{
		{"bids", nil, "", 0, ""},
		{"bids", map[string]string{AlignGroupOption: "g1", AlignDriftOption: "20 ms"}, "g1", 20 * time.Millisecond, ""},
		{"bids", map[string]string{AlignGroupOption: "g1", AlignDriftOption: "1 s", AlignIntervalOption: "1 s"}, "g1", time.Second, ""},
		{"bids", map[string]string{AlignGroupOption: "g1"}, "", 0, "option 'scan.watermark.alignment.group' needs 'scan.watermark.alignment.max-drift'"},
		{"bids", map[string]string{AlignDriftOption: "1 s"}, "", 0, "option 'scan.watermark.alignment.max-drift' needs a non-empty 'scan.watermark.alignment.group'"},
		{"bids", map[string]string{AlignGroupOption: " ", AlignDriftOption: "1 s"}, "", 0, "needs a non-empty"},
		{"bids", map[string]string{AlignGroupOption: "g", AlignDriftOption: "0 s"}, "", 0, "max-drift': must be positive"},
		{"bids", map[string]string{AlignGroupOption: "g", AlignDriftOption: "soon"}, "", 0, "bad duration 'soon'"},
		{"bids", map[string]string{AlignGroupOption: "g", AlignDriftOption: "1 s", AlignIntervalOption: "x"}, "", 0, "update-interval': bad duration 'x'"},
		{"bids", map[string]string{"scan.watermark.alignment.maxdrift": "1 s"}, "", 0, "unsupported option 'scan.watermark.alignment.maxdrift'"},
		{"plain_bids", map[string]string{AlignGroupOption: "g", AlignDriftOption: "1 s"}, "", 0,
			"table 'plain_bids': option 'scan.watermark.alignment.group' needs a WATERMARK declaration"},
	}
	for _, c := range cases {
		cat := bidsCatalog([][3]int64{{1, 10, 1}})
		for k, v := range c.opts {
			cat.fakeCatalog[c.table].Table.Options[k] = v
		}
		p, plan, err := planWith(cat, 2, "SELECT auction, price FROM "+c.table)
		if err == nil {
			var ph *Physical
			ph, err = p.Compile(plan, CompileOptions{})
			if err == nil {
				a := ph.Graph.Vertices[0].Alignment
				switch {
				case c.group == "" && a != nil:
					t.Errorf("%v: alignment %+v, want none", c.opts, *a)
				case c.group != "" && (a == nil || a.Group != c.group || a.MaxDrift != c.drift):
					t.Errorf("%v: alignment %+v, want group %q drift %v", c.opts, a, c.group, c.drift)
				}
			}
		}
		if c.err == "" && err != nil {
			t.Errorf("%v: %v", c.opts, err)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%v: error %v, want it to contain %q", c.opts, err, c.err)
		}
	}
}
