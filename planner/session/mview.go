package session

import (
	"fmt"
	"strings"

	"github.com/sluicesql/sluice/catalog"
	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/parser"
	"github.com/sluicesql/sluice/planner"
)

// createMaterializedView stores the view's rows as a built-in table and
// starts the job that keeps them current.
func (s *Session) createMaterializedView(cv *parser.CreateView) (*Result, error) {
	if cv.IfNotExists {
		if _, _, err := s.cat.Lookup(cv.Name); err == nil {
			return ok(fmt.Sprintf("Materialized view '%s' already exists.", cv.Name)), nil
		}
	}
	pl := s.planner()
	plan, err := pl.PlanQuery(cv.Query, true)
	if err != nil {
		return nil, err
	}
	fs := plan.Root.Fields()
	if len(cv.Columns) > 0 && len(cv.Columns) != len(fs) {
		return nil, cv.ErrorAt(nameOff(cv.Span, cv.Name), fmt.Sprintf(
			"materialized view '%s' names %d columns but its query produces %d", cv.Name, len(cv.Columns), len(fs)))
	}
	v := &catalog.View{Name: cv.Name, QuerySQL: cv.QueryText, SQL: cv.Text(), Materialized: true}
	seen := map[string]bool{}
	for i, f := range fs {
		name := plan.Names[i]
		if len(cv.Columns) > 0 {
			name = cv.Columns[i]
		}
		if seen[strings.ToLower(name)] {
			return nil, cv.ErrorAt(nameOff(cv.Span, cv.Name), fmt.Sprintf(
				"materialized view '%s' would have two columns named '%s'; give them distinct aliases", cv.Name, name))
		}
		seen[strings.ToLower(name)] = true
		v.Columns = append(v.Columns, catalog.Column{Name: name, Type: f.Type})
	}
	for _, k := range upsertKey(plan.Root) {
		v.PrimaryKey = append(v.PrimaryKey, v.Columns[k].Name)
		v.Columns[k].Type.NotNull = true
	}
	if err := s.cat.CreateView(v, false); err != nil {
		return nil, cv.ErrorAt(nameOff(cv.Span, cv.Name), err.Error())
	}
	rj, err := s.startViewJob(pl, plan, v)
	if err != nil {
		_ = s.cat.DropView(v.Name, true)
		return nil, cv.ErrorAt(0, err.Error())
	}
	return &Result{Kind: ResultOK, JobID: rj.id,
		Message: fmt.Sprintf("Materialized view '%s' created; job '%s' keeps it current.", cv.Name, rj.id)}, nil
}

// startViewJob starts the job writing a materialized view's rows.
func (s *Session) startViewJob(pl *planner.Planner, plan *planner.Plan, v *catalog.View) (*runningJob, error) {
	t := viewTable(v, s.cfg.StateDir)
	sinkPlan, err := pl.PlanSink(plan, t)
	if err != nil {
		return nil, err
	}
	return s.startJob(s.newJobPlan([]*planner.Plan{sinkPlan}, v), v.SQL, []string{v.Name}, "materialized view "+v.Name)
}

// viewTable is the built-in table holding a materialized view's rows.
func viewTable(v *catalog.View, stateDir string) *connectors.Table {
	t := &connectors.Table{Name: v.Name, Options: map[string]string{}, StateDir: stateDir}
	for _, c := range v.Columns {
		t.Schema = append(t.Schema, types.Column{Name: c.Name, Type: c.Type})
	}
	for _, k := range v.PrimaryKey {
		t.PrimaryKey = append(t.PrimaryKey, t.Schema.Index(k))
	}
	return t
}

// upsertKey returns the output columns that uniquely identify a row of n's
// result: the group columns of a top-level aggregate when the projection
// above it keeps them all as plain columns; nil when there is none.
func upsertKey(n planner.Node) []int {
	switch x := n.(type) {
	case *planner.Aggregate:
		if len(x.GroupCols) == 0 {
			return nil
		}
		out := make([]int, len(x.GroupCols))
		for i := range out {
			out[i] = i
		}
		return out
	case *planner.Project:
		inner := upsertKey(x.Input)
		if inner == nil {
			return nil
		}
		var out []int
		for _, k := range inner {
			found := -1
			for i, e := range x.Exprs {
				if c, ok := expr.ColumnIndex(e); ok && c == k {
					found = i
					break
				}
			}
			if found < 0 {
				return nil
			}
			out = append(out, found)
		}
		return out
	case *planner.Filter:
		return upsertKey(x.Input)
	}
	return nil
}

// dropMaterializedView stops the view's job and removes it with its rows.
func (s *Session) dropMaterializedView(name string, ifExists bool) error {
	v, err := s.cat.View(name)
	if err != nil {
		if ifExists {
			return nil
		}
		return err
	}
	if !v.Materialized {
		return fmt.Errorf("'%s' is a view, not a materialized view; use DROP VIEW", name)
	}
	s.mu.Lock()
	rj := s.jobs[v.JobID]
	s.mu.Unlock()
	if rj != nil {
		_ = s.cat.UpdateJob(rj.id, func(j *catalog.Job) error { j.Status = catalog.JobCanceled; return nil })
		rj.run.Cancel()
		<-rj.done
	}
	return s.cat.DropView(name, ifExists)
}
