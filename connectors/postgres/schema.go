package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sluicesql/sluice/exec/types"
)

// pgTypeNames is the PostgreSQL type 'sink.create-table' gives a column of
// each Sluice kind (parameters added by createType).
var pgTypeNames = [...]string{
	types.KindBool: "boolean", types.KindTinyInt: "smallint", types.KindSmallInt: "smallint",
	types.KindInt: "integer", types.KindBigInt: "bigint", types.KindFloat: "real",
	types.KindDouble: "double precision", types.KindDecimal: "numeric", types.KindChar: "character",
	types.KindVarchar: "character varying", types.KindString: "text", types.KindBytes: "bytea",
	types.KindDate: "date", types.KindTime: "time", types.KindTimestamp: "timestamp",
	types.KindTimestampLTZ: "timestamp with time zone",
}

// accepted lists, per Sluice kind, the PostgreSQL base types (pg_type.typname)
// a column may have to receive it without loss.
var accepted = map[types.Kind][]string{
	types.KindBool:         {"bool"},
	types.KindTinyInt:      {"int2", "int4", "int8", "numeric"},
	types.KindSmallInt:     {"int2", "int4", "int8", "numeric"},
	types.KindInt:          {"int4", "int8", "numeric"},
	types.KindBigInt:       {"int8", "numeric"},
	types.KindFloat:        {"float4", "float8"},
	types.KindDouble:       {"float8"},
	types.KindDecimal:      {"numeric"},
	types.KindChar:         {"text", "varchar", "bpchar", "json", "jsonb", "uuid", "citext"},
	types.KindVarchar:      {"text", "varchar", "bpchar", "json", "jsonb", "uuid", "citext"},
	types.KindString:       {"text", "varchar", "bpchar", "json", "jsonb", "uuid", "citext"},
	types.KindBytes:        {"bytea"},
	types.KindDate:         {"date"},
	types.KindTime:         {"time"},
	types.KindTimestamp:    {"timestamp"},
	types.KindTimestampLTZ: {"timestamptz"},
}

// createType returns the PostgreSQL column type for t (without NOT NULL).
func createType(t types.Type) string {
	name := pgTypeNames[t.Kind]
	switch t.Kind {
	case types.KindDecimal:
		return fmt.Sprintf("numeric(%d, %d)", t.Precision, t.Scale)
	case types.KindChar, types.KindVarchar:
		if t.Length > 0 {
			return fmt.Sprintf("%s(%d)", name, t.Length)
		}
		return "text"
	case types.KindTime:
		// Sluice keeps microseconds in TIME values whatever the declared
		// precision (TIME means TIME(0)): keep them.
		return "time without time zone"
	case types.KindTimestamp:
		return fmt.Sprintf("timestamp(%d) without time zone", clampPrecision(t.Precision))
	case types.KindTimestampLTZ:
		return fmt.Sprintf("timestamp(%d) with time zone", clampPrecision(t.Precision))
	}
	return name
}

func clampPrecision(p int) int {
	if p < 0 || p > 6 {
		return 6
	}
	return p
}

// pgColumn is a column of the target table as the catalog describes it.
type pgColumn struct {
	name    string
	typ     string // format_type: "character varying(20)", "numeric(10,2)"
	typname string // base type name: "varchar", "numeric"
	typmod  int32
	notNull bool
	hasDef  bool // a default, an identity or a generated column
}

// target is the checked target table.
type target struct {
	ident  pgx.Identifier // resolved schema and name
	schema string
	cols   []pgColumn // every column of the table
	// names[i] is the Postgres column receiving Sluice column i.
	names []string
	// stageTypes[i] is the Postgres type of names[i] (for the staging table).
	stageTypes []string
}

// errNoTable is returned by inspect when the table does not exist.
var errNoTable = errors.New("table does not exist")

