package sqltests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFilesParse parses every .slt file of this folder (include-only files
// too) and checks the conventions the engine needs: a multi-row query
// without ORDER BY uses rowsort or valuesort (results come from parallel
// subtasks; DESCRIBE and SHOW excepted), a query after INSERT INTO is
// preceded by a flush, and results are written in one form (a row per line,
// or a value per line).
func TestFilesParse(t *testing.T) {
	files, err := filepath.Glob("*.slt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no .slt files")
	}
	insertRe := regexp.MustCompile(`(?is)^\s*INSERT\s`)
	orderByRe := regexp.MustCompile(`(?is)\bORDER\s+BY\b`)
	// Metadata statements return rows in a fixed order.
	metaRe := regexp.MustCompile(`(?is)^\s*(DESCRIBE|DESC|SHOW|EXPLAIN|SET)\b`)
	tests := 0
	for _, f := range files {
		recs, err := ParseFile(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(data), "#") {
			t.Errorf("%s: begin the file with a comment saying what it covers", f)
		}
		pendingInsert := ""
		for i := range recs {
			r := &recs[i]
			if r.IsTest() && r.File == f {
				tests++
			}
			switch r.Kind {
			case KindFlush, KindRestart:
				pendingInsert = ""
			case KindStatement:
				if !r.ExpectError && insertRe.MatchString(r.SQL) {
					pendingInsert = r.Pos()
				}
			case KindQuery:
				if pendingInsert != "" && !r.ExpectError {
					t.Errorf("%s: query after the INSERT at %s without a flush in between", r.Pos(), pendingInsert)
					pendingInsert = ""
				}
				if r.ExpectError {
					continue
				}
				n := r.HashCount
				if r.Hash == "" {
					vals, rowForm := expectedValues(r.Expected, len(r.Types), -1)
					n = len(vals)
					if ncols := len(r.Types); ncols > 1 && !rowForm && len(r.Expected) > 0 &&
						(len(strings.Fields(r.Expected[0])) == ncols || len(vals)%ncols != 0) {
						t.Errorf("%s: results mix one row per line and one value per line (values with spaces need one value per line)", r.Pos())
					}
				}
				if r.Sort == NoSort && !orderByRe.MatchString(r.SQL) && !metaRe.MatchString(r.SQL) && n > len(r.Types) {
					t.Errorf("%s: a multi-row query without ORDER BY needs rowsort", r.Pos())
				}
			}
		}
	}
	t.Logf("%d files, %d tests", len(files), tests)
}
