package session

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sluicesql/sluice/catalog"
	"github.com/sluicesql/sluice/checkpoint"
	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/parser"
	"github.com/sluicesql/sluice/planner"
)

// connectorTable converts a catalog table into what connectors see:
// every column but the computed ones (the planner adds a PROCTIME() column,
// see proctime.go).
func connectorTable(t *catalog.Table, stateDir string) *connectors.Table {
	ct := &connectors.Table{Name: t.Name, Options: map[string]string{}, StateDir: stateDir}
	var meta []string
	hasMeta := false
	for _, c := range t.Columns {
		if c.ComputedSQL != "" {
			continue
		}
		ct.Schema = append(ct.Schema, types.Column{Name: c.Name, Type: c.Type})
		meta = append(meta, c.Metadata)
		hasMeta = hasMeta || c.Metadata != ""
	}
	if hasMeta {
		ct.Metadata = meta
	}
	for _, k := range t.PrimaryKey {
		ct.PrimaryKey = append(ct.PrimaryKey, ct.Schema.Index(k))
	}
	for k, v := range t.Options {
		ct.Options[k] = v
	}
	return ct
}

func (s *Session) createTable(ct *parser.CreateTable) (*Result, error) {
	t := &catalog.Table{Name: ct.Name, SQL: ct.Text(), Options: map[string]string{}, Created: time.Now()}
	seen := map[string]bool{}
	for _, c := range ct.Columns {
		key := strings.ToLower(c.Name)
		if seen[key] {
			return nil, ct.ErrorAt(c.Offset, fmt.Sprintf("duplicate column '%s'", c.Name))
		}
		seen[key] = true
		if c.Computed != nil {
			col, err := proctimeColumn(ct, c, t.Columns)
			if err != nil {
				return nil, err
			}
			t.Columns = append(t.Columns, col)
			continue
		}
		t.Columns = append(t.Columns, catalog.Column{Name: c.Name, Type: c.Type, Metadata: c.Metadata, Virtual: c.Virtual})
	}
	for _, k := range ct.PrimaryKey {
		idx := -1
		for i, c := range t.Columns {
			if strings.EqualFold(c.Name, k) {
				idx = i
			}
		}
		if idx < 0 {
			return nil, ct.ErrorAt(keyOffset(ct, k), fmt.Sprintf("primary key column '%s' is not a column of the table", k))
		}
		if t.Columns[idx].ComputedSQL != "" {
			return nil, ct.ErrorAt(keyOffset(ct, k), fmt.Sprintf("primary key column '%s' is a computed column", k))
		}
		t.Columns[idx].Type.NotNull = true
		t.PrimaryKey = append(t.PrimaryKey, t.Columns[idx].Name)
	}
	if ct.Watermark != nil {
		found := false
		for _, c := range t.Columns {
			if strings.EqualFold(c.Name, ct.Watermark.Column) {
				found = true
				if c.ComputedSQL != "" {
					return nil, ct.ErrorAt(ct.Watermark.Offset, fmt.Sprintf(
						"watermark column '%s' is a processing-time column (AS PROCTIME()): a WATERMARK needs an event-time column", c.Name))
				}
				if c.Type.Kind != types.KindTimestamp && c.Type.Kind != types.KindTimestampLTZ {
					return nil, ct.ErrorAt(ct.Watermark.Offset, fmt.Sprintf(
						"watermark column '%s' must be TIMESTAMP or TIMESTAMP_LTZ, not %s", c.Name, c.Type))
				}
			}
		}
		if !found {
			return nil, ct.ErrorAt(ct.Watermark.Offset, fmt.Sprintf("watermark column '%s' is not a column of the table", ct.Watermark.Column))
		}
		exprSQL := ""
		if ct.Watermark.Expr != nil {
			exprSQL = clauseText(ct.Text(), ct.Watermark.Expr.OriginTextPosition())
		}
		t.Watermark = &catalog.Watermark{Column: ct.Watermark.Column, ExprSQL: exprSQL}
	}
	for _, o := range ct.Options {
		t.Options[strings.ToLower(o.Key)] = o.Value
	}
	conn := t.Options["connector"]
	if conn == "" && len(t.Options) > 0 {
		return nil, ct.ErrorAt(optOffset(ct), "the WITH clause needs a 'connector' option")
	}
	if err := checkProctimeTable(ct, t); err != nil {
		return nil, err
	}
	ctab := connectorTable(t, s.cfg.StateDir)
	c, err := (&catalogAdapter{s: s}).Connector(connName(ctab))
	if err != nil {
		return nil, ct.ErrorAt(optOffset(ct), err.Error())
	}
	if ctab.Metadata != nil {
		// Connectors that read record metadata say which keys they know.
		if _, ok := c.(interface{ MetadataKeys() []string }); !ok {
			for _, col := range ct.Columns {
				if col.Metadata != "" {
					return nil, ct.ErrorAt(col.Offset, fmt.Sprintf("connector '%s' has no METADATA columns", connName(ctab)))
				}
			}
		}
	}
	if err := c.Validate(ctab); err != nil {
		return nil, ct.ErrorAt(optOffset(ct), err.Error())
	}
	if err := s.cat.CreateTable(t, ct.IfNotExists); err != nil {
		return nil, ct.ErrorAt(nameOff(ct.Span, ct.Name), err.Error())
	}
	return ok(fmt.Sprintf("Table '%s' created.", ct.Name)), nil
}

