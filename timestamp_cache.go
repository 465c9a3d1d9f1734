package snapauth

import (
	"strings"
	"sync/atomic"
	"time"
)

// A signing transport formats the same second's X-TIMESTAMP for every
// request in that second; the last one formatted is kept, so that the
// others copy it instead of formatting it again.

type cachedTimestamp struct {
	unix   int64
	loc    *time.Location
	layout string
	text   string
}

var lastTimestamp atomic.Pointer[cachedTimestamp]

// appendTimestampCached appends t.In(loc).Format(layout) to dst. Layouts
// with fractions of a second are never cached: their text changes within a
// second.
func appendTimestampCached(dst []byte, t time.Time, loc *time.Location, layout string) []byte {
	unix := t.Unix()
	if c := lastTimestamp.Load(); c != nil && c.unix == unix && c.loc == loc && c.layout == layout {
		return append(dst, c.text...)
	}
	start := len(dst)
	dst = t.In(loc).AppendFormat(dst, layout)
	if !hasFractionalSeconds(layout) {
		lastTimestamp.Store(&cachedTimestamp{unix: unix, loc: loc, layout: layout, text: string(dst[start:])})
	}
	return dst
}

// hasFractionalSeconds reports whether a time.Format layout may show
// fractions of a second: Go spells them as a run of 0s or 9s after a '.' or
// ','. It may say yes for layouts that have none (such as "02.01.2006"),
// which only costs the cache.
func hasFractionalSeconds(layout string) bool {
	return strings.Contains(layout, ".0") || strings.Contains(layout, ".9") ||
		strings.Contains(layout, ",0") || strings.Contains(layout, ",9")
}
