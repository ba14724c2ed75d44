package expr

import (
	"fmt"
	"strconv"
	"strings"
)

// CommonSubexprs finds the subexpressions worth computing once for a group
// of expressions that one operator chain evaluates over the same input, and
// rewrites the group to read them as extra input columns.
//
// all are evaluated over every input row (a filter condition, or the
// expressions of a projection with no filter); sub over a subset of those
// rows (the projection after that filter). width is the input's column
// count. It returns defs, the shared subexpressions (over the original
// input columns), and copies of all and sub in which each occurrence of
// defs[i] is replaced by a reference to column width+i. With no shared
// subexpression defs is empty and allOut, subOut are all and sub.
//
// A subexpression is shared when it is not a column or constant, is
// deterministic, occurs at least twice in all and sub together, and one
// occurrence in all is evaluated over every row anyway (so computing it
// up front adds no work): not only under a later CASE branch or COALESCE
// argument. Because every row then computes it, a subexpression that can
// fail at run time (arithmetic overflow, a numeric CAST, a math function)
// is shared only when an occurrence in all is evaluated unconditionally,
// that is not on the right of AND or OR either, whose failure would be
// retried on the rows that need it: sharing never adds an error. The
// largest shared subexpressions are chosen first; one never contains
// another's column.
func CommonSubexprs(all, sub []Expr, width int) (defs, allOut, subOut []Expr) {
	allOut, subOut = all, sub
	for {
		best := pickShared(allOut, subOut, width)
		if best == nil {
			return defs, allOut, subOut
		}
		k := cseKey(best)
		col := &colExpr{idx: width + len(defs), t: best.Type()}
		defs = append(defs, best.Clone())
		allOut = replaceAll(allOut, k, col)
		subOut = replaceAll(subOut, k, col)
	}
}

// cseUse accumulates a candidate's occurrences.
type cseUse struct {
	e      Expr
	count  int
	size   int
	eval   bool // an occurrence in all is evaluated on every row
	strict bool // ... and unconditionally (its error is not retried)
}

// pickShared returns the largest shareable subexpression of all and sub
// (the first found among equals), or nil.
func pickShared(all, sub []Expr, width int) Expr {
	uses := map[string]*cseUse{}
	var order []string
	var walk func(e Expr, inAll, eval, strict bool) int
	walk = func(e Expr, inAll, eval, strict bool) int {
		x, ok := e.(node)
		if !ok {
			return 1
		}
		size := 1
		cs := x.children()
		for i, c := range cs {
			if c == nil {
				continue
			}
			ce, cst := childEval(e, i)
			size += walk(c, inAll, eval && ce, strict && cst)
		}
		if len(cs) == 0 || IsConst(e) || !Deterministic(e) || readsBeyond(e, width) {
			return size
		}
		k := cseKey(e)
		u := uses[k]
		if u == nil {
			u = &cseUse{e: e, size: size}
			uses[k] = u
			order = append(order, k)
		}
		u.count++
		if inAll {
			u.eval = u.eval || eval
			u.strict = u.strict || strict
		}
		return size
	}
	for _, e := range all {
		walk(e, true, true, true)
	}
	for _, e := range sub {
		walk(e, false, false, false)
	}
	var best *cseUse
	for _, k := range order {
		u := uses[k]
		if u.count < 2 || !u.eval || (!u.strict && !infallible(u.e)) {
			continue
		}
		if best == nil || u.size > best.size {
			best = u
		}
	}
	if best == nil {
		return nil
	}
	return best.e
}

// childEval reports whether child i of e is evaluated over every row e is
// (eval), and whether an error it raises fails e rather than being retried
// on fewer rows (strict).
func childEval(e Expr, i int) (eval, strict bool) {
	switch x := e.(type) {
	case *logicExpr:
		if x.op == opXor || i == 0 {
			return true, true
		}
		// The right side runs on every row, but a failure is retried on
		// the rows the left side leaves undecided.
		return true, false
	case *caseExpr, *coalesceExpr:
		// Only the first condition (argument) always runs; later ones run
		// for the rows still undecided, and only when there are some.
		return i == 0, i == 0
	}
	return true, true
}

