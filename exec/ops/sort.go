package ops

import (
	"container/heap"
	"errors"
	"fmt"
	"slices"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
)

// Sort orders a bounded input (ORDER BY ... [LIMIT n] [OFFSET m]) and emits
// it at Finish as inserts.
//
// The input may be a changelog: +I/+U add a row, -U/-D retract an equal row
// (all columns equal, NULL matching NULL). Rows are buffered in one
// columnar batch; ties keep arrival order, so the output is deterministic.
//
// With Limit ≥ 0 only Offset+Limit rows are kept, in a bounded heap that
// replaces its worst row. A retraction arriving after the heap discarded a
// row cannot be applied exactly (the row that should move up is gone): it
// fails with ErrSortRetraction. A planner should not set Limit on an
// updating input it cannot bound; Sort then buffers everything and applies
// Limit and Offset when it emits.
type Sort struct {
	Keys []SortKey
	// Limit is the number of rows to emit, -1 for all.
	Limit int64
	// Offset is the number of leading rows to skip (≤ 0: none).
	Offset int64

	started  bool
	buf      *types.Batch // buffered rows, one slot each
	seq      []int64      // arrival order per slot
	live     []bool       // false once a slot is retracted
	nextSeq  int64
	heapMode bool
	heap     sortHeap
	dropped  bool               // the heap discarded a row
	index    map[uint64][]int32 // row hash → live slots; built at the first retraction
	allCols  []int              // 0..ncols-1, for hashing whole rows
	hashes   []uint64
	pending  []int32 // rows of the current batch to append
	one      [1]int32
}

// ErrSortRetraction is returned by Sort when it cannot apply a retraction.
var ErrSortRetraction = errors.New("sort: cannot apply retraction")

// SortFactory returns a factory of Sorts.
func SortFactory(keys []SortKey, limit, offset int64) exec.OperatorFactory {
	return func(int) (exec.Operator, error) {
		return &Sort{Keys: keys, Limit: limit, Offset: offset}, nil
	}
}

func (s *Sort) start(b *types.Batch) error {
	s.started = true
	for _, k := range s.Keys {
		if k.Col < 0 || k.Col >= len(b.Cols) {
			return fmt.Errorf("sort: key column %d of a %d-column input", k.Col, len(b.Cols))
		}
	}
	s.buf = types.NewBatch(b.Types())
	s.heapMode = s.Limit >= 0
	s.heap.s = s
	s.allCols = make([]int, len(b.Cols))
	for c := range s.allCols {
		s.allCols[c] = c
	}
	return nil
}

// Process implements exec.Operator.
func (s *Sort) Process(b *types.Batch, _ exec.Collector) error {
	defer b.Release()
	if !s.started {
		if err := s.start(b); err != nil {
			return err
		}
	}
	s.hashes = s.hashes[:0]
	s.pending = s.pending[:0]
	for i, op := range b.Ops {
		if op.IsAdd() {
			if s.heapMode {
				s.heapAdd(b, i)
			} else {
				s.pending = append(s.pending, int32(i))
			}
			continue
		}
		s.flush(b)
		if err := s.retract(b, i); err != nil {
			return err
		}
	}
	s.flush(b)
	return nil
}

// flush appends the pending rows of b to the buffer.
func (s *Sort) flush(b *types.Batch) {
	if len(s.pending) == 0 {
		return
	}
	first := s.buf.Len()
	exec.AppendRows(s.buf, b, s.pending)
	for k := range s.pending {
		s.seq = append(s.seq, s.nextSeq)
		s.nextSeq++
		s.live = append(s.live, true)
		if s.index != nil {
			h := s.rowHash(b, int(s.pending[k]))
			s.index[h] = append(s.index[h], int32(first+k))
		}
	}
	s.pending = s.pending[:0]
}

func (s *Sort) rowHash(b *types.Batch, i int) uint64 {
	if len(s.hashes) != b.Len() {
		s.hashes = exec.HashColumns(b, s.allCols, s.hashes)
	}
	return s.hashes[i]
}

