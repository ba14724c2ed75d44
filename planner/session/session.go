package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluicesql/sluice/catalog"
	"github.com/sluicesql/sluice/checkpoint"
	"github.com/sluicesql/sluice/checkpoint/runner"
	"github.com/sluicesql/sluice/connectors"
	_ "github.com/sluicesql/sluice/connectors/all" // link every connector
	"github.com/sluicesql/sluice/connectors/builtin"
	"github.com/sluicesql/sluice/parser"
	"github.com/sluicesql/sluice/planner"
	"github.com/sluicesql/sluice/state"
)

// Session executes statements against one state directory.
//
// Contract: Execute, WaitJobs and Close may be called from different
// goroutines, but statements of one Session run one at a time.
type Session struct {
	cfg      Config
	store    *state.Store
	cat      *catalog.Catalog
	tables   *builtin.Store
	settings map[string]string

	// execMu serialises statements.
	execMu sync.Mutex

	mu   sync.Mutex
	jobs map[string]*runningJob
	// failures are the failures of jobs that ended since WaitJobs last
	// reported them.
	failures []error
	closed   bool
	// bg is the parent context of jobs; cancelled by Close.
	bg     context.Context
	cancel context.CancelFunc

	// ckptDir is the default state.checkpoints.dir, savepointDir the
	// default state.savepoints.dir; tmpDir (in-memory sessions) holds both
	// and is removed by Close.
	ckptDir, savepointDir, tmpDir string
}

// runningJob is a job running in this process.
type runningJob struct {
	id      string
	run     *runner.Runner
	bounded bool
	done    chan struct{}
	err     error
	// tables are the tables the job reads and writes; reads the ones it
	// scans.
	tables []string
	reads  []string
}

// Open opens (creating if needed) the state directory and its catalog.
func Open(cfg Config) (*Session, error) {
	if cfg.StateDir == "" {
		cfg.StateDir = "./sluice-data"
	}
	if cfg.Parallelism <= 0 {
		cfg.Parallelism = runtime.NumCPU()
	}
	st, err := state.Open(cfg.StateDir, state.Options{InMemory: cfg.InMemory})
	if err != nil {
		return nil, fmt.Errorf("open state dir %s: %w", cfg.StateDir, err)
	}
	cat, err := catalog.Open(st)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	s := &Session{
		cfg:      cfg,
		store:    st,
		cat:      cat,
		tables:   builtin.NewStore(st, cat),
		settings: map[string]string{},
		jobs:     map[string]*runningJob{},
	}
	s.bg, s.cancel = context.WithCancel(context.Background())
	base := cfg.StateDir
	if cfg.InMemory {
		dir, err := os.MkdirTemp("", "sluice-mem-")
		if err != nil {
			st.Close()
			return nil, err
		}
		s.tmpDir, base = dir, dir
	}
	s.ckptDir = filepath.Join(base, "checkpoints")
	s.savepointDir = filepath.Join(base, "savepoints")
	for k, v := range cfg.Settings {
		if err := validateSetting(k, v); err != nil {
			st.Close()
			return nil, fmt.Errorf("setting '%s': %w", k, err)
		}
		s.settings[k] = v
	}
	return s, nil
}

// Close stops the jobs running in this process and closes the state
// directory. It is idempotent.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	jobs := make([]*runningJob, 0, len(s.jobs))
	for _, j := range s.jobs {
		jobs = append(jobs, j)
	}
	s.mu.Unlock()
	s.cancel()
	for _, j := range jobs {
		<-j.done
	}
	err := s.store.Close()
	if s.tmpDir != "" {
		_ = os.RemoveAll(s.tmpDir)
	}
	return err
}

