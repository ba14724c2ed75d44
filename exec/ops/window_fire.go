package ops

import (
	"container/heap"
	"fmt"
	"slices"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/exec/types"
	"github.com/sluicesql/sluice/state"
)

// Firing of WindowAgg.
//
// fire collects the keys of every timer due at the watermark and fires
// each key once, in the order of kg ‖ group key, reading the key's state
// once. For panes that is one entry holding them all: each due window, in
// increasing order of end, merges the panes it covers; then the panes
// whose last window fired are dropped and the entry is written back once,
// with the end of the last window fired, or deleted when no pane is left.
// For sessions it is each due session's entry.
//
// So when the watermark jumps over several window ends (at end of input
// every open window is due) a key's panes are read once, not once per
// window and pane. When many more keys are due than the keyed state
// caches, most would be read from the store one by one; fire then reads
// them with one scan per key group instead (loadKeyGroup), which reads the
// store block by block.
//
// Output order: operators downstream are often keyed by the window (a
// join or an aggregate on window_start, window_end, as in Nexmark q5) and
// keep each window's rows in one entry; rows that alternate between
// windows make them swap those entries in and out of their caches (for a
// large window, a costly decode and encode each time). So the results of
// panes' windows are collected by window end (winOut, compactly: the key's
// index in the fire's sorted keys and the calls' results) and emitted
// window after window, ends increasing, each window's rows in key order. A
// fire of more than about winOutBytes of results is emitted in runs of
// that size, which bounds the memory held. Either way a key's windows
// come out in increasing order of end. Sessions, whose ends differ from
// key to key, are emitted as they fire.

