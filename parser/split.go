package parser

import "strings"

// split cuts a script into statement spans at the ';' that end statements.
// Quotes and comments are respected, and EXECUTE STATEMENT SET BEGIN ... END
// is one statement however many ';' it holds. A span runs from the first to
// the last token of its statement; empty statements are dropped.
func split(script string) ([]Span, error) {
	stmts, err := splitTokens(script)
	spans := make([]Span, len(stmts))
	for i, st := range stmts {
		spans[i] = st.sp
	}
	return spans, err
}

// stmtTokens is a statement span with its tokens (script offsets).
type stmtTokens struct {
	sp   Span
	toks []token
}

// splitTokens is split that also returns each statement's tokens.
func splitTokens(script string) ([]stmtTokens, error) {
	toks, lerr := lex(script)
	if lerr != nil {
		return nil, NewError(script, lerr.off, lerr.msg)
	}
	var out []stmtTokens
	for i := 0; i < len(toks); {
		if isOpTok(script, toks[i], ";") {
			i++
			continue
		}
		j := statementEnd(script, toks, i)
		out = append(out, stmtTokens{Span{Script: script, Start: toks[i].pos, End: toks[j-1].end}, toks[i:j]})
		i = j + 1
	}
	return out, nil
}

// statementEnd returns the index of the ';' token that ends the statement
// starting at token i (len(toks) when none does).
func statementEnd(script string, toks []token, i int) int {
	set := statementSetAt(script, toks, i)
	begun, caseDepth, ended := false, 0, false
	for j := i; j < len(toks); j++ {
		t := toks[j]
		if isOpTok(script, t, ";") && (!set || ended || !begun) {
			return j
		}
		if !set || t.kind != tkIdent {
			continue
		}
		switch w := script[t.pos:t.end]; {
		case !begun && strings.EqualFold(w, "BEGIN"):
			begun = true
		case begun && strings.EqualFold(w, "CASE"):
			caseDepth++
		case begun && strings.EqualFold(w, "END"):
			if caseDepth > 0 {
				caseDepth--
			} else {
				ended = true
			}
		}
	}
	return len(toks)
}

// statementSetAt reports whether the statement starting at token i is a
// statement set: [EXPLAIN [details]] [EXECUTE] STATEMENT SET BEGIN.
func statementSetAt(script string, toks []token, i int) bool {
	for j := i; j < len(toks) && j < i+8; j++ {
		if j+2 < len(toks) && isKwTok(script, toks[j], "STATEMENT") && isKwTok(script, toks[j+1], "SET") &&
			isKwTok(script, toks[j+2], "BEGIN") {
			return true
		}
		if isOpTok(script, toks[j], ";") {
			return false
		}
	}
	return false
}

func isOpTok(text string, t token, op string) bool {
	return t.kind == tkOp && text[t.pos:t.end] == op
}

func isKwTok(text string, t token, kw string) bool {
	return t.kind == tkIdent && strings.EqualFold(text[t.pos:t.end], kw)
}
