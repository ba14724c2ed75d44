package builtin

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicesql/sluice/catalog"
	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

type env struct {
	st  *state.Store
	cat *catalog.Catalog
	bs  *Store
}

func newEnv(t testing.TB, dir string) *env {
	t.Helper()
	st, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Open(st)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, cat: cat, bs: NewStore(st, cat)}
	t.Cleanup(func() { st.Close() })
	return e
}

var kvCols = []catalog.Column{{Name: "k", Type: types.BigInt}, {Name: "v", Type: types.String}, {Name: "n", Type: types.Double}}

// createTable creates a built-in table k BIGINT, v STRING, n DOUBLE with or
// without PRIMARY KEY (k).
func (e *env) createTable(t testing.TB, name string, keyed bool) (*connectors.Table, uint64) {
	t.Helper()
	ct := &catalog.Table{Name: name, Columns: kvCols}
	if keyed {
		ct.PrimaryKey = []string{"k"}
	}
	if err := e.cat.CreateTable(ct, false); err != nil {
		t.Fatal(err)
	}
	return connTable(ct), ct.ID
}

func connTable(ct *catalog.Table) *connectors.Table {
	return &connectors.Table{Name: ct.Name, Schema: ct.Schema(), PrimaryKey: ct.PrimaryKeyIndexes(), Options: ct.Options}
}

type row struct {
	op types.Op
	k  int64
	v  string
	n  float64
}

func (r row) String() string { return fmt.Sprintf("%v(%d,%s,%g)", r.op, r.k, r.v, r.n) }

func batchOf(rows ...row) *types.Batch {
	b := types.NewBatch([]types.Type{types.BigInt, types.String, types.Double})
	for _, r := range rows {
		b.AppendRow(r.op, []types.Datum{types.IntDatum(r.k), types.StringDatum(r.v), types.DoubleDatum(r.n)})
	}
	return b
}

func rowsOf(b *types.Batch) []row {
	out := make([]row, b.Len())
	for i := range out {
		out[i] = row{b.Ops[i], b.Cols[0].I64[i], b.Cols[1].Str[i], b.Cols[2].F64[i]}
	}
	return out
}

func (e *env) apply(t testing.TB, ct *connectors.Table, id uint64, rows ...row) {
	t.Helper()
	b := batchOf(rows...)
	if err := e.bs.Apply(id, ct.Schema.Types(), ct.PrimaryKey, b); err != nil {
		t.Fatal(err)
	}
	b.Release()
}

func allCols(ct *connectors.Table) []int {
	c := make([]int, len(ct.Schema))
	for i := range c {
		c[i] = i
	}
	return c
}

// openSources opens par subtasks of a source on ct.
func (e *env) openSources(t testing.TB, ct *connectors.Table, req connectors.SourceRequest, par, maxPar int) ([]exec.Source, connectors.SourceSpec) {
	t.Helper()
	spec, err := e.bs.NewSource(ct, req)
	if err != nil {
		t.Fatal(err)
	}
	srcs := make([]exec.Source, par)
	for i := range srcs {
		s, err := spec.Factory(i)
		if err != nil {
			t.Fatal(err)
		}
		tc := &exec.TaskContext{Ctx: context.Background(), JobID: "job-t", Subtask: i, Parallelism: par, MaxParallelism: maxPar}
		if err := s.Open(tc); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		srcs[i] = s
	}
	return srcs, spec
}

// readBounded reads every subtask of a bounded source to its end.
func readBounded(t testing.TB, srcs []exec.Source, spec connectors.SourceSpec) [][]row {
	t.Helper()
	out := make([][]row, len(srcs))
	for i, s := range srcs {
		for {
			b := types.NewBatch(spec.Types)
			end, err := s.Next(b)
			if err != nil {
				t.Fatal(err)
			}
			if b.Len() > types.DefaultBatchSize {
				t.Fatalf("batch of %d rows", b.Len())
			}
			if len(spec.Types) == 3 {
				out[i] = append(out[i], rowsOf(b)...)
			} else {
				for j := 0; j < b.Len(); j++ {
					out[i] = append(out[i], row{op: b.Ops[j]})
				}
			}
			if end {
				break
			}
		}
		s.Close()
	}
	return out
}

