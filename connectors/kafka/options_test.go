package kafka

import (
	"strings"
	"testing"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec/types"
)

func TestValidateOptions(t *testing.T) {
	base := func(kv ...string) *connectors.Table {
		opts := map[string]string{"connector": "kafka", "topic": "t", "format": "json",
			"properties.bootstrap.servers": "h:1"}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(opts, kv[i])
				continue
			}
			opts[kv[i]] = kv[i+1]
		}
		return &connectors.Table{Name: "k", Options: opts, Schema: types.Schema{{Name: "a", Type: types.String}}}
	}
	for _, tc := range []struct {
		kv   []string
		want string // "" = valid
	}{
		{nil, ""},
		{[]string{"topic", "a;b", "scan.startup.mode", "latest-offset", "scan.bounded.mode", "latest-offset"}, ""},
		{[]string{"scan.startup.mode", "specific-offsets", "scan.startup.specific-offsets", "partition:0,offset:4;partition:2,offset:9"}, ""},
		{[]string{"format", "raw"}, ""},
		{[]string{"topic", ""}, "missing required option 'topic'"},
		{[]string{"topic-pattern", "x.*"}, "cannot be set together"},
		{[]string{"properties.bootstrap.servers", ""}, "missing required option 'properties.bootstrap.servers'"},
		{[]string{"properties.foo", "1"}, "unsupported Kafka client property"},
		{[]string{"scan.startup.mode", "group-offsets"}, "needs 'properties.group.id'"},
		{[]string{"scan.startup.mode", "timestamp"}, "needs 'scan.startup.timestamp-millis'"},
		{[]string{"scan.startup.mode", "specific-offsets", "scan.startup.specific-offsets", "partition:x"}, "invalid"},
		{[]string{"sink.delivery-guarantee", "twice"}, "invalid value 'twice'"},
		{[]string{"format", "avro"}, "unsupported format 'avro'"},
		{[]string{"json.ignore-parse-errors", "yes"}, "invalid boolean"},
		{[]string{"properties.isolation.level", "read_uncommitted"}, "only 'read_committed'"},
		{[]string{"scan.topic-partition-discovery.interval", "soon"}, "invalid duration"},
		{[]string{"format", "debezium-json", "debezium-json.ignore-parse-errors", "true", "debezium-json.schema-include", "true"}, ""},
		{[]string{"format", "debezium-json", "debezium-json.schema-include", "maybe"}, "invalid boolean"},
		{[]string{"key.format", "debezium-json", "key.fields", "a"}, "not a key format"},
	} {
		err := Connector{}.Validate(base(tc.kv...))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.kv, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: err = %v, want %q", tc.kv, err, tc.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]string{"30 s": "30s", "5 min": "5m0s", "1500": "1.5s", "2m": "2m0s"} {
		d, err := parseDuration(in)
		if err != nil || d.String() != want {
			t.Errorf("%q: %v %v, want %s", in, d, err, want)
		}
	}
}

// TestDebeziumSpec: a debezium-json source is a retract changelog; the
// format is refused for sinks.
func TestDebeziumSpec(t *testing.T) {
	tbl := sourceTable("h:1", "cdc", "format", "debezium-json")
	spec, err := Connector{}.NewSource(tbl, connectors.SourceRequest{Columns: []int{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Mode != connectors.Retract {
		t.Fatalf("mode %s, want %s", spec.Mode, connectors.Retract)
	}
	sink := sinkTable("h:1", "cdc", "format", "debezium-json")
	if _, err := (Connector{}).NewSink(sink, connectors.SinkRequest{Mode: connectors.AppendOnly, JobID: "j", Checkpointing: checkpointing}); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("sink: err = %v, want it refused", err)
	}
	up := &connectors.Table{Name: "u", Options: map[string]string{"connector": "upsert-kafka", "topic": "t",
		"properties.bootstrap.servers": "h:1", "key.format": "json", "value.format": "debezium-json"},
		Schema: types.Schema{{Name: "a", Type: types.String}}, PrimaryKey: []int{0}}
	if err := (UpsertConnector{}).Validate(up); err == nil || !strings.Contains(err.Error(), "changelog of its own") {
		t.Fatalf("upsert-kafka: err = %v", err)
	}
}
