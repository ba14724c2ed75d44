package expr

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

// Differential tests of CASE, IN and COALESCE: random expressions over
// random batches, evaluated a batch at a time and compared with a row by
// row reference. The reference implements CASE, IN over constants,
// COALESCE and integer comparisons itself and evaluates every other
// subexpression (a leaf) on one row at a time with EvalRow, so a leaf is
// evaluated only for the rows that reach it, as SQL's row semantics say.
// Some leaves overflow (a + b with b = MaxInt64): the batch must fail
// exactly when some row reaches an overflowing leaf.

// The random batch's columns.
var diffCols = []types.Type{types.BigInt, types.BigInt, types.Double, types.String, types.Bool}

const (
	dA = iota // BIGINT in -3..3
	dB        // BIGINT: 0, ±1, 5 or, rarely, MaxInt64
	dF        // DOUBLE: -1.5, -0, 0, 1.5, 2.5, NaN
	dS        // STRING from diffStrs
	dC        // BOOLEAN
)

var diffStrs = []string{"", "a", "b", "apple", "Apple", "google", "baidu", "channel-12"}

func diffBatch(rng *rand.Rand, n int) *types.Batch {
	b := &types.Batch{}
	b.Reset(diffCols)
	row := make([]types.Datum, len(diffCols))
	for i := 0; i < n; i++ {
		row[dA] = types.IntDatum(int64(rng.Intn(7) - 3))
		bs := []int64{0, 1, -1, 5}
		row[dB] = types.IntDatum(bs[rng.Intn(len(bs))])
		if rng.Intn(150) == 0 {
			row[dB] = types.IntDatum(math.MaxInt64)
		}
		fs := []float64{-1.5, math.Copysign(0, -1), 0, 1.5, 2.5, math.NaN()}
		row[dF] = types.DoubleDatum(fs[rng.Intn(len(fs))])
		row[dS] = types.StringDatum(diffStrs[rng.Intn(len(diffStrs))])
		row[dC] = types.BoolDatum(rng.Intn(2) == 0)
		for c, t := range diffCols {
			if rng.Intn(7) == 0 {
				row[c] = types.NullDatum(t)
			}
		}
		b.AppendRow(types.Insert, row)
	}
	return b
}

// rtype is a random expression's result type.
type rtype uint8

const (
	rInt rtype = iota
	rStr
	rBool
)

type rkind uint8

const (
	kLeaf rkind = iota
	kCase
	kIn
	kCoalesce
	kCmp
)

// rexpr is a random expression: the tree the test builds and the
// reference evaluates.
type rexpr struct {
	kind rkind
	t    rtype
	// kLeaf
	text string
	leaf mk
	ref  Expr // built once for the reference
	// kCase: searched (whens) or simple (operand and vals)
	operand *rexpr
	vals    []types.Datum
	whens   []*rexpr
	thens   []*rexpr
	els     *rexpr // nil: no ELSE
	// kIn
	x    *rexpr
	list []types.Datum
	not  bool
	// kCoalesce
	args []*rexpr
	// kCmp: integer comparison of l and r
	op   string
	l, r *rexpr
}

func colA() mk { return lit(Col(dA, types.BigInt, "a")) }
func colB() mk { return lit(Col(dB, types.BigInt, "b")) }
func colF() mk { return lit(Col(dF, types.Double, "f")) }
func colS() mk { return lit(Col(dS, types.String, "s")) }
func colC() mk { return lit(Col(dC, types.Bool, "c")) }

type leafDef struct {
	text string
	e    mk
}

func intLit(k int64) mk { return lit(types.IntDatum(k)) }

