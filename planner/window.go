package planner

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/parser"
)

// Event time and windows.
//
// A table declared with WATERMARK FOR ts AS expr has a rowtime attribute,
// ts. Its Scan carries the watermark (ScanWatermark); the compiler chains a
// WatermarkAssigner right after the source, so each split generates its
// own watermarks and the runtime merges them (minimum over inputs).
// Rowtime attributes survive filters and plain column projections
// (rowtimeCols); window_time of a window TVF is one too.
//
// FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), size)) — and HOP, CUMULATE,
// SESSION — is a WindowTVF node: t's columns plus window_start, window_end
// and window_time. An Aggregate over it that groups by window_start and
// window_end becomes a WindowAggregate (planWindows): final, append-only
// rows when the watermark passes the window end. Any other use of the TVF
// (no aggregate, or grouping without both window columns) runs the TVF as a
// stateless operator that annotates rows; SESSION has no such form.

// WatermarkCatalog is implemented by a Catalog that knows the WATERMARK
// declarations of its tables. Without it no table has event time.
type WatermarkCatalog interface {
	// Watermark returns the rowtime column and the watermark expression
	// text (as written after AS) of table name, and false when the table
	// declares no watermark.
	Watermark(table string) (column, exprSQL string, ok bool)
}

// ScanWatermark is the WATERMARK declaration of a scanned table, over the
// table's columns (not the scan's).
type ScanWatermark struct {
	// Column is the rowtime column's index in the table schema.
	Column int
	// Expr computes the watermark of a row; its column references index
	// the table schema.
	Expr expr.Expr
	// IdleTimeout is 'scan.watermark.idle-timeout' (0: none).
	IdleTimeout time.Duration
	// Alignment is 'scan.watermark.alignment.group' and '.max-drift' (nil:
	// none).
	Alignment *exec.WatermarkAlignment
}

// Watermark options of a scanned table (Flink's names).
const (
	// IdleTimeoutOption marks a split idle after that long without rows.
	IdleTimeoutOption = "scan.watermark.idle-timeout"
	// AlignGroupOption names the watermark alignment group of the table's
	// source; AlignDriftOption is how far its watermark may run ahead of
	// the group's lowest (required with a group). AlignIntervalOption is
	// accepted for Flink compatibility and checked: Sluice re-evaluates
	// alignment after every batch.
	AlignGroupOption    = "scan.watermark.alignment.group"
	AlignDriftOption    = "scan.watermark.alignment.max-drift"
	AlignIntervalOption = "scan.watermark.alignment.update-interval"
)

// checkWatermarkOptions rejects scan.watermark.* options Sluice does not
// know and the watermark options of a table without a WATERMARK.
func checkWatermarkOptions(t *connectors.Table, hasWatermark bool) error {
	keys := make([]string, 0, len(t.Options))
	for k := range t.Options {
		if strings.HasPrefix(k, "scan.watermark.") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch k {
		case IdleTimeoutOption, AlignGroupOption, AlignDriftOption, AlignIntervalOption:
			if !hasWatermark {
				return fmt.Errorf("table '%s': option '%s' needs a WATERMARK declaration", t.Name, k)
			}
		default:
			return fmt.Errorf("table '%s': unsupported option '%s' (supported: %s, %s, %s, %s)", t.Name, k,
				AlignGroupOption, AlignDriftOption, AlignIntervalOption, IdleTimeoutOption)
		}
	}
	return nil
}

