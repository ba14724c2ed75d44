package planner

import (
	"time"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
)

// Interval joins.
//
// A join (INNER, LEFT, RIGHT or FULL) of two append-only inputs is an
// interval join when its condition bounds a rowtime attribute of the left
// input from below and from above by one of the right input, each bound a
// comparison (<, <=, >, >=; BETWEEN is two of them) between the two time
// columns shifted by constant day-time intervals:
//
//	a.ts BETWEEN b.ts - INTERVAL '1' HOUR AND b.ts + INTERVAL '10' MINUTE
//	a.ts >= b.ts AND a.ts < b.ts + INTERVAL '5' SECOND
//
// The bounds become IntervalBounds (strict bounds move by 1 µs) and leave
// the residual; the join runs as ops.IntervalJoin, whose output is
// append-only and keeps both sides' rowtime attributes.

// intervalBounds finds the interval bounds of j among the conjuncts of
// its residual (over the left columns then the right ones) and returns
// them with the conjuncts left over; nil bounds when j is not an interval
// join.
func intervalBounds(j *Join, residual []expr.Expr) (*IntervalBounds, []expr.Expr) {
	if j.Kind > FullJoin || !hasCrossComparison(residual, len(j.Left.Fields())) ||
		j.Left.Mode() != connectors.AppendOnly || j.Right.Mode() != connectors.AppendOnly {
		return nil, residual
	}
	nl := len(j.Left.Fields())
	fields := append(append([]Field(nil), j.Left.Fields()...), j.Right.Fields()...)
	lrt, rrt := rowtimeCols(j.Left), rowtimeCols(j.Right)
	var iv *IntervalBounds
	hasLower, hasUpper := false, false
	var rest []expr.Expr
	for _, c := range residual {
		op, a, b, ok := expr.Comparison(c)
		if !ok || (op != "<" && op != "<=" && op != ">" && op != ">=") {
			rest = append(rest, c)
			continue
		}
		ac, aOff, aOK := shiftedColumn(a, fields)
		bc, bOff, bOK := shiftedColumn(b, fields)
		if !aOK || !bOK || (ac < nl) == (bc < nl) {
			rest = append(rest, c)
			continue
		}
		// Normalise to left op right + k.
		var k int64
		if ac < nl {
			k = bOff - aOff
		} else {
			ac, bc = bc, ac
			k = aOff - bOff
			op = map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
		}
		lc, rc := ac, bc-nl
		if !lrt[lc] || !rrt[rc] || (iv != nil && (iv.LeftTime != lc || iv.RightTime != rc)) {
			rest = append(rest, c)
			continue
		}
		if iv == nil {
			iv = &IntervalBounds{LeftTime: lc, RightTime: rc}
		}
		switch op {
		case ">", ">=":
			if op == ">" {
				k++
			}
			if !hasLower || k > iv.Lower {
				iv.Lower, iv.LowerOpen = k, op == ">"
			}
			hasLower = true
		default:
			if op == "<" {
				k--
			}
			if !hasUpper || k < iv.Upper {
				iv.Upper, iv.UpperOpen = k, op == "<"
			}
			hasUpper = true
		}
	}
	if iv == nil || !hasLower || !hasUpper {
		return nil, residual
	}
	if iv.Lower > iv.Upper {
		// An empty interval: no pair joins. Keep it a regular join,
		// whose residual says so, rather than plan an operator for it.
		return nil, residual
	}
	return iv, rest
}

// hasCrossComparison reports whether a conjunct is an order comparison
// between the two inputs (a cheap test before looking for bounds, which
// needs the inputs' changelog modes and rowtimes).
func hasCrossComparison(conjuncts []expr.Expr, nl int) bool {
	for _, c := range conjuncts {
		if op, a, b, ok := expr.Comparison(c); ok && op != "=" && op != "<>" && op != "<=>" {
			if sa, sb := sideOf(a, nl), sideOf(b, nl); sa != sb && sa != sideBoth && sb != sideBoth && sa != sideNone && sb != sideNone {
				return true
			}
		}
	}
	return false
}

// shiftedColumn reports whether e is a TIMESTAMP column plus a constant
// day-time interval (ts, ts + INTERVAL ..., ts - INTERVAL ..., also under
// casts between timestamp precisions) and returns the column and the shift
// in microseconds. It checks by evaluating e at a few instants, so that it
// accepts whatever form the expression has and refuses month intervals,
// whose length varies.
func shiftedColumn(e expr.Expr, fields []Field) (int, int64, bool) {
	cols := expr.Columns(e)
	if len(cols) == 0 || !expr.Deterministic(e) {
		return 0, 0, false
	}
	col := cols[0]
	for _, c := range cols[1:] {
		if c != col {
			return 0, 0, false
		}
	}
	if k := e.Type().Kind; k != types.KindTimestamp && k != types.KindTimestampLTZ {
		return 0, 0, false
	}
	ct := fields[col].Type
	if ct.Kind != types.KindTimestamp && ct.Kind != types.KindTimestampLTZ {
		return 0, 0, false
	}
	base := types.TimeToMicros(time.Date(2021, 3, 14, 13, 27, 41, 123_000_000, time.UTC))
	probes := []int64{base, base + 47*86_400_000_000 + 5*3_600_000_000 + 654_000, base + 400*86_400_000_000 + 500_000, base - 1000*86_400_000_000}
	row := make([]types.Datum, col+1)
	for i := range row {
		row[i] = types.NullDatum(fields[i].Type)
	}
	var shift int64
	for n, p := range probes {
		row[col] = types.Datum{Type: ct, I: p}
		d, err := expr.EvalRow(e, row)
		if err != nil || d.Null {
			return 0, 0, false
		}
		if n == 0 {
			shift = d.I - p
		} else if d.I-p != shift {
			return 0, 0, false
		}
	}
	return col, shift, true
}

// signedMicros prints a shift for EXPLAIN: " - 1h", " + 10min", "" for 0.
func signedMicros(us int64) string {
	switch {
	case us < 0:
		return " - " + ops.FormatMicros(-us)
	case us == 0:
		return ""
	}
	return " + " + ops.FormatMicros(us)
}

// intervalSpec returns the operator spec of an interval join.
func intervalSpec(x *Join, lt, rt []types.Type) ops.IntervalJoinSpec {
	iv := x.Interval
	return ops.IntervalJoinSpec{Type: joinKinds[x.Kind], LeftKeys: x.LeftKeys, RightKeys: x.RightKeys,
		LeftTypes: lt, RightTypes: rt, Residual: x.Residual, LeftTime: iv.LeftTime, RightTime: iv.RightTime,
		Lower: iv.Lower, Upper: iv.Upper}
}
