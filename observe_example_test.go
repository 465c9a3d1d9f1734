package snapauth_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
)

// SlogObserver logs what the token sources and the transport do: here a
// token fetch that is retried once after a provider error, and a token the
// provider revoked, which the transport drops and renews. The store key says
// whose token it is; no token or secret is ever logged.
func ExampleSlogObserver() {
	srv := snaptest.NewServer()
	defer srv.Close()

	// Time and the durations change from run to run: drop them, so that the
	// output below is stable. A real logger keeps them.
	varying := map[string]bool{slog.TimeKey: true, "duration": true, "expiry": true}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if varying[a.Key] {
				return slog.Attr{}
			}
			return a
		},
	}))

	cfg := &snapauth.B2BConfig{
		TokenURL:   srv.B2BTokenURL(),
		ClientKey:  srv.ClientKey,
		PrivateKey: srv.PrivateKey,
		Backoff:    func(int) time.Duration { return 10 * time.Millisecond },
		Observer:   snapauth.SlogObserver(logger),
	}
	ctx := context.Background()
	client := &http.Client{Transport: &snapauth.Transport{
		Source:       cfg.StoredTokenSource(ctx, snapauth.NewMemoryStore(), "partner-a"),
		ClientSecret: srv.ClientSecret,
		PartnerID:    srv.PartnerID,
		ChannelID:    srv.ChannelID,
	}}
	call := func() {
		resp, err := client.Post(srv.ServiceURL("/v1.0/balance-inquiry"), "application/json", strings.NewReader(`{}`))
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}

	srv.FailTokenCalls(1, http.StatusInternalServerError, "5007300")
	call()
	srv.RevokeAccessTokens()
	call()
	// Output:
	// level=WARN msg="snapauth: token.retry" flow=b2b key=partner-a attempt=1 wait=10ms status=500 code=5007300 err="snapauth: 500 Internal Server Error: 5007300 General Error"
	// level=INFO msg="snapauth: token.fetched" flow=b2b key=partner-a attempt=2 code=2007300
	// 200
	// level=WARN msg="snapauth: token.invalidated" flow=b2b key=partner-a status=401 code=4014701
	// level=INFO msg="snapauth: token.renewed" flow=b2b key=partner-a attempt=1 code=2007300
	// 200
}
