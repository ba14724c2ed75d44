package sqltests

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/planner/session"
	"github.com/sluicesql/sluice/sqltests/pgtest"
)

var (
	diffSeed     = flag.Int64("diff.seed", 0, "TestDifferential: random seed (0: time-based; the seed is always logged)")
	diffCases    = flag.Int("diff.cases", 220, "TestDifferential: number of random queries")
	diffMVs      = flag.Int("diff.mvs", 20, "TestDifferential: number of materialized views checked under upserts (feature mv)")
	diffFeatFlag = flag.String("diff.features", "all",
		"TestDifferential: query shapes, comma separated: basic (filters, projections), agg, join, outer (RIGHT JOIN), full (FULL JOIN), distinct, union, subquery, derived (derived tables), order (ORDER BY / LIMIT), mv, or all")
	diffVerbose = flag.Bool("diff.verbose", false, "TestDifferential: log every query with its row count")
)

// TestDifferential compares Sluice with PostgreSQL on random tables and
// random queries of their common subset: filters and projections, GROUP BY
// with COUNT / SUM / MIN / MAX / AVG and HAVING, inner and outer joins,
// DISTINCT, UNION, IN / EXISTS / scalar subqueries, derived tables
// (aggregated again or joined), ORDER BY / LIMIT, and (feature mv)
// materialized views kept current while rows are upserted. Results are
// compared as multisets of rows (as lists under ORDER BY) in a canonical
// text form (numbers without trailing zeros, so 2.50 = 2.5 and 3 = 3.00).
//
// Every case is named after the seed and its index; rerun one failure with
//
//	go test ./sqltests -run 'TestDifferential/seed<N>_q017' -diff.seed=<N>
//
// (the tables depend on the seed only, each query on the seed and its
// index). PostgreSQL comes from pgtest: the local server, or a private
// cluster; without one the test is skipped.
func TestDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	feat, err := parseDiffFeatures(*diffFeatFlag)
	if err != nil {
		t.Fatal(err)
	}
	seed := *diffSeed
	if seed == 0 {
		seed = time.Now().UnixNano() % 1_000_000_000
	}
	t.Logf("seed %d (rerun: go test ./sqltests -run TestDifferential -diff.seed=%d -diff.features=%s)", seed, seed, *diffFeatFlag)

	pg := pgtest.Connect(t)
	eng, err := openSessionEngine(session.Config{StateDir: t.TempDir(), Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	d := &differ{t: t, seed: seed, pg: pg.Conn, sl: eng}

	// Tables and rows.
	r := rand.New(rand.NewPCG(uint64(seed), 0))
	tables := genTables(r)
	for _, tb := range tables {
		sl, pgs := tb.ddl()
		d.mustBoth(sl, pgs)
		n := r.IntN(26)
		if r.IntN(12) == 0 {
			n = 0
		}
		t.Logf("%s", sl)
		if ins, pgs := tb.inserts(r, n); ins != "" {
			d.mustBoth(ins, pgs)
			if *diffVerbose {
				t.Logf("%s", ins)
			}
		}
	}
	d.flush()

	var pass, fail, skip int
	count := func(res string) {
		switch res {
		case "pass":
			pass++
		case "fail":
			fail++
		default:
			skip++
		}
	}
	for i := 0; i < *diffCases; i++ {
		g := &diffGen{r: rand.New(rand.NewPCG(uint64(seed), uint64(1000+i))), tables: tables, feat: feat}
		q := g.query()
		name := fmt.Sprintf("seed%d_q%03d_%s", seed, i, q.kind)
		t.Run(name, func(t *testing.T) { counted(t, d.check(t, q.sl, q.pg, q), count) })
	}

	if feat.mv && *diffMVs > 0 {
		d.materialized(feat, tables, count)
	}
	t.Logf("seed %d: %d passed, %d failed, %d skipped (PostgreSQL rejected the query)", seed, pass, fail, skip)
}

// differ runs statements on both engines.
type differ struct {
	t    *testing.T
	seed int64
	pg   *pgx.Conn
	sl   *sessionEngine
}

func (d *differ) mustBoth(sl, pg string) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := d.pg.Exec(ctx, pg); err != nil {
		d.t.Fatalf("postgres: %v\n%s", err, pg)
	}
	if _, _, err := d.sl.Exec(ctx, sl); err != nil {
		d.t.Fatalf("sluice: %v\n%s", err, sl)
	}
}