// scanAlignment reads the watermark alignment options of table t.
func scanAlignment(t *connectors.Table) (*exec.WatermarkAlignment, error) {
	group, hasGroup := t.Options[AlignGroupOption]
	drift, hasDrift := t.Options[AlignDriftOption]
	if v, ok := t.Options[AlignIntervalOption]; ok {
		if _, err := parseDuration(v); err != nil {
			return nil, fmt.Errorf("table '%s': option '%s': %w", t.Name, AlignIntervalOption, err)
		}
	}
	switch {
	case !hasGroup && !hasDrift:
		return nil, nil
	case !hasGroup || strings.TrimSpace(group) == "":
		return nil, fmt.Errorf("table '%s': option '%s' needs a non-empty '%s'", t.Name, AlignDriftOption, AlignGroupOption)
	case !hasDrift:
		return nil, fmt.Errorf("table '%s': option '%s' needs '%s'", t.Name, AlignGroupOption, AlignDriftOption)
	}
	d, err := parseDuration(drift)
	if err == nil && d <= 0 {
		err = errors.New("must be positive")
	}
	if err != nil {
		return nil, fmt.Errorf("table '%s': option '%s': %w", t.Name, AlignDriftOption, err)
	}
	return &exec.WatermarkAlignment{Group: group, MaxDrift: d}, nil
}

// scanWatermark returns the watermark of table t, if it declares one.
func (p *Planner) scanWatermark(t *connectors.Table) (*ScanWatermark, error) {
	wc, ok := p.Catalog.(WatermarkCatalog)
	if !ok {
		return nil, nil
	}
	col, text, ok := wc.Watermark(t.Name)
	if err := checkWatermarkOptions(t, ok); err != nil || !ok {
		return nil, err
	}
	idx := t.Schema.Index(col)
	if idx < 0 {
		return nil, fmt.Errorf("table '%s': watermark column '%s' does not exist", t.Name, col)
	}
	node, ext, err := parser.ParseExprExt(text)
	if err != nil {
		return nil, fmt.Errorf("table '%s': watermark expression %q: %w", t.Name, text, err)
	}
	fs := make([]Field, len(t.Schema))
	for i, c := range t.Schema {
		fs[i] = Field{Name: c.Name, Qualifier: t.Name, Type: c.Type}
	}
	eb := &builder{p: p, span: parser.Span{Script: text, End: len(text)}, ext: ext}
	e, err := eb.convert(&scope{fields: fs}, node)
	if err != nil {
		return nil, fmt.Errorf("table '%s': watermark expression: %w", t.Name, err)
	}
	if k := e.Type().Kind; k != types.KindTimestamp && k != types.KindTimestampLTZ {
		return nil, fmt.Errorf("table '%s': the watermark expression %s is %v, not a TIMESTAMP", t.Name, text, e.Type())
	}
	w := &ScanWatermark{Column: idx, Expr: e}
	if v, ok := t.Options[IdleTimeoutOption]; ok {
		if w.IdleTimeout, err = parseDuration(v); err != nil {
			return nil, fmt.Errorf("table '%s': option '%s': %w", t.Name, IdleTimeoutOption, err)
		}
	}
	if w.Alignment, err = scanAlignment(t); err != nil {
		return nil, err
	}
	return w, nil
}

// parseDuration reads Flink-style durations: "5 s", "500ms", "1 min", "2h".
func parseDuration(s string) (time.Duration, error) {
	t := strings.ToLower(strings.ReplaceAll(s, " ", ""))
	for _, r := range []struct{ long, short string }{
		{"milliseconds", "ms"}, {"millisecond", "ms"}, {"seconds", "s"}, {"second", "s"}, {"sec", "s"},
		{"minutes", "m"}, {"minute", "m"}, {"min", "m"}, {"hours", "h"}, {"hour", "h"},
	} {
		if strings.HasSuffix(t, r.long) {
			t = strings.TrimSuffix(t, r.long) + r.short
			break
		}
	}
	if _, err := strconv.ParseInt(t, 10, 64); err == nil {
		t += "ms" // Flink reads a bare number as milliseconds
	}
	d, err := time.ParseDuration(t)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration '%s' (write e.g. '5 s' or '500 ms')", s)
	}
	return d, nil
}

// watermarkColumns returns the table columns a scan must read for its
// watermark.
func (w *ScanWatermark) columns() []int {
	return append(expr.Columns(w.Expr), w.Column)
}

