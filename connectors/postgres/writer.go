package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicesql/sluice/checkpoint/crash"
	"github.com/sluicesql/sluice/exec/types"
)

// writer owns the sink subtask's connection and applies epochs.
//
// Contract: not safe for concurrent use; the sink serialises calls.
type writer struct {
	cfg   *config
	cols  []types.Type
	conn  *pgx.Conn
	tgt   *target
	stmts statements
	// backoff is the delay before the first retry, doubled per retry up
	// to maxBackoff.
	backoff, maxBackoff time.Duration
	// exactly makes connect create the progress table.
	exactly bool
}

func newWriter(cfg *config, exactly bool) *writer {
	return &writer{cfg: cfg, cols: cfg.schema.Types(), exactly: exactly,
		backoff: 100 * time.Millisecond, maxBackoff: 5 * time.Second}
}

// connect opens the connection if needed: it checks (or creates) the
// target table, creates the progress table in exactly-once mode and the
// session's staging table for keyed sinks.
func (w *writer) connect(ctx context.Context) error {
	if w.conn != nil && !w.conn.IsClosed() {
		return nil
	}
	w.close()
	conn, err := pgx.Connect(ctx, w.cfg.dsn)
	if err != nil {
		// pgconn's connect errors name host, user and database, never
		// the password.
		return fmt.Errorf("connect to %s: %w", w.cfg.redacted, err)
	}
	ok := false
	defer func() {
		if !ok {
			conn.Close(context.Background())
		}
	}()
	if w.tgt == nil {
		tgt, err := inspect(ctx, conn, w.cfg)
		if errors.Is(err, errNoTable) && w.cfg.createTable {
			if err := ensureTable(ctx, conn, createTableSQL(w.cfg)); err != nil {
				return fmt.Errorf("create table %s: %w", w.cfg.target.Sanitize(), err)
			}
			tgt, err = inspect(ctx, conn, w.cfg)
		}
		if errors.Is(err, errNoTable) {
			return &permanentError{fmt.Errorf("Postgres table %s does not exist (create it, or set '%s' = 'true')",
				w.cfg.target.Sanitize(), optCreateTable)}
		}
		if err != nil {
			return err
		}
		w.tgt, w.stmts = tgt, buildStatements(w.cfg, tgt)
		if w.exactly {
			var exists bool
			prog := pgx.Identifier{tgt.schema, progressTable}.Sanitize()
			if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", prog).Scan(&exists); err != nil {
				return fmt.Errorf("look up %s: %w", prog, err)
			}
			if !exists {
				if err := ensureTable(ctx, conn, progressTableSQL(tgt.schema)); err != nil {
					return fmt.Errorf("create %s: %w", prog, err)
				}
			}
		}
	}
	if w.stmts.stage != "" {
		if _, err := conn.Exec(ctx, w.stmts.stage); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
	}
	w.conn, ok = conn, true
	return nil
}

// close closes the connection, if any.
func (w *writer) close() {
	if w.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		w.conn.Close(ctx)
		cancel()
		w.conn = nil
	}
}

// retry runs fn on a live connection, reconnecting and retrying with
// exponential backoff after transient failures, up to cfg.maxRetries
// times. fn must be safe to run again after a failure whose outcome is
// unknown (a lost COMMIT): the exactly-once apply is, through its progress
// row.
func (w *writer) retry(ctx context.Context, op string, fn func(conn *pgx.Conn) error) error {
	delay := w.backoff
	for attempt := 0; ; attempt++ {
		err := w.connect(ctx)
		if err == nil {
			err = fn(w.conn)
		}
		if err == nil {
			return nil
		}
		// The connection's state is unknown after any failure (an aborted
		// transaction, half a COPY): start afresh.
		w.close()
		if ctx.Err() != nil {
			return &Error{Table: w.cfg.table, Op: op, Err: err}
		}
		if !retriable(err) || attempt >= w.cfg.maxRetries {
			var ke *keyedError
			e := &Error{Table: w.cfg.table, Op: op, Retriable: retriable(err), Err: err}
			if errors.As(err, &ke) {
				e.Row, e.Err = ke.row, ke.err
			}
			if e.Retriable {
				e.Op = fmt.Sprintf("%s (after %d retries)", op, attempt)
			}
			return e
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return &Error{Table: w.cfg.table, Op: op, Err: ctx.Err()}
		case <-t.C:
		}
		delay = min(2*delay, w.maxBackoff)
	}
}

