// Package exectest holds helpers for testing operators and jobs: a readable
// batch notation, a mock source, an operator driver, a goroutine leak
// check, and a checkpoint coordinator for running jobs (RunCheckpointed:
// take, complete and crash around checkpoints, restore from one).
//
// The batch notation has one row per line (or rows separated by " / "): a
// change op (+I, -U, +U, -D) followed by one value per column. Values are
// written as results print them (types.Datum.String); NULL is NULL, and a
// value that is empty, contains blanks or a slash, starts with a quote or is
// the word NULL is single-quoted, a quote inside doubled:
//
//	b := exectest.MustParse(t, []types.Type{types.BigInt, types.String}, `
//	    +I 1 a
//	    -U 1 a
//	    +U 1 'b c'`)
//	exectest.Format(b) // "+I 1 a\n-U 1 a\n+U 1 'b c'"
//
// Timestamps contain a blank, so they are quoted: +I '2024-05-01 10:00:00'.
package exectest