func (e *env) contents(t testing.TB, ct *connectors.Table) []row {
	srcs, spec := e.openSources(t, ct, connectors.SourceRequest{Columns: allCols(ct)}, 1, 0)
	rows := readBounded(t, srcs, spec)[0]
	sortRows(rows)
	return rows
}

func sortRows(rs []row) {
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].k != rs[j].k {
			return rs[i].k < rs[j].k
		}
		return rs[i].v < rs[j].v
	})
}

// nextChanges calls Next until it returns no rows and returns what it got.
func nextChanges(t testing.TB, s exec.Source) []row {
	t.Helper()
	var out []row
	for {
		b := types.NewBatch([]types.Type{types.BigInt, types.String, types.Double})
		end, err := s.Next(b)
		if err != nil {
			t.Fatal(err)
		}
		if end {
			t.Fatal("continuous source ended")
		}
		if b.Len() == 0 {
			return out
		}
		out = append(out, rowsOf(b)...)
	}
}

func ins(k int64, v string) row { return row{types.Insert, k, v, float64(k)} }
func del(k int64, v string) row { return row{types.Delete, k, v, float64(k)} }
func ub(k int64, v string) row  { return row{types.UpdateBefore, k, v, float64(k)} }
func ua(k int64, v string) row  { return row{types.UpdateAfter, k, v, float64(k)} }

func TestUpsertEffectiveChangelog(t *testing.T) {
	e := newEnv(t, t.TempDir())
	ct, id := e.createTable(t, "kv", true)
	srcs, spec := e.openSources(t, ct, connectors.SourceRequest{Columns: allCols(ct), Continuous: true}, 1, 0)
	if spec.Bounded || spec.Mode != connectors.Retract {
		t.Fatalf("spec %+v", spec)
	}
	src := srcs[0]
	steps := []struct {
		in, want []row
	}{
		{[]row{ins(1, "a"), ins(2, "b")}, []row{ins(1, "a"), ins(2, "b")}},
		{[]row{ins(1, "a")}, nil},                                      // unchanged
		{[]row{ins(1, "x")}, []row{ub(1, "a"), ua(1, "x")}},            // overwrite
		{[]row{del(3, "")}, nil},                                       // missing key
		{[]row{del(2, "ignored")}, []row{del(2, "b")}},                 // the stored row is retracted
		{[]row{ub(1, "x"), ua(1, "y")}, []row{ub(1, "x"), ua(1, "y")}}, // update pair
		{[]row{ub(1, "y"), ua(1, "y")}, nil},                           // no-op pair
		{[]row{ua(5, "z")}, []row{ins(5, "z")}},                        // +U of a new key
		{[]row{ins(6, "a"), ins(6, "b"), del(6, "")}, []row{ins(6, "a"), ub(6, "a"), ua(6, "b"), del(6, "b")}},
		{[]row{ub(5, "z"), ua(7, "w")}, []row{ub(5, "z"), ua(7, "w")}}, // key change
	}
	for i, st := range steps {
		before := e.bs.Version(id)
		e.apply(t, ct, id, st.in...)
		got := nextChanges(t, src)
		if !reflect.DeepEqual(got, st.want) {
			t.Fatalf("step %d %v: emitted %v, want %v", i, st.in, got, st.want)
		}
		if st.want != nil && e.bs.Version(id) != before+1 {
			t.Fatalf("step %d: version %d -> %d", i, before, e.bs.Version(id))
		}
	}
	if got, want := e.contents(t, ct), []row{ins(1, "y"), ins(7, "w")}; !reflect.DeepEqual(got, want) {
		t.Fatalf("contents %v, want %v", got, want)
	}
	if r := e.bs.Readers(id); len(r) != 1 || r[0].Emitted != e.bs.Version(id) || r[0].JobID != "job-t" {
		t.Fatalf("readers %+v, version %d", r, e.bs.Version(id))
	}
}

