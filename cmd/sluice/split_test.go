package main

import "testing"

func TestCutComplete(t *testing.T) {
	for _, tc := range []struct{ in, complete, rest string }{
		{"SELECT 1", "", "SELECT 1"},
		{"SELECT 1;", "SELECT 1;", ""},
		{"SELECT 1;\n", "SELECT 1;", ""},
		{"SELECT 1; SELECT", "SELECT 1;", " SELECT"},
		{"SELECT 1; -- done\n", "SELECT 1;", ""},
		{"SELECT 1; /* c */", "SELECT 1;", ""},
		{"SELECT 'a;b'", "", "SELECT 'a;b'"},
		{"SELECT 'it''s;';", "SELECT 'it''s;';", ""},
		{`SELECT 'a\';b';`, `SELECT 'a\';b';`, ""},
		{"SELECT `x;y` FROM t;", "SELECT `x;y` FROM t;", ""},
		{"SELECT \"x;\";", "SELECT \"x;\";", ""},
		{"SELECT 1 -- no; really\n", "", "SELECT 1 -- no; really\n"},
		{"SELECT /* ; */ 1;", "SELECT /* ; */ 1;", ""},
		{"-- only a comment\n", "", ""},
		{"SELECT CASE WHEN a THEN 1 END FROM t;", "SELECT CASE WHEN a THEN 1 END FROM t;", ""},
		{"EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1;", "", "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1;"},
		{"EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT CASE WHEN x THEN 1 END; INSERT INTO b SELECT 2; END;",
			"EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT CASE WHEN x THEN 1 END; INSERT INTO b SELECT 2; END;", ""},
		{"execute statement set\nbegin\n insert into a select 1;\nend;\nSELECT 1;", "execute statement set\nbegin\n insert into a select 1;\nend;\nSELECT 1;", ""},
		{"BEGIN STATEMENT SET; INSERT INTO a SELECT 1; END; SELECT", "BEGIN STATEMENT SET; INSERT INTO a SELECT 1; END;", " SELECT"},
	} {
		c, r := cutComplete(tc.in)
		if c != tc.complete || r != tc.rest {
			t.Errorf("cutComplete(%q) = %q, %q; want %q, %q", tc.in, c, r, tc.complete, tc.rest)
		}
	}
}
