//go:build !race

package snapauth_test

// raceEnabled says the race detector is on: tests that measure memory or
// push a million customers through scale down.
const raceEnabled = false
