package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"golang.org/x/oauth2"
)

// The keys of the shared store's tokens.
const (
	B2BKey      = "b2b"         // the B2B token, in mode "b2b"
	CustomerKey = "customer-42" // the customer's token, in mode "b2b2c"
)

// TokenID is what a member reports instead of a token: a short hash of it.
func TokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:6])
}

// Member is the body of TestHelperProcess: when $env is set it runs member
// with its value, the mode, and a context that ends after Deadline, and
// exits, reporting an "error" line and status 1 if member fails; otherwise
// it skips the test.
func Member(t *testing.T, env string, member func(ctx context.Context, mode string) error) {
	mode := os.Getenv(env)
	if mode == "" {
		t.Skip("a child process of the fleet tests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), Deadline)
	err := member(ctx, mode)
	cancel()
	if err != nil {
		Report("error", oneLine(err))
		os.Exit(1)
	}
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

// RunMember is what a member does with the store it opened: it makes the
// token source of mode (the B2B token under B2BKey, or the customer's under
// CustomerKey) from the provider New passed, says ready and waits for go,
// then asks the source for a token every 10 ms, reporting "token ID" for
// each access token other than the one it held before, until it has seen
// as many as Start asked for; then it reports "done ACCESS REFRESH", the
// ids of the token it holds. An error for which soft (nil: none) reports
// true is reported as "soft ERROR", and the member asks again at the next
// tick; any other error ends the member.
func RunMember(ctx context.Context, mode string, store snapauth.TokenStore, soft func(error) bool) error {
	keyPEM, err := os.ReadFile(os.Getenv("FLEET_KEYFILE"))
	if err != nil {
		return err
	}
	key, err := snapauth.ParsePrivateKey(keyPEM)
	if err != nil {
		return err
	}
	want, err := strconv.Atoi(os.Getenv("FLEET_TOKENS"))
	if err != nil {
		return err
	}
	var early time.Duration // zero: the default margin
	if v := os.Getenv("FLEET_EARLY"); v != "" {
		if early, err = time.ParseDuration(v); err != nil {
			return err
		}
	}
	client := os.Getenv("FLEET_CLIENT")
	var src oauth2.TokenSource
	switch mode {
	case "b2b":
		cfg := &snapauth.B2BConfig{TokenURL: os.Getenv("FLEET_B2B_URL"), ClientKey: client, PrivateKey: key, EarlyRefresh: early}
		src = cfg.StoredTokenSource(ctx, store, B2BKey)
	case "b2b2c":
		cfg := &snapauth.B2B2CConfig{TokenURL: os.Getenv("FLEET_B2B2C_URL"), ClientKey: client, PrivateKey: key, EarlyRefresh: early}
		src = cfg.StoredTokenSource(ctx, store, CustomerKey)
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}

	if err := Ready(); err != nil {
		return err
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var seen []string
	for {
		tok, err := src.Token()
		switch {
		case err != nil && soft != nil && soft(err):
			Report("soft", oneLine(err))
		case err != nil:
			return err
		default:
			if id := TokenID(tok.AccessToken); len(seen) == 0 || seen[len(seen)-1] != id {
				seen = append(seen, id)
				Report("token", id)
			}
			if len(seen) >= want {
				Report("done", TokenID(tok.AccessToken), TokenID(tok.RefreshToken))
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("saw %d of %d tokens before the deadline", len(seen), want)
		case <-tick.C:
		}
	}
}