// inspect reads the target table's columns and unique keys and checks
// them against cfg's schema and primary key. Errors name the column.
func inspect(ctx context.Context, conn *pgx.Conn, cfg *config) (*target, error) {
	var oid uint32
	var schema, name, kind string
	err := conn.QueryRow(ctx, `SELECT c.oid, n.nspname, c.relname, c.relkind::text
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = to_regclass($1)`, cfg.target.Sanitize()).Scan(&oid, &schema, &name, &kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoTable
	}
	if err != nil {
		return nil, fmt.Errorf("look up table %s: %w", cfg.target.Sanitize(), err)
	}
	if kind != "r" && kind != "p" {
		return nil, &permanentError{fmt.Errorf("%s is not a table (relkind %s)", pgx.Identifier{schema, name}.Sanitize(), kind)}
	}
	t := &target{ident: pgx.Identifier{schema, name}, schema: schema}
	rows, err := conn.Query(ctx, `SELECT a.attname::text, format_type(a.atttypid, a.atttypmod),
			CASE WHEN ty.typtype = 'd' THEN bt.typname ELSE ty.typname END::text, a.atttypmod, a.attnotnull,
			a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> ''
		FROM pg_catalog.pg_attribute a
		JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
		LEFT JOIN pg_catalog.pg_type bt ON bt.oid = ty.typbasetype
		WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY a.attnum`, oid)
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", t.ident.Sanitize(), err)
	}
	for rows.Next() {
		var c pgColumn
		if err := rows.Scan(&c.name, &c.typ, &c.typname, &c.typmod, &c.notNull, &c.hasDef); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read columns of %s: %w", t.ident.Sanitize(), err)
		}
		t.cols = append(t.cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", t.ident.Sanitize(), err)
	}
	if err := t.match(cfg); err != nil {
		return nil, &permanentError{err}
	}
	if len(cfg.primaryKey) == 0 {
		return t, nil
	}
	rows, err = conn.Query(ctx, `SELECT i.indisprimary, ARRAY(
			SELECT a.attname::text FROM unnest(i.indkey) AS k(n)
			JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n)
		FROM pg_catalog.pg_index i
		WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
		ORDER BY i.indisprimary DESC`, oid)
	if err != nil {
		return nil, fmt.Errorf("read keys of %s: %w", t.ident.Sanitize(), err)
	}
	type index struct {
		primary bool
		cols    []string
	}
	var idx []index
	for rows.Next() {
		var x index
		if err := rows.Scan(&x.primary, &x.cols); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read keys of %s: %w", t.ident.Sanitize(), err)
		}
		idx = append(idx, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read keys of %s: %w", t.ident.Sanitize(), err)
	}
	want := make([]string, len(cfg.primaryKey))
	for i, k := range cfg.primaryKey {
		want[i] = t.names[k]
	}
	sorted := slices.Sorted(slices.Values(want))
	for _, x := range idx {
		if slices.Equal(slices.Sorted(slices.Values(x.cols)), sorted) {
			return t, nil
		}
	}
	msg := "has no primary key or unique index"
	if len(idx) > 0 && idx[0].primary {
		msg = "has primary key (" + strings.Join(idx[0].cols, ", ") + ")"
	}
	return nil, &permanentError{fmt.Errorf("primary key (%s) does not match Postgres table %s: it %s on these columns",
		strings.Join(want, ", "), t.ident.Sanitize(), msg)}
}

