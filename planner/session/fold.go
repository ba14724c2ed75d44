package session

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluicesql/sluice/exec/types"
)

// foldIter turns the changelog of a bounded query into its final rows: it
// reads the whole stream on the first Next, applies every retraction to the
// rows added before, and returns what is left as +I rows in the order they
// were first added (an ORDER BY's order is kept).
type foldIter struct {
	in    RowIterator
	rows  [][]types.Datum
	pos   int
	ready bool
}

// Next implements RowIterator.
func (f *foldIter) Next(ctx context.Context) (Row, bool, error) {
	if !f.ready {
		if err := f.fold(ctx); err != nil {
			return Row{}, false, err
		}
		f.ready = true
	}
	if f.pos >= len(f.rows) {
		return Row{}, false, nil
	}
	f.pos++
	return Row{Op: types.Insert, Values: f.rows[f.pos-1]}, true, nil
}

func (f *foldIter) fold(ctx context.Context) error {
	var order []string
	rowOf := map[string][]types.Datum{}
	count := map[string]int{}
	var key strings.Builder
	for {
		r, ok, err := f.in.Next(ctx)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		key.Reset()
		for _, d := range r.Values {
			if d.Null {
				key.WriteString("\x00N")
			} else {
				key.WriteString(d.String())
			}
			key.WriteByte(0x01)
		}
		k := key.String()
		if r.Op.IsAdd() {
			if _, seen := rowOf[k]; !seen {
				order = append(order, k)
				rowOf[k] = r.Values
			}
			count[k]++
			continue
		}
		if count[k] == 0 {
			return fmt.Errorf("the query retracted a row it had not produced: %v", r.Values)
		}
		count[k]--
	}
	for _, k := range order {
		for i := 0; i < count[k]; i++ {
			f.rows = append(f.rows, rowOf[k])
		}
	}
	return nil
}

// Close implements RowIterator.
func (f *foldIter) Close() error { return f.in.Close() }
