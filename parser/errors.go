package parser

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is a parse error located in the script it came from.
type Error struct {
	Msg string
	// Line and Column are 1-based; Column counts runes (a tab counts as one).
	Line, Column int
	// Offset is the byte offset in the script.
	Offset int
	// Source is the full text of the line the error points at.
	Source string
}

// Error renders the error with its line and a caret under the column:
//
//	ERROR at line 3, column 8: syntax error near 'frm'
//	SELECT frm t
//	       ^
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ERROR at line %d, column %d: %s\n%s\n", e.Line, e.Column, e.Msg, e.Source)
	n := 0
	for _, r := range e.Source {
		if n >= e.Column-1 {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		n++
	}
	for ; n < e.Column-1; n++ {
		b.WriteByte(' ')
	}
	b.WriteByte('^')
	return b.String()
}

// NewError returns an *Error at byte offset offset of script (clamped to the
// script) with message msg.
func NewError(script string, offset int, msg string) *Error {
	offset = max(0, min(offset, len(script)))
	for offset > 0 && offset < len(script) && !utf8.RuneStart(script[offset]) {
		offset--
	}
	lineStart := strings.LastIndexByte(script[:offset], '\n') + 1
	lineEnd := strings.IndexByte(script[offset:], '\n')
	if lineEnd < 0 {
		lineEnd = len(script)
	} else {
		lineEnd += offset
	}
	src := strings.TrimSuffix(script[lineStart:lineEnd], "\r")
	return &Error{
		Msg:    msg,
		Line:   1 + strings.Count(script[:offset], "\n"),
		Column: 1 + utf8.RuneCountInString(script[lineStart:offset]),
		Offset: offset,
		Source: src,
	}
}

// nearMsg is the message for a syntax error at byte offset off of text:
// "syntax error near 'tok'" or "syntax error at end of input".
func nearMsg(text string, off int) string {
	t := nextToken(text, off)
	if t.kind == tkEOF {
		return "syntax error at end of input"
	}
	s := text[t.pos:t.end]
	if len(s) > 40 {
		cut := 40
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return fmt.Sprintf("syntax error near '%s'", s)
}

// errPanic marks a recovered panic of the TiDB parser.
var errPanic = errors.New("internal parser error")

// tidbErrorOffset finds the byte offset of the token a TiDB syntax error
// points at. TiDB reports `line L column C near "REST"<extra> <(total length
// N)>`, where REST is the text from the offending token to the end (cut at
// 2,048 bytes, then followed by the total length). It returns the offset in
// buf, the extra message, and whether the error had that form.
func tidbErrorOffset(msg, buf string) (off int, extra string, ok bool) {
	if !strings.HasPrefix(msg, "line ") {
		return 0, "", false
	}
	const near = ` near "`
	i := strings.Index(msg, near)
	if i < 0 {
		return 0, "", false
	}
	tail := msg[i+len(near):]
	const total = "(total length "
	if j := strings.LastIndex(tail, total); j >= 0 && strings.HasSuffix(tail, ")") {
		n, err := strconv.Atoi(tail[j+len(total) : len(tail)-1])
		if err == nil && n >= 0 && n <= len(buf) {
			rest := tail[:j]
			if k := min(n, 2048); k < len(rest) && rest[k] == '"' {
				extra = strings.TrimSpace(rest[k+1:])
			}
			return len(buf) - n, extra, true
		}
	}
	for k := min(len(tail)-1, len(buf)); k >= 0; k-- {
		if tail[k] == '"' && strings.HasPrefix(tail, buf[len(buf)-k:]) {
			return len(buf) - k, strings.TrimSpace(tail[k+1:]), true
		}
	}
	return 0, "", false
}

// cleanTiDBMessage strips TiDB's "[class:code]" prefix from an error message.
func cleanTiDBMessage(msg string) string {
	if strings.HasPrefix(msg, "[") {
		if j := strings.Index(msg, "]"); j > 0 {
			msg = msg[j+1:]
		}
	}
	return strings.TrimSpace(msg)
}

// quotedFragment returns the first '...' quoted part of msg, if any.
func quotedFragment(msg string) string {
	i := strings.IndexByte(msg, '\'')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(msg[i+1:], '\'')
	if j <= 0 {
		return ""
	}
	return msg[i+1 : i+1+j]
}
