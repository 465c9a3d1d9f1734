package snapauth

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"
)

// dropRejected removes from the store the access token of t, which the
// provider rejected and the store still holds, before t is renewed: another
// replica or a restart then never sends it again, even if the renewal fails.
// The refresh token stays stored, so a failed renewal loses nothing: t is
// saved without its access token, and a token without a refresh token (B2B)
// is deleted. It returns the token the store now holds, to renew.
func dropRejected(ctx context.Context, store TokenStore, key string, t *oauth2.Token) *oauth2.Token {
	if t.RefreshToken == "" {
		if d, ok := store.(TokenDeleter); ok {
			_ = d.Delete(ctx, key, t) // on failure the renewal's save replaces it
		}
		return t
	}
	kept := *t
	kept.AccessToken = ""
	if store.Save(ctx, key, &kept) != nil {
		return t // the store keeps the rejected token; the renewal's save replaces it
	}
	return &kept
}

// forgetRefused removes t from the store when the grant says its refresh
// token is refused or expired (ErrReauthorize), so that no replica spends it
// again and the customer shows as not linked; a newer token another replica
// saved stays (TokenDeleter's compare). It returns err, joined with the
// store's error if the removal failed.
func forgetRefused(ctx context.Context, store TokenStore, key string, t *oauth2.Token, err error) error {
	d, ok := store.(TokenDeleter)
	if !ok || t == nil || !errors.Is(err, ErrReauthorize) {
		return err
	}
	if derr := d.Delete(ctx, key, t); derr != nil {
		return errors.Join(err, fmt.Errorf("snapauth: removing the refused token %q: %w", key, derr))
	}
	return err
}