func TestNoPrimaryKeyRetractions(t *testing.T) {
	e := newEnv(t, t.TempDir())
	ct, id := e.createTable(t, "bag", false)
	srcs, _ := e.openSources(t, ct, connectors.SourceRequest{Columns: allCols(ct), Continuous: true}, 1, 0)
	src := srcs[0]
	steps := []struct{ in, want []row }{
		{[]row{ins(1, "a"), ins(1, "a"), ins(2, "b")}, []row{ins(1, "a"), ins(1, "a"), ins(2, "b")}},
		{[]row{del(1, "a")}, []row{del(1, "a")}},
		{[]row{del(9, "c")}, nil},
		{[]row{ub(2, "b"), ua(3, "c")}, []row{ub(2, "b"), ua(3, "c")}},
		{[]row{ins(4, "x"), del(4, "x")}, []row{ins(4, "x"), del(4, "x")}},
		{[]row{del(5, "y"), ins(5, "y")}, []row{ins(5, "y")}},
		{[]row{ub(5, "y"), ua(5, "y")}, nil},
		{[]row{del(1, "a"), del(1, "a")}, []row{del(1, "a")}}, // only one was left
	}
	for i, st := range steps {
		e.apply(t, ct, id, st.in...)
		if got := nextChanges(t, src); !reflect.DeepEqual(got, st.want) {
			t.Fatalf("step %d %v: emitted %v, want %v", i, st.in, got, st.want)
		}
	}
	if got, want := e.contents(t, ct), []row{ins(3, "c"), ins(5, "y")}; !reflect.DeepEqual(got, want) {
		t.Fatalf("contents %v, want %v", got, want)
	}
	// NULLs and -0 match their equals.
	b := types.NewBatch(ct.Schema.Types())
	b.AppendRow(types.Insert, []types.Datum{types.NullDatum(types.BigInt), types.StringDatum("n"), types.DoubleDatum(0)})
	if err := e.bs.Apply(id, ct.Schema.Types(), nil, b); err != nil {
		t.Fatal(err)
	}
	b.Reset(ct.Schema.Types())
	b.AppendRow(types.Delete, []types.Datum{types.NullDatum(types.BigInt), types.StringDatum("n"), types.DoubleDatum(-1 * 0.0 * -1)})
	if err := e.bs.Apply(id, ct.Schema.Types(), nil, b); err != nil {
		t.Fatal(err)
	}
	if got := nextChanges(t, src); len(got) != 2 || got[1].op != types.Delete {
		t.Fatalf("NULL row insert/delete emitted %v", got)
	}
}

// materializer replays a changelog and checks it is well-formed: adds only
// of absent keys (rows for bags), retractions only of present, equal rows.
type materializer struct {
	keyed bool
	rows  map[string]int
	err   error
}

func (m *materializer) add(r row) {
	if m.err != nil {
		return
	}
	id := fmt.Sprintf("%d|%s|%g", r.k, r.v, r.n)
	key := id
	if m.keyed {
		key = fmt.Sprint(r.k)
	}
	switch r.op {
	case types.Insert, types.UpdateAfter:
		if m.keyed {
			for k := range m.rows {
				if strings.HasPrefix(k, key+"|") {
					m.err = fmt.Errorf("%v: key already present as %s", r, k)
					return
				}
			}
		}
		m.rows[id]++
	default:
		if m.rows[id] == 0 {
			m.err = fmt.Errorf("%v: retracts a row not present", r)
			return
		}
		m.rows[id]--
		if m.rows[id] == 0 {
			delete(m.rows, id)
		}
	}
}

