package snapauth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFormatTimestamp(t *testing.T) {
	instant := time.Date(2020, 12, 17, 3, 55, 0, 999999999, time.UTC)
	assert.Equal(t, "2020-12-17T03:55:00+00:00", snapauth.FormatTimestamp(instant))
	assert.Equal(t, "2020-12-17T10:55:00+07:00", snapauth.FormatTimestamp(instant.In(snapauth.Jakarta)))
	assert.Equal(t, "2020-12-16T22:25:00-05:30", snapauth.FormatTimestamp(instant.In(time.FixedZone("", -(5*3600+1800)))))
}

func TestParseTimestamp(t *testing.T) {
	jakarta := time.Date(2020, 12, 17, 10, 55, 0, 0, snapauth.Jakarta)
	for s, want := range map[string]time.Time{
		"2020-12-17T10:55:00+07:00":          jakarta,
		"2020-12-17T10:55:00.123+07:00":      jakarta.Add(123 * time.Millisecond),
		"2020-12-17T03:55:00Z":               jakarta,
		"2020-12-17T03:55:00.5Z":             jakarta.Add(500 * time.Millisecond),
		"2020-12-17T03:55:00.123456789Z":     jakarta.Add(123456789),
		"2020-12-16T22:25:00-05:30":          jakarta,
		"2020-12-17T03:55:00+00:00":          jakarta,
		"2020-12-17T03:55:00-00:00":          jakarta,
		snapauth.BRI.Timestamp(jakarta):      jakarta,
		snapauth.DOKU.Timestamp(jakarta):     jakarta,
		snapauth.FormatTimestamp(jakarta):    jakarta,
		snapauth.Standard.Timestamp(jakarta): jakarta,
		"2024-02-29T23:59:59+07:00":          time.Date(2024, 2, 29, 23, 59, 59, 0, snapauth.Jakarta),
	} {
		got, err := snapauth.ParseTimestamp(s)
		if assert.NoError(t, err, s) {
			assert.True(t, want.Equal(got), "%s: got %v", s, got)
		}
	}
	for _, s := range []string{
		"", "2020-12-17T10:55:00", "2020-12-17T10:55:00.123", "2020-12-17 10:55:00+07:00",
		"2020-12-17t10:55:00+07:00", "2020-12-17T10:55:00z", "2020-12-17T1:55:00+07:00",
		"2020-12-17T10:55:00,123+07:00", "2020-12-17T10:55:00+0700", "2020-12-17T10:55:00+07",
		"2020-12-17T10:55:00+24:00", "2020-12-17T10:55:00+07:60", "2020-12-17T10:55:00.+07:00",
		"2020-12-17T10:55:00.1234567890Z", "2020-12-17T24:00:00Z", "2020-02-30T10:55:00Z",
		"17/12/2020 10:55:00", "1608177300", "2020-12-17T10:55:00+07:00 ", " 2020-12-17T10:55:00+07:00",
		"2020-12-17T10:55:00+07:00Z", "２020-12-17T10:55:00Z",
	} {
		_, err := snapauth.ParseTimestamp(s)
		if assert.Error(t, err, "%q", s) {
			assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "))
		}
	}
}

func TestCheckTimestamp(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 15, 0, 0, snapauth.Jakarta)
	for _, ok := range []string{"2026-11-22T09:15:00+07:00", "2026-11-22T02:20:00Z", "2026-11-22T09:10:00+07:00", "2026-11-22T09:20:00.000+07:00"} {
		got, err := snapauth.CheckTimestamp(ok, now, 5*time.Minute)
		require.NoError(t, err, ok)
		assert.WithinDuration(t, now, got, 5*time.Minute)
	}
	for _, stale := range []string{"2026-11-22T09:09:59+07:00", "2026-11-22T02:20:01Z", "2026-11-21T09:15:00+07:00"} {
		_, err := snapauth.CheckTimestamp(stale, now, 5*time.Minute)
		require.ErrorIs(t, err, snapauth.ErrStaleTimestamp, stale)
	}
	_, err := snapauth.CheckTimestamp("2026-11-22T09:15:00", now, time.Hour)
	require.Error(t, err)
	assert.NotErrorIs(t, err, snapauth.ErrStaleTimestamp)
}
