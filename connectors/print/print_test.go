package print

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

var schema = types.Schema{
	{Name: "id", Type: types.BigInt},
	{Name: "name", Type: types.String},
	{Name: "price", Type: types.Decimal(6, 2)},
	{Name: "ok", Type: types.Bool},
	{Name: "ts", Type: types.Type{Kind: types.KindTimestamp, Precision: 3}},
}

func table(opts ...string) *connectors.Table {
	o := map[string]string{"connector": "print"}
	for i := 0; i+1 < len(opts); i += 2 {
		o[opts[i]] = opts[i+1]
	}
	return &connectors.Table{Name: "t", Schema: schema, Options: o}
}

func testBatch() *types.Batch {
	b := types.NewBatch(schema.Types())
	b.AppendRow(types.Insert, []types.Datum{types.IntDatum(1), types.StringDatum("a"), types.DecimalDatum(150, 6, 2),
		types.BoolDatum(true), {Type: schema[4].Type, I: 86_400_123_000}})
	b.AppendRow(types.UpdateBefore, []types.Datum{types.IntDatum(-2), types.NullDatum(types.String),
		types.NullDatum(schema[2].Type), types.NullDatum(types.Bool), types.NullDatum(schema[4].Type)})
	b.AppendRow(types.Delete, []types.Datum{types.IntDatum(3), types.StringDatum(""), types.DecimalDatum(-5, 6, 2),
		types.BoolDatum(false), {Type: schema[4].Type, I: 0}})
	return b
}

// run prints one batch through subtask s of p and returns the output.
func run(t *testing.T, c *Connector, tbl *connectors.Table, s, p int) {
	t.Helper()
	f, err := c.NewSink(tbl, connectors.SinkRequest{Mode: connectors.Retract})
	if err != nil {
		t.Fatal(err)
	}
	op, _ := f(s)
	if err := op.(exec.Opener).Open(&exec.TaskContext{Subtask: s, Parallelism: p}); err != nil {
		t.Fatal(err)
	}
	if err := op.Process(testBatch(), nil); err != nil {
		t.Fatal(err)
	}
}

func TestPrintFormat(t *testing.T) {
	rows := "+I[1, a, 1.50, TRUE, 1970-01-02 00:00:00.123]\n" +
		"-U[-2, NULL, NULL, NULL, NULL]\n" +
		"-D[3, , -0.05, FALSE, 1970-01-01 00:00:00.000]\n"
	prefixed := func(p string) string {
		return p + strings.ReplaceAll(strings.TrimSuffix(rows, "\n"), "\n", "\n"+p) + "\n"
	}
	cases := []struct {
		opts []string
		s, p int
		want string
	}{
		{nil, 0, 1, rows},
		{nil, 1, 3, prefixed("2> ")},
		{[]string{"print-identifier", "ident"}, 0, 1, prefixed("ident> ")},
		{[]string{"print-identifier", "ident"}, 1, 2, prefixed("ident:2> ")},
	}
	for _, c := range cases {
		var out bytes.Buffer
		run(t, &Connector{Stdout: &out}, table(c.opts...), c.s, c.p)
		if out.String() != c.want {
			t.Errorf("%v subtask %d/%d:\n%s\nwant\n%s", c.opts, c.s, c.p, out.String(), c.want)
		}
	}

	var out, errOut bytes.Buffer
	run(t, &Connector{Stdout: &out, Stderr: &errOut}, table("standard-error", "true"), 0, 1)
	if out.Len() != 0 || errOut.String() != rows {
		t.Errorf("standard-error: stdout %q, stderr %q", out.String(), errOut.String())
	}
}

// lockedCheck fails when two writes overlap.
type lockedCheck struct {
	mu      sync.Mutex
	writing bool
	overlap bool
	buf     bytes.Buffer
}

func (w *lockedCheck) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.writing {
		w.overlap = true
	}
	w.writing = true
	w.mu.Unlock()
	n := len(p)
	w.mu.Lock()
	w.buf.Write(p)
	w.writing = false
	w.mu.Unlock()
	return n, nil
}

func TestPrintConcurrentSubtasks(t *testing.T) {
	w := &lockedCheck{}
	c := &Connector{Stdout: w}
	var wg sync.WaitGroup
	for s := range 4 {
		wg.Go(func() {
			for range 50 {
				run(t, c, table(), s, 4)
			}
		})
	}
	wg.Wait()
	if w.overlap {
		t.Fatal("writes overlapped")
	}
	if n := strings.Count(w.buf.String(), "\n"); n != 4*50*3 {
		t.Fatalf("%d lines", n)
	}
}

func TestPrintValidate(t *testing.T) {
	c := &Connector{}
	if err := c.Validate(table("standard-error", "maybe")); err == nil ||
		err.Error() != "table t: option 'standard-error': invalid boolean 'maybe' (expected 'true' or 'false')" {
		t.Fatalf("got %v", err)
	}
	if err := c.Validate(table("sink.bogus", "1")); err == nil || !strings.Contains(err.Error(), "unsupported option 'sink.bogus'") {
		t.Fatalf("got %v", err)
	}
	if err := c.Validate(table("print-identifier", "x", "standard-error", "FALSE")); err != nil {
		t.Fatal(err)
	}
	if !c.AcceptsUpdates(table()) {
		t.Fatal("print must accept updates")
	}
	if got, err := connectors.Lookup("print"); err != nil || got.Name() != "print" {
		t.Fatalf("Lookup: %v, %v", got, err)
	}
}
