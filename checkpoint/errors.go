package checkpoint

import (
	"errors"
	"fmt"
)

// ErrCorrupt is wrapped by every error that reports a checkpoint metadata
// file that is torn, truncated, altered or otherwise unreadable as a
// checkpoint (as opposed to an I/O error reading it).
var ErrCorrupt = errors.New("corrupt checkpoint metadata")

// ConfigError reports a configuration key or value this package rejects.
// Its message names the key, the value and what is accepted, e.g.
//
//	'execution.checkpointing.interval': invalid duration 'abc' (expected e.g. '10 s', '500 ms', '1 min')
type ConfigError struct {
	Key   string // the configuration key
	Value string // the rejected value, as given
	// Msg says what is wrong and what is accepted, without the key.
	Msg string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("'%s': %s", e.Key, e.Msg) }
