package planner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/parser"
)

// Window planning is tested on its own catalog: the test catalog of
// planner_test.go plus event-time tables, served by rowsConnector, whose
// sources emit fixed rows per split, so queries can also run.

// rowsConnector serves tables whose rows are given per split (bounded,
// append-only).
type rowsConnector struct {
	splits map[string][][][]types.Datum // table → split → rows
}

func (rowsConnector) Name() string                          { return "rows" }
func (rowsConnector) Validate(*connectors.Table) error      { return nil }
func (rowsConnector) AcceptsUpdates(*connectors.Table) bool { return false }

func (c rowsConnector) NewSource(t *connectors.Table, req connectors.SourceRequest) (connectors.SourceSpec, error) {
	ts := make([]types.Type, len(req.Columns))
	for i, col := range req.Columns {
		ts[i] = t.Schema[col].Type
	}
	splits := c.splits[t.Name]
	cols := slices.Clone(req.Columns)
	return connectors.SourceSpec{Types: ts, Bounded: true, Mode: connectors.AppendOnly, MaxParallelism: max(len(splits), 1),
		Factory: func(int) (exec.Source, error) { return &rowsSource{splits: splits, cols: cols}, nil }}, nil
}

func (rowsConnector) NewSink(*connectors.Table, connectors.SinkRequest) (exec.OperatorFactory, error) {
	return nil, fmt.Errorf("rows tables cannot be written")
}

// rowsSource emits the rows of the splits its subtask owns (split j goes
// to subtask j mod parallelism), one row per batch, so that watermarks
// come between rows as they would from a source reading slowly.
type rowsSource struct {
	splits [][][]types.Datum
	rows   [][]types.Datum
	cols   []int
	next   int
}

func (s *rowsSource) Open(tc *exec.TaskContext) error {
	for j, sp := range s.splits {
		if j%max(tc.Parallelism, 1) == tc.Subtask {
			s.rows = append(s.rows, sp...)
		}
	}
	return nil
}
func (s *rowsSource) Close() error { return nil }

func (s *rowsSource) Next(b *types.Batch) (bool, error) {
	if s.next >= len(s.rows) {
		return true, nil
	}
	row := s.rows[s.next]
	s.next++
	out := make([]types.Datum, len(s.cols))
	for i, c := range s.cols {
		out[i] = row[c]
	}
	b.AppendRow(types.Insert, out)
	return false, nil
}

type windowCatalog struct {
	fakeCatalog
	rows       rowsConnector
	watermarks map[string][2]string
}

func (c *windowCatalog) Watermark(table string) (string, string, bool) {
	w, ok := c.watermarks[strings.ToLower(table)]
	return w[0], w[1], ok
}

func (c *windowCatalog) Connector(name string) (connectors.Connector, error) {
	if name == "rows" {
		return c.rows, nil
	}
	return c.fakeCatalog.Connector(name)
}

