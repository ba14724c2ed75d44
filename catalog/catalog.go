package catalog

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/sluicesql/sluice/state"
)

// Key kinds under state.NSCatalog (see doc.go).
const (
	kindTable   = 't'
	kindView    = 'v'
	kindJob     = 'j'
	kindSeq     = 's'
	kindGarbage = 'g'
)

var (
	seqObjects = []byte{state.NSCatalog, kindSeq, 'o'}
	seqJobs    = []byte{state.NSCatalog, kindSeq, 'j'}
)

func nameKey(kind byte, name string) []byte {
	return append([]byte{state.NSCatalog, kind}, strings.ToLower(name)...)
}

func jobKey(n uint64) []byte { return state.AppendUint64([]byte{state.NSCatalog, kindJob}, n) }

func garbageKey(id uint64) []byte {
	return state.AppendUint64([]byte{state.NSCatalog, kindGarbage}, id)
}

// Catalog holds tables, views and jobs, persisted in a state.Store and
// cached in memory. It is safe for concurrent use; every mutation is one
// Badger transaction committed before the in-memory copy changes, so a
// failed call leaves no trace. Objects returned are copies: changing them
// changes nothing until passed back to a Create or Update call.
type Catalog struct {
	st *state.Store
	db *badger.DB

	mu      sync.RWMutex
	tables  map[string]*Table // by lower-cased name
	views   map[string]*View
	jobs    map[string]*Job // by ID
	ids     map[uint64]bool // ids of live tables and views
	nextID  uint64          // next table/view id
	nextJob uint64          // next job number
	hooks   []func(id uint64)
}

