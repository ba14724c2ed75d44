package sqltests

// The random schema, data and query generator of TestDifferential
// (differential_test.go). Every query is built twice, as Sluice's text and
// as PostgreSQL's: they are the same SQL except where the dialects differ on
// purpose (AVG, which Sluice gives with MySQL's 4 decimals and PostgreSQL
// rounds to 4 here; table DDL; upserts).

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// dclass is the type class of a generated expression.
type dclass uint8

const (
	dInt dclass = iota
	dDec
	dStr
	dBool
)

// dexpr is one generated expression in both dialects.
type dexpr struct {
	sl, pg string
	cls    dclass
}

func same(cls dclass, s string) dexpr { return dexpr{sl: s, pg: s, cls: cls} }

// mk formats a template whose %s verbs take args, in both dialects.
func mk(cls dclass, format string, args ...dexpr) dexpr {
	sl := make([]any, len(args))
	pg := make([]any, len(args))
	for i, a := range args {
		sl[i], pg[i] = a.sl, a.pg
	}
	return dexpr{sl: fmt.Sprintf(format, sl...), pg: fmt.Sprintf(format, pg...), cls: cls}
}

// diffFeatures selects the query shapes the generator makes.
type diffFeatures struct {
	agg, join, outer, full, distinct, union, subquery, derived, order, mv bool
}

func parseDiffFeatures(s string) (diffFeatures, error) {
	var f diffFeatures
	for _, w := range strings.Split(s, ",") {
		switch strings.TrimSpace(w) {
		case "", "basic":
		case "all":
			f = diffFeatures{agg: true, join: true, outer: true, full: true, distinct: true, union: true, subquery: true,
				derived: true, order: true, mv: true}
		case "agg":
			f.agg = true
		case "join":
			f.join = true
		case "outer":
			f.outer = true
		case "full":
			f.full = true
		case "distinct":
			f.distinct = true
		case "union":
			f.union = true
		case "subquery":
			f.subquery = true
		case "derived":
			f.derived = true
		case "order":
			f.order = true
		case "mv":
			f.mv = true
		default:
			return f, fmt.Errorf("unknown feature %q (basic, agg, join, outer, full, distinct, union, subquery, derived, order, mv, all)", w)
		}
	}
	return f, nil
}

// dcol is a column of a generated table.
type dcol struct {
	name, typ string
	cls       dclass
	nullPct   int
	gen       func(r *rand.Rand) string
}

// dtable is a generated table: id INT (the primary key), the join keys k
// and j (small domains) and a random set of value columns.
type dtable struct {
	name   string
	cols   []dcol
	nextID int
}

var diffWords = []string{"", "a", "ab", "abc", "b", "B", "ba", "x y", "zz"}

func intIn(lo, hi int) func(r *rand.Rand) string {
	return func(r *rand.Rand) string { return fmt.Sprint(lo + r.IntN(hi-lo+1)) }
}

