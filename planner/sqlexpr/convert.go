package sqlexpr

import (
	"errors"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/parser"
)

// Scope resolves column references for one query block.
type Scope interface {
	// Column resolves [qualifier.]name to an input column index and type;
	// errors: unknown or ambiguous column (plain message; Convert attaches
	// the position).
	Column(qualifier, name string) (idx int, t types.Type, err error)
}

// Context is what Convert needs besides the node.
type Context struct {
	Scope Scope
	// Span locates the statement the nodes belong to; node offsets are
	// relative to Span.Start.
	Span parser.Span
	// Ext gives CAST target types (may be nil: TiDB's FieldType is used).
	Ext *parser.Extensions
	// Hook, if set, is consulted first for each node; the planner uses it
	// for aggregates, subqueries and window columns. handled=false falls
	// through to the default conversion.
	Hook func(n ast.ExprNode) (e expr.Expr, handled bool, err error)
}

// Convert converts a TiDB expression into an expr.Expr. Errors are
// *parser.Error values positioned in ctx.Span's script.
func Convert(ctx *Context, n ast.ExprNode) (expr.Expr, error) {
	c := &converter{ctx: ctx}
	if ctx.Span.Script != "" && ctx.Span.Start >= 0 && ctx.Span.Start <= len(ctx.Span.Script) {
		c.text = ctx.Span.Script[ctx.Span.Start:]
	}
	return c.conv(n)
}

type converter struct {
	ctx  *Context
	text string // the statement's text (user's, from its start)
}

// errAt returns a positioned error with message msg at statement offset off.
func (c *converter) errAt(off int, msg string) error {
	return c.ctx.Span.ErrorAt(off, msg)
}

// wrap positions err at off unless it already is a *parser.Error.
func (c *converter) wrap(off int, err error) error {
	var pe *parser.Error
	if errors.As(err, &pe) {
		return err
	}
	return c.errAt(off, err.Error())
}

func (c *converter) conv(n ast.ExprNode) (expr.Expr, error) {
	if n == nil {
		return nil, c.errAt(0, "missing expression")
	}
	if c.ctx.Hook != nil {
		e, handled, err := c.ctx.Hook(n)
		if err != nil {
			return nil, c.wrap(n.OriginTextPosition(), err)
		}
		if handled {
			return e, nil
		}
	}
	switch x := n.(type) {
	case *ast.ParenthesesExpr:
		return c.conv(x.Expr)
	case *ast.ColumnNameExpr:
		return c.column(x)
	case ast.ParamMarkerExpr:
		return nil, c.errAt(n.OriginTextPosition(), "parameter markers are not supported")
	case ast.ValueExpr:
		return c.value(x)
	case *ast.BinaryOperationExpr:
		return c.binary(x)
	case *ast.UnaryOperationExpr:
		return c.unary(x)
	case *ast.IsNullExpr:
		e, err := c.conv(x.Expr)
		if err != nil {
			return nil, err
		}
		return expr.IsNull(e, x.Not), nil
	case *ast.IsTruthExpr:
		return c.isTruth(x)
	case *ast.BetweenExpr:
		return c.between(x)
	case *ast.PatternInExpr:
		return c.in(x)
	case *ast.PatternLikeOrIlikeExpr:
		return c.like(x)
	case *ast.PatternRegexpExpr:
		return c.regexp(x)
	case *ast.CaseExpr:
		return c.caseExpr(x)
	case *ast.FuncCallExpr:
		return c.funcCall(x)
	case *ast.FuncCastExpr:
		return c.cast(x)
	case *ast.SetCollationExpr:
		return c.conv(x.Expr)
	case *ast.AggregateFuncExpr:
		return nil, c.errAt(x.OriginTextPosition(), "aggregate functions are not supported here")
	case *ast.WindowFuncExpr:
		return nil, c.errAt(x.OriginTextPosition(), "window functions are not supported here")
	case *ast.SubqueryExpr, *ast.ExistsSubqueryExpr, *ast.CompareSubqueryExpr:
		return nil, c.errAt(n.OriginTextPosition(), "subqueries are not supported yet")
	case *ast.TimeUnitExpr:
		return expr.Lit(types.StringDatum(x.Unit.String())), nil
	case *ast.TrimDirectionExpr:
		return expr.Lit(types.StringDatum(x.Direction.String())), nil
	case *ast.RowExpr:
		return nil, c.errAt(x.OriginTextPosition(), "row expressions are not supported here")
	case *ast.VariableExpr:
		return nil, c.errAt(x.OriginTextPosition(), "variables are not supported")
	case *ast.DefaultExpr:
		return nil, c.errAt(x.OriginTextPosition(), "DEFAULT is not supported here")
	}
	return nil, c.errAt(n.OriginTextPosition(), "unsupported expression")
}

