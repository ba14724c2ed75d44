package exec

import "sync"

type ctlKind uint8

const (
	ctlBarrier  ctlKind = iota // inject a barrier (source subtasks only)
	ctlComplete                // checkpoint id is complete
)

// control is a request from the Job's methods to a subtask's goroutine.
type control struct {
	kind    ctlKind
	barrier Barrier
	id      int64
}

// mailbox passes controls to a subtask without ever blocking the poster.
// The subtask selects on notify (capacity 1) and then takes everything.
type mailbox struct {
	mu      sync.Mutex
	pending []control
	notify  chan struct{}
}

func (m *mailbox) post(c control) {
	m.mu.Lock()
	m.pending = append(m.pending, c)
	m.mu.Unlock()
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// take appends the pending controls to buf and clears them.
func (m *mailbox) take(buf []control) []control {
	m.mu.Lock()
	buf = append(buf, m.pending...)
	m.pending = m.pending[:0]
	m.mu.Unlock()
	return buf
}
