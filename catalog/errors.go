package catalog

import "errors"

// Sentinel errors. Catalog errors wrap them with %w, so errors.Is works and
// the message reads naturally: "table 't' does not exist",
// "a view named 'v' already exists".
var (
	// ErrNotFound: the named table, view or job does not exist.
	ErrNotFound = errors.New("does not exist")
	// ErrExists: the name is taken by a table or view.
	ErrExists = errors.New("already exists")
)