func (c *converter) column(x *ast.ColumnNameExpr) (expr.Expr, error) {
	name := x.Name.Name.O
	qual := x.Name.Table.O
	if ext := c.ctx.Ext; ext != nil && qual == "" {
		if _, ok := ext.Intervals[x.Name.Name.L]; ok {
			return nil, c.errAt(x.OriginTextPosition(), "INTERVAL is not supported here")
		}
	}
	if c.ctx.Scope == nil {
		return nil, c.errAt(x.OriginTextPosition(), "Unknown column '"+name+"'")
	}
	idx, t, err := c.ctx.Scope.Column(qual, name)
	if err != nil {
		return nil, c.wrap(x.OriginTextPosition(), err)
	}
	display := name
	if qual != "" {
		display = qual + "." + name
	}
	return expr.Col(idx, t, display), nil
}

// call builds a Call and positions its error: at a string literal among
// nodes when the error is about converting that literal, otherwise at off.
func (c *converter) call(off int, nodes []ast.ExprNode, name string, args ...expr.Expr) (expr.Expr, error) {
	e, err := expr.Call(name, args...)
	if err != nil {
		return nil, c.wrap(c.literalPos(err, off, nodes), err)
	}
	return e, nil
}

// literalPos finds the string literal an ErrInvalidLiteral message quotes.
func (c *converter) literalPos(err error, off int, nodes []ast.ExprNode) int {
	if !errors.Is(err, expr.ErrInvalidLiteral) {
		return off
	}
	msg := err.Error()
	for _, n := range nodes {
		for {
			p, ok := n.(*ast.ParenthesesExpr)
			if !ok {
				break
			}
			n = p.Expr
		}
		if v, ok := n.(ast.ValueExpr); ok {
			if s, ok := v.GetValue().(string); ok && strings.Contains(msg, "'"+s+"'") && v.OriginTextPosition() > 0 {
				return v.OriginTextPosition()
			}
		}
	}
	return off
}

var binaryNames = map[opcode.Op]string{
	opcode.LogicAnd: "AND", opcode.LogicOr: "OR", opcode.LogicXor: "XOR",
	opcode.GE: ">=", opcode.LE: "<=", opcode.EQ: "=", opcode.NE: "<>", opcode.LT: "<", opcode.GT: ">",
	opcode.NullEQ: "<=>", opcode.Plus: "+", opcode.Minus: "-", opcode.Mul: "*", opcode.Div: "/",
	opcode.IntDiv: "DIV", opcode.Mod: "%",
}

var unsupportedOps = map[opcode.Op]string{
	opcode.And: "&", opcode.Or: "|", opcode.Xor: "^", opcode.LeftShift: "<<", opcode.RightShift: ">>",
	opcode.BitNeg: "~",
}

func (c *converter) binary(x *ast.BinaryOperationExpr) (expr.Expr, error) {
	opOff := c.operatorPos(x.OriginTextPosition(), x.R)
	if sym, ok := unsupportedOps[x.Op]; ok {
		return nil, c.errAt(opOff, "operator '"+sym+"' is not supported")
	}
	name, ok := binaryNames[x.Op]
	if !ok {
		return nil, c.errAt(opOff, "operator '"+x.Op.String()+"' is not supported")
	}
	l, err := c.conv(x.L)
	if err != nil {
		return nil, err
	}
	r, err := c.conv(x.R)
	if err != nil {
		return nil, err
	}
	return c.call(opOff, []ast.ExprNode{x.L, x.R}, name, l, r)
}

func (c *converter) unary(x *ast.UnaryOperationExpr) (expr.Expr, error) {
	off := x.OriginTextPosition()
	if sym, ok := unsupportedOps[x.Op]; ok {
		return nil, c.errAt(off, "operator '"+sym+"' is not supported")
	}
	v, err := c.conv(x.V)
	if err != nil {
		return nil, err
	}
	switch x.Op {
	case opcode.Minus:
		if lit, ok := x.V.(ast.ValueExpr); ok {
			if d, ok := negateLiteral(lit); ok {
				return expr.Lit(d), nil
			}
		}
		return c.call(off, nil, "NEG", v)
	case opcode.Plus:
		if t := v.Type(); !(t.IsNumeric() || t.Kind == types.KindNull || t.Kind == types.KindBool) {
			return nil, c.errAt(off, "cannot apply '+' to "+t.Kind.String())
		}
		return v, nil
	case opcode.Not, opcode.Not2:
		return c.call(off, nil, "NOT", v)
	}
	return nil, c.errAt(off, "operator '"+x.Op.String()+"' is not supported")
}