// rowtimeCols reports which output columns of n are rowtime attributes.
func rowtimeCols(n Node) []bool {
	out := make([]bool, len(n.Fields()))
	switch x := n.(type) {
	case *Scan:
		if x.Watermark != nil {
			for i, c := range x.Columns {
				out[i] = c == x.Watermark.Column
			}
		}
	case *Filter:
		return rowtimeCols(x.Input)
	case *Project:
		in := rowtimeCols(x.Input)
		for i, e := range x.Exprs {
			if c, ok := expr.ColumnIndex(e); ok {
				out[i] = in[c]
			}
		}
	case *WindowTVF:
		copy(out, rowtimeCols(x.Input))
		out[len(out)-1] = !x.Proctime // window_time (event time only)
	case *Join:
		if x.interval() != nil { // an interval join keeps both sides' (see interval.go)
			l := rowtimeCols(x.Left)
			copy(out, l)
			copy(out[len(l):], rowtimeCols(x.Right))
		}
	}
	return out
}

// WindowTVF is a window table-valued function over Input: Input's columns
// followed by window_start, window_end and window_time (TIMESTAMP(3)).
type WindowTVF struct {
	Input Node
	// Spec describes the windows; Spec.TimeCol indexes Input.
	Spec ops.WindowSpec
	// PartitionCols are SESSION's PARTITION BY columns of Input.
	PartitionCols []int
	// Alias qualifies the window columns.
	Alias string
	// Proctime marks windows over a processing-time attribute
	// (window_proctime.go).
	Proctime bool
}

// Window column names.
const (
	WindowStartName = "window_start"
	WindowEndName   = "window_end"
	WindowTimeName  = "window_time"
)

// Fields implements Node.
func (w *WindowTVF) Fields() []Field {
	fs := append([]Field(nil), w.Input.Fields()...)
	t := ops.WindowTimeType
	t.NotNull = true
	for _, n := range []string{WindowStartName, WindowEndName, WindowTimeName} {
		fs = append(fs, Field{Name: n, Qualifier: w.Alias, Type: t})
	}
	return fs
}

// Inputs implements Node.
func (w *WindowTVF) Inputs() []Node { return []Node{w.Input} }

// Mode implements Node.
func (w *WindowTVF) Mode() connectors.ChangelogMode { return connectors.AppendOnly }

// Bounded implements Node.
func (w *WindowTVF) Bounded() bool { return w.Input.Bounded() }

func (w *WindowTVF) describe() string {
	return fmt.Sprintf("WindowTableFunction(window=[%s], %s)", w.Spec.String(), timeAttrName(w.Proctime, w.Input.Fields()[w.Spec.TimeCol].Name))
}

// WindowAggregate is a window aggregation: Input grouped by KeyCols and by
// window. Its output is the key columns, window_start, window_end,
// window_time, then one column per call; it is append-only.
type WindowAggregate struct {
	Input Node
	// Spec describes the windows; Spec.TimeCol indexes Input.
	Spec    ops.WindowSpec
	KeyCols []int
	Calls   []AggCall
	// Names are the output names of the key columns and calls (the window
	// columns are named window_start, window_end, window_time).
	Names []string
	// Proctime marks windows over a processing-time attribute: the
	// compiler chains an ops.ProctimeAssigner before the operator.
	Proctime bool
}

// Fields implements Node.
func (a *WindowAggregate) Fields() []Field {
	in := a.Input.Fields()
	var fs []Field
	for i, c := range a.KeyCols {
		fs = append(fs, Field{Name: a.Names[i], Type: in[c].Type})
	}
	t := ops.WindowTimeType
	t.NotNull = true
	for _, n := range []string{WindowStartName, WindowEndName, WindowTimeName} {
		fs = append(fs, Field{Name: n, Type: t})
	}
	for i, c := range a.Calls {
		fs = append(fs, Field{Name: a.Names[len(a.KeyCols)+i], Type: c.Type})
	}
	return fs
}

// Inputs implements Node.
func (a *WindowAggregate) Inputs() []Node { return []Node{a.Input} }