func TestSnapshotSubscribeConsistencyUnderConcurrentWriters(t *testing.T) {
	for _, keyed := range []bool{true, false} {
		t.Run(fmt.Sprintf("keyed=%v", keyed), func(t *testing.T) {
			e := newEnv(t, t.TempDir())
			e.bs.QueueLen = 4 // exercise back-pressure
			ct, id := e.createTable(t, "t", keyed)
			const writers, batches, keys, par = 4, 150, 64, 3
			var readerWG, writerWG sync.WaitGroup
			var stop atomic.Bool
			type group struct {
				ms []*materializer
			}
			var mu sync.Mutex
			var groups []*group
			var midJoins atomic.Int32
			startGroup := func() {
				if v := e.bs.Version(id); v > 0 {
					midJoins.Add(1)
				}
				srcs, spec := e.openSources(t, ct, connectors.SourceRequest{Columns: allCols(ct), Continuous: true}, par, 16)
				g := &group{}
				for _, s := range srcs {
					m := &materializer{keyed: keyed, rows: map[string]int{}}
					g.ms = append(g.ms, m)
					readerWG.Add(1)
					go func(s exec.Source) {
						defer readerWG.Done()
						for !stop.Load() {
							b := types.NewBatch(spec.Types)
							if _, err := s.Next(b); err != nil {
								m.err = err
								return
							}
							for _, r := range rowsOf(b) {
								m.add(r)
							}
							b.Release()
						}
					}(s)
				}
				mu.Lock()
				groups = append(groups, g)
				mu.Unlock()
			}
			startGroup() // before any write
			for w := 0; w < writers; w++ {
				writerWG.Add(1)
				go func(w int) {
					defer writerWG.Done()
					r := rand.New(rand.NewPCG(uint64(w), 9))
					for i := 0; i < batches; i++ {
						var rows []row
						for j := 0; j < 1+r.IntN(40); j++ {
							k := int64(r.IntN(keys))
							v := fmt.Sprint(r.IntN(3))
							switch r.IntN(4) {
							case 0:
								rows = append(rows, del(k, v))
							case 1:
								rows = append(rows, ub(k, v), ua(k, fmt.Sprint(r.IntN(3))))
							default:
								rows = append(rows, ins(k, v))
							}
						}
						b := batchOf(rows...)
						if err := e.bs.Apply(id, ct.Schema.Types(), ct.PrimaryKey, b); err != nil {
							t.Error(err)
							return
						}
					}
				}(w)
			}
			// Readers that join while the writers run.
			for i := 0; i < 3; i++ {
				time.Sleep(5 * time.Millisecond)
				startGroup()
			}
			writerWG.Wait()
			v := e.bs.Version(id)
			if midJoins.Load() == 0 {
				t.Fatal("no reader joined while writers ran; test is too weak")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := e.bs.WaitEmitted(ctx, id, v); err != nil {
				t.Fatalf("WaitEmitted(%d): %v (readers %+v)", v, err, e.bs.Readers(id))
			}
			stop.Store(true)
			readerWG.Wait()

			want := map[string]int{}
			for _, r := range e.contents(t, ct) {
				want[fmt.Sprintf("%d|%s|%g", r.k, r.v, r.n)]++
			}
			if len(want) == 0 {
				t.Fatal("table ended empty; test is too weak")
			}
			for gi, g := range groups {
				got := map[string]int{}
				for _, m := range g.ms {
					if m.err != nil {
						t.Fatalf("group %d: %v", gi, m.err)
					}
					for k, n := range m.rows {
						got[k] += n
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("group %d materialized %d rows, table has %d:\n got %v\nwant %v", gi, len(got), len(want), got, want)
				}
			}
		})
	}
}

// TestBlindWritesMatch checks that keyed writes without subscribers (which
// skip reading old rows) store the same as writes with one.
func TestBlindWritesMatch(t *testing.T) {
	e := newEnv(t, t.TempDir())
	blind, bid := e.createTable(t, "blind", true)
	seen, sid := e.createTable(t, "seen", true)
	srcs, _ := e.openSources(t, seen, connectors.SourceRequest{Columns: allCols(seen), Continuous: true}, 1, 0)
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 50; i++ {
		var rows []row
		for j := 0; j < 30; j++ {
			k := int64(r.IntN(20))
			switch r.IntN(3) {
			case 0:
				rows = append(rows, del(k, ""))
			case 1:
				rows = append(rows, ub(k, ""), ua(k, fmt.Sprint(r.IntN(2))))
			default:
				rows = append(rows, ins(k, fmt.Sprint(r.IntN(2))))
			}
		}
		e.apply(t, blind, bid, rows...)
		e.apply(t, seen, sid, rows...)
		nextChanges(t, srcs[0])
	}
	if a, b := e.contents(t, blind), e.contents(t, seen); !reflect.DeepEqual(a, b) {
		t.Fatalf("blind %v\nseen %v", a, b)
	}
}

func TestParallelSnapshotSplit(t *testing.T) {
	e := newEnv(t, t.TempDir())
	for _, keyed := range []bool{true, false} {
		ct, id := e.createTable(t, fmt.Sprint("t", keyed), keyed)
		var rows []row
		for i := 0; i < 5000; i++ {
			rows = append(rows, ins(int64(i), fmt.Sprint(i%7)))
			if !keyed && i%3 == 0 {
				rows = append(rows, ins(int64(i), fmt.Sprint(i%7))) // duplicates
			}
		}
		e.apply(t, ct, id, rows...)
		want := append([]row(nil), rows...)
		sortRows(want)
		cols := ct.PrimaryKey
		if !keyed {
			cols = allCols(ct)
		}
		for _, pm := range [][2]int{{1, 128}, {2, 128}, {3, 128}, {7, 128}, {7, 5}, {4, 4}} {
			par, maxPar := pm[0], pm[1]
			srcs, spec := e.openSources(t, ct, connectors.SourceRequest{Columns: allCols(ct)}, par, maxPar)
			if !spec.Bounded || spec.Mode != connectors.AppendOnly {
				t.Fatalf("spec %+v", spec)
			}
			parts := readBounded(t, srcs, spec)
			var got []row
			for sub, p := range parts {
				b := batchOf(p...)
				hs := make([]uint64, b.Len())
				state.HashColumns(b, cols, hs)
				for i, h := range hs {
					if o := state.HashOwner(h, maxPar, par); o != sub {
						t.Fatalf("keyed=%v par %d/%d: row %v read by %d, owner %d", keyed, par, maxPar, p[i], sub, o)
					}
				}
				got = append(got, p...)
			}
			sortRows(got)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("keyed=%v par %d/%d: read %d rows, want %d", keyed, par, maxPar, len(got), len(want))
			}
		}
	}
}

func TestProjectionAndEmptyProjection(t *testing.T) {
	e := newEnv(t, t.TempDir())
	ct, id := e.createTable(t, "p", true)
	e.apply(t, ct, id, ins(1, "a"), ins(2, "b"))
	srcs, spec := e.openSources(t, ct, connectors.SourceRequest{Columns: []int{1, 0}}, 1, 0)
	if !reflect.DeepEqual(spec.Types, []types.Type{types.String, types.BigInt}) {
		t.Fatalf("types %v", spec.Types)
	}
	b := types.NewBatch(spec.Types)
	if end, err := srcs[0].Next(b); err != nil || !end || b.Len() != 2 || b.Cols[0].Str[1] != "b" || b.Cols[1].I64[1] != 2 {
		t.Fatalf("projected read: %v %v %+v", end, err, b)
	}
	srcs, spec = e.openSources(t, ct, connectors.SourceRequest{Columns: nil}, 1, 0)
	if got := readBounded(t, srcs, spec)[0]; len(got) != 2 {
		t.Fatalf("count(*) read %d rows", len(got))
	}
	if _, err := e.bs.NewSource(ct, connectors.SourceRequest{Columns: []int{3}}); err == nil {
		t.Fatal("out-of-range column accepted")
	}
}

func TestPersistenceAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir)
	ct, id := e.createTable(t, "kv", true)
	bt, bid := e.createTable(t, "bag", false)
	e.apply(t, ct, id, ins(1, "a"), ins(2, "b"))
	e.apply(t, ct, id, ins(2, "c"))
	e.apply(t, bt, bid, ins(1, "a"), ins(1, "a"))
	ver, bver := e.bs.Version(id), e.bs.Version(bid)
	e.st.Close()

	e = newEnv(t, dir)
	if e.bs.Version(id) != ver || e.bs.Version(bid) != bver || ver != 2 {
		t.Fatalf("versions %d %d, want %d %d", e.bs.Version(id), e.bs.Version(bid), ver, bver)
	}
	if got, want := e.contents(t, ct), []row{ins(1, "a"), ins(2, "c")}; !reflect.DeepEqual(got, want) {
		t.Fatalf("kv after reopen %v", got)
	}
	// Row ids continue: new rows do not overwrite old ones.
	e.apply(t, bt, bid, ins(1, "a"))
	if got := e.contents(t, bt); len(got) != 3 {
		t.Fatalf("bag after reopen and insert: %v", got)
	}
	e.apply(t, ct, id, del(1, ""))
	if e.bs.Version(id) != ver+1 {
		t.Fatalf("version after reopen %d", e.bs.Version(id))
	}
}

