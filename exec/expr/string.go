package expr

import (
	"encoding/binary"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"github.com/sluicesql/sluice/exec/types"
)

// maxStringResult bounds strings built by REPEAT, LPAD and RPAD; longer
// results are NULL (MySQL: max_allowed_packet).
const maxStringResult = 64 << 20

func init() {
	register("UPPER UCASE", 1, 1, buildCase)
	register("LOWER LCASE", 1, 1, buildCase)
	register("LTRIM", 1, 1, strMap(func(s string) string { return strings.TrimLeft(s, " ") }, true))
	register("RTRIM", 1, 1, strMap(func(s string) string { return strings.TrimRight(s, " ") }, true))
	register("REVERSE", 1, 1, strMap(reverseRunes, true))
	register("TRIM", 1, 3, buildTrim)
	register("LENGTH OCTET_LENGTH", 1, 1, strToInt(func(s string) int64 { return int64(len(s)) }))
	register("CHAR_LENGTH CHARACTER_LENGTH", 1, 1, strToInt(func(s string) int64 { return int64(utf8.RuneCountInString(s)) }))
	register("CONCAT", 1, -1, buildConcat)
	register("CONCAT_WS", 2, -1, buildConcatWS)
	register("SUBSTRING SUBSTR MID", 2, 3, buildSubstring)
	register("LEFT", 2, 2, buildLeftRight)
	register("RIGHT", 2, 2, buildLeftRight)
	register("REPLACE", 3, 3, buildReplace)
	register("LPAD", 3, 3, buildPad)
	register("RPAD", 3, 3, buildPad)
	register("REPEAT", 2, 2, buildRepeat)
	register("LOCATE", 2, 3, buildLocate)
	register("POSITION", 2, 2, buildLocate)
	register("INSTR", 2, 2, buildLocate)
	register("REGEXP_EXTRACT", 2, 3, buildRegexpExtract)
	register("REGEXP_REPLACE", 3, 3, buildRegexpReplace)
	register("SPLIT_INDEX", 3, 3, buildSplitIndex)
}

// stringArgs converts args to strings, or fails with a type error.
func stringArgs(name string, args []Expr) ([]Expr, error) {
	out := make([]Expr, len(args))
	for i, a := range args {
		c, ok := asString(a)
		if !ok {
			return nil, argTypeErr(name, args)
		}
		out[i] = c
	}
	return out, nil
}

// resultStringType keeps a character type's declared length bound for
// functions that never lengthen their input; otherwise STRING.
func resultStringType(t types.Type) types.Type {
	if t.IsString() {
		return t.Nullable()
	}
	return types.String
}

// strMap builds a one-argument string → string function.
func strMap(fn func(string) string, keepType bool) builder {
	return func(name string, args []Expr) (Expr, error) {
		a, err := stringArgs(name, args)
		if err != nil {
			return nil, err
		}
		t := types.String
		if keepType {
			t = resultStringType(a[0].Type())
		}
		return newFn(name, t, a, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
			for i, s := range in[0].Str[:n] {
				out.Str[i] = fn(s)
			}
			return nil
		}), nil
	}
}

// buildCase builds UPPER and LOWER. Strings already in the wanted case are
// returned as they are; the ASCII ones that change are converted into one
// buffer per batch (which their results share) instead of one allocation
// each; the others go through strings.ToUpper or ToLower.
func buildCase(name string, args []Expr) (Expr, error) {
	a, err := stringArgs(name, args)
	if err != nil {
		return nil, err
	}
	// The ASCII letters that change.
	r, conv := newByteRange('A', 'Z'), strings.ToLower
	if name == "UPPER" || name == "UCASE" {
		r, conv = newByteRange('a', 'z'), strings.ToUpper
	}
	return newFn(name, resultStringType(a[0].Type()), a, func(f *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		rows, _ := f.cache.(*[]int32) // the rows to convert into the buffer
		if rows == nil {
			rows = new([]int32)
			f.cache = rows
		}
		*rows = (*rows)[:0]
		size := 0
		for i, s := range in[0].Str[:n] {
			ascii, change := r.asciiHas(s)
			switch {
			case !ascii:
				out.Str[i] = conv(s)
			case change:
				*rows = append(*rows, int32(i))
				size += len(s)
			default:
				out.Str[i] = s
			}
		}
		if size == 0 {
			return nil
		}
		buf := make([]byte, size)
		off := 0
		for _, i := range *rows {
			off += r.flipCase(buf[off:], in[0].Str[i])
		}
		all := string(buf)
		for _, i := range *rows {
			k := len(in[0].Str[i])
			out.Str[i], all = all[:k], all[k:]
		}
		return nil
	}), nil
}

