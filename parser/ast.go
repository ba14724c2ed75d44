package parser

import (
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluicesql/sluice/exec/types"
)

// Statement is one parsed statement of a script.
//
// Every statement type embeds Span, so its promoted field Span hides the
// method Span.Span: the interface therefore asks for StatementSpan, which
// Span provides (st.StatementSpan(), or SpanOf(st)).
type Statement interface {
	// StatementSpan returns where the statement stands in the script.
	StatementSpan() Span
}

// SpanOf returns where st stands in its script.
func SpanOf(st Statement) Span { return st.StatementSpan() }

// Span locates a statement in its script. TiDB AST nodes inside a statement
// report offsets (OriginTextPosition, and SelectField.Offset) relative to
// Start: script offset = node.OriginTextPosition() + Span.Start.
//
// Every statement that holds TiDB nodes was handed to TiDB alone, so the
// rule holds per statement: a *Query's nodes are relative to the Query's own
// Span (for Insert.Query, CreateView.Query and Explain.Stmt that is the span
// of the query or inner statement, not of the enclosing one); the
// expressions of a CreateTable (computed columns, watermark), Delete and
// Update are relative to that statement's Span. All Offset fields of the
// types below are relative to the Start of the statement holding them.
//
// Only offsets are exact: the text a TiDB node reports (Text,
// OriginalText, Restore) is that of the rewritten statement the pre-parser
// gave TiDB (see the package documentation); take the user's text from the
// script by offset.
type Span struct {
	// Script is the whole script text the statement came from.
	Script string
	// Start and End are byte offsets of the statement in Script (End
	// excludes the terminating ';').
	Start, End int
}

// Span returns s (see Statement).
func (s Span) Span() Span { return s }

// StatementSpan implements Statement.
func (s Span) StatementSpan() Span { return s }

// Text returns the statement's own text.
func (s Span) Text() string { return s.Script[s.Start:s.End] }

// ErrorAt returns an *Error pointing at offset off relative to the
// statement's start (as reported by AST nodes), with message msg.
func (s Span) ErrorAt(off int, msg string) *Error { return NewError(s.Script, s.Start+off, msg) }

// Extensions are the streaming clauses the pre-parser lifted out of a
// query's text before TiDB parsed it.
type Extensions struct {
	// CastTypes gives the Sluice type of every CAST in the statement, keyed
	// by the TiDB node (TiDB's own FieldType loses STRING, TIMESTAMP_LTZ,
	// BOOLEAN and INTEGER).
	CastTypes map[*ast.FuncCastExpr]types.Type
	// WindowTVFs maps the placeholder table name the pre-parser put in place
	// of FROM TABLE(TUMBLE(...)) (and HOP, CUMULATE, SESSION) to the call.
	WindowTVFs map[string]*WindowTVF
	// AggFilters maps an aggregate call written with FILTER (WHERE cond) to
	// its condition.
	AggFilters map[*ast.AggregateFuncExpr]ast.ExprNode
	// Intervals maps the placeholder column name (lower-case, such as
	// "__ivl0__") the pre-parser put in place of an INTERVAL literal that
	// stands alone as an argument of a function TiDB does not know to take
	// one (my_udf(ts, INTERVAL '1' MINUTE)) to that interval. The planner
	// sees an *ast.ColumnNameExpr with that name.
	Intervals map[string]Interval
	// ColumnAliases gives the column names of a derived table written with
	// a column list, FROM (VALUES (1, 'a')) AS t(a, b), keyed by its table
	// source (TiDB does not accept the list; the pre-parser blanks it).
	ColumnAliases map[*ast.TableSource][]string
}

// Window TVF placeholders: FROM TABLE(TUMBLE(TABLE bid, ...)) [AS w] reaches
// TiDB as FROM __tvf0__ [AS w], padded with blanks to the length of the
// call, so the planner sees an *ast.TableName named "__tvf0__" whose
// WindowTVF is Ext.WindowTVFs["__tvf0__"].
//
// VALUES lists: a query VALUES (1, 'a'), (2, 'b') (alone, in FROM, after
// UNION, as INSERT's source) reaches the planner as an *ast.SelectStmt with
// Kind ast.SelectStmtKindValues, one *ast.RowExpr per row in Lists (all rows
// have the same number of values) and Fields holding a single wildcard, like
// TiDB's own VALUES ROW(...) statement.

// WindowKind is a window table-valued function.
type WindowKind uint8

// Window kinds.
const (
	Tumble WindowKind = iota
	Hop
	Cumulate
	Session
)

// Interval is an INTERVAL literal as written: INTERVAL '10' SECOND.
type Interval struct {
	Value string // the quoted or numeric literal, unquoted: "10", "1:30"
	Unit  string // upper-case unit: SECOND, MINUTE, HOUR, DAY, MONTH, YEAR, ... , or "MINUTE_SECOND" style
	// Offset of the INTERVAL keyword relative to the statement start.
	Offset int
}

// WindowTVF is FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL ...)).
type WindowTVF struct {
	Kind WindowKind
	// Table is the windowed table or view name; PartitionBy the SESSION
	// partition columns.
	Table       string
	PartitionBy []string
	// TimeCol is the DESCRIPTOR column.
	TimeCol string
	// Args are the interval arguments in order: TUMBLE(size[, offset]),
	// HOP(slide, size[, offset]), CUMULATE(step, size[, offset]), SESSION(gap).
	Args   []Interval
	Offset int
}