func TestLargeBatchIsChunked(t *testing.T) {
	e := newEnv(t, t.TempDir())
	ct, id := e.createTable(t, "big", true)
	srcs, _ := e.openSources(t, ct, connectors.SourceRequest{Columns: allCols(ct), Continuous: true}, 1, 0)
	var rows []row
	pad := strings.Repeat("x", 200)
	for i := 0; i < 30000; i++ { // ~7 MB, more than one Badger transaction
		rows = append(rows, ins(int64(i), pad))
	}
	done := make(chan []row)
	go func() {
		var got []row
		for len(got) < len(rows) {
			b := types.NewBatch(ct.Schema.Types())
			if _, err := srcs[0].Next(b); err != nil {
				t.Error(err)
				break
			}
			got = append(got, rowsOf(b)...)
		}
		done <- got
	}()
	e.apply(t, ct, id, rows...)
	got := <-done
	if len(got) != len(rows) {
		t.Fatalf("stream has %d rows", len(got))
	}
	if v := e.bs.Version(id); v < 2 {
		t.Fatalf("version %d: batch was not split", v)
	}
	if n := len(e.contents(t, ct)); n != len(rows) {
		t.Fatalf("table has %d rows", n)
	}
}

func TestDropStopsReadersAndWriters(t *testing.T) {
	e := newEnv(t, t.TempDir())
	ct, id := e.createTable(t, "d", true)
	e.apply(t, ct, id, ins(1, "a"))
	srcs, _ := e.openSources(t, ct, connectors.SourceRequest{Columns: allCols(ct), Continuous: true}, 1, 0)
	nextChanges(t, srcs[0]) // snapshot
	if err := e.cat.DropTable("d", false); err != nil {
		t.Fatal(err)
	}
	_, err := srcs[0].Next(types.NewBatch(ct.Schema.Types()))
	if !errors.Is(err, ErrDropped) {
		t.Fatalf("reader after drop: %v", err)
	}
	b := batchOf(ins(2, "b"))
	if err := e.bs.Apply(id, ct.Schema.Types(), ct.PrimaryKey, b); err == nil {
		t.Fatal("Apply after drop succeeded")
	}
	if _, err := e.bs.NewSource(ct, connectors.SourceRequest{}); !catalog.IsNotFound(err) {
		t.Fatalf("NewSource after drop: %v", err)
	}
	// A new table with the same name gets a new id and no old rows.
	ct2, id2 := e.createTable(t, "d", true)
	if id2 == id || len(e.contents(t, ct2)) != 0 {
		t.Fatal("new table sees the dropped one")
	}
}

