package expr

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sluicesql/sluice/exec/types"
)

// Less common string functions (MySQL and Flink).

func init() {
	register("SUBSTRING_INDEX", 3, 3, buildSubstringIndex)
	register("ASCII", 1, 1, strToInt(func(s string) int64 {
		if s == "" {
			return 0
		}
		return int64(s[0])
	}))
	register("INITCAP", 1, 1, strMap(initcap, true))
	register("SPACE", 1, 1, buildSpace)
	register("STRCMP", 2, 2, buildStrcmp)
	register("CHR", 1, 1, buildChr)
	register("MD5", 1, 1, strMap(func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }, false))
	register("SHA1 SHA", 1, 1, strMap(func(s string) string { h := sha1.Sum([]byte(s)); return hex.EncodeToString(h[:]) }, false))
	register("SHA256", 1, 1, strMap(func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }, false))
	register("SHA2", 2, 2, buildSHA2)
	register("TO_BASE64", 1, 1, strMap(func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }, false))
	register("FROM_BASE64", 1, 1, buildFromBase64)
	register("HEX", 1, 1, strMap(func(s string) string { return strings.ToUpper(hex.EncodeToString([]byte(s))) }, false))
	register("UUID", 0, 0, buildUUID)
}

// initcap upper-cases the first letter of each word and lower-cases the
// rest (Flink's INITCAP).
func initcap(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	start := true
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if start {
				b.WriteRune(unicode.ToUpper(r))
			} else {
				b.WriteRune(unicode.ToLower(r))
			}
			start = false
			continue
		}
		b.WriteRune(r)
		start = true
	}
	return b.String()
}

// buildSubstringIndex: SUBSTRING_INDEX(s, delim, count) as MySQL: the part
// before the count-th delimiter (from the right when count < 0).
func buildSubstringIndex(name string, args []Expr) (Expr, error) {
	s, ok1 := asString(args[0])
	d, ok2 := asString(args[1])
	k, ok3 := asInt(args[2])
	if !ok1 || !ok2 || !ok3 {
		return nil, argTypeErr(name, args)
	}
	return newFn(name, types.String, []Expr{s, d, k}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, s := range in[0].Str[:n] {
			d, k := in[1].Str[i], in[2].I64[i]
			switch {
			case d == "" || k == 0:
				out.Str[i] = ""
			case k > 0:
				pos := 0
				for ; k > 0; k-- {
					j := strings.Index(s[pos:], d)
					if j < 0 {
						pos = -1
						break
					}
					pos += j + len(d)
				}
				if pos < 0 {
					out.Str[i] = s
				} else {
					out.Str[i] = s[:pos-len(d)]
				}
			default:
				end := len(s)
				for ; k < 0; k++ {
					j := strings.LastIndex(s[:end], d)
					if j < 0 {
						end = -1
						break
					}
					end = j
				}
				if end < 0 {
					out.Str[i] = s
				} else {
					out.Str[i] = s[end+len(d):]
				}
			}
		}
		return nil
	}), nil
}

func buildSpace(name string, args []Expr) (Expr, error) {
	k, ok := asInt(args[0])
	if !ok {
		return nil, argTypeErr(name, args)
	}
	return newFn(name, types.String, []Expr{k}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, k := range in[0].I64[:n] {
			switch {
			case k <= 0:
				out.Str[i] = ""
			case k > maxStringResult:
				setNullAt(out, i)
			default:
				out.Str[i] = strings.Repeat(" ", int(k))
			}
		}
		return nil
	}), nil
}

func buildStrcmp(name string, args []Expr) (Expr, error) {
	a, err := stringArgs(name, args)
	if err != nil {
		return nil, err
	}
	return newFn(name, types.Int, a, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, s := range in[0].Str[:n] {
			out.I64[i] = int64(strings.Compare(s, in[1].Str[i]))
		}
		return nil
	}), nil
}

// buildChr: CHR(n) is the character with code point n (Flink); NULL for
// an invalid code point.
func buildChr(name string, args []Expr) (Expr, error) {
	k, ok := asInt(args[0])
	if !ok {
		return nil, argTypeErr(name, args)
	}
	return newFn(name, types.String, []Expr{k}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, k := range in[0].I64[:n] {
			if out.IsNull(i) {
				continue
			}
			if k < 0 || k > utf8.MaxRune || !utf8.ValidRune(rune(k)) {
				setNullAt(out, i)
				continue
			}
			out.Str[i] = string(rune(k))
		}
		return nil
	}), nil
}

// buildSHA2: SHA2(s, bits) with bits 224, 256 (or 0), 384 or 512; NULL
// otherwise.
func buildSHA2(name string, args []Expr) (Expr, error) {
	s, ok1 := asString(args[0])
	b, ok2 := asInt(args[1])
	if !ok1 || !ok2 {
		return nil, argTypeErr(name, args)
	}
	return newFn(name, types.String, []Expr{s, b}, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, s := range in[0].Str[:n] {
			if out.IsNull(i) {
				continue
			}
			var sum []byte
			switch in[1].I64[i] {
			case 224:
				h := sha256.Sum224([]byte(s))
				sum = h[:]
			case 0, 256:
				h := sha256.Sum256([]byte(s))
				sum = h[:]
			case 384:
				h := sha512.Sum384([]byte(s))
				sum = h[:]
			case 512:
				h := sha512.Sum512([]byte(s))
				sum = h[:]
			default:
				setNullAt(out, i)
				continue
			}
			out.Str[i] = hex.EncodeToString(sum)
		}
		return nil
	}), nil
}

func buildFromBase64(name string, args []Expr) (Expr, error) {
	a, err := stringArgs(name, args)
	if err != nil {
		return nil, err
	}
	return newFn(name, types.String, a, func(_ *fnExpr, in []*types.Vector, out *types.Vector, n int) error {
		for i, s := range in[0].Str[:n] {
			if out.IsNull(i) {
				continue
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				setNullAt(out, i)
				continue
			}
			out.Str[i] = string(b)
		}
		return nil
	}), nil
}

// buildUUID: UUID() is a random (version 4) UUID per row; volatile.
func buildUUID(name string, _ []Expr) (Expr, error) {
	f := newFn(name, types.String, nil, func(_ *fnExpr, _ []*types.Vector, out *types.Vector, n int) error {
		var b [16]byte
		for i := 0; i < n; i++ {
			if _, err := rand.Read(b[:]); err != nil {
				return newErr(ErrEval, "UUID: %v", err)
			}
			b[6] = b[6]&0x0f | 0x40
			b[8] = b[8]&0x3f | 0x80
			out.Str[i] = fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
		}
		return nil
	})
	f.isVolat = true
	return f, nil
}
