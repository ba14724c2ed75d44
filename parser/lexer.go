package parser

import "strings"

// tokKind classifies the tokens of the pre-parser's lexer.
type tokKind uint8

const (
	tkEOF    tokKind = iota
	tkIdent          // unquoted word: identifier or keyword
	tkQIdent         // `quoted identifier`
	tkString         // 'string' or "string"
	tkNumber         // numeric literal
	tkOp             // operator or punctuation
)

// token is a lexical token; pos and end are byte offsets in the lexed text.
type token struct {
	kind     tokKind
	pos, end int
}

// lexError is a lexical error at a byte offset of the lexed text.
type lexError struct {
	off int
	msg string
}

func (e *lexError) Error() string { return e.msg }

// lex splits text into tokens the way TiDB's scanner does, so that the
// pre-parser and the splitter agree with TiDB on where strings, quoted
// identifiers and comments start and end. Comments and whitespace produce no
// tokens. Differences from TiDB: `--` always starts a comment (as in
// standard SQL and Flink), and /*! */ comments are comments.
func lex(text string) ([]token, *lexError) {
	toks := make([]token, 0, len(text)/4+4)
	i := 0
	for i < len(text) {
		c := text[i]
		switch {
		case isSpaceByte(c):
			i++
		case c == '-' && i+1 < len(text) && text[i+1] == '-', c == '#':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				return toks, &lexError{i, "unterminated comment"}
			}
			i += 2 + end + 2
		case c == '\'' || c == '"':
			end, ok := scanQuoted(text, i, true)
			if !ok {
				return toks, &lexError{i, "unterminated string literal"}
			}
			toks = append(toks, token{tkString, i, end})
			i = end
		case c == '`':
			end, ok := scanQuoted(text, i, false)
			if !ok {
				return toks, &lexError{i, "unterminated quoted identifier"}
			}
			toks = append(toks, token{tkQIdent, i, end})
			i = end
		case isDigit(c) || (c == '.' && i+1 < len(text) && isDigit(text[i+1]) && !afterName(toks, text, i)):
			end, kind := scanNumber(text, i)
			toks = append(toks, token{kind, i, end})
			i = end
		case isIdentByte(c):
			j := i + 1
			for j < len(text) && isIdentByte(text[j]) {
				j++
			}
			toks = append(toks, token{tkIdent, i, j})
			i = j
		default:
			n := opLen(text[i:])
			toks = append(toks, token{tkOp, i, i + n})
			i += n
		}
	}
	return toks, nil
}

// nextToken returns the first token of text at or after off, or a tkEOF
// token at len(text).
func nextToken(text string, off int) token {
	if off < 0 {
		off = 0
	}
	if off >= len(text) {
		return token{tkEOF, len(text), len(text)}
	}
	toks, _ := lex(text[off:])
	if len(toks) == 0 {
		return token{tkEOF, len(text), len(text)}
	}
	t := toks[0]
	return token{t.kind, t.pos + off, t.end + off}
}

// scanQuoted returns the end of the quoted token starting at i. Doubled
// quotes stand for one; in strings a backslash escapes the next byte (TiDB's
// default, NO_BACKSLASH_ESCAPES off).
func scanQuoted(text string, i int, backslash bool) (int, bool) {
	q := text[i]
	j := i + 1
	for j < len(text) {
		c := text[j]
		switch {
		case c == q:
			if j+1 < len(text) && text[j+1] == q {
				j += 2
				continue
			}
			return j + 1, true
		case c == '\\' && backslash:
			j += 2
		default:
			j++
		}
	}
	return len(text), false
}

// scanNumber scans a numeric literal at i: digits, a fraction, an exponent.
// A number directly followed by identifier characters (1abc, 0x1F) is an
// identifier-like word, as in TiDB.
func scanNumber(text string, i int) (int, tokKind) {
	j := i
	for j < len(text) && isDigit(text[j]) {
		j++
	}
	if j < len(text) && text[j] == '.' {
		j++
		for j < len(text) && isDigit(text[j]) {
			j++
		}
	}
	if j < len(text) && (text[j] == 'e' || text[j] == 'E') {
		k := j + 1
		if k < len(text) && (text[k] == '+' || text[k] == '-') {
			k++
		}
		if k < len(text) && isDigit(text[k]) {
			j = k
			for j < len(text) && isDigit(text[j]) {
				j++
			}
		}
	}
	if j < len(text) && isIdentByte(text[j]) {
		for j < len(text) && isIdentByte(text[j]) {
			j++
		}
		return j, tkIdent
	}
	return j, tkNumber
}

// afterName reports whether the '.' at i qualifies a name (t.5 is a column
// reference, not a number).
func afterName(toks []token, text string, i int) bool {
	if len(toks) == 0 {
		return false
	}
	last := toks[len(toks)-1]
	return last.end == i && (last.kind == tkIdent || last.kind == tkQIdent)
}

var multiOps = []string{"<=>", "->>", "<=", ">=", "<>", "!=", "||", "&&", ":=", "<<", ">>", "->", "=>"}

// opLen returns the length of the operator at the start of s.
func opLen(s string) int {
	switch s[0] {
	case '<', '>', '-', '!', '|', '&', ':', '=':
		for _, op := range multiOps {
			if strings.HasPrefix(s, op) {
				return len(op)
			}
		}
	}
	return 1
}

// isSpaceByte mirrors TiDB's unicode.IsSpace(rune(b)) on single bytes.
func isSpaceByte(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x85, 0xA0:
		return true
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentByte(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '_' || c == '$' || c >= 0x80
}

// matchParens returns, for every '(' and ')' token, the index of its partner
// (-1 when unbalanced), and -1 for other tokens.
func matchParens(text string, toks []token) []int {
	match := make([]int, len(toks))
	var stack []int
	for i, t := range toks {
		match[i] = -1
		if t.kind != tkOp {
			continue
		}
		switch text[t.pos] {
		case '(':
			stack = append(stack, i)
		case ')':
			if n := len(stack); n > 0 {
				o := stack[n-1]
				stack = stack[:n-1]
				match[o], match[i] = i, o
			}
		}
	}
	return match
}

// cleanText returns text with every byte that is not part of a token (that
// is whitespace and comments) replaced by a space, newlines kept.
func cleanText(text string, toks []token) []byte {
	b := []byte(text)
	prev := 0
	for _, t := range toks {
		blankBytes(b[prev:t.pos])
		prev = t.end
	}
	blankBytes(b[prev:])
	return b
}

// blankBytes replaces every byte of b but newlines by a space.
func blankBytes(b []byte) {
	for i, c := range b {
		if c != '\n' {
			b[i] = ' '
		}
	}
}

// blank returns s with every byte but newlines replaced by a space.
func blank(s string) string {
	b := []byte(s)
	blankBytes(b)
	return string(b)
}

// unquote returns the content of a quoted token with doubled quotes undone;
// other characters (backslashes included) are kept verbatim.
func unquote(s string) string {
	if len(s) < 2 {
		return s
	}
	q := s[:1]
	body := s[1 : len(s)-1]
	return strings.ReplaceAll(body, q+q, q)
}
