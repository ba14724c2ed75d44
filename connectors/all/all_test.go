package all

import (
	"testing"

	"github.com/sluicesql/sluice/connectors"
)

func TestAllRegistered(t *testing.T) {
	for _, name := range []string{"blackhole", "datagen", "filesystem", "nexmark", "print"} {
		if _, err := connectors.Lookup(name); err != nil {
			t.Error(err)
		}
	}
}
