package planner

import (
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/ops"
)

// Window Top-N.
//
// ROW_NUMBER() OVER (PARTITION BY window_start, window_end[, k...] ORDER BY
// ...) filtered on rn <= N (or rn = 1), over the rows of a window TVF or
// of a window aggregate, is a window Top-N, as in Flink: since the window
// columns are partition keys, a partition is complete once the watermark
// passes its window_end, so the Rank keeps the N best rows per partition
// and emits them once then (ops.WindowTopN), append-only, instead of
// updating ranks as rows arrive. The window columns must reach the Rank
// unchanged (filters and plain column projections only) so that their
// values are those the watermark completes.

// RankWindow names the window columns of a window Top-N's input.
type RankWindow struct {
	// Start and End are the input columns of window_start and window_end;
	// both are partition columns.
	Start, End int
}

// Window column roles (windowRoles).
const (
	roleNone uint8 = iota
	roleStart
	roleEnd
)

// windowRoles reports, for every output column of n, whether it is the
// window_start or window_end of the window its row belongs to: the window
// columns of a window TVF or window aggregate, through filters, column
// projections and window Top-Ns. It also recognises, before planWindows
// has run, the Aggregates that will be window aggregates.
func windowRoles(n Node) []uint8 {
	out := make([]uint8, len(n.Fields()))
	switch x := n.(type) {
	case *WindowTVF:
		if x.Proctime { // window Top-N and window joins need event time
			break
		}
		nIn := len(x.Input.Fields())
		out[nIn], out[nIn+1] = roleStart, roleEnd
	case *WindowAggregate:
		if x.Proctime {
			break
		}
		out[len(x.KeyCols)], out[len(x.KeyCols)+1] = roleStart, roleEnd
	case *Aggregate:
		if p, err := windowAggregate(x); err == nil && p != nil {
			return windowRoles(p)
		}
	case *Filter:
		return windowRoles(x.Input)
	case *Project:
		in := windowRoles(x.Input)
		for i, e := range x.Exprs {
			if c, ok := expr.ColumnIndex(e); ok {
				out[i] = in[c]
			}
		}
	case *Rank:
		if x.window() != nil {
			copy(out, windowRoles(x.Input))
		}
	}
	return out
}

// rankWindow returns the window columns of r when it is a window Top-N:
// its partition columns include a window_start and a window_end of its
// input. (Inputs with window columns are append-only; their Mode is not
// asked because before planWindows a future window aggregate is still an
// updating Aggregate.)
func rankWindow(r *Rank) *RankWindow {
	roles := windowRoles(r.Input)
	w := &RankWindow{Start: -1, End: -1}
	for _, c := range r.PartitionCols {
		switch roles[c] {
		case roleStart:
			if w.Start < 0 {
				w.Start = c
			}
		case roleEnd:
			if w.End < 0 {
				w.End = c
			}
		}
	}
	if w.Start < 0 || w.End < 0 {
		return nil
	}
	return w
}

// window returns r's window columns: Window once limitRanks has set it,
// otherwise what it finds (or will find).
func (r *Rank) window() *RankWindow {
	if r.Window != nil {
		return r.Window
	}
	return rankWindow(r)
}

// windowRank compiles a window Top-N: a hash exchange by its partition
// columns (which include the window), then ops.WindowTopN.
func (c *compiler) windowRank(x *Rank) (frag, error) {
	f, err := c.node(x.Input)
	if err != nil {
		return frag{}, err
	}
	f = c.exchange([]frag{f}, exec.Hash, x.PartitionCols, c.parallelism(), "WindowRank")
	spec := ops.WindowTopNSpec{PartitionCols: x.PartitionCols, WindowEnd: x.Window.End, N: x.N,
		InTypes: f.types, WithRank: true}
	for _, k := range x.Order {
		if k.Desc {
			spec.Order = append(spec.Order, ops.Desc(k.Col))
		} else {
			spec.Order = append(spec.Order, ops.Asc(k.Col))
		}
	}
	return c.addOp(f, x.describe(), fieldTypes(x.Fields()), ops.WindowTopNFactory(spec)), nil
}