func connName(t *connectors.Table) string {
	if c := t.Options["connector"]; c != "" {
		return c
	}
	return "builtin"
}

func optOffset(ct *parser.CreateTable) int {
	if len(ct.Options) > 0 {
		return ct.Options[0].Offset
	}
	return 0
}

func keyOffset(ct *parser.CreateTable, k string) int {
	text := strings.ToLower(ct.Text())
	if i := strings.Index(text, "primary key"); i >= 0 {
		if j := strings.Index(text[i:], strings.ToLower(k)); j >= 0 {
			return i + j
		}
		return i
	}
	return 0
}

// nameOff finds name in the statement text for error carets.
func nameOff(span parser.Span, name string) int { return planner.NameOffset(span, name) }

func (s *Session) createView(cv *parser.CreateView) (*Result, error) {
	if cv.Materialized {
		return s.createMaterializedView(cv)
	}
	plan, err := s.planner().PlanQuery(cv.Query, false)
	if err != nil {
		return nil, err
	}
	fs := plan.Root.Fields()
	if len(cv.Columns) > 0 && len(cv.Columns) != len(fs) {
		return nil, cv.ErrorAt(nameOff(cv.Span, cv.Name), fmt.Sprintf(
			"view '%s' names %d columns but its query produces %d", cv.Name, len(cv.Columns), len(fs)))
	}
	v := &catalog.View{Name: cv.Name, QuerySQL: cv.QueryText, SQL: cv.Text()}
	seen := map[string]bool{}
	for i, f := range fs {
		name := f.Name
		if len(cv.Columns) > 0 {
			name = cv.Columns[i]
		}
		if seen[strings.ToLower(name)] {
			return nil, cv.ErrorAt(nameOff(cv.Span, cv.Name), fmt.Sprintf(
				"view '%s' would have two columns named '%s'; give them distinct aliases", cv.Name, name))
		}
		seen[strings.ToLower(name)] = true
		v.Columns = append(v.Columns, catalog.Column{Name: name, Type: f.Type})
	}
	if err := s.cat.CreateView(v, cv.IfNotExists); err != nil {
		return nil, cv.ErrorAt(nameOff(cv.Span, cv.Name), err.Error())
	}
	return ok(fmt.Sprintf("View '%s' created.", cv.Name)), nil
}

func (s *Session) drop(d *parser.Drop) (*Result, error) {
	for _, name := range d.Names {
		var err error
		switch d.Kind {
		case parser.ObjTable:
			err = s.dropTable(name, d.IfExists)
		case parser.ObjView:
			if v, verr := s.cat.View(name); verr == nil && v.Materialized {
				err = fmt.Errorf("'%s' is a materialized view; use DROP MATERIALIZED VIEW", name)
			} else {
				err = s.cat.DropView(name, d.IfExists)
			}
		case parser.ObjMaterializedView:
			err = s.dropMaterializedView(name, d.IfExists)
		}
		if err != nil {
			return nil, d.ErrorAt(nameOff(d.Span, name), err.Error())
		}
	}
	return ok("Dropped."), nil
}