func (s *Sort) heapAdd(b *types.Batch, i int) {
	k := s.Limit + max(s.Offset, 0)
	switch {
	case k == 0:
		s.dropped = true
	case int64(len(s.heap.slots)) < k:
		s.one[0] = int32(i)
		exec.AppendRows(s.buf, b, s.one[:])
		s.seq = append(s.seq, s.nextSeq)
		s.live = append(s.live, true)
		s.nextSeq++
		heap.Push(&s.heap, int32(s.buf.Len()-1))
	default:
		s.dropped = true
		top := int(s.heap.slots[0])
		// Ties go to the earlier row, which is already in the heap.
		if compareKeys(s.Keys, b, i, s.buf, top) < 0 {
			exec.SetRow(s.buf, top, b, i)
			s.seq[top] = s.nextSeq
			s.nextSeq++
			heap.Fix(&s.heap, 0)
		}
	}
}

func (s *Sort) retract(b *types.Batch, i int) error {
	if s.heapMode {
		if s.dropped {
			return fmt.Errorf("%w: a %v row arrived after LIMIT discarded rows", ErrSortRetraction, b.Ops[i])
		}
		// The heap holds every row so far: keep them all from now on.
		s.heapMode = false
		s.heap.slots = nil
	}
	if s.index == nil {
		s.index = make(map[uint64][]int32)
		hs := exec.HashColumns(s.buf, s.allCols, nil)
		for slot, h := range hs {
			if s.live[slot] {
				s.index[h] = append(s.index[h], int32(slot))
			}
		}
	}
	h := s.rowHash(b, i)
	bucket := s.index[h]
	for k, slot := range bucket {
		if equalRows(s.buf, int(slot), b, i) {
			s.live[slot] = false
			bucket[k] = bucket[len(bucket)-1]
			s.index[h] = bucket[:len(bucket)-1]
			return nil
		}
	}
	return fmt.Errorf("%w: %v of a row that was never added", ErrSortRetraction, b.Ops[i])
}

// Finish implements exec.Finisher: it sorts the live rows and emits them,
// Offset and Limit applied, as inserts.
func (s *Sort) Finish(out exec.Collector) error {
	if s.buf == nil {
		return nil
	}
	slots := make([]int32, 0, s.buf.Len())
	for slot, ok := range s.live {
		if ok {
			slots = append(slots, int32(slot))
		}
	}
	slices.SortFunc(slots, s.cmpSlots)
	start := min(max(s.Offset, 0), int64(len(slots)))
	slots = slots[start:]
	if s.Limit >= 0 && s.Limit < int64(len(slots)) {
		slots = slots[:s.Limit]
	}
	ts := s.buf.Types()
	for len(slots) > 0 {
		n := min(len(slots), types.DefaultBatchSize)
		nb := types.NewBatch(ts)
		exec.AppendRows(nb, s.buf, slots[:n])
		for i := range nb.Ops {
			nb.Ops[i] = types.Insert
		}
		slots = slots[n:]
		if err := out.Collect(nb); err != nil {
			return err
		}
	}
	return s.Close()
}

func (s *Sort) cmpSlots(a, b int32) int {
	if c := compareKeys(s.Keys, s.buf, int(a), s.buf, int(b)); c != 0 {
		return c
	}
	switch sa, sb := s.seq[a], s.seq[b]; {
	case sa < sb:
		return -1
	case sa > sb:
		return 1
	}
	return 0
}

// Close implements exec.Closer; it drops the buffer.
func (s *Sort) Close() error {
	s.buf.Release()
	s.buf = nil
	s.seq, s.live, s.index, s.heap.slots = nil, nil, nil, nil
	return nil
}

// sortHeap is a max-heap of buffer slots: the worst row (last in output
// order) on top.
type sortHeap struct {
	s     *Sort
	slots []int32
}

func (h *sortHeap) Len() int           { return len(h.slots) }
func (h *sortHeap) Less(i, j int) bool { return h.s.cmpSlots(h.slots[i], h.slots[j]) > 0 }
func (h *sortHeap) Swap(i, j int)      { h.slots[i], h.slots[j] = h.slots[j], h.slots[i] }
func (h *sortHeap) Push(x any)         { h.slots = append(h.slots, x.(int32)) }
func (h *sortHeap) Pop() any {
	x := h.slots[len(h.slots)-1]
	h.slots = h.slots[:len(h.slots)-1]
	return x
}
