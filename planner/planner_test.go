package planner

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/parser"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/*.txt with the actual output")

// fakeConnector serves the test catalog's tables: append-only unless the
// table has a primary key, bounded when option 'bounded' is set.
type fakeConnector struct{}

func (fakeConnector) Name() string                            { return "fake" }
func (fakeConnector) Validate(*connectors.Table) error        { return nil }
func (fakeConnector) AcceptsUpdates(t *connectors.Table) bool { return len(t.PrimaryKey) > 0 }

func (fakeConnector) NewSource(t *connectors.Table, req connectors.SourceRequest) (connectors.SourceSpec, error) {
	ts := make([]types.Type, len(req.Columns))
	for i, c := range req.Columns {
		ts[i] = t.Schema[c].Type
	}
	mode := connectors.AppendOnly
	if len(t.PrimaryKey) > 0 {
		mode = connectors.Retract
	}
	return connectors.SourceSpec{Types: ts, Bounded: t.Options["bounded"] == "true", Mode: mode,
		Factory: func(int) (exec.Source, error) { return nil, fmt.Errorf("fake source") }}, nil
}

func (fakeConnector) NewSink(*connectors.Table, connectors.SinkRequest) (exec.OperatorFactory, error) {
	return func(int) (exec.Operator, error) { return nil, fmt.Errorf("fake sink") }, nil
}

type fakeCatalog map[string]*Relation

func (c fakeCatalog) Relation(name string) (*Relation, error) {
	if r, ok := c[strings.ToLower(name)]; ok {
		return r, nil
	}
	return nil, fmt.Errorf("table or view '%s' does not exist", name)
}

func (c fakeCatalog) Connector(string) (connectors.Connector, error) { return fakeConnector{}, nil }

func testCatalog() fakeCatalog {
	tbl := func(name string, bounded bool, pk []int, cols ...types.Column) *Relation {
		opts := map[string]string{"connector": "fake"}
		if bounded {
			opts["bounded"] = "true"
		}
		return &Relation{Table: &connectors.Table{Name: name, Schema: cols, PrimaryKey: pk, Options: opts}}
	}
	col := func(n string, t types.Type) types.Column { return types.Column{Name: n, Type: t} }
	return fakeCatalog{
		"orders": tbl("orders", true, nil, col("id", types.BigInt), col("customer", types.BigInt),
			col("amount", types.Decimal(10, 2)), col("status", types.String)),
		"customers": tbl("customers", true, []int{0}, col("id", types.BigInt), col("name", types.String),
			col("region", types.String)),
		"clicks":     tbl("clicks", false, nil, col("user_id", types.BigInt), col("url", types.String)),
		"big_orders": {ViewName: "big_orders", ViewQuery: "SELECT id, amount FROM orders WHERE amount > 100"},
	}
}

// TestExplain runs the cases of testdata/explain.txt: each is a statement
// after "explain", then "----" and the expected EXPLAIN output (or the
// error). Run with -rewrite to accept new output.
func TestExplain(t *testing.T) {
	path := filepath.Join("testdata", "explain.txt")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cases := strings.Split(string(data), "\n\n\n")
	var out []string
	for _, c := range cases {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		head, want, found := strings.Cut(c, "\n----")
		if !found {
			t.Fatalf("case without ----: %s", c)
		}
		sql := strings.TrimSpace(strings.TrimPrefix(head, "explain"))
		got := explainOne(sql)
		if *rewrite {
			out = append(out, "explain\n"+sql+"\n----\n"+got)
			continue
		}
		if strings.TrimSpace(got) != strings.TrimSpace(want) {
			t.Errorf("%s\ngot:\n%s\nwant:\n%s", sql, got, want)
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(strings.Join(out, "\n\n\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func explainOne(sql string) string {
	stmts, err := parser.Parse(sql)
	if err != nil {
		return "error: " + err.Error()
	}
	p := &Planner{Catalog: testCatalog(), Parallelism: 2}
	var plan *Plan
	switch x := stmts[0].(type) {
	case *parser.Query:
		plan, err = p.PlanQuery(x, false)
	case *parser.Insert:
		plan, err = p.PlanInsert(x)
	default:
		return fmt.Sprintf("unexpected statement %T", x)
	}
	if err != nil {
		return "error: " + err.Error()
	}
	opts := CompileOptions{JobID: "test"}
	if _, isSink := plan.Root.(*Sink); !isSink {
		opts.Collect = func(b *types.Batch) error { return nil }
	}
	ph, err := p.Compile(plan, opts)
	if err != nil {
		return "error: " + err.Error()
	}
	return Explain(plan.Root, true) + ph.Explain()
}
