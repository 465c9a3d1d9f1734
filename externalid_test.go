package snapauth

import (
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewExternalID(t *testing.T) {
	const workers, each = 4, 25_000
	before := time.Now().UnixMilli()
	results := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			ids := make([]string, each)
			for i := range ids {
				ids[i] = NewExternalID()
			}
			results[w] = ids
		})
	}
	wg.Wait()
	after := time.Now().UnixMilli()
	seen := make(map[string]struct{}, workers*each)
	numeric := regexp.MustCompile(`^[0-9]{1,36}$`)
	for _, ids := range results {
		for _, id := range ids {
			if !numeric.MatchString(id) || len(id) != 36 {
				t.Fatalf("external id %q is not 36 digits", id)
			}
			ms, err := strconv.ParseInt(id[:13], 10, 64)
			if err != nil || ms < before || ms > after {
				t.Fatalf("external id %q: prefix is not the creation time in ms (%d..%d)", id, before, after)
			}
			seen[id] = struct{}{}
		}
	}
	assert.Len(t, seen, workers*each, "100k ids, no duplicates")

	// The random part is spread over all digits (a stuck digit would show).
	var counts [23][10]int
	for _, id := range results[0] {
		for i := range 23 {
			counts[i][id[13+i]-'0']++
		}
	}
	for i := range counts {
		for d, c := range counts[i] {
			assert.InDelta(t, each/10, c, each/20, "digit %d at position %d", d, i)
		}
	}
}

func TestTransportCustomExternalID(t *testing.T) {
	tr := newTestTransport(newCountingSource("tok"))
	tr.ExternalID = func() string { return "42" }
	base := &recordingBase{}
	tr.Base = base
	resp, err := (&http.Client{Transport: tr}).Get("http://127.0.0.1:1/v1.0/x")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "42", base.last.Header.Get("X-EXTERNAL-ID"))
}