// Mode implements Node: windows emit final rows only.
func (a *WindowAggregate) Mode() connectors.ChangelogMode { return connectors.AppendOnly }

// Bounded implements Node.
func (a *WindowAggregate) Bounded() bool { return a.Input.Bounded() }

func (a *WindowAggregate) describe() string {
	in := a.Input.Fields()
	var keys, calls []string
	for _, c := range a.KeyCols {
		keys = append(keys, in[c].Name)
	}
	for _, c := range a.Calls {
		calls = append(calls, c.describe(in))
	}
	out := "WindowAggregate("
	if len(keys) > 0 {
		out += "groupBy=[" + strings.Join(keys, ", ") + "], "
	}
	out += fmt.Sprintf("window=[%s], %s", a.Spec.String(), timeAttrName(a.Proctime, in[a.Spec.TimeCol].Name))
	if len(calls) > 0 {
		out += ", select=[" + strings.Join(calls, ", ") + "]"
	}
	return out + ")"
}

// windowTVF plans FROM TABLE(KIND(TABLE t, DESCRIPTOR(ts), ...)) [AS alias].
func (b *builder) windowTVF(tvf *parser.WindowTVF, alias string) (Node, error) {
	in, err := b.tableName(&ast.TableName{Name: ast.NewCIStr(tvf.Table)}, "")
	if err != nil {
		return nil, err
	}
	kind := strings.ToUpper(ops.WindowKind(tvf.Kind).String())
	descAt := b.keywordAfter(tvf.Offset, "descriptor")
	descAt = b.keywordAfter(descAt, strings.ToLower(tvf.TimeCol))
	sc := &scope{fields: in.Fields()}
	col, t, err := sc.Column("", tvf.TimeCol)
	if err != nil {
		return nil, b.errAt(descAt, "%s: %v", kind, err)
	}
	proctime := proctimeCols(in)[col]
	if !proctime && !rowtimeCols(in)[col] {
		return nil, b.errAt(descAt, "%s: column '%s' of '%s' is not a time attribute: windows need an event-time column "+
			"declared with WATERMARK FOR %s AS ... in CREATE TABLE, or a processing-time column (%s AS PROCTIME())",
			kind, tvf.TimeCol, tvf.Table, tvf.TimeCol, tvf.TimeCol)
	}
	if t.Kind != types.KindTimestamp && t.Kind != types.KindTimestampLTZ {
		return nil, b.errAt(descAt, "%s: column '%s' is %v, not a TIMESTAMP", kind, tvf.TimeCol, t)
	}
	if in.Mode() != connectors.AppendOnly {
		return nil, b.errAt(tvf.Offset, "%s over '%s': window functions need an append-only input, and '%s' produces updates (changelog mode [%s])",
			kind, tvf.Table, tvf.Table, modeName(in.Mode()))
	}
	ivs := make([]int64, len(tvf.Args))
	for i, iv := range tvf.Args {
		if ivs[i], err = intervalMicros(iv); err != nil {
			return nil, b.errAt(iv.Offset, "%s: %v", kind, err)
		}
		if ivs[i] <= 0 && !isOffsetArg(tvf.Kind, i) {
			return nil, b.errAt(iv.Offset, "%s: the interval must be positive", kind)
		}
	}
	spec := ops.WindowSpec{Kind: ops.WindowKind(tvf.Kind), TimeCol: col}
	switch tvf.Kind {
	case parser.Tumble:
		spec.Size = ivs[0]
		if len(ivs) > 1 {
			spec.Offset = ivs[1]
		}
	case parser.Hop:
		spec.Slide, spec.Size = ivs[0], ivs[1]
		if len(ivs) > 2 {
			spec.Offset = ivs[2]
		}
	case parser.Cumulate:
		spec.Slide, spec.Size = ivs[0], ivs[1]
		if len(ivs) > 2 {
			spec.Offset = ivs[2]
		}
		if spec.Size%spec.Slide != 0 {
			return nil, b.errAt(tvf.Args[1].Offset, "CUMULATE: the max size must be a multiple of the step")
		}
	case parser.Session:
		spec.Gap = ivs[0]
	}
	w := &WindowTVF{Input: in, Spec: spec, Alias: alias, Proctime: proctime}
	for _, p := range tvf.PartitionBy {
		c, _, err := sc.Column("", p)
		if err != nil {
			return nil, b.errAt(b.keywordAfter(tvf.Offset, "partition"), "SESSION: %v", err)
		}
		w.PartitionCols = append(w.PartitionCols, c)
	}
	if alias != "" {
		// FROM TABLE(...) AS w: every column is w.<name>.
		return b.requalify(w, alias, nil)
	}
	return w, nil
}

