package exec

import (
	"context"
	"errors"
	"fmt"
)

// Errors returned by the runtime.
var (
	// ErrCancelled is returned by Job.Wait when the job was stopped by
	// Job.Cancel or by cancellation of the context given to Run. It
	// matches context.Canceled with errors.Is.
	ErrCancelled = fmt.Errorf("exec: job cancelled: %w", context.Canceled)
	// ErrStopping is returned by a Collector (and by the runtime's
	// channels) once the job is stopping; an operator receiving it must
	// return it.
	ErrStopping = errors.New("exec: job stopping")
	// ErrInvalidGraph wraps every validation error of Run.
	ErrInvalidGraph = errors.New("exec: invalid job graph")
	// ErrUnrecoverable marks failures that restarting the job cannot fix
	// (for example a sink that finds committed data lost): the restart
	// strategy is not consulted and the job fails at once. Wrap it with
	// fmt.Errorf("...: %w", ErrUnrecoverable) or errors.Join.
	ErrUnrecoverable = errors.New("restarting cannot fix this")
)

// SubtaskError is the error of one subtask; Job.Wait returns the first one.
// It prints as `vertex "Filter" subtask 2: <err>`.
type SubtaskError struct {
	Vertex  string
	Subtask int
	Err     error
}

func (e *SubtaskError) Error() string {
	return fmt.Sprintf("vertex %q subtask %d: %v", e.Vertex, e.Subtask, e.Err)
}

func (e *SubtaskError) Unwrap() error { return e.Err }

// PanicError is the error a subtask fails with when an operator or source
// panics. Stack holds the goroutine's stack at the panic.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