// Open loads the catalog from st and finishes deleting the rows of tables
// dropped before a crash.
func Open(st *state.Store) (*Catalog, error) {
	c := &Catalog{
		st: st, db: st.DB(),
		tables: map[string]*Table{}, views: map[string]*View{}, jobs: map[string]*Job{},
		ids: map[uint64]bool{}, nextID: 1, nextJob: 1,
	}
	var garbage []uint64
	err := c.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte{state.NSCatalog}
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := item.Key()
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if len(k) < 2 {
				return fmt.Errorf("catalog: unexpected key %x", k)
			}
			switch k[1] {
			case kindTable:
				var t Table
				if err := json.Unmarshal(v, &t); err != nil {
					return fmt.Errorf("catalog: table %q: %w", k[2:], err)
				}
				c.tables[strings.ToLower(t.Name)] = &t
				c.ids[t.ID] = true
			case kindView:
				var vw View
				if err := json.Unmarshal(v, &vw); err != nil {
					return fmt.Errorf("catalog: view %q: %w", k[2:], err)
				}
				c.views[strings.ToLower(vw.Name)] = &vw
				c.ids[vw.ID] = true
			case kindJob:
				var j Job
				if err := json.Unmarshal(v, &j); err != nil {
					return fmt.Errorf("catalog: job %x: %w", k[2:], err)
				}
				c.jobs[j.ID] = &j
			case kindSeq:
				n, err := strconv.ParseUint(string(v), 10, 64)
				if err != nil {
					return fmt.Errorf("catalog: sequence %q: %w", k[2:], err)
				}
				switch string(k[2:]) {
				case "o":
					c.nextID = n
				case "j":
					c.nextJob = n
				}
			case kindGarbage:
				if len(k) == 10 {
					garbage = append(garbage, binary.BigEndian.Uint64(k[2:]))
				}
			default:
				return fmt.Errorf("catalog: unexpected key %x", k)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("catalog: load: %w", err)
	}
	for _, id := range garbage {
		if err := c.purge(id); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// OnDrop registers fn to be called with the id of every table or view
// dropped from now on, after the drop has committed and before its stored
// rows are deleted, without catalog locks held. The built-in table store
// uses it to stop writers and readers of the table.
func (c *Catalog) OnDrop(fn func(id uint64)) {
	c.mu.Lock()
	c.hooks = append(c.hooks, fn)
	c.mu.Unlock()
}

// purge deletes the stored rows of a dropped table or view, then its
// garbage marker. It runs after the drop committed, and again at Open if a
// crash interrupted it; ids are never reused, so leftover rows are never
// visible in between.
func (c *Catalog) purge(id uint64) error {
	if _, err := c.st.DeletePrefix(state.BuiltinTablePrefix(id)); err != nil {
		return fmt.Errorf("catalog: delete rows of dropped object %d: %w", id, err)
	}
	if err := c.db.Update(func(txn *badger.Txn) error { return txn.Delete(garbageKey(id)) }); err != nil {
		return fmt.Errorf("catalog: delete rows of dropped object %d: %w", id, err)
	}
	return nil
}

// nameTaken returns the ErrExists error for name if a table or view has it
// (c.mu held). want is the kind being created, for the message.
func (c *Catalog) nameTaken(name string, want byte) error {
	l := strings.ToLower(name)
	if _, ok := c.tables[l]; ok {
		if want == kindTable {
			return fmt.Errorf("table '%s' %w", name, ErrExists)
		}
		return fmt.Errorf("a table named '%s' %w", name, ErrExists)
	}
	if _, ok := c.views[l]; ok {
		if want == kindView {
			return fmt.Errorf("view '%s' %w", name, ErrExists)
		}
		return fmt.Errorf("a view named '%s' %w", name, ErrExists)
	}
	return nil
}

func checkColumns(what, name string, cols []Column, pk []string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%s name is empty", what)
	}
	if len(cols) == 0 {
		return fmt.Errorf("%s '%s' has no columns", what, name)
	}
	seen := map[string]bool{}
	for _, col := range cols {
		l := strings.ToLower(col.Name)
		if l == "" {
			return fmt.Errorf("%s '%s' has a column without a name", what, name)
		}
		if seen[l] {
			return fmt.Errorf("%s '%s': duplicate column name '%s'", what, name, col.Name)
		}
		seen[l] = true
	}
	inPK := map[string]bool{}
	for _, k := range pk {
		if columnIndex(cols, k) < 0 {
			return fmt.Errorf("%s '%s': primary key column '%s' does not exist", what, name, k)
		}
		if inPK[strings.ToLower(k)] {
			return fmt.Errorf("%s '%s': column '%s' appears twice in the primary key", what, name, k)
		}
		inPK[strings.ToLower(k)] = true
	}
	return nil
}

// putSeq writes a sequence's next value in txn.
func putSeq(txn *badger.Txn, key []byte, next uint64) error {
	return txn.Set(key, []byte(strconv.FormatUint(next, 10)))
}

// CreateTable stores t, assigning t.ID and t.Created. Names are
// case-insensitive and unique across tables and views: a taken name fails
// with "table 'x' already exists" or "a view named 'x' already exists"
// (wrapping ErrExists), unless ifNotExists is set and a table has the name,
// in which case nothing happens and t is left unchanged.
func (c *Catalog) CreateTable(t *Table, ifNotExists bool) error {
	if err := checkColumns("table", t.Name, t.Columns, t.PrimaryKey); err != nil {
		return err
	}
	if t.Watermark != nil && columnIndex(t.Columns, t.Watermark.Column) < 0 {
		return fmt.Errorf("table '%s': watermark column '%s' does not exist", t.Name, t.Watermark.Column)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.nameTaken(t.Name, kindTable); err != nil {
		if ifNotExists && c.tables[strings.ToLower(t.Name)] != nil {
			return nil
		}
		return err
	}
	nt := t.Clone()
	nt.ID = c.nextID
	nt.Created = time.Now().UTC()
	val, err := json.Marshal(nt)
	if err != nil {
		return fmt.Errorf("catalog: encode table '%s': %w", t.Name, err)
	}
	err = c.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(nameKey(kindTable, nt.Name), val); err != nil {
			return err
		}
		return putSeq(txn, seqObjects, nt.ID+1)
	})
	if err != nil {
		return fmt.Errorf("catalog: create table '%s': %w", t.Name, err)
	}
	c.nextID++
	c.tables[strings.ToLower(nt.Name)] = nt
	c.ids[nt.ID] = true
	t.ID, t.Created = nt.ID, nt.Created
	return nil
}

// Table returns a copy of the table named name, or an error wrapping
// ErrNotFound: "table 'x' does not exist".
func (c *Catalog) Table(name string) (*Table, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if t := c.tables[strings.ToLower(name)]; t != nil {
		return t.Clone(), nil
	}
	return nil, fmt.Errorf("table '%s' %w", name, ErrNotFound)
}

