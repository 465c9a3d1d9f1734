//go:build unix

package snaptest_test

import (
	"testing"

	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/assert"
)

// TestBrowserConsentLayout shows the consent page at a phone's width
// (390 px) and a desktop's: who is asking, each scope in words, where the
// customer goes back to, and Approve / Deny, readable without sideways
// scrolling and with buttons big enough to tap.
func TestBrowserConsentLayout(t *testing.T) {
	chromium, driver := browserBinaries(t)
	srv := snaptest.NewServer(snaptest.WithPartnerName("Toko Kopi Nusantara"))
	defer srv.Close()
	wd := startChromedriver(t, driver)
	wd.newSession(t, chromium)

	for _, size := range []struct {
		name          string
		width, height int
	}{{"phone", 390, 844}, {"desktop", 1280, 900}} {
		t.Run(size.name, func(t *testing.T) {
			wd.setWindow(t, size.width, size.height)
			wd.navigate(t, srv.AuthCodePageURL("https://shop.example/snap/callback?session=9", "s1", "QUERY_BALANCE", "PUBLIC_ID", "LOYALTY_POINTS"))
			var m struct {
				Viewport, Scroll    int
				Approve, Deny, Font float64
				ApproveTop          float64
			}
			wd.script(t, `var a = document.getElementById("approve").getBoundingClientRect();
				var d = document.getElementById("deny").getBoundingClientRect();
				return {Viewport: document.documentElement.clientWidth, Scroll: document.documentElement.scrollWidth,
					Approve: a.height, Deny: d.height, ApproveTop: a.top,
					Font: parseFloat(getComputedStyle(document.querySelector(".who")).fontSize)};`, &m)
			if size.name == "phone" {
				assert.LessOrEqual(t, m.Viewport, 400, "the viewport is a phone's")
			}
			assert.LessOrEqual(t, m.Scroll, m.Viewport, "the page scrolls sideways")
			assert.GreaterOrEqual(t, m.Approve, 44.0, "Approve is too small to tap")
			assert.GreaterOrEqual(t, m.Deny, 44.0, "Deny is too small to tap")
			assert.GreaterOrEqual(t, m.Font, 15.0, "the text is too small to read")
			assert.Less(t, m.ApproveTop, float64(size.height), "Approve is below the first screen")

			assert.Equal(t, "Toko Kopi Nusantara", wd.text(t, "#partner"))
			scopes := wd.text(t, "#scopes")
			assert.Contains(t, scopes, "See your balance")
			assert.Contains(t, scopes, "See your name and masked phone number")
			assert.Contains(t, scopes, "LOYALTY_POINTS (this wallet does not describe it)")
			back := wd.text(t, "#redirect")
			assert.Contains(t, back, "shop.example")
			assert.Contains(t, back, "https://shop.example/snap/callback?session=9")
			assert.Equal(t, "Approve", wd.text(t, "#approve"))
			assert.Equal(t, "Deny", wd.text(t, "#deny"))
			img := wd.screenshot(t, "consent-"+size.name)
			assert.Greater(t, countColor(img, 0x0f, 0x5b, 0xd8), 2000, "the Approve button and the wallet's bar are not visible")
		})
	}
}
