package expr

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/sluicesql/sluice/exec/types"
)

type likeKind uint8

const (
	likeExact likeKind = iota
	likePrefix
	likeSuffix
	likeContains
	likeAll     // '%': any non-NULL string
	likeGeneral // token matcher
)

type tokKind uint8

const (
	tokLit  tokKind = iota
	tokAny          // _
	tokStar         // %
)

type likeTok struct {
	kind tokKind
	s    string
}

// likePattern is a compiled LIKE pattern. It is immutable and shared by
// clones.
type likePattern struct {
	kind likeKind
	lit  string
	toks []likeTok
}

// compileLike compiles pattern with escape character esc (0: none).
func compileLike(pattern string, esc byte) *likePattern {
	var toks []likeTok
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, likeTok{kind: tokLit, s: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case esc != 0 && c == esc && i+1 < len(pattern):
			i++
			lit.WriteByte(pattern[i])
		case c == '%':
			flush()
			if len(toks) == 0 || toks[len(toks)-1].kind != tokStar {
				toks = append(toks, likeTok{kind: tokStar})
			}
		case c == '_':
			flush()
			toks = append(toks, likeTok{kind: tokAny})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	p := &likePattern{kind: likeGeneral, toks: toks}
	star := func(i int) bool { return i >= 0 && i < len(toks) && toks[i].kind == tokStar }
	isLit := func(i int) bool { return i >= 0 && i < len(toks) && toks[i].kind == tokLit }
	switch {
	case len(toks) == 0:
		p.kind = likeExact
	case len(toks) == 1 && isLit(0):
		p.kind, p.lit = likeExact, toks[0].s
	case len(toks) == 1 && star(0):
		p.kind = likeAll
	case len(toks) == 2 && isLit(0) && star(1):
		p.kind, p.lit = likePrefix, toks[0].s
	case len(toks) == 2 && star(0) && isLit(1):
		p.kind, p.lit = likeSuffix, toks[1].s
	case len(toks) == 3 && star(0) && isLit(1) && star(2):
		p.kind, p.lit = likeContains, toks[1].s
	}
	return p
}

func (p *likePattern) match(s string) bool {
	switch p.kind {
	case likeExact:
		return s == p.lit
	case likePrefix:
		return strings.HasPrefix(s, p.lit)
	case likeSuffix:
		return strings.HasSuffix(s, p.lit)
	case likeContains:
		return strings.Contains(s, p.lit)
	case likeAll:
		return true
	}
	return matchTokens(p.toks, s)
}

// matchTokens is the greedy wildcard matcher with backtracking to the last
// '%'. '_' matches one character (UTF-8 rune).
func matchTokens(toks []likeTok, s string) bool {
	ti, si := 0, 0
	starT, starS := -1, 0
	for {
		if ti < len(toks) {
			t := toks[ti]
			switch t.kind {
			case tokStar:
				starT, starS = ti, si
				ti++
				continue
			case tokAny:
				if si < len(s) {
					_, w := utf8.DecodeRuneInString(s[si:])
					si += w
					ti++
					continue
				}
			case tokLit:
				if strings.HasPrefix(s[si:], t.s) {
					si += len(t.s)
					ti++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		if starT < 0 || starS >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starS:])
		starS += w
		si, ti = starS, starT+1
	}
}

// likeExpr is s [NOT] LIKE pattern [ESCAPE c] (or ILIKE when fold).
type likeExpr struct {
	args   []Expr // s, pattern
	esc    byte
	not    bool
	fold   bool // case-insensitive (ILIKE)
	pat    *likePattern
	last   string       // most recent non-constant pattern
	cached *likePattern // its compiled form
	bufs   [2]types.Vector
}

func (*likeExpr) isOperator() {}

// Like returns e [NOT] LIKE pattern ESCAPE escape (escape 0: none; MySQL's
// default is '\\'). Matching is case-sensitive, as in Flink; % matches any
// sequence and _ one character. A constant pattern is compiled once.
func Like(e, pattern Expr, escape byte, not bool) (Expr, error) {
	return newLike(e, pattern, escape, not, false)
}

// ILike is the case-insensitive Like.
func ILike(e, pattern Expr, escape byte, not bool) (Expr, error) {
	return newLike(e, pattern, escape, not, true)
}

func newLike(e, pattern Expr, escape byte, not, fold bool) (Expr, error) {
	if !(e.Type().IsString() || isNull(e.Type())) || !(pattern.Type().IsString() || isNull(pattern.Type())) {
		return nil, typeErr("cannot apply 'LIKE' to %s and %s", e.Type().Kind, pattern.Type().Kind)
	}
	e, pattern = nullAs(e, types.String), nullAs(pattern, types.String)
	l := &likeExpr{args: []Expr{e, pattern}, esc: escape, not: not, fold: fold}
	if s, ok := constString(pattern); ok {
		if fold {
			s = strings.ToLower(s)
		}
		l.pat = compileLike(s, escape)
		l.args[1] = Lit(types.Datum{Type: pattern.Type(), S: s})
	}
	return l, nil
}

func buildLike(name string, a []Expr) (Expr, error) {
	esc := byte('\\')
	if len(a) == 3 {
		s, ok := constString(a[2])
		if !ok || len(s) > 1 {
			return nil, typeErr("ESCAPE must be a constant string of one character")
		}
		esc = 0
		if s != "" {
			esc = s[0]
		}
	}
	return Like(a[0], a[1], esc, name == "NOT LIKE")
}

func (l *likeExpr) Type() types.Type { return types.Bool }
func (l *likeExpr) children() []Expr { return l.args }
func (l *likeExpr) Clone() Expr {
	return &likeExpr{args: cloneAll(l.args), esc: l.esc, not: l.not, fold: l.fold, pat: l.pat}
}

func (l *likeExpr) String() string {
	op := " LIKE "
	if l.fold {
		op = " ILIKE "
	}
	if l.not {
		op = " NOT" + op
	}
	s := paren(l.args[0]) + op + paren(l.args[1])
	if l.esc != '\\' {
		if l.esc == 0 {
			s += " ESCAPE ''"
		} else {
			s += " ESCAPE '" + string(l.esc) + "'"
		}
	}
	return s
}

func (l *likeExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	s, err := evalArg(l.args[0], b, &l.bufs[0])
	if err != nil {
		return err
	}
	prepare(out, types.Bool, n)
	o := out.I64[:n]
	neg := b2i(l.not)
	if l.pat != nil {
		strs := s.Str[:n]
		switch {
		case l.fold:
			for i, v := range strs {
				o[i] = b2i(l.pat.match(strings.ToLower(v))) ^ neg
			}
		case l.pat.kind == likePrefix:
			lit := l.pat.lit
			for i, v := range strs {
				o[i] = b2i(len(v) >= len(lit) && v[:len(lit)] == lit) ^ neg
			}
		case l.pat.kind == likeSuffix:
			lit := l.pat.lit
			for i, v := range strs {
				o[i] = b2i(len(v) >= len(lit) && v[len(v)-len(lit):] == lit) ^ neg
			}
		case l.pat.kind == likeExact:
			lit := l.pat.lit
			for i, v := range strs {
				o[i] = b2i(v == lit) ^ neg
			}
		default:
			for i, v := range strs {
				o[i] = b2i(l.pat.match(v)) ^ neg
			}
		}
		if unionNulls(out, n, s, nil) {
			zeroNullSlots(out)
		}
		return nil
	}
	p, err := evalArg(l.args[1], b, &l.bufs[1])
	if err != nil {
		return err
	}
	for i := range o {
		v, pat := s.Str[i], p.Str[i]
		if l.fold {
			v, pat = strings.ToLower(v), strings.ToLower(pat)
		}
		if l.cached == nil || pat != l.last {
			l.last, l.cached = pat, compileLike(pat, l.esc)
		}
		o[i] = b2i(l.cached.match(v)) ^ neg
	}
	if unionNulls(out, n, s, p) {
		zeroNullSlots(out)
	}
	return nil
}

// nullAs gives an untyped NULL argument the type t.
func nullAs(e Expr, t types.Type) Expr {
	if isNull(e.Type()) {
		if c, err := implicitCast(e, t); err == nil {
			return c
		}
	}
	return e
}

// regexpExpr is s [NOT] REGEXP pattern (Go RE2 syntax, case-sensitive,
// unanchored search like MySQL's REGEXP and Flink's REGEXP).
type regexpExpr struct {
	args []Expr
	not  bool
	re   *regexp.Regexp // constant pattern
	need string         // a literal every match of re contains ("": none)
	rc   regexCache
	memo *memo[bool] // match results for a constant pattern; not shared by clones
	bufs [2]types.Vector
}

func (*regexpExpr) isOperator() {}

// Regexp returns e [NOT] REGEXP pattern. An invalid constant pattern is an
// error; an invalid pattern from a column gives NULL.
func Regexp(e, pattern Expr, not bool) (Expr, error) {
	if !(e.Type().IsString() || isNull(e.Type())) || !(pattern.Type().IsString() || isNull(pattern.Type())) {
		return nil, typeErr("cannot apply 'REGEXP' to %s and %s", e.Type().Kind, pattern.Type().Kind)
	}
	e, pattern = nullAs(e, types.String), nullAs(pattern, types.String)
	r := &regexpExpr{args: []Expr{e, pattern}, not: not}
	if s, ok := constString(pattern); ok {
		re, err := compileRegex(s)
		if err != nil {
			return nil, err
		}
		r.re = re
		r.need = requiredLiteral(s)
	}
	return r, nil
}

func buildRegexpOp(name string, a []Expr) (Expr, error) {
	return Regexp(a[0], a[1], name == "NOT REGEXP")
}

func compileRegex(s string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, newErr(ErrInvalidLiteral, "invalid regular expression '%s': %v", s, err)
	}
	return re, nil
}

// regexCache compiles non-constant patterns, remembering the last one.
type regexCache struct {
	src string
	re  *regexp.Regexp
	ok  bool
}

func (c *regexCache) get(src string) *regexp.Regexp {
	if c.ok && c.src == src {
		return c.re
	}
	re, err := regexp.Compile(src)
	if err != nil {
		re = nil
	}
	c.src, c.re, c.ok = src, re, true
	return re
}

func (r *regexpExpr) Type() types.Type { return types.Bool }
func (r *regexpExpr) children() []Expr { return r.args }
func (r *regexpExpr) Clone() Expr {
	return &regexpExpr{args: cloneAll(r.args), not: r.not, re: r.re, need: r.need}
}
func (r *regexpExpr) String() string {
	op := " REGEXP "
	if r.not {
		op = " NOT REGEXP "
	}
	return paren(r.args[0]) + op + paren(r.args[1])
}

func (r *regexpExpr) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	s, err := evalArg(r.args[0], b, &r.bufs[0])
	if err != nil {
		return err
	}
	p, err := evalArg(r.args[1], b, &r.bufs[1])
	if err != nil {
		return err
	}
	prepare(out, types.Bool, n)
	unionNulls(out, n, s, p)
	neg := b2i(r.not)
	o := out.I64[:n]
	if r.re != nil {
		if r.memo == nil {
			r.memo = newMemo[bool]()
		}
		for i, v := range s.Str[:n] {
			if out.IsNull(i) {
				continue
			}
			ok, h, hit := r.memo.get(v)
			if !hit {
				ok = (r.need == "" || strings.Contains(v, r.need)) && r.re.MatchString(v)
				r.memo.put(h, v, ok)
			}
			o[i] = b2i(ok) ^ neg
		}
		return nil
	}
	for i := range o {
		if out.IsNull(i) {
			continue
		}
		re := r.rc.get(p.Str[i])
		if re == nil {
			out.SetNull(i)
			continue
		}
		o[i] = b2i(re.MatchString(s.Str[i])) ^ neg
	}
	return nil
}