// keyedError attaches the failing row to a database error.
type keyedError struct {
	row string
	err error
}

func (e *keyedError) Error() string { return e.row + ": " + e.err.Error() }
func (e *keyedError) Unwrap() error { return e.err }

// apply writes ep in one transaction. With progress (exactly-once) the
// transaction first locks the progress row (sinkID, subtask) and does
// nothing if it already records ep.id or later, and ends by setting it to
// ep.id; so applying an epoch twice, even after a COMMIT whose outcome was
// lost, changes the table once. It reports whether the rows were written.
func (w *writer) apply(ctx context.Context, op string, ep *epoch, progress bool) (bool, error) {
	var written bool
	err := w.retry(ctx, op, func(conn *pgx.Conn) error {
		written = false
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit it is a no-op; a failed rollback closes the connection
		if progress {
			var done int64
			if err := tx.QueryRow(ctx, w.stmts.lockProg, ep.sinkID, ep.subtask).Scan(&done); err != nil {
				return fmt.Errorf("lock progress row: %w", err)
			}
			if done >= ep.id {
				return tx.Commit(ctx)
			}
		}
		if err := w.write(ctx, conn, tx, ep); err != nil {
			return err
		}
		crash.Point("during-commit", ep.id)
		if progress {
			if _, err := tx.Exec(ctx, w.stmts.setProg, ep.sinkID, ep.subtask, ep.id); err != nil {
				return fmt.Errorf("update progress row: %w", err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		written = true
		return nil
	})
	return written, err
}

// write copies ep's rows: straight into the table without a primary key;
// else into the staging table, then one DELETE ... USING and one
// INSERT ... SELECT ... ON CONFLICT.
func (w *writer) write(ctx context.Context, conn *pgx.Conn, tx pgx.Tx, ep *epoch) error {
	if ep.count == 0 {
		return nil
	}
	keyed := len(w.cfg.primaryKey) > 0
	if _, err := conn.PgConn().CopyFrom(ctx, newCopyReader(ep.data, w.cols, keyed), w.stmts.copy); err != nil {
		if row := copyErrorRow(err); row >= 0 {
			return &keyedError{row: w.describeRow(ep, row), err: err}
		}
		return fmt.Errorf("copy: %w", err)
	}
	if !keyed {
		return nil
	}
	if ep.delete > 0 {
		if _, err := tx.Exec(ctx, w.stmts.delete); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
	}
	if ep.count > ep.delete {
		if _, err := tx.Exec(ctx, w.stmts.upsert); err != nil {
			return fmt.Errorf("upsert: %w", err)
		}
	}
	return nil
}

// claim lowers the progress row of (sinkID, subtask) to floor if a
// previous run left it higher (the job was restored from an older
// checkpoint, or started afresh under the same id): the epochs this run
// makes after floor must be applied, not skipped. It runs once, before the
// first epoch of the run is applied.
func (w *writer) claim(ctx context.Context, sinkID string, subtask int, floor int64) error {
	return w.retry(ctx, "claim progress row", func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, w.stmts.claim, sinkID, subtask, floor)
		return err
	})
}

// describeRow names row n of ep by its key ("row with key (id)=(7)"), or
// by all its values without a primary key ("row (a, b)=(1, x)").
func (w *writer) describeRow(ep *epoch, n int) string {
	classes := make([]types.Class, len(w.cols))
	for i, t := range w.cols {
		classes[i] = t.Class()
	}
	row := make([]value, len(w.cols))
	pos := 0
	for i := 0; i <= n; i++ {
		var err error
		if _, pos, err = decodeRow(ep.data, pos, classes, row); err != nil {
			return fmt.Sprintf("row #%d", n+1)
		}
	}
	cols, prefix := w.cfg.primaryKey, "row with key "
	if len(cols) == 0 {
		prefix = "row "
		cols = make([]int, len(w.cols))
		for i := range cols {
			cols[i] = i
		}
	}
	names := make([]string, len(cols))
	vals := make([]string, len(cols))
	for i, c := range cols {
		names[i] = w.cfg.schema[c].Name
		if row[c].null {
			vals[i] = "NULL"
			continue
		}
		vals[i] = string(appendCopyValue(nil, w.cols[c], row[c]))
	}
	return prefix + "(" + strings.Join(names, ", ") + ")=(" + strings.Join(vals, ", ") + ")"
}