// Execute parses script and runs its statements in order, calling each
// once per statement with its result. For a ResultRows the callback must
// read r.Rows until it ends, or Close it, before returning; Execute closes
// it afterwards in any case. Execution stops at the first error, which is
// returned (SQL errors are *parser.Error).
func (s *Session) Execute(ctx context.Context, script string, each func(r *Result) error) error {
	stmts, err := parser.Parse(script)
	if err != nil {
		return err
	}
	for _, st := range stmts {
		r, err := s.execOne(ctx, st)
		if err != nil {
			return err
		}
		if each != nil {
			err = each(r)
		}
		if r.Rows != nil {
			if cerr := r.Rows.Close(); err == nil && cerr != nil && !errors.Is(cerr, context.Canceled) {
				err = cerr
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Session) execOne(ctx context.Context, st parser.Statement) (*Result, error) {
	s.execMu.Lock()
	defer s.execMu.Unlock()
	start := time.Now()
	r, err := s.dispatch(ctx, st)
	if err != nil {
		var pe *parser.Error
		if !errors.As(err, &pe) {
			// Give every error a position: the statement's start.
			err = st.StatementSpan().ErrorAt(0, err.Error())
		}
		return nil, err
	}
	r.Elapsed = time.Since(start)
	return r, nil
}

func (s *Session) dispatch(ctx context.Context, st parser.Statement) (*Result, error) {
	switch x := st.(type) {
	case *parser.Query:
		return s.query(ctx, x)
	case *parser.Insert:
		return s.insert(x)
	case *parser.StatementSet:
		return s.statementSet(x)
	case *parser.CreateTable:
		return s.createTable(x)
	case *parser.CreateView:
		return s.createView(x)
	case *parser.Drop:
		return s.drop(x)
	case *parser.Set:
		return s.set(x)
	case *parser.Reset:
		return s.reset(x)
	case *parser.Show:
		return s.show(x)
	case *parser.Describe:
		return s.describe(x)
	case *parser.Explain:
		return s.explain(x)
	case *parser.Flush:
		return s.flush(ctx)
	case *parser.StopJob:
		return s.stopJob(ctx, x)
	case *parser.Delete:
		return s.deleteRows(ctx, x)
	case *parser.Update:
		return s.updateRows(ctx, x)
	}
	return nil, st.StatementSpan().ErrorAt(0, fmt.Sprintf("statement %T is not supported yet", st))
}

// planner returns a planner over the catalog with the session's settings.
func (s *Session) planner() *planner.Planner {
	p := &planner.Planner{Catalog: &catalogAdapter{s: s}, Parallelism: s.parallelism()}
	if v, ok := s.settings["table.exec.state.ttl"]; ok {
		// validateSetting accepted the value; a bad one keeps state forever.
		if d, err := checkpoint.ParseDuration(v); err == nil {
			p.StateTTL = d
		}
	}
	return p
}

func (s *Session) parallelism() int {
	if v, ok := s.settings["parallelism.default"]; ok {
		var n int
		if _, err := fmt.Sscanf(v, "%d", &n); err == nil && n > 0 {
			return n
		}
	}
	return s.cfg.Parallelism
}

// catalogAdapter shows the catalog to the planner.
type catalogAdapter struct{ s *Session }

// Relation implements planner.Catalog.
func (a *catalogAdapter) Relation(name string) (*planner.Relation, error) {
	t, v, err := a.s.cat.Lookup(name)
	if err != nil {
		return nil, err
	}
	if t != nil {
		return &planner.Relation{Table: connectorTable(t, a.s.cfg.StateDir)}, nil
	}
	if v.Materialized {
		return &planner.Relation{Table: viewTable(v, a.s.cfg.StateDir)}, nil
	}
	cols := make([]string, len(v.Columns))
	for i, c := range v.Columns {
		cols[i] = c.Name
	}
	return &planner.Relation{ViewName: v.Name, ViewQuery: v.QuerySQL, ViewColumns: cols}, nil
}

// Watermark implements planner.WatermarkCatalog.
func (a *catalogAdapter) Watermark(name string) (column, exprSQL string, ok bool) {
	t, _, err := a.s.cat.Lookup(name)
	if err != nil || t == nil || t.Watermark == nil {
		return "", "", false
	}
	return t.Watermark.Column, t.Watermark.ExprSQL, true
}

// Connector implements planner.Catalog.
func (a *catalogAdapter) Connector(name string) (connectors.Connector, error) {
	if strings.EqualFold(name, "builtin") {
		return a.s.tables, nil
	}
	return connectors.Lookup(name)
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