func (d *differ) flush() {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, _, err := d.sl.Exec(ctx, "FLUSH"); err != nil {
		d.t.Fatalf("sluice: FLUSH: %v", err)
	}
}

// check runs slSQL on Sluice and pgSQL on PostgreSQL and compares the
// results; it returns "pass", "fail" or "skip".
func (d *differ) check(t *testing.T, slSQL, pgSQL string, q diffQuery) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	want, perr := pgRows(ctx, d.pg, pgSQL)
	if perr != nil {
		// The generator keeps to what both accept; a rejection here is the
		// generator's mistake, not Sluice's.
		t.Logf("postgres rejects the query (generator bug?): %v\n%s", perr, pgSQL)
		return "skip"
	}
	_, rows, serr := d.sl.Exec(ctx, slSQL)
	if serr != nil {
		t.Errorf("seed %d: sluice fails where postgres succeeds\nsluice:   %s\npostgres: %s\nerror: %v\npostgres rows (%d):\n%s",
			d.seed, slSQL, pgSQL, serr, len(want), showRows(want, 20))
		return "fail"
	}
	got := make([]string, len(rows))
	for i, row := range rows {
		got[i] = canonSluiceRow(row)
	}
	if !q.ordered {
		slices.Sort(got)
		slices.Sort(want)
	}
	if *diffVerbose {
		t.Logf("%d rows: %s", len(got), slSQL)
	}
	if !slices.Equal(got, want) {
		if q.ordered {
			t.Errorf("seed %d: results differ (%s; rows in order)\nsluice:   %s\npostgres: %s\nsluice rows (%d):\n%s\npostgres rows (%d):\n%s",
				d.seed, q.kind, slSQL, pgSQL, len(got), showRows(got, 20), len(want), showRows(want, 20))
			return "fail"
		}
		onlyS, onlyP := multisetDiff(got, want)
		t.Errorf("seed %d: results differ (%s)\nsluice:   %s\npostgres: %s\nsluice rows: %d, postgres rows: %d\nonly in sluice (%d):\n%s\nonly in postgres (%d):\n%s",
			d.seed, q.kind, slSQL, pgSQL, len(got), len(want), len(onlyS), showRows(onlyS, 15), len(onlyP), showRows(onlyP, 15))
		return "fail"
	}
	return "pass"
}

// materialized creates materialized views over generated queries, upserts
// rows into the tables in rounds and compares each view with the query run
// on PostgreSQL after every round.
func (d *differ) materialized(feat diffFeatures, tables []*dtable, count func(string)) {
	t := d.t
	type mv struct {
		name string
		q    diffQuery
	}
	var mvs []mv
	for i := 0; len(mvs) < *diffMVs && i < 20**diffMVs; i++ {
		mvFeat := feat
		mvFeat.order = false // a view has no order
		g := &diffGen{r: rand.New(rand.NewPCG(uint64(d.seed), uint64(100000+i))), tables: tables, feat: mvFeat}
		q := g.query()
		if q.kind == "select" && i%3 != 0 {
			continue // favour aggregates, joins and DISTINCT: they retract
		}
		name := fmt.Sprintf("mv%02d", len(mvs))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, _, err := d.sl.Exec(ctx, "CREATE MATERIALIZED VIEW "+name+" AS "+q.sl)
		cancel()
		if err != nil {
			t.Run(fmt.Sprintf("seed%d_mvcandidate%03d_create", d.seed, i), func(t *testing.T) {
				t.Errorf("seed %d: CREATE MATERIALIZED VIEW fails: %v\n%s", d.seed, err, q.sl)
			})
			count("fail")
			continue
		}
		mvs = append(mvs, mv{name: name, q: q})
	}
	d.flush()
	for round := 0; round <= 3; round++ {
		if round > 0 {
			r := rand.New(rand.NewPCG(uint64(d.seed), uint64(200000+round)))
			for _, tb := range tables {
				if sl, pg := tb.upserts(r); sl != "" {
					d.mustBoth(sl, pg)
					t.Logf("round %d: %s", round, sl)
				}
			}
			d.flush()
		}
		for _, m := range mvs {
			q := m.q
			t.Run(fmt.Sprintf("seed%d_%s_r%d_%s", d.seed, m.name, round, q.kind), func(t *testing.T) {
				q.kind = fmt.Sprintf("materialized view %s after upsert round %d, defined as: %s", m.name, round, q.sl)
				counted(t, d.check(t, "SELECT * FROM "+m.name, q.pg, q), count)
			})
		}
	}
}

