package parser

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluicesql/sluice/exec/types"
)

// edit replaces the statement bytes [lo, hi) by repl in the text TiDB sees.
// Most edits keep the length (repl is padded with blanks); the few that
// cannot (CAST(x AS INT) becomes CAST(x AS SIGNED)) are undone on the AST by
// an offsetMap.
type edit struct {
	lo, hi int
	repl   string
}

// filterRec is an aggregate's FILTER (WHERE cond) clause: agg is the offset
// of the aggregate function name, kw of FILTER, [lo, hi) the condition.
type filterRec struct{ agg, kw, lo, hi int }

// aliasRec is a derived table's column list, FROM (...) AS name(cols):
// open and close are the offsets of the derived table's parentheses.
type aliasRec struct {
	name        string
	cols        []string
	open, close int
	used        bool
}

// rewriter is the pre-parser of one statement: it scans the statement's
// tokens for the clauses TiDB does not accept, records what they mean and
// the edits that make the text acceptable to TiDB, then fills Extensions
// from TiDB's AST.
type rewriter struct {
	*cursor
	clean   []byte // statement text with comments blanked
	edits   []edit
	sorted  bool
	casts   map[int]types.Type // CAST/CONVERT keyword offset -> target type
	tvfs    map[string]*WindowTVF
	ivls    map[string]Interval
	filters []filterRec
	values  map[int]int // first row offset -> VALUES keyword offset
	aliases []*aliasRec
	aggs    map[int]*ast.AggregateFuncExpr
	parent  []int
}

func newRewriter(c *cursor) *rewriter {
	return &rewriter{cursor: c, clean: cleanText(c.src, c.toks)}
}

func (r *rewriter) addEdit(lo, hi int, repl string) {
	if n := hi - lo; len(repl) < n {
		repl += blank(r.src[lo+len(repl) : hi])
	}
	r.edits = append(r.edits, edit{lo, hi, repl})
	r.sorted = false
}

// Window TVF kinds by name.
var tvfKinds = map[string]WindowKind{"TUMBLE": Tumble, "HOP": Hop, "CUMULATE": Cumulate, "SESSION": Session}

// Functions taking a native INTERVAL argument in TiDB.
var intervalFuncs = map[string]bool{"DATE_ADD": true, "DATE_SUB": true, "ADDDATE": true, "SUBDATE": true}

// Words that end a derived table and therefore are no alias.
var notAlias = map[string]bool{
	"ON": true, "USING": true, "WHERE": true, "GROUP": true, "HAVING": true, "ORDER": true, "LIMIT": true,
	"UNION": true, "EXCEPT": true, "INTERSECT": true, "JOIN": true, "INNER": true, "LEFT": true, "RIGHT": true,
	"CROSS": true, "NATURAL": true, "FULL": true, "STRAIGHT_JOIN": true, "WINDOW": true, "FOR": true,
	"LATERAL": true, "PARTITION": true, "USE": true, "FORCE": true, "IGNORE": true, "AS": true, "AND": true,
	"OR": true, "IN": true, "NOT": true,
}

// maxNumberDigits bounds numeric literals: TiDB's decimal literal parser
// panics on very long ones.
const maxNumberDigits = 65

// scan records the rewrites for tokens [lo, hi).
func (r *rewriter) scan(lo, hi int) error {
	for i := lo; i < hi; i++ {
		t := r.toks[i]
		switch t.kind {
		case tkNumber:
			if countDigits(r.text(t)) > maxNumberDigits {
				return r.sp.ErrorAt(t.pos, "numeric literal too long")
			}
		case tkOp:
			if r.text(t) == ")" {
				r.aliasList(i, lo)
			}
		case tkIdent:
			next, err := r.scanWord(i, lo)
			if err != nil {
				return err
			}
			if next > i {
				i = next - 1
			}
		}
	}
	return nil
}

