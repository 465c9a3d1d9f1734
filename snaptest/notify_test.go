package snaptest_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNotify(t *testing.T) {
	srv := snaptest.NewServer(snaptest.WithProvider(snapauth.BRI))
	defer srv.Close()
	type seen struct {
		header http.Header
		body   []byte
		uri    string
	}
	got := make(chan seen, 4)
	partner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{r.Header.Clone(), body, r.RequestURI}
		w.WriteHeader(http.StatusOK)
	}))
	defer partner.Close()

	resp, err := srv.Notify(t.Context(), partner.URL+"/v1.0/qr/qr-mpm-notify?x=1", []byte("{\n  \"a\": \"caf\\u00e9 \\/\"\n}"))
	require.NoError(t, err)
	resp.Body.Close()
	s := <-got
	assert.Equal(t, `{"a":"caf\u00e9 \/"}`, string(s.body), "whitespace removed, escapes kept")
	assert.Equal(t, srv.PartnerID, s.header.Get("X-PARTNER-ID"))
	assert.Equal(t, srv.ChannelID, s.header.Get("CHANNEL-ID"))
	assert.Regexp(t, `^\d{17}$`, s.header.Get("X-EXTERNAL-ID"))
	ts := s.header.Get("X-TIMESTAMP")
	_, err = time.Parse(snapauth.TimestampLayoutMillis, ts)
	assert.NoError(t, err, "the provider's layout (BRI: milliseconds)")

	// The signature, checked with crypto/rsa against the provider's key,
	// not the partner's.
	sum := sha256.Sum256(s.body)
	digest := sha256.Sum256([]byte("POST:" + s.uri + ":" + hex.EncodeToString(sum[:]) + ":" + ts))
	sig, err := base64.StdEncoding.DecodeString(s.header.Get("X-SIGNATURE"))
	require.NoError(t, err)
	assert.NoError(t, rsa.VerifyPKCS1v15(srv.ProviderPublicKey(), crypto.SHA256, digest[:], sig))
	assert.Error(t, rsa.VerifyPKCS1v15(&srv.PrivateKey.PublicKey, crypto.SHA256, digest[:], sig))
	pub, err := snapauth.ParsePublicKey(srv.ProviderPublicKeyPEM())
	require.NoError(t, err)
	assert.True(t, pub.Equal(srv.ProviderPublicKey()))

	// The request can be sent again, as a replay, with the same headers.
	req, err := srv.NewNotifyRequest(t.Context(), partner.URL+"/n", nil)
	require.NoError(t, err)
	for range 2 {
		again := req.Clone(t.Context())
		again.Body, err = req.GetBody()
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(again)
		require.NoError(t, err)
		resp.Body.Close()
	}
	first, second := <-got, <-got
	assert.Equal(t, first.header.Get("X-EXTERNAL-ID"), second.header.Get("X-EXTERNAL-ID"))
	assert.Empty(t, first.body)

	_, err = srv.NewNotifyRequest(t.Context(), partner.URL, []byte("not json"))
	assert.ErrorContains(t, err, "snaptest: ")
}
