package parser

import (
	"fmt"
	"sync"

	tidb "github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	// The test driver provides TiDB's value expressions (literals).
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// sqlMode is the SQL mode Sluice parses with: IGNORE_SPACE so that
// COUNT ( * ) works; ANSI_QUOTES off ("x" is a string), PIPES_AS_CONCAT off
// (|| is OR), backslash escapes on (MySQL's defaults).
const sqlMode = mysql.ModeIgnoreSpace

var parserPool = sync.Pool{New: func() any {
	p := tidb.New()
	p.SetSQLMode(sqlMode)
	return p
}}

// tidbParse parses one statement with TiDB. A panic inside TiDB is recovered
// and returned as an error wrapping errPanic (the parser is then dropped).
func tidbParse(sql string) (stmt ast.StmtNode, err error) {
	p := parserPool.Get().(*tidb.Parser)
	defer func() {
		if r := recover(); r != nil {
			stmt, err = nil, fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	stmts, _, err := p.ParseSQL(sql)
	// stmts is the parser's own result buffer, reused by its next parse:
	// take what we need before the parser goes back to the pool.
	var first ast.StmtNode
	n := len(stmts)
	if n == 1 {
		first = stmts[0]
	}
	// TiDB's parser keeps the symbols of this parse in a cache it reuses; an
	// empty rule of a later parse can then set the offset of one of our nodes
	// again (after remapping). Clearing the cache prevents that, and lets the
	// AST go when the parser sits in the pool.
	p.Reset()
	p.SetSQLMode(sqlMode)
	parserPool.Put(p)
	if err != nil {
		return nil, err
	}
	if n != 1 {
		return nil, nil
	}
	return first, nil
}

// shift records one replacement whose text has another length than the
// original: new text [newLo, newHi) stands for original [oldLo, oldHi).
type shift struct{ newLo, newHi, oldLo, oldHi int }

// offsetMap maps offsets in the text given to TiDB back to offsets in the
// statement text. It is the identity unless a rewrite changed a length.
type offsetMap struct{ shifts []shift }

func (m *offsetMap) add(s shift) { m.shifts = append(m.shifts, s) }

func (m *offsetMap) identity() bool { return len(m.shifts) == 0 }

// back maps an offset of the TiDB text to the statement text.
func (m *offsetMap) back(p int) int {
	delta := 0
	for _, s := range m.shifts {
		if p < s.newLo {
			break
		}
		if p < s.newHi {
			return s.oldLo + min(p-s.newLo, s.oldHi-s.oldLo)
		}
		delta = s.oldHi - s.newHi
	}
	return p + delta
}

// remap rewrites every node offset under n from TiDB text offsets to
// statement offsets.
func (m *offsetMap) remap(n ast.Node) {
	if m.identity() || n == nil {
		return
	}
	n.Accept(&remapVisitor{m})
}

type remapVisitor struct{ m *offsetMap }

func (v *remapVisitor) Enter(n ast.Node) (ast.Node, bool) {
	if p := n.OriginTextPosition(); p != 0 {
		n.SetOriginTextPosition(v.m.back(p))
	}
	if f, ok := n.(*ast.SelectField); ok && f.Offset != 0 {
		f.Offset = v.m.back(f.Offset)
	}
	return n, false
}

func (v *remapVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// tidbError converts an error of TiDB parsing buf (the rewritten text of
// statement text src, mapped by m) into an *Error of span sp.
func tidbError(err error, buf, src string, m *offsetMap, sp Span) *Error {
	msg := err.Error()
	if off, extra, ok := tidbErrorOffset(msg, buf); ok {
		off = m.back(off)
		text := nearMsg(src, off)
		if extra != "" {
			text += ": " + extra
		}
		t := nextToken(src, off)
		return sp.ErrorAt(t.pos, text)
	}
	msg = cleanTiDBMessage(msg)
	off := 0
	if frag := quotedFragment(msg); frag != "" {
		if i := indexToken(src, frag); i >= 0 {
			off = i
		}
	}
	if off == 0 {
		off = nextToken(src, 0).pos
	}
	return sp.ErrorAt(off, msg)
}

// indexToken returns the offset of the first token of src whose text is s.
func indexToken(src, s string) int {
	toks, _ := lex(src)
	for _, t := range toks {
		if src[t.pos:t.end] == s {
			return t.pos
		}
	}
	return -1
}