// byteRange is a range [lo, hi] of ASCII letters (A-Z or a-z) that case
// tests and conversions look for eight bytes at once: for ASCII bytes b,
// b + (0x80 - lo) has its top bit set when b >= lo, and b + (0x7f - hi) when
// b > hi, with no carry into the next byte. Strings shorter than eight bytes
// are read as two overlapping halves.
type byteRange struct {
	lo, hi       byte
	addLo, addHi uint64 // 0x80 - lo and 0x7f - hi in every byte
}

const (
	ones64 = 0x0101010101010101
	high64 = 0x8080808080808080
)

func newByteRange(lo, hi byte) byteRange {
	return byteRange{lo: lo, hi: hi, addLo: (0x80 - uint64(lo)) * ones64, addHi: (0x7f - uint64(hi)) * ones64}
}

// in64 sets the top bit of each byte of x (all ASCII) in the range.
func (r *byteRange) in64(x uint64) uint64 {
	return (x + r.addLo) &^ (x + r.addHi) & high64
}

// load64 reads the first 8 bytes of s, little-endian.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// loadShort reads s (len(s) < 8) into a word: for 4 to 7 bytes its first
// and last four bytes, else its bytes.
func loadShort(s string) uint64 {
	if n := len(s); n >= 4 {
		return load32(s) | load32(s[n-4:])<<32
	}
	var x uint64
	for i := 0; i < len(s); i++ {
		x |= uint64(s[i]) << (8 * i)
	}
	return x
}

func load32(s string) uint64 {
	_ = s[3]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

// asciiHas reports whether s is ASCII and, if so, whether it has a byte in
// the range.
func (r *byteRange) asciiHas(s string) (ascii, has bool) {
	var all, in uint64
	if n := len(s); n >= 8 {
		for i := 0; i < n-8; i += 8 {
			x := load64(s[i:])
			all |= x
			in |= r.in64(x)
		}
		x := load64(s[n-8:])
		all |= x
		in |= r.in64(x)
	} else {
		all = loadShort(s)
		in = r.in64(all)
	}
	if all&high64 != 0 {
		return false, false
	}
	return true, in != 0
}

// flipCase writes the ASCII string s to dst (len(dst) >= len(s)) with the
// letters in the range switched to the other case, and returns len(s).
func (r *byteRange) flipCase(dst []byte, s string) int {
	n := len(s)
	flip := func(x uint64) uint64 { return x ^ r.in64(x)>>2 }
	switch {
	case n >= 8:
		for i := 0; i < n-8; i += 8 {
			binary.LittleEndian.PutUint64(dst[i:], flip(load64(s[i:])))
		}
		binary.LittleEndian.PutUint64(dst[n-8:], flip(load64(s[n-8:])))
	case n >= 4:
		x := flip(loadShort(s))
		binary.LittleEndian.PutUint32(dst, uint32(x))
		binary.LittleEndian.PutUint32(dst[n-4:], uint32(x>>32))
	default:
		for i := 0; i < n; i++ {
			c := s[i]
			if c-r.lo <= r.hi-r.lo {
				c ^= 'a' - 'A'
			}
			dst[i] = c
		}
	}
	return n
}

// strToInt builds a one-argument string → INT function.
func strToInt(fn func(string) int64) builder {
	return func(name string, args []Expr) (Expr, error) {
		a, err := stringArgs(name, args)
		if err != nil {
			return nil, err
		}
		return newFn(name, types.Int, a, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
			for i, s := range in[0].Str[:n] {
				out.I64[i] = fn(s)
			}
			return nil
		}), nil
	}
}

