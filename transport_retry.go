package snapauth

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"golang.org/x/oauth2"
)

// renewRejected decides the retry of a 401 answer: when its SNAP case says
// the provider rejected the B2B token (01, 03) or the customer's token (02,
// 04) and that token's source is a TokenInvalidator, it drops the token,
// takes a fresh one from the source and puts it in *b2b or a, for the one
// resend. It reports false, leaving resp whole, when there is nothing to
// retry with; on an error it closes resp.
func (t *Transport) renewRejected(ctx context.Context, resp *http.Response, a *attempt, b2b **oauth2.Token,
	cs oauth2.TokenSource, ct *oauth2.Token) (bool, error) {
	src, old, what := t.Source, *b2b, "B2B access token"
	customer, ok := tokenRejected(resp)
	if !ok {
		return false, nil
	}
	if customer {
		src, old, what = cs, ct, "customer access token"
	}
	inv, ok := src.(TokenInvalidator)
	if !ok || old == nil {
		return false, nil
	}
	inv.Invalidate(old)
	flow := FlowB2B
	if customer {
		flow = FlowB2B2C
	}
	t.invalidated(ctx, flow, src, resp)
	fresh, err := sourceToken(ctx, src)
	if err != nil {
		resp.Body.Close()
		return false, fmt.Errorf("snapauth: the provider rejected the %s and no fresh one could be fetched: %w", what, err)
	}
	if fresh.AccessToken == old.AccessToken {
		return false, nil // the source has nothing newer; retrying would be rejected again
	}
	if customer {
		a.customer = "Bearer " + fresh.AccessToken
	} else {
		*b2b = fresh
	}
	return true, nil
}

// tokenRejected reports whether a 401 answer's SNAP case says a token sent
// was rejected (ok), and whether that is the customer's token (02 invalid, 04
// not found) rather than the B2B access token (01 invalid, 03 not found). It
// reads at most maxErrorBody bytes of resp.Body and leaves resp.Body whole
// for the caller.
func tokenRejected(resp *http.Response) (customer, ok bool) {
	if resp.Body == nil || resp.Body == http.NoBody {
		return false, false
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(head), resp.Body), closer: resp.Body}
	if err != nil {
		return false, false
	}
	fields, _ := decodeObject(head)
	code, _ := snapCode(fields)
	if len(code) != 7 || code[:3] != "401" {
		return false, false
	}
	switch code[5:] {
	case "01", "03":
		return false, true
	case "02", "04":
		return true, true
	}
	return false, false
}