func (s *Session) dropTable(name string, ifExists bool) error {
	for _, j := range s.runningJobs() {
		for _, t := range j.tables {
			if strings.EqualFold(t, name) {
				return fmt.Errorf("table '%s' is used by running job '%s'; stop it first (STOP JOB '%s')", name, j.id, j.id)
			}
		}
	}
	return s.cat.DropTable(name, ifExists)
}

func (s *Session) set(st *parser.Set) (*Result, error) {
	if st.Key == "" {
		var rows [][]types.Datum
		for _, k := range sortedKeys(s.settings) {
			rows = append(rows, []types.Datum{types.StringDatum(k), types.StringDatum(s.settings[k])})
		}
		return rowsResult(stringSchema("key", "value"), rows), nil
	}
	if err := validateSetting(st.Key, st.Value); err != nil {
		return nil, st.ErrorAt(0, err.Error())
	}
	s.settings[st.Key] = st.Value
	return ok(fmt.Sprintf("'%s' = '%s'", st.Key, st.Value)), nil
}

// validateSetting checks the keys Sluice acts on; other keys are stored
// as given, as Flink does.
func validateSetting(key, value string) error {
	if checkpoint.IsKey(key) {
		return checkpoint.Validate(key, value)
	}
	switch key {
	case "parallelism.default":
		var n int
		if _, err := fmt.Sscanf(value, "%d", &n); err != nil || n < 1 || n > 128 {
			return fmt.Errorf("'parallelism.default' must be an integer between 1 and 128, got '%s'", value)
		}
	case "table.exec.state.ttl":
		if d, err := checkpoint.ParseDuration(value); err != nil || d < 0 {
			return fmt.Errorf("'table.exec.state.ttl' must be a duration such as '1 h' or '0' (never expire), got '%s'", value)
		}
	}
	return nil
}

func (s *Session) reset(r *parser.Reset) (*Result, error) {
	if r.Key == "" {
		s.settings = map[string]string{}
		return ok("All settings reset."), nil
	}
	delete(s.settings, r.Key)
	return ok(fmt.Sprintf("'%s' reset.", r.Key)), nil
}

func (s *Session) show(sh *parser.Show) (*Result, error) {
	var rows [][]types.Datum
	switch sh.Kind {
	case parser.ShowTables:
		for _, t := range s.cat.Tables() {
			rows = append(rows, []types.Datum{types.StringDatum(t.Name)})
		}
		return rowsResult(stringSchema("table name"), rows), nil
	case parser.ShowViews:
		for _, v := range s.cat.Views() {
			rows = append(rows, []types.Datum{types.StringDatum(v.Name)})
		}
		return rowsResult(stringSchema("view name"), rows), nil
	case parser.ShowJobs:
		return s.showJobs(), nil
	case parser.ShowTransactions:
		r, err := s.showTransactions(sh.Target)
		if err != nil {
			return nil, sh.ErrorAt(0, err.Error())
		}
		return r, nil
	case parser.ShowCheckpoints:
		r, err := s.showCheckpoints(sh.Target)
		if err != nil {
			return nil, sh.ErrorAt(0, err.Error())
		}
		return r, nil
	case parser.ShowCreateTable:
		t, _, err := s.cat.Lookup(sh.Target)
		if err != nil {
			return nil, sh.ErrorAt(nameOff(sh.Span, sh.Target), err.Error())
		}
		if t == nil {
			return nil, sh.ErrorAt(nameOff(sh.Span, sh.Target), fmt.Sprintf("'%s' is a view, not a table", sh.Target))
		}
		return rowsResult(stringSchema("create table"), [][]types.Datum{{types.StringDatum(redact(t.SQL))}}), nil
	case parser.ShowConnectors:
		for _, n := range []string{"blackhole", "datagen", "filesystem", "print"} {
			rows = append(rows, []types.Datum{types.StringDatum(n)})
		}
		return rowsResult(stringSchema("connector"), rows), nil
	}
	return nil, sh.ErrorAt(0, "this SHOW statement is not supported yet")
}

