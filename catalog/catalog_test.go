package catalog

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

func openDisk(t *testing.T, dir string) (*state.Store, *Catalog) {
	t.Helper()
	st, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(st)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return st, c
}

func sampleTable(name string) *Table {
	return &Table{
		Name: name,
		Columns: []Column{
			{Name: "id", Type: types.Type{Kind: types.KindBigInt, NotNull: true}},
			{Name: "price", Type: types.Decimal(10, 2)},
			{Name: "name", Type: types.Varchar(64)},
			{Name: "ts", Type: types.Type{Kind: types.KindTimestamp, Precision: 3}},
			{Name: "part", Type: types.Int, Metadata: "partition", Virtual: true},
			{Name: "total", Type: types.Decimal(12, 2), ComputedSQL: "price * 2"},
		},
		PrimaryKey: []string{"id"},
		Watermark:  &Watermark{Column: "ts", ExprSQL: "ts - INTERVAL '5' SECOND"},
		SQL:        "CREATE TABLE " + name + " (...)",
	}
}

func TestTablesAndViewsShareNames(t *testing.T) {
	st, c := openDisk(t, t.TempDir())
	defer st.Close()
	if err := c.CreateTable(sampleTable("Orders"), false); err != nil {
		t.Fatal(err)
	}
	err := c.CreateTable(sampleTable("ORDERS"), false)
	if !errors.Is(err, ErrExists) || err.Error() != "table 'ORDERS' already exists" {
		t.Fatalf("duplicate table: %v", err)
	}
	if err := c.CreateTable(sampleTable("orders"), true); err != nil {
		t.Fatalf("IF NOT EXISTS: %v", err)
	}
	v := &View{Name: "orders", Columns: []Column{{Name: "n", Type: types.BigInt}}, QuerySQL: "SELECT 1"}
	if err := c.CreateView(v, true); !errors.Is(err, ErrExists) || err.Error() != "a table named 'orders' already exists" {
		t.Fatalf("view over table name: %v", err)
	}
	v.Name = "v1"
	if err := c.CreateView(v, false); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTable(sampleTable("V1"), true); !errors.Is(err, ErrExists) || err.Error() != "a view named 'V1' already exists" {
		t.Fatalf("table over view name: %v", err)
	}
	if err := c.CreateView(&View{Name: "V1", Columns: v.Columns}, false); err == nil || err.Error() != "view 'V1' already exists" {
		t.Fatalf("duplicate view: %v", err)
	}
	if _, err := c.Table("nope"); !errors.Is(err, ErrNotFound) || err.Error() != "table 'nope' does not exist" {
		t.Fatalf("missing table: %v", err)
	}
	if _, err := c.View("orders"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("table as view: %v", err)
	}
	tb, vw, err := c.Lookup("ORDERS")
	if err != nil || tb == nil || vw != nil {
		t.Fatalf("Lookup table: %v %v %v", tb, vw, err)
	}
	tb, vw, err = c.Lookup("v1")
	if err != nil || tb != nil || vw == nil {
		t.Fatalf("Lookup view: %v %v %v", tb, vw, err)
	}
	if _, _, err := c.Lookup("x"); !IsNotFound(err) || err.Error() != "table or view 'x' does not exist" {
		t.Fatalf("Lookup missing: %v", err)
	}
	if err := c.DropTable("v1", false); !IsNotFound(err) {
		t.Fatalf("DROP TABLE of a view: %v", err)
	}
	if err := c.DropView("missing", true); err != nil {
		t.Fatal(err)
	}
	if err := c.DropView("V1", false); err != nil {
		t.Fatal(err)
	}
	if err := c.DropTable("orders", false); err != nil {
		t.Fatal(err)
	}
	if err := c.DropTable("orders", false); !IsNotFound(err) {
		t.Fatalf("second drop: %v", err)
	}
	if err := c.DropTable("orders", true); err != nil {
		t.Fatal(err)
	}
}

