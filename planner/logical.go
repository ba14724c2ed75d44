package planner

import (
	"fmt"
	"strings"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
)

// Field is a column of a node's output: its name, the relation alias that
// qualifies it in the query, and its type.
type Field struct {
	Name      string
	Qualifier string
	Type      types.Type
}

// Node is a logical plan node.
type Node interface {
	// Fields is the node's output schema.
	Fields() []Field
	// Inputs are the node's children.
	Inputs() []Node
	// Mode is the changelog mode of the node's output.
	Mode() connectors.ChangelogMode
	// Bounded reports whether the node's output ends.
	Bounded() bool
	// describe prints the node for EXPLAIN, without children.
	describe() string
}

// Scan reads a table through its connector.
type Scan struct {
	Table *connectors.Table
	// Alias qualifies the fields (the table name when no alias was given).
	Alias string
	// Columns are the table columns read, in output order (projection
	// pushdown narrows them).
	Columns []int
	// Continuous reads built-in tables as snapshot + changes (jobs) rather
	// than as a snapshot (ad-hoc queries).
	Continuous bool
	// Spec is the connector's source for Columns, refreshed by prune.
	Spec connectors.SourceSpec
	// Watermark is the table's WATERMARK declaration (nil: none); prune
	// keeps the columns it reads.
	Watermark *ScanWatermark
}

// Fields implements Node.
func (s *Scan) Fields() []Field {
	fs := make([]Field, len(s.Columns))
	for i, c := range s.Columns {
		col := s.Table.Schema[c]
		fs[i] = Field{Name: col.Name, Qualifier: s.Alias, Type: col.Type}
	}
	return fs
}

// Inputs implements Node.
func (s *Scan) Inputs() []Node { return nil }

// Mode implements Node.
func (s *Scan) Mode() connectors.ChangelogMode { return s.Spec.Mode }

// Bounded implements Node.
func (s *Scan) Bounded() bool { return s.Spec.Bounded }

func (s *Scan) describe() string {
	names := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		names[i] = s.Table.Schema[c].Name
	}
	conn := s.Table.Options["connector"]
	if conn == "" {
		conn = "builtin"
	}
	return fmt.Sprintf("Scan(table=[%s], connector=[%s], fields=[%s])", s.Table.Name, conn, strings.Join(names, ", "))
}

// Values produces constant rows.
type Values struct {
	Schema []Field
	Rows   [][]types.Datum
}

// Fields implements Node.
func (v *Values) Fields() []Field { return v.Schema }

// Inputs implements Node.
func (v *Values) Inputs() []Node { return nil }

// Mode implements Node.
func (v *Values) Mode() connectors.ChangelogMode { return connectors.AppendOnly }

// Bounded implements Node.
func (v *Values) Bounded() bool { return true }

func (v *Values) describe() string {
	return fmt.Sprintf("Values(rows=%d, fields=[%s])", len(v.Rows), fieldNames(v.Schema))
}

// Filter keeps the rows for which Cond is true.
type Filter struct {
	Input Node
	Cond  expr.Expr
}

// Fields implements Node.
func (f *Filter) Fields() []Field { return f.Input.Fields() }

// Inputs implements Node.
func (f *Filter) Inputs() []Node { return []Node{f.Input} }

// Mode implements Node.
func (f *Filter) Mode() connectors.ChangelogMode { return f.Input.Mode() }

// Bounded implements Node.
func (f *Filter) Bounded() bool { return f.Input.Bounded() }

func (f *Filter) describe() string {
	return fmt.Sprintf("Filter(condition=[%s])", exprString(f.Cond, f.Input.Fields()))
}

// Project computes Exprs over its input.
type Project struct {
	Input Node
	Exprs []expr.Expr
	Names []string
	// Qualifier qualifies the output fields (a derived table's alias).
	Qualifier string
}

// Fields implements Node.
func (p *Project) Fields() []Field {
	fs := make([]Field, len(p.Exprs))
	for i, e := range p.Exprs {
		fs[i] = Field{Name: p.Names[i], Qualifier: p.Qualifier, Type: e.Type()}
	}
	return fs
}

// Inputs implements Node.
func (p *Project) Inputs() []Node { return []Node{p.Input} }

// Mode implements Node.
func (p *Project) Mode() connectors.ChangelogMode { return p.Input.Mode() }

// Bounded implements Node.
func (p *Project) Bounded() bool { return p.Input.Bounded() }