// redact hides password-like option values in DDL text shown back.
func redact(sql string) string {
	out := sql
	lower := strings.ToLower(out)
	for _, key := range []string{"password'", "secret'"} {
		i := strings.Index(lower, key)
		if i < 0 {
			continue
		}
		eq := strings.Index(lower[i:], "'")
		if eq < 0 {
			continue
		}
		start := strings.Index(lower[i+len(key):], "'")
		if start < 0 {
			continue
		}
		start += i + len(key) + 1
		end := strings.Index(lower[start:], "'")
		if end < 0 {
			continue
		}
		out = out[:start] + "******" + out[start+end:]
		lower = strings.ToLower(out)
	}
	// Passwords inside connection URLs ('url' = 'postgres://user:pw@host/db',
	// ...?password=pw) and libpq key=value strings.
	out = urlPassword.ReplaceAllString(out, "${1}******@")
	return paramPassword.ReplaceAllString(out, "${1}******")
}

var (
	urlPassword   = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://[^/?#:@'\s]*:)(?:[^/?#@'\s]|'')*@`)
	paramPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)(?:[^&'\s]|'')*`)
)

func (s *Session) describe(d *parser.Describe) (*Result, error) {
	t, v, err := s.cat.Lookup(d.Name)
	if err != nil {
		return nil, d.ErrorAt(nameOff(d.Span, d.Name), err.Error())
	}
	var rows [][]types.Datum
	if t != nil {
		pk := map[string]bool{}
		for _, k := range t.PrimaryKey {
			pk[strings.ToLower(k)] = true
		}
		for _, c := range t.Columns {
			key := ""
			if pk[strings.ToLower(c.Name)] {
				key = "PRI"
			}
			wm := ""
			if t.Watermark != nil && strings.EqualFold(t.Watermark.Column, c.Name) {
				wm = t.Watermark.ExprSQL
			}
			rows = append(rows, describeRow(c.Name, c.Type, key, wm))
		}
	} else {
		for _, c := range v.Columns {
			key := ""
			for _, k := range v.PrimaryKey {
				if strings.EqualFold(k, c.Name) {
					key = "PRI"
				}
			}
			rows = append(rows, describeRow(c.Name, c.Type, key, ""))
		}
	}
	return rowsResult(stringSchema("name", "type", "null", "key", "watermark"), rows), nil
}

func describeRow(name string, t types.Type, key, wm string) []types.Datum {
	null := "YES"
	if t.NotNull {
		null = "NO"
	}
	return []types.Datum{types.StringDatum(name), types.StringDatum(t.Nullable().String()),
		types.StringDatum(null), types.StringDatum(key), types.StringDatum(wm)}
}

func (s *Session) explain(e *parser.Explain) (*Result, error) {
	pl := s.planner()
	var plan *planner.Plan
	var err error
	switch x := e.Stmt.(type) {
	case *parser.Query:
		plan, err = pl.PlanQuery(x, false)
	case *parser.Insert:
		plan, err = pl.PlanInsert(x)
	default:
		return nil, e.ErrorAt(0, "EXPLAIN of this statement is not supported yet")
	}
	if err != nil {
		return nil, err
	}
	ph, err := pl.Compile(plan, compileOptsForExplain(plan))
	if err != nil {
		return nil, e.ErrorAt(0, err.Error())
	}
	text := "== Optimized Logical Plan ==\n" + planner.Explain(plan.Root, e.ChangelogMode) +
		"\n== Physical Plan ==\n" + ph.Explain()
	return rowsResult(stringSchema("plan"), [][]types.Datum{{types.StringDatum(text)}}), nil
}

func ok(msg string) *Result { return &Result{Kind: ResultOK, Message: msg} }

func stringSchema(names ...string) types.Schema {
	s := make(types.Schema, len(names))
	for i, n := range names {
		s[i] = types.Column{Name: n, Type: types.String}
	}
	return s
}

// clauseText returns the text of the expression starting at off in a
// column list: up to the first ',' or ')' outside parentheses and quotes.
func clauseText(text string, off int) string {
	depth := 0
	var quote byte
	for i := off; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(':
			depth++
		case c == ')' && depth == 0, c == ',' && depth == 0:
			return strings.TrimSpace(text[off:i])
		case c == ')':
			depth--
		}
	}
	return strings.TrimSpace(text[off:])
}

// Settings returns a copy of the session's SET values (a client that
// reconnects passes them to the new session in Config.Settings).
func (s *Session) Settings() map[string]string {
	s.execMu.Lock()
	defer s.execMu.Unlock()
	out := make(map[string]string, len(s.settings))
	for k, v := range s.settings {
		out[k] = v
	}
	return out
}
