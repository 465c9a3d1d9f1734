package snapauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/storetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplayOncePerPartnerPerDay(t *testing.T) {
	body := []byte(`{"a":"b"}`)
	now := vfyNow
	v := &snapauth.Verifier{ClientSecret: vfySecret, Now: func() time.Time { return now }}
	req := vfySend(t, nil, http.MethodPost, "/v1.0/x", body, body, snapauth.Standard.Timestamp(now))
	require.NoError(t, v.Verify(req.build()))
	err := v.Verify(req.build())
	require.ErrorIs(t, err, snapauth.ErrReplay)
	var re *snapauth.RequestError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "4092400", re.ResponseCode("24"))

	// Another partner may use the same external id.
	other := with(req, func(r *vfyRequest) { r.Header.Set("X-PARTNER-ID", "PARTNER02") })
	require.NoError(t, v.Verify(other.build()))

	// A request signed a day later may use it again.
	now = now.Add(24 * time.Hour)
	later := vfySend(t, nil, http.MethodPost, "/v1.0/x", body, body, snapauth.Standard.Timestamp(now))
	later.Header.Set("X-EXTERNAL-ID", req.Header.Get("X-EXTERNAL-ID"))
	require.NoError(t, v.Verify(later.build()))
}

func TestReplayAcrossMidnight(t *testing.T) {
	// The day is the signed timestamp's, in Jakarta: a request signed at
	// 23:59:50 and replayed at 00:00:10 (inside the window) is still caught.
	body := []byte(`{}`)
	signed := time.Date(2026, 12, 1, 23, 59, 50, 0, snapauth.Jakarta)
	now := signed
	v := &snapauth.Verifier{ClientSecret: vfySecret, Now: func() time.Time { return now }}
	req := vfySend(t, nil, http.MethodPost, "/v1.0/x", body, body, snapauth.DOKU.Timestamp(signed)) // written in UTC
	require.NoError(t, v.Verify(req.build()))
	now = signed.Add(20 * time.Second)
	assert.ErrorIs(t, v.Verify(req.build()), snapauth.ErrReplay)
}

func TestReplayConcurrentMemory(t *testing.T) {
	v := vfySymmetric()
	body := []byte(`{"n":1}`)
	req := vfySend(t, nil, http.MethodPost, "/v1.0/x", body, body, snapauth.Standard.Timestamp(vfyNow))
	var accepted, replayed atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			switch err := v.Verify(req.build()); {
			case err == nil:
				accepted.Add(1)
			case errors.Is(err, snapauth.ErrReplay):
				replayed.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(1), accepted.Load())
	assert.Equal(t, int64(199), replayed.Load())
}

func TestReplayStoreFailureIsInternal(t *testing.T) {
	v := vfySymmetric()
	v.Replay = failingReplay{}
	body := []byte(`{}`)
	err := v.Verify(vfySend(t, nil, http.MethodPost, "/v1.0/x", body, body, snapauth.Standard.Timestamp(vfyNow)).build())
	var re *snapauth.RequestError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusInternalServerError, re.StatusCode, "fail closed, never accept")
	assert.ErrorIs(t, err, errStoreDown)
}

var errStoreDown = errors.New("store down")

type failingReplay struct{}

func (failingReplay) Seen(context.Context, string, time.Duration) (bool, error) {
	return false, errStoreDown
}

func TestMemoryReplayStoreConformance(t *testing.T) {
	storetest.RunReplay(t, func(*testing.T) snapauth.ReplayStore { return snapauth.NewMemoryReplayStore() })
}

// TestMemoryReplayStoreSweeps: expired records are swept, so the store
// stays bounded by the live ones, and a live record survives the sweeps.
func TestMemoryReplayStoreSweeps(t *testing.T) {
	ctx := context.Background()
	m := snapauth.NewMemoryReplayStore()
	seen, err := m.Seen(ctx, "k", time.Hour)
	require.NoError(t, err)
	require.False(t, seen)
	for i := range 5000 {
		_, err := m.Seen(ctx, "short-"+string(rune('a'+i%26))+strings.Repeat("x", i%50)+time.Duration(i).String(), time.Nanosecond)
		require.NoError(t, err)
	}
	assert.Less(t, m.Len(), 2100, "expired records were dropped")
	seen, err = m.Seen(ctx, "k", time.Hour)
	require.NoError(t, err)
	assert.True(t, seen, "a live record survives sweeps")
	assert.Contains(t, m.String(), "records")
}

func TestReplayKey(t *testing.T) {
	assert.NotEqual(t, snapauth.ReplayKey("a", "b\x00c", "d"), snapauth.ReplayKey("a\x00b", "c", "d"),
		"headers cannot hold NUL, so the parts never run together")
	assert.Equal(t, "snap-external-id\x00P\x002026-12-01\x0042", snapauth.ReplayKey("P", "42", "2026-12-01"))
}

func TestVerifyBodyLimitAndRewind(t *testing.T) {
	big := `{"a":"` + strings.Repeat("x", 600) + `"}`
	v := vfySymmetric()
	v.MaxBody = 100
	req := vfySend(t, nil, http.MethodPost, "/v1.0/x", []byte(big), []byte(big), snapauth.Standard.Timestamp(vfyNow))
	r := req.build()
	r.Body = io.NopCloser(iotest.HalfReader(strings.NewReader(big))) // no Content-Length
	r.ContentLength = -1
	require.ErrorIs(t, v.Verify(r), snapauth.ErrInvalidBody)
	rest, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, big, string(rest), "a refused body still reads whole from the start")

	r = req.build()
	r.Body = io.NopCloser(iotest.ErrReader(io.ErrUnexpectedEOF))
	r.ContentLength = -1
	assert.ErrorIs(t, v.Verify(r), snapauth.ErrInvalidBody)

	v.MaxBody = int64(len(big))
	require.NoError(t, v.Verify(req.build()), "a body of exactly MaxBody is read")
}
