package catalog

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sluicesql/sluice/exec/types"
)

// Column is a column of a table or view.
type Column struct {
	Name string
	Type types.Type
	// Metadata is the key of a METADATA [FROM 'key'] column ("" otherwise).
	Metadata string
	// Virtual marks a METADATA ... VIRTUAL column (read-only, not written by
	// INSERT).
	Virtual bool
	// ComputedSQL is the expression text of a computed column
	// (`name AS expr`), "" for physical and metadata columns.
	ComputedSQL string
}

// IsPhysical reports whether the column is stored by the connector: neither
// computed nor metadata.
func (c Column) IsPhysical() bool { return c.ComputedSQL == "" && c.Metadata == "" }

// Watermark is WATERMARK FOR Column AS ExprSQL.
type Watermark struct {
	Column  string
	ExprSQL string
}

// Table is a table: built-in (no 'connector' option, rows stored in the
// state store under its ID) or bound to a connector.
type Table struct {
	Name       string
	Columns    []Column
	PrimaryKey []string
	Watermark  *Watermark
	// Options are the WITH options, keys lower-cased; empty or without
	// 'connector' for a built-in table.
	Options map[string]string
	// SQL is the CREATE TABLE statement text.
	SQL string
	// ID is assigned by CreateTable: unique among tables and views, never
	// reused, and the key prefix of a built-in table's rows.
	ID      uint64
	Created time.Time
}

// IsBuiltin reports whether the table's rows live in Sluice itself (no
// connector, or 'connector' = 'builtin').
func (t *Table) IsBuiltin() bool {
	c := t.Options["connector"]
	return c == "" || strings.EqualFold(c, "builtin")
}

// Schema returns every column (physical, metadata and computed) in order.
func (t *Table) Schema() types.Schema { return schemaOf(t.Columns) }

// ColumnIndex returns the index of the column named name
// (case-insensitive), or -1.
func (t *Table) ColumnIndex(name string) int { return columnIndex(t.Columns, name) }

// PrimaryKeyIndexes returns the indexes in Columns of the primary key.
func (t *Table) PrimaryKeyIndexes() []int {
	out := make([]int, 0, len(t.PrimaryKey))
	for _, k := range t.PrimaryKey {
		out = append(out, t.ColumnIndex(k))
	}
	return out
}

// Clone returns a deep copy of t.
func (t *Table) Clone() *Table {
	c := *t
	c.Columns = slices.Clone(t.Columns)
	c.PrimaryKey = slices.Clone(t.PrimaryKey)
	if t.Watermark != nil {
		w := *t.Watermark
		c.Watermark = &w
	}
	c.Options = maps.Clone(t.Options)
	return &c
}

// View is a view or a materialized view.
type View struct {
	Name string
	// Columns is the output schema of the query.
	Columns []Column
	// QuerySQL is the text of the view's query; SQL the whole statement.
	QuerySQL string
	SQL      string
	// Materialized views are maintained by the job JobID; their rows are
	// stored like a built-in table's under ID.
	Materialized bool
	JobID        string
	// PrimaryKey optionally names the unique key of a materialized view's
	// rows (for example the GROUP BY columns), which the rows are keyed by.
	PrimaryKey []string
	// ID is assigned by CreateView, from the same sequence as table ids.
	ID      uint64
	Created time.Time
}

// Schema returns the view's output columns.
func (v *View) Schema() types.Schema { return schemaOf(v.Columns) }

// ColumnIndex returns the index of the column named name
// (case-insensitive), or -1.
func (v *View) ColumnIndex(name string) int { return columnIndex(v.Columns, name) }

// PrimaryKeyIndexes returns the indexes in Columns of the primary key.
func (v *View) PrimaryKeyIndexes() []int {
	out := make([]int, 0, len(v.PrimaryKey))
	for _, k := range v.PrimaryKey {
		out = append(out, v.ColumnIndex(k))
	}
	return out
}