// scanWord handles the identifier at token i and returns the index to go on
// scanning from (i when it did not consume tokens).
func (r *rewriter) scanWord(i, lo int) (int, error) {
	switch w := strings.ToUpper(r.text(r.toks[i])); w {
	case "TABLE":
		if i > lo && r.inFrom(i-1, lo) && r.opAt(i+1, "(") && r.opAt(i+3, "(") && r.tok(i+2).kind == tkIdent {
			if kind, ok := tvfKinds[strings.ToUpper(r.text(r.tok(i+2)))]; ok {
				return r.windowTVF(i, kind)
			}
		}
	case "CAST", "CONVERT":
		if r.opAt(i+1, "(") {
			return r.cast(i, w == "CONVERT")
		}
	case "FILTER":
		if i > lo && r.opAt(i-1, ")") && r.opAt(i+1, "(") && r.kwAt(i+2, "WHERE") {
			return r.filter(i)
		}
	case "FULL":
		// TiDB has no FULL [OUTER] JOIN. It reaches TiDB as STRAIGHT_JOIN,
		// which the planner reads as a full outer join (Sluice does not
		// accept a STRAIGHT_JOIN the user writes).
		end := i + 1
		if r.kwAt(end, "OUTER") {
			end++
		}
		if r.kwAt(end, "JOIN") {
			last := r.tok(end)
			r.addEdit(r.toks[i].pos, last.pos+len(r.text(last)), "STRAIGHT_JOIN")
			return end + 1, nil
		}
	case "STRAIGHT_JOIN":
		return i, r.sp.ErrorAt(r.toks[i].pos, "STRAIGHT_JOIN is not supported; write JOIN")
	case "INTERVAL":
		return r.interval(i, lo), nil
	case "VALUES":
		r.valuesList(i, lo)
	}
	return i, nil
}

// windowTVF replaces TABLE(TUMBLE(...)) at token i by a placeholder table
// name of the same length and records the call.
func (r *rewriter) windowTVF(i int, kind WindowKind) (int, error) {
	outer, inner := r.match[i+1], r.match[i+3]
	if outer < 0 || inner < 0 || outer != inner+1 {
		return i, nil // unbalanced: leave it to TiDB's error
	}
	tvf, err := r.parseTVF(i, kind, inner)
	if err != nil {
		return 0, err
	}
	if r.tvfs == nil {
		r.tvfs = map[string]*WindowTVF{}
	}
	name := fmt.Sprintf("__tvf%d__", len(r.tvfs))
	r.tvfs[name] = tvf
	r.addEdit(r.toks[i].pos, r.toks[outer].end, name)
	return outer + 1, nil
}

// cast records the target type of CAST(x AS type) or CONVERT(x, type) at
// token i and gives TiDB a type it accepts.
func (r *rewriter) cast(i int, convert bool) (int, error) {
	close := r.match[i+1]
	if close < 0 {
		return i, nil
	}
	sep := -1
	for j := i + 2; j < close; j++ {
		if r.opAt(j, "(") && r.match[j] > 0 {
			j = r.match[j]
			continue
		}
		switch {
		case convert && r.kwAt(j, "USING"):
			return i, nil
		case convert && r.opAt(j, ","):
			sep = j
		case !convert && r.kwAt(j, "AS"):
			sep = j
		}
		if sep >= 0 && !convert {
			break
		}
	}
	if sep < 0 || sep+1 >= close {
		return i, nil // not a cast TiDB would accept either: leave it to TiDB
	}
	sub := *r.cursor
	sub.i, sub.toks = sep+1, r.toks[:close] // the type may not run past ')'
	t, err := sub.parseType()
	if err != nil {
		return 0, err
	}
	if sub.i != close {
		return 0, sub.errNear("')'")
	}
	if r.casts == nil {
		r.casts = map[int]types.Type{}
	}
	r.casts[r.toks[i].pos] = t
	lo, hi := r.toks[sep+1].pos, r.toks[close-1].end
	texts := castTypeText(t)
	repl := texts[0]
	for _, s := range texts {
		if len(s) <= hi-lo {
			repl = s
			break
		}
	}
	r.addEdit(lo, hi, repl)
	return i, nil // go on inside the operand
}

// filter blanks agg(...) FILTER (WHERE cond) at token i (FILTER) and
// records the condition for the aggregate.
func (r *rewriter) filter(i int) (int, error) {
	open := r.match[i-1]
	close := r.match[i+1]
	if open < 1 || close < 0 {
		return i, nil
	}
	fn := r.toks[open-1]
	if fn.kind != tkIdent && fn.kind != tkQIdent {
		return i, nil
	}
	if close == i+3 {
		return 0, r.sp.ErrorAt(r.toks[close].pos, nearMsg(r.src, r.toks[close].pos)+", expected a condition")
	}
	r.filters = append(r.filters, filterRec{agg: fn.pos, kw: r.toks[i].pos, lo: r.toks[i+3].pos, hi: r.toks[close-1].end})
	r.addEdit(r.toks[i].pos, r.toks[close].end, "")
	return i + 3, nil // go on inside the condition: it has its own rewrites
}