var (
	intLeaves = []leafDef{
		{"a", colA()}, {"b", colB()}, {"2", intLit(2)}, {"-1", intLit(-1)},
		{"NULL", lit(types.NullDatum(types.BigInt))}, {"a + 1", C("+", colA(), intLit(1))},
		{"a + b", C("+", colA(), colB())}, {"a * 2", C("*", colA(), intLit(2))},
	}
	strLeaves = []leafDef{
		{"s", colS()}, {"'apple'", lit("apple")}, {"'zz'", lit("zz")},
		{"NULL", lit(types.NullDatum(types.String))}, {"LOWER(s)", C("LOWER", colS())},
		{"CONCAT(s, '!')", C("CONCAT", colS(), "!")},
	}
	boolLeaves = []leafDef{
		{"a = 1", C("=", colA(), intLit(1))}, {"0 = a", C("=", intLit(0), colA())},
		{"a < 0", C("<", colA(), intLit(0))}, {"2 > a", C(">", intLit(2), colA())},
		{"a <> b", C("<>", colA(), colB())}, {"a <=> 1", C("<=>", colA(), intLit(1))},
		{"a <=> b", C("<=>", colA(), colB())},
		{"s = 'apple'", C("=", colS(), "apple")}, {"'b' = s", C("=", "b", colS())},
		{"s < 'b'", C("<", colS(), "b")}, {"s >= LOWER(s)", C(">=", colS(), C("LOWER", colS()))},
		{"f = 1.5", C("=", colF(), 1.5)}, {"f > 0", C(">", colF(), 0.0)}, {"f <= a", C("<=", colF(), colA())},
		{"c", colC()}, {"TRUE", lit(true)}, {"NULL", lit(types.NullDatum(types.Bool))},
		{"a + b > 0", C(">", C("+", colA(), colB()), intLit(0))},
		{"c OR a + b > 0", C("OR", colC(), C(">", C("+", colA(), colB()), intLit(0)))},
		{"a IS NULL", C("IS NULL", colA())},
		{"a IN (b, 2)", func() (Expr, error) {
			x, _ := colA()()
			y, _ := colB()()
			return In(x, []Expr{y, Lit(types.IntDatum(2))}, false)
		}},
		{"LOWER(s) = 'apple'", C("=", C("LOWER", colS()), "apple")},
	}
)

type rgen struct {
	rng *rand.Rand
}

func (g *rgen) leaf(t rtype) *rexpr {
	defs := intLeaves
	switch t {
	case rStr:
		defs = strLeaves
	case rBool:
		defs = boolLeaves
	}
	d := defs[g.rng.Intn(len(defs))]
	return &rexpr{kind: kLeaf, t: t, text: d.text, leaf: d.e}
}

// value returns a constant of type t (int or string) for IN lists and
// simple CASE values, NULL when null is set.
func (g *rgen) value(t rtype, null bool) types.Datum {
	switch {
	case null && t == rStr:
		return types.NullDatum(types.String)
	case null:
		return types.NullDatum(types.BigInt)
	case t == rStr:
		return types.StringDatum(diffStrs[g.rng.Intn(len(diffStrs))])
	}
	return types.IntDatum(int64(g.rng.Intn(7) - 3))
}

func (g *rgen) gen(t rtype, depth int) *rexpr {
	if depth <= 0 || g.rng.Intn(3) == 0 {
		return g.leaf(t)
	}
	switch k := g.rng.Intn(10); {
	case k < 5:
		return g.genCase(t, depth)
	case k < 7 && t == rBool:
		x := g.gen(rtype(g.rng.Intn(2)), depth-1)
		e := &rexpr{kind: kIn, t: rBool, x: x, not: g.rng.Intn(3) == 0}
		for i := 1 + g.rng.Intn(5); i > 0; i-- {
			e.list = append(e.list, g.value(x.t, g.rng.Intn(6) == 0))
		}
		return e
	case k < 9 && t == rBool:
		ops := []string{"=", "<", "<>"}
		return &rexpr{kind: kCmp, t: rBool, op: ops[g.rng.Intn(len(ops))],
			l: g.gen(rInt, depth-1), r: g.gen(rInt, depth-1)}
	case k < 9:
		e := &rexpr{kind: kCoalesce, t: t}
		for i := 1 + g.rng.Intn(3); i > 0; i-- {
			e.args = append(e.args, g.gen(t, depth-1))
		}
		return e
	}
	return g.leaf(t)
}

func (g *rgen) genCase(t rtype, depth int) *rexpr {
	e := &rexpr{kind: kCase, t: t}
	nw := 1 + g.rng.Intn(5)
	if g.rng.Intn(2) == 0 {
		// Simple CASE x WHEN v ...: mostly constants that fit a lookup,
		// sometimes with a NULL value (which never matches).
		e.operand = g.gen(rtype(g.rng.Intn(2)), depth-1)
		withNull := g.rng.Intn(5) == 0
		for i := 0; i < nw; i++ {
			e.vals = append(e.vals, g.value(e.operand.t, withNull && g.rng.Intn(nw) == 0))
		}
	} else {
		for i := 0; i < nw; i++ {
			e.whens = append(e.whens, g.gen(rBool, depth-1))
		}
	}
	for i := 0; i < nw; i++ {
		e.thens = append(e.thens, g.gen(t, depth-1))
	}
	if g.rng.Intn(4) != 0 {
		e.els = g.gen(t, depth-1)
	}
	return e
}

