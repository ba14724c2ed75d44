package state

import (
	"bytes"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// Absent-key filter of KeyedState.
//
// A cache miss on a key that has no value in Badger costs a Badger read
// (Txn.Get) that finds nothing; a join on a column that is new on almost
// every row (Nexmark q7) spends a fifth of its CPU on those. KeyedState
// therefore answers such a miss without Badger when it can prove the key
// absent, from two facts:
//
//   - fresh: the key groups that held no value, at any timestamp from the
//     read timestamp on, when the KeyedState first needed Badger (its first
//     load or write-back; see checkFresh). Nothing but the KeyedState
//     itself writes its key groups while it is in use (KeyedStates share a
//     namespace only with disjoint key groups; restores and savepoint
//     imports happen before a job's operators start), so after that
//     moment a fresh key group holds only what this KeyedState wrote.
//   - written: the keys this KeyedState ever wrote back with a value
//     (eviction, Flush, asynchronous Flush), as a set of 32-bit
//     fingerprints of their 64-bit hashes (FingerprintSet). It never forgets a
//     key, so deletes and drops leave the key "maybe present", which only
//     costs a read.
//
// A key is certainly absent when its key group is fresh and its
// fingerprint is not in written. Everything else (a key group with data
// that was there before, e.g. restored from a checkpoint or owned by
// another subtask before a rescale; a fingerprint collision; a written set
// over its memory bound) reads Badger as before.

// maxWrittenBytes bounds the memory of a KeyedState's written set: 4 bytes
// per slot, at most 3/4 full, so about 3 M keys. A set that would grow
// beyond it is dropped, and every key is then "maybe present".
const maxWrittenBytes = 16 << 20

// freshScanItems bounds the Badger items checkFresh examines. Each key group
// with a value costs one item (the scan then seeks to the next key group);
// only deleted keys (e.g. after Store.DeletePrefix) cost more. Key groups
// the scan does not reach are not fresh.
const freshScanItems = 4096

// FingerprintSet is a set of 64-bit hashes kept as 32-bit fingerprints
// (the low half) in an open-addressing table with linear probing, at most
// 3/4 full. A fingerprint's own low bits give its home slot, so the table
// doubles without the keys. Has can answer true for a hash never added
// (another one with the same fingerprint: about n/2^32), never false for
// one added, unless the set is off. The low bits should be well mixed: a
// hash whose low bits pick a key group (exec.KeyGroup) is mixed first.
// KeyedState's absent-key filter keeps the keys it wrote in one; operators
// may keep their own (NewFingerprintSet).
type FingerprintSet struct {
	tab      []uint32 // 0: empty slot
	n        int
	maxSlots int  // the table never grows beyond this
	off      bool // grew beyond maxSlots: every hash may be in the set
}

// NewFingerprintSet returns an empty set whose table never grows beyond
// maxBytes (4 bytes a slot): one that would is turned off.
func NewFingerprintSet(maxBytes int) FingerprintSet { return FingerprintSet{maxSlots: maxBytes / 4} }

// fingerprint returns the fingerprint of h, never 0.
func fingerprint(h uint64) uint32 {
	if fp := uint32(h); fp != 0 {
		return fp
	}
	return 1
}

// Add adds h to the set, growing it (or turning it off) as needed.
func (s *FingerprintSet) Add(h uint64) {
	if s.off {
		return
	}
	if 4*(s.n+1) > 3*len(s.tab) && !s.grow() {
		return
	}
	fp := fingerprint(h)
	mask := uint32(len(s.tab) - 1)
	p := fp & mask
	for s.tab[p] != 0 {
		if s.tab[p] == fp {
			return
		}
		p = (p + 1) & mask
	}
	s.tab[p] = fp
	s.n++
}

// grow doubles the table; beyond maxSlots it turns the set off and
// reports false.
func (s *FingerprintSet) grow() bool {
	size := max(1024, 2*len(s.tab))
	if size > s.maxSlots {
		s.off, s.tab, s.n = true, nil, 0
		return false
	}
	old := s.tab
	s.tab = make([]uint32, size)
	mask := uint32(size - 1)
	for _, fp := range old {
		if fp == 0 {
			continue
		}
		p := fp & mask
		for s.tab[p] != 0 {
			p = (p + 1) & mask
		}
		s.tab[p] = fp
	}
	return true
}

// Has reports whether h may be in the set.
func (s *FingerprintSet) Has(h uint64) bool {
	if s.off {
		return true
	}
	if s.n == 0 {
		return false
	}
	fp := fingerprint(h)
	mask := uint32(len(s.tab) - 1)
	for p := fp & mask; ; p = (p + 1) & mask {
		switch s.tab[p] {
		case fp:
			return true
		case 0:
			return false
		}
	}
}

// Bytes returns the memory of the table.
func (s *FingerprintSet) Bytes() int { return 4 * len(s.tab) }

// checkFresh finds the fresh key groups (see above): those in which no key
// under the namespace has a value at the read timestamp r0 or at any later
// one. Badger's iterator at LatestTs with AllVersions yields every version
// of a key, newest first, deletes included; reads at r >= r0 see the newest
// version <= r, which is either above r0 or the newest one <= r0, so a key
// group is fresh when, for each of its keys, those versions are all
// deletes. A key group with a value is skipped with one seek; the scan
// gives up after freshScanItems items, leaving the key groups it did not
// reach not fresh. Badger iterators report no errors; a key too short to
// hold a key group makes no key group fresh (reads report the corruption).
func (k *KeyedState[V]) checkFresh() {
	k.freshChecked = true
	fresh := make([]uint64, MaxKeyGroups/64)
	for i := range fresh {
		fresh[i] = ^uint64(0)
	}
	clearFrom := func(kg int) {
		for ; kg < MaxKeyGroups && kg%64 != 0; kg++ {
			fresh[kg/64] &^= 1 << (kg % 64)
		}
		clear(fresh[kg/64:])
	}
	r0 := k.readTs()
	txn := k.st.sdb.NewTransactionAt(LatestTs, false)
	defer txn.Discard()
	o := badger.DefaultIteratorOptions
	o.PrefetchValues = false
	o.AllVersions = true
	o.Prefix = k.ns
	it := txn.NewIterator(o)
	defer it.Close()
	var cur []byte    // the key of the versions being examined
	seenAtR0 := false // cur's newest version <= r0 was examined
	items := 0
	for it.Seek(k.ns); it.ValidForPrefix(k.ns); {
		item := it.Item()
		key := item.Key()
		mk := key[len(k.ns):]
		if len(mk) < 2 {
			clearFrom(0)
			break
		}
		kg := int(mk[0])<<8 | int(mk[1])
		if items++; items > freshScanItems {
			clearFrom(kg)
			break
		}
		if !bytes.Equal(key, cur) {
			cur, seenAtR0 = append(cur[:0], key...), false
		}
		live := false
		if v := item.Version(); v > r0 {
			live = !item.IsDeletedOrExpired()
		} else if !seenAtR0 {
			seenAtR0 = true
			live = !item.IsDeletedOrExpired()
		}
		if !live {
			it.Next()
			continue
		}
		fresh[kg/64] &^= 1 << (kg % 64)
		if kg+1 >= MaxKeyGroups {
			break
		}
		it.Seek(append(slices.Clip(k.ns), byte((kg+1)>>8), byte(kg+1)))
	}
	k.fresh = fresh
}

// certainlyAbsent reports whether mk (key group ‖ key) is proven to have no
// value in Badger at the read timestamp (see above), checking the key
// groups first when that has not been done.
func (k *KeyedState[V]) certainlyAbsent(mk []byte) bool {
	if !k.freshChecked {
		k.checkFresh()
	}
	kg := int(mk[0])<<8 | int(mk[1])
	return k.fresh[kg/64]&(1<<(kg%64)) != 0 && !k.written.Has(k.hash(mk))
}

// noteWritten records that mk (key group ‖ key) is being written back with
// a value. The first write-back checks the key groups before it writes, so
// that its own writes do not make key groups look used.
func (k *KeyedState[V]) noteWritten(mk []byte) {
	if !k.freshChecked && k.st != nil {
		k.checkFresh()
	}
	k.written.Add(k.hash(mk))
}

// FilterBytes returns the memory of the absent-key filter: the fingerprints
// of the keys written back and the key-group bitset.
func (k *KeyedState[V]) FilterBytes() int64 {
	return int64(k.written.Bytes() + 8*len(k.fresh))
}
