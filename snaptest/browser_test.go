//go:build unix

package snaptest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// browserBinaries returns the paths of chromium and chromedriver. Without
// them the test is skipped, unless CI=true, where it fails.
func browserBinaries(t *testing.T) (chromium, driver string) {
	t.Helper()
	find := func(preferred, name string) string {
		if _, err := os.Stat(preferred); err == nil {
			return preferred
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		return ""
	}
	chromium = find("/usr/bin/chromium", "chromium")
	driver = find("/usr/bin/chromedriver", "chromedriver")
	if chromium == "" || driver == "" {
		msg := "the browser test needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return chromium, driver
}

// lockedBuffer collects a child process's output safely.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// webDriver speaks the W3C WebDriver protocol to a chromedriver, with
// net/http and encoding/json only.
type webDriver struct {
	base    string
	client  *http.Client
	session string
}

// startChromedriver starts chromedriver on a free loopback port and waits
// until it is ready. Cleanup kills it, and its children, by process group.
func startChromedriver(t *testing.T, driver string) *webDriver {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	out := &lockedBuffer{}
	cmd := exec.Command(driver, "--port="+strconv.Itoa(port), "--allowed-ips=127.0.0.1")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group we created: chromedriver and its browser
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("chromedriver output:\n%s", out.String())
		}
	})

	wd := &webDriver{base: "http://127.0.0.1:" + strconv.Itoa(port), client: &http.Client{Timeout: 60 * time.Second}}
	t.Cleanup(wd.client.CloseIdleConnections)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var status struct {
			Ready bool `json:"ready"`
		}
		if err := wd.call(http.MethodGet, "/status", nil, &status); err == nil && status.Ready {
			return wd
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromedriver not ready after 30s; output:\n%s", out.String())
		}
		select { // poll with a deadline on the condition
		case <-time.After(50 * time.Millisecond):
		case <-t.Context().Done():
			t.Fatal("test ended while waiting for chromedriver")
		}
	}
}

// call sends one WebDriver command and decodes the answer's "value" into
// out (when not nil).
func (wd *webDriver) call(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, wd.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := wd.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var envelope struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &envelope); err != nil {
		return fmt.Errorf("webdriver %s %s: %d %.200s", method, path, resp.StatusCode, raw)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(envelope.Value, &e)
		return fmt.Errorf("webdriver %s %s: %d %s: %s", method, path, resp.StatusCode, e.Error, e.Message)
	}
	if out != nil {
		return json.Unmarshal(envelope.Value, out)
	}
	return nil
}

// newSession starts headless Chromium with a fresh profile; cleanup quits it.
func (wd *webDriver) newSession(t *testing.T, chromium string) {
	t.Helper()
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": chromium,
			"args": []string{
				"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
				"--disable-background-networking", "--disable-component-update", "--disable-sync",
				"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(),
			},
		},
	}}}
	var s struct {
		SessionID string `json:"sessionId"`
	}
	require.NoError(t, wd.call(http.MethodPost, "/session", caps, &s))
	require.NotEmpty(t, s.SessionID)
	wd.session = "/session/" + s.SessionID
	t.Cleanup(func() {
		if err := wd.call(http.MethodDelete, wd.session, nil, nil); err != nil {
			t.Logf("quitting the browser: %v", err)
		}
	})
}

func (wd *webDriver) navigate(t *testing.T, u string) {
	t.Helper()
	require.NoError(t, wd.call(http.MethodPost, wd.session+"/url", map[string]string{"url": u}, nil))
}

func (wd *webDriver) click(t *testing.T, css string) {
	t.Helper()
	var el map[string]string
	require.NoError(t, wd.call(http.MethodPost, wd.session+"/element", map[string]string{"using": "css selector", "value": css}, &el))
	id := el["element-6066-11e4-a52e-4f735466cecf"]
	require.NotEmpty(t, id, "no element %s", css)
	require.NoError(t, wd.call(http.MethodPost, wd.session+"/element/"+id+"/click", map[string]any{}, nil))
}

func (wd *webDriver) currentURL(t *testing.T) string {
	t.Helper()
	var u string
	require.NoError(t, wd.call(http.MethodGet, wd.session+"/url", nil, &u))
	return u
}

// TestBrowserConsent drives the account-binding page in headless Chromium:
// the customer approves, the browser lands on the partner's callback with
// an authCode and the state, and the partner exchanges the code for a
// customer token. Then a second binding is denied.
func TestBrowserConsent(t *testing.T) {
	chromium, driver := browserBinaries(t)
	srv := snaptest.NewServer()
	defer srv.Close()

	callbacks := make(chan *url.URL, 4)
	partner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/snap/callback" { // favicon and the like
			http.NotFound(w, r)
			return
		}
		callbacks <- r.URL
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>partner</title><p id=done>back at the partner</p>")
	}))
	defer partner.Close()

	cfg := &snapauth.B2B2CConfig{
		TokenURL:    srv.B2B2CTokenURL(),
		ClientKey:   srv.ClientKey,
		PrivateKey:  srv.PrivateKey,
		AuthURL:     srv.AuthURL(),
		PartnerID:   srv.PartnerID,
		RedirectURL: partner.URL + "/snap/callback",
		Scopes:      []string{"QUERY_BALANCE", "PUBLIC_ID"},
		HTTPClient:  srv.Client(),
	}
	wd := startChromedriver(t, driver)
	wd.newSession(t, chromium)

	// waitCallback waits, with a deadline, for the browser to reach the
	// partner's callback.
	waitCallback := func() *url.URL {
		t.Helper()
		select {
		case u := <-callbacks:
			return u
		case <-time.After(30 * time.Second):
			t.Fatalf("the browser never reached the partner's callback; it is at %s", wd.currentURL(t))
			return nil
		}
	}

	state := rand.Text()
	page, err := cfg.AuthCodeURL(state, nil)
	require.NoError(t, err)
	wd.navigate(t, page)
	wd.click(t, "#approve")
	u := waitCallback()
	assert.Equal(t, "/snap/callback", u.Path)
	assert.Equal(t, state, u.Query().Get("state"))
	require.Eventually(t, func() bool { return strings.HasPrefix(wd.currentURL(t), partner.URL+"/snap/callback?") },
		10*time.Second, 20*time.Millisecond, "the browser shows the partner's page")

	code, err := cfg.AuthCodeFromRedirect(u, state)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := cfg.Exchange(ctx, code)
	require.NoError(t, err)
	assert.NotEmpty(t, tok.AccessToken)
	assert.Greater(t, len(tok.RefreshToken), 512)
	assert.Equal(t, 1, srv.Stats().Issued[snaptest.EndpointB2B2C])

	// The customer token works on a customer endpoint.
	a := send(t, srv, serviceCall{token: b2bToken(t, srv), customer: tok.AccessToken, path: "/v1.0/customer/balance-inquiry", body: `{}`}.request(t, srv))
	assert.Equal(t, "2004700", a.code(), string(a.raw))

	// The code was used up by the exchange.
	_, err = cfg.Exchange(ctx, code)
	var snapErr *snapauth.Error
	require.ErrorAs(t, err, &snapErr)
	assert.Equal(t, "4017401", snapErr.ResponseCode)

	// A customer who declines sends the partner an error, not a code.
	state = rand.Text()
	page, err = cfg.AuthCodeURL(state, nil)
	require.NoError(t, err)
	wd.navigate(t, page)
	wd.click(t, "#deny")
	u = waitCallback()
	_, err = cfg.AuthCodeFromRedirect(u, state)
	assert.True(t, errors.Is(err, snapauth.ErrAccessDenied), "%v", err)
}
