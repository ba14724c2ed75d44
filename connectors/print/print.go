package print

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/sluicesql/sluice/connectors"
	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

func init() { connectors.Register(&Connector{}) }

// Option names, as in Flink.
const (
	optIdentifier    = "print-identifier"
	optStandardError = "standard-error"
)

var knownOptions = []string{optIdentifier, optStandardError}

// Connector is the 'print' sink connector.
type Connector struct {
	// Stdout and Stderr receive the rows; nil means os.Stdout and
	// os.Stderr. Tests inject buffers here.
	Stdout, Stderr io.Writer
}

var _ connectors.SinkConnector = (*Connector)(nil)

// writeMu serialises the writes of all print sinks, which usually share
// the process's standard output.
var writeMu sync.Mutex

// Name implements connectors.Connector.
func (*Connector) Name() string { return "print" }

// Validate implements connectors.Connector.
func (*Connector) Validate(t *connectors.Table) error {
	_, err := parseOptions(t)
	return err
}

type options struct {
	identifier string
	stderr     bool
}

func parseOptions(t *connectors.Table) (options, error) {
	if err := connectors.CheckOptions(t.Name, t.Options, knownOptions, nil); err != nil {
		return options{}, err
	}
	o := options{identifier: t.Options[optIdentifier]}
	if v, ok := t.Options[optStandardError]; ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			o.stderr = true
		case "false":
		default:
			return o, fmt.Errorf("table %s: option '%s': invalid boolean '%s' (expected 'true' or 'false')", t.Name, optStandardError, v)
		}
	}
	return o, nil
}

// AcceptsUpdates implements connectors.SinkConnector: every op is printed.
func (*Connector) AcceptsUpdates(*connectors.Table) bool { return true }

// NewSink implements connectors.SinkConnector.
func (c *Connector) NewSink(t *connectors.Table, _ connectors.SinkRequest) (exec.OperatorFactory, error) {
	o, err := parseOptions(t)
	if err != nil {
		return nil, err
	}
	w := c.Stdout
	if w == nil {
		w = os.Stdout
	}
	if o.stderr {
		w = c.Stderr
		if w == nil {
			w = os.Stderr
		}
	}
	return func(int) (exec.Operator, error) {
		return &sink{w: w, identifier: o.identifier}, nil
	}, nil
}

// sink prints the rows of one subtask.
//
// Contract: exec.Operator's; it releases the batches it is given.
type sink struct {
	w          io.Writer
	identifier string
	prefix     string
	buf        []byte
}

var (
	_ exec.Operator = (*sink)(nil)
	_ exec.Opener   = (*sink)(nil)
)

// Open implements exec.Opener: it builds the line prefix from the
// identifier and the subtask (1-based, shown when parallelism > 1).
func (s *sink) Open(tc *exec.TaskContext) error {
	s.prefix = linePrefix(s.identifier, tc.Subtask, tc.Parallelism)
	return nil
}

func linePrefix(identifier string, subtask, parallelism int) string {
	switch {
	case identifier != "" && parallelism > 1:
		return identifier + ":" + strconv.Itoa(subtask+1) + "> "
	case identifier != "":
		return identifier + "> "
	case parallelism > 1:
		return strconv.Itoa(subtask+1) + "> "
	}
	return ""
}

// Process implements exec.Operator.
func (s *sink) Process(b *types.Batch, _ exec.Collector) error {
	defer b.Release()
	s.buf = s.buf[:0]
	for i := range b.Len() {
		s.buf = appendRow(append(s.buf, s.prefix...), b, i)
	}
	if len(s.buf) == 0 {
		return nil
	}
	writeMu.Lock()
	_, err := s.w.Write(s.buf)
	writeMu.Unlock()
	if err != nil {
		return fmt.Errorf("print sink: %w", err)
	}
	return nil
}

// appendRow appends row i of b as "+I[1, a, NULL]\n".
func appendRow(dst []byte, b *types.Batch, i int) []byte {
	dst = append(dst, b.Ops[i].String()...)
	dst = append(dst, '[')
	for c := range b.Cols {
		if c > 0 {
			dst = append(dst, ", "...)
		}
		v := &b.Cols[c]
		if !v.IsNull(i) && v.Type.IsInteger() {
			dst = strconv.AppendInt(dst, v.I64[i], 10)
		} else {
			dst = append(dst, v.Get(i).String()...)
		}
	}
	return append(dst, ']', '\n')
}
