package blackhole

import (
	"strings"
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/types"
)

func TestBlackhole(t *testing.T) {
	tbl := &connectors.Table{Name: "t", Schema: types.Schema{{Name: "a", Type: types.Int}},
		Options: map[string]string{"connector": "blackhole"}}
	c, err := connectors.Lookup("blackhole")
	if err != nil {
		t.Fatal(err)
	}
	sc := c.(connectors.SinkConnector)
	if err := sc.Validate(tbl); err != nil {
		t.Fatal(err)
	}
	if !sc.AcceptsUpdates(tbl) {
		t.Fatal("blackhole must accept updates")
	}
	f, err := sc.NewSink(tbl, connectors.SinkRequest{Mode: connectors.Retract})
	if err != nil {
		t.Fatal(err)
	}
	op, _ := f(0)
	b := types.NewBatch(tbl.Schema.Types())
	b.AppendRow(types.Delete, []types.Datum{types.IntDatum(1)})
	if err := op.Process(b, nil); err != nil {
		t.Fatal(err)
	}
	tbl.Options["x"] = "1"
	if err := sc.Validate(tbl); err == nil || !strings.Contains(err.Error(), "unsupported option 'x'") {
		t.Fatalf("got %v", err)
	}
}