func genDecimal(r *rand.Rand) string {
	cents := r.IntN(150001) - 50000 // -500.00 .. 1000.00
	if r.IntN(4) == 0 {
		cents -= cents % 100 // whole numbers, to make ties and duplicates
	}
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

func genWord(r *rand.Rand) string {
	return "'" + diffWords[r.IntN(len(diffWords))] + "'"
}

// genTables makes 2 or 3 tables.
func genTables(r *rand.Rand) []*dtable {
	n := 2 + r.IntN(2)
	var out []*dtable
	for i := 0; i < n; i++ {
		t := &dtable{name: fmt.Sprintf("t%d", i)}
		pct := func() int { return []int{0, 10, 20, 35}[r.IntN(4)] }
		t.cols = append(t.cols,
			dcol{name: "id", typ: "INT", cls: dInt},
			dcol{name: "k", typ: "INT", cls: dInt, nullPct: pct(), gen: intIn(0, 4)},
			dcol{name: "j", typ: "INT", cls: dInt, nullPct: pct(), gen: intIn(0, 3)},
		)
		pool := []dcol{
			{name: "n", typ: "INT", cls: dInt, gen: intIn(-5, 30)},
			{name: "m", typ: "INT", cls: dInt, gen: intIn(-100, 100)},
			{name: "bg", typ: "BIGINT", cls: dInt, gen: intIn(-1000000, 1000000)},
			{name: "amt", typ: "DECIMAL(10, 2)", cls: dDec, gen: genDecimal},
			{name: "s", typ: "VARCHAR(8)", cls: dStr, gen: genWord},
			{name: "s2", typ: "VARCHAR(8)", cls: dStr, gen: genWord},
		}
		r.Shuffle(len(pool), func(a, b int) { pool[a], pool[b] = pool[b], pool[a] })
		// Always one number and one string column, then 1-3 of the rest.
		var picked []dcol
		haveNum, haveStr := false, false
		for _, c := range pool {
			if !haveNum && c.cls != dStr {
				picked, haveNum = append(picked, c), true
			} else if !haveStr && c.cls == dStr {
				picked, haveStr = append(picked, c), true
			}
		}
		extra := 1 + r.IntN(3)
		for _, c := range pool {
			if extra == 0 {
				break
			}
			dup := false
			for _, p := range picked {
				dup = dup || p.name == c.name
			}
			if !dup {
				picked, extra = append(picked, c), extra-1
			}
		}
		for _, c := range picked {
			c.nullPct = pct()
			t.cols = append(t.cols, c)
		}
		t.nextID = 1
		out = append(out, t)
	}
	return out
}

// ddl returns the CREATE TABLE statement of t in both dialects.
func (t *dtable) ddl() (sl, pg string) {
	var sc, pc []string
	for _, c := range t.cols {
		sc = append(sc, c.name+" "+c.typ)
		p := c.name + " " + c.typ
		if c.cls == dStr {
			p += ` COLLATE "C"` // bytewise, as Sluice compares
		}
		pc = append(pc, p)
	}
	sl = fmt.Sprintf("CREATE TABLE %s (%s, PRIMARY KEY (id) NOT ENFORCED)", t.name, strings.Join(sc, ", "))
	pg = fmt.Sprintf("CREATE TABLE %s (%s, PRIMARY KEY (id))", t.name, strings.Join(pc, ", "))
	return sl, pg
}

func (t *dtable) row(r *rand.Rand, id int) string {
	vals := []string{fmt.Sprint(id)}
	for _, c := range t.cols[1:] {
		if c.nullPct > 0 && r.IntN(100) < c.nullPct {
			vals = append(vals, "NULL")
		} else {
			vals = append(vals, c.gen(r))
		}
	}
	return "(" + strings.Join(vals, ", ") + ")"
}

// inserts returns INSERT statements of n new rows (nil when n = 0).
func (t *dtable) inserts(r *rand.Rand, n int) (sl, pg string) {
	if n == 0 {
		return "", ""
	}
	var rows []string
	for i := 0; i < n; i++ {
		rows = append(rows, t.row(r, t.nextID))
		t.nextID++
	}
	sl = fmt.Sprintf("INSERT INTO %s VALUES %s", t.name, strings.Join(rows, ", "))
	return sl, sl
}

// upserts returns an INSERT changing some existing rows (by id) and adding
// a few new ones; PostgreSQL's form says ON CONFLICT DO UPDATE.
func (t *dtable) upserts(r *rand.Rand) (sl, pg string) {
	seen := map[int]bool{}
	var rows []string
	nUpd := 1 + r.IntN(6)
	for i := 0; i < nUpd && t.nextID > 1; i++ {
		id := 1 + r.IntN(t.nextID-1)
		if !seen[id] {
			seen[id] = true
			rows = append(rows, t.row(r, id))
		}
	}
	for i := r.IntN(4); i > 0; i-- {
		rows = append(rows, t.row(r, t.nextID))
		t.nextID++
	}
	if len(rows) == 0 {
		return "", ""
	}
	sl = fmt.Sprintf("INSERT INTO %s VALUES %s", t.name, strings.Join(rows, ", "))
	var sets []string
	for _, c := range t.cols[1:] {
		sets = append(sets, fmt.Sprintf("%s = EXCLUDED.%s", c.name, c.name))
	}
	pg = sl + " ON CONFLICT (id) DO UPDATE SET " + strings.Join(sets, ", ")
	return sl, pg
}

// diffGen generates queries over tables.
type diffGen struct {
	r      *rand.Rand
	tables []*dtable
	feat   diffFeatures
}

// scopeCol is a column visible to a query, qualified by its alias.
type scopeCol struct {
	e    dexpr
	name string // bare column name (k, j, n, ...)
}

func (g *diffGen) scope(t *dtable, alias string) []scopeCol {
	var s []scopeCol
	for _, c := range t.cols {
		s = append(s, scopeCol{e: same(c.cls, alias+"."+c.name), name: c.name})
	}
	return s
}

func (g *diffGen) chance(p float64) bool { return g.r.Float64() < p }

func (g *diffGen) oneOf(weights ...float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := g.r.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func (g *diffGen) colOf(scope []scopeCol, cls dclass) (dexpr, bool) {
	var cands []dexpr
	for _, c := range scope {
		if c.e.cls == cls {
			cands = append(cands, c.e)
		}
	}
	if len(cands) == 0 {
		return dexpr{}, false
	}
	return cands[g.r.IntN(len(cands))], true
}

// keyCol picks a join key column (k or j) of scope.
func (g *diffGen) keyCol(scope []scopeCol, name string) dexpr {
	for _, c := range scope {
		if c.name == name {
			return c.e
		}
	}
	panic("no key column " + name)
}

func (g *diffGen) intLit() dexpr {
	v := g.r.IntN(36) - 5
	if v < 0 {
		return same(dInt, fmt.Sprintf("(%d)", v))
	}
	return same(dInt, fmt.Sprint(v))
}

func (g *diffGen) decLit() dexpr {
	// Mostly in the range of small column values, so comparisons with
	// columns go both ways.
	cents := g.r.IntN(6001) - 1000 // -10.00 .. 50.00
	switch g.r.IntN(4) {
	case 0:
		cents -= cents % 100
	case 1:
		cents -= cents % 50
	}
	if g.r.IntN(5) == 0 {
		cents *= 20
	}
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	v := fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
	if strings.HasPrefix(v, "-") {
		return same(dDec, "("+v+")")
	}
	return same(dDec, v)
}

func (g *diffGen) strLit() dexpr { return same(dStr, genWord(g.r)) }

func (g *diffGen) lit(cls dclass) dexpr {
	switch cls {
	case dInt:
		return g.intLit()
	case dDec:
		return g.decLit()
	case dStr:
		return g.strLit()
	}
	if g.chance(0.5) {
		return same(dBool, "TRUE")
	}
	return same(dBool, "FALSE")
}

// scalar makes an expression of class cls over scope.
func (g *diffGen) scalar(scope []scopeCol, cls dclass, depth int) dexpr {
	if cls == dBool {
		return g.pred(scope, depth)
	}
	col, ok := g.colOf(scope, cls)
	if depth <= 0 || g.chance(0.45) {
		if ok && g.chance(0.85) {
			return col
		}
		if !ok && cls == dDec && g.chance(0.7) {
			// No DECIMAL column: a number column mixed with a decimal literal.
			return mk(dDec, "(%s + %s)", g.scalar(scope, dInt, 0), g.decLit())
		}
		return g.lit(cls)
	}
	sub := func(c dclass) dexpr { return g.scalar(scope, c, depth-1) }
	switch cls {
	case dInt:
		switch g.oneOf(2, 2, 1.5, 0.5, 0.7, 0.7, 0.7) {
		case 0:
			return mk(dInt, "(%s + %s)", sub(dInt), sub(dInt))
		case 1:
			return mk(dInt, "(%s - %s)", sub(dInt), sub(dInt))
		case 2:
			return mk(dInt, "(%s * %s)", sub(dInt), g.intLit())
		case 3:
			return mk(dInt, "ABS(%s)", sub(dInt))
		case 4:
			return mk(dInt, "(%s %% %s)", sub(dInt), same(dInt, fmt.Sprint(2+g.r.IntN(5))))
		case 5:
			return mk(dInt, "COALESCE(%s, %s)", sub(dInt), g.intLit())
		default:
			return mk(dInt, "CASE WHEN %s THEN %s ELSE %s END", g.pred(scope, depth-1), sub(dInt), sub(dInt))
		}
	case dDec:
		switch g.oneOf(2, 1.5, 1, 0.5, 0.7, 0.7) {
		case 0:
			return mk(dDec, "(%s + %s)", sub(dDec), sub(g.numClass()))
		case 1:
			return mk(dDec, "(%s - %s)", sub(g.numClass()), sub(dDec))
		case 2:
			return mk(dDec, "(%s * %s)", sub(dDec), g.intLit())
		case 3:
			return mk(dDec, "ABS(%s)", sub(dDec))
		case 4:
			return mk(dDec, "COALESCE(%s, %s)", sub(dDec), g.decLit())
		default:
			return mk(dDec, "CASE WHEN %s THEN %s ELSE %s END", g.pred(scope, depth-1), sub(dDec), sub(dDec))
		}
	default: // dStr
		switch g.oneOf(1, 1, 1, 0.7) {
		case 0:
			return mk(dStr, "UPPER(%s)", sub(dStr))
		case 1:
			return mk(dStr, "LOWER(%s)", sub(dStr))
		case 2:
			return mk(dStr, "COALESCE(%s, %s)", sub(dStr), g.strLit())
		default:
			return mk(dStr, "CASE WHEN %s THEN %s ELSE %s END", g.pred(scope, depth-1), sub(dStr), sub(dStr))
		}
	}
}

func (g *diffGen) numClass() dclass {
	if g.chance(0.5) {
		return dInt
	}
	return dDec
}

func (g *diffGen) anyValueClass() dclass {
	return []dclass{dInt, dInt, dDec, dStr, dStr}[g.r.IntN(5)]
}

var diffCmpOps = []string{"=", "<>", "<", "<=", ">", ">="}

// pred makes a boolean condition over scope.
func (g *diffGen) pred(scope []scopeCol, depth int) dexpr {
	k := g.oneOf(4, 1.2, 1, 1, 0.6, 0.4, 1.3, 1.3, 0.5)
	if depth <= 0 && k >= 6 {
		k = 0
	}
	switch k {
	case 0: // comparison
		cls := g.anyValueClass()
		l := g.scalar(scope, cls, depth-1)
		var r dexpr
		switch {
		case cls != dStr && g.chance(0.5):
			r = g.lit(g.numClass())
		case g.chance(0.5):
			r = g.lit(cls)
		default:
			if cls != dStr {
				cls = g.numClass()
			}
			r = g.scalar(scope, cls, depth-1)
		}
		return mk(dBool, "%s "+diffCmpOps[g.r.IntN(len(diffCmpOps))]+" %s", l, r)
	case 1: // IS [NOT] NULL
		c := scope[g.r.IntN(len(scope))].e
		if g.chance(0.5) {
			return mk(dBool, "%s IS NULL", c)
		}
		return mk(dBool, "%s IS NOT NULL", c)
	case 2: // BETWEEN
		cls := g.numClass()
		lo := g.lit(cls)
		hi := mk(cls, "%s", lo)
		if g.chance(0.85) { // mostly a non-empty range
			hi = mk(cls, "(%s + "+fmt.Sprint(g.r.IntN(20))+")", lo)
			if g.chance(0.5) {
				hi = g.lit(cls)
			}
		}
		not := ""
		if g.chance(0.25) {
			not = "NOT "
		}
		return mk(dBool, "%s "+not+"BETWEEN %s AND %s", g.scalar(scope, cls, depth-1), lo, hi)
	case 3: // IN list
		cls := dInt
		if g.chance(0.4) {
			cls = dStr
		}
		var items []string
		for i := 0; i < 1+g.r.IntN(4); i++ {
			items = append(items, g.lit(cls).sl)
		}
		if g.chance(0.15) {
			items = append(items, "NULL")
		}
		not := ""
		if g.chance(0.3) {
			not = "NOT "
		}
		list := strings.Join(items, ", ")
		return mk(dBool, "%s "+not+"IN ("+strings.ReplaceAll(list, "%", "%%")+")", g.scalar(scope, cls, depth-1))
	case 4: // LIKE
		pat := []string{"'a%'", "'%b'", "'_'", "'%'", "'x%'", "'%a%'"}[g.r.IntN(6)]
		return mk(dBool, "%s LIKE "+strings.ReplaceAll(pat, "%", "%%"), g.scalar(scope, dStr, depth-1))
	case 5: // boolean literal or comparison of two columns
		a, b := scope[g.r.IntN(len(scope))].e, scope[g.r.IntN(len(scope))].e
		if (a.cls == dStr) == (b.cls == dStr) {
			return mk(dBool, "%s "+diffCmpOps[g.r.IntN(len(diffCmpOps))]+" %s", a, b)
		}
		return g.lit(dBool)
	case 6:
		return mk(dBool, "(%s AND %s)", g.pred(scope, depth-1), g.pred(scope, depth-1))
	case 7:
		return mk(dBool, "(%s OR %s)", g.pred(scope, depth-1), g.pred(scope, depth-1))
	default:
		return mk(dBool, "NOT (%s)", g.pred(scope, depth-1))
	}
}

// agg makes an aggregate call over scope.
func (g *diffGen) agg(scope []scopeCol) dexpr {
	switch g.oneOf(1.2, 1.2, 0.8, 2, 1.5, 1.5, 0.8) {
	case 0:
		return same(dInt, "COUNT(*)")
	case 1:
		return mk(dInt, "COUNT(%s)", g.scalar(scope, g.anyValueClass(), 1))
	case 2:
		return mk(dInt, "COUNT(DISTINCT %s)", g.scalar(scope, g.anyValueClass(), 0))
	case 3:
		cls := g.numClass()
		return mk(cls, "SUM(%s)", g.scalar(scope, cls, 1))
	case 4:
		cls := g.anyValueClass()
		return mk(cls, "MIN(%s)", g.scalar(scope, cls, 1))
	case 5:
		cls := g.anyValueClass()
		return mk(cls, "MAX(%s)", g.scalar(scope, cls, 1))
	default:
		// AVG of integers: Sluice gives DECIMAL with 4 decimals (rounded, as
		// MySQL); PostgreSQL's exact quotient rounded to 4 is the same.
		arg := g.scalar(scope, dInt, 1)
		return dexpr{sl: "AVG(" + arg.sl + ")", pg: "ROUND(AVG(" + arg.pg + "), 4)", cls: dDec}
	}
}

// aggPred makes a HAVING condition.
func (g *diffGen) aggPred(scope []scopeCol, depth int) dexpr {
	if depth > 0 && g.chance(0.3) {
		op := " AND "
		if g.chance(0.5) {
			op = " OR "
		}
		return mk(dBool, "(%s"+op+"%s)", g.aggPred(scope, depth-1), g.aggPred(scope, depth-1))
	}
	a := g.agg(scope)
	if g.chance(0.15) {
		return mk(dBool, "%s IS NOT NULL", a)
	}
	var r dexpr
	switch a.cls {
	case dStr:
		r = g.strLit()
	case dInt:
		if strings.HasPrefix(a.sl, "COUNT") {
			r = same(dInt, fmt.Sprint(g.r.IntN(4)))
		} else {
			r = g.lit(g.numClass())
		}
	default:
		r = g.lit(g.numClass())
	}
	return mk(dBool, "%s "+diffCmpOps[g.r.IntN(len(diffCmpOps))]+" %s", a, r)
}

// diffQuery is one generated query.
type diffQuery struct {
	kind   string
	sl, pg string
	// cols are the classes of the result columns c0, c1, ...
	cols []dclass
	// ordered: the query ends in ORDER BY over all its columns (and maybe
	// LIMIT), so the rows' order is compared too.
	ordered bool
}

func classesOf(items []dexpr) []dclass {
	var cs []dclass
	for _, e := range items {
		cs = append(cs, e.cls)
	}
	return cs
}

func selectList(items []dexpr) (sl, pg string) {
	var s, p []string
	for i, e := range items {
		s = append(s, fmt.Sprintf("%s AS c%d", e.sl, i))
		p = append(p, fmt.Sprintf("%s AS c%d", e.pg, i))
	}
	return strings.Join(s, ", "), strings.Join(p, ", ")
}

func (g *diffGen) table() *dtable { return g.tables[g.r.IntN(len(g.tables))] }

// from is a FROM clause with its scope.
type from struct {
	sl, pg string
	scope  []scopeCol
	where  []dexpr // conditions a comma join adds to WHERE
	key    dexpr   // the grouping key used when a random one will not do
}

func (g *diffGen) single() from {
	t := g.table()
	s := g.scope(t, "x")
	return from{sl: t.name + " AS x", pg: t.name + " AS x", scope: s, key: s[1].e}
}

// joined makes a join of two or three tables.
func (g *diffGen) joined() from {
	a, b := g.table(), g.table()
	sa, sb := g.scope(a, "x"), g.scope(b, "y")
	scope := append(append([]scopeCol{}, sa...), sb...)
	key := func() string { return []string{"k", "k", "j"}[g.r.IntN(3)] }
	kinds := []string{"JOIN", "INNER JOIN", "LEFT JOIN", "LEFT OUTER JOIN", ","}
	w := []float64{2, 1, 2, 0.5, 0.8}
	if g.feat.outer {
		kinds = append(kinds, "RIGHT JOIN", "RIGHT OUTER JOIN")
		w = append(w, 0.6, 0.3)
	}
	if g.feat.full {
		kinds = append(kinds, "FULL JOIN", "FULL OUTER JOIN")
		w = append(w, 0.4, 0.4)
	}
	kind := kinds[g.oneOf(w...)]
	on := mk(dBool, "%s = %s", g.keyCol(sa, key()), g.keyCol(sb, key()))
	if g.chance(0.35) {
		on = mk(dBool, "%s AND %s", on, g.pred(scope, 1))
	}
	f := from{scope: scope, key: sa[1].e}
	if kind == "," {
		f.sl = a.name + " AS x, " + b.name + " AS y"
		f.pg = f.sl
		f.where = append(f.where, on)
	} else {
		f.sl = fmt.Sprintf("%s AS x %s %s AS y ON %s", a.name, kind, b.name, on.sl)
		f.pg = fmt.Sprintf("%s AS x %s %s AS y ON %s", a.name, kind, b.name, on.pg)
	}
	if kind != "," && g.chance(0.25) {
		c := g.table()
		sc := g.scope(c, "z")
		left := sa
		if g.chance(0.5) {
			left = sb
		}
		scope = append(scope, sc...)
		kind3 := []string{"JOIN", "LEFT JOIN"}[g.r.IntN(2)]
		on3 := mk(dBool, "%s = %s", g.keyCol(sc, key()), g.keyCol(left, key()))
		if g.chance(0.3) {
			on3 = mk(dBool, "%s AND %s", on3, g.pred(scope, 0))
		}
		f.sl += fmt.Sprintf(" %s %s AS z ON %s", kind3, c.name, on3.sl)
		f.pg += fmt.Sprintf(" %s %s AS z ON %s", kind3, c.name, on3.pg)
		f.scope = scope
	}
	return f
}

func whereClause(conds []dexpr) (sl, pg string) {
	if len(conds) == 0 {
		return "", ""
	}
	var s, p []string
	for _, c := range conds {
		s = append(s, c.sl)
		p = append(p, c.pg)
	}
	return " WHERE " + strings.Join(s, " AND "), " WHERE " + strings.Join(p, " AND ")
}

// query makes one random query of the enabled shapes.
func (g *diffGen) query() diffQuery {
	type shape struct {
		name string
		w    float64
		on   bool
	}
	shapes := []shape{
		{"select", 3, true},
		{"distinct", 1, g.feat.distinct},
		{"group", 3, g.feat.agg},
		{"global", 1, g.feat.agg},
		{"join", 2.5, g.feat.join},
		{"join_group", 2, g.feat.join && g.feat.agg},
		{"union", 0.8, g.feat.union},
		{"subquery", 0.8, g.feat.subquery},
		{"derived", 1.5, g.feat.derived && g.feat.agg},
	}
	var ws []float64
	for _, s := range shapes {
		if s.on {
			ws = append(ws, s.w)
		} else {
			ws = append(ws, 0)
		}
	}
	var q diffQuery
	switch name := shapes[g.oneOf(ws...)].name; name {
	case "select", "distinct":
		q = g.selectQuery(name, g.single(), name == "distinct")
	case "group", "global":
		q = g.groupQuery(name, g.single(), name == "global")
	case "join":
		q = g.selectQuery(name, g.joined(), g.feat.distinct && g.chance(0.2))
	case "join_group":
		q = g.groupQuery(name, g.joined(), g.chance(0.15))
	case "union":
		q = g.unionQuery()
	case "derived":
		q = g.derivedQuery()
	default:
		q = g.subqueryQuery()
	}
	if g.feat.order && g.chance(0.2) {
		g.orderBy(&q)
	}
	return q
}

// orderBy appends ORDER BY over every column of q, each ascending or
// descending, and often LIMIT / OFFSET. NULLs sort first ascending and last
// descending in Sluice (as MySQL); PostgreSQL is told so.
func (g *diffGen) orderBy(q *diffQuery) {
	var sl, pg []string
	perm := g.r.Perm(len(q.cols))
	for _, i := range perm {
		if g.chance(0.5) {
			sl = append(sl, fmt.Sprintf("c%d", i))
			pg = append(pg, fmt.Sprintf("c%d NULLS FIRST", i))
		} else {
			sl = append(sl, fmt.Sprintf("c%d DESC", i))
			pg = append(pg, fmt.Sprintf("c%d DESC NULLS LAST", i))
		}
	}
	q.sl += " ORDER BY " + strings.Join(sl, ", ")
	q.pg += " ORDER BY " + strings.Join(pg, ", ")
	if g.chance(0.7) {
		lim := fmt.Sprintf(" LIMIT %d", 1+g.r.IntN(6))
		if g.chance(0.3) {
			lim += fmt.Sprintf(" OFFSET %d", g.r.IntN(4))
		}
		q.sl += lim
		q.pg += lim
	}
	q.ordered = true
	q.kind += "_ordered"
}

// derivedQuery reads a derived table made by a grouped, DISTINCT, UNION or
// plain query: aggregated again, or joined with a table on one of its
// integer columns.
func (g *diffGen) derivedQuery() diffQuery {
	var inner diffQuery
	switch g.oneOf(3, 1, 1, 1) {
	case 0:
		inner = g.groupQuery("group", g.single(), false)
	case 1:
		inner = g.selectQuery("distinct", g.single(), true)
	case 2:
		inner = g.unionQuery()
	default:
		inner = g.selectQuery("select", g.single(), false)
	}
	var scope []scopeCol
	intCol := -1
	for i, c := range inner.cols {
		name := fmt.Sprintf("c%d", i)
		scope = append(scope, scopeCol{e: same(c, "d."+name), name: name})
		if c == dInt && intCol < 0 {
			intCol = i
		}
	}
	f := from{sl: "(" + inner.sl + ") AS d", pg: "(" + inner.pg + ") AS d", scope: scope, key: scope[0].e}
	if intCol >= 0 && g.chance(0.5) {
		t := g.table()
		ts := g.scope(t, "y")
		kind := []string{"JOIN", "LEFT JOIN"}[g.r.IntN(2)]
		on := mk(dBool, "%s = %s", scope[intCol].e, g.keyCol(ts, []string{"k", "j"}[g.r.IntN(2)]))
		f.sl += fmt.Sprintf(" %s %s AS y ON %s", kind, t.name, on.sl)
		f.pg += fmt.Sprintf(" %s %s AS y ON %s", kind, t.name, on.pg)
		f.scope = append(f.scope, ts...)
		var q diffQuery
		if g.chance(0.5) {
			q = g.selectQuery("derived_join", f, false)
		} else {
			q = g.groupQuery("derived_join_group", f, g.chance(0.2))
		}
		return q
	}
	// Aggregate the derived table again.
	return g.groupQuery("derived_group", f, g.chance(0.3))
}

func (g *diffGen) selectQuery(kind string, f from, distinct bool) diffQuery {
	var items []dexpr
	n := 1 + g.r.IntN(4)
	if distinct {
		n = 1 + g.r.IntN(2)
	}
	for i := 0; i < n; i++ {
		cls := []dclass{dInt, dInt, dDec, dStr, dStr, dBool}[g.r.IntN(6)]
		depth := g.r.IntN(3)
		if distinct {
			depth = g.r.IntN(2)
		}
		items = append(items, g.scalar(f.scope, cls, depth))
	}
	conds := append([]dexpr{}, f.where...)
	if g.chance(0.7) {
		conds = append(conds, g.pred(f.scope, 2))
	}
	sl, pg := selectList(items)
	ws, wp := whereClause(conds)
	d := ""
	if distinct {
		d = "DISTINCT "
	}
	return diffQuery{kind: kind, cols: classesOf(items),
		sl: "SELECT " + d + sl + " FROM " + f.sl + ws,
		pg: "SELECT " + d + pg + " FROM " + f.pg + wp}
}

func (g *diffGen) groupQuery(kind string, f from, global bool) diffQuery {
	var keys []dexpr
	if !global {
		for i := 0; i < 1+g.r.IntN(2); i++ {
			switch g.oneOf(4, 1, 1) {
			case 0: // a column, preferring small domains
				c := f.scope[g.r.IntN(len(f.scope))]
				if c.name == "id" || c.name == "bg" || c.name == "amt" {
					keys = append(keys, f.key)
				} else {
					keys = append(keys, c.e)
				}
			case 1:
				keys = append(keys, g.scalar(f.scope, g.anyValueClass(), 1))
			default:
				keys = append(keys, g.pred(f.scope, 0))
			}
			// A key must read a column: PostgreSQL takes GROUP BY 2 for a
			// position and refuses other constants.
			if k := keys[len(keys)-1]; !refsColumn(k) {
				keys[len(keys)-1] = f.key
			}
		}
	}
	items := append([]dexpr{}, keys...)
	for i := 0; i < 1+g.r.IntN(3); i++ {
		items = append(items, g.agg(f.scope))
	}
	conds := append([]dexpr{}, f.where...)
	if g.chance(0.5) {
		conds = append(conds, g.pred(f.scope, 1))
	}
	sl, pg := selectList(items)
	ws, wp := whereClause(conds)
	q := diffQuery{kind: kind, cols: classesOf(items),
		sl: "SELECT " + sl + " FROM " + f.sl + ws,
		pg: "SELECT " + pg + " FROM " + f.pg + wp}
	if len(keys) > 0 {
		var ks, kp []string
		for _, k := range keys {
			ks, kp = append(ks, k.sl), append(kp, k.pg)
		}
		q.sl += " GROUP BY " + strings.Join(ks, ", ")
		q.pg += " GROUP BY " + strings.Join(kp, ", ")
	}
	if g.chance(0.35) {
		h := g.aggPred(f.scope, 1)
		q.sl += " HAVING " + h.sl
		q.pg += " HAVING " + h.pg
	}
	return q
}

func (g *diffGen) unionQuery() diffQuery {
	n := 1 + g.r.IntN(2)
	var classes []dclass
	for i := 0; i < n; i++ {
		classes = append(classes, g.anyValueClass())
	}
	var sls, pgs []string
	for b := 0; b < 2+g.r.IntN(2); b++ {
		f := g.single()
		var items []dexpr
		for _, c := range classes {
			items = append(items, g.scalar(f.scope, c, g.r.IntN(2)))
		}
		sl, pg := selectList(items)
		var conds []dexpr
		if g.chance(0.6) {
			conds = append(conds, g.pred(f.scope, 1))
		}
		ws, wp := whereClause(conds)
		sls = append(sls, "SELECT "+sl+" FROM "+f.sl+ws)
		pgs = append(pgs, "SELECT "+pg+" FROM "+f.pg+wp)
	}
	return diffQuery{kind: "union", cols: classes, sl: strings.Join(sls, " UNION "), pg: strings.Join(pgs, " UNION ")}
}

func (g *diffGen) subqueryQuery() diffQuery {
	f := g.single()
	inner := g.table()
	is := g.scope(inner, "y")
	var cond dexpr
	var innerWhere dexpr
	hasWhere := g.chance(0.6)
	if hasWhere {
		innerWhere = g.pred(is, 1)
	}
	iw := func(e dexpr, pg bool) string {
		if !hasWhere {
			return ""
		}
		if pg {
			return " WHERE " + e.pg
		}
		return " WHERE " + e.sl
	}
	switch g.oneOf(3, 1, 1.5) {
	case 0: // [NOT] IN (SELECT key ...)
		key := []string{"k", "j"}[g.r.IntN(2)]
		not := ""
		if g.chance(0.35) {
			not = "NOT "
		}
		outer := g.keyCol(f.scope, []string{"k", "j"}[g.r.IntN(2)])
		cond = dexpr{cls: dBool,
			sl: fmt.Sprintf("%s %sIN (SELECT y.%s FROM %s AS y%s)", outer.sl, not, key, inner.name, iw(innerWhere, false)),
			pg: fmt.Sprintf("%s %sIN (SELECT y.%s FROM %s AS y%s)", outer.pg, not, key, inner.name, iw(innerWhere, true))}
	case 1: // [NOT] EXISTS
		not := ""
		if g.chance(0.4) {
			not = "NOT "
		}
		cond = dexpr{cls: dBool,
			sl: fmt.Sprintf("%sEXISTS (SELECT 1 FROM %s AS y%s)", not, inner.name, iw(innerWhere, false)),
			pg: fmt.Sprintf("%sEXISTS (SELECT 1 FROM %s AS y%s)", not, inner.name, iw(innerWhere, true))}
	default: // comparison with a scalar subquery
		cls := g.numClass()
		a := mk(cls, []string{"MIN(%s)", "MAX(%s)", "SUM(%s)"}[g.r.IntN(3)], g.scalar(is, cls, 0))
		if g.chance(0.3) {
			a = same(dInt, "COUNT(*)")
		}
		l := g.scalar(f.scope, g.numClass(), 1)
		op := diffCmpOps[g.r.IntN(len(diffCmpOps))]
		cond = dexpr{cls: dBool,
			sl: fmt.Sprintf("%s %s (SELECT %s FROM %s AS y%s)", l.sl, op, a.sl, inner.name, iw(innerWhere, false)),
			pg: fmt.Sprintf("%s %s (SELECT %s FROM %s AS y%s)", l.pg, op, a.pg, inner.name, iw(innerWhere, true))}
	}
	conds := []dexpr{cond}
	if g.chance(0.4) {
		conds = append(conds, g.pred(f.scope, 1))
	}
	var items []dexpr
	for i := 0; i < 1+g.r.IntN(3); i++ {
		items = append(items, g.scalar(f.scope, g.anyValueClass(), 1))
	}
	sl, pg := selectList(items)
	ws, wp := whereClause(conds)
	return diffQuery{kind: "subquery", cols: classesOf(items), sl: "SELECT " + sl + " FROM " + f.sl + ws, pg: "SELECT " + pg + " FROM " + f.pg + wp}
}

// refsColumn reports whether e reads a column of a query's tables (x, y, z, d).
func refsColumn(e dexpr) bool {
	for _, q := range []string{"x.", "y.", "z.", "d."} {
		if strings.Contains(e.sl, q) {
			return true
		}
	}
	return false
}