func reverseRunes(s string) string {
	if len(s) < 2 {
		return s
	}
	b := make([]byte, len(s))
	j := len(s)
	for _, r := range s {
		w := utf8.RuneLen(r)
		if w < 0 {
			w = 1
		}
		j -= w
		utf8.EncodeRune(b[j:], r)
	}
	return string(b)
}

// buildTrim handles TRIM(s), TRIM(s, remstr) and TRIM(s, remstr, direction)
// — TiDB's argument order for TRIM([BOTH|LEADING|TRAILING] [remstr] FROM s).
// direction is a constant string 'BOTH', 'LEADING' or 'TRAILING'.
func buildTrim(name string, args []Expr) (Expr, error) {
	dir := "BOTH"
	if len(args) == 3 {
		d, ok := constString(args[2])
		d = strings.ToUpper(d)
		if !ok || (d != "BOTH" && d != "LEADING" && d != "TRAILING") {
			return nil, typeErr("TRIM direction must be BOTH, LEADING or TRAILING")
		}
		dir = d
		args = args[:2]
	}
	if len(args) == 1 {
		args = append(args, Lit(types.StringDatum(" ")))
	}
	a, err := stringArgs(name, args)
	if err != nil {
		return nil, err
	}
	leading, trailing := dir != "TRAILING", dir != "LEADING"
	f := newFn(name, resultStringType(a[0].Type()), a, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, s := range in[0].Str[:n] {
			r := in[1].Str[i]
			if r != "" {
				for leading && strings.HasPrefix(s, r) {
					s = s[len(r):]
				}
				for trailing && strings.HasSuffix(s, r) {
					s = s[:len(s)-len(r)]
				}
			}
			out.Str[i] = s
		}
		return nil
	})
	f.printArg = func(f *fnExpr) string {
		return "TRIM(" + dir + " " + f.args[1].String() + " FROM " + f.args[0].String() + ")"
	}
	return f, nil
}

func buildConcat(name string, args []Expr) (Expr, error) {
	a, err := stringArgs(name, args)
	if err != nil {
		return nil, err
	}
	return newFn(name, types.String, a, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		var sb strings.Builder
		for i := 0; i < n; i++ {
			if out.IsNull(i) {
				continue
			}
			sb.Reset()
			for _, v := range in {
				sb.WriteString(v.Str[i])
			}
			out.Str[i] = sb.String()
		}
		return nil
	}), nil
}

// buildConcatWS: CONCAT_WS(sep, s...) skips NULL strings; NULL only when
// sep is NULL.
func buildConcatWS(name string, args []Expr) (Expr, error) {
	a, err := stringArgs(name, args)
	if err != nil {
		return nil, err
	}
	f := newFn(name, types.String, a, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		var sb strings.Builder
		for i := 0; i < n; i++ {
			if in[0].IsNull(i) {
				setNullAt(out, i)
				continue
			}
			sb.Reset()
			first := true
			for _, v := range in[1:] {
				if v.IsNull(i) {
					continue
				}
				if !first {
					sb.WriteString(in[0].Str[i])
				}
				first = false
				sb.WriteString(v.Str[i])
			}
			out.Str[i] = sb.String()
		}
		return nil
	})
	f.strict = false
	return f, nil
}

// substringArgs converts (s, int, int...) arguments.
func substringArgs(name string, args []Expr) ([]Expr, error) {
	out := make([]Expr, len(args))
	s, ok := asString(args[0])
	if !ok {
		return nil, argTypeErr(name, args)
	}
	out[0] = s
	for i, a := range args[1:] {
		c, ok := asInt(a)
		if !ok {
			return nil, argTypeErr(name, args)
		}
		out[i+1] = c
	}
	return out, nil
}

// runeOffset returns the byte offset of character k (0-based) of s, or
// len(s) when s is shorter.
func runeOffset(s string, k int64) int {
	i := 0
	for ; k > 0 && i < len(s); k-- {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return i
}

// substring implements MySQL's SUBSTRING(s, pos, length): 1-based pos,
// negative pos counts from the end, pos 0 or length < 1 give the empty
// string.
func substring(s string, pos, length int64) string {
	if pos == 0 || length < 1 {
		return ""
	}
	if pos < 0 {
		n := int64(utf8.RuneCountInString(s))
		if -pos > n {
			return ""
		}
		pos = n + pos + 1
	}
	start := runeOffset(s, pos-1)
	rest := s[start:]
	return rest[:runeOffset(rest, length)]
}

func buildSubstring(name string, args []Expr) (Expr, error) {
	a, err := substringArgs(name, args)
	if err != nil {
		return nil, err
	}
	return newFn(name, resultStringType(a[0].Type()), a, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, s := range in[0].Str[:n] {
			length := int64(len(s)) + 1
			if len(in) == 3 {
				length = in[2].I64[i]
			}
			out.Str[i] = substring(s, in[1].I64[i], length)
		}
		return nil
	}), nil
}

