package planner

import (
	"fmt"

	"github.com/sluicesql/sluice/exec/expr"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
)

// Processing time.
//
// A processing-time attribute is a TIMESTAMP_LTZ(3) column whose value is
// the wall clock when the row is processed. It comes from a table's
// computed column `pt AS PROCTIME()` (ProctimeCatalog: the scan is wrapped
// in a projection that computes it, so connectors never see the column)
// or from PROCTIME() in a projection (a view's SELECT ..., PROCTIME() AS
// pt), and it survives filters and plain column projections
// (proctimeCols), as a rowtime attribute does.
//
// A window TVF whose DESCRIPTOR names one is a processing-time window
// (WindowTVF.Proctime). The TVF alone annotates rows with the windows of
// their PROCTIME() value. A window aggregation over it runs the event-time
// window operator fed by an ops.ProctimeAssigner chained before its
// exchange: the assigner stamps the time column with the clock and emits
// the clock as the watermark (and +inf at the end of a bounded input), so
// a window fires when the wall clock passes its end and no row is late.
// Window Top-N and window joins need event time: over processing-time
// windows their window columns are plain columns (windowRoles), so they
// plan as a regular Top-N or join.

// ProctimeCatalog is implemented by a Catalog whose tables may declare a
// processing-time attribute, a computed column `name AS PROCTIME()`.
// Without it no table has one.
type ProctimeCatalog interface {
	// Proctime returns the processing-time column of table and its
	// position among the table's columns as declared: the connector's
	// schema (connectors.Table.Schema) has every column but this one, in
	// order, so the column goes before schema column pos (pos =
	// len(schema) puts it last). ok is false when the table has none.
	Proctime(table string) (column string, pos int, ok bool)
}

// ProctimeType is the type of PROCTIME() and of processing-time
// attributes.
var ProctimeType = types.Type{Kind: types.KindTimestampLTZ, Precision: 3}

// isProctimeCall reports whether e is a call of PROCTIME().
func isProctimeCall(e expr.Expr) bool {
	t := e.Type()
	return t.Kind == ProctimeType.Kind && len(expr.Columns(e)) == 0 && e.String() == "PROCTIME()"
}

// proctimeCols reports which output columns of n are processing-time
// attributes.
func proctimeCols(n Node) []bool {
	out := make([]bool, len(n.Fields()))
	switch x := n.(type) {
	case *Filter:
		return proctimeCols(x.Input)
	case *Project:
		var in []bool
		for i, e := range x.Exprs {
			if isProctimeCall(e) {
				out[i] = true
			} else if c, ok := expr.ColumnIndex(e); ok {
				if in == nil {
					in = proctimeCols(x.Input)
				}
				out[i] = in[c]
			}
		}
	case *WindowTVF:
		copy(out, proctimeCols(x.Input))
	}
	return out
}

// withProctime returns scan s of table name, extended with the table's
// processing-time column (a projection computing PROCTIME() at the
// declared position) when it declares one, s itself otherwise.
func (b *builder) withProctime(s *Scan, name string) (Node, error) {
	pc, ok := b.p.Catalog.(ProctimeCatalog)
	if !ok {
		return s, nil
	}
	col, pos, ok := pc.Proctime(name)
	if !ok {
		return s, nil
	}
	fs := s.Fields()
	if pos < 0 || pos > len(fs) {
		return nil, fmt.Errorf("table '%s': processing-time column '%s' at position %d of %d columns", name, col, pos, len(fs))
	}
	pt, err := expr.Call("PROCTIME")
	if err != nil {
		return nil, fmt.Errorf("table '%s': column '%s': %w", name, col, err)
	}
	p := &Project{Input: s, Qualifier: s.Alias}
	for i := 0; i <= len(fs); i++ {
		if i == pos {
			p.Exprs = append(p.Exprs, pt)
			p.Names = append(p.Names, col)
		}
		if i < len(fs) {
			p.Exprs = append(p.Exprs, expr.Col(i, fs[i].Type, fs[i].Name))
			p.Names = append(p.Names, fs[i].Name)
		}
	}
	return p, nil
}

// timeAttrName describes a window's time column for EXPLAIN: time=[ts]
// for event time, proctime=[pt] for processing time.
func timeAttrName(proctime bool, col string) string {
	if proctime {
		return "proctime=[" + col + "]"
	}
	return "time=[" + col + "]"
}

// proctimeAssigner chains the ops.ProctimeAssigner of a processing-time
// window over column timeCol (named name) after fragment f.
func (c *compiler) proctimeAssigner(f frag, timeCol int, name string) frag {
	return c.addOp(f, fmt.Sprintf("ProctimeAssigner(proctime=[%s])", name), f.types,
		ops.ProctimeAssignerFactory(timeCol, f.types))
}
