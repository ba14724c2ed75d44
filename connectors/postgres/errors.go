package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Error is a failed write or check of the postgres sink. Its message names
// the Sluice table, what failed, the checkpoint, the row's key when known
// and the database's own message and detail; never the password.
type Error struct {
	// Table is the Sluice table.
	Table string
	// Op says what failed: "connect", "check table", "checkpoint 7", "flush".
	Op string
	// Row names the failing row when known: "row with key (id)=(7)", or
	// "row (a, b)=(1, x)" for a table without a primary key.
	Row string
	// Retriable is true when the cause is transient (a dropped connection,
	// a server restart, a serialization failure): retries were exhausted
	// and a restart of the job may succeed. It is false for constraint
	// violations, bad values and schema mismatches.
	Retriable bool
	// Err is the cause; errors.As finds a *pgconn.PgError in it when the
	// server reported the error.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "postgres sink of table %s: %s", e.Table, e.Op)
	if e.Row != "" {
		b.WriteString(": ")
		b.WriteString(e.Row)
	}
	b.WriteString(": ")
	var pe *pgconn.PgError
	if errors.As(e.Err, &pe) {
		b.WriteString(e.Err.Error())
		if pe.Detail != "" {
			b.WriteString(": ")
			b.WriteString(pe.Detail)
		}
	} else {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// retriable reports whether err is a transient failure after which a new
// connection may succeed.
func retriable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"): // connection exception
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin/crash shutdown, cannot connect now
			return true
		case pe.Code == "40001", pe.Code == "40P01": // serialization failure, deadlock
			return true
		case pe.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var pe2 *permanentError
	if errors.As(err, &pe2) {
		return false
	}
	// Anything else comes from the network or the connection's state
	// (EOF, reset, timeout, conn closed): reconnecting may help.
	return true
}

// permanentError marks client-side failures a retry cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// copyLine finds the row number in a COPY error's context
// ("COPY sluice_stage, line 17, column v: ...").
var copyLine = regexp.MustCompile(`COPY [^,]+, line (\d+)`)

// copyErrorRow returns the 0-based row a COPY error is about, or -1.
func copyErrorRow(err error) int {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return -1
	}
	m := copyLine.FindStringSubmatch(pe.Where)
	if m == nil {
		return -1
	}
	n, err2 := strconv.Atoi(m[1])
	if err2 != nil || n < 1 {
		return -1
	}
	return n - 1
}
