package state

// GetCached returns the value of key in keyGroup if the cache holds it,
// and whether it does: a key that is not cached, or is cached as absent
// (deleted, or found absent by an earlier read), gets ok false. Unlike Get
// it never reads Badger and never changes the cache, not even the entry's
// recency: a caller that goes on to change the value Puts it, which marks
// it used. key is not retained. The value is shared with the cache as
// Get's is.
//
// It lets an operator use a value only when it is at hand, e.g. append to
// the last chunk of a key's rows when that chunk is cached and start a new
// chunk otherwise, rather than read the old chunk back just to extend it.
func (k *KeyedState[V]) GetCached(keyGroup int, key []byte) (v V, ok bool, err error) {
	i, _, err := k.lookup(keyGroup, key)
	if err != nil || i < 0 {
		return v, false, err
	}
	e := &k.ents[i]
	if e.flags&flagDeleted != 0 {
		return v, false, nil
	}
	return e.val, true, nil
}
