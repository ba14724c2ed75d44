package state

import (
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// Uncached keys: values an operator writes without reading first.
//
// Appending to a value the cache does not hold costs a Badger read of the
// old value; for an operator that adds to many values it rarely reads (the
// build side of a join probed once in a while), those reads are most of
// its work. Such an operator can instead write each addition under a key
// of its own, never read through the cache, and find them again by a
// prefix scan: the writes are blind. WriteUncached and ScanPrefix do that
// beside the cache; Known tells the operator whether the cache (or the
// absent-key filter) can answer for a key without Badger, so it can choose.
//
// Uncached keys follow the KeyedState's versions: they are written at the
// write timestamp (WriteTs; the same as a write-back at that moment) and
// scanned at the read timestamp, so checkpoints, restores, rescales and
// savepoints (all by namespace and key group) take them along. The caller
// keeps them apart from the keys it uses through the cache (no key is
// both), so the cache never holds a stale copy of one.

// Known returns the value of key in keyGroup when the KeyedState can tell
// it without reading Badger: known is true when the key is cached (ok
// tells whether it has a value, as Get's) or certainly absent (see
// keyed_filter.go). It does not change the cache or its recency; the value
// is shared with the cache as Get's is.
func (k *KeyedState[V]) Known(keyGroup int, key []byte) (v V, ok, known bool, err error) {
	i, mk, err := k.lookup(keyGroup, key)
	if err != nil {
		return v, false, false, err
	}
	if i >= 0 {
		e := &k.ents[i]
		if e.flags&flagDeleted != 0 {
			return v, false, true, nil
		}
		return e.val, true, true, nil
	}
	if k.st == nil {
		return v, false, false, ErrNoStore
	}
	return v, false, k.certainlyAbsent(mk), nil
}

// CertainlyAbsent reports whether key in keyGroup is proven to have no
// value in Badger at the read timestamp by the absent-key filter: its key
// group held nothing when the KeyedState first needed Badger and the
// KeyedState never wrote the key back. Uncached keys are not in the
// filter: it says nothing about them.
func (k *KeyedState[V]) CertainlyAbsent(keyGroup int, key []byte) bool {
	if uint(keyGroup) >= MaxKeyGroups || k.st == nil {
		return false
	}
	k.kbuf = append(append(k.kbuf[:0], byte(keyGroup>>8), byte(keyGroup)), key...)
	return k.certainlyAbsent(k.kbuf)
}

// WriteTs returns the timestamp a write at this moment is made at: the
// Epoch's, or without one a fresh timestamp (Store.NextTs), which is
// greater than every earlier one.
func (k *KeyedState[V]) WriteTs() (uint64, error) { return k.writeTs() }

// UncachedKV is a key of a key group and its value, for WriteUncached.
type UncachedKV[V any] struct {
	KeyGroup int
	Key      []byte
	Val      V
}

// WriteUncached writes kvs to Badger at ts, which the caller got from
// WriteTs in the same epoch, in write batches of bounded size, and waits
// until they are committed; the cache is neither read nor changed. The
// keys must be ones the KeyedState is never asked for through the cache
// (Get, Put, Delete). The bytes written are added to the Epoch. An
// invalid key group fails the call before anything is written; a Badger
// error may leave part of kvs written (as a failed write-back does: the
// caller retries or the job restores its last checkpoint).
func (k *KeyedState[V]) WriteUncached(ts uint64, kvs []UncachedKV[V]) error {
	if k.st == nil {
		return ErrNoStore
	}
	for _, w := range kvs {
		if uint(w.KeyGroup) >= MaxKeyGroups {
			return fmt.Errorf("state: key group %d out of range [0, %d)", w.KeyGroup, MaxKeyGroups)
		}
	}
	if !k.freshChecked {
		// Before the first write: its keys must not make key groups look used.
		k.checkFresh()
	}
	w := k.newBatchWriter(ts)
	var kg [2]byte
	for _, kv := range kvs {
		kg[0], kg[1] = byte(kv.KeyGroup>>8), byte(kv.KeyGroup)
		if err := w.put(kg[:], kv.Key, kv.Val, false); err != nil {
			return err
		}
	}
	return w.finish()
}

// ScanPrefix calls fn for every key of keyGroup that starts with prefix
// and has a value in Badger at the read timestamp, in key order, with the
// key (prefix included, key group excluded; valid during the call only)
// and its value. It reads Badger only: it is for keys written with
// WriteUncached, which the cache never holds. fn must not call methods of
// k; ScanPrefix stops at fn's first error and returns it unwrapped.
func (k *KeyedState[V]) ScanPrefix(keyGroup int, prefix []byte, fn func(key []byte, v V) error) error {
	if k.st == nil {
		return ErrNoStore
	}
	if uint(keyGroup) >= MaxKeyGroups {
		return fmt.Errorf("state: key group %d out of range [0, %d)", keyGroup, MaxKeyGroups)
	}
	full := append(append(slices.Clip(k.ns), byte(keyGroup>>8), byte(keyGroup)), prefix...)
	skip := len(k.ns) + 2
	var fnErr error
	err := k.st.viewState(k.readTs(), func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.PrefetchValues = false
		io.Prefix = full
		it := txn.NewIterator(io)
		defer it.Close()
		for it.Seek(full); it.ValidForPrefix(full); it.Next() {
			item := it.Item()
			v, err := k.decodeItem(item)
			if err != nil {
				return err
			}
			if fnErr = fn(item.Key()[skip:], v); fnErr != nil {
				return fnErr
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("state: scan keyed state: %w", err)
	}
	return nil
}
