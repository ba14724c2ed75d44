package expr

import (
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

func TestCommonSubexprs(t *testing.T) {
	re := C("REGEXP_EXTRACT", col("s"), "(l+)", 1)
	lower := C("LOWER", col("s"))
	cases := []struct {
		name     string
		all, sub []mk
		defs     string // the shared subexpressions, joined by "; "
		out      string // the rewritten all then sub, joined by "; "
	}{
		{
			name: "filter and projection (q21)",
			all:  []mk{C("OR", C("IS NOT NULL", re), C("=", lower, "abc"))},
			sub:  []mk{C("IF", C("=", lower, "abc"), "0", re), lower},
			defs: "REGEXP_EXTRACT(s, '(l+)', 1); LOWER(s) = 'abc'",
			out:  "($10 IS NOT NULL) OR $11; CASE WHEN $11 THEN '0' ELSE $10 END; LOWER(s)",
		},
		{
			name: "projection columns",
			all:  []mk{C("UPPER", col("s")), C("CONCAT", C("UPPER", col("s")), "!")},
			defs: "UPPER(s)",
			out:  "$10; CONCAT($10, '!')",
		},
		{
			name: "volatile is never shared",
			all:  []mk{C("+", C("RAND"), 1), C("+", C("RAND"), 1)},
		},
		{
			name: "once is not shared",
			all:  []mk{C("UPPER", col("s"))},
			sub:  []mk{C("LOWER", col("s")), C("UPPER", col("s2"))},
		},
		{
			name: "fallible and guarded by OR is not shared",
			// Row 0 would overflow big * 2, but j <> 0 decides it.
			all: []mk{C("OR", C("<>", col("j"), 0), C(">", C("*", col("big"), 2), 0))},
			sub: []mk{C("*", col("big"), 2)},
		},
		{
			name: "fallible evaluated unconditionally is shared",
			all:  []mk{C(">", C("*", col("j"), 2), 5)},
			sub:  []mk{C("*", col("j"), 2)},
			defs: "j * 2",
			out:  "$10 > 5; $10",
		},
		{
			name: "infallible on the right of AND is shared",
			all:  []mk{C("AND", col("b"), C("=", C("UPPER", col("s")), "ABC"))},
			sub:  []mk{C("UPPER", col("s"))},
			defs: "UPPER(s)",
			out:  "b AND ($10 = 'ABC'); $10",
		},
		{
			name: "only in a later CASE branch is not shared",
			all:  []mk{C("IF", col("b"), C("UPPER", col("s")), "x")},
			sub:  []mk{C("UPPER", col("s"))},
		},
		{
			name: "only in the projection is not computed for every row",
			all:  []mk{C(">", col("j"), 1)},
			sub:  []mk{C("UPPER", col("s")), C("UPPER", col("s"))},
		},
		{
			name: "largest first",
			all:  []mk{C("=", C("UPPER", lower), "ABC")},
			sub:  []mk{C("UPPER", lower), lower},
			defs: "UPPER(LOWER(s))",
			out:  "$10 = 'ABC'; $10; LOWER(s)",
		},
		{
			name: "column display names are ignored",
			all:  []mk{C("UPPER", col("s")), C("UPPER", Col(4, types.Varchar(20), "alias"))},
			defs: "UPPER(s)",
			out:  "$10; $10",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			all, sub := build(t, c.all), build(t, c.sub)
			want := renderAll(t, all, fixture())
			defs, allOut, subOut := CommonSubexprs(all, sub, len(fixtureCols))
			if got := joinExprs(defs); got != c.defs {
				t.Fatalf("defs = %q, want %q", got, c.defs)
			}
			if len(defs) == 0 {
				if len(allOut) != len(all) || len(subOut) != len(sub) {
					t.Fatalf("rewrote %d, %d expressions, want %d, %d", len(allOut), len(subOut), len(all), len(sub))
				}
				return
			}
			want = append(want, renderAll(t, sub, fixture())...)
			if got := joinExprs(append(append([]Expr(nil), allOut...), subOut...)); got != c.out {
				t.Fatalf("rewritten = %q, want %q", got, c.out)
			}
			// The rewritten expressions read the shared ones as extra
			// columns and give the same rows.
			b := fixture()
			for _, d := range defs {
				var v types.Vector
				if err := d.Eval(b, &v); err != nil {
					t.Fatalf("eval %s: %v", d, err)
				}
				b.Cols = append(b.Cols, v)
			}
			got := append(renderAll(t, allOut, b), renderAll(t, subOut, b)...)
			if strings.Join(got, "; ") != strings.Join(want, "; ") {
				t.Fatalf("rows = %v, want %v", got, want)
			}
		})
	}
}

// TestCommonSubexprsKeepsInputs checks that the input expressions are not
// modified.
func TestCommonSubexprsKeepsInputs(t *testing.T) {
	all := build(t, []mk{C("UPPER", col("s")), C("CONCAT", C("UPPER", col("s")), "!")})
	before := joinExprs(all)
	if defs, _, _ := CommonSubexprs(all, nil, len(fixtureCols)); len(defs) != 1 {
		t.Fatalf("defs = %v, want one", defs)
	}
	if after := joinExprs(all); after != before {
		t.Fatalf("inputs changed: %q, was %q", after, before)
	}
}

func build(t *testing.T, ms []mk) []Expr {
	t.Helper()
	es := make([]Expr, len(ms))
	for i, m := range ms {
		e, err := m()
		if err != nil {
			t.Fatalf("build: %v", err)
		}
		es[i] = e
	}
	return es
}

func renderAll(t *testing.T, es []Expr, b *types.Batch) []string {
	t.Helper()
	out := make([]string, len(es))
	for i, e := range es {
		var v types.Vector
		if err := e.Eval(b, &v); err != nil {
			t.Fatalf("eval %s: %v", e, err)
		}
		parts := make([]string, b.Len())
		for r := range parts {
			parts[r] = v.Get(r).String()
			if v.IsNull(r) {
				parts[r] = "NULL"
			}
		}
		out[i] = strings.Join(parts, "|")
	}
	return out
}

func joinExprs(es []Expr) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.String()
	}
	return strings.Join(s, "; ")
}