// bidsCatalog adds bids (auction, price, ts; WATERMARK FOR ts AS ts -
// INTERVAL '1' SECOND) whose splits hold the given rows (auction, price,
// seconds after 2024-01-01 00:00:00), and plain_bids, the same table
// without a watermark.
func bidsCatalog(splits ...[][3]int64) *windowCatalog {
	cat := &windowCatalog{fakeCatalog: testCatalog(), rows: rowsConnector{splits: map[string][][][]types.Datum{}},
		watermarks: map[string][2]string{"bids": {"ts", "ts - INTERVAL '1' SECOND"}}}
	schema := types.Schema{{Name: "auction", Type: types.BigInt}, {Name: "price", Type: types.BigInt},
		{Name: "ts", Type: types.Type{Kind: types.KindTimestamp, Precision: 3}}}
	day0 := types.TimeToMicros(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	var data [][][]types.Datum
	for _, sp := range splits {
		var rows [][]types.Datum
		for _, r := range sp {
			rows = append(rows, []types.Datum{types.IntDatum(r[0]), types.IntDatum(r[1]),
				{Type: schema[2].Type, I: day0 + r[2]*1_000_000}})
		}
		data = append(data, rows)
	}
	// pbids: the same rows with a processing-time column, pt AS PROCTIME(),
	// after ts (window_proctime_test.go).
	for _, name := range []string{"bids", "plain_bids", "pbids"} {
		cat.fakeCatalog[name] = &Relation{Table: &connectors.Table{Name: name, Schema: schema, Options: map[string]string{"connector": "rows"}}}
		cat.rows.splits[name] = data
	}
	// bids_pt: PROCTIME() in a view over the event-time table, as in
	// Nexmark q12.
	cat.fakeCatalog["bids_pt"] = &Relation{ViewName: "bids_pt", ViewQuery: "SELECT auction, price, ts, PROCTIME() AS pt FROM bids"}
	return cat
}

func planWith(cat Catalog, par int, sql string) (*Planner, *Plan, error) {
	stmts, err := parser.Parse(sql)
	if err != nil {
		return nil, nil, err
	}
	q, ok := stmts[0].(*parser.Query)
	if !ok {
		return nil, nil, fmt.Errorf("not a query: %T", stmts[0])
	}
	p := &Planner{Catalog: cat, Parallelism: par}
	plan, err := p.PlanQuery(q, false)
	return p, plan, err
}

// TestExplainWindows runs the cases of testdata/explain_window.txt, in the
// format of explain.txt, against bidsCatalog. Run with -rewrite to accept
// new output.
func TestExplainWindows(t *testing.T) {
	path := filepath.Join("testdata", "explain_window.txt")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range strings.Split(string(data), "\n\n\n") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		head, want, found := strings.Cut(c, "\n----")
		if !found {
			t.Fatalf("case without ----: %s", c)
		}
		sql := strings.TrimSpace(strings.TrimPrefix(head, "explain"))
		got := explainWindow(sql)
		if *rewrite {
			out = append(out, "explain\n"+sql+"\n----\n"+got)
			continue
		}
		if strings.TrimSpace(got) != strings.TrimSpace(want) {
			t.Errorf("%s\ngot:\n%s\nwant:\n%s", sql, got, want)
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(strings.Join(out, "\n\n\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func explainWindow(sql string) string {
	p, plan, err := planWith(bidsCatalog(), 2, sql)
	if err != nil {
		return "error: " + err.Error()
	}
	ph, err := p.Compile(plan, CompileOptions{JobID: "test", Collect: func(b *types.Batch) error { return nil }})
	if err != nil {
		return "error: " + err.Error()
	}
	return Explain(plan.Root, true) + ph.Explain()
}

// runWindow plans and runs a query over bidsCatalog(splits...) and returns
// its rows, sorted, one per line.
func runWindow(t *testing.T, par int, sql string, splits ...[][3]int64) string {
	t.Helper()
	p, plan, err := planWith(bidsCatalog(splits...), par, sql)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []string
	ph, err := p.Compile(plan, CompileOptions{JobID: "test", Collect: func(b *types.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		for i := range b.Len() {
			var vals []string
			for c := range b.Cols {
				vals = append(vals, b.Cols[c].Get(i).String())
			}
			lines = append(lines, b.Ops[i].String()+" "+strings.Join(vals, " "))
		}
		b.Release()
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	job, err := exec.Run(context.Background(), ph.Graph, exec.RunOptions{JobID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func checkRows(t *testing.T, got, want string) {
	t.Helper()
	var ws []string
	for _, l := range strings.Split(strings.TrimSpace(want), "\n") {
		ws = append(ws, strings.TrimSpace(l))
	}
	slices.Sort(ws)
	if w := strings.Join(ws, "\n"); got != w {
		t.Errorf("rows:\n%s\nwant:\n%s", got, w)
	}
}

// The bids of the end-to-end tests: (auction, price, second).
var (
	bidsInOrder = [][3]int64{{1, 10, 1}, {2, 20, 4}, {1, 30, 7}, {1, 5, 12}, {2, 8, 14}, {1, 1, 21}}
	// (2, 99, 3 s) arrives after 12 s: with a 1 s delay the watermark is
	// then 11 s, so [0, 10) has fired and the row is late.
	bidsWithLate = [][3]int64{{1, 10, 1}, {1, 30, 7}, {1, 5, 12}, {2, 99, 3}, {2, 8, 14}, {2, 7, 11}}
)

func TestRunTumbleWindow(t *testing.T) {
	const q = `SELECT auction, window_start, window_end, COUNT(*), SUM(price)
		FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
		GROUP BY auction, window_start, window_end`
	want := `
		+I 1 2024-01-01 00:00:00.000 2024-01-01 00:00:10.000 2 40
		+I 2 2024-01-01 00:00:00.000 2024-01-01 00:00:10.000 1 20
		+I 1 2024-01-01 00:00:10.000 2024-01-01 00:00:20.000 1 5
		+I 2 2024-01-01 00:00:10.000 2024-01-01 00:00:20.000 1 8
		+I 1 2024-01-01 00:00:20.000 2024-01-01 00:00:30.000 1 1`
	for _, par := range []int{1, 3} {
		// One split, then the rows dealt over three splits.
		checkRows(t, runWindow(t, par, q, bidsInOrder), want)
		checkRows(t, runWindow(t, par, q, bidsInOrder[:2], bidsInOrder[2:4], bidsInOrder[4:]), want)
	}
}

func TestRunWindowDropsLateRows(t *testing.T) {
	const q = `SELECT auction, window_end, COUNT(*), SUM(price)
		FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
		GROUP BY window_start, window_end, auction`
	// 12 s raises the watermark to 11 s: [0, 10) fires; (2, 99, 3 s) is
	// then late and dropped. 11 s after 14 s is not late ([10, 20) is open).
	want := `
		+I 1 2024-01-01 00:00:10.000 2 40
		+I 1 2024-01-01 00:00:20.000 1 5
		+I 2 2024-01-01 00:00:20.000 2 15`
	for _, par := range []int{1, 4} {
		checkRows(t, runWindow(t, par, q, bidsWithLate), want)
	}
}

func TestRunHopCumulateAndTVF(t *testing.T) {
	hop := `SELECT window_start, window_end, COUNT(*), MAX(price)
		FROM TABLE(HOP(TABLE bids, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND))
		GROUP BY window_start, window_end`
	checkRows(t, runWindow(t, 2, hop, bidsInOrder), `
		+I 2023-12-31 23:59:55.000 2024-01-01 00:00:05.000 2 20
		+I 2024-01-01 00:00:00.000 2024-01-01 00:00:10.000 3 30
		+I 2024-01-01 00:00:05.000 2024-01-01 00:00:15.000 3 30
		+I 2024-01-01 00:00:10.000 2024-01-01 00:00:20.000 2 8
		+I 2024-01-01 00:00:15.000 2024-01-01 00:00:25.000 1 1
		+I 2024-01-01 00:00:20.000 2024-01-01 00:00:30.000 1 1`)
	cum := `SELECT window_start, window_end, SUM(price)
		FROM TABLE(CUMULATE(TABLE bids, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '15' SECOND))
		GROUP BY window_start, window_end`
	checkRows(t, runWindow(t, 2, cum, bidsInOrder), `
		+I 2024-01-01 00:00:00.000 2024-01-01 00:00:05.000 30
		+I 2024-01-01 00:00:00.000 2024-01-01 00:00:10.000 60
		+I 2024-01-01 00:00:00.000 2024-01-01 00:00:15.000 73
		+I 2024-01-01 00:00:15.000 2024-01-01 00:00:25.000 1
		+I 2024-01-01 00:00:15.000 2024-01-01 00:00:30.000 1`)
	tvf := `SELECT auction, price, window_start, window_time
		FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND)) WHERE price > 10`
	checkRows(t, runWindow(t, 2, tvf, bidsInOrder), `
		+I 2 20 2024-01-01 00:00:00.000 2024-01-01 00:00:09.999
		+I 1 30 2024-01-01 00:00:00.000 2024-01-01 00:00:09.999`)
	sess := `SELECT auction, window_start, window_end, COUNT(*)
		FROM TABLE(SESSION(TABLE bids PARTITION BY auction, DESCRIPTOR(ts), INTERVAL '5' SECOND))
		GROUP BY auction, window_start, window_end`
	checkRows(t, runWindow(t, 2, sess, bidsInOrder), `
		+I 1 2024-01-01 00:00:01.000 2024-01-01 00:00:06.000 1
		+I 1 2024-01-01 00:00:07.000 2024-01-01 00:00:17.000 2
		+I 2 2024-01-01 00:00:04.000 2024-01-01 00:00:09.000 1
		+I 2 2024-01-01 00:00:14.000 2024-01-01 00:00:19.000 1
		+I 1 2024-01-01 00:00:21.000 2024-01-01 00:00:26.000 1`)
}

func TestRunWindowTopN(t *testing.T) {
	overAgg := `SELECT window_start, auction, total, rn FROM (
		SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY total DESC) AS rn FROM (
			SELECT auction, window_start, window_end, SUM(price) AS total
			FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
			GROUP BY auction, window_start, window_end)) WHERE rn = 1`
	overTVF := `SELECT window_end, price, rn FROM (
		SELECT price, window_start, window_end, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY price DESC) AS rn
		FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))) WHERE rn <= 2`
	for _, par := range []int{1, 4} {
		for _, splits := range [][][][3]int64{{bidsInOrder}, {bidsInOrder[:2], bidsInOrder[2:4], bidsInOrder[4:]}} {
			checkRows(t, runWindow(t, par, overAgg, splits...), `
				+I 2024-01-01 00:00:00.000 1 40 1
				+I 2024-01-01 00:00:10.000 2 8 1
				+I 2024-01-01 00:00:20.000 1 1 1`)
			checkRows(t, runWindow(t, par, overTVF, splits...), `
				+I 2024-01-01 00:00:10.000 30 1
				+I 2024-01-01 00:00:10.000 20 2
				+I 2024-01-01 00:00:20.000 8 1
				+I 2024-01-01 00:00:20.000 5 2
				+I 2024-01-01 00:00:30.000 1 1`)
		}
		// (2, 99, 3 s) comes after the watermark passed 10 s: dropped.
		checkRows(t, runWindow(t, par, overTVF, bidsWithLate), `
			+I 2024-01-01 00:00:10.000 30 1
			+I 2024-01-01 00:00:10.000 10 2
			+I 2024-01-01 00:00:20.000 8 1
			+I 2024-01-01 00:00:20.000 7 2`)
	}
}

func TestRunWindowJoin(t *testing.T) {
	left := `SELECT l.auction, l.price, r.price, l.window_start
		FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND)) AS l
		LEFT JOIN TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND)) AS r
		ON l.auction = r.auction AND l.window_start = r.window_start AND l.window_end = r.window_end AND l.price < r.price`
	full := `SELECT COALESCE(a.window_start, b.window_start), a.n, b.m
		FROM (SELECT window_start, window_end, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
			WHERE auction = 1 GROUP BY window_start, window_end) a
		FULL JOIN (SELECT window_start, window_end, MAX(price) AS m FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
			WHERE auction = 2 GROUP BY window_start, window_end) b
		ON a.window_start = b.window_start AND a.window_end = b.window_end`
	for _, par := range []int{1, 4} {
		for _, splits := range [][][][3]int64{{bidsInOrder}, {bidsInOrder[:2], bidsInOrder[2:4], bidsInOrder[4:]}} {
			checkRows(t, runWindow(t, par, left, splits...), `
				+I 1 10 30 2024-01-01 00:00:00.000
				+I 1 30 NULL 2024-01-01 00:00:00.000
				+I 2 20 NULL 2024-01-01 00:00:00.000
				+I 1 5 NULL 2024-01-01 00:00:10.000
				+I 2 8 NULL 2024-01-01 00:00:10.000
				+I 1 1 NULL 2024-01-01 00:00:20.000`)
			checkRows(t, runWindow(t, par, full, splits...), `
				+I 2024-01-01 00:00:00.000 2 20
				+I 2024-01-01 00:00:10.000 1 8
				+I 2024-01-01 00:00:20.000 1 NULL`)
		}
	}
}
