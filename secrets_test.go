package snapauth

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --- secrets --------------------------------------------------------------

// TestNoSecretsInOutput prints configs, sources and errors every way fmt can
// and looks for the private key (PEM, base64 DER, its numbers), the
// additionalInfo secret and the tokens.
func TestNoSecretsInOutput(t *testing.T) {
	key := testkey.RSA(t)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	pkcs1 := x509.MarshalPKCS1PrivateKey(key)
	secrets := []string{
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
		base64.StdEncoding.EncodeToString(pkcs8)[:64],
		base64.StdEncoding.EncodeToString(pkcs1)[:64],
		fmt.Sprintf("%x", pkcs1[:32]),
		key.D.String()[:40], key.D.Text(16)[:40], key.Primes[0].String()[:40], key.Primes[1].String()[:40],
		"client-secret-in-additional-info", "access-token-AAAA", "refresh-token-RRRR",
	}

	clock := newSrcClock()
	var mode atomic.Int64
	p := newFakeProvider(t, clock.Now, func(r fakeRequest) fakeAnswer {
		switch mode.Load() {
		case 0:
			return okAnswer(`{"responseCode":"2007400","accessToken":"access-token-AAAA","refreshToken":"refresh-token-RRRR","accessTokenExpiryTime":"` +
				clock.Now().Add(15*time.Minute).Format(time.RFC3339) + `"}`)
		case 1:
			return okAnswer(`{"responseCode":"2007400","accessToken":"access-token-AAAA","refreshToken":"refresh-token-RRRR","accessTokenExpiryTime":"bad"}`)
		default:
			return fakeAnswer{Status: 401, Body: `{"responseCode":"4017401","responseMessage":"Invalid Token (B2B2C)"}`}
		}
	})
	b2b := p.b2b(clock)
	b2b.AdditionalInfo = map[string]any{"clientSecret": "client-secret-in-additional-info"}
	b2b2c := p.b2b2c(clock)
	var out []string
	for _, v := range []any{*b2b, b2b, *b2b2c, b2b2c} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
	}
	assert.Contains(t, out[0], "partner-client-key")
	assert.Contains(t, out[0], "[redacted]")

	ctx := context.Background()
	tok, err := b2b2c.Exchange(ctx, "auth-code")
	require.NoError(t, err)
	store := newSrcStore()
	store.failSaves(errors.New("read-only"))
	src := b2b2c.StoredTokenSource(ctx, store, "customer-1")
	src2 := b2b2c.TokenSource(ctx, tok)
	src2.(TokenInvalidator).Invalidate(tok)
	var errs []error
	_, err = src.Token() // ErrReauthorize: nothing stored
	errs = append(errs, err)
	storeErrSrc := b2b2c.StoredTokenSource(ctx, store, "customer-1")
	store.failSaves(nil)
	require.NoError(t, store.Save(ctx, "customer-1", tok))
	store.failSaves(errors.New("read-only"))
	store.afterMark = true
	clock.Advance(20 * time.Minute)
	_, err = storeErrSrc.Token() // refresh works, save fails: *StoreError
	var se *StoreError
	require.ErrorAs(t, err, &se)
	errs = append(errs, err)
	mode.Store(1)
	_, err = b2b2c.Exchange(ctx, "auth-code")
	errs = append(errs, err)
	mode.Store(2)
	_, err = b2b2c.Refresh(ctx, "refresh-token-RRRR")
	require.ErrorIs(t, err, ErrReauthorize)
	errs = append(errs, err)
	bad := *b2b
	bad.TokenURL = "http://provider.example.com/x?clientSecret=client-secret-in-additional-info"
	_, err = bad.Token(ctx)
	errs = append(errs, err)
	for _, e := range errs {
		require.Error(t, e)
		for _, verb := range []string{"%v", "%+v", "%s", "%q"} {
			out = append(out, fmt.Sprintf(verb, e))
		}
	}
	for _, s := range []any{src, src2, storeErrSrc} {
		for _, verb := range []string{"%v", "%+v", "%#v"} {
			out = append(out, fmt.Sprintf(verb, s))
		}
	}
	for _, o := range out {
		for _, s := range secrets {
			require.NotContains(t, o, s)
		}
	}
}