func (p *Project) describe() string {
	in := p.Input.Fields()
	parts := make([]string, len(p.Exprs))
	for i, e := range p.Exprs {
		s := exprString(e, in)
		if s != p.Names[i] {
			s += " AS " + p.Names[i]
		}
		parts[i] = s
	}
	return fmt.Sprintf("Project(select=[%s])", strings.Join(parts, ", "))
}

// Union is UNION ALL of inputs with the same column types.
type Union struct {
	In     []Node
	Schema []Field
}

// Fields implements Node.
func (u *Union) Fields() []Field { return u.Schema }

// Inputs implements Node.
func (u *Union) Inputs() []Node { return u.In }

// Mode implements Node.
func (u *Union) Mode() connectors.ChangelogMode {
	m := connectors.AppendOnly
	for _, in := range u.In {
		if in.Mode() > m {
			m = in.Mode()
		}
	}
	return m
}

// Bounded implements Node.
func (u *Union) Bounded() bool {
	for _, in := range u.In {
		if !in.Bounded() {
			return false
		}
	}
	return true
}

func (u *Union) describe() string {
	return fmt.Sprintf("Union(all=[true], fields=[%s])", fieldNames(u.Schema))
}

// SortKey orders by one column.
type SortKey struct {
	Col  int
	Desc bool
}

// Sort orders a bounded input and applies LIMIT/OFFSET (-1 = none). With
// no keys it is a plain LIMIT.
type Sort struct {
	Input         Node
	Keys          []SortKey
	Limit, Offset int64
}

// Fields implements Node.
func (s *Sort) Fields() []Field { return s.Input.Fields() }

// Inputs implements Node.
func (s *Sort) Inputs() []Node { return []Node{s.Input} }

// Mode implements Node.
func (s *Sort) Mode() connectors.ChangelogMode { return s.Input.Mode() }

// Bounded implements Node.
func (s *Sort) Bounded() bool { return s.Input.Bounded() }

func (s *Sort) describe() string {
	in := s.Input.Fields()
	var parts []string
	for _, k := range s.Keys {
		d := "ASC"
		if k.Desc {
			d = "DESC"
		}
		parts = append(parts, in[k.Col].Name+" "+d)
	}
	out := "Sort("
	if len(parts) > 0 {
		out += "orderBy=[" + strings.Join(parts, ", ") + "]"
	}
	if s.Limit >= 0 {
		if len(parts) > 0 {
			out += ", "
		}
		out += fmt.Sprintf("fetch=[%d]", s.Limit)
	}
	if s.Offset > 0 {
		out += fmt.Sprintf(", offset=[%d]", s.Offset)
	}
	return out + ")"
}

// Sink writes its input into a table.
type Sink struct {
	Input Node
	Table *connectors.Table
	// UpsertKey are the table's primary key columns, used to route rows of
	// one key to one sink subtask.
	UpsertKey []int
}

// Fields implements Node.
func (s *Sink) Fields() []Field { return s.Input.Fields() }

// Inputs implements Node.
func (s *Sink) Inputs() []Node { return []Node{s.Input} }

// Mode implements Node.
func (s *Sink) Mode() connectors.ChangelogMode { return s.Input.Mode() }

// Bounded implements Node.
func (s *Sink) Bounded() bool { return s.Input.Bounded() }

func (s *Sink) describe() string {
	conn := s.Table.Options["connector"]
	if conn == "" {
		conn = "builtin"
	}
	return fmt.Sprintf("Sink(table=[%s], connector=[%s], fields=[%s])", s.Table.Name, conn, fieldNames(s.Input.Fields()))
}

func fieldNames(fs []Field) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// exprString prints e with column references replaced by input field names.
func exprString(e expr.Expr, in []Field) string {
	s := e.String()
	// Column references print as $index; replace from the highest index down
	// so $1 does not clobber $10.
	for i := len(in) - 1; i >= 0; i-- {
		s = strings.ReplaceAll(s, fmt.Sprintf("$%d", i), in[i].Name)
	}
	return s
}

// Explain prints a logical plan as an indented tree. With modes, each node
// shows its changelog mode.
func Explain(n Node, modes bool) string {
	var b strings.Builder
	var walk func(n Node, depth int)
	walk = func(n Node, depth int) {
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(n.describe())
		if modes {
			b.WriteString(", changelogMode=[")
			b.WriteString(modeName(n.Mode()))
			b.WriteString("]")
		}
		b.WriteByte('\n')
		for _, in := range n.Inputs() {
			walk(in, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

func modeName(m connectors.ChangelogMode) string {
	switch m {
	case connectors.Upsert:
		return "I,UA,D"
	case connectors.Retract:
		return "I,UB,UA,D"
	}
	return "I"
}
