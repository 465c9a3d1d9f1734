package snaptest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// providerKey is the provider's own RSA key, which signs the requests it
// sends to the partner; generated once per process, like partnerKey.
var providerKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("snaptest: generating the provider RSA key: " + err.Error())
	}
	return k
})

// ProviderPublicKey returns the public half of the provider's own RSA key,
// which signs the requests the provider sends to the partner (see Notify).
// A partner registers it to verify them, for example as
// snapauth.Verifier.PublicKey. It is not the partner's key.
func (s *Server) ProviderPublicKey() *rsa.PublicKey { return &providerKey().PublicKey }

// ProviderPublicKeyPEM returns ProviderPublicKey as PKIX PEM ("PUBLIC KEY"),
// the form a provider publishes.
func (s *Server) ProviderPublicKeyPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(s.ProviderPublicKey())
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

var notifySeq atomic.Uint64

// NewNotifyRequest returns a request the provider sends to the partner at
// url, such as a payment notification: a POST of body with only its
// insignificant whitespace removed, with the headers a SNAP provider sends
// (Content-Type, X-TIMESTAMP from the server's clock in its provider's
// layout, X-PARTNER-ID and CHANNEL-ID of the partner, a fresh numeric
// X-EXTERNAL-ID) and X-SIGNATURE, the asymmetric SHA256withRSA signature
// made with the provider's key over
// POST:EndpointUrl:lower(hex(sha256(sent body))):X-TIMESTAMP. It hashes
// the exact bytes it sends. The request's GetBody is set, so it can be sent
// again (a replay). A body that is not JSON (nor empty) is an error.
func (s *Server) NewNotifyRequest(ctx context.Context, url string, body []byte) (*http.Request, error) {
	var sent bytes.Buffer
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Compact(&sent, body); err != nil {
			return nil, errors.New("snaptest: notification body is not JSON")
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(sent.Bytes()))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	ts := cfg.provider.Timestamp(cfg.now())
	endpoint := req.URL.EscapedPath()
	if endpoint == "" {
		endpoint = "/"
	}
	if req.URL.RawQuery != "" {
		endpoint += "?" + req.URL.RawQuery
	}
	sum := sha256.Sum256(sent.Bytes())
	digest := sha256.Sum256([]byte(strings.Join([]string{http.MethodPost, endpoint, hex.EncodeToString(sum[:]), ts}, ":")))
	sig, err := rsa.SignPKCS1v15(nil, providerKey(), crypto.SHA256, digest[:])
	if err != nil {
		return nil, err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("X-TIMESTAMP", ts)
	h.Set("X-SIGNATURE", base64.StdEncoding.EncodeToString(sig))
	h.Set("X-PARTNER-ID", s.PartnerID)
	h.Set("X-EXTERNAL-ID", fmt.Sprintf("%d%04d", cfg.now().UnixMilli(), notifySeq.Add(1)%10000))
	h.Set("CHANNEL-ID", s.ChannelID)
	return req, nil
}

// Notify sends the request of NewNotifyRequest with http.DefaultClient and
// returns the partner's answer, whose body the caller must close.
func (s *Server) Notify(ctx context.Context, url string, body []byte) (*http.Response, error) {
	req, err := s.NewNotifyRequest(ctx, url, body)
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}
