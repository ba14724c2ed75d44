package filesystem

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

func newTable(schema types.Schema, opts ...string) *connectors.Table {
	o := map[string]string{"connector": "filesystem"}
	for i := 0; i+1 < len(opts); i += 2 {
		o[opts[i]] = opts[i+1]
	}
	return &connectors.Table{Name: "t", Schema: schema, Options: o}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func allCols(s types.Schema) []int {
	cols := make([]int, len(s))
	for i := range cols {
		cols[i] = i
	}
	return cols
}

// readTable reads the table with parallelism p and returns its rows printed
// "+I[v1, v2]" (subtask by subtask) and the first error.
func readTable(t *testing.T, tbl *connectors.Table, cols []int, p int) ([]string, error) {
	t.Helper()
	spec, err := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: cols})
	if err != nil {
		return nil, err
	}
	var rows []string
	for s := range p {
		src, err := spec.Factory(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := src.Open(&exec.TaskContext{Ctx: context.Background(), Subtask: s, Parallelism: p}); err != nil {
			t.Fatal(err)
		}
		got, err := drain(src, spec.Types)
		src.Close()
		rows = append(rows, got...)
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

func drain(src exec.Source, ts []types.Type) ([]string, error) {
	var rows []string
	b := types.NewBatch(ts)
	for {
		b.Reset(ts)
		end, err := src.Next(b)
		rows = append(rows, showRows(b)...)
		if err != nil || end {
			return rows, err
		}
	}
}

func showRows(b *types.Batch) []string {
	var out []string
	for i := range b.Len() {
		vals := make([]string, len(b.Cols))
		for c := range b.Cols {
			vals[c] = b.Cols[c].Get(i).String()
		}
		out = append(out, b.Ops[i].String()+"["+strings.Join(vals, ", ")+"]")
	}
	return out
}

// batchOf builds a batch of +I rows from datums.
func batchOf(ts []types.Type, rows ...[]types.Datum) *types.Batch {
	b := types.NewBatch(ts)
	for _, r := range rows {
		b.AppendRow(types.Insert, r)
	}
	return b
}

func sourceRequest(cols ...int) connectors.SourceRequest {
	return connectors.SourceRequest{Columns: cols}
}

func taskContext(subtask, parallelism int) *exec.TaskContext {
	return &exec.TaskContext{Ctx: context.Background(), Subtask: subtask, Parallelism: parallelism, JobID: "job1"}
}
