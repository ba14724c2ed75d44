package kafka

import (
	"errors"
	"fmt"

	"github.com/sluicesql/sluice/exec/types"
)

// debeziumDecoder reads Debezium change events (format 'debezium-json')
// as a changelog:
//
//	op c, r   +I after
//	op u      -U before, +U after (before must be there: REPLICA IDENTITY FULL)
//	op d      -D before
//
// A record is the envelope {"before", "after", "op", ...} or, with the
// JSON converter's schemas enabled, {"schema": ..., "payload": envelope};
// both are recognised. Tombstones (null values, which follow a delete for
// log compaction) carry no change and are skipped.
type debeziumDecoder struct {
	row *jsonDecoder // before / after images
}

// change is one row of a change event: its image and op.
type change struct {
	img []byte
	op  types.Op
}

var errDebeziumNoBefore = errors.New("the 'before' image of an update is null (a Postgres table needs REPLICA IDENTITY FULL)")

// changes returns the rows of one event, in order, into dst.
func (d *debeziumDecoder) changes(dst []change, rec []byte) ([]change, error) {
	if len(rec) == 0 {
		return dst, nil // tombstone
	}
	env, err := envelope(rec)
	if err != nil {
		return dst, err
	}
	if env.payload != nil && env.op == nil {
		if hasLiteral(env.payload, 0, "null") {
			return dst, nil
		}
		if env, err = envelope(env.payload); err != nil {
			return dst, fmt.Errorf("payload: %w", err)
		}
	}
	if env.op == nil {
		return dst, errors.New("not a Debezium change event: no 'op' field")
	}
	op, esc, _, err := scanString(env.op, 0)
	if err != nil || esc {
		return dst, fmt.Errorf("invalid 'op' %.20s", env.op)
	}
	image := func(name string, b []byte) ([]byte, error) {
		if b == nil || hasLiteral(b, 0, "null") {
			return nil, fmt.Errorf("op '%s' has no '%s' image", op, name)
		}
		return b, nil
	}
	switch string(op) {
	case "c", "r":
		after, err := image("after", env.after)
		if err != nil {
			return dst, err
		}
		return append(dst, change{after, types.Insert}), nil
	case "u":
		if env.before == nil || hasLiteral(env.before, 0, "null") {
			return dst, errDebeziumNoBefore
		}
		after, err := image("after", env.after)
		if err != nil {
			return dst, err
		}
		return append(dst, change{env.before, types.UpdateBefore}, change{after, types.UpdateAfter}), nil
	case "d":
		before, err := image("before", env.before)
		if err != nil {
			return dst, err
		}
		return append(dst, change{before, types.Delete}), nil
	}
	return dst, fmt.Errorf("unknown Debezium op '%s' (expected c, r, u or d)", op)
}

// debeziumEnvelope holds the raw JSON of an event's fields (nil: absent).
type debeziumEnvelope struct {
	before, after, op, payload []byte
}

// envelope splits the top-level object of rec into the fields Debezium
// events use; other fields (source, ts_ms, schema, transaction) are skipped.
func envelope(rec []byte) (debeziumEnvelope, error) {
	var env debeziumEnvelope
	i := skipSpace(rec, 0)
	if i >= len(rec) || rec[i] != '{' {
		return env, &syntaxError{"expected '{'", i}
	}
	i = skipSpace(rec, i+1)
	if i < len(rec) && rec[i] == '}' {
		return env, nil
	}
	for {
		if i >= len(rec) || rec[i] != '"' {
			return env, &syntaxError{"expected a field name", i}
		}
		key, _, end, err := scanString(rec, i)
		if err != nil {
			return env, err
		}
		i = skipSpace(rec, end)
		if i >= len(rec) || rec[i] != ':' {
			return env, &syntaxError{"expected ':'", i}
		}
		i = skipSpace(rec, i+1)
		start := i
		if i, err = skipValue(rec, i, 0); err != nil {
			return env, err
		}
		switch v := rec[start:i]; string(key) {
		case "before":
			env.before = v
		case "after":
			env.after = v
		case "op":
			env.op = v
		case "payload":
			env.payload = v
		}
		i = skipSpace(rec, i)
		if i < len(rec) && rec[i] == ',' {
			i = skipSpace(rec, i+1)
			continue
		}
		if i < len(rec) && rec[i] == '}' {
			break
		}
		return env, &syntaxError{"expected ',' or '}'", i}
	}
	if i = skipSpace(rec, i+1); i != len(rec) {
		return env, &syntaxError{"unexpected data after the object", i}
	}
	return env, nil
}
