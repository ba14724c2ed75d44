// Package expr holds Sluice's scalar expressions: typed trees compiled once
// at planning time and evaluated a batch at a time into typed vectors.
//
//	price := expr.Col(0, types.BigInt, "price")
//	pred, _ := expr.Call(">", price, expr.Lit(expr.IntLiteral(10)))
//	proj, _ := expr.Call("*", price, expr.Lit(expr.IntLiteral(2)))
//	keep, err := expr.Filter(pred, batch, keep)   // WHERE price > 10
//	var out types.Vector
//	err = proj.Eval(batch, &out)                   // SELECT price * 2
//
// Evaluation is vectorized: a node evaluates each child over the whole batch
// into a scratch vector it owns (column references and literals are read in
// place), then runs one tight loop per operator and type. Nothing is boxed
// and, in steady state, nothing is allocated per row or per batch except the
// strings that string functions build (see BenchmarkFilterProject). Because
// nodes keep scratch space, one tree serves one goroutine: Clone gives each
// subtask its own.
//
// # Building expressions
//
//   - Col(idx, type, name), Lit(datum) (IntLiteral gives INT or BIGINT as
//     Flink types integer literals; NumericLiteral and ParseLiteral type
//     literal text), Cast(e, type).
//   - Call(name, args...) for every operator and function, by upper- or
//     lower-case name: + - * / DIV % = <> != < <= > >= <=> AND OR XOR NOT
//     NEG (unary minus), "IS [NOT] NULL", "IS [NOT] TRUE", "IS [NOT] FALSE",
//     LIKE, "NOT LIKE", REGEXP, "NOT REGEXP", and the functions of
//     string.go, math.go, time.go and control (COALESCE, IFNULL, IF,
//     NULLIF, GREATEST, LEAST). Functions() lists them.
//   - Helpers for the same: And, Or, Not, Neg, IsNull, IsTrue, IsFalse,
//     Case (searched CASE; a simple CASE is built with = conditions), In,
//     Between, Like, ILike, Regexp, Coalesce, If, NullIf.
//   - Units and directions are constant string arguments (u below is
//     Lit(types.StringDatum("DAY")) and the like): Call("EXTRACT", u, ts),
//     Call("DATE_ADD", ts, n, u) (also DATE_SUB, ADDDATE, SUBDATE),
//     Call("TIMESTAMPADD", u, n, ts), Call("TIMESTAMPDIFF", u, a, b),
//     Call("TRIM", s, remstr, dir) with dir BOTH, LEADING or TRAILING.
//
// Construction type-checks and inserts implicit conversions; errors are
// *Error values of kind ErrType ("cannot apply '+' to VARCHAR and INT"),
// ErrArity ("function UPPER expects 1 argument, got 2"),
// ErrUnknownFunction ("Unknown function 'FOO'") or ErrInvalidLiteral
// ("cannot cast 'abc' to DATE"). Evaluation fails only on overflow
// (ErrOutOfRange: "BIGINT value is out of range in 'a + b'") or a malformed
// batch (ErrEval).
//
// Fold(e) replaces constant subtrees by literals (evaluating them on a
// one-row batch, so constant overflow is reported at planning time);
// IsConst(e) tells whether e reads no column and calls nothing volatile
// (NOW() and friends are never folded). EvalRow evaluates one row given as
// datums, outside the hot path. Filter(e, batch, keep) computes a selection:
// NULL is false, numbers are true when nonzero.
//
// # Semantics
//
// Expressions follow MySQL, the SQL dialect's expression syntax, with SQL's
// three-valued logic throughout, except where noted:
//
//   - Integers: + - * give BIGINT and fail on overflow. / on integers and
//     DECIMALs gives DECIMAL with scale = dividend scale + 4 (MySQL's
//     div_precision_increment), rounded half away from zero; DIV is integer
//     division; % and MOD take the dividend's sign; division or modulo by
//     zero is NULL. Any FLOAT/DOUBLE operand makes the operation DOUBLE.
//     BOOLEAN counts as 0/1 in arithmetic.
//   - DECIMAL(p, s) is an int64 scaled by 10^s, at most 18 digits: + and -
//     take the larger scale, * adds the scales (at most 18), comparisons
//     are exact across scales; a result beyond 18 digits is an error.
//   - Comparisons work between numeric kinds (compared by value), strings
//     (bytewise, case-sensitive), temporal kinds (DATE widens to TIMESTAMP)
//     and booleans. A constant string compared with (or added to, or
//     listed in IN / CASE / COALESCE with) a numeric, temporal or boolean
//     value is converted when the expression is built and must parse.
//     Stricter than MySQL, like Flink and PostgreSQL: a string column
//     compared with or added to a number is a type error ("cannot compare
//     VARCHAR with INT"); use CAST.
//   - AND, OR, NOT, XOR accept BOOLEAN and numbers (nonzero = true). Both
//     sides of AND/OR are evaluated over the whole batch. CASE and COALESCE
//     evaluate each WHEN and branch over just the rows that reach it when
//     the expression can (comparisons, IN, CASE, constants, columns), else
//     over the whole batch. If a whole-batch evaluation fails (an
//     overflow), the failing part is re-evaluated on just the rows that
//     need it, so guards like `x < 1000000 AND x * x > y` or CASE WHEN x <
//     1000000 THEN x * x END behave as if evaluated row by row.
//   - CASE, COALESCE, IF, IFNULL, IN, GREATEST, LEAST use the common type of
//     their values: NULL adopts the other type, integers widen, integer and
//     DECIMAL give DECIMAL, any FLOAT gives DOUBLE, strings give STRING (or
//     VARCHAR(max n)), DATE and TIMESTAMP give TIMESTAMP. x IN (..., NULL)
//     is NULL when x is not found; GREATEST and LEAST are NULL if any
//     argument is.
//   - CAST: see Cast. Malformed strings cast to NULL (like Flink's TRY_CAST,
//     unlike MySQL's 0); numeric overflow is an error; CHAR(n)/VARCHAR(n)
//     truncate.
//   - LIKE is case-sensitive (as in Flink; ILIKE is not), % and _ match
//     characters, the default escape is '\'; a constant pattern is compiled
//     once into an exact, prefix, suffix, contains or general matcher.
//     REGEXP uses Go's RE2 syntax and searches (unanchored), case-sensitive.
//   - String functions take any argument type and format it as CAST(... AS
//     STRING) does (CONCAT('a', 1) = 'a1'); positions and lengths count
//     characters (LENGTH counts bytes). SUBSTRING, LPAD/RPAD, LOCATE follow
//     MySQL; REGEXP_EXTRACT(s, re[, group]) follows Flink (group 0, the
//     whole match, by default; no match → NULL); SPLIT_INDEX(s, sep, i) is
//     0-based and NULL out of range, as in Flink.
//   - ROUND and TRUNCATE of exact types round half away from zero and keep
//     the type (DECIMAL scale lowered to a constant d); SQRT, LN, LOG of a
//     value outside their domain is NULL; an infinite DOUBLE result is an
//     error.
//   - Time is UTC throughout: TIMESTAMP and TIMESTAMP_LTZ both hold µs since
//     the epoch in UTC; NOW(), CURRENT_TIMESTAMP, LOCALTIMESTAMP give the
//     wall clock (UTC) at evaluation as TIMESTAMP(3), PROCTIME() as
//     TIMESTAMP_LTZ(3). DATE_ADD and friends clamp to month ends as MySQL
//     does and give NULL outside years 0..9999. WEEK(x) and EXTRACT(WEEK)
//     use MySQL's mode 0. DATE_FORMAT takes MySQL % specifiers, or, when
//     the format has no '%', a Java pattern (yyyy-MM-dd HH:mm:ss.SSS) as
//     Flink does; TO_TIMESTAMP and TO_DATE parse with the same patterns
//     (default 'yyyy-MM-dd HH:mm:ss', fractions allowed) and give NULL on
//     text that does not match.
package expr