func (c *converter) isTruth(x *ast.IsTruthExpr) (expr.Expr, error) {
	e, err := c.conv(x.Expr)
	if err != nil {
		return nil, err
	}
	name := "IS "
	if x.Not {
		name += "NOT "
	}
	if x.True != 0 {
		name += "TRUE"
	} else {
		name += "FALSE"
	}
	off := x.OriginTextPosition()
	return c.call(off, nil, name, e)
}

func (c *converter) between(x *ast.BetweenExpr) (expr.Expr, error) {
	e, err := c.conv(x.Expr)
	if err != nil {
		return nil, err
	}
	lo, err := c.conv(x.Left)
	if err != nil {
		return nil, err
	}
	hi, err := c.conv(x.Right)
	if err != nil {
		return nil, err
	}
	r, err := expr.Between(e, lo, hi, x.Not)
	if err != nil {
		off := c.operatorPos(x.OriginTextPosition(), x.Left)
		return nil, c.wrap(c.literalPos(err, off, []ast.ExprNode{x.Expr, x.Left, x.Right}), err)
	}
	return r, nil
}

func (c *converter) in(x *ast.PatternInExpr) (expr.Expr, error) {
	if x.Sel != nil {
		return nil, c.errAt(x.Sel.OriginTextPosition(), "IN (subquery) not supported yet")
	}
	e, err := c.conv(x.Expr)
	if err != nil {
		return nil, err
	}
	list := make([]expr.Expr, len(x.List))
	for i, item := range x.List {
		if list[i], err = c.conv(item); err != nil {
			return nil, err
		}
	}
	r, err := expr.In(e, list, x.Not)
	if err != nil {
		off := x.OriginTextPosition()
		if len(x.List) > 0 {
			off = c.operatorPos(off, x.List[0])
		}
		return nil, c.wrap(c.literalPos(err, off, append([]ast.ExprNode{x.Expr}, x.List...)), err)
	}
	return r, nil
}

func (c *converter) like(x *ast.PatternLikeOrIlikeExpr) (expr.Expr, error) {
	e, err := c.conv(x.Expr)
	if err != nil {
		return nil, err
	}
	p, err := c.conv(x.Pattern)
	if err != nil {
		return nil, err
	}
	var r expr.Expr
	if x.IsLike {
		r, err = expr.Like(e, p, x.Escape, x.Not)
	} else {
		r, err = expr.ILike(e, p, x.Escape, x.Not)
	}
	if err != nil {
		return nil, c.wrap(c.operatorPos(x.OriginTextPosition(), x.Pattern), err)
	}
	return r, nil
}

func (c *converter) regexp(x *ast.PatternRegexpExpr) (expr.Expr, error) {
	e, err := c.conv(x.Expr)
	if err != nil {
		return nil, err
	}
	p, err := c.conv(x.Pattern)
	if err != nil {
		return nil, err
	}
	r, err := expr.Regexp(e, p, x.Not)
	if err != nil {
		off := c.operatorPos(x.OriginTextPosition(), x.Pattern)
		if errors.Is(err, expr.ErrInvalidLiteral) && x.Pattern.OriginTextPosition() > 0 {
			off = x.Pattern.OriginTextPosition()
		}
		return nil, c.wrap(off, err)
	}
	return r, nil
}

func (c *converter) caseExpr(x *ast.CaseExpr) (expr.Expr, error) {
	var value expr.Expr
	var err error
	if x.Value != nil {
		if value, err = c.conv(x.Value); err != nil {
			return nil, err
		}
	}
	whens := make([]expr.Expr, len(x.WhenClauses))
	thens := make([]expr.Expr, len(x.WhenClauses))
	for i, w := range x.WhenClauses {
		cond, err := c.conv(w.Expr)
		if err != nil {
			return nil, err
		}
		if value != nil {
			if cond, err = c.call(w.Expr.OriginTextPosition(), []ast.ExprNode{x.Value, w.Expr}, "=", value, cond); err != nil {
				return nil, err
			}
		}
		whens[i] = cond
		if thens[i], err = c.conv(w.Result); err != nil {
			return nil, err
		}
	}
	var els expr.Expr
	if x.ElseClause != nil {
		if els, err = c.conv(x.ElseClause); err != nil {
			return nil, err
		}
	}
	r, err := expr.Case(whens, thens, els)
	if err != nil {
		nodes := []ast.ExprNode{x.ElseClause}
		for _, w := range x.WhenClauses {
			nodes = append(nodes, w.Result)
		}
		if x.ElseClause == nil {
			nodes = nodes[1:]
		}
		return nil, c.wrap(c.literalPos(err, x.OriginTextPosition(), nodes), err)
	}
	return r, nil
}
