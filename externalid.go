package snapauth

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// ExternalIDFunc returns a new X-EXTERNAL-ID for each call. SNAP wants it
// numeric, at most 36 characters, and unique per partner per day; a provider
// answers 409xx00 to a reused one. It must be safe for concurrent use.
type ExternalIDFunc func() string

// NewExternalID returns a fresh X-EXTERNAL-ID: 36 decimal digits, the current
// Unix time in milliseconds (13 digits) followed by 23 digits from
// crypto/rand. Uniqueness needs no coordination between goroutines,
// processes or restarts: two IDs can collide only when they are made in the
// same millisecond and draw the same 23 random digits, a chance of 1 in
// 10^23 per pair. A partner sending a million requests a day meets a
// collision with a probability below 10^-19 a day; even a billion IDs made
// in one single millisecond collide with a probability below 10^-5.
func NewExternalID() string {
	return newExternalID(time.Now())
}

func newExternalID(now time.Time) string {
	var id [36]byte
	ms := now.UnixMilli() % 1e13
	if ms < 0 {
		ms = 0
	}
	putDigits(id[:13], uint64(ms))
	var r [24]byte
	rand.Read(r[:]) // never fails: crypto/rand crashes the program rather than return an error
	// Each 64-bit draw reduced modulo 10^8 (or 10^7) is uniform to within
	// 10^-11, which changes none of the odds above.
	putDigits(id[13:21], binary.LittleEndian.Uint64(r[0:8])%1e8)
	putDigits(id[21:29], binary.LittleEndian.Uint64(r[8:16])%1e8)
	putDigits(id[29:36], binary.LittleEndian.Uint64(r[16:24])%1e7)
	return string(id[:])
}

// putDigits writes v into dst as len(dst) decimal digits, zero-padded.
func putDigits(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}
