// Package sqlexpr converts TiDB expression ASTs into typed, vectorized
// expressions of package exec/expr.
//
// The planner calls Convert once per expression of a query block, with a
// Context that resolves column names (Scope), locates errors (Span), gives
// the Sluice types of CAST targets (Ext) and lets the planner take over the
// nodes it handles itself (Hook: aggregates, subqueries, window columns):
//
//	ctx := &sqlexpr.Context{Scope: scope, Span: q.Span, Ext: q.Ext}
//	e, err := sqlexpr.Convert(ctx, field.Expr)   // expr.Expr, or a *parser.Error
//	e, err = expr.Fold(e)                          // constant subtrees → literals
//
// For example `price * 2 > 10 AND name LIKE 'a%'` over columns (price INT,
// name VARCHAR) becomes
//
//	AND ─┬─ >    ─┬─ *  ─┬─ $price (INT)
//	     │        │      └─ 2      (INT literal)
//	     │        └─ 10
//	     └─ LIKE ─┬─ $name
//	              └─ 'a%'  (compiled once into a prefix match)
//
// # Literals
//
// Integer literals are INT when they fit 32 bits and BIGINT otherwise (as
// Flink types them); decimal literals (1.50) are DECIMAL(p, s), or DOUBLE
// beyond 18 digits; literals with an exponent (1e3) are DOUBLE; strings are
// STRING; TRUE and FALSE are BOOLEAN (TiDB marks them with IsBooleanFlag);
// hex and bit literals (x'41', 0x41, b'101') are BYTES; DATE '...', TIME
// '...' and TIMESTAMP '...' are typed literals.
//
// # Errors
//
// Every error is a *parser.Error pointing into the user's script: at the
// column for an unknown or ambiguous column ("Unknown column 'x'"), at the
// operator for an operator's type error ("cannot apply '+' to VARCHAR and
// INT"), at the function name for a function's ("Unknown function 'FOO'",
// "function UPPER expects 1 argument, got 2"), and at the literal when a
// constant does not convert ("cannot cast 'abc' to DATE").
//
// # Not supported (yet)
//
// Subqueries (IN (SELECT ...), EXISTS, comparisons with ANY/ALL, scalar
// subqueries), aggregate and window functions are errors unless the Hook
// handles them. Bit operators (& | ^ ~ << >>), variables, DEFAULT and row
// constructors are errors. COLLATE is accepted and ignored (strings compare
// bytewise).
package sqlexpr
