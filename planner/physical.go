package planner

import (
	"fmt"
	"strings"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/ops"
	"github.com/sluicesql/sluice/exec/types"
)

// CompileOptions says how to compile a plan into a job graph.
type CompileOptions struct {
	// JobID identifies the job (given to sinks).
	JobID string
	// Checkpointing is given to sinks (connectors.SinkRequest).
	Checkpointing connectors.CheckpointSettings
	// Collect, when set, receives the rows of a query's result (the plan
	// root must not be a Sink). It is called from one subtask goroutine and
	// takes ownership of each batch.
	Collect func(b *types.Batch) error
}

// Physical is a compiled plan: the job graph and a description of each
// vertex for EXPLAIN.
type Physical struct {
	Graph *exec.JobGraph
	// Describe holds, per vertex, its operator names.
	Describe [][]string
}

// frag is the open end of a partially built graph: the vertex whose chain
// the next operator joins.
type frag struct {
	vertex int
	types  []types.Type
}

type compiler struct {
	p    *Planner
	opts CompileOptions
	g    *exec.JobGraph
	desc [][]string
}

// Compile turns an optimised logical plan into a job graph.
func (p *Planner) Compile(plan *Plan, opts CompileOptions) (*Physical, error) {
	c := &compiler{p: p, opts: opts, g: &exec.JobGraph{MaxParallelism: 128}}
	f, err := c.node(plan.Root)
	if err != nil {
		return nil, err
	}
	if opts.Collect != nil {
		collect := opts.Collect
		// Results are gathered by one subtask so the consumer sees one stream.
		if c.g.Vertices[f.vertex].Parallelism > 1 {
			f = c.exchange([]frag{f}, exec.Single, nil, 1, "Collect")
		}
		c.addOp(f, "Collect", f.types, ops.CollectFunc(collect))
	}
	return &Physical{Graph: c.g, Describe: c.desc}, nil
}

// CompileSet compiles the plans of several INSERTs (a statement set) into
// one job graph: one job with several sinks.
func (p *Planner) CompileSet(plans []*Plan, opts CompileOptions) (*Physical, error) {
	c := &compiler{p: p, opts: opts, g: &exec.JobGraph{MaxParallelism: 128}}
	for _, plan := range plans {
		if _, isSink := plan.Root.(*Sink); !isSink {
			return nil, fmt.Errorf("a statement set holds INSERT statements only")
		}
		if _, err := c.node(plan.Root); err != nil {
			return nil, err
		}
	}
	return &Physical{Graph: c.g, Describe: c.desc}, nil
}

func (c *compiler) parallelism() int {
	if c.p.Parallelism < 1 {
		return 1
	}
	return c.p.Parallelism
}

func (c *compiler) addVertex(v exec.Vertex, name string) frag {
	c.g.Vertices = append(c.g.Vertices, v)
	c.desc = append(c.desc, []string{name})
	return frag{vertex: len(c.g.Vertices) - 1, types: v.OutTypes}
}

func (c *compiler) addOp(f frag, name string, out []types.Type, fac exec.OperatorFactory) frag {
	v := &c.g.Vertices[f.vertex]
	v.Ops = append(v.Ops, fac)
	v.OutTypes = out
	c.desc[f.vertex] = append(c.desc[f.vertex], name)
	return frag{vertex: f.vertex, types: out}
}

// exchange starts a new vertex fed by the given fragments.
func (c *compiler) exchange(from []frag, kind exec.ExchangeKind, keys []int, par int, name string) frag {
	v := exec.Vertex{Name: name, Parallelism: par, InTypes: from[0].types, OutTypes: from[0].types}
	for _, f := range from {
		k := kind
		if k == exec.Forward && c.g.Vertices[f.vertex].Parallelism != par {
			k = exec.Rebalance
		}
		v.Inputs = append(v.Inputs, exec.Edge{From: f.vertex, Exchange: k, KeyCols: keys})
	}
	f := c.addVertex(v, name)
	if len(from) == 1 {
		// The vertex is named after the operator that follows; EXPLAIN
		// lists only operators.
		c.desc[f.vertex] = nil
	}
	return f
}

func fieldTypes(fs []Field) []types.Type {
	ts := make([]types.Type, len(fs))
	for i, f := range fs {
		ts[i] = f.Type
	}
	return ts
}

