//go:build !race

package snapauth

const raceEnabled = false
