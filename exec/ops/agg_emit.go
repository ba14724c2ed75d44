package ops

import (
	"fmt"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// Output of GroupAgg: after a batch, the touched groups are written back
// and their changes emitted.

// aggEmit is an output row: its op, the input row supplying the group
// values and the offset of its results in GroupAgg.res.
type aggEmit struct {
	op  types.Op
	row int32
	res int32
}

// emit writes the touched groups back to the store and emits their
// changes.
func (g *GroupAgg) emit(b *types.Batch, out exec.Collector) error {
	nc := len(g.calls)
	g.emits = g.emits[:0]
	for e := range g.entries {
		ent := &g.entries[e]
		if !ent.active {
			continue
		}
		key := g.keys[ent.keyStart:ent.keyEnd]
		old, cur := int32(2*e*nc), int32((2*e+1)*nc)
		if ent.rec.rows <= 0 && !g.global {
			if err := g.store.del(int(ent.kg), ent.hash, key, ent.rec); err != nil {
				return fmt.Errorf("group aggregate: delete state: %w", err)
			}
			if ent.found {
				g.emits = append(g.emits, aggEmit{op: types.Delete, row: ent.row, res: old})
			}
			continue
		}
		if err := g.store.putEntry(ent, key); err != nil {
			return fmt.Errorf("group aggregate: write state: %w", err)
		}
		switch {
		case !ent.found:
			g.emits = append(g.emits, aggEmit{op: types.Insert, row: ent.row, res: cur})
		case !equalResults(g.res[old:old+int32(nc)], g.res[cur:cur+int32(nc)]):
			g.emits = append(g.emits,
				aggEmit{op: types.UpdateBefore, row: ent.row, res: old},
				aggEmit{op: types.UpdateAfter, row: ent.row, res: cur})
		}
	}
	return g.output(b, out)
}

func equalResults(a, b []aggResult) bool {
	for c := range a {
		if !a[c].equal(&b[c]) {
			return false
		}
	}
	return true
}

// output sends g.emits as batches of at most types.DefaultBatchSize rows,
// never separating a -U from its +U, built column by column. b supplies
// the group values (nil when there are no group columns).
func (g *GroupAgg) output(b *types.Batch, out exec.Collector) error {
	ems := g.emits
	ng := len(g.Spec.GroupCols)
	for len(ems) > 0 {
		k := min(len(ems), types.DefaultBatchSize)
		if k < len(ems) && ems[k-1].op == types.UpdateBefore {
			k--
		}
		o := types.NewBatch(g.outTypes)
		for _, em := range ems[:k] {
			o.Ops = append(o.Ops, em.op)
		}
		for gc, c := range g.Spec.GroupCols {
			gatherRows(&o.Cols[gc], &b.Cols[c], ems[:k])
		}
		for c := range g.calls {
			appendResults(&o.Cols[ng+c], g.res, c, ems[:k])
		}
		ems = ems[k:]
		if err := out.Collect(o); err != nil {
			return err
		}
	}
	return nil
}

// gatherRows appends the rows ems[*].row of src to dst.
func gatherRows(dst, src *types.Vector, ems []aggEmit) {
	base := dst.Len()
	switch src.Type.Class() {
	case types.ClassF64:
		for _, em := range ems {
			dst.F64 = append(dst.F64, src.F64[em.row])
		}
	case types.ClassStr:
		for _, em := range ems {
			dst.Str = append(dst.Str, src.Str[em.row])
		}
	default:
		for _, em := range ems {
			dst.I64 = append(dst.I64, src.I64[em.row])
		}
	}
	if !src.HasNulls() {
		return
	}
	for k, em := range ems {
		if src.IsNull(int(em.row)) {
			dst.EnsureNulls()
			dst.Nulls[base+k] = true
		}
	}
}

// appendResults appends the results of call c of ems to dst.
func appendResults(dst *types.Vector, res []aggResult, c int, ems []aggEmit) {
	base := dst.Len()
	nulls := false
	switch dst.Type.Class() {
	case types.ClassF64:
		for _, em := range ems {
			r := &res[int(em.res)+c]
			dst.F64 = append(dst.F64, r.f)
			nulls = nulls || r.null
		}
	case types.ClassStr:
		for _, em := range ems {
			r := &res[int(em.res)+c]
			dst.Str = append(dst.Str, r.s)
			nulls = nulls || r.null
		}
	default:
		for _, em := range ems {
			r := &res[int(em.res)+c]
			dst.I64 = append(dst.I64, r.i)
			nulls = nulls || r.null
		}
	}
	if !nulls {
		return
	}
	dst.EnsureNulls()
	for k, em := range ems {
		if res[int(em.res)+c].null {
			dst.Nulls[base+k] = true
		}
	}
}
