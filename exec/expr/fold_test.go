package expr

import (
	"errors"
	"sync"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

func TestFold(t *testing.T) {
	e, err := C("+", col("i"), C("*", 2, C("+", 1, 2)))()
	if err != nil {
		t.Fatal(err)
	}
	if IsConst(e) {
		t.Fatal("column expression is constant")
	}
	f, err := Fold(e)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.String(); got != "i + 6" {
		t.Fatalf("folded to %s", got)
	}
	c, _ := C("CONCAT", "a", C("UPPER", "b"))()
	if !IsConst(c) {
		t.Fatal("constant not recognised")
	}
	if f, _ := Fold(c); f.String() != "'aB'" {
		t.Fatalf("folded to %s", f)
	}
	// Constant overflow surfaces when folding.
	o, _ := C("+", int64(9223372036854775807), 1)()
	if _, err := Fold(o); err == nil {
		t.Fatal("overflow not reported")
	}
}

func TestEvalRow(t *testing.T) {
	e, _ := C("CONCAT", Col(0, types.String, "x"), "!")()
	d, err := EvalRow(e, []types.Datum{types.StringDatum("hi")})
	if err != nil || d.String() != "hi!" || d.Type != types.String {
		t.Fatalf("EvalRow = %v, %v", d, err)
	}
	d, err = EvalRow(e, []types.Datum{types.NullDatum(types.String)})
	if err != nil || !d.Null {
		t.Fatalf("EvalRow NULL = %v, %v", d, err)
	}
}

func TestFilter(t *testing.T) {
	b := fixture()
	for _, c := range []struct {
		e    mk
		want []bool
	}{
		{C(">", col("i"), 0), []bool{true, false, false}},
		{col("b"), []bool{true, false, false}},
		{col("j"), []bool{true, false, true}},
		{col("f"), []bool{true, false, true}},
		{lit(nil), []bool{false, false, false}},
	} {
		e, err := c.e()
		if err != nil {
			t.Fatal(err)
		}
		keep, err := Filter(e, b, make([]bool, 1, 8))
		if err != nil {
			t.Fatal(err)
		}
		for i := range c.want {
			if keep[i] != c.want[i] {
				t.Errorf("Filter(%s) = %v, want %v", e, keep, c.want)
				break
			}
		}
	}
	bad, _ := C(">", C("+", col("big"), 1), 0)()
	if _, err := Filter(bad, b, nil); err == nil {
		t.Fatal("Filter lost the overflow error")
	}
	wide := Col(20, types.BigInt, "")
	if _, err := Filter(wide, b, nil); err == nil || err.Error() != "column $20 is beyond the input's 10 columns" {
		t.Fatalf("Filter beyond columns: %v", err)
	}
}

// TestClonesConcurrently runs clones of one tree in parallel (run with -race).
func TestClonesConcurrently(t *testing.T) {
	e, err := C("CONCAT", C("UPPER", col("s")), C("IFNULL", C("REGEXP_EXTRACT", col("s"), col("s2")), "-"),
		C("IFNULL", C("DATE_FORMAT", col("ts"), col("s2")), "-"), C("IF", C("LIKE", col("s"), col("s2")), "y", "n"))()
	if err != nil {
		t.Fatal(err)
	}
	want, err := render(e)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		c := e.Clone()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 50; k++ {
				if got, err := render(c); err != nil || got != want {
					t.Errorf("clone got %s, %v; want %s", got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestJavaQuotes(t *testing.T) {
	us, _ := parseTimestamp("2020-01-02 10:00:00")
	got := string(compileFormat("hh 'o''clock' '' yyyy'T'").format(nil, us))
	if got != "10 o'clock ' 2020T" {
		t.Fatalf("got %q", got)
	}
}

func TestFunctionsListed(t *testing.T) {
	names := Functions()
	if len(names) < 100 {
		t.Fatalf("only %d functions", len(names))
	}
	for _, n := range []string{"+", "CONCAT", "DATE_FORMAT", "IS NOT NULL", "REGEXP_EXTRACT"} {
		found := false
		for _, x := range names {
			found = found || x == n
		}
		if !found {
			t.Errorf("%s missing", n)
		}
	}
}

// shortExpr is a foreign Expr that breaks the Eval contract.
type shortExpr struct{}

func (shortExpr) Type() types.Type { return types.BigInt }
func (shortExpr) String() string   { return "short()" }
func (shortExpr) Clone() Expr      { return shortExpr{} }
func (shortExpr) Eval(b *types.Batch, out *types.Vector) error {
	out.Reset(types.BigInt)
	out.Append(types.IntDatum(1))
	return nil
}

func TestForeignExpr(t *testing.T) {
	e, err := Call("+", shortExpr{}, Lit(IntLiteral(1)))
	if err != nil {
		t.Fatal(err)
	}
	if IsConst(e) {
		t.Fatal("foreign expression taken as constant")
	}
	if _, err := render(e); !errors.Is(err, ErrEval) {
		t.Fatalf("got %v, want ErrEval", err)
	}
}
