package expr

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

// TestCaseMatchesStrings compares UPPER and LOWER with strings.ToUpper and
// strings.ToLower on random ASCII and non-ASCII strings, with NULLs.
func TestCaseMatchesStrings(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	// The ASCII letters and their neighbours, then some that are not ASCII.
	const nASCII = 14
	alphabet := []string{"a", "z", "A", "Z", "q", "M", "0", "@", "[", "`", "{", "\x00", "\x7f", " ",
		"é", "É", "ß", "İ", "K", "ǅ", "\xff"}
	for _, name := range []string{"UPPER", "LOWER", "UCASE", "LCASE"} {
		conv := strings.ToLower
		if name == "UPPER" || name == "UCASE" {
			conv = strings.ToUpper
		}
		e := mustBuild(t, C(name, Col(0, types.String, "s")))
		var out types.Vector
		for k := 0; k < 20; k++ {
			b := &types.Batch{}
			b.Reset([]types.Type{types.String})
			n := 1 + rng.Intn(300)
			for i := 0; i < n; i++ {
				if rng.Intn(10) == 0 {
					b.AppendRow(types.Insert, []types.Datum{types.NullDatum(types.String)})
					continue
				}
				var sb strings.Builder
				ascii := rng.Intn(2) == 0
				for j := rng.Intn(40); j > 0; j-- {
					c := alphabet[rng.Intn(len(alphabet))]
					if ascii {
						c = alphabet[rng.Intn(nASCII)]
					}
					sb.WriteString(c)
				}
				b.AppendRow(types.Insert, []types.Datum{types.StringDatum(sb.String())})
			}
			if err := e.Eval(b, &out); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				in := b.Cols[0]
				if in.IsNull(i) != out.IsNull(i) {
					t.Fatalf("%s row %d: NULL %v, want %v", name, i, out.IsNull(i), in.IsNull(i))
				}
				if !in.IsNull(i) && out.Str[i] != conv(in.Str[i]) {
					t.Fatalf("%s(%q) = %q, want %q", name, in.Str[i], out.Str[i], conv(in.Str[i]))
				}
			}
		}
	}
}

// BenchmarkLower lowers Nexmark's bid channels: half of them one of four
// capitalised names, half already lower case.
func BenchmarkLower(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	hot := []string{"Google", "Facebook", "Baidu", "Apple"}
	bt := &types.Batch{}
	bt.Reset([]types.Type{types.String})
	for i := 0; i < types.DefaultBatchSize; i++ {
		s := "channel-" + word(rng)
		if rng.Intn(2) == 0 {
			s = hot[rng.Intn(len(hot))]
		}
		bt.AppendRow(types.Insert, []types.Datum{types.StringDatum(s)})
	}
	e := mustBuild(b, C("LOWER", Col(0, types.String, "channel")))
	var out types.Vector
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Eval(bt, &out); err != nil {
			b.Fatal(err)
		}
	}
}
