// Package parser turns Sluice SQL scripts into statements.
//
// Sluice SQL is MySQL expression syntax, parsed by TiDB's parser
// (github.com/pingcap/tidb/pkg/parser), with Flink SQL's streaming
// statements and clauses. Parse splits a script at the ';' that end
// statements (quotes, comments and EXECUTE STATEMENT SET BEGIN ... END are
// respected), then parses each statement by its first keywords:
//
//   - Sluice's own statements (CREATE TABLE with WATERMARK, PRIMARY KEY ...
//     NOT ENFORCED, METADATA columns and WITH options; CREATE [MATERIALIZED]
//     VIEW; SET / RESET; SHOW; DESCRIBE; EXPLAIN; STOP JOB; DROP; FLUSH;
//     statement sets) are parsed here, by hand, from a small lexer that
//     agrees with TiDB's on strings, quoted identifiers and comments.
//   - Queries, the expressions inside those statements, DELETE and UPDATE
//     are parsed by TiDB, once per statement, after a thin pre-parser has
//     rewritten what TiDB does not accept.
//
// # The pre-parser
//
// The pre-parser never moves the user's text: it blanks a clause with spaces
// (newlines kept) or replaces it with text of the same length, so TiDB's
// node offsets and error positions point at what the user wrote. It
// rewrites:
//
//   - Comments: blanked (TiDB would otherwise execute /*! ... */).
//   - Window TVFs: FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '10'
//     SECOND)) (also HOP, CUMULATE, SESSION with PARTITION BY, named
//     arguments) becomes a placeholder table name __tvf0__ padded to the
//     call's length; Extensions.WindowTVFs["__tvf0__"] holds the call.
//   - Aggregate filters: COUNT(*) FILTER (WHERE cond) loses its FILTER
//     clause; cond is parsed on its own, at its own offsets, and kept in
//     Extensions.AggFilters for the aggregate node.
//   - CAST and CONVERT targets TiDB rejects (INTEGER, TEXT, STRING, BOOLEAN,
//     TIMESTAMP(3), TIMESTAMP_LTZ(3), BYTES ...) become a type TiDB accepts;
//     Extensions.CastTypes holds the Sluice type of every cast node.
//   - Intervals: MINUTES becomes MINUTE, MINUTE TO SECOND becomes
//     MINUTE_SECOND, and an interval standing alone as an argument of a
//     function other than DATE_ADD and friends (my_udf(INTERVAL '1' MINUTE))
//     becomes a placeholder column __ivl0__ (Extensions.Intervals).
//   - VALUES lists as queries: VALUES (1, 'a'), (2, 'b') becomes SELECT (1,
//     'a'), (2, 'b'), which TiDB reads as row expressions; the result is
//     turned back into a VALUES statement (ast.SelectStmtKindValues, one
//     *ast.RowExpr per row in Lists).
//   - Derived table column lists: FROM (VALUES (1, 'a')) AS t(a, b) loses
//     (a, b); Extensions.ColumnAliases keeps it for the table source.
//
// For example the query
//
//	SELECT window_start, COUNT(*) FILTER (WHERE price > 10), CAST(price AS STRING)
//	FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//	GROUP BY window_start, window_end
//
// reaches TiDB as
//
//	SELECT window_start, COUNT(*)                          , CAST(price AS CHAR  )
//	FROM __tvf0__
//	GROUP BY window_start, window_end
//
// with the TUMBLE call padded by blanks to its full length.
//
// One rewrite cannot keep the length: a CAST target shorter than any type
// TiDB accepts (CAST(x AS INT), where TiDB needs SIGNED). The text then grows
// and the parser maps every node offset, and any error position, back to the
// user's text, so offsets stay exact all the same.
//
// # Offsets
//
// Each statement (and each query nested in one: INSERT's source, a view's
// query, EXPLAIN's statement) is handed to TiDB alone, so TiDB node offsets
// are relative to the Span.Start of the statement holding them:
// script offset = node.OriginTextPosition() + Span.Start. Span.ErrorAt turns
// such an offset into an *Error with line, column and caret. The text TiDB
// nodes report is the rewritten one; take the user's text from the script.
package parser
