package planner

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
)

// Rank numbers the rows of each partition by Order (ROW_NUMBER()) and
// keeps those ranked 1..N: Top-N, and deduplication when N = 1. Its output
// is the input columns followed by the BIGINT rank. N is set from the
// enclosing query's filter on the rank (rn <= N) by the optimizer.
//
// A Rank whose partition columns include the window_start and window_end
// of a windowed input (a window TVF or window aggregate, through filters
// and column projections) is a window Top-N (Window set; see
// window_rank.go): append-only, each window's ranks emitted once when the
// watermark passes its end.
type Rank struct {
	Input         Node
	PartitionCols []int
	Order         []SortKey
	N             int64
	Name          string
	// Window is set by the optimizer (limitRanks) for a window Top-N.
	Window *RankWindow
}

// Fields implements Node.
func (r *Rank) Fields() []Field {
	return append(append([]Field(nil), r.Input.Fields()...), Field{Name: r.Name, Type: types.Type{Kind: types.KindBigInt, NotNull: true}})
}

// Inputs implements Node.
func (r *Rank) Inputs() []Node { return []Node{r.Input} }

// Mode implements Node: a window Top-N is append-only.
func (r *Rank) Mode() connectors.ChangelogMode {
	if r.window() != nil {
		return connectors.AppendOnly
	}
	return connectors.Retract
}

// Bounded implements Node.
func (r *Rank) Bounded() bool { return r.Input.Bounded() }

func (r *Rank) describe() string {
	in := r.Input.Fields()
	var parts, order []string
	for _, c := range r.PartitionCols {
		parts = append(parts, in[c].Name)
	}
	for _, k := range r.Order {
		d := "ASC"
		if k.Desc {
			d = "DESC"
		}
		order = append(order, in[k.Col].Name+" "+d)
	}
	if w := r.Window; w != nil {
		parts = parts[:0]
		for _, c := range r.PartitionCols {
			if c != w.Start && c != w.End {
				parts = append(parts, in[c].Name)
			}
		}
		return fmt.Sprintf("WindowRank(rankType=[ROW_NUMBER], window=[%s, %s], partitionBy=[%s], orderBy=[%s], rankRange=[1..%d])",
			in[w.Start].Name, in[w.End].Name, strings.Join(parts, ", "), strings.Join(order, ", "), r.N)
	}
	return fmt.Sprintf("Rank(rankType=[ROW_NUMBER], partitionBy=[%s], orderBy=[%s], rankRange=[1..%d])",
		strings.Join(parts, ", "), strings.Join(order, ", "), r.N)
}

// rankHook plans ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...) in a
// select list: it puts a Rank node over *in (once) and reads its rank
// column.
func (b *builder) rankHook(in *Node, base []Field) func(ast.ExprNode) (expr.Expr, bool, error) {
	var rank *Rank
	return func(n ast.ExprNode) (expr.Expr, bool, error) {
		w, ok := n.(*ast.WindowFuncExpr)
		if !ok {
			return nil, false, nil
		}
		if !strings.EqualFold(w.Name, "row_number") {
			return nil, true, b.errAt(w.OriginTextPosition(), "window function %s is not supported yet (ROW_NUMBER is)", strings.ToUpper(w.Name))
		}
		if rank != nil {
			return nil, true, b.errAt(w.OriginTextPosition(), "only one ROW_NUMBER() per query block is supported")
		}
		if w.Spec.Frame != nil || w.Spec.Name.O != "" || w.Spec.Ref.O != "" {
			return nil, true, b.errAt(w.OriginTextPosition(), "ROW_NUMBER() takes OVER (PARTITION BY ... ORDER BY ...) only")
		}
		sc := &scope{fields: base}
		r := &Rank{Input: *in, Name: "$rank"}
		col := func(e ast.ExprNode) (int, error) {
			x, err := b.convert(sc, e)
			if err != nil {
				return 0, err
			}
			i, ok := expr.ColumnIndex(x)
			if !ok {
				return 0, b.errAt(exprOffset(e), "PARTITION BY and ORDER BY of ROW_NUMBER() take columns")
			}
			return i, nil
		}
		if w.Spec.PartitionBy != nil {
			for _, item := range w.Spec.PartitionBy.Items {
				c, err := col(item.Expr)
				if err != nil {
					return nil, true, err
				}
				r.PartitionCols = append(r.PartitionCols, c)
			}
		}
		if w.Spec.OrderBy != nil {
			for _, item := range w.Spec.OrderBy.Items {
				c, err := col(item.Expr)
				if err != nil {
					return nil, true, err
				}
				r.Order = append(r.Order, SortKey{Col: c, Desc: item.Desc})
			}
		}
		rank = r
		*in = r
		return expr.Col(len(base), types.BigInt, "$rank"), true, nil
	}
}

// limitRanks turns a filter on a Rank's rank column (rn <= N, rn < N,
// rn = 1) into the Rank's N, and marks window Top-Ns (Rank.Window); a
// Rank with no such filter is an error.
func (pl *Planner) limitRanks(n Node) (Node, error) {
	n, err := limitRank(n)
	if err != nil {
		return nil, err
	}
	if r, ok := n.(*Rank); ok && r.N <= 0 {
		return nil, fmt.Errorf("ROW_NUMBER() is supported for Top-N only: filter its result in the enclosing query with rn <= N (or rn = 1)")
	}
	ins := n.Inputs()
	for i, in := range ins {
		p, err := pl.limitRanks(in)
		if err != nil {
			return nil, err
		}
		ins[i] = p
	}
	n = withInputs(n, ins)
	if r, ok := n.(*Rank); ok {
		r.Window = rankWindow(r)
	}
	return n, nil
}

// limitRank rewrites one Filter directly over a Rank.
func limitRank(n Node) (Node, error) {
	f, ok := n.(*Filter)
	if !ok {
		return n, nil
	}
	r, ok := f.Input.(*Rank)
	if !ok || r.N > 0 {
		return n, nil
	}
	rankCol := len(r.Input.Fields())
	var rest []expr.Expr
	for _, c := range expr.Conjuncts(f.Cond) {
		op, l, rr, ok := expr.Comparison(c)
		if ok {
			if lc, isCol := expr.ColumnIndex(l); isCol && lc == rankCol {
				if d, isLit := expr.LitValue(rr); isLit && !d.Null && d.Type.IsInteger() {
					limit := int64(-1)
					switch op {
					case "<=":
						limit = d.I
					case "<":
						limit = d.I - 1
					case "=":
						if d.I == 1 {
							limit = 1
						}
					}
					if limit >= 1 && (r.N <= 0 || limit < r.N) {
						r2 := *r
						r2.N = limit
						r = &r2
						continue
					}
				}
			}
		}
		rest = append(rest, c)
	}
	if r.N <= 0 {
		return nil, fmt.Errorf("ROW_NUMBER() is supported for Top-N only: filter its result in the enclosing query with rn <= N (or rn = 1)")
	}
	cond, err := andAll(rest)
	if err != nil {
		return nil, err
	}
	if cond == nil {
		return r, nil
	}
	return &Filter{Input: r, Cond: cond}, nil
}
