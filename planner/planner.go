package planner

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/parser"
)

// Relation is what a name in FROM or INSERT INTO stands for: a table bound
// to a connector, or a view to expand.
type Relation struct {
	// Table is set for tables (built-in tables have no 'connector' option).
	Table *connectors.Table
	// ViewName and ViewQuery are set for views: the query text is parsed and
	// planned in place of the name.
	ViewName  string
	ViewQuery string
	// Columns optionally renames a view's output columns.
	ViewColumns []string
}

// Catalog resolves relation names. Implementations must be safe to call
// from the goroutine running the planner only.
type Catalog interface {
	// Relation returns the relation named name or an error saying it does
	// not exist.
	Relation(name string) (*Relation, error)
	// Connector returns the connector named name ("builtin" for built-in
	// tables, which belong to one engine instance).
	Connector(name string) (connectors.Connector, error)
}

// Planner plans statements against a catalog.
type Planner struct {
	Catalog Catalog
	// Parallelism is parallelism.default.
	Parallelism int
	// StateTTL is table.exec.state.ttl: state of a key of a group
	// aggregation, regular join or Top-N idle for longer may be dropped;
	// 0 keeps state forever.
	StateTTL time.Duration
}

// Plan is a planned query or insert.
type Plan struct {
	Root Node
	// Names are the output column names of a query (nil for inserts).
	Names []string
}

// PlanQuery plans a SELECT. Continuous asks built-in tables to be read as
// snapshot + changes (for jobs and materialized views) instead of a
// snapshot.
func (p *Planner) PlanQuery(q *parser.Query, continuous bool) (*Plan, error) {
	b := &builder{p: p, span: q.Span, ext: q.Ext, continuous: continuous}
	root, err := b.resultSet(q.Node)
	if err != nil {
		return nil, err
	}
	root, err = p.optimize(root)
	if err != nil {
		return nil, err
	}
	fs := root.Fields()
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return &Plan{Root: root, Names: names}, nil
}

// PlanInsert plans INSERT INTO table SELECT/VALUES as a job writing into
// the table's sink.
func (p *Planner) PlanInsert(ins *parser.Insert) (*Plan, error) {
	rel, err := p.Catalog.Relation(ins.Table)
	if err != nil {
		return nil, ins.ErrorAt(NameOffset(ins.Span, ins.Table), err.Error())
	}
	if rel.Table == nil {
		return nil, ins.ErrorAt(NameOffset(ins.Span, ins.Table), fmt.Sprintf("cannot INSERT INTO view '%s'", ins.Table))
	}
	if ins.Overwrite {
		return nil, ins.ErrorAt(0, "INSERT OVERWRITE is not supported yet")
	}
	t := rel.Table
	conn, err := p.connector(connectorName(t))
	if err != nil {
		return nil, ins.ErrorAt(NameOffset(ins.Span, ins.Table), err.Error())
	}
	if _, ok := conn.(connectors.SinkConnector); !ok {
		return nil, ins.ErrorAt(NameOffset(ins.Span, ins.Table),
			fmt.Sprintf("connector '%s' of table '%s' cannot be written to", connectorName(t), t.Name))
	}
	b := &builder{p: p, span: ins.Query.Span, ext: ins.Query.Ext, continuous: true}
	src, err := b.resultSet(ins.Query.Node)
	if err != nil {
		return nil, err
	}
	src, err = b.alignToTable(ins, src, t)
	if err != nil {
		return nil, err
	}
	if connectorName(t) == "builtin" {
		for _, read := range TablesRead(src) {
			if strings.EqualFold(read.Name, t.Name) && connectorName(read) == "builtin" {
				return nil, ins.ErrorAt(NameOffset(ins.Span, ins.Table), fmt.Sprintf(
					"a job cannot read built-in table '%s' while writing into it: every row it writes would be read again", t.Name))
			}
		}
	}
	sink := &Sink{Input: src, Table: t, UpsertKey: t.PrimaryKey}
	if err := p.checkSinkMode(ins.Span, sink); err != nil {
		return nil, err
	}
	root, err := p.optimize(sink)
	if err != nil {
		return nil, err
	}
	return &Plan{Root: root}, nil
}

// TablesRead lists the tables scanned in the plan below n.
func TablesRead(n Node) []*connectors.Table {
	var out []*connectors.Table
	var walk func(Node)
	walk = func(n Node) {
		if s, ok := n.(*Scan); ok {
			out = append(out, s.Table)
		}
		for _, in := range n.Inputs() {
			walk(in)
		}
	}
	walk(n)
	return out
}

// PlanSink plans writing a planned query into table t (a materialized
// view's rows).
func (p *Planner) PlanSink(plan *Plan, t *connectors.Table) (*Plan, error) {
	sink := &Sink{Input: plan.Root, Table: t, UpsertKey: t.PrimaryKey}
	if err := p.checkSinkMode(parser.Span{Script: t.Name, End: len(t.Name)}, sink); err != nil {
		return nil, err
	}
	return &Plan{Root: sink}, nil
}

// checkSinkMode refuses an updating changelog into a table that can only
// append, saying why and what to do instead.
func (p *Planner) checkSinkMode(span parser.Span, s *Sink) error {
	if s.Input.Mode() == connectors.AppendOnly {
		return nil
	}
	conn, err := p.connector(connectorName(s.Table))
	if err != nil {
		return span.ErrorAt(0, err.Error())
	}
	sc := conn.(connectors.SinkConnector)
	if sc.AcceptsUpdates(s.Table) {
		return nil
	}
	if connectorName(s.Table) == "builtin" && s.Input.Mode() == connectors.Retract {
		// A built-in table without a key is a multiset: a retraction
		// (which carries the whole row) deletes one equal row.
		return nil
	}
	return span.ErrorAt(NameOffset(span, s.Table.Name), fmt.Sprintf(
		"table '%s' (connector '%s') only accepts append-only input, but the query produces updates (changelog mode [%s]); "+
			"declare a PRIMARY KEY on the sink table so updates become upserts, or write into an upserting connector",
		s.Table.Name, connectorName(s.Table), modeName(s.Input.Mode())))
}

// connector resolves a connector name through the catalog.
func (p *Planner) connector(name string) (connectors.Connector, error) {
	return p.Catalog.Connector(name)
}

func connectorName(t *connectors.Table) string {
	if c := t.Options["connector"]; c != "" {
		return c
	}
	return "builtin"
}

// NameOffset finds a relation name in the statement text (AST table names
// carry no position), for error carets. It returns 0 when not found.
func NameOffset(span parser.Span, name string) int {
	text := strings.ToLower(span.Text())
	name = strings.ToLower(name)
	from := 0
	for {
		i := strings.Index(text[from:], name)
		if i < 0 {
			return 0
		}
		i += from
		before := i == 0 || !isIdentByte(text[i-1])
		after := i+len(name) >= len(text) || !isIdentByte(text[i+len(name)])
		if before && after {
			return i
		}
		from = i + 1
	}
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '`' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