// Clone returns a deep copy of v.
func (v *View) Clone() *View {
	c := *v
	c.Columns = slices.Clone(v.Columns)
	c.PrimaryKey = slices.Clone(v.PrimaryKey)
	return &c
}

// JobStatus is the lifecycle state of a job.
type JobStatus string

// Job statuses. CREATED → RUNNING → FINISHED | FAILED | CANCELED | STOPPED;
// a RUNNING job found at startup is resumed.
const (
	JobCreated  JobStatus = "CREATED"
	JobRunning  JobStatus = "RUNNING"
	JobFinished JobStatus = "FINISHED"
	JobFailed   JobStatus = "FAILED"
	JobCanceled JobStatus = "CANCELED"
	JobStopped  JobStatus = "STOPPED"
)

// Terminal reports whether the job will not run again by itself.
func (s JobStatus) Terminal() bool {
	return s == JobFinished || s == JobFailed || s == JobCanceled || s == JobStopped
}

// Job is a durable streaming job (INSERT INTO ... or a materialized view).
type Job struct {
	// ID is assigned by CreateJob: "job-1", "job-2", ... never reused.
	ID   string
	Name string
	// SQL is the statement the job runs.
	SQL    string
	Status JobStatus
	// Error is the failure message of a FAILED job.
	Error            string
	Created, Updated time.Time
	// Sinks are the names of the tables (or materialized views) it writes.
	Sinks    []string
	Restarts int
	// Config holds the session settings (SET 'key' = 'value') in effect when
	// the job was submitted, so a resumed job runs with the same ones.
	Config map[string]string
}

// Clone returns a deep copy of j.
func (j *Job) Clone() *Job {
	c := *j
	c.Sinks = slices.Clone(j.Sinks)
	c.Config = maps.Clone(j.Config)
	return &c
}

func schemaOf(cols []Column) types.Schema {
	s := make(types.Schema, len(cols))
	for i, c := range cols {
		s[i] = types.Column{Name: c.Name, Type: c.Type}
	}
	return s
}

func columnIndex(cols []Column, name string) int {
	for i, c := range cols {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// jsonType is how a types.Type is persisted: the kind by name, so the
// catalog stays readable if Kind constants are ever renumbered.
type jsonType struct {
	Kind      string
	Precision int  `json:",omitempty"`
	Scale     int  `json:",omitempty"`
	Length    int  `json:",omitempty"`
	NotNull   bool `json:",omitempty"`
}

var kindByName = func() map[string]types.Kind {
	m := map[string]types.Kind{}
	for k := types.KindNull; ; k++ {
		name := k.String()
		if strings.HasPrefix(name, "Kind(") {
			return m
		}
		m[name] = k
	}
}()

type jsonColumn struct {
	Name        string
	Type        jsonType
	Metadata    string `json:",omitempty"`
	Virtual     bool   `json:",omitempty"`
	ComputedSQL string `json:",omitempty"`
}

// MarshalJSON persists the type by kind name.
func (c Column) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonColumn{
		Name: c.Name,
		Type: jsonType{Kind: c.Type.Kind.String(), Precision: c.Type.Precision, Scale: c.Type.Scale,
			Length: c.Type.Length, NotNull: c.Type.NotNull},
		Metadata: c.Metadata, Virtual: c.Virtual, ComputedSQL: c.ComputedSQL,
	})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (c *Column) UnmarshalJSON(b []byte) error {
	var j jsonColumn
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	k, ok := kindByName[j.Type.Kind]
	if !ok {
		return fmt.Errorf("catalog: column %s: unknown type kind %q", j.Name, j.Type.Kind)
	}
	*c = Column{
		Name: j.Name,
		Type: types.Type{Kind: k, Precision: j.Type.Precision, Scale: j.Type.Scale,
			Length: j.Type.Length, NotNull: j.Type.NotNull},
		Metadata: j.Metadata, Virtual: j.Virtual, ComputedSQL: j.ComputedSQL,
	}
	return nil
}
