package ops_test

import (
	"fmt"

	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
)

// Test-only expressions for what exec/expr does not construct yet
// (comparison and arithmetic calls). They follow expr.Expr's contract.

// gtConst is `$col > v` over a BIGINT column.
type gtConst struct {
	col int
	v   int64
}

func (e *gtConst) Type() types.Type { return types.Bool }
func (e *gtConst) String() string   { return fmt.Sprintf("$%d > %d", e.col, e.v) }
func (e *gtConst) Clone() expr.Expr { c := *e; return &c }

func (e *gtConst) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	in := &b.Cols[e.col]
	out.Reset(types.Bool)
	out.Nulls = nil
	out.Resize(n)
	res := out.I64[:n]
	for i, x := range in.I64[:n] {
		var r int64
		if x > e.v {
			r = 1
		}
		res[i] = r
	}
	if len(in.Nulls) >= n {
		out.Nulls = append(out.Nulls[:0], in.Nulls[:n]...)
	}
	return nil
}

// mulConst is `$col * k` over a BIGINT column (no overflow check).
type mulConst struct {
	col int
	k   int64
}

func (e *mulConst) Type() types.Type { return types.BigInt }
func (e *mulConst) String() string   { return fmt.Sprintf("$%d * %d", e.col, e.k) }
func (e *mulConst) Clone() expr.Expr { c := *e; return &c }

func (e *mulConst) Eval(b *types.Batch, out *types.Vector) error {
	n := b.Len()
	in := &b.Cols[e.col]
	out.Reset(types.BigInt)
	out.Nulls = nil
	out.Resize(n)
	res := out.I64[:n]
	for i, x := range in.I64[:n] {
		res[i] = x * e.k
	}
	if len(in.Nulls) >= n {
		out.Nulls = append(out.Nulls[:0], in.Nulls[:n]...)
	}
	return nil
}

// failing always fails.
type failing struct{}

func (failing) Type() types.Type                       { return types.Bool }
func (failing) String() string                         { return "fail()" }
func (failing) Clone() expr.Expr                       { return failing{} }
func (failing) Eval(*types.Batch, *types.Vector) error { return fmt.Errorf("division by zero") }