func isOffsetArg(k parser.WindowKind, i int) bool {
	return (k == parser.Tumble && i == 1) || ((k == parser.Hop || k == parser.Cumulate) && i == 2)
}

// intervalMicros converts a day-time INTERVAL literal into microseconds.
// Month and year intervals have no fixed length and are refused.
func intervalMicros(iv parser.Interval) (int64, error) {
	units := map[string]int64{
		"MICROSECOND": 1, "MILLISECOND": 1000, "SECOND": 1_000_000, "MINUTE": 60_000_000,
		"HOUR": 3_600_000_000, "DAY": 86_400_000_000, "WEEK": 7 * 86_400_000_000,
	}
	u, ok := units[iv.Unit]
	if !ok {
		return 0, fmt.Errorf("INTERVAL '%s' %s is not supported for windows: use a day-time unit (MILLISECOND, SECOND, MINUTE, HOUR, DAY)",
			iv.Value, strings.ReplaceAll(iv.Unit, "_", " TO "))
	}
	v := strings.TrimSpace(iv.Value)
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimPrefix(strings.TrimPrefix(v, "-"), "+")
	whole, frac, hasFrac := strings.Cut(v, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/u {
		return 0, fmt.Errorf("bad INTERVAL value '%s'", iv.Value)
	}
	us := n * u
	if hasFrac {
		// Fractions down to the microsecond: INTERVAL '1.5' SECOND.
		f, err := strconv.ParseFloat("0."+frac, 64)
		if err != nil || frac == "" {
			return 0, fmt.Errorf("bad INTERVAL value '%s'", iv.Value)
		}
		us += int64(f*float64(u) + 0.5)
	}
	if neg {
		us = -us
	}
	return us, nil
}

// planWindows turns each Aggregate grouping a window TVF's rows by
// window_start and window_end into a WindowAggregate, and refuses the
// SESSION TVFs left without one.
func (pl *Planner) planWindows(n Node) (Node, error) {
	if a, ok := n.(*Aggregate); ok {
		wa, err := windowAggregate(a)
		if err != nil {
			return nil, err
		}
		if wa != nil {
			in, err := pl.planWindows(wa.Input.(*WindowAggregate).Input)
			if err != nil {
				return nil, err
			}
			wa.Input.(*WindowAggregate).Input = in
			return wa, nil
		}
	}
	if w, ok := n.(*WindowTVF); ok && w.Spec.Kind == ops.WindowSession {
		return nil, fmt.Errorf("SESSION windows are supported with an aggregation only: GROUP BY window_start, window_end")
	}
	ins := n.Inputs()
	for i, in := range ins {
		p, err := pl.planWindows(in)
		if err != nil {
			return nil, err
		}
		ins[i] = p
	}
	return withInputs(n, ins), nil
}

// overWindowTVF reports whether n is a window TVF under projections and
// filters.
func overWindowTVF(n Node) bool {
	for {
		switch x := n.(type) {
		case *Project:
			n = x.Input
		case *Filter:
			n = x.Input
		case *WindowTVF:
			return true
		default:
			return false
		}
	}
}

// windowAggregate rewrites a over a window TVF (through projections and
// filters) into a Project over a WindowAggregate with a's output schema;
// nil when a does not group by both window_start and window_end.
func windowAggregate(a *Aggregate) (*Project, error) {
	pre, ok := a.Input.(*Project)
	if !ok || !overWindowTVF(pre.Input) {
		return nil, nil
	}
	exprs := slices.Clone(pre.Exprs) // a stays as it is if this is not a window aggregate
	var conds []expr.Expr
	var err error
	cur := pre.Input
	for {
		switch x := cur.(type) {
		case *Project:
			if !deterministic(x.Exprs) {
				return nil, nil
			}
			for i, e := range exprs {
				if exprs[i], err = expr.Substitute(e, x.Exprs); err != nil {
					return nil, err
				}
			}
			for i, c := range conds {
				if conds[i], err = expr.Substitute(c, x.Exprs); err != nil {
					return nil, err
				}
			}
			cur = x.Input
			continue
		case *Filter:
			conds = append(conds, x.Cond)
			cur = x.Input
			continue
		}
		break
	}
	tvf, ok := cur.(*WindowTVF)
	if !ok {
		return nil, nil
	}
	nIn := len(tvf.Input.Fields())
	isWin := func(e expr.Expr) int { // 0 start, 1 end, 2 time, -1 other
		if c, ok := expr.ColumnIndex(e); ok && c >= nIn {
			return c - nIn
		}
		return -1
	}
	usesWin := func(e expr.Expr) bool {
		for _, c := range expr.Columns(e) {
			if c >= nIn {
				return true
			}
		}
		return false
	}
	nKeys := len(a.GroupCols)
	hasStart, hasEnd := false, false
	for _, g := range a.GroupCols {
		switch isWin(exprs[g]) {
		case 0:
			hasStart = true
		case 1:
			hasEnd = true
		}
	}
	if !hasStart || !hasEnd {
		if tvf.Spec.Kind == ops.WindowSession {
			return nil, fmt.Errorf("SESSION windows need GROUP BY window_start, window_end")
		}
		return nil, nil // a regular aggregate over the annotated rows
	}
	for i, e := range exprs {
		if i < nKeys && isWin(e) >= 0 {
			continue
		}
		if usesWin(e) {
			return nil, fmt.Errorf("window aggregation: %s: window columns may only be grouped by as they are", exprString(e, tvf.Fields()))
		}
	}
	for _, c := range conds {
		if usesWin(c) {
			return nil, fmt.Errorf("window aggregation: filters on window columns before the aggregation are not supported yet (%s)", exprString(c, tvf.Fields()))
		}
	}
	// The input of the WindowAggregate: the non-window keys, the call
	// arguments and filters (as pre computed them), then the time column.
	inFields := tvf.Input.Fields()
	proj := &Project{}
	var keyCols []int
	var names []string
	outOf := make([]int, nKeys) // a's group column i → WindowAggregate output column
	for i := range nKeys {
		if w := isWin(exprs[i]); w >= 0 {
			outOf[i] = -1 - w
			continue
		}
		keyCols = append(keyCols, len(proj.Exprs))
		outOf[i] = len(proj.Exprs)
		proj.Exprs = append(proj.Exprs, exprs[i])
		proj.Names = append(proj.Names, a.Names[i])
		names = append(names, a.Names[i])
	}
	for i := range nKeys {
		if outOf[i] < 0 {
			outOf[i] = len(keyCols) + (-1 - outOf[i])
		}
	}
	argAt := map[int]int{} // pre column → proj column
	colOf := func(preCol int) int {
		if c, ok := argAt[preCol]; ok {
			return c
		}
		argAt[preCol] = len(proj.Exprs)
		proj.Exprs = append(proj.Exprs, exprs[preCol])
		proj.Names = append(proj.Names, fmt.Sprintf("$arg%d", preCol))
		return argAt[preCol]
	}
	calls := make([]AggCall, len(a.Calls))
	for i, c := range a.Calls {
		calls[i] = c
		if c.Arg >= 0 {
			calls[i].Arg = colOf(c.Arg)
		}
		if c.Filter >= 0 {
			calls[i].Filter = colOf(c.Filter)
		}
		names = append(names, a.Names[nKeys+i])
	}
	if tvf.Spec.Kind == ops.WindowSession && len(tvf.PartitionCols) > 0 {
		for _, pc := range tvf.PartitionCols {
			found := false
			for _, k := range keyCols {
				if c, ok := expr.ColumnIndex(proj.Exprs[k]); ok && c == pc {
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("SESSION: partition column '%s' must be a GROUP BY key", inFields[pc].Name)
			}
		}
	}
	spec := tvf.Spec
	spec.TimeCol = len(proj.Exprs)
	tf := inFields[tvf.Spec.TimeCol]
	proj.Exprs = append(proj.Exprs, expr.Col(tvf.Spec.TimeCol, tf.Type, tf.Name))
	proj.Names = append(proj.Names, tf.Name)
	var in Node = tvf.Input
	if len(conds) > 0 {
		cond := conds[0]
		for _, c := range conds[1:] {
			if cond, err = expr.Call("AND", cond, c); err != nil {
				return nil, err
			}
		}
		in = &Filter{Input: in, Cond: cond}
	}
	proj.Input = in
	wa := &WindowAggregate{Input: proj, Spec: spec, KeyCols: keyCols, Calls: calls, Names: names, Proctime: tvf.Proctime}
	// Back to a's layout: its group columns in order, then the calls.
	wf := wa.Fields()
	out := &Project{Input: wa}
	for i := range nKeys {
		out.Exprs = append(out.Exprs, expr.Col(outOf[i], wf[outOf[i]].Type, wf[outOf[i]].Name))
		out.Names = append(out.Names, a.Names[i])
	}
	for i := range a.Calls {
		c := len(keyCols) + 3 + i
		out.Exprs = append(out.Exprs, expr.Col(c, wf[c].Type, wf[c].Name))
		out.Names = append(out.Names, a.Names[nKeys+i])
	}
	return out, nil
}

// watermarkAssigner chains the watermark assigner of scan s after its
// source (fragment f), whose source factory link wraps.
func (c *compiler) watermarkAssigner(f frag, s *Scan, link *ops.SplitLink) (frag, error) {
	m := make([]int, len(s.Table.Schema))
	for i := range m {
		m[i] = -1
	}
	for i, col := range s.Columns {
		m[col] = i
	}
	e, err := expr.Remap(s.Watermark.Expr, m)
	if err != nil {
		return frag{}, fmt.Errorf("table '%s': watermark: %w", s.Table.Name, err)
	}
	name := fmt.Sprintf("WatermarkAssigner(rowtime=[%s], watermark=[%s])",
		s.Table.Schema[s.Watermark.Column].Name, exprString(e, s.Fields()))
	return c.addOp(f, name, f.types, ops.WatermarkAssignerFactory(e, m[s.Watermark.Column], s.Watermark.IdleTimeout, link)), nil
}

// windowAggregate compiles a WindowAggregate: a hash exchange by its keys
// (one subtask without keys), then the operator.
func (c *compiler) windowAggregate(x *WindowAggregate) (frag, error) {
	f, err := c.node(x.Input)
	if err != nil {
		return frag{}, err
	}
	if x.Proctime {
		f = c.proctimeAssigner(f, x.Spec.TimeCol, x.Input.Fields()[x.Spec.TimeCol].Name)
	}
	par, kind := c.parallelism(), exec.Hash
	if len(x.KeyCols) == 0 {
		par, kind = 1, exec.Single
	}
	f = c.exchange([]frag{f}, kind, x.KeyCols, par, "WindowAggregate")
	spec := ops.WindowAggSpec{Window: x.Spec, KeyCols: x.KeyCols, InTypes: f.types}
	for _, call := range x.Calls {
		spec.Calls = append(spec.Calls, ops.AggCall{Kind: aggKinds[call.Func], Arg: call.Arg,
			Distinct: call.Distinct, Filter: call.Filter, OutType: call.Type})
	}
	return c.addOp(f, x.describe(), fieldTypes(x.Fields()), ops.WindowAggFactory(spec)), nil
}