func buildLeftRight(name string, args []Expr) (Expr, error) {
	a, err := substringArgs(name, args)
	if err != nil {
		return nil, err
	}
	right := name == "RIGHT"
	return newFn(name, resultStringType(a[0].Type()), a, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, s := range in[0].Str[:n] {
			k := in[1].I64[i]
			switch {
			case k <= 0:
				out.Str[i] = ""
			case !right:
				out.Str[i] = s[:runeOffset(s, k)]
			default:
				c := int64(utf8.RuneCountInString(s))
				if k >= c {
					out.Str[i] = s
				} else {
					out.Str[i] = s[runeOffset(s, c-k):]
				}
			}
		}
		return nil
	}), nil
}

func buildReplace(name string, args []Expr) (Expr, error) {
	a, err := stringArgs(name, args)
	if err != nil {
		return nil, err
	}
	return newFn(name, types.String, a, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, s := range in[0].Str[:n] {
			from := in[1].Str[i]
			if from == "" {
				out.Str[i] = s
				continue
			}
			out.Str[i] = strings.ReplaceAll(s, from, in[2].Str[i])
		}
		return nil
	}), nil
}

// buildPad: LPAD/RPAD(s, len, pad). MySQL rules: len < 0 → NULL; a string
// longer than len is truncated to len characters; an empty pad that would
// be needed → NULL.
func buildPad(name string, args []Expr) (Expr, error) {
	s, ok1 := asString(args[0])
	l, ok2 := asInt(args[1])
	p, ok3 := asString(args[2])
	if !ok1 || !ok2 || !ok3 {
		return nil, argTypeErr(name, args)
	}
	left := name == "LPAD"
	return newFn(name, types.String, []Expr{s, l, p}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i := 0; i < n; i++ {
			if out.IsNull(i) {
				continue
			}
			str, want, pad := in[0].Str[i], in[1].I64[i], in[2].Str[i]
			if want < 0 || want > maxStringResult {
				setNullAt(out, i)
				continue
			}
			have := int64(utf8.RuneCountInString(str))
			if want <= have {
				out.Str[i] = str[:runeOffset(str, want)]
				continue
			}
			if pad == "" {
				setNullAt(out, i)
				continue
			}
			need := want - have
			padRunes := int64(utf8.RuneCountInString(pad))
			fill := strings.Repeat(pad, int(need/padRunes)) + pad[:runeOffset(pad, need%padRunes)]
			if left {
				out.Str[i] = fill + str
			} else {
				out.Str[i] = str + fill
			}
		}
		return nil
	}), nil
}

func buildRepeat(name string, args []Expr) (Expr, error) {
	s, ok1 := asString(args[0])
	k, ok2 := asInt(args[1])
	if !ok1 || !ok2 {
		return nil, argTypeErr(name, args)
	}
	return newFn(name, types.String, []Expr{s, k}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, s := range in[0].Str[:n] {
			k := in[1].I64[i]
			switch {
			case k <= 0 || s == "":
				out.Str[i] = ""
			case int64(len(s)) > maxStringResult/k:
				setNullAt(out, i)
			default:
				out.Str[i] = strings.Repeat(s, int(k))
			}
		}
		return nil
	}), nil
}

