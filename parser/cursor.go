package parser

import (
	"strings"
)

// cursor walks the tokens of one statement for the hand-written parts of
// the parser. Token offsets are relative to the statement start.
type cursor struct {
	sp    Span
	src   string // sp.Text()
	toks  []token
	match []int // matching parenthesis of every ( and ) token
	i     int
}

// newCursor lexes the statement text of sp.
func newCursor(sp Span) (*cursor, error) {
	src := sp.Text()
	toks, lerr := lex(src)
	if lerr != nil {
		return nil, sp.ErrorAt(lerr.off, lerr.msg)
	}
	return &cursor{sp: sp, src: src, toks: toks, match: matchParens(src, toks)}, nil
}

// newCursorTokens is newCursor for a statement already lexed as part of its
// script (toks in script offsets).
func newCursorTokens(sp Span, toks []token) *cursor {
	src := sp.Text()
	rel := make([]token, len(toks))
	for i, t := range toks {
		rel[i] = token{t.kind, t.pos - sp.Start, t.end - sp.Start}
	}
	return &cursor{sp: sp, src: src, toks: rel, match: matchParens(src, rel)}
}

// tok returns token i, or an EOF token at the end of the text.
func (c *cursor) tok(i int) token {
	if i >= 0 && i < len(c.toks) {
		return c.toks[i]
	}
	return token{tkEOF, len(c.src), len(c.src)}
}

func (c *cursor) peek() token { return c.tok(c.i) }

func (c *cursor) next() token {
	t := c.tok(c.i)
	if c.i < len(c.toks) {
		c.i++
	}
	return t
}

func (c *cursor) atEnd() bool { return c.i >= len(c.toks) }

func (c *cursor) text(t token) string { return c.src[t.pos:t.end] }

// kwAt reports whether token i is the unquoted keyword kw.
func (c *cursor) kwAt(i int, kw string) bool {
	t := c.tok(i)
	return t.kind == tkIdent && strings.EqualFold(c.src[t.pos:t.end], kw)
}

// opAt reports whether token i is the operator op.
func (c *cursor) opAt(i int, op string) bool {
	t := c.tok(i)
	return t.kind == tkOp && c.src[t.pos:t.end] == op
}

// isKw reports whether the next tokens are the keywords kws.
func (c *cursor) isKw(kws ...string) bool {
	for k, kw := range kws {
		if !c.kwAt(c.i+k, kw) {
			return false
		}
	}
	return true
}

// acceptKw consumes the keywords kws if they come next.
func (c *cursor) acceptKw(kws ...string) bool {
	if !c.isKw(kws...) {
		return false
	}
	c.i += len(kws)
	return true
}

func (c *cursor) isOp(op string) bool { return c.opAt(c.i, op) }

// errNear returns a syntax error at the next token; expect, when not empty,
// says what was expected.
func (c *cursor) errNear(expect string) error {
	t := c.peek()
	msg := nearMsg(c.src, t.pos)
	if expect != "" {
		msg += ", expected " + expect
	}
	return c.sp.ErrorAt(t.pos, msg)
}

func (c *cursor) expectKw(kws ...string) error {
	for _, kw := range kws {
		if !c.acceptKw(kw) {
			return c.errNear(kw)
		}
	}
	return nil
}

func (c *cursor) expectOp(op string) error {
	if !c.isOp(op) {
		return c.errNear("'" + op + "'")
	}
	c.next()
	return nil
}

// expectEnd fails unless all tokens were consumed.
func (c *cursor) expectEnd() error {
	if !c.atEnd() {
		return c.errNear("")
	}
	return nil
}

// ident parses one identifier, unquoted or `quoted`.
func (c *cursor) ident() (string, error) {
	t := c.peek()
	switch t.kind {
	case tkIdent:
		c.next()
		return c.text(t), nil
	case tkQIdent:
		c.next()
		return unquote(c.text(t)), nil
	}
	return "", c.errNear("a name")
}

// name parses a possibly qualified name a.b.c; parts are joined with dots.
func (c *cursor) name() (string, error) {
	s, err := c.ident()
	if err != nil {
		return "", err
	}
	for c.isOp(".") {
		c.next()
		p, err := c.ident()
		if err != nil {
			return "", err
		}
		s += "." + p
	}
	return s, nil
}

// nameList parses ( a, b, ... ).
func (c *cursor) nameList() ([]string, error) {
	if err := c.expectOp("("); err != nil {
		return nil, err
	}
	var out []string
	for {
		n, err := c.ident()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if c.isOp(",") {
			c.next()
			continue
		}
		return out, c.expectOp(")")
	}
}

// str parses a string literal; doubled quotes are undone, the rest is kept
// verbatim.
func (c *cursor) str(what string) (string, error) {
	t := c.peek()
	if t.kind != tkString {
		return "", c.errNear(what)
	}
	c.next()
	return unquote(c.text(t)), nil
}

// rawUntil returns the trimmed source text from the next token up to (not
// including) the first token for which stop is true, and consumes it.
func (c *cursor) rawUntil(stop func(i int) bool) string {
	start := c.i
	for !c.atEnd() && !stop(c.i) {
		c.i++
	}
	if start == c.i {
		return ""
	}
	return c.src[c.toks[start].pos:c.toks[c.i-1].end]
}

// rest returns the span from the next token to the end of the statement.
func (c *cursor) rest() Span {
	t := c.peek()
	return Span{Script: c.sp.Script, Start: c.sp.Start + t.pos, End: c.sp.End}
}

// subSpan returns the span of tokens [i, j) (j > i).
func (c *cursor) subSpan(i, j int) Span {
	return Span{Script: c.sp.Script, Start: c.sp.Start + c.toks[i].pos, End: c.sp.Start + c.toks[j-1].end}
}