// Query is a SELECT, a UNION / UNION ALL, or a VALUES list.
type Query struct {
	Span
	// Node is a *ast.SelectStmt or *ast.SetOprStmt.
	Node ast.ResultSetNode
	Ext  *Extensions
}

// Insert is INSERT INTO t [(cols)] SELECT ... | VALUES ...
type Insert struct {
	Span
	Table   string
	Columns []string
	// Query is the SELECT (or a *ast.SelectStmt built from VALUES rows).
	Query *Query
	// Overwrite is INSERT OVERWRITE (not supported yet, but parsed).
	Overwrite bool
}

// Option is one 'key' = 'value' of a WITH clause, in order.
type Option struct {
	Key, Value string
	Offset     int
}

// ColumnDef is a column of CREATE TABLE.
type ColumnDef struct {
	Name string
	// Type is the Sluice type as written by the user (STRING, TIMESTAMP_LTZ
	// and BOOLEAN kept); NotNull set from NOT NULL.
	Type types.Type
	// Metadata is the key of METADATA [FROM 'key'] [VIRTUAL]; "" otherwise.
	Metadata string
	Virtual  bool
	// Computed is the expression of `name AS expr` computed columns (Type
	// is then the zero Type: the planner infers it).
	Computed ast.ExprNode
	// Comment is the COMMENT 'text' of the column, if any.
	Comment string
	Offset  int
}

// Watermark is WATERMARK FOR col AS expr.
type Watermark struct {
	Column string
	// Expr is the watermark expression, parsed by TiDB; its offsets are
	// relative to the CREATE TABLE statement start.
	Expr   ast.ExprNode
	Offset int
}

// CreateTable is CREATE TABLE with Flink's streaming clauses.
type CreateTable struct {
	Span
	Name        string
	IfNotExists bool
	Columns     []ColumnDef
	PrimaryKey  []string
	Watermark   *Watermark
	// Options are the WITH options in order, keys lower-cased, values as
	// written (only doubled quotes undone); nil for a built-in table.
	Options []Option
	// Comment is the table's COMMENT 'text', if any.
	Comment string
	// Ext holds what the pre-parser lifted out of the computed column and
	// watermark expressions (CAST types, for one).
	Ext *Extensions
}

// CreateView is CREATE [MATERIALIZED] VIEW name [(cols)] AS query.
type CreateView struct {
	Span
	Name         string
	IfNotExists  bool
	Materialized bool
	Columns      []string
	Query        *Query
	// QueryText is the text of the query as the user wrote it.
	QueryText string
}

// ObjectKind names a catalog object kind in DROP and SHOW.
type ObjectKind uint8

// Object kinds.
const (
	ObjTable ObjectKind = iota
	ObjView
	ObjMaterializedView
)

// Drop is DROP TABLE | VIEW | MATERIALIZED VIEW [IF EXISTS] names.
type Drop struct {
	Span
	Kind     ObjectKind
	Names    []string
	IfExists bool
}

// Set is SET 'key' = 'value'; Set with Key == "" lists all settings (SET;).
type Set struct {
	Span
	Key, Value string
}

// Reset is RESET 'key', or RESET (Key == "") for all keys.
type Reset struct {
	Span
	Key string
}

// ShowKind says what SHOW lists.
type ShowKind uint8

// SHOW kinds.
const (
	ShowTables ShowKind = iota
	ShowViews
	ShowMaterializedViews
	ShowJobs
	ShowCheckpoints  // SHOW CHECKPOINTS FOR JOB 'id'
	ShowTransactions // SHOW TRANSACTIONS FOR JOB 'id'
	ShowCreateTable  // SHOW CREATE TABLE name
	ShowConnectors
)

// Show is SHOW ...
type Show struct {
	Span
	Kind ShowKind
	// Target is the job id or table name where the kind takes one.
	Target string
}

// Describe is DESCRIBE name (also DESC name).
type Describe struct {
	Span
	Name string
}

// Explain is EXPLAIN [CHANGELOG_MODE] query-or-insert.
type Explain struct {
	Span
	ChangelogMode bool
	// Stmt is a *Query, *Insert or *StatementSet.
	Stmt Statement
}

// StopJob is STOP JOB 'id' [WITH SAVEPOINT].
type StopJob struct {
	Span
	ID            string
	WithSavepoint bool
}

// Flush is FLUSH.
type Flush struct{ Span }

// StatementSet is EXECUTE STATEMENT SET BEGIN insert; insert; ... END.
type StatementSet struct {
	Span
	Inserts []*Insert
}

// Delete is DELETE FROM t [WHERE cond].
type Delete struct {
	Span
	Table string
	Where ast.ExprNode
	Ext   *Extensions
}

// Assignment is col = expr of an UPDATE.
type Assignment struct {
	Column string
	Expr   ast.ExprNode
}

// Update is UPDATE t SET col = expr, ... [WHERE cond].
type Update struct {
	Span
	Table string
	Set   []Assignment
	Where ast.ExprNode
	Ext   *Extensions
}