// Tables returns copies of all tables sorted by name.
func (c *Catalog) Tables() []*Table {
	c.mu.RLock()
	out := make([]*Table, 0, len(c.tables))
	for _, t := range c.tables {
		out = append(out, t.Clone())
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// DropTable removes the table named name; with ifExists a missing table is
// not an error. For a built-in table the same transaction records its id as
// garbage; after commit the OnDrop hooks run and the rows are deleted in
// bounded batches (state.Store.DeletePrefix), then the record is removed.
// A crash in between is finished by the next Open. The table is gone as
// soon as the transaction commits; an error from the row deletion is
// reported but the drop stands.
func (c *Catalog) DropTable(name string, ifExists bool) error {
	c.mu.Lock()
	l := strings.ToLower(name)
	t := c.tables[l]
	if t == nil {
		c.mu.Unlock()
		if ifExists {
			return nil
		}
		return fmt.Errorf("table '%s' %w", name, ErrNotFound)
	}
	builtin := t.IsBuiltin()
	err := c.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(nameKey(kindTable, t.Name)); err != nil {
			return err
		}
		if builtin {
			return txn.Set(garbageKey(t.ID), nil)
		}
		return nil
	})
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("catalog: drop table '%s': %w", name, err)
	}
	delete(c.tables, l)
	delete(c.ids, t.ID)
	hooks := append([]func(uint64){}, c.hooks...)
	c.mu.Unlock()
	return c.afterDrop(t.ID, builtin, hooks)
}

func (c *Catalog) afterDrop(id uint64, purge bool, hooks []func(uint64)) error {
	for _, h := range hooks {
		h(id)
	}
	if purge {
		return c.purge(id)
	}
	return nil
}

// CreateView stores v, assigning v.ID and v.Created, with the same naming
// rules as CreateTable ("view 'x' already exists", "a table named 'x'
// already exists").
func (c *Catalog) CreateView(v *View, ifNotExists bool) error {
	if err := checkColumns("view", v.Name, v.Columns, v.PrimaryKey); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.nameTaken(v.Name, kindView); err != nil {
		if ifNotExists && c.views[strings.ToLower(v.Name)] != nil {
			return nil
		}
		return err
	}
	nv := v.Clone()
	nv.ID = c.nextID
	nv.Created = time.Now().UTC()
	val, err := json.Marshal(nv)
	if err != nil {
		return fmt.Errorf("catalog: encode view '%s': %w", v.Name, err)
	}
	err = c.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(nameKey(kindView, nv.Name), val); err != nil {
			return err
		}
		return putSeq(txn, seqObjects, nv.ID+1)
	})
	if err != nil {
		return fmt.Errorf("catalog: create view '%s': %w", v.Name, err)
	}
	c.nextID++
	c.views[strings.ToLower(nv.Name)] = nv
	c.ids[nv.ID] = true
	v.ID, v.Created = nv.ID, nv.Created
	return nil
}

// UpdateView replaces the stored view named name by fn's changes to a copy
// (e.g. to set JobID once the view's job exists). Name and ID cannot change.
func (c *Catalog) UpdateView(name string, fn func(*View) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.views[strings.ToLower(name)]
	if old == nil {
		return fmt.Errorf("view '%s' %w", name, ErrNotFound)
	}
	nv := old.Clone()
	if err := fn(nv); err != nil {
		return err
	}
	nv.Name, nv.ID = old.Name, old.ID
	val, err := json.Marshal(nv)
	if err != nil {
		return fmt.Errorf("catalog: encode view '%s': %w", name, err)
	}
	if err := c.db.Update(func(txn *badger.Txn) error { return txn.Set(nameKey(kindView, nv.Name), val) }); err != nil {
		return fmt.Errorf("catalog: update view '%s': %w", name, err)
	}
	c.views[strings.ToLower(nv.Name)] = nv
	return nil
}

// View returns a copy of the view named name, or an error wrapping
// ErrNotFound: "view 'x' does not exist".
func (c *Catalog) View(name string) (*View, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if v := c.views[strings.ToLower(name)]; v != nil {
		return v.Clone(), nil
	}
	return nil, fmt.Errorf("view '%s' %w", name, ErrNotFound)
}

