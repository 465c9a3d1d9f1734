package faulttest

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/require"
)

// TestNoSecretInOutput drives the library through successes and failures and
// scans everything it prints: error strings, every fmt verb of configs,
// transports, sources, stores and errors, and the standard and slog loggers'
// output. No private key fragment (PEM/DER/base64, private numbers), client
// secret, access token, refresh token or authorization code may appear.
func TestNoSecretInOutput(t *testing.T) {
	var logs bytes.Buffer
	var logMu sync.Mutex
	logW := writerFunc(func(b []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return logs.Write(b) })
	log.SetOutput(logW)
	oldSlog := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(logW, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { log.SetOutput(os.Stderr); slog.SetDefault(oldSlog) })

	ctx := context.Background()
	p := newProvider(t, nil)
	var sec secrets
	sec.addKey(testkey.RSA(t))
	sec.add("client secret", p.clientSecret, 12)

	var printed []struct {
		name string
		v    any
	}
	show := func(name string, v any) {
		printed = append(printed, struct {
			name string
			v    any
		}{name, v})
	}

	// Configs and a transport holding every secret, and sources holding tokens.
	b2bCfg := &snapauth.B2BConfig{TokenURL: p.srv.URL + b2bPath, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t), HTTPClient: p.srv.Client()}
	custCfg := &snapauth.B2B2CConfig{TokenURL: p.srv.URL + b2b2cPath, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t), HTTPClient: p.srv.Client(), PartnerID: p.partnerID}
	// Their sources log every event to slog.Default, which the scan reads.
	b2bCfg.Observer, custCfg.Observer = snapauth.SlogObserver(nil), snapauth.SlogObserver(nil)
	b2bSrc := b2bCfg.TokenSource(ctx)
	b2bTok, err := b2bSrc.Token()
	require.NoError(t, err)
	sec.addToken(b2bTok)
	code := p.newAuthCode()
	sec.add("auth code", code, 16)
	linked, err := custCfg.Exchange(ctx, code)
	require.NoError(t, err)
	sec.addToken(linked)
	custSrc := custCfg.TokenSource(ctx, linked)
	store := snapauth.NewMemoryStore()
	require.NoError(t, store.Save(ctx, "c", linked))
	fileStore, err := snapauth.NewFileStore(filepath.Join(t.TempDir(), "tokens"))
	require.NoError(t, err)
	require.NoError(t, fileStore.Save(ctx, "c", linked))
	storedSrc := custCfg.StoredTokenSource(ctx, store, "c")
	_, err = storedSrc.Token()
	require.NoError(t, err)
	tr := &snapauth.Transport{Source: b2bSrc, ClientSecret: p.clientSecret, PrivateKey: testkey.RSA(t), PartnerID: p.partnerID, ChannelID: p.channelID}
	show("B2BConfig", *b2bCfg)
	show("*B2BConfig", b2bCfg)
	show("B2B2CConfig", *custCfg)
	show("*B2B2CConfig", custCfg)
	show("Transport", *tr)
	show("*Transport", tr)
	show("B2B TokenSource", b2bSrc)
	show("B2B2C TokenSource", custSrc)
	show("stored B2B2C TokenSource", storedSrc)
	show("MemoryStore", store)
	show("FileStore", fileStore)
	show("ready client", b2bCfg.Client(ctx, tr))

	// The one-partner configuration, the customers cache holding a linked
	// customer, and the reverse direction's configuration and refusals.
	partner := &snapauth.Partner{ClientKey: p.clientKey, PrivateKey: testkey.RSA(t), ClientSecret: p.clientSecret, PartnerID: p.partnerID, ChannelID: p.channelID}
	show("Partner", *partner)
	show("*Partner", partner)
	customers := &snapauth.Customers{Config: custCfg, Store: fileStore}
	_, err = customers.Token(ctx, "c")
	require.NoError(t, err)
	show("Customers", customers)
	show("customer source", customers.Source("c"))
	verifier := &snapauth.Verifier{ClientSecret: p.clientSecret, PublicKey: &testkey.RSA(t).PublicKey}
	show("*Verifier", verifier)
	caller := snapauth.Caller{ClientKey: p.clientKey, PublicKey: &testkey.RSA(t).PublicKey, ClientSecret: p.clientSecret}
	show("Caller", caller)
	show("TokenServer", &snapauth.TokenServer{Callers: map[string]snapauth.Caller{p.clientKey: caller}})
	forged := httptest.NewRequest(http.MethodPost, servicePath, strings.NewReader(`{"refreshToken":"`+linked.RefreshToken+`"}`))
	forged.Header.Set("Authorization", "Bearer "+linked.AccessToken)
	forged.Header.Set("X-TIMESTAMP", snapauth.FormatTimestamp(time.Now()))
	forged.Header.Set("X-SIGNATURE", "AAAA")
	forged.Header.Set("X-PARTNER-ID", p.partnerID)
	forged.Header.Set("X-EXTERNAL-ID", "1")
	forged.Header.Set("CHANNEL-ID", p.channelID)
	refusal := verifier.Verify(forged)
	require.Error(t, refusal)
	show("Verifier refusal", refusal)

	// A token the transport was told is invalid stays in the source's
	// memory until the next fetch.
	invalidated := custCfg.TokenSource(ctx, linked)
	invalidated.(snapauth.TokenInvalidator).Invalidate(linked)
	show("B2B2C TokenSource after Invalidate", invalidated)

	// Errors: refusals, echoing gateways, spent refresh tokens, network
	// failures, a store that cannot save, a corrupt token file, bad keys.
	errs := map[string]error{}
	_, errs["wrong client key"] = (&snapauth.B2BConfig{TokenURL: p.srv.URL + b2bPath, ClientKey: "nobody", PrivateKey: testkey.RSA(t)}).Token(ctx)
	echo := echoServer(t, 500)
	_, errs["B2B 500 echoing the request"] = (&snapauth.B2BConfig{TokenURL: echo.URL, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t)}).Token(ctx)
	echoCfg := &snapauth.B2B2CConfig{TokenURL: echo.URL, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t), Observer: snapauth.SlogObserver(nil)}
	_, errs["refresh 500 echoing the request"] = echoCfg.Refresh(ctx, linked.RefreshToken)
	_, errs["exchange 500 echoing the request"] = echoCfg.Exchange(ctx, code)
	echo401 := echoServer(t, 401)
	_, errs["refresh 401 echoing the request"] = (&snapauth.B2B2CConfig{TokenURL: echo401.URL, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t)}).Refresh(ctx, linked.RefreshToken)
	for _, status := range []int{400, 401, 500} {
		quoting := jsonEchoServer(t, status, fmt.Sprintf("%d7401", status))
		quotingCfg := &snapauth.B2B2CConfig{TokenURL: quoting.URL, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t)}
		_, errs[fmt.Sprintf("refresh %d quoting the refresh token in responseMessage", status)] = quotingCfg.Refresh(ctx, linked.RefreshToken)
		_, errs[fmt.Sprintf("exchange %d quoting the auth code in responseMessage", status)] = quotingCfg.Exchange(ctx, code)
		req, _ := http.NewRequestWithContext(snapauth.WithCustomerToken(ctx, custCfg.TokenSource(ctx, linked)), http.MethodPost, quoting.URL+servicePath, strings.NewReader(`{}`))
		tr := &snapauth.Transport{Source: b2bSrc, ClientSecret: p.clientSecret}
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		errs[fmt.Sprintf("CheckResponse of a %d quoting the bearer tokens", status)] = snapauth.CheckResponse(resp)
		resp.Body.Close()
	}
	spent, err := custCfg.Refresh(ctx, linked.RefreshToken)
	require.NoError(t, err)
	sec.addToken(spent)
	_, errs["spent refresh token"] = custCfg.Refresh(ctx, linked.RefreshToken)
	require.ErrorIs(t, errs["spent refresh token"], snapauth.ErrReauthorize)
	_, errs["connection refused, secret in the URL query"] = (&snapauth.B2BConfig{TokenURL: "http://127.0.0.1:1/b2b?client_secret=" + p.clientSecret, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t)}).Token(ctx)
	_, errs["plain http, secret in the URL query"] = (&snapauth.B2BConfig{TokenURL: "http://snap.example.com/b2b?client_secret=" + p.clientSecret, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t)}).Token(ctx)
	expired := *spent
	expired.Expiry = time.Now().Add(-time.Hour)
	require.NoError(t, store.Save(ctx, "unsaved", &expired))
	_, errs["store cannot save"] = custCfg.StoredTokenSource(ctx, failingStore{store}, "unsaved").Token()
	var se *snapauth.StoreError
	require.ErrorAs(t, errs["store cannot save"], &se)
	sec.addToken(se.Token)
	show("StoreError", se)
	for name, cut := range map[string]func([]byte) []byte{
		"token file cut in the refresh token": func(b []byte) []byte { return b[:bytes.Index(b, []byte(linked.RefreshToken))+40] },
		"token file with a bad expiry":        func(b []byte) []byte { return bytes.Replace(b, []byte(`"expiry":"`), []byte(`"expiry":"x`), 1) },
		"token file with a bad type": func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"expires_in":`), []byte(`"expires_in":"`+linked.AccessToken+`",`), 1)
		},
	} {
		data, err := os.ReadFile(fileStore.Path("c"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(fileStore.Path("broken"), cut(data), 0o600))
		_, errs[name] = fileStore.Load(ctx, "broken")
	}
	slow := &snapauth.B2BConfig{TokenURL: p.srv.URL + b2bPath, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t), FetchTimeout: 100 * time.Millisecond, HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		<-r.Context().Done()
		return nil, r.Context().Err()
	})}}
	gaveUp, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, errs["caller gave up"] = slow.TokenSource(ctx).(snapauth.ContextTokenSource).TokenContext(gaveUp)
	cancel()
	req, _ := http.NewRequestWithContext(snapauth.WithCustomerToken(ctx, storedSrc), http.MethodPost, p.srv.URL+servicePath, strings.NewReader("not json "+p.clientSecret))
	_, errs["transport, body not JSON"] = tr.RoundTrip(req)
	req, _ = http.NewRequest(http.MethodPost, p.srv.URL+servicePath, strings.NewReader(`{}`))
	_, errs["transport, source failing"] = (&snapauth.Transport{Source: (&snapauth.B2BConfig{TokenURL: echo.URL, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t)}).TokenSource(ctx), ClientSecret: p.clientSecret}).RoundTrip(req)
	pemKey := testkey.PEM(t, testkey.RSA(t))
	for name, data := range map[string][]byte{
		"key PEM with a flipped character": bytes.Replace(pemKey, []byte("A"), []byte("*"), 1),
		"key PEM truncated":                pemKey[:len(pemKey)/2],
		"key bare base64 truncated":        []byte(base64.StdEncoding.EncodeToString(must(x509.MarshalPKCS8PrivateKey(testkey.RSA(t))))[:900]),
		"key PEM with a wrong type":        bytes.Replace(pemKey, []byte("PRIVATE KEY"), []byte("PUBLIC KEY"), 2),
		"key DER raw":                      x509.MarshalPKCS1PrivateKey(testkey.RSA(t))[:600],
	} {
		_, errs[name] = snapauth.ParsePrivateKey(data)
	}
	var byValue []snapauth.Error
	for name, err := range errs {
		require.Error(t, err, name)
		show("error: "+name, err)
		var apiErr *snapauth.Error
		if errors.As(err, &apiErr) {
			show("*Error of "+name, apiErr)
			byValue = append(byValue, *apiErr)
		}
	}

	for _, x := range printed {
		sec.checkFormats(t, x.name, x.v)
	}
	// Errors printed by value rather than through their pointer: with
	// pointer-receiver Error methods fmt would print the fields, Error's Body
	// (the raw answer, which a gateway may echo with the refresh token or
	// authorization code) as text and StoreError's Token in full.
	t.Run("errors by value", func(t *testing.T) {
		for _, v := range byValue {
			sec.checkFormats(t, "snapauth.Error (by value, not *Error) "+v.ResponseMessage, v)
		}
		sec.checkFormats(t, "snapauth.StoreError (by value, not *StoreError)", *se)
	})
	logMu.Lock()
	sec.check(t, "log output", logs.String())
	logMu.Unlock()
}

// TestEndlessAnswerIsCapped has token endpoints answer with an endless body
// (200 and 500, B2B and B2B2C): the fetch must fail quickly with an error,
// having read a bounded amount, and the memory allocated meanwhile must stay
// bounded too, far below what the server streamed.
func TestEndlessAnswerIsCapped(t *testing.T) {
	for _, status := range []int{200, 500} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			verifyNoLeaks(t)
			var streamed atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				chunk := bytes.Repeat([]byte("A"), 32<<10)
				n, _ := w.Write([]byte(`{"responseCode":"2007300","accessToken":"`))
				streamed.Add(int64(n))
				for streamed.Load() < 1<<30 { // 1 GiB, unless the client hangs up
					n, err := w.Write(chunk)
					streamed.Add(int64(n))
					if err != nil {
						return
					}
				}
			}))
			t.Cleanup(srv.Close)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for name, fetch := range map[string]func() error{
				"B2B": func() error {
					_, err := (&snapauth.B2BConfig{TokenURL: srv.URL, ClientKey: "k", PrivateKey: testkey.RSA(t), MaxRetries: -1}).Token(ctx)
					return err
				},
				"B2B2C": func() error {
					_, err := (&snapauth.B2B2CConfig{TokenURL: srv.URL, ClientKey: "k", PrivateKey: testkey.RSA(t), MaxRetries: -1}).Refresh(ctx, "rt")
					return err
				},
			} {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				start := time.Now()
				err := fetch()
				elapsed := time.Since(start)
				runtime.ReadMemStats(&after)
				require.Error(t, err, name)
				require.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
				var apiErr *snapauth.Error
				require.ErrorAs(t, err, &apiErr, name)
				require.LessOrEqual(t, len(apiErr.Body), 64<<10, "the error keeps at most 64 KiB of the answer")
				allocated := after.TotalAlloc - before.TotalAlloc
				t.Logf("%s: %v after %v, %d KiB allocated, %d KiB streamed so far", name, err, elapsed.Round(time.Millisecond), allocated>>10, streamed.Load()>>10)
				require.Less(t, elapsed, 10*time.Second)
				require.Less(t, allocated, uint64(32<<20), "memory allocated while reading an endless answer")
			}
		})
	}
}