func (c *compiler) node(n Node) (frag, error) {
	switch x := n.(type) {
	case *Scan:
		par := c.parallelism()
		if x.Spec.MaxParallelism > 0 && par > x.Spec.MaxParallelism {
			par = x.Spec.MaxParallelism
		}
		name := "Source: " + x.Table.Name
		src, link := x.Spec.Factory, (*ops.SplitLink)(nil)
		var align *exec.WatermarkAlignment
		if x.Watermark != nil { // per-split watermarks when the source has splits
			link = &ops.SplitLink{}
			src = link.Sources(src)
			align = x.Watermark.Alignment
		}
		f := c.addVertex(exec.Vertex{Name: name, Parallelism: par, Source: src,
			InTypes: x.Spec.Types, OutTypes: x.Spec.Types, Alignment: align}, name)
		if x.Watermark != nil {
			return c.watermarkAssigner(f, x, link)
		}
		return f, nil
	case *Values:
		ts := fieldTypes(x.Schema)
		return c.addVertex(exec.Vertex{Name: "Source: Values", Parallelism: 1, Source: ops.ValuesFactory(x.Rows),
			InTypes: ts, OutTypes: ts}, "Source: Values"), nil
	case *Filter:
		f, err := c.node(x.Input)
		if err != nil {
			return frag{}, err
		}
		return c.addOp(f, "Filter("+exprString(x.Cond, x.Input.Fields())+")", f.types, ops.FilterFactory(x.Cond)), nil
	case *Project:
		f, err := c.node(x.Input)
		if err != nil {
			return frag{}, err
		}
		return c.addOp(f, "Project("+fieldNames(x.Fields())+")", fieldTypes(x.Fields()), ops.ProjectFactory(x.Exprs)), nil
	case *Union:
		var ins []frag
		for _, in := range x.In {
			f, err := c.node(in)
			if err != nil {
				return frag{}, err
			}
			ins = append(ins, f)
		}
		return c.exchange(ins, exec.Forward, nil, c.parallelism(), "Union"), nil
	case *Sort:
		f, err := c.node(x.Input)
		if err != nil {
			return frag{}, err
		}
		if c.g.Vertices[f.vertex].Parallelism > 1 {
			f = c.exchange([]frag{f}, exec.Single, nil, 1, "Sort")
		}
		keys := make([]ops.SortKey, len(x.Keys))
		for i, k := range x.Keys {
			keys[i] = ops.Asc(k.Col)
			if k.Desc {
				keys[i] = ops.Desc(k.Col)
			}
		}
		if x.Input.Mode() == connectors.AppendOnly {
			if len(keys) == 0 {
				return c.addOp(f, x.describe(), f.types, ops.LimitFactory(x.Limit, x.Offset)), nil
			}
			return c.addOp(f, x.describe(), f.types, ops.SortFactory(keys, x.Limit, x.Offset)), nil
		}
		// An updating input may retract rows a LIMIT already dropped: sort
		// the whole final result (by every column when there is no ORDER
		// BY, for a stable answer), then cut it.
		if len(keys) == 0 {
			for i := range f.types {
				keys = append(keys, ops.Asc(i))
			}
		}
		f = c.addOp(f, x.describe(), f.types, ops.SortFactory(keys, -1, 0))
		if x.Limit < 0 && x.Offset == 0 {
			return f, nil
		}
		return c.addOp(f, "Limit", f.types, ops.LimitFactory(x.Limit, x.Offset)), nil
	case *Aggregate:
		f, err := c.node(x.Input)
		if err != nil {
			return frag{}, err
		}
		par := c.parallelism()
		kind := exec.Hash
		if len(x.GroupCols) == 0 {
			par, kind = 1, exec.Single
		}
		f = c.exchange([]frag{f}, kind, x.GroupCols, par, "GroupAggregate")
		spec := ops.GroupAggSpec{GroupCols: x.GroupCols, InTypes: f.types, StateTTL: c.p.StateTTL}
		for _, call := range x.Calls {
			spec.Calls = append(spec.Calls, ops.AggCall{Kind: aggKinds[call.Func], Arg: call.Arg,
				Distinct: call.Distinct, Filter: call.Filter, OutType: call.Type})
		}
		return c.addOp(f, x.describe(), fieldTypes(x.Fields()), ops.GroupAggFactory(spec)), nil
	case *WindowTVF:
		f, err := c.node(x.Input)
		if err != nil {
			return frag{}, err
		}
		return c.addOp(f, x.describe(), fieldTypes(x.Fields()), ops.WindowTVFFactory(x.Spec, f.types)), nil
	case *WindowAggregate:
		return c.windowAggregate(x)
	case *SingleRow:
		f, err := c.node(x.Input)
		if err != nil {
			return frag{}, err
		}
		if c.g.Vertices[f.vertex].Parallelism > 1 {
			f = c.exchange([]frag{f}, exec.Single, nil, 1, "SingleRowCheck")
		}
		return c.addOp(f, x.describe(), f.types, ops.SingleRowFactory()), nil
	case *Rank:
		if x.Window != nil {
			return c.windowRank(x) // window_rank.go
		}
		f, err := c.node(x.Input)
		if err != nil {
			return frag{}, err
		}
		par, kind := c.parallelism(), exec.Hash
		if len(x.PartitionCols) == 0 {
			par, kind = 1, exec.Single
		}
		f = c.exchange([]frag{f}, kind, x.PartitionCols, par, "Rank")
		spec := ops.TopNSpec{PartitionCols: x.PartitionCols, N: x.N, InTypes: f.types, WithRank: true, StateTTL: c.p.StateTTL,
			InsertOnly: x.Input.Mode() == connectors.AppendOnly}
		for _, k := range x.Order {
			if k.Desc {
				spec.Order = append(spec.Order, ops.Desc(k.Col))
			} else {
				spec.Order = append(spec.Order, ops.Asc(k.Col))
			}
		}
		return c.addOp(f, x.describe(), fieldTypes(x.Fields()), ops.TopNFactory(spec)), nil
	case *Join:
		if x.Window != nil {
			return c.windowJoin(x) // window_join.go
		}
		lf, err := c.node(x.Left)
		if err != nil {
			return frag{}, err
		}
		rf, err := c.node(x.Right)
		if err != nil {
			return frag{}, err
		}
		par, kind := c.parallelism(), exec.Hash
		if len(x.LeftKeys) == 0 {
			// Without keys every row meets every row: one subtask.
			par, kind = 1, exec.Single
		}
		name := joinNames[x.Kind]
		if x.Interval != nil {
			name = "Interval" + name
		}
		v := exec.Vertex{Name: name, Parallelism: par, InTypes: lf.types,
			OutTypes: fieldTypes(x.Fields()),
			Inputs: []exec.Edge{
				{From: lf.vertex, Exchange: kind, KeyCols: x.LeftKeys, Types: lf.types},
				{From: rf.vertex, Exchange: kind, KeyCols: x.RightKeys, Types: rf.types},
			}}
		f := c.addVertex(v, name)
		c.desc[f.vertex] = nil
		if x.Interval != nil {
			return c.addOp(f, x.describe(), v.OutTypes, ops.IntervalJoinFactory(intervalSpec(x, lf.types, rf.types))), nil
		}
		spec := ops.JoinSpec{Type: joinKinds[x.Kind], LeftKeys: x.LeftKeys, RightKeys: x.RightKeys, StateTTL: c.p.StateTTL,
			LeftTypes: lf.types, RightTypes: rf.types, Residual: x.Residual,
			InsertOnly: [2]bool{x.Left.Mode() == connectors.AppendOnly, x.Right.Mode() == connectors.AppendOnly}}
		return c.addOp(f, x.describe(), v.OutTypes, ops.JoinFactory(spec)), nil
	case *Sink:
		f, err := c.node(x.Input)
		if err != nil {
			return frag{}, err
		}
		conn, err := c.p.connector(connectorName(x.Table))
		if err != nil {
			return frag{}, err
		}
		sc := conn.(connectors.SinkConnector)
		fac, err := sc.NewSink(x.Table, connectors.SinkRequest{Mode: x.Input.Mode(), JobID: c.opts.JobID, Checkpointing: c.opts.Checkpointing})
		if err != nil {
			return frag{}, fmt.Errorf("table '%s': %w", x.Table.Name, err)
		}
		par := c.parallelism()
		fixed := 0
		if sp, ok := conn.(connectors.SinkParallelizer); ok {
			fixed = sp.SinkParallelism(x.Table)
		}
		if fixed > 0 {
			par = fixed
		}
		key := x.UpsertKey
		if len(key) == 0 && x.Input.Mode() != connectors.AppendOnly {
			// A retraction must reach the subtask that wrote the row.
			for i := range f.types {
				key = append(key, i)
			}
		}
		switch {
		case len(key) > 0:
			// All changes of one key go to one sink subtask, in order.
			if c.g.Vertices[f.vertex].Parallelism != 1 || par != 1 {
				f = c.exchange([]frag{f}, exec.Hash, key, par, "Sink: "+x.Table.Name)
			}
		case fixed > 0 && c.g.Vertices[f.vertex].Parallelism != fixed:
			kind := exec.Rebalance
			if fixed == 1 {
				kind = exec.Single
			}
			f = c.exchange([]frag{f}, kind, nil, fixed, "Sink: "+x.Table.Name)
		}
		return c.addOp(f, "Sink: "+x.Table.Name+" ("+connectorName(x.Table)+")", f.types, fac), nil
	}
	return frag{}, fmt.Errorf("cannot compile %T", n)
}

// Explain prints the physical plan: one line per vertex with its chain,
// parallelism and inputs.
func (ph *Physical) Explain() string {
	var b strings.Builder
	for i, v := range ph.Graph.Vertices {
		fmt.Fprintf(&b, "Vertex %d [parallelism=%d]: %s\n", i, v.Parallelism, strings.Join(ph.Describe[i], " -> "))
		for _, e := range v.Inputs {
			fmt.Fprintf(&b, "  <- %s from Vertex %d", e.Exchange, e.From)
			if len(e.KeyCols) > 0 {
				fmt.Fprintf(&b, " by %v", e.KeyCols)
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

var aggKinds = [...]ops.AggKind{AggCount: ops.AggCount, AggCountStar: ops.AggCountStar, AggSum: ops.AggSum,
	AggAvg: ops.AggAvg, AggMin: ops.AggMin, AggMax: ops.AggMax}

var joinKinds = [...]ops.JoinType{InnerJoin: ops.InnerJoin, LeftJoin: ops.LeftJoin, RightJoin: ops.RightJoin,
	FullJoin: ops.FullJoin, SemiJoin: ops.SemiJoin, AntiJoin: ops.AntiJoin}