// buildLocate: LOCATE(sub, s[, pos]), POSITION(sub IN s), INSTR(s, sub).
// The result is the 1-based character position of sub in s at or after
// pos, or 0.
func buildLocate(name string, args []Expr) (Expr, error) {
	if name == "INSTR" {
		args = []Expr{args[1], args[0]}
	}
	a := make([]Expr, len(args))
	for i, x := range args {
		var ok bool
		if i < 2 {
			a[i], ok = asString(x)
		} else {
			a[i], ok = asInt(x)
		}
		if !ok {
			return nil, argTypeErr(name, args)
		}
	}
	return newFn(name, types.Int, a, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i := 0; i < n; i++ {
			sub, s := in[0].Str[i], in[1].Str[i]
			pos := int64(1)
			if len(in) == 3 {
				pos = in[2].I64[i]
			}
			if pos < 1 {
				out.I64[i] = 0
				continue
			}
			start := runeOffset(s, pos-1)
			if start == len(s) && int64(utf8.RuneCountInString(s)) < pos-1 {
				out.I64[i] = 0
				continue
			}
			j := strings.Index(s[start:], sub)
			if j < 0 {
				out.I64[i] = 0
				continue
			}
			out.I64[i] = pos + int64(utf8.RuneCountInString(s[start:start+j]))
		}
		return nil
	}), nil
}

// regexArg compiles a constant pattern argument (nil when not constant).
func regexArg(e Expr) (*regexp.Regexp, error) {
	s, ok := constString(e)
	if !ok {
		return nil, nil
	}
	return compileRegex(s)
}

// regexFor returns the compiled pattern for row i.
func (f *fnExpr) regexFor(p *types.Vector, i int) *regexp.Regexp {
	if re, ok := f.aux.(*regexp.Regexp); ok && re != nil {
		return re
	}
	rc, _ := f.cache.(*regexCache)
	if rc == nil {
		rc = &regexCache{}
		f.cache = rc
	}
	return rc.get(p.Str[i])
}

// buildRegexpExtract: REGEXP_EXTRACT(s, regex[, group]) as in Flink: the
// group defaults to 0 (the whole match); no match, a group beyond the
// pattern's groups, or an invalid pattern from a column give NULL.
func buildRegexpExtract(name string, args []Expr) (Expr, error) {
	a := make([]Expr, len(args))
	var ok bool
	for i, x := range args {
		if i < 2 {
			a[i], ok = asString(x)
		} else {
			a[i], ok = asInt(x)
		}
		if !ok {
			return nil, argTypeErr(name, args)
		}
	}
	re, err := regexArg(a[1])
	if err != nil {
		return nil, err
	}
	// A literal every match must contain: strings without it cannot match,
	// and a substring search is far cheaper than running the regexp.
	need := ""
	if re != nil {
		need = requiredLiteral(re.String())
	}
	// With a constant pattern and group the result depends on the string
	// alone: remember it for strings that repeat.
	useMemo := re != nil && (len(a) == 2 || IsConst(a[2]))
	f := newFn(name, types.String, a, func(f *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		var m *memo[span]
		if useMemo {
			if m, _ = f.cache.(*memo[span]); m == nil {
				m = newMemo[span]()
				f.cache = m
			}
		}
		for i := 0; i < n; i++ {
			if out.IsNull(i) {
				continue
			}
			s := in[0].Str[i]
			var h uint64
			if m != nil {
				sp, hh, ok := m.get(s)
				if ok {
					if sp.lo >= 0 {
						out.Str[i] = s[sp.lo:sp.hi]
					} else {
						setNullAt(out, i)
					}
					continue
				}
				h = hh
			}
			lo, hi := -1, -1
			if need == "" || strings.Contains(s, need) {
				group := int64(0)
				if len(in) == 3 {
					group = in[2].I64[i]
				}
				lo, hi = extractSpan(f.regexFor(in[1], i), s, group)
			}
			if m != nil {
				// Memoized keys are short: their offsets fit an int32.
				m.put(h, s, span{int32(lo), int32(hi)})
			}
			if lo < 0 {
				setNullAt(out, i)
				continue
			}
			out.Str[i] = s[lo:hi]
		}
		return nil
	})
	if re != nil {
		f.aux = re
	}
	return f, nil
}

// span is the byte range [lo, hi) of a memoized result within its input
// string; lo is -1 when the result is NULL.
type span struct{ lo, hi int32 }

