package expr

import (
	"math/rand/v2"

	"github.com/sluicesql/sluice/exec/types"
)

func init() {
	register("RAND", 0, 0, buildRand)
}

// buildRand: RAND() is a DOUBLE in [0, 1), drawn anew for every row and
// every evaluation (volatile, never folded). The seeded form RAND(n) is not
// supported.
func buildRand(name string, _ []Expr) (Expr, error) {
	f := newFn(name, types.Double, nil, func(_ *fnExpr, _ []*types.Vector, out *types.Vector, n int) error {
		for i := 0; i < n; i++ {
			out.F64[i] = rand.Float64()
		}
		return nil
	})
	f.isVolat = true
	return f, nil
}
