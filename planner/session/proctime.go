package session

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sluicesql/sluice/catalog"
	"github.com/sluicesql/sluice/parser"
	"github.com/sluicesql/sluice/planner"
)

// Processing-time attributes: the one computed column CREATE TABLE accepts
// is `name AS PROCTIME()`. The catalog keeps it (ComputedSQL "PROCTIME()");
// connectors do not see it (connectorTable); the planner adds it to scans
// of the table (planner.ProctimeCatalog).

// proctimeSQL is the ComputedSQL of a processing-time column.
const proctimeSQL = "PROCTIME()"

// proctimeColumn checks computed column c of CREATE TABLE ct (declared
// after cols) and returns its catalog column.
func proctimeColumn(ct *parser.CreateTable, c parser.ColumnDef, cols []catalog.Column) (catalog.Column, error) {
	f, ok := c.Computed.(*ast.FuncCallExpr)
	if !ok || f.FnName.L != "proctime" || len(f.Args) != 0 {
		return catalog.Column{}, ct.ErrorAt(c.Offset, fmt.Sprintf(
			"computed column '%s': only `%s AS PROCTIME()` (a processing-time attribute) is supported as a computed column yet", c.Name, c.Name))
	}
	for _, o := range cols {
		if o.ComputedSQL != "" {
			return catalog.Column{}, ct.ErrorAt(c.Offset, fmt.Sprintf(
				"computed column '%s': the table already has a processing-time column, '%s'", c.Name, o.Name))
		}
	}
	t := planner.ProctimeType
	t.NotNull = true
	return catalog.Column{Name: c.Name, Type: t, ComputedSQL: proctimeSQL}, nil
}

// checkProctimeTable refuses processing-time columns on built-in tables,
// which store every column they have.
func checkProctimeTable(ct *parser.CreateTable, t *catalog.Table) error {
	if !t.IsBuiltin() {
		return nil
	}
	for i, c := range t.Columns {
		if c.ComputedSQL != "" {
			return ct.ErrorAt(ct.Columns[i].Offset, fmt.Sprintf(
				"column '%s': PROCTIME() columns need a connector table (WITH ('connector' = ...)); built-in tables have none", c.Name))
		}
	}
	return nil
}

// Proctime implements planner.ProctimeCatalog.
func (a *catalogAdapter) Proctime(name string) (column string, pos int, ok bool) {
	t, _, err := a.s.cat.Lookup(name)
	if err != nil || t == nil {
		return "", 0, false
	}
	for _, c := range t.Columns {
		if strings.EqualFold(c.ComputedSQL, proctimeSQL) {
			return c.Name, pos, true
		}
		if c.ComputedSQL == "" {
			pos++
		}
	}
	return "", 0, false
}