// interval handles INTERVAL at token i: a plural unit (MINUTES) or a
// compound one (MINUTE TO SECOND) is rewritten for TiDB, and an interval
// standing alone as an argument of a function that is not DATE_ADD & co
// becomes a placeholder column name recorded in ivls.
func (r *rewriter) interval(i, lo int) int {
	sub := *r.cursor
	sub.i = i
	iv, units, ok := sub.interval()
	if !ok {
		return i
	}
	last := sub.i - 1
	if r.standaloneArg(i, last, lo) {
		if r.ivls == nil {
			r.ivls = map[string]Interval{}
		}
		name := fmt.Sprintf("__ivl%d__", len(r.ivls))
		r.ivls[name] = iv
		r.addEdit(r.toks[i].pos, r.toks[last].end, name)
		return sub.i
	}
	if u := r.toks[units]; units != last || r.text(u) != iv.Unit {
		r.addEdit(u.pos, r.toks[last].end, iv.Unit)
	}
	return sub.i
}

// standaloneArg reports whether tokens [i, last] are a whole argument of a
// call to a function other than DATE_ADD & co.
func (r *rewriter) standaloneArg(i, last, lo int) bool {
	if i <= lo || !(r.opAt(i-1, "(") || r.opAt(i-1, ",")) || !(r.opAt(last+1, ",") || r.opAt(last+1, ")")) {
		return false
	}
	open := r.enclosing(i)
	if open < 1 {
		return false
	}
	fn := r.toks[open-1]
	if fn.kind == tkQIdent {
		return true
	}
	name := strings.ToUpper(r.text(fn))
	return fn.kind == tkIdent && !intervalFuncs[name] && !notAlias[name] && name != "VALUES" && name != "SELECT"
}

// enclosing returns the index of the '(' enclosing token i, or -1.
func (r *rewriter) enclosing(i int) int {
	if r.parent == nil {
		r.parent = make([]int, len(r.toks))
		var stack []int
		for k := range r.toks {
			top := -1
			if n := len(stack); n > 0 {
				top = stack[n-1]
			}
			r.parent[k] = top
			switch {
			case r.opAt(k, "("):
				stack = append(stack, k)
			case r.opAt(k, ")") && len(stack) > 0:
				stack = stack[:len(stack)-1]
				r.parent[k] = -1
				if n := len(stack); n > 0 {
					r.parent[k] = stack[n-1]
				}
			}
		}
	}
	return r.parent[i]
}

// valuesList turns a VALUES (..), (..) query at token i into SELECT (..),
// (..) for TiDB (each row a row expression); annotate turns the SELECT back
// into a VALUES statement.
func (r *rewriter) valuesList(i, lo int) {
	if i+1 >= len(r.toks) || r.kwAt(i+1, "ROW") || len(r.text(r.toks[i])) != len("SELECT") {
		return
	}
	if i > lo && !r.opAt(i-1, "(") {
		switch strings.ToUpper(r.text(r.toks[i-1])) {
		case "UNION", "ALL", "DISTINCT", "EXCEPT", "INTERSECT":
		default:
			return
		}
	}
	if r.values == nil {
		r.values = map[int]int{}
	}
	r.values[r.toks[i+1].pos] = r.toks[i].pos
	r.addEdit(r.toks[i].pos, r.toks[i].end, "SELECT")
}

// aliasList handles `(derived table) [AS] name (a, b)` at the ')' token i:
// TiDB does not accept the column list, so it is blanked and recorded.
func (r *rewriter) aliasList(i, lo int) {
	j := i + 1
	if r.kwAt(j, "AS") {
		j++
	}
	a := r.tok(j)
	if (a.kind != tkIdent && a.kind != tkQIdent) || !r.opAt(j+1, "(") {
		return
	}
	if a.kind == tkIdent && notAlias[strings.ToUpper(r.text(a))] {
		return
	}
	open := r.match[i]
	if open < lo || open < 1 || !r.inFrom(open-1, lo) {
		return
	}
	sub := *r.cursor
	sub.i = j + 1
	cols, err := sub.nameList()
	if err != nil {
		return
	}
	name := r.text(a)
	if a.kind == tkQIdent {
		name = unquote(name)
	}
	r.aliases = append(r.aliases, &aliasRec{name: strings.ToLower(name), cols: cols, open: r.toks[open].pos, close: r.toks[i].pos})
	r.addEdit(r.toks[j+1].pos, r.toks[sub.i-1].end, "")
}

