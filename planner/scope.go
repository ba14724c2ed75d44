package planner

import (
	"fmt"
	"github.com/sluicesql/sluice/exec/types"
	"strings"
)

// scope resolves column names of one query block against its input fields.
// It implements sqlexpr.Scope.
type scope struct {
	fields []Field
}

// Column resolves [qualifier.]name to an input index.
func (s *scope) Column(qualifier, name string) (int, types.Type, error) {
	found := -1
	for i, f := range s.fields {
		if !strings.EqualFold(f.Name, name) {
			continue
		}
		if qualifier != "" && !strings.EqualFold(f.Qualifier, qualifier) {
			continue
		}
		if found >= 0 {
			return 0, types.Type{}, fmt.Errorf("Column '%s' is ambiguous", name)
		}
		found = i
	}
	if found < 0 {
		if qualifier != "" {
			return 0, types.Type{}, fmt.Errorf("Unknown column '%s.%s'", qualifier, name)
		}
		return 0, types.Type{}, fmt.Errorf("Unknown column '%s'", name)
	}
	return found, s.fields[found].Type, nil
}