// extractSpan returns the byte range [lo, hi) of group in re's first match
// in s, or lo = -1 for NULL: re is nil, nothing matches, the group does not
// exist or did not take part in the match.
func extractSpan(re *regexp.Regexp, s string, group int64) (lo, hi int) {
	if re == nil || group < 0 || group > int64(re.NumSubexp()) {
		return -1, -1
	}
	m := re.FindStringSubmatchIndex(s)
	if m == nil || m[2*group] < 0 {
		return -1, -1
	}
	return m[2*group], m[2*group+1]
}

// requiredLiteral returns the longest case-sensitive literal that every
// match of the pattern contains (a literal directly in the pattern's
// top-level concatenation), or "" when there is none.
func requiredLiteral(pattern string) string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	best := ""
	for _, s := range subs {
		if s.Op == syntax.OpCapture && len(s.Sub) == 1 {
			s = s.Sub[0]
		}
		if s.Op == syntax.OpLiteral && s.Flags&syntax.FoldCase == 0 && len(s.Rune) > len([]rune(best)) {
			best = string(s.Rune)
		}
	}
	return best
}

// buildRegexpReplace: REGEXP_REPLACE(s, regex, replacement), replacement
// using $1 for groups.
func buildRegexpReplace(name string, args []Expr) (Expr, error) {
	a, err := stringArgs(name, args)
	if err != nil {
		return nil, err
	}
	re, err := regexArg(a[1])
	if err != nil {
		return nil, err
	}
	need := ""
	if re != nil {
		need = requiredLiteral(re.String())
	}
	useMemo := re != nil && IsConst(a[2])
	f := newFn(name, types.String, a, func(f *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		var m *memo[replaced]
		if useMemo {
			if m, _ = f.cache.(*memo[replaced]); m == nil {
				m = newMemo[replaced]()
				f.cache = m
			}
		}
		for i := 0; i < n; i++ {
			if out.IsNull(i) {
				continue
			}
			s := in[0].Str[i]
			var h uint64
			if m != nil {
				r, hh, ok := m.get(s)
				if ok {
					if r.same {
						out.Str[i] = s
					} else {
						out.Str[i] = r.s
					}
					continue
				}
				h = hh
			}
			r := s // nothing to replace without the required literal
			if need == "" || strings.Contains(s, need) {
				re := f.regexFor(in[1], i)
				if re == nil {
					setNullAt(out, i)
					continue
				}
				r = re.ReplaceAllString(s, in[2].Str[i])
			}
			if m != nil && len(r) <= memoMaxResult {
				if r == s {
					m.put(h, s, replaced{same: true})
				} else {
					m.put(h, s, replaced{s: r})
				}
			}
			out.Str[i] = r
		}
		return nil
	})
	if re != nil {
		f.aux = re
	}
	return f, nil
}

// replaced is a memoized REGEXP_REPLACE result: the input itself (which
// the memo must not keep) or a string of its own.
type replaced struct {
	same bool
	s    string
}

// buildSplitIndex: SPLIT_INDEX(s, sep, idx) as in Flink: the idx-th
// (0-based) field of s split by sep; NULL when idx is negative or beyond
// the last field. An empty sep splits at whitespace.
func buildSplitIndex(name string, args []Expr) (Expr, error) {
	s, ok1 := asString(args[0])
	sep, ok2 := asString(args[1])
	idx, ok3 := asInt(args[2])
	if !ok1 || !ok2 || !ok3 {
		return nil, argTypeErr(name, args)
	}
	return newFn(name, types.String, []Expr{s, sep, idx}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i := 0; i < n; i++ {
			if out.IsNull(i) {
				continue
			}
			field, ok := splitField(in[0].Str[i], in[1].Str[i], in[2].I64[i])
			if !ok {
				setNullAt(out, i)
				continue
			}
			out.Str[i] = field
		}
		return nil
	}), nil
}

func splitField(s, sep string, idx int64) (string, bool) {
	if idx < 0 || s == "" {
		return "", false
	}
	for k := int64(0); ; k++ {
		var j, w int
		if sep == "" {
			j = strings.IndexAny(s, " \t\n\r\f\v")
			w = 1
		} else {
			j = strings.Index(s, sep)
			w = len(sep)
		}
		if k == idx {
			if j < 0 {
				return s, true
			}
			return s[:j], true
		}
		if j < 0 {
			return "", false
		}
		s = s[j+w:]
	}
}