// inFrom reports whether token p places a table source after it (a derived
// table or a window TVF): FROM, JOIN, LATERAL, or a ',' of a FROM list.
func (r *rewriter) inFrom(p, lo int) bool {
	switch {
	case r.kwAt(p, "FROM"), r.kwAt(p, "JOIN"), r.kwAt(p, "LATERAL"):
		return true
	case !r.opAt(p, ","):
		return false
	}
	for k := p - 1; k >= lo; k-- {
		t := r.toks[k]
		if t.kind == tkOp {
			switch r.text(t) {
			case ")":
				if r.match[k] < 0 {
					return false
				}
				k = r.match[k]
			case "(":
				return false
			}
			continue
		}
		if t.kind != tkIdent {
			continue
		}
		switch strings.ToUpper(r.text(t)) {
		case "FROM":
			return true
		case "SELECT", "WHERE", "ON", "BY", "HAVING", "SET", "VALUES", "USING":
			return false
		}
	}
	return false
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

// build returns the text TiDB parses for the statement bytes [lo, hi) and
// the map from its offsets back to statement offsets. With exprPrefix the
// text is "SELECT <expr>", the expression standing at its own offset when
// there is room before it.
func (r *rewriter) build(lo, hi int, exprPrefix bool) (string, *offsetMap) {
	if !r.sorted {
		slices.SortFunc(r.edits, func(a, b edit) int {
			return cmp.Or(cmp.Compare(a.lo, b.lo), cmp.Compare(b.hi, a.hi))
		})
		r.sorted = true
	}
	m := &offsetMap{}
	out := make([]byte, 0, hi+16)
	switch {
	case exprPrefix && lo >= len("SELECT "):
		out = append(out, "SELECT"...)
		out = append(out, r.clean[len("SELECT"):lo]...)
		blankBytes(out[len("SELECT"):])
	case exprPrefix:
		out = append(out, "SELECT "...)
		m.add(shift{newLo: 0, newHi: len(out), oldLo: 0, oldHi: lo})
	default:
		out = append(out, r.clean[:lo]...)
		blankBytes(out)
	}
	cur := lo
	for _, e := range r.edits {
		if e.lo < cur || e.hi > hi {
			continue
		}
		out = append(out, r.clean[cur:e.lo]...)
		if len(e.repl) != e.hi-e.lo {
			m.add(shift{newLo: len(out), newHi: len(out) + len(e.repl), oldLo: e.lo, oldHi: e.hi})
		}
		out = append(out, e.repl...)
		cur = e.hi
	}
	out = append(out, r.clean[cur:hi]...)
	return string(out), m
}

// tidb parses buf (built by build) with TiDB; errors point at the user's
// text.
func (r *rewriter) tidb(buf string, m *offsetMap) (ast.StmtNode, error) {
	stmt, err := tidbParse(buf)
	if err != nil {
		return nil, tidbError(err, buf, r.src, m, r.sp)
	}
	if stmt == nil {
		return nil, r.sp.ErrorAt(r.tok(0).pos, nearMsg(r.src, r.tok(0).pos))
	}
	stmt.Accept(&fieldTextVisitor{src: r.src, m: m})
	m.remap(stmt)
	return stmt, nil
}

// fieldTextVisitor gives select fields the user's text instead of the
// rewritten one (CAST(x AS STRING), not CAST(x AS CHAR  )), for column
// names derived from it. It runs before offsets are remapped.
type fieldTextVisitor struct {
	src string
	m   *offsetMap
}

func (v *fieldTextVisitor) Enter(n ast.Node) (ast.Node, bool) {
	f, ok := n.(*ast.SelectField)
	if !ok || f.WildCard != nil {
		return n, false
	}
	text := f.OriginalText()
	lo, hi := v.m.back(f.Offset), v.m.back(f.Offset+len(text))
	if text != "" && 0 <= lo && lo <= hi && hi <= len(v.src) && v.src[lo:hi] != text {
		f.SetText(nil, v.src[lo:hi])
	}
	return n, false
}

func (v *fieldTextVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// parseExpr parses the statement bytes [lo, hi) as one expression; node
// offsets are statement offsets.
func (r *rewriter) parseExpr(lo, hi int) (ast.ExprNode, error) {
	buf, m := r.build(lo, hi, true)
	stmt, err := r.tidb(buf, m)
	if err != nil {
		return nil, err
	}
	sel, ok := stmt.(*ast.SelectStmt)
	if !ok || sel.Kind != ast.SelectStmtKindSelect || sel.From != nil || sel.Where != nil || sel.GroupBy != nil ||
		sel.Having != nil || sel.OrderBy != nil || sel.Limit != nil || sel.Distinct || sel.With != nil ||
		sel.WindowSpecs != nil || sel.SelectIntoOpt != nil || (sel.LockInfo != nil && sel.LockInfo.LockType != ast.SelectLockNone) ||
		sel.Fields == nil || len(sel.Fields.Fields) != 1 || sel.Fields.Fields[0].WildCard != nil || sel.Fields.Fields[0].AsName.L != "" {
		return nil, r.sp.ErrorAt(lo, "expected a single expression")
	}
	return sel.Fields.Fields[0].Expr, nil
}
