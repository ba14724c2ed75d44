package kafka

import (
	"strings"
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/types"
)

// TestKeyUpsertAndMetadataOptions covers key.format / key.fields /
// value.fields-include, upsert-kafka's requirements and METADATA columns.
func TestKeyUpsertAndMetadataOptions(t *testing.T) {
	schema := types.Schema{{Name: "k", Type: types.BigInt}, {Name: "v", Type: types.String},
		{Name: "off", Type: types.BigInt}, {Name: "ts", Type: types.Type{Kind: types.KindTimestampLTZ, Precision: 3}}}
	table := func(conn string, pk []int, meta []string, kv ...string) *connectors.Table {
		opts := map[string]string{"connector": conn, "topic": "t", "properties.bootstrap.servers": "h:1"}
		for i := 0; i+1 < len(kv); i += 2 {
			opts[kv[i]] = kv[i+1]
		}
		return &connectors.Table{Name: "x", Options: opts, Schema: schema, PrimaryKey: pk, Metadata: meta}
	}
	noMeta := []string{"", "", "", ""}
	meta := []string{"", "", "offset", "timestamp"}
	for _, tc := range []struct {
		tbl  *connectors.Table
		up   bool
		want string
	}{
		{table("kafka", nil, meta, "format", "json"), false, ""},
		{table("kafka", nil, []string{"", "", "partition", "timestamp"}, "format", "json"), false, ""},
		{table("kafka", nil, []string{"", "", "bogus", ""}, "format", "json"), false, "unknown kafka metadata key 'bogus'"},
		{table("kafka", nil, []string{"", "", "", "offset"}, "format", "json"), false, "metadata 'offset' cannot be read as TIMESTAMP_LTZ"},
		{table("kafka", nil, []string{"", "", "", "timestamp"}, "value.format", "raw"), false, "format 'raw' ('value.format') needs one STRING or BYTES column, 'k' is BIGINT"},
		{table("kafka", nil, []string{"timestamp", "", "offset", "timestamp"}, "value.format", "raw"), false, "metadata 'timestamp' cannot be read as BIGINT"},
		{table("kafka", nil, noMeta, "format", "json", "key.format", "json", "key.fields", "k"), false, ""},
		{table("kafka", nil, noMeta, "format", "json", "key.format", "json"), false, "option 'key.format': needs 'key.fields'"},
		{table("kafka", nil, noMeta, "format", "json", "key.fields", "k"), false, "option 'key.fields': needs 'key.format'"},
		{table("kafka", nil, meta, "format", "json", "key.format", "json", "key.fields", "off"), false, "'off' is not a physical column"},
		{table("kafka", nil, noMeta, "format", "json", "value.fields-include", "EXCEPT_KEY"), false, "'EXCEPT_KEY' needs 'key.format'"},
		{table("kafka", nil, noMeta, "format", "json", "value.fields-include", "SOME"), false, "invalid value 'SOME'"},
		{table("upsert-kafka", []int{0}, meta, "key.format", "json", "value.format", "json"), true, ""},
		{table("upsert-kafka", []int{0}, meta, "key.format", "raw", "value.format", "json"), true, "format 'raw' ('key.format') needs one STRING or BYTES column, 'k' is BIGINT"},
		{table("upsert-kafka", nil, nil, "key.format", "json", "value.format", "json"), true, "needs a PRIMARY KEY"},
		{table("upsert-kafka", []int{0}, nil, "value.format", "json"), true, "missing required option 'key.format'"},
		{table("upsert-kafka", []int{0}, nil, "key.format", "json", "format", "json"), true, "unsupported option 'format'"},
		{table("upsert-kafka", []int{0}, nil, "key.format", "json", "value.format", "json", "scan.startup.mode", "latest-offset"), true, "unsupported option 'scan.startup.mode'"},
	} {
		var err error
		if tc.up {
			err = UpsertConnector{}.Validate(tc.tbl)
		} else {
			err = Connector{}.Validate(tc.tbl)
		}
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.tbl.Options, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: got %v, want %q", tc.tbl.Options, err, tc.want)
		}
	}
}

// TestUpsertSinkEncoding checks the records of the upsert sink's ops: key
// from the primary key, value from the row (or only the other columns with
// EXCEPT_KEY), tombstones for deletes, update-before rows dropped.
func TestUpsertSinkEncoding(t *testing.T) {
	tbl := &connectors.Table{Name: "x", PrimaryKey: []int{0},
		Schema: types.Schema{{Name: "k", Type: types.BigInt}, {Name: "v", Type: types.String}},
		Options: map[string]string{"connector": "upsert-kafka", "topic": "t", "properties.bootstrap.servers": "h:1",
			"key.format": "json", "value.format": "csv", "value.fields-include": "EXCEPT_KEY"}}
	cfg, err := parseConfigFor(tbl, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.valueCols(tbl); len(got) != 1 || got[0] != 1 {
		t.Fatalf("value columns %v, want [1]", got)
	}
	enc := newEncoder(cfg.format, []field{{name: "v", col: 1}})
	keyEnc := newEncoder(cfg.keyFormat, []field{{name: "k", col: 0}})
	b := types.NewBatch([]types.Type{types.BigInt, types.String})
	b.AppendRow(types.Insert, []types.Datum{types.IntDatum(7), types.StringDatum("a,b")})
	k, err := keyEnc.encode(nil, b, 0)
	if err != nil || string(k) != `{"k":7}` {
		t.Fatalf("key %q, %v", k, err)
	}
	v, err := enc.encode(nil, b, 0)
	if err != nil || string(v) != `"a,b"` {
		t.Fatalf("value %q, %v", v, err)
	}
}
