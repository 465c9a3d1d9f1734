package faulttest

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/snapauth/snapauth"
	"golang.org/x/oauth2"
)

// secrets holds every fragment of a secret that must never be printed.
type secrets struct {
	needles []string
	names   []string
}

// add records s, and fragments of it, so that a truncated copy is caught too.
func (s *secrets) add(name, secret string, fragment int) {
	if secret == "" {
		return
	}
	s.needles = append(s.needles, secret)
	s.names = append(s.names, name)
	if fragment <= 0 || len(secret) <= fragment {
		return
	}
	for i := 0; i+fragment <= len(secret); i += fragment {
		frag := secret[i : i+fragment]
		// The fragment as such, and as %#v prints a []byte holding it
		// ("0x61, 0x62, ..."), which decodes back as easily.
		asBytes := strings.TrimSuffix(strings.TrimPrefix(fmt.Sprintf("%#v", []byte(frag)), "[]byte{"), "}")
		s.needles = append(s.needles, frag, asBytes)
		s.names = append(s.names, fmt.Sprintf("%s[%d:%d]", name, i, i+fragment), fmt.Sprintf("%s[%d:%d] as Go bytes", name, i, i+fragment))
	}
}

// addKey records the private key in every form it may leak in: the base64 of
// its PKCS#1 and PKCS#8 DER (the body of a PEM file or a bare base64 key,
// fragments from the secret part, past the structural header that every RSA
// key shares), its DER bytes, and its private numbers in decimal and hex.
func (s *secrets) addKey(k *rsa.PrivateKey) {
	pk8, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err)
	}
	for name, der := range map[string][]byte{"PKCS#1 DER": x509.MarshalPKCS1PrivateKey(k), "PKCS#8 DER": pk8} {
		b64 := base64.StdEncoding.EncodeToString(der)
		// Skip the header and the public modulus that opens the key; the
		// private exponent and primes follow.
		s.add(name+" base64", b64[400:len(b64)-4], 12)
		s.add(name+" bytes", string(der[300:len(der)-2]), 12)
	}
	for name, n := range map[string]string{"D": k.D.String(), "P": k.Primes[0].String(), "Q": k.Primes[1].String()} {
		s.add(name+" decimal", n, 20)
	}
	for name, b := range map[string][]byte{"D": k.D.Bytes(), "P": k.Primes[0].Bytes(), "Q": k.Primes[1].Bytes()} {
		s.add(name+" hex", hex.EncodeToString(b), 16)
		s.add(name+" HEX", strings.ToUpper(hex.EncodeToString(b)), 16)
	}
}

func (s *secrets) addToken(t *oauth2.Token) {
	if t == nil {
		return
	}
	s.add("access token", t.AccessToken, 16)
	s.add("refresh token", t.RefreshToken, 16)
}

// check fails the test if out holds any secret.
func (s *secrets) check(t testing.TB, where, out string) {
	t.Helper()
	for i, n := range s.needles {
		if at := strings.Index(out, n); at >= 0 {
			t.Errorf("%s leaks the %s: …%q…", where, s.names[i], out[max(0, at-60):at+min(len(n), 24)])
			return
		}
	}
}

// checkFormats prints v with every verb a log line or a panic might use.
func (s *secrets) checkFormats(t testing.TB, name string, v any) {
	t.Helper()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		s.check(t, fmt.Sprintf("%s printed with %s", name, verb), fmt.Sprintf(verb, v))
	}
	if err, ok := v.(error); ok && err != nil {
		s.check(t, name+".Error()", err.Error())
	}
}

// echoServer answers every request with status and a body that echoes the
// request's headers and body, as a misconfigured gateway's error page does.
func echoServer(t testing.TB, status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"responseCode":"%d7300","responseMessage":"echo %s %q","request":%s}`, status, r.Header.Get("X-SIGNATURE"), r.Header, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// jsonEchoServer answers every request with status and a well-formed SNAP
// answer whose responseMessage echoes the request's body and bearer tokens,
// as a provider that quotes the refresh token it refuses does
// ("Invalid refresh token [<refreshToken>]").
func jsonEchoServer(t testing.TB, status int, code string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		msg := "Invalid Token [" + string(body) + "] [" + r.Header.Get("Authorization") + "] [" + r.Header.Get("Authorization-Customer") + "]"
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"responseCode": code, "responseMessage": msg})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// failingStore saves nothing but the marker of a refresh in flight: the
// refresh goes out, and the rotated token cannot be saved.
type failingStore struct{ *snapauth.MemoryStore }

func (s failingStore) Save(ctx context.Context, key string, t *oauth2.Token) error {
	if t.Extra(snapauth.RefreshingExtra) != nil {
		return s.MemoryStore.Save(ctx, key, t)
	}
	return errors.New("disk full")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