func TestTruncate(t *testing.T) {
	e := newEnv(t, t.TempDir())
	for _, keyed := range []bool{true, false} {
		ct, id := e.createTable(t, fmt.Sprint("tr", keyed), keyed)
		e.apply(t, ct, id, ins(1, "a"), ins(2, "b"))
		srcs, _ := e.openSources(t, ct, connectors.SourceRequest{Columns: allCols(ct), Continuous: true}, 1, 0)
		nextChanges(t, srcs[0])
		if err := e.bs.Truncate(id, ct.Schema.Types(), ct.PrimaryKey); err != nil {
			t.Fatal(err)
		}
		got := nextChanges(t, srcs[0])
		sortRows(got)
		if !reflect.DeepEqual(got, []row{del(1, "a"), del(2, "b")}) {
			t.Fatalf("keyed=%v truncate emitted %v", keyed, got)
		}
		if len(e.contents(t, ct)) != 0 {
			t.Fatal("rows left")
		}
	}
}

func TestConnectorContract(t *testing.T) {
	e := newEnv(t, t.TempDir())
	Register(e.bs)
	c, err := connectors.Lookup("builtin")
	if err != nil || c != connectors.Connector(e.bs) {
		t.Fatalf("Lookup: %v %v", c, err)
	}
	ct, id := e.createTable(t, "s", true)
	bt, _ := e.createTable(t, "b", false)
	if !e.bs.AcceptsUpdates(ct) || e.bs.AcceptsUpdates(bt) {
		t.Fatal("AcceptsUpdates")
	}
	if err := e.bs.Validate(ct); err != nil {
		t.Fatal(err)
	}
	bad := *ct
	bad.Options = map[string]string{"format": "json"}
	if err := e.bs.Validate(&bad); err == nil || !strings.Contains(err.Error(), "'format'") {
		t.Fatalf("Validate with options: %v", err)
	}
	bad.Options = map[string]string{"connector": "builtin"}
	if err := e.bs.Validate(&bad); err != nil {
		t.Fatal(err)
	}
	// Sink operator.
	f, err := e.bs.NewSink(ct, connectors.SinkRequest{Mode: connectors.Upsert, JobID: "job-1"})
	if err != nil {
		t.Fatal(err)
	}
	op, err := f(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Process(batchOf(ins(1, "a"), ins(1, "b")), nil); err != nil {
		t.Fatal(err)
	}
	if err := op.(exec.Finisher).Finish(nil); err != nil {
		t.Fatal(err)
	}
	if err := op.(exec.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	if got := e.contents(t, ct); !reflect.DeepEqual(got, []row{ins(1, "b")}) {
		t.Fatalf("sink wrote %v", got)
	}
	if e.bs.Version(id) != 1 {
		t.Fatalf("one batch, version %d", e.bs.Version(id))
	}
	// A mismatched schema is refused.
	wrong := *ct
	wrong.Schema = wrong.Schema[:2]
	if _, err := e.bs.NewSink(&wrong, connectors.SinkRequest{}); err == nil {
		t.Fatal("schema mismatch accepted")
	}
	// Not built-in: refused.
	conn := &catalog.Table{Name: "ext", Columns: kvCols, Options: map[string]string{"connector": "datagen"}}
	if err := e.cat.CreateTable(conn, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.bs.NewSource(connTable(conn), connectors.SourceRequest{}); err == nil {
		t.Fatal("non-built-in table read")
	}
}

func TestClosedReaderReleasesWriter(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.bs.QueueLen = 1
	ct, id := e.createTable(t, "q", true)
	srcs, _ := e.openSources(t, ct, connectors.SourceRequest{Columns: allCols(ct), Continuous: true}, 1, 0)
	done := make(chan error)
	go func() {
		for i := 0; i < 5; i++ { // the reader never reads: the queue fills
			b := batchOf(ins(int64(i), "x"))
			if err := e.bs.Apply(id, ct.Schema.Types(), ct.PrimaryKey, b); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case <-done:
		t.Fatal("writer was not blocked by a full reader queue")
	case <-time.After(50 * time.Millisecond):
	}
	srcs[0].Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("closing the reader did not release the writer")
	}
	if len(e.bs.Readers(id)) != 0 {
		t.Fatal("closed reader still subscribed")
	}
}

func BenchmarkApply(b *testing.B) {
	for _, mode := range []string{"pk-insert", "pk-upsert", "append", "pk-insert-subscribed"} {
		b.Run(mode, func(b *testing.B) {
			e := newEnv(b, b.TempDir())
			ct, id := e.createTable(b, "bench", mode != "append")
			ts := ct.Schema.Types()
			if mode == "pk-insert-subscribed" {
				// A continuous reader drains the changes concurrently.
				srcs, spec := e.openSources(b, ct, connectors.SourceRequest{Columns: allCols(ct), Continuous: true}, 1, 0)
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() {
					defer close(done)
					rb := types.NewBatch(spec.Types)
					for {
						select {
						case <-stop:
							return
						default:
						}
						rb.Reset(spec.Types)
						if _, err := srcs[0].Next(rb); err != nil {
							b.Error(err)
							return
						}
					}
				}()
				defer func() { close(stop); <-done }()
			}
			batch := types.NewBatch(ts)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch.Reset(ts)
				for j := 0; j < 1024; j++ {
					k := int64(i*1024 + j)
					if mode == "pk-upsert" {
						k = int64(j)
					}
					batch.AppendRow(types.Insert, []types.Datum{types.IntDatum(k), types.StringDatum("some-value-" + fmt.Sprint(i)), types.DoubleDatum(float64(j))})
				}
				if err := e.bs.Apply(id, ts, ct.PrimaryKey, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*1024)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
