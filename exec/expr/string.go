package expr

import (
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
	register("UPPER UCASE", 1, 1, strMap(strings.ToUpper, true))
	register("LOWER LCASE", 1, 1, strMap(strings.ToLower, true))
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
	f := newFn(name, types.String, a, func(f *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i := 0; i < n; i++ {
			if out.IsNull(i) {
				continue
			}
			if need != "" && !strings.Contains(in[0].Str[i], need) {
				setNullAt(out, i)
				continue
			}
			re := f.regexFor(in[1], i)
			group := int64(0)
			if len(in) == 3 {
				group = in[2].I64[i]
			}
			if re == nil || group < 0 || group > int64(re.NumSubexp()) {
				setNullAt(out, i)
				continue
			}
			m := re.FindStringSubmatchIndex(in[0].Str[i])
			if m == nil || m[2*group] < 0 {
				setNullAt(out, i)
				continue
			}
			out.Str[i] = in[0].Str[i][m[2*group]:m[2*group+1]]
		}
		return nil
	})
	if re != nil {
		f.aux = re
	}
	return f, nil
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
	f := newFn(name, types.String, a, func(f *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i := 0; i < n; i++ {
			if out.IsNull(i) {
				continue
			}
			re := f.regexFor(in[1], i)
			if re == nil {
				setNullAt(out, i)
				continue
			}
			out.Str[i] = re.ReplaceAllString(in[0].Str[i], in[2].Str[i])
		}
		return nil
	})
	if re != nil {
		f.aux = re
	}
	return f, nil
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
