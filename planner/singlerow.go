package planner

import "github.com/sluicesql/sluice/connectors"

// SingleRow passes its input through and fails the query when more than
// one row is live: the result of a scalar subquery.
type SingleRow struct {
	Input Node
}

// Fields implements Node.
func (s *SingleRow) Fields() []Field { return s.Input.Fields() }

// Inputs implements Node.
func (s *SingleRow) Inputs() []Node { return []Node{s.Input} }

// Mode implements Node.
func (s *SingleRow) Mode() connectors.ChangelogMode { return s.Input.Mode() }

// Bounded implements Node.
func (s *SingleRow) Bounded() bool { return s.Input.Bounded() }

func (s *SingleRow) describe() string { return "SingleRowCheck()" }