// match maps each Sluice column to a Postgres column (same name, else the
// only one equal ignoring case) and checks the types.
func (t *target) match(cfg *config) error {
	used := make([]bool, len(t.cols))
	t.names = make([]string, len(cfg.schema))
	t.stageTypes = make([]string, len(cfg.schema))
	for i, col := range cfg.schema {
		at := -1
		for j, c := range t.cols {
			if c.name == col.Name {
				at = j
				break
			}
		}
		if at < 0 {
			for j, c := range t.cols {
				if strings.EqualFold(c.name, col.Name) {
					if at >= 0 {
						return fmt.Errorf("column %s: Postgres table %s has several columns of that name in different case (%s, %s)",
							col.Name, t.ident.Sanitize(), t.cols[at].name, c.name)
					}
					at = j
				}
			}
		}
		if at < 0 {
			names := make([]string, len(t.cols))
			for j, c := range t.cols {
				names[j] = c.name
			}
			return fmt.Errorf("column %s: Postgres table %s has no such column (it has %s)",
				col.Name, t.ident.Sanitize(), strings.Join(names, ", "))
		}
		used[at] = true
		pc := t.cols[at]
		if err := checkType(col, pc); err != nil {
			return err
		}
		t.names[i] = pc.name
		t.stageTypes[i] = pc.typ
	}
	for j, c := range t.cols {
		if !used[j] && c.notNull && !c.hasDef {
			return fmt.Errorf("column %s: Postgres table %s has NOT NULL column %s without a default, which table %s does not have",
				c.name, t.ident.Sanitize(), pgx.Identifier{c.name}.Sanitize(), cfg.table)
		}
	}
	return nil
}

// checkType reports whether Postgres column pc can receive values of the
// Sluice column col without loss.
func checkType(col types.Column, pc pgColumn) error {
	st := col.Type
	ok := slices.Contains(accepted[st.Kind], pc.typname)
	hint := ""
	if ok {
		switch {
		case st.Kind == types.KindDecimal && pc.typmod >= 4:
			// numeric typmod: ((precision << 16) | scale) + 4
			p, s := int((pc.typmod-4)>>16), int((pc.typmod-4)&0xffff)
			if s < st.Scale || p-s < st.Precision-st.Scale {
				ok, hint = false, fmt.Sprintf(" (use numeric(%d, %d) or wider)", st.Precision, st.Scale)
			}
		case (st.Kind == types.KindChar || st.Kind == types.KindVarchar) && st.Length > 0 &&
			(pc.typname == "varchar" || pc.typname == "bpchar") && pc.typmod >= 4 && int(pc.typmod-4) < st.Length:
			ok, hint = false, fmt.Sprintf(" (too short for %v)", st)
		}
	} else {
		switch {
		case st.Kind == types.KindTimestamp && pc.typname == "timestamptz":
			hint = " (declare the column TIMESTAMP_LTZ, or use timestamp without time zone)"
		case st.Kind == types.KindTimestampLTZ && pc.typname == "timestamp":
			hint = " (declare the column TIMESTAMP, or use timestamp with time zone)"
		default:
			hint = " (expected " + createType(st) + ")"
		}
	}
	if !ok {
		return fmt.Errorf("column %s: type %v does not fit Postgres column %s of type %s%s",
			col.Name, st.Nullable(), pgx.Identifier{pc.name}.Sanitize(), pc.typ, hint)
	}
	return nil
}

// createTableSQL is the CREATE TABLE statement 'sink.create-table' runs.
func createTableSQL(cfg *config) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS ")
	b.WriteString(cfg.target.Sanitize())
	b.WriteString(" (")
	for i, col := range cfg.schema {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pgx.Identifier{col.Name}.Sanitize())
		b.WriteByte(' ')
		b.WriteString(createType(col.Type))
		if col.Type.NotNull || slices.Contains(cfg.primaryKey, i) {
			b.WriteString(" NOT NULL")
		}
	}
	if len(cfg.primaryKey) > 0 {
		b.WriteString(", PRIMARY KEY (")
		for i, k := range cfg.primaryKey {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pgx.Identifier{cfg.schema[k].Name}.Sanitize())
		}
		b.WriteByte(')')
	}
	b.WriteByte(')')
	return b.String()
}

// progressTable is the table recording, per sink and subtask, the last
// checkpoint applied. It lives in the target table's schema.
const progressTable = "sluice_sink_progress"

func progressTableSQL(schema string) string {
	return "CREATE TABLE IF NOT EXISTS " + pgx.Identifier{schema, progressTable}.Sanitize() +
		" (sink_id text NOT NULL, subtask integer NOT NULL, checkpoint bigint NOT NULL, PRIMARY KEY (sink_id, subtask))"
}