// build constructs the expression; a simple CASE shares one operand
// instance among its conditions, as the SQL front end does.
func (e *rexpr) build() (Expr, error) {
	switch e.kind {
	case kLeaf:
		return e.leaf()
	case kCase:
		var whens []Expr
		if e.operand != nil {
			x, err := e.operand.build()
			if err != nil {
				return nil, err
			}
			for _, v := range e.vals {
				c, err := Call("=", x, Lit(v))
				if err != nil {
					return nil, err
				}
				whens = append(whens, c)
			}
		} else {
			for _, w := range e.whens {
				c, err := w.build()
				if err != nil {
					return nil, err
				}
				whens = append(whens, c)
			}
		}
		thens := make([]Expr, len(e.thens))
		for i, th := range e.thens {
			var err error
			if thens[i], err = th.build(); err != nil {
				return nil, err
			}
		}
		var els Expr
		if e.els != nil {
			var err error
			if els, err = e.els.build(); err != nil {
				return nil, err
			}
		}
		return Case(whens, thens, els)
	case kIn:
		x, err := e.x.build()
		if err != nil {
			return nil, err
		}
		list := make([]Expr, len(e.list))
		for i, d := range e.list {
			list[i] = Lit(d)
		}
		return In(x, list, e.not)
	case kCoalesce:
		args := make([]Expr, len(e.args))
		for i, a := range e.args {
			var err error
			if args[i], err = a.build(); err != nil {
				return nil, err
			}
		}
		return Coalesce(args...)
	}
	l, err := e.l.build()
	if err != nil {
		return nil, err
	}
	r, err := e.r.build()
	if err != nil {
		return nil, err
	}
	return Call(e.op, l, r)
}

func (e *rexpr) String() string {
	switch e.kind {
	case kLeaf:
		return e.text
	case kCase:
		var sb strings.Builder
		sb.WriteString("CASE")
		if e.operand != nil {
			sb.WriteString(" " + e.operand.String())
		}
		for i := range e.thens {
			if e.operand != nil {
				sb.WriteString(" WHEN " + sqlLiteral(e.vals[i]))
			} else {
				sb.WriteString(" WHEN " + e.whens[i].String())
			}
			sb.WriteString(" THEN " + e.thens[i].String())
		}
		if e.els != nil {
			sb.WriteString(" ELSE " + e.els.String())
		}
		return sb.String() + " END"
	case kIn:
		var parts []string
		for _, d := range e.list {
			parts = append(parts, sqlLiteral(d))
		}
		not := ""
		if e.not {
			not = " NOT"
		}
		return "(" + e.x.String() + not + " IN (" + strings.Join(parts, ", ") + "))"
	case kCoalesce:
		var parts []string
		for _, a := range e.args {
			parts = append(parts, a.String())
		}
		return "COALESCE(" + strings.Join(parts, ", ") + ")"
	}
	return "(" + e.l.String() + " " + e.op + " " + e.r.String() + ")"
}

