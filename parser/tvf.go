package parser

import (
	"fmt"
	"slices"
	"strings"
)

var intervalUnits = map[string]bool{
	"MICROSECOND": true, "MILLISECOND": true, "SECOND": true, "MINUTE": true, "HOUR": true, "DAY": true,
	"WEEK": true, "MONTH": true, "QUARTER": true, "YEAR": true,
}

var compoundUnits = map[string]bool{
	"SECOND_MICROSECOND": true, "MINUTE_MICROSECOND": true, "MINUTE_SECOND": true, "HOUR_MICROSECOND": true,
	"HOUR_SECOND": true, "HOUR_MINUTE": true, "DAY_MICROSECOND": true, "DAY_SECOND": true, "DAY_MINUTE": true,
	"DAY_HOUR": true, "YEAR_MONTH": true,
}

// intervalUnit returns the upper-case singular unit of token t (MINUTES is
// MINUTE).
func (c *cursor) intervalUnit(t token) (string, bool) {
	if t.kind != tkIdent {
		return "", false
	}
	u := strings.ToUpper(c.text(t))
	if intervalUnits[u] || compoundUnits[u] {
		return u, true
	}
	if s, ok := strings.CutSuffix(u, "S"); ok && intervalUnits[s] {
		return s, true
	}
	return "", false
}

// interval parses INTERVAL [-]'value' UNIT [TO UNIT] at the cursor. It
// returns the interval, the index of its first unit token and whether the
// tokens formed an interval literal; if not, the cursor did not move.
func (c *cursor) interval() (Interval, int, bool) {
	start := c.i
	if !c.kwAt(start, "INTERVAL") {
		return Interval{}, 0, false
	}
	j := start + 1
	sign := ""
	if c.opAt(j, "-") || c.opAt(j, "+") {
		if c.opAt(j, "-") {
			sign = "-"
		}
		j++
	}
	var val string
	switch v := c.tok(j); v.kind {
	case tkString:
		val = unquote(c.text(v))
	case tkNumber:
		val = c.text(v)
	default:
		return Interval{}, 0, false
	}
	j++
	unitAt := j
	unit, ok := c.intervalUnit(c.tok(j))
	if !ok {
		return Interval{}, 0, false
	}
	j++
	if c.kwAt(j, "TO") {
		u2, ok := c.intervalUnit(c.tok(j + 1))
		if !ok || !compoundUnits[unit+"_"+u2] {
			return Interval{}, 0, false
		}
		unit += "_" + u2
		j += 2
	}
	c.i = j
	return Interval{Value: sign + val, Unit: unit, Offset: c.toks[start].pos}, unitAt, true
}

// Interval arguments of each window kind, in positional order, and how many
// are required.
var tvfArgs = [...]struct {
	names    []string
	required int
}{
	Tumble:   {[]string{"SIZE", "OFFSET"}, 1},
	Hop:      {[]string{"SLIDE", "SIZE", "OFFSET"}, 2},
	Cumulate: {[]string{"STEP", "SIZE", "OFFSET"}, 2},
	Session:  {[]string{"GAP"}, 1},
}

type namedInterval struct {
	name string
	at   int
	iv   Interval
}

// parseTVF parses the arguments of TABLE(KIND(args)) at token i, where inner
// is the index of KIND's closing parenthesis. Arguments are positional or
// named (DATA => TABLE t, TIMECOL => DESCRIPTOR(ts), SIZE => INTERVAL ...).
func (r *rewriter) parseTVF(i int, kind WindowKind, inner int) (*WindowTVF, error) {
	c := *r.cursor
	c.i, c.toks = i+4, r.toks[:inner+1] // the arguments may not run past KIND's ')'

	kindTok := r.toks[i+2]
	kindName := strings.ToUpper(r.text(kindTok))
	tvf := &WindowTVF{Kind: kind, Offset: r.toks[i].pos}
	var ivs []namedInterval
	hasTable, hasDesc := false, false
	for {
		if c.i >= inner {
			return nil, c.errNear("TABLE, DESCRIPTOR or INTERVAL")
		}
		argName, argAt := "", c.peek().pos
		if (c.peek().kind == tkIdent) && c.opAt(c.i+1, "=>") {
			argName = strings.ToUpper(c.text(c.peek()))
			c.i += 2
		}
		switch {
		case c.isKw("TABLE") && (argName == "" || argName == "DATA") && !hasTable:
			c.next()
			name, err := c.name()
			if err != nil {
				return nil, err
			}
			tvf.Table, hasTable = name, true
			if c.isKw("PARTITION", "BY") {
				if kind != Session {
					return nil, r.sp.ErrorAt(c.peek().pos, "PARTITION BY is only allowed in SESSION windows")
				}
				c.i += 2
				if c.isOp("(") {
					tvf.PartitionBy, err = c.nameList()
				} else {
					var col string
					col, err = c.ident()
					tvf.PartitionBy = []string{col}
				}
				if err != nil {
					return nil, err
				}
			}
		case c.isKw("DESCRIPTOR") && (argName == "" || argName == "TIMECOL") && !hasDesc:
			c.next()
			if err := c.expectOp("("); err != nil {
				return nil, err
			}
			col, err := c.ident()
			if err != nil {
				return nil, err
			}
			if err := c.expectOp(")"); err != nil {
				return nil, err
			}
			tvf.TimeCol, hasDesc = col, true
		case c.isKw("INTERVAL"):
			iv, _, ok := c.interval()
			if !ok {
				return nil, c.errNear("an interval such as INTERVAL '10' SECOND")
			}
			ivs = append(ivs, namedInterval{argName, argAt, iv})
		default:
			return nil, c.errNear("TABLE, DESCRIPTOR or INTERVAL")
		}
		if c.i == inner {
			break
		}
		if err := c.expectOp(","); err != nil {
			return nil, err
		}
	}
	if !hasTable {
		return nil, r.sp.ErrorAt(kindTok.pos, kindName+" needs a TABLE argument")
	}
	if !hasDesc {
		return nil, r.sp.ErrorAt(kindTok.pos, kindName+" needs a DESCRIPTOR(time column) argument")
	}
	spec := tvfArgs[kind]
	args := make([]*Interval, len(spec.names))
	next := 0
	for _, n := range ivs {
		k := next
		if n.name != "" {
			k = slices.Index(spec.names, n.name)
			if k < 0 {
				return nil, r.sp.ErrorAt(n.at, fmt.Sprintf("%s has no argument %s", kindName, n.name))
			}
		}
		if k >= len(args) {
			return nil, r.sp.ErrorAt(n.at, fmt.Sprintf("too many arguments for %s", kindName))
		}
		if args[k] != nil {
			return nil, r.sp.ErrorAt(n.at, fmt.Sprintf("%s argument %s given twice", kindName, spec.names[k]))
		}
		args[k] = &n.iv
		next = k + 1
	}
	for k, a := range args {
		if a == nil {
			if k < spec.required {
				return nil, r.sp.ErrorAt(kindTok.pos, fmt.Sprintf("%s needs a %s interval", kindName, spec.names[k]))
			}
			if slices.ContainsFunc(args[k:], func(a *Interval) bool { return a != nil }) {
				return nil, r.sp.ErrorAt(kindTok.pos, fmt.Sprintf("%s needs a %s interval", kindName, spec.names[k]))
			}
			break
		}
		tvf.Args = append(tvf.Args, *a)
	}
	return tvf, nil
}