// fire emits the windows due at w.wm.
func (w *WindowAgg) fire(out exec.Collector) (err error) {
	w.ensureStores()
	var due map[string]struct{}
	for len(w.ends) > 0 && w.ends[0]-1 <= w.wm {
		end := heap.Pop(&w.ends).(int64)
		set := w.timers[end]
		delete(w.timers, end)
		if len(set) > len(due) {
			due, set = set, due
		}
		for id := range set {
			due[id] = struct{}{}
		}
	}
	if len(due) == 0 {
		return nil
	}
	ids := make([]string, 0, len(due))
	for id := range due {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	w.out.ids = ids
	defer func() {
		if err != nil {
			w.out.release() // results refer to ids
		}
		w.out.ids = nil
	}()
	if w.sess != nil {
		for _, id := range ids {
			if err := w.fireSessions(id); err != nil {
				return err
			}
			if w.out.full() {
				if err := w.flushOut(out); err != nil {
					return err
				}
			}
		}
		return w.flushOut(out)
	}
	scan := w.scanLoads(len(ids))
	for lo := 0; lo < len(ids); {
		// The keys of one key group.
		hi := lo + 1
		for hi < len(ids) && ids[hi][:2] == ids[lo][:2] {
			hi++
		}
		kg := int(ids[lo][0])<<8 | int(ids[lo][1])
		if scan {
			if err := w.loadKeyGroup(kg, ids[lo:hi]); err != nil {
				return err
			}
		}
		for k := lo; k < hi; k++ {
			var p *winPanes
			var ok bool
			if scan {
				p = w.loaded[k-lo]
				ok = p != nil
			} else if p, ok, err = w.panes.get(kg, append(w.fbuf[:0], ids[k][2:]...)); err != nil {
				return fmt.Errorf("window aggregate: fire: read state: %w", err)
			}
			if ok {
				if err := w.firePanes(k, kg, p); err != nil {
					return err
				}
			}
			if w.out.full() {
				if err := w.flushOut(out); err != nil {
					return err
				}
			}
		}
		clear(w.loaded)
		lo = hi
	}
	return w.flushOut(out)
}

// scanLoads reports whether fire should read the state of n keys by
// scanning their key groups (one pass over each, which reads the store
// block by block) rather than key by key: when the state is in a store
// and n is large for the cache, so that most keys would be read from the
// store one at a time.
func (w *WindowAgg) scanLoads(n int) bool {
	ks, ok := w.panes.(keyedKV[*winPanes])
	if !ok || ks.ks == nil {
		return false
	}
	cache := w.Spec.CacheEntries
	if cache <= 0 {
		cache = DefaultAggCacheEntries
	}
	return n > cache/2
}

// loadKeyGroup sets w.loaded[x] to the state of ids[x] (sorted keys of
// key group kg), nil when it has none, with one scan of the key group.
func (w *WindowAgg) loadKeyGroup(kg int, ids []string) error {
	w.loaded = slices.Grow(w.loaded[:0], len(ids))[:len(ids)]
	clear(w.loaded)
	x := 0
	err := w.panes.(keyedKV[*winPanes]).ks.ScanKeyGroups(kg, kg, func(_ int, key []byte, p *winPanes) error {
		for x < len(ids) && ids[x][2:] < string(key) {
			x++
		}
		if x < len(ids) && ids[x][2:] == string(key) {
			w.loaded[x] = p
			x++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("window aggregate: fire: read state: %w", err)
	}
	return nil
}

// winOutBytes bounds the memory of the results winOut collects.
const winOutBytes = 32 << 20

// winOut collects the results of the windows of one fire by window end
// (see fire), or the output rows of sessions.
type winOut struct {
	ids   []string // the keys firing (kg ‖ group key), sorted
	byEnd map[int64]*endRows
	ends  []int64 // the keys of byEnd
	rows  int
	bytes int
	limit int          // bytes of results held at most (0: winOutBytes)
	sess  *types.Batch // output rows of sessions
}

// endRows are the results of the windows ending at one end: for each
// window the index of its key in winOut.ids and the calls' results (as
// batches of result columns).
type endRows struct {
	keys []int32
	res  []*types.Batch
}

// winResRows is the number of rows of an endRows result batch.
const winResRows = 4096

// full reports whether the rows collected should be emitted now: a full
// batch of one window or of sessions (nothing to reorder), or
// winOutBytes of results.
func (o *winOut) full() bool {
	if o.sess != nil {
		return o.sess.Len() >= types.DefaultBatchSize
	}
	limit := o.limit
	if limit <= 0 {
		limit = winOutBytes
	}
	return o.rows >= types.DefaultBatchSize && len(o.ends) == 1 || o.bytes >= limit
}

// release drops what was collected.
func (o *winOut) release() {
	for _, r := range o.byEnd {
		for _, b := range r.res {
			b.Release()
		}
	}
	clear(o.byEnd)
	o.ends, o.rows, o.bytes = o.ends[:0], 0, 0
	o.sess.Release()
	o.sess = nil
}

// addResult collects the result of the window ending at end of the key at
// index k of the fire's keys, whose accumulators are vals.
func (w *WindowAgg) addResult(k int, end int64, vals []accVal) error {
	o := &w.out
	if o.byEnd == nil {
		o.byEnd = map[int64]*endRows{}
	}
	r := o.byEnd[end]
	if r == nil {
		r = &endRows{}
		o.byEnd[end] = r
		o.ends = append(o.ends, end)
	}
	if len(r.res) == 0 || r.res[len(r.res)-1].Len() >= winResRows {
		r.res = append(r.res, types.NewBatch(w.resTypes))
	}
	b := r.res[len(r.res)-1]
	b.Ops = append(b.Ops, types.Insert)
	size := 4 + 1
	for c := range w.calls {
		d, err := w.calls[c].resultDatum(&vals[c])
		if err != nil {
			return err
		}
		b.Cols[c].Append(d)
		size += 9 + len(d.S)
	}
	r.keys = append(r.keys, int32(k))
	o.rows++
	o.bytes += size
	return nil
}

// flushOut emits what was collected: windows in increasing order of end,
// each in key order; sessions as they fired.
func (w *WindowAgg) flushOut(out exec.Collector) error {
	o := &w.out
	if b := o.sess; b != nil {
		o.sess = nil
		if b.Len() == 0 {
			b.Release()
			return nil
		}
		return out.Collect(b)
	}
	slices.Sort(o.ends)
	var ob *types.Batch
	err := func() error {
		for _, end := range o.ends {
			r := o.byEnd[end]
			start := w.Spec.Window.windowStart(end)
			for x, k := range r.keys {
				if ob == nil {
					ob = types.NewBatch(w.outTypes)
				}
				res := r.res[x/winResRows]
				if err := w.appendRow(ob, o.ids[k][2:], start, end, res, x%winResRows); err != nil {
					return err
				}
				if ob.Len() >= types.DefaultBatchSize {
					b := ob
					ob = nil
					if err := out.Collect(b); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}()
	o.release()
	if err == nil && ob != nil {
		b := ob
		ob = nil
		err = out.Collect(b)
	}
	ob.Release()
	return err
}

// appendRow appends the output row of the window [start, end) of group
// key gk, whose results are row i of res, to ob.
func (w *WindowAgg) appendRow(ob *types.Batch, gk string, start, end int64, res *types.Batch, i int) error {
	w.fbuf = append(w.fbuf[:0], gk...)
	row, rest, err := state.DecodeKey(w.fbuf, w.keyTypes, w.row[:0])
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%d trailing key bytes: %w", len(rest), state.ErrCorrupt)
	}
	if err != nil {
		return fmt.Errorf("window aggregate: decode key: %w", err)
	}
	w.row = row
	ob.Ops = append(ob.Ops, types.Insert)
	nk := len(row)
	for c, d := range row {
		ob.Cols[c].Append(d)
	}
	ob.Cols[nk].Append(types.Datum{Type: WindowTimeType, I: start})
	ob.Cols[nk+1].Append(types.Datum{Type: WindowTimeType, I: end})
	ob.Cols[nk+2].Append(types.Datum{Type: WindowTimeType, I: end - MicrosPerMilli})
	for c := range res.Cols {
		ob.Cols[nk+3+c].AppendFrom(&res.Cols[c], i)
	}
	return nil
}

// nextEnd returns the end of the first window ending after t that holds a
// pane of p, and false when there is none.
func (w *WindowAgg) nextEnd(p *winPanes, t int64) (int64, bool) {
	next, found := int64(0), false
	for _, ps := range p.starts {
		if e, ok := w.Spec.Window.endAfter(ps, t); ok && (!found || e < next) {
			next, found = e, true
		}
	}
	return next, found
}

// firePanes collects the due windows of the key at index idx of the
// fire's keys (kg ‖ group key), whose panes are p, drops the panes whose
// last window fired and sets the key's next timer.
func (w *WindowAgg) firePanes(idx, kg int, p *winPanes) error {
	win := &w.Spec.Window
	id := w.out.ids[idx]
	nc := len(w.calls)
	if cap(w.acc) < nc {
		w.acc = make([]accVal, nc)
	}
	acc := w.acc[:nc]
	fired := p.fired
	for {
		end, ok := w.nextEnd(p, fired)
		if !ok || end-1 > w.wm {
			break
		}
		start := win.windowStart(end)
		clear(acc)
		for k, ps := range p.starts {
			if ps >= end {
				break
			}
			if ps >= start {
				if err := mergeVals(w.calls, acc, p.pane(k, nc)); err != nil {
					return err
				}
			}
		}
		if err := w.addResult(idx, end, acc); err != nil {
			return err
		}
		fired = end
	}
	clear(acc)
	if fired == p.fired {
		return nil // nothing due: a stale timer
	}
	p.fired = fired
	// Keep the panes with a window after fired (a prefix goes: the last
	// window of a pane does not end before that of an earlier one).
	kept := 0
	for k, ps := range p.starts {
		if win.lastEnd(ps) > fired {
			p.starts[kept] = ps
			copy(p.vals[kept*nc:], p.pane(k, nc))
			kept++
		}
	}
	p.starts = p.starts[:kept]
	clear(p.vals[kept*nc:]) // release strings and sets
	p.vals = p.vals[:kept*nc]
	w.fbuf = append(w.fbuf[:0], id[2:]...)
	var err error
	if kept == 0 {
		err = w.panes.del(kg, w.fbuf)
	} else {
		err = w.panes.put(kg, w.fbuf, p)
		w.addPaneTimer(id, p)
	}
	if err != nil {
		return fmt.Errorf("window aggregate: fire: write state: %w", err)
	}
	return nil
}

// fireSessions emits the due sessions of key id (kg ‖ group key) and drops
// their state.
func (w *WindowAgg) fireSessions(id string) error {
	spans := w.sessions[id]
	kg := int(id[0])<<8 | int(id[1])
	kept := spans[:0]
	for _, s := range spans {
		if s.end-1 > w.wm {
			kept = append(kept, s)
			continue
		}
		w.fbuf = appendStart(append(w.fbuf[:0], id[2:]...), s.start)
		key := w.fbuf
		e, ok, err := w.sess.get(kg, key)
		if err == nil && !ok {
			err = fmt.Errorf("session [%d, %d) has no state: %w", s.start, s.end, state.ErrCorrupt)
		}
		if err == nil {
			err = w.sess.del(kg, key)
		}
		if err != nil {
			return fmt.Errorf("window aggregate: fire session: %w", err)
		}
		if err := w.emitSession(key[:len(key)-8], s.start, s.end, e.rec.vals); err != nil {
			return err
		}
	}
	if len(kept) == 0 {
		delete(w.sessions, id)
	} else {
		w.sessions[id] = kept
	}
	return nil
}

// emitSession appends the row of the session [start, end) of group key
// gk, whose accumulators are vals, to the output.
func (w *WindowAgg) emitSession(gk []byte, start, end int64, vals []accVal) error {
	row, rest, err := state.DecodeKey(gk, w.keyTypes, w.row[:0])
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%d trailing key bytes: %w", len(rest), state.ErrCorrupt)
	}
	if err != nil {
		return fmt.Errorf("window aggregate: decode key: %w", err)
	}
	row = append(row,
		types.Datum{Type: WindowTimeType, I: start},
		types.Datum{Type: WindowTimeType, I: end},
		types.Datum{Type: WindowTimeType, I: end - MicrosPerMilli})
	for c := range w.calls {
		d, err := w.calls[c].resultDatum(&vals[c])
		if err != nil {
			return err
		}
		row = append(row, d)
	}
	w.row = row
	if w.out.sess == nil {
		w.out.sess = types.NewBatch(w.outTypes)
	}
	w.out.sess.AppendRow(types.Insert, row)
	return nil
}
