package kafka

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluicesql/sluice/exec/types"
)

// dbzRows decodes events with a debezium decoder for (id BIGINT, name
// STRING) and renders the rows as "op id name".
func dbzRows(t *testing.T, events ...string) ([]string, error) {
	t.Helper()
	var a arena
	d := &debeziumDecoder{row: newJSONDecoder([]field{{"id", 0}, {"name", 1}}, false, &a)}
	var out []string
	for _, ev := range events {
		var val []byte
		if ev != "" {
			val = []byte(ev)
		}
		chg, err := d.changes(nil, val)
		if err != nil {
			return out, err
		}
		for _, c := range chg {
			b := types.NewBatch([]types.Type{types.BigInt, types.String})
			addSlot(b)
			if err := d.row.fill(c.img, b, 0); err != nil {
				return out, err
			}
			b.Ops = append(b.Ops, c.op)
			out = append(out, fmt.Sprintf("%s %d %s", c.op, b.Cols[0].I64[0], b.Cols[1].Str[0]))
		}
	}
	return out, nil
}

func TestDebeziumChanges(t *testing.T) {
	src := `"source":{"connector":"postgresql","db":"shop","table":"users","lsn":123},"ts_ms":1700000000000`
	events := []string{
		`{"before":null,"after":{"id":1,"name":"ann"},` + src + `,"op":"r"}`,
		`{"before":null,"after":{"id":2,"name":"bob"},` + src + `,"op":"c"}`,
		`{"before":{"id":1,"name":"ann"},"after":{"id":1,"name":"anne"},` + src + `,"op":"u"}`,
		// The JSON converter with schemas enabled.
		`{"schema":{"type":"struct","fields":[{"field":"before"},{"field":"after"}],"name":"shop.users.Envelope"},` +
			`"payload":{"op":"d","before":{"id":2,"name":"bob"},"after":null,` + src + `}}`,
		"", // the tombstone after a delete
		`{"schema":{"type":"struct"},"payload":null}`,
		`{"op":"c","after":{"name":"cy","id":3}}`,
	}
	got, err := dbzRows(t, events...)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		types.Insert.String() + " 1 ann",
		types.Insert.String() + " 2 bob",
		types.UpdateBefore.String() + " 1 ann",
		types.UpdateAfter.String() + " 1 anne",
		types.Delete.String() + " 2 bob",
		types.Insert.String() + " 3 cy",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDebeziumMalformed(t *testing.T) {
	for _, tc := range []struct{ event, want string }{
		{`{"before":null,"after":{"id":1,"name":"a"},"op":"u"}`, "REPLICA IDENTITY FULL"},
		{`{"before":{"id":1},"after":null,"op":"c"}`, "op 'c' has no 'after' image"},
		{`{"before":null,"after":null,"op":"d"}`, "op 'd' has no 'before' image"},
		{`{"after":{"id":1},"op":"x"}`, "unknown Debezium op 'x'"},
		{`{"id":1,"name":"plain json"}`, "no 'op' field"},
		{`{"op":"c","after":{"id":1}`, "invalid JSON"},
		{`{"op":"c","after":{"id":"one"}}`, "invalid BIGINT value"},
		{`[1]`, "expected '{'"},
	} {
		if _, err := dbzRows(t, tc.event); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.event, err, tc.want)
		}
	}
}
