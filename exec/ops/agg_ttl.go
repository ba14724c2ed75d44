package ops

import (
	"fmt"
	"time"

	"github.com/sluicesql/sluice/exec"
	"github.com/sluicesql/sluice/state"
)

// State time-to-live (table.exec.state.ttl), shared by GroupAgg, Join and
// TopN.
//
// Each stored value (a group's accumulators, a join key's rows of one side,
// a Top-N partition) carries the processing time, in milliseconds, of its
// last access: every write sets it, and a read refreshes it (the Join
// writes the value back for that) once it is older than ttlSlack. A value
// whose stamp is more than TTL + ttlSlack old is expired: the operator
// treats it as absent (and deletes it) when it next reads it, and a sweep
// at each checkpoint (Snapshot) deletes the expired values of a few of the
// subtask's key groups, ttlSweepKeyGroups at a time, in turn. So state of
// a key idle for longer than the TTL may be dropped, and state of a key
// accessed within the TTL never is, as Flink specifies.

// ttlSweepKeyGroups is the number of key groups a checkpoint sweeps for
// expired state: the work per checkpoint is bounded by the state of that
// many key groups.
const ttlSweepKeyGroups = 8

// stateTTL is an operator's TTL configuration and sweep cursor. The zero
// value (ttl 0) never expires anything.
type stateTTL struct {
	ttl   time.Duration
	now   func() time.Time
	first int // the subtask's key groups, first..last
	last  int
	next  int // next key group to sweep
}

// newStateTTL returns the TTL of an operator of a subtask; tc may be nil
// (then the subtask owns every key group); now nil means time.Now.
func newStateTTL(ttl time.Duration, now func() time.Time, tc *exec.TaskContext) stateTTL {
	if now == nil {
		now = time.Now
	}
	c := stateTTL{ttl: ttl, now: now, last: state.DefaultMaxParallelism - 1}
	if tc != nil && tc.Parallelism > 0 {
		c.first, c.last = state.KeyGroupRange(tc.Subtask, tc.Parallelism, tc.MaxParallelism)
	}
	c.next = c.first
	return c
}

func (c *stateTTL) enabled() bool { return c.ttl > 0 }

// stamp returns the current processing time in milliseconds.
func (c *stateTTL) stamp() int64 { return c.now().UnixMilli() }

// slack returns ttlSlack in milliseconds: how stale a stamp may get before
// a read refreshes it.
func (c *stateTTL) slack() int64 { return max(c.ttl.Milliseconds()/16, 1) }

// expired reports whether a value last accessed at access (milliseconds)
// has expired at now.
func (c *stateTTL) expired(access, now int64) bool {
	return c.ttl > 0 && now-access > c.ttl.Milliseconds()+c.slack()
}

// stale reports whether a read at now should refresh a stamp of access.
func (c *stateTTL) stale(access, now int64) bool {
	return c.ttl > 0 && now-access > c.slack()
}

// sweepKeyed deletes the expired values of the next ttlSweepKeyGroups key
// groups of the subtask from ks; access returns a value's stamp. It
// returns how many values it deleted.
func sweepKeyed[V any](c *stateTTL, ks *state.KeyedState[V], access func(V) int64) (int, error) {
	if !c.enabled() || ks == nil {
		return 0, nil
	}
	first, last := c.nextSweep()
	now := c.stamp()
	expired, err := expiredKeys(ks, first, last, func(v V) bool { return c.expired(access(v), now) })
	if err != nil {
		return 0, err
	}
	for _, e := range expired {
		if err := ks.Delete(e.kg, []byte(e.key)); err != nil {
			return 0, fmt.Errorf("delete expired state: %w", err)
		}
	}
	return len(expired), nil
}

// keyedRef names a key of keyed state.
type keyedRef struct {
	kg  int
	key string
}

// expiredKeys returns the keys of key groups [first, last] of ks whose
// value is expired.
func expiredKeys[V any](ks *state.KeyedState[V], first, last int, expired func(V) bool) ([]keyedRef, error) {
	var out []keyedRef
	err := ks.ScanKeyGroups(first, last, func(kg int, key []byte, v V) error {
		if expired(v) {
			out = append(out, keyedRef{kg, string(key)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sweep expired state: %w", err)
	}
	return out, nil
}

// nextSweep returns the key groups [first, last] the next sweep covers
// (ttlSweepKeyGroups of the subtask's range, wrapping around) and moves the
// cursor past them.
func (c *stateTTL) nextSweep() (first, last int) {
	first = c.next
	last = min(first+ttlSweepKeyGroups-1, c.last)
	c.next = last + 1
	if c.next > c.last {
		c.next = c.first
	}
	return first, last
}
