package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/exectest"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// upsertSource opens the upsert-kafka source of table (k BIGINT, v STRING,
// off BIGINT METADATA FROM 'offset') over columns cols, reading partition
// 0 of topic 't' (no broker is contacted).
func upsertSource(t *testing.T, tc *exec.TaskContext, cols []int, opts ...string) *Source {
	t.Helper()
	o := map[string]string{"connector": "upsert-kafka", "topic": "t", "properties.bootstrap.servers": "127.0.0.1:1",
		"key.format": "json", "value.format": "json"}
	for i := 0; i+1 < len(opts); i += 2 {
		o[opts[i]] = opts[i+1]
	}
	tbl := &connectors.Table{Name: "u", Options: o, PrimaryKey: []int{0}, Metadata: []string{"", "", "offset"},
		Schema: types.Schema{{Name: "k", Type: types.BigInt}, {Name: "v", Type: types.String}, {Name: "off", Type: types.BigInt}}}
	spec, err := UpsertConnector{}.NewSource(tbl, connectors.SourceRequest{Columns: cols})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Mode != connectors.Retract {
		t.Errorf("mode %v, want Retract", spec.Mode)
	}
	src, err := spec.Factory(0)
	if err != nil {
		t.Fatal(err)
	}
	s := src.(*Source)
	if err := s.Open(tc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.parts[tp{"t", 0}] = &partState{stop: -1}
	s.started = true
	return s
}

// feed gives the source keyed records ("k=value", "k=" a tombstone; the
// value is v's text) at successive offsets and returns its rows.
func feed(t *testing.T, s *Source, recs ...string) (string, error) {
	t.Helper()
	b := types.NewBatch(s.types)
	defer b.Release()
	for _, r := range recs {
		k, v, _ := strings.Cut(r, "=")
		st := s.parts[tp{"t", 0}]
		rec := &kgo.Record{Topic: "t", Partition: 0, Offset: st.next, Key: []byte(`{"k":` + k + `}`)}
		if v != "" {
			rec.Value = []byte(fmt.Sprintf(`{"k":%s,"v":%s}`, k, v))
		}
		if err := s.add(rec, b); err != nil {
			return exectest.Format(b), err
		}
	}
	return exectest.Format(b), nil
}

func expectRows(t *testing.T, got string, err error, want string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if want = strings.ReplaceAll(want, " / ", "\n"); got != want {
		t.Errorf("rows:\n%s\nwant:\n%s", got, want)
	}
}

// The normalization of keyed records into a changelog, with the last
// records in memory (no state store).
func TestUpsertSourceChangelog(t *testing.T) {
	s := upsertSource(t, exectest.TaskContext(context.Background()), []int{0, 1, 2})
	got, err := feed(t, s,
		`1="a"`, `2="b"`, // offsets 0, 1
		`1="a"`, // 2: the same value, with a new offset
		`1="c"`, // 3
		`2=`,    // 4: tombstone
		`3=`,    // 5: tombstone of an absent key
		`2="d"`) // 6
	expectRows(t, got, err, `+I 1 a 0 / +I 2 b 1 / -U 1 a 0 / +U 1 a 2 / -U 1 a 2 / +U 1 c 3 / -D 2 b 1 / +I 2 d 6`)

	// Without the metadata column, an unchanged value is no change.
	s = upsertSource(t, exectest.TaskContext(context.Background()), []int{1, 0})
	got, err = feed(t, s, `1="a"`, `1="a"`, `1="b"`, `1=`, `1=`)
	expectRows(t, got, err, `+I a 1 / -U a 1 / +U b 1 / -D b 1`)
}

// A record that does not decode fails the job, or with
// 'value.json.ignore-parse-errors' is skipped, leaving the key's last
// record as it was; a record without a key is a parse error too.
func TestUpsertSourceParseErrors(t *testing.T) {
	s := upsertSource(t, exectest.TaskContext(context.Background()), []int{0, 1})
	_, err := feed(t, s, `1="a"`, `1=nope`)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Offset != 1 {
		t.Fatalf("got %v, want a ParseError at offset 1", err)
	}

	s = upsertSource(t, exectest.TaskContext(context.Background()), []int{0, 1}, "value.json.ignore-parse-errors", "true")
	got, err := feed(t, s, `1="a"`, `1=nope`, `1="b"`)
	expectRows(t, got, err, `+I 1 a / -U 1 a / +U 1 b`)
	if s.Skipped() != 1 {
		t.Errorf("skipped %d, want 1", s.Skipped())
	}
	b := types.NewBatch(s.types)
	defer b.Release()
	if err := s.add(&kgo.Record{Topic: "t", Offset: 3, Value: []byte(`{"k":1,"v":"x"}`)}, b); err != nil || b.Len() != 0 || s.Skipped() != 2 {
		t.Errorf("keyless record: err %v, %d rows, %d skipped; want it skipped", err, b.Len(), s.Skipped())
	}
}

// With a state store the last records are keyed state: flushed at
// Snapshot, they are what a new source instance (a restored job) starts
// from.
func TestUpsertSourceKeyedState(t *testing.T) {
	st, err := state.Open("", state.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tc := exectest.TaskContext(context.Background())
	tc.State, tc.JobID, tc.OperatorIndex, tc.Epoch = st, "job", -1, state.NewEpoch(st.NextTs())
	s := upsertSource(t, tc, []int{0, 1, 2})
	got, err := feed(t, s, `1="a"`, `2="b"`, `1="c"`, `2=`, `3="e"`)
	expectRows(t, got, err, `+I 1 a 0 / +I 2 b 1 / -U 1 a 0 / +U 1 c 2 / -D 2 b 1 / +I 3 e 4`)
	if _, err := s.Snapshot(1); err != nil {
		t.Fatal(err)
	}

	again := upsertSource(t, tc, []int{0, 1, 2})
	again.parts[tp{"t", 0}].next = 5
	got, err = feed(t, again, `1="f"`, `2="g"`, `3=`)
	expectRows(t, got, err, `-U 1 c 2 / +U 1 f 5 / +I 2 g 6 / -D 3 e 4`)
}

func TestLastRecordCodec(t *testing.T) {
	c := lastRecordCodec{}
	in := &lastRecord{value: []byte(`{"v":1}`), partition: 3, offset: 1 << 40, tsMillis: -5, logAppend: true, epoch: 7}
	out, err := c.Decode(c.Encode(nil, in))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(*in) != fmt.Sprint(*out) {
		t.Errorf("decoded %v, want %v", *out, *in)
	}
	if _, err := c.Decode([]byte{0x80}); !errors.Is(err, state.ErrCorrupt) {
		t.Errorf("truncated: got %v, want ErrCorrupt", err)
	}
}
