package expr

import (
	"errors"
	"fmt"
)

// Error kinds. Every error returned by this package is an *Error whose Kind
// is one of these, so callers can branch with errors.Is while the message
// stays the plain SQL-style text (for example "cannot apply '+' to VARCHAR
// and INT").
var (
	// ErrType reports an expression that does not type-check: wrong
	// argument types, incompatible operands, an impossible CAST.
	ErrType = errors.New("type error")
	// ErrArity reports a function called with the wrong number of arguments.
	ErrArity = errors.New("wrong number of arguments")
	// ErrUnknownFunction reports a function name missing from the registry.
	ErrUnknownFunction = errors.New("unknown function")
	// ErrInvalidLiteral reports a constant that cannot be converted where a
	// conversion is required at construction time ("cannot cast 'abc' to
	// DATE"), or an invalid constant pattern.
	ErrInvalidLiteral = errors.New("invalid literal")
	// ErrOutOfRange reports a runtime numeric overflow ("BIGINT value is out
	// of range in 'a + b'").
	ErrOutOfRange = errors.New("value out of range")
	// ErrEval reports a malformed input batch (for example a column index
	// beyond the batch width).
	ErrEval = errors.New("evaluation error")
)

// Error is the error type of this package: a message and a kind.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the kind, so errors.Is(err, ErrType) works.
func (e *Error) Unwrap() error { return e.Kind }

func newErr(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

func typeErr(format string, args ...any) *Error { return newErr(ErrType, format, args...) }

func rangeErr(kind string, e Expr) *Error {
	return newErr(ErrOutOfRange, "%s value is out of range in '%s'", kind, e.String())
}

func errorsIsType(err error) bool { return errors.Is(err, ErrType) }