func TestValidation(t *testing.T) {
	st, c := openDisk(t, t.TempDir())
	defer st.Close()
	bad := []*Table{
		{Name: "", Columns: []Column{{Name: "a", Type: types.Int}}},
		{Name: "t"},
		{Name: "t", Columns: []Column{{Name: "a", Type: types.Int}, {Name: "A", Type: types.Int}}},
		{Name: "t", Columns: []Column{{Name: "a", Type: types.Int}}, PrimaryKey: []string{"b"}},
		{Name: "t", Columns: []Column{{Name: "a", Type: types.Int}}, PrimaryKey: []string{"a", "A"}},
		{Name: "t", Columns: []Column{{Name: "a", Type: types.Int}}, Watermark: &Watermark{Column: "b"}},
	}
	for i, tb := range bad {
		if err := c.CreateTable(tb, false); err == nil {
			t.Errorf("bad table %d accepted", i)
		}
	}
	if len(c.Tables()) != 0 {
		t.Fatal("a rejected table was stored")
	}
}

func TestPersistedAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	st, c := openDisk(t, dir)
	want := sampleTable("t1")
	want.Options = map[string]string{"connector": "datagen", "rows-per-second": "5"}
	if err := c.CreateTable(want, false); err != nil {
		t.Fatal(err)
	}
	if want.ID == 0 || want.Created.IsZero() {
		t.Fatalf("id/created not assigned: %+v", want)
	}
	if err := c.CreateTable(sampleTable("t2"), false); err != nil {
		t.Fatal(err)
	}
	v := &View{Name: "mv", Columns: []Column{{Name: "n", Type: types.BigInt}}, QuerySQL: "SELECT count(*) FROM t1",
		SQL: "CREATE MATERIALIZED VIEW mv AS SELECT count(*) FROM t1", Materialized: true, PrimaryKey: []string{"n"}}
	if err := c.CreateView(v, false); err != nil {
		t.Fatal(err)
	}
	j := &Job{Name: "insert", SQL: "INSERT INTO t2 SELECT * FROM t1", Sinks: []string{"t2"}, Config: map[string]string{"parallelism.default": "4"}}
	if err := c.CreateJob(j); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateView("MV", func(v *View) error { v.JobID = j.ID; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateJob(j.ID, func(j *Job) error { j.Status = JobRunning; j.Restarts = 2; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.DropTable("t2", false); err != nil { // its id must not come back
		t.Fatal(err)
	}
	st.Close()

	st, c = openDisk(t, dir)
	defer st.Close()
	got, err := c.Table("T1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Created.Equal(want.Created) {
		t.Fatalf("created %v want %v", got.Created, want.Created)
	}
	got.Created = want.Created
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("table after reopen:\n got %+v\nwant %+v", got, want)
	}
	if got.Columns[1].Type != types.Decimal(10, 2) || got.Columns[3].Type.Precision != 3 || !got.Columns[0].Type.NotNull {
		t.Fatalf("types not preserved: %+v", got.Columns)
	}
	if len(c.Tables()) != 1 {
		t.Fatalf("tables %v", c.Tables())
	}
	gv, err := c.View("mv")
	if err != nil || gv.JobID != "job-1" || !gv.Materialized || gv.ID != v.ID {
		t.Fatalf("view %+v %v", gv, err)
	}
	gj, err := c.Job("job-1")
	if err != nil || gj.Status != JobRunning || gj.Restarts != 2 || gj.Config["parallelism.default"] != "4" || !gj.Updated.After(gj.Created) && !gj.Updated.Equal(gj.Created) {
		t.Fatalf("job %+v %v", gj, err)
	}
	// Sequences continue: new ids are above every id ever handed out.
	t3 := sampleTable("t2")
	if err := c.CreateTable(t3, false); err != nil {
		t.Fatal(err)
	}
	if t3.ID <= v.ID {
		t.Fatalf("id %d reused (view had %d)", t3.ID, v.ID)
	}
	j2 := &Job{Name: "second"}
	if err := c.CreateJob(j2); err != nil || j2.ID != "job-2" || j2.Status != JobCreated {
		t.Fatalf("second job %+v %v", j2, err)
	}
}

func TestFailedMutationLeavesNoTrace(t *testing.T) {
	dir := t.TempDir()
	st, c := openDisk(t, dir)
	if err := c.CreateTable(sampleTable("keep"), false); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateJob(&Job{Name: "j"}); err != nil {
		t.Fatal(err)
	}
	// Make every Badger write fail from now on.
	if err := st.DB().Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateTable(sampleTable("lost"), false); err == nil {
		t.Fatal("create on a closed store succeeded")
	}
	if err := c.CreateView(&View{Name: "lostv", Columns: []Column{{Name: "a", Type: types.Int}}}, false); err == nil {
		t.Fatal("create view on a closed store succeeded")
	}
	if err := c.CreateJob(&Job{Name: "lost"}); err == nil {
		t.Fatal("create job on a closed store succeeded")
	}
	if err := c.UpdateJob("job-1", func(j *Job) error { j.Status = JobFailed; return nil }); err == nil {
		t.Fatal("update job on a closed store succeeded")
	}
	if err := c.DropTable("keep", false); err == nil {
		t.Fatal("drop on a closed store succeeded")
	}
	if _, err := c.Table("lost"); !IsNotFound(err) {
		t.Fatalf("failed create visible in memory: %v", err)
	}
	if _, err := c.Table("keep"); err != nil {
		t.Fatalf("failed drop removed the table from memory: %v", err)
	}
	if j, _ := c.Job("job-1"); j.Status != JobCreated {
		t.Fatalf("failed update visible: %v", j.Status)
	}
	if len(c.Jobs()) != 1 {
		t.Fatalf("failed job create visible: %d jobs", len(c.Jobs()))
	}
	// A failing fn changes nothing either.
	boom := errors.New("boom")
	if err := c.UpdateJob("job-1", func(j *Job) error { j.Status = JobFailed; return boom }); !errors.Is(err, boom) {
		t.Fatalf("fn error: %v", err)
	}
	if j, _ := c.Job("job-1"); j.Status != JobCreated {
		t.Fatal("update with failing fn visible")
	}

	// The state DB (operator state) is still open: close it so the
	// directory can be opened again.
	if err := st.StateDB().Close(); err != nil {
		t.Fatal(err)
	}
	st2, c2 := openDisk(t, dir)
	defer st2.Close()
	if len(c2.Tables()) != 1 || len(c2.Views()) != 0 || len(c2.Jobs()) != 1 {
		t.Fatalf("after reopen: %d tables %d views %d jobs", len(c2.Tables()), len(c2.Views()), len(c2.Jobs()))
	}
	nt := sampleTable("next")
	if err := c2.CreateTable(nt, false); err != nil || nt.ID != 2 {
		t.Fatalf("next id %d %v", nt.ID, err)
	}
}

func TestReturnedObjectsAreCopies(t *testing.T) {
	st, c := openDisk(t, t.TempDir())
	defer st.Close()
	tb := sampleTable("t")
	tb.Options = map[string]string{"connector": "print"}
	if err := c.CreateTable(tb, false); err != nil {
		t.Fatal(err)
	}
	tb.Columns[0].Name = "changed"
	tb.Options["x"] = "y"
	got, _ := c.Table("t")
	got.PrimaryKey[0] = "zzz"
	got.Watermark.Column = "zzz"
	again, _ := c.Table("t")
	if again.Columns[0].Name != "id" || again.Options["x"] != "" || again.PrimaryKey[0] != "id" || again.Watermark.Column != "ts" {
		t.Fatalf("catalog state aliased: %+v", again)
	}
}

func TestJobsOrderAndUpdate(t *testing.T) {
	st, c := openDisk(t, t.TempDir())
	defer st.Close()
	for i := 0; i < 12; i++ {
		if err := c.CreateJob(&Job{Name: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	jobs := c.Jobs()
	for i, j := range jobs {
		if j.ID != fmt.Sprintf("job-%d", i+1) {
			t.Fatalf("job %d is %s", i, j.ID)
		}
	}
	err := c.UpdateJob("job-3", func(j *Job) error { j.ID = "hijack"; j.Status = JobFinished; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if j, err := c.Job("job-3"); err != nil || j.Status != JobFinished {
		t.Fatalf("%+v %v", j, err)
	}
	if _, err := c.Job("hijack"); !IsNotFound(err) {
		t.Fatal("UpdateJob changed the id")
	}
	if err := c.UpdateJob("job-99", func(*Job) error { return nil }); !IsNotFound(err) || err.Error() != "job 'job-99' does not exist" {
		t.Fatalf("missing job: %v", err)
	}
	if !JobFailed.Terminal() || JobRunning.Terminal() {
		t.Fatal("Terminal")
	}
}

func TestConcurrentCreates(t *testing.T) {
	st, c := openDisk(t, t.TempDir())
	defer st.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := map[string]int{}
	ids := map[uint64]bool{}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				name := fmt.Sprintf("t%d", i) // every goroutine races for the same names
				tb := sampleTable(name)
				err := c.CreateTable(tb, false)
				if err != nil && !errors.Is(err, ErrExists) {
					t.Error(err)
				}
				if err == nil {
					mu.Lock()
					wins[name]++
					if ids[tb.ID] {
						t.Errorf("id %d handed out twice", tb.ID)
					}
					ids[tb.ID] = true
					mu.Unlock()
				}
				_ = c.CreateJob(&Job{Name: name})
				_ = c.Tables()
			}
		}(g)
	}
	wg.Wait()
	for i := 0; i < 25; i++ {
		if n := wins[fmt.Sprintf("t%d", i)]; n != 1 {
			t.Fatalf("t%d created %d times", i, n)
		}
	}
	if len(c.Jobs()) != 200 {
		t.Fatalf("%d jobs", len(c.Jobs()))
	}
}

func TestDropBuiltinDeletesRowsAndResumesAfterCrash(t *testing.T) {
	dir := t.TempDir()
	st, c := openDisk(t, dir)
	tb := sampleTable("b")
	if err := c.CreateTable(tb, false); err != nil {
		t.Fatal(err)
	}
	other := sampleTable("other")
	if err := c.CreateTable(other, false); err != nil {
		t.Fatal(err)
	}
	put := func(id uint64, n int) {
		wb := st.DB().NewWriteBatch()
		for i := 0; i < n; i++ {
			if err := wb.Set(state.AppendUint64(state.BuiltinTablePrefix(id), uint64(i)), []byte("row")); err != nil {
				t.Fatal(err)
			}
		}
		if err := wb.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	put(tb.ID, 5000)
	put(other.ID, 10)
	var hooked []uint64
	c.OnDrop(func(id uint64) {
		hooked = append(hooked, id)
		if c.Live(id) {
			t.Error("hook ran before the drop was visible")
		}
	})
	if !c.Live(tb.ID) {
		t.Fatal("Live")
	}
	if err := c.DropTable("b", false); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(hooked, []uint64{tb.ID}) {
		t.Fatalf("hooks %v", hooked)
	}
	if n := count(t, st, state.BuiltinTablePrefix(tb.ID)); n != 0 {
		t.Fatalf("%d rows left", n)
	}
	if n := count(t, st, state.BuiltinTablePrefix(other.ID)); n != 10 {
		t.Fatalf("other table lost rows: %d", n)
	}
	// Simulate a crash between the drop commit and the row deletion.
	put(77, 100)
	if err := st.DB().Update(func(txn *badger.Txn) error { return txn.Set(garbageKey(77), nil) }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, _ = openDisk(t, dir)
	defer st.Close()
	if n := count(t, st, state.BuiltinTablePrefix(77)); n != 0 {
		t.Fatalf("%d rows of a dropped table survived reopen", n)
	}
	if n := count(t, st, []byte{state.NSCatalog, kindGarbage}); n != 0 {
		t.Fatalf("%d garbage records left", n)
	}
}

func count(t *testing.T, st *state.Store, prefix []byte) int {
	n := 0
	err := st.DB().View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.Prefix = prefix
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
