package kafka

import (
	"fmt"
	"sync"
)

// prefixOwner is the sink that uses a transactional-id prefix.
type prefixOwner struct {
	job, table string
	users      int // open sink subtasks
}

// prefixes maps the transactional-id prefixes of this process's open
// exactly-once sinks to their owner. It detects two jobs of one engine
// sharing a prefix (they would fence each other's transactions); two
// engines sharing one are not detected, Kafka fences them.
var prefixes = struct {
	sync.Mutex
	m map[string]*prefixOwner
}{m: map[string]*prefixOwner{}}

// claimPrefix registers a sink subtask of table in job as a user of
// prefix. It fails, naming the other job, when another job or another
// table of the same job uses the prefix.
func claimPrefix(prefix, job, table string) error {
	prefixes.Lock()
	defer prefixes.Unlock()
	o := prefixes.m[prefix]
	switch {
	case o == nil:
		prefixes.m[prefix] = &prefixOwner{job: job, table: table, users: 1}
		return nil
	case o.job == job && o.table == table:
		o.users++
		return nil
	case o.job == job:
		return fmt.Errorf("kafka sink %s: 'sink.transactional-id-prefix' '%s' is also used by table %s of the same job: give each sink its own prefix", table, prefix, o.table)
	}
	return fmt.Errorf("kafka sink %s: 'sink.transactional-id-prefix' '%s' is used by running job '%s' (table %s): two jobs with one prefix fence each other's transactions; give this sink another prefix or stop that job",
		table, prefix, o.job, o.table)
}

// releasePrefix undoes one claimPrefix.
func releasePrefix(prefix, job, table string) {
	prefixes.Lock()
	defer prefixes.Unlock()
	if o := prefixes.m[prefix]; o != nil && o.job == job && o.table == table {
		if o.users--; o.users == 0 {
			delete(prefixes.m, prefix)
		}
	}
}