// eval is the row by row reference.
func (e *rexpr) eval(row []types.Datum) (types.Datum, error) {
	null := types.Datum{Null: true}
	switch e.kind {
	case kLeaf:
		if e.ref == nil {
			x, err := e.leaf()
			if err != nil {
				return null, err
			}
			e.ref = x
		}
		return EvalRow(e.ref, row)
	case kCase:
		var x types.Datum
		if e.operand != nil {
			var err error
			if x, err = e.operand.eval(row); err != nil {
				return null, err
			}
		}
		for i := range e.thens {
			var match bool
			if e.operand != nil {
				match = !x.Null && !e.vals[i].Null && sameValue(x, e.vals[i])
			} else {
				c, err := e.whens[i].eval(row)
				if err != nil {
					return null, err
				}
				match = !c.Null && c.I != 0
			}
			if match {
				return e.thens[i].eval(row)
			}
		}
		if e.els != nil {
			return e.els.eval(row)
		}
		return null, nil
	case kIn:
		x, err := e.x.eval(row)
		if err != nil || x.Null {
			return null, err
		}
		sawNull := false
		for _, d := range e.list {
			if d.Null {
				sawNull = true
			} else if sameValue(x, d) {
				return types.BoolDatum(!e.not), nil
			}
		}
		if sawNull {
			return null, nil
		}
		return types.BoolDatum(e.not), nil
	case kCoalesce:
		for _, a := range e.args {
			v, err := a.eval(row)
			if err != nil || !v.Null {
				return v, err
			}
		}
		return null, nil
	}
	l, err := e.l.eval(row)
	if err != nil {
		return null, err
	}
	r, err := e.r.eval(row)
	if err != nil || l.Null || r.Null {
		return null, err
	}
	switch e.op {
	case "=":
		return types.BoolDatum(l.I == r.I), nil
	case "<":
		return types.BoolDatum(l.I < r.I), nil
	}
	return types.BoolDatum(l.I != r.I), nil
}

func sameValue(x, y types.Datum) bool {
	if x.Type.Class() == types.ClassStr {
		return x.S == y.S
	}
	return x.I == y.I
}

// checkAgainstReference evaluates e (built from spec) over b and compares
// every row with the reference; it returns whether the batch failed.
func checkAgainstReference(t *testing.T, spec *rexpr, e Expr, b *types.Batch) bool {
	t.Helper()
	var out types.Vector
	err := e.Eval(b, &out)
	n := b.Len()
	want := make([]types.Datum, n)
	var wantErr error
	row := make([]types.Datum, len(b.Cols))
	for r := 0; r < n && wantErr == nil; r++ {
		for c := range b.Cols {
			row[c] = b.Cols[c].Get(r)
		}
		want[r], wantErr = spec.eval(row)
	}
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%s over %d rows: error %v, reference error %v", spec, n, err, wantErr)
	}
	if err != nil {
		if !strings.Contains(err.Error(), "out of range") {
			t.Fatalf("%s: unexpected error %v", spec, err)
		}
		return true
	}
	if out.Len() != n || out.Type.Class() != e.Type().Class() {
		t.Fatalf("%s: %d values of %s for %d rows of %s", spec, out.Len(), out.Type, n, e.Type())
	}
	for r := 0; r < n; r++ {
		got, w := out.Get(r), want[r]
		if got.Null != w.Null || (!w.Null && !sameValue(got, w)) {
			t.Fatalf("%s row %d (%v): got %v, want %v", spec, r, rowString(b, r), got, w)
		}
		if got.Null && !zeroSlot(&out, r) {
			t.Fatalf("%s row %d: NULL with a nonzero value slot", spec, r)
		}
	}
	return false
}

func zeroSlot(v *types.Vector, i int) bool {
	switch v.Type.Class() {
	case types.ClassF64:
		return v.F64[i] == 0
	case types.ClassStr:
		return v.Str[i] == ""
	}
	return v.I64[i] == 0
}

func rowString(b *types.Batch, r int) string {
	parts := make([]string, len(b.Cols))
	for c := range b.Cols {
		parts[c] = b.Cols[c].Get(r).String()
	}
	return strings.Join(parts, ", ")
}

// TestCaseInCoalesceDifferential checks random CASE, IN and COALESCE trees
// (nested, with NULL conditions and values, constant and computed results,
// and overflowing branches that only some rows reach) against the row by
// row reference, over several batches per tree, through the tree itself,
// a clone and the folded form.
func TestCaseInCoalesceDifferential(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	g := &rgen{rng: rng}
	var failed, passed, lookups int
	for i := 0; i < 600; i++ {
		rt := rtype(rng.Intn(3))
		var spec *rexpr
		if i%2 == 0 {
			spec = g.genCase(rt, 3)
		} else {
			spec = g.gen(rt, 3)
		}
		e, err := spec.build()
		if err != nil {
			t.Fatalf("build %s: %v", spec, err)
		}
		f, err := Fold(e.Clone())
		if err != nil {
			t.Fatalf("fold %s: %v", spec, err)
		}
		variants := []Expr{e, e.Clone(), f}
		for k := 0; k < 4; k++ {
			// Sizes include empty and one-row batches.
			n := []int{0, 1, 7, 64, 300}[rng.Intn(5)]
			b := diffBatch(rng, n)
			for _, v := range variants {
				if checkAgainstReference(t, spec, v, b) {
					failed++
				} else {
					passed++
				}
			}
		}
		if c, ok := e.(*caseExpr); ok && c.s.lk != nil {
			lookups++
		}
	}
	// The random trees must exercise both outcomes and the lookup.
	if failed < 20 || passed < 2000 || lookups < 20 {
		t.Fatalf("weak coverage: %d failed batches, %d passed, %d lookups", failed, passed, lookups)
	}
	t.Logf("%d failed batches, %d passed, %d CASE lookups", failed, passed, lookups)
}

