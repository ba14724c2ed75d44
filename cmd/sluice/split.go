package main

import "strings"

// cutComplete splits shell input into the complete statements it holds and
// what follows them: complete ends just after the last ';' that terminates a
// statement, rest is the unfinished statement after it ("" when only blanks
// and comments follow).
//
// A ';' terminates a statement unless it stands in a string ('...', "..."),
// a quoted identifier (`...`), a comment (-- to end of line, /* ... */), or
// inside a statement set (EXECUTE STATEMENT SET BEGIN ... END; or
// BEGIN STATEMENT SET; ... END;), which ends only at "END;".
func cutComplete(buf string) (complete, rest string) {
	var (
		cut      int      // end of the complete part
		content  bool     // something other than blanks/comments after cut
		lead     []string // first words of the current statement, up to 4
		inSet    bool     // the current statement is a statement set
		cases    int      // open CASE ... END expressions
		setEnded bool     // the statement set's END was the last token
	)
	for i := 0; i < len(buf); {
		c := buf[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(buf, i)
			content, setEnded = true, false
			continue
		case c == '-' && strings.HasPrefix(buf[i:], "--"):
			if j := strings.IndexByte(buf[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(buf)
			}
			continue
		case c == '/' && strings.HasPrefix(buf[i:], "/*"):
			if j := strings.Index(buf[i+2:], "*/"); j >= 0 {
				i += 2 + j + 2
			} else {
				i = len(buf)
			}
			continue
		case isWordByte(c):
			j := i
			for j < len(buf) && isWordByte(buf[j]) {
				j++
			}
			w := strings.ToUpper(buf[i:j])
			if len(lead) < 4 {
				lead = append(lead, w)
				inSet = inSet || isStatementSet(lead)
			}
			setEnded = false
			switch {
			case w == "CASE":
				cases++
			case w == "END" && cases > 0:
				cases--
			case w == "END":
				setEnded = inSet
			}
			content = true
			i = j
			continue
		case c == ';':
			if !inSet || setEnded {
				cut, content, lead, inSet, cases, setEnded = i+1, false, nil, false, 0, false
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			content, setEnded = true, false
		}
		i++
	}
	if !content {
		return buf[:cut], ""
	}
	return buf[:cut], buf[cut:]
}

// skipQuoted returns the index just after the quoted text starting at i
// (len(s) when unterminated). A doubled quote stands for itself; in strings
// a backslash escapes the next byte, as TiDB's parser reads them.
func skipQuoted(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if q != '`' {
				j++
			}
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// isStatementSet reports whether the first words of a statement open a
// statement set: EXECUTE STATEMENT SET BEGIN or BEGIN STATEMENT SET.
func isStatementSet(lead []string) bool {
	w := strings.Join(lead, " ")
	return w == "EXECUTE STATEMENT SET BEGIN" || w == "BEGIN STATEMENT SET"
}