// TestVerifyHelpersReject checks that the verification helpers a partner
// uses on the reverse direction (the provider calling it) accept the genuine
// signature and refuse wrong keys, other messages, truncated signatures and
// re-encoded ones (another alphabet, non-canonical padding, added bytes or
// whitespace), and that ParseTimestamp with a skew check refuses a
// timestamp outside the window.
func TestVerifyHelpersReject(t *testing.T) {
	const msg = "faulttest-client|2026-11-22T09:15:00+07:00"
	key := testkey.RSA(t)
	other, err := snapauth.ParsePublicKey(must(os.ReadFile("../testdata/keys/rsa-other-public.pem")))
	require.NoError(t, err)
	sig, err := snapauth.SignAsymmetric(key, msg)
	require.NoError(t, err)
	require.NoError(t, snapauth.VerifyAsymmetric(&key.PublicKey, msg, sig))

	raw := must(base64.StdEncoding.DecodeString(sig))
	require.Len(t, raw, 256)
	tampered := func(s string) map[string]string {
		b := must(base64.StdEncoding.DecodeString(s))
		last := s[len(s)-3] // 256 bytes = 85 quanta + 1 byte: "XY==", Y carries 4 unused bits
		alt := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", last) ^ 1
		flipped := append([]byte{}, b...)
		flipped[len(flipped)/2] ^= 0x01
		m := map[string]string{
			"empty":                   "",
			"truncated by one char":   s[:len(s)-1],
			"truncated by four chars": s[:len(s)-4],
			"one byte short":          base64.StdEncoding.EncodeToString(b[:len(b)-1]),
			"first half":              base64.StdEncoding.EncodeToString(b[:len(b)/2]),
			"one bit flipped":         base64.StdEncoding.EncodeToString(flipped),
			"non-canonical padding":   s[:len(s)-3] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[alt]) + "==",
			"extra byte":              base64.StdEncoding.EncodeToString(append(append([]byte{}, b...), 0)),
			"leading zero byte":       base64.StdEncoding.EncodeToString(append([]byte{0}, b...)),
			"trailing garbage":        s + "AAAA",
			"surrounding spaces":      " " + s + " ",
			// encoding/base64 skips CR and LF anywhere, so without a check
			// of its own decodeSignature (signer.go) takes a line-wrapped
			// copy as the same signature: a second text for one signature,
			// which its doc comment promises cannot happen.
			"line-wrapped with CR LF (signer.go decodeSignature must refuse newlines)": s[:40] + "\r\n" + s[40:],
			"base64 of the base64":      base64.StdEncoding.EncodeToString([]byte(s)),
			"hex with a non-hex digit":  "g" + hex.EncodeToString(b)[1:],
			"hex truncated":             hex.EncodeToString(b)[:len(b)*2-2],
			"signature of another text": "",
		}
		if strings.ContainsAny(s, "+/") {
			m["URL-safe alphabet"] = base64.URLEncoding.EncodeToString(b)
		}
		return m
	}
	for name, bad := range tampered(sig) {
		if name == "signature of another text" {
			bad = must(snapauth.SignAsymmetric(key, msg+"0"))
		}
		require.ErrorIs(t, snapauth.VerifyAsymmetric(&key.PublicKey, msg, bad), snapauth.ErrInvalidSignature, "VerifyAsymmetric accepted %s: %q", name, bad)
	}
	require.ErrorIs(t, snapauth.VerifyAsymmetric(other, msg, sig), snapauth.ErrInvalidSignature, "VerifyAsymmetric accepted the wrong key")
	require.Error(t, snapauth.VerifyAsymmetric(nil, msg, sig))

	const secret = "client-secret-of-the-partner"
	service := "POST:/v1.0/transfer-va/payment:tok:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855:2026-11-22T09:15:00+07:00"
	mac := snapauth.SignSymmetric(secret, service)
	require.NoError(t, snapauth.VerifySymmetric(secret, service, mac))
	for name, bad := range tampered(mac) {
		if name == "signature of another text" {
			bad = snapauth.SignSymmetric(secret, service+"0")
		}
		if name == "non-canonical padding" {
			continue // 64 bytes = 21 quanta + 1 byte, handled like RSA's; covered above
		}
		require.ErrorIs(t, snapauth.VerifySymmetric(secret, service, bad), snapauth.ErrInvalidSignature, "VerifySymmetric accepted %s: %q", name, bad)
	}
	require.ErrorIs(t, snapauth.VerifySymmetric(secret+"x", service, mac), snapauth.ErrInvalidSignature, "VerifySymmetric accepted the wrong secret")
	require.ErrorIs(t, snapauth.VerifySymmetric(secret, service, snapauth.SignSymmetric(secret, strings.Replace(service, ":tok:", ":other:", 1))), snapauth.ErrInvalidSignature)

	// Timestamps: parse, then check the skew the verifier chooses.
	now := time.Date(2026, 11, 22, 9, 15, 0, 0, time.FixedZone("WIB", 7*3600))
	const skew = 5 * time.Minute
	within := func(ts string) error {
		_, err := snapauth.CheckTimestamp(ts, now, skew)
		return err
	}
	for _, ok := range []string{"2026-11-22T09:15:00+07:00", "2026-11-22T02:11:00Z", "2026-11-22T09:19:59.999+07:00", "2026-11-22T09:10:00+07:00"} {
		require.NoError(t, within(ok), ok)
	}
	for _, bad := range []string{
		"2026-11-22T09:09:59+07:00", // expired: 5 min 1 s old
		"2026-11-22T02:20:01Z",      // too far ahead
		"2026-11-21T09:15:00+07:00", // yesterday, same time of day
		"2026-11-22T09:15:00",       // no zone
		"2026-11-22 09:15:00+07:00",
		"2026-11-22T9:15:00+07:00",
		"2026-11-22T09:15:00+24:00",
		"2026-11-22T09:15:00+0700",
		"",
	} {
		require.Error(t, within(bad), bad)
	}
}