// ddlLock is the advisory lock key serialising the sink's CREATE TABLE IF
// NOT EXISTS statements (concurrent ones may otherwise fail on the catalog's
// unique indexes).
const ddlLock = 0x736c7569636530 // "sluice0"

// ensureTable runs ddl under the advisory lock in its own transaction.
func ensureTable(ctx context.Context, conn *pgx.Conn, ddl string) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(ddlLock)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, ddl)
		return err
	})
}

// statements holds the SQL the sink runs, built once with every
// identifier quoted.
type statements struct {
	stage    string // CREATE TEMP TABLE (keyed sinks)
	copy     string // COPY ... FROM STDIN
	delete   string // DELETE ... USING stage (keyed)
	upsert   string // INSERT ... SELECT ... ON CONFLICT (keyed)
	lockProg string // lock/create the progress row, returning its checkpoint
	setProg  string // set the progress row's checkpoint
	claim    string // lower the progress row to a restored checkpoint
}

// stageTable is the session's staging table (pg_temp, one per connection).
var stageTable = pgx.Identifier{"pg_temp", "sluice_stage"}

// deleteFlag is the staging table's extra column: true for deletes.
const deleteFlag = "__sluice_delete"

func buildStatements(cfg *config, t *target) statements {
	var s statements
	q := func(name string) string { return pgx.Identifier{name}.Sanitize() }
	cols := make([]string, len(t.names))
	for i, n := range t.names {
		cols[i] = q(n)
	}
	colList := strings.Join(cols, ", ")
	tgt := t.ident.Sanitize()
	if len(cfg.primaryKey) == 0 {
		s.copy = "COPY " + tgt + " (" + colList + ") FROM STDIN"
	} else {
		defs := []string{q(deleteFlag) + " boolean"}
		for i := range t.names {
			defs = append(defs, cols[i]+" "+t.stageTypes[i])
		}
		s.stage = "CREATE TEMP TABLE IF NOT EXISTS " + q(stageTable[1]) + " (" + strings.Join(defs, ", ") + ") ON COMMIT DELETE ROWS"
		stage := stageTable.Sanitize()
		s.copy = "COPY " + stage + " (" + q(deleteFlag) + ", " + colList + ") FROM STDIN"
		var on, keys, set []string
		for _, k := range cfg.primaryKey {
			on = append(on, "t."+cols[k]+" = s."+cols[k])
			keys = append(keys, cols[k])
		}
		for i := range cols {
			if !slices.Contains(cfg.primaryKey, i) {
				set = append(set, cols[i]+" = EXCLUDED."+cols[i])
			}
		}
		s.delete = "DELETE FROM " + tgt + " AS t USING " + stage + " AS s WHERE s." + q(deleteFlag) +
			" AND " + strings.Join(on, " AND ")
		s.upsert = "INSERT INTO " + tgt + " (" + colList + ") SELECT " + colList + " FROM " + stage +
			" WHERE NOT " + q(deleteFlag) + " ON CONFLICT (" + strings.Join(keys, ", ") + ") DO "
		if len(set) == 0 {
			s.upsert += "NOTHING"
		} else {
			s.upsert += "UPDATE SET " + strings.Join(set, ", ")
		}
	}
	prog := pgx.Identifier{t.schema, progressTable}.Sanitize()
	s.lockProg = "INSERT INTO " + prog + " AS p (sink_id, subtask, checkpoint) VALUES ($1, $2, 0) " +
		"ON CONFLICT (sink_id, subtask) DO UPDATE SET checkpoint = p.checkpoint RETURNING checkpoint"
	s.setProg = "UPDATE " + prog + " SET checkpoint = $3 WHERE sink_id = $1 AND subtask = $2"
	s.claim = "UPDATE " + prog + " SET checkpoint = $3 WHERE sink_id = $1 AND subtask = $2 AND checkpoint > $3"
	return s
}
