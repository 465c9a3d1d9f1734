package snapauth

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"golang.org/x/oauth2"
)

// TestRoundTripAllocations holds RoundTrip to its allocation budget: at most
// 12 for a signed 1 KiB request, counting only what RoundTrip adds (the
// no-op base and the rewound body allocate nothing).
func TestRoundTripAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	tr := &Transport{
		Base:         noopBase{&http.Response{StatusCode: 200, Body: http.NoBody}},
		Source:       oauth2.StaticTokenSource(benchToken),
		ClientSecret: benchSecret,
		PartnerID:    "82150823919040624621823174737537",
		ChannelID:    "95221",
	}
	body := benchPrettyBody(t)
	post, rb := newBenchRequest(t, body)
	get, err := http.NewRequest(http.MethodGet, "https://api.bank.example/snap/v1.0/balance-inquiry", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  *http.Request
		max  float64
	}{{"1 KiB POST", post, 12}, {"bodiless GET", get, 6}} {
		n := testing.AllocsPerRun(200, func() {
			rb.Reset(body)
			if resp, err := tr.RoundTrip(tc.req); err != nil || resp.StatusCode != 200 {
				t.Fatal(err)
			}
		})
		if n > tc.max {
			t.Errorf("%s: %.1f allocations per RoundTrip, budget %.0f", tc.name, n, tc.max)
		}
		t.Logf("%s: %.1f allocations", tc.name, n)
	}
}

// TestReadRequestBodyAllocations: an empty body of unknown length costs no
// allocation, a small one exactly one (its own bytes).
func TestReadRequestBodyAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	for _, tc := range []struct {
		body string
		max  float64
	}{{"", 0}, {`{"a":1}`, 1}} {
		r := &rewindable{}
		req := &http.Request{Body: r}
		b := []byte(tc.body)
		n := testing.AllocsPerRun(200, func() {
			r.Reset(b)
			got, err := readRequestBody(req, defaultMaxBodySize)
			if err != nil || string(got) != tc.body {
				t.Fatalf("%q, %v", got, err)
			}
		})
		if n > tc.max {
			t.Errorf("body %q: %.1f allocations, want at most %.0f", tc.body, n, tc.max)
		}
	}
}

// rewindable is a body of unknown length (no ContentLength) that the test
// can rewind without allocating.
type rewindable struct{ bytes.Reader }

func (*rewindable) Close() error { return nil }

var _ io.ReadCloser = (*rewindable)(nil)