// Views returns copies of all views sorted by name.
func (c *Catalog) Views() []*View {
	c.mu.RLock()
	out := make([]*View, 0, len(c.views))
	for _, v := range c.views {
		out = append(out, v.Clone())
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// DropView removes the view named name (ifExists: a missing view is not an
// error). A materialized view's stored rows are deleted as for DropTable.
func (c *Catalog) DropView(name string, ifExists bool) error {
	c.mu.Lock()
	l := strings.ToLower(name)
	v := c.views[l]
	if v == nil {
		c.mu.Unlock()
		if ifExists {
			return nil
		}
		return fmt.Errorf("view '%s' %w", name, ErrNotFound)
	}
	err := c.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(nameKey(kindView, v.Name)); err != nil {
			return err
		}
		if v.Materialized {
			return txn.Set(garbageKey(v.ID), nil)
		}
		return nil
	})
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("catalog: drop view '%s': %w", name, err)
	}
	delete(c.views, l)
	delete(c.ids, v.ID)
	hooks := append([]func(uint64){}, c.hooks...)
	c.mu.Unlock()
	return c.afterDrop(v.ID, v.Materialized, hooks)
}

// Lookup returns a copy of the table or the view named name (exactly one is
// non-nil), or an error wrapping ErrNotFound:
// "table or view 'x' does not exist".
func (c *Catalog) Lookup(name string) (*Table, *View, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	l := strings.ToLower(name)
	if t := c.tables[l]; t != nil {
		return t.Clone(), nil, nil
	}
	if v := c.views[l]; v != nil {
		return nil, v.Clone(), nil
	}
	return nil, nil, fmt.Errorf("table or view '%s' %w", name, ErrNotFound)
}

// Live reports whether id belongs to an existing table or view.
func (c *Catalog) Live(id uint64) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ids[id]
}

// CreateJob stores j, assigning j.ID ("job-N", numbered from 1, never
// reused), j.Created and j.Updated; an empty Status becomes CREATED.
func (c *Catalog) CreateJob(j *Job) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	nj := j.Clone()
	n := c.nextJob
	nj.ID = "job-" + strconv.FormatUint(n, 10)
	nj.Created = time.Now().UTC()
	nj.Updated = nj.Created
	if nj.Status == "" {
		nj.Status = JobCreated
	}
	val, err := json.Marshal(nj)
	if err != nil {
		return fmt.Errorf("catalog: encode job: %w", err)
	}
	err = c.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(jobKey(n), val); err != nil {
			return err
		}
		return putSeq(txn, seqJobs, n+1)
	})
	if err != nil {
		return fmt.Errorf("catalog: create job: %w", err)
	}
	c.nextJob++
	c.jobs[nj.ID] = nj
	j.ID, j.Created, j.Updated, j.Status = nj.ID, nj.Created, nj.Updated, nj.Status
	return nil
}

func jobNumber(id string) (uint64, bool) {
	s, ok := strings.CutPrefix(id, "job-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// UpdateJob applies fn to a copy of job id and stores the result (Updated
// set to now) in one transaction. If fn returns an error nothing changes
// and that error is returned. fn cannot change ID or Created.
func (c *Catalog) UpdateJob(id string, fn func(*Job) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.jobs[id]
	n, ok := jobNumber(id)
	if old == nil || !ok {
		return fmt.Errorf("job '%s' %w", id, ErrNotFound)
	}
	nj := old.Clone()
	if err := fn(nj); err != nil {
		return err
	}
	nj.ID, nj.Created = old.ID, old.Created
	nj.Updated = time.Now().UTC()
	val, err := json.Marshal(nj)
	if err != nil {
		return fmt.Errorf("catalog: encode job '%s': %w", id, err)
	}
	if err := c.db.Update(func(txn *badger.Txn) error { return txn.Set(jobKey(n), val) }); err != nil {
		return fmt.Errorf("catalog: update job '%s': %w", id, err)
	}
	c.jobs[id] = nj
	return nil
}

// Job returns a copy of job id, or an error wrapping ErrNotFound:
// "job 'x' does not exist".
func (c *Catalog) Job(id string) (*Job, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if j := c.jobs[id]; j != nil {
		return j.Clone(), nil
	}
	return nil, fmt.Errorf("job '%s' %w", id, ErrNotFound)
}

// Jobs returns copies of all jobs in creation order.
func (c *Catalog) Jobs() []*Job {
	c.mu.RLock()
	out := make([]*Job, 0, len(c.jobs))
	for _, j := range c.jobs {
		out = append(out, j.Clone())
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		a, _ := jobNumber(out[i].ID)
		b, _ := jobNumber(out[j].ID)
		return a < b
	})
	return out
}

// IsNotFound reports whether err wraps ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
