package snapauth

import (
	"errors"
	"fmt"
	"time"
)

// TimestampLayout is the X-TIMESTAMP layout of the SNAP standard, in Go's
// time.Format notation: yyyy-MM-ddTHH:mm:ss±hh:mm.
const TimestampLayout = "2006-01-02T15:04:05-07:00"

// Layouts of X-TIMESTAMP used by providers that deviate from the standard.
const (
	// TimestampLayoutMillis adds milliseconds (BRI): 2020-12-17T10:55:00.000+07:00.
	TimestampLayoutMillis = "2006-01-02T15:04:05.000-07:00"
	// TimestampLayoutZulu writes UTC as "Z" (DOKU): 2020-12-17T03:55:00Z.
	// Use it with a UTC Location.
	TimestampLayoutZulu = "2006-01-02T15:04:05Z07:00"
	// TimestampLayoutMillisZulu writes UTC with milliseconds and "Z", as
	// JavaScript's Date.toISOString does (Midtrans's Node SDK):
	// 2020-12-17T03:55:00.000Z. Use it with a UTC Location.
	TimestampLayoutMillisZulu = "2006-01-02T15:04:05.000Z07:00"
)

// Jakarta is Western Indonesia Time (WIB, UTC+07:00), the zone SNAP timestamps
// are written in by default. It is a fixed zone, so no time zone database is
// needed on the machine.
var Jakarta = time.FixedZone("WIB", 7*60*60)

// FormatTimestamp formats t as a standard SNAP X-TIMESTAMP,
// yyyy-MM-ddTHH:mm:ss±hh:mm, in t's own zone. Use Provider.Timestamp to
// format in a provider's zone and layout.
func FormatTimestamp(t time.Time) string {
	return t.Format(TimestampLayout)
}

// ParseTimestamp parses an X-TIMESTAMP in any of the layouts providers use:
// the standard one, with fractional seconds, or in UTC with "Z". A timestamp
// without a zone is an error.
func ParseTimestamp(s string) (time.Time, error) {
	if !timestampShape(s) {
		return time.Time{}, fmt.Errorf("snapauth: X-TIMESTAMP %q is not yyyy-MM-ddTHH:mm:ss±hh:mm", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("snapauth: X-TIMESTAMP %q is not yyyy-MM-ddTHH:mm:ss±hh:mm", s)
	}
	return t, nil
}

// timestampShape reports whether s has the fixed-width shape
// yyyy-MM-ddTHH:mm:ss[.fraction](Z|±hh:mm), which time.Parse alone does not
// enforce (it takes one-digit hours, comma fractions and +24:00 offsets).
func timestampShape(s string) bool {
	const head = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(head)+1 {
		return false
	}
	for i := 0; i < len(head); i++ {
		if !shapeByte(head[i], s[i]) {
			return false
		}
	}
	rest := s[len(head):]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && n <= 9 && '0' <= rest[n] && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	if rest == "Z" {
		return true
	}
	if len(rest) != 6 || rest[0] != '+' && rest[0] != '-' {
		return false
	}
	for i, c := range []byte("dd:dd") {
		if !shapeByte(c, rest[i+1]) {
			return false
		}
	}
	return rest[1:3] <= "23" && rest[4:6] <= "59"
}

func shapeByte(want, c byte) bool {
	if want == 'd' {
		return '0' <= c && c <= '9'
	}
	return c == want
}

// ErrStaleTimestamp is returned by CheckTimestamp for an X-TIMESTAMP outside
// the allowed skew.
var ErrStaleTimestamp = errors.New("snapauth: X-TIMESTAMP outside the allowed skew")

// CheckTimestamp parses an X-TIMESTAMP (see ParseTimestamp) and checks that
// it lies within skew of now, before or after: the replay window of a
// verifier. SNAP sets no window; 5 minutes is common practice. A timestamp
// outside it is ErrStaleTimestamp.
func CheckTimestamp(timestamp string, now time.Time, skew time.Duration) (time.Time, error) {
	t, err := ParseTimestamp(timestamp)
	if err != nil {
		return time.Time{}, err
	}
	if d := now.Sub(t); d > skew || d < -skew {
		return t, fmt.Errorf("%w: %s is %s from now (allowed %s)", ErrStaleTimestamp, timestamp, d.Round(time.Second), skew)
	}
	return t, nil
}
