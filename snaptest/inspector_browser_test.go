//go:build unix

package snaptest_test

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setWindow sizes the browser window (the viewport follows in headless mode).
func (wd *webDriver) setWindow(t *testing.T, width, height int) {
	t.Helper()
	require.NoError(t, wd.call(http.MethodPost, wd.session+"/window/rect", map[string]int{"width": width, "height": height}, nil))
}

// script runs JavaScript in the page and decodes its result into out.
func (wd *webDriver) script(t *testing.T, js string, out any) {
	t.Helper()
	require.NoError(t, wd.call(http.MethodPost, wd.session+"/execute/sync", map[string]any{"script": js, "args": []any{}}, out))
}

// text returns the rendered text of the first element matching css, "" when
// there is none.
func (wd *webDriver) text(t *testing.T, css string) string {
	t.Helper()
	var el map[string]string
	if err := wd.call(http.MethodPost, wd.session+"/element", map[string]string{"using": "css selector", "value": css}, &el); err != nil {
		return ""
	}
	var s string
	require.NoError(t, wd.call(http.MethodGet, wd.session+"/element/"+el["element-6066-11e4-a52e-4f735466cecf"]+"/text", nil, &s))
	return s
}

// screenshot takes a PNG of the viewport, decodes it, and keeps it under
// SNAPTEST_SCREENSHOTS (a directory) when set, to look at.
func (wd *webDriver) screenshot(t *testing.T, name string) image.Image {
	t.Helper()
	var b64 string
	require.NoError(t, wd.call(http.MethodGet, wd.session+"/screenshot", nil, &b64))
	raw, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err, "the screenshot is not a PNG")
	if dir := os.Getenv("SNAPTEST_SCREENSHOTS"); dir != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), raw, 0o644))
	}
	return img
}

// countColor counts the pixels of img within 24 of the colour r, g, b on
// each channel.
func countColor(img image.Image, r, g, b int) int {
	n := 0
	near := func(v uint32, want int) bool { d := int(v>>8) - want; return d > -24 && d < 24 }
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if near(pr, r) && near(pg, g) && near(pb, b) {
				n++
			}
		}
	}
	return n
}

// waitText waits, with a deadline, until the element matching css shows
// want, and returns its text.
func (wd *webDriver) waitText(t *testing.T, css, want string) string {
	t.Helper()
	var got string
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(got, want) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q; it shows %q", css, want, got)
		}
		select { // poll with a deadline on the condition
		case <-time.After(100 * time.Millisecond):
		case <-t.Context().Done():
			t.Fatal("test ended")
		}
		got = wd.text(t, css)
	}
	return got
}

// TestBrowserInspector opens the inspector in headless Chromium, then sends
// the sandbox an accepted call and a call whose body a proxy changed after
// signing: the page shows both as they arrive, the rejected one with the
// header and rule it broke and the most likely cause, in red.
func TestBrowserInspector(t *testing.T) {
	chromium, driver := browserBinaries(t)
	srv := snaptest.NewServer(snaptest.WithInspector())
	defer srv.Close()
	wd := startChromedriver(t, driver)
	wd.newSession(t, chromium)
	wd.setWindow(t, 1280, 900)
	wd.navigate(t, srv.InspectorURL())
	assert.Contains(t, wd.waitText(t, "#empty", "No request yet"), "No request yet")

	token := b2bToken(t, srv)
	ok := send(t, srv, serviceCall{token: token, body: `{"amount":"10.00"}`}.request(t, srv))
	require.Equal(t, "2004700", ok.code())
	bad := send(t, srv, serviceCall{token: token, body: `{"amount":"10.00"}`, sendBody: ptr(`{"amount":"99.00"}`)}.request(t, srv))
	require.Equal(t, "4014700", bad.code())

	// The page refreshes by itself: no navigation after the requests.
	card := wd.waitText(t, ".req.rejected", "Unauthorized. [Signature]")
	assert.Contains(t, card, "rejected")
	assert.Contains(t, card, "POST /v1.0/transfer-va/inquiry")
	assert.Contains(t, card, "HTTP 401 4014700 Unauthorized. [Signature]")
	assert.Contains(t, card, "Why: X-SIGNATURE is not the HMAC-SHA512")
	assert.Contains(t, card, "most likely the body changed after it was signed")
	assert.Contains(t, card, "POST:/v1.0/transfer-va/inquiry:"+token[:4]+"…(256 chars):")
	assert.NotContains(t, card, token)
	assert.Contains(t, wd.text(t, "#req-2"), "accepted")
	assert.Contains(t, wd.text(t, "#req-3"), "rejected")
	assert.Contains(t, wd.text(t, "#status"), "3 requests")

	// The screenshot shows the rejection in the page's red (#c8102e): the
	// verdict badge and the card's border; and the accepted card's green.
	img := wd.screenshot(t, "inspector")
	assert.Greater(t, countColor(img, 0xc8, 0x10, 0x2e), 500, "no red rejection visible in the screenshot")
	assert.Greater(t, countColor(img, 0x1f, 0x9d, 0x55), 500, "no green acceptance visible in the screenshot")
	var top struct {
		Reason string `json:"reason"`
	}
	wd.script(t, `var r = document.querySelector("#list .req"); return {reason: r.querySelector(".rule").textContent};`, &top)
	assert.Contains(t, top.Reason, "X-SIGNATURE", "the newest request is listed first, with its reason")
}
