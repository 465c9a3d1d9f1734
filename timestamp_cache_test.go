package snapauth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestTimestampCacheMatchesFormat: cached or not, appendTimestampCached
// gives what time.Format gives, across seconds, zones, layouts and
// fractional-second layouts that change within one second.
func TestTimestampCacheMatchesFormat(t *testing.T) {
	utc7 := time.FixedZone("WIB", 7*3600)
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	layouts := []string{TimestampLayout, "2006-01-02T15:04:05.000Z07:00", "2006-01-02 15:04:05,999", "02.01.2006 15:04:05", time.RFC1123}
	for step := range 40 {
		now := base.Add(time.Duration(step) * 137 * time.Millisecond)
		for _, loc := range []*time.Location{Jakarta, time.UTC, utc7} {
			for _, layout := range layouts {
				for range 2 { // the second call may hit the cache
					got := string(appendTimestampCached([]byte("x"), now, loc, layout))
					assert.Equal(t, "x"+now.In(loc).Format(layout), got, "layout %q", layout)
				}
			}
		}
	}
	assert.True(t, hasFractionalSeconds("15:04:05.000"))
	assert.True(t, hasFractionalSeconds("15:04:05,9"))
	assert.False(t, hasFractionalSeconds(TimestampLayout))
}