// readsBeyond reports whether e reads a column at or beyond width (one
// that CommonSubexprs added).
func readsBeyond(e Expr, width int) bool {
	for _, c := range Columns(e) {
		if c >= width {
			return true
		}
	}
	return false
}

// infallibleFns are the functions whose evaluation never returns an error.
var infallibleFns = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`UPPER UCASE LOWER LCASE LTRIM RTRIM REVERSE TRIM
		LENGTH OCTET_LENGTH CHAR_LENGTH CHARACTER_LENGTH CONCAT CONCAT_WS
		SUBSTRING SUBSTR MID LEFT RIGHT REPLACE LPAD RPAD REPEAT LOCATE POSITION
		INSTR REGEXP_EXTRACT REGEXP_REPLACE SPLIT_INDEX SUBSTRING_INDEX ASCII
		INITCAP SPACE STRCMP CHR MD5 SHA1 SHA SHA256 SHA2 TO_BASE64 FROM_BASE64 HEX`) {
		infallibleFns[n] = true
	}
}

// infallible reports whether evaluating e on a well-formed batch can never
// fail. It is conservative: arithmetic, numeric casts, math and time
// functions, and expressions of other packages count as fallible.
func infallible(e Expr) bool {
	switch x := e.(type) {
	case *colExpr, *litExpr:
		return true
	case *cmpExpr, *logicExpr, *notExpr, *isExpr, *likeExpr, *regexpExpr,
		*inExpr, *caseExpr, *coalesceExpr, *nullIfExpr:
	case *castExpr:
		if !x.to.IsString() {
			return false
		}
	case *fnExpr:
		if !infallibleFns[x.name] {
			return false
		}
	default:
		return false
	}
	for _, c := range e.(node).children() {
		if c != nil && !infallible(c) {
			return false
		}
	}
	return true
}

// cseKey identifies e structurally: two expressions with the same key
// compute the same values from the same input. Column display names are
// ignored; node kinds, result types, printed text and children count.
func cseKey(e Expr) string {
	var sb strings.Builder
	writeKey(&sb, e)
	return sb.String()
}

func writeKey(sb *strings.Builder, e Expr) {
	switch x := e.(type) {
	case *colExpr:
		sb.WriteString("$" + strconv.Itoa(x.idx) + ":" + x.t.String())
		return
	case *litExpr:
		sb.WriteString("L:" + x.d.Type.String() + ":" + x.String())
		return
	}
	fmt.Fprintf(sb, "%T:%s:", e, e.Type())
	// The printed text carries what children do not (operator, function
	// name, flags); print it without column names.
	anon, err := rewriteCols(e.Clone(), func(c *colExpr) (Expr, error) {
		cp := *c
		cp.name = ""
		return &cp, nil
	})
	if err == nil {
		sb.WriteString(anon.String())
	}
	sb.WriteByte('(')
	if x, ok := e.(node); ok {
		for _, c := range x.children() {
			if c == nil {
				sb.WriteString("nil")
			} else {
				writeKey(sb, c)
			}
			sb.WriteByte(',')
		}
	}
	sb.WriteByte(')')
}

// replaceAll returns copies of es with every subexpression of key k
// replaced by a copy of col.
func replaceAll(es []Expr, k string, col *colExpr) []Expr {
	out := make([]Expr, len(es))
	for i, e := range es {
		out[i] = replaceKey(e.Clone(), k, col)
	}
	return out
}

// replaceKey rewrites e (which the caller owns) in place.
func replaceKey(e Expr, k string, col *colExpr) Expr {
	x, ok := e.(node)
	if !ok {
		return e
	}
	if len(x.children()) > 0 && cseKey(e) == k {
		cp := *col
		return &cp
	}
	cs := x.children()
	for i, c := range cs {
		if c != nil {
			cs[i] = replaceKey(c, k, col)
		}
	}
	return e
}