// TestCaseLookupFloat covers the lookup over DOUBLE constants: -0 equals
// 0, NaN matches nothing, the first of equal constants wins.
func TestCaseLookupFloat(t *testing.T) {
	f := Col(0, types.Double, "f")
	var whens, thens []Expr
	for i, k := range []float64{0, 1.5, math.Copysign(0, -1), 1.5, math.NaN()} {
		w, err := Call("=", f, Lit(types.DoubleDatum(k)))
		if err != nil {
			t.Fatal(err)
		}
		whens = append(whens, w)
		thens = append(thens, Lit(types.IntDatum(int64(i))))
	}
	e, err := Case(whens, thens, Lit(types.IntDatum(-1)))
	if err != nil {
		t.Fatal(err)
	}
	b := &types.Batch{}
	b.Reset([]types.Type{types.Double})
	for _, x := range []types.Datum{types.DoubleDatum(math.Copysign(0, -1)), types.DoubleDatum(1.5),
		types.DoubleDatum(math.NaN()), types.NullDatum(types.Double), types.DoubleDatum(2)} {
		b.AppendRow(types.Insert, []types.Datum{x})
	}
	var out types.Vector
	if err := e.Eval(b, &out); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; i < out.Len(); i++ {
		got = append(got, out.Get(i).String())
	}
	if s := strings.Join(got, "|"); s != "0|1|-1|-1|-1" {
		t.Fatalf("got %s", s)
	}
	if e.(*caseExpr).s.lk == nil {
		t.Fatal("no lookup")
	}
}

// TestConstIndexes checks the constant indexes against a plain scan, for
// small sets (a table, or for strings that cannot be spread over distinct
// slots a map) and large ones (a map).
func TestConstIndexes(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	words := []string{"", "a", "ab", "abc", "abcd", "apple", "google", "facebook", "baidu", "b", "ba"}
	probes := append([]string{"axc", "abd", "zz", "channel-1", "Apple", "appl"}, words...)
	for _, c := range []struct {
		size    int
		collide bool // add constants of one length and the same end bytes
		hashed  bool // the string index should be a map
	}{{0, false, false}, {1, false, false}, {4, false, false}, {9, false, false},
		{smallIndexCount, false, false}, {3, true, true}, {smallIndexCount + 5, false, true}} {
		var strs []string
		var ints []int64
		for i := 0; i < c.size; i++ {
			strs = append(strs, words[rng.Intn(len(words))])
			ints = append(ints, int64(rng.Intn(10)))
		}
		if c.size > smallIndexCount {
			for i := range strs {
				strs[i] = fmt.Sprintf("k%d", i) // distinct
			}
		}
		if c.collide {
			strs = append(strs, "abc", "axc")
			ints = append(ints, 11, 12)
		}
		ids := make([]int32, len(strs))
		for i := range ids {
			ids[i] = int32(i)
		}
		si, ii := newStrIndex(strs, ids), newNumIndex(ints, ids)
		if (si.m != nil) != c.hashed {
			t.Errorf("size %d: string index map %v, want %v", c.size, si.m != nil, c.hashed)
		}
		first := func(x any) int32 {
			for i := range strs {
				if strs[i] == x || ints[i] == x {
					return int32(i)
				}
			}
			return -1
		}
		for _, s := range append(probes, strs...) {
			if got, want := si.find(s), first(s); got != want {
				t.Errorf("size %d: find(%q) = %d, want %d", c.size, s, got, want)
			}
		}
		for x := int64(-1); x <= 12; x++ {
			if got, want := ii.find(x), first(x); got != want {
				t.Errorf("size %d: find(%d) = %d, want %d", c.size, x, got, want)
			}
		}
	}
}