// pgRows runs sql and returns its rows in canonical form, in its order.
func pgRows(ctx context.Context, conn *pgx.Conn, sql string) ([]string, error) {
	rows, err := conn.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
	var out []string
	for rows.Next() {
		raw := rows.RawValues()
		vals := make([]string, len(raw))
		for i, v := range raw {
			vals[i] = canonPG(v, fds[i].DataTypeOID)
		}
		out = append(out, strings.Join(vals, " | "))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// PostgreSQL type OIDs the canonical form distinguishes.
const (
	oidBool    = 16
	oidInt8    = 20
	oidInt2    = 21
	oidInt4    = 23
	oidFloat4  = 700
	oidFloat8  = 701
	oidNumeric = 1700
)

func canonPG(v []byte, oid uint32) string {
	if v == nil {
		return "NULL"
	}
	s := string(v)
	switch oid {
	case oidBool:
		if s == "t" {
			return "TRUE"
		}
		return "FALSE"
	case oidInt2, oidInt4, oidInt8, oidNumeric:
		return canonNumber(s)
	case oidFloat4, oidFloat8:
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return canonNumber(strconv.FormatFloat(f, 'f', -1, 64))
		}
		return s
	}
	return strconv.Quote(s)
}

func canonSluiceRow(row []types.Datum) string {
	vals := make([]string, len(row))
	for i, d := range row {
		vals[i] = canonDatum(d)
	}
	return strings.Join(vals, " | ")
}

func canonDatum(d types.Datum) string {
	if d.Null || d.Type.Kind == types.KindNull {
		return "NULL"
	}
	switch {
	case d.Type.Kind == types.KindBool:
		return d.String()
	case d.Type.IsFloat():
		return canonNumber(strconv.FormatFloat(d.F, 'f', -1, 64))
	case d.Type.IsNumeric():
		return canonNumber(d.String())
	case d.Type.IsString():
		return strconv.Quote(d.S)
	}
	return d.String()
}

// canonNumber writes a decimal number without trailing fractional zeros
// (and without "-" on zero).
func canonNumber(s string) string {
	s = strings.TrimSpace(s)
	if strings.Contains(s, ".") && !strings.ContainsAny(s, "eE") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" || s == "" {
		s = "0"
	}
	return s
}

// multisetDiff returns the elements of the sorted a missing from the
// sorted b, and those of b missing from a.
func multisetDiff(a, b []string) (onlyA, onlyB []string) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			onlyA = append(onlyA, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			onlyB = append(onlyB, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return onlyA, onlyB
}

func showRows(rows []string, max int) string {
	var b strings.Builder
	for i, r := range rows {
		if i == max {
			fmt.Fprintf(&b, "  ... %d more\n", len(rows)-max)
			break
		}
		b.WriteString("  " + r + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// counted counts res, then marks t skipped when res is "skip".
func counted(t *testing.T, res string, count func(string)) {
	count(res)
	if res == "skip" {
		t.SkipNow()
	}
}
