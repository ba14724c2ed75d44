//go:build race

package ops_test

// raceEnabled skips allocation checks: sync.Pool drops items under -race.
const raceEnabled = true
