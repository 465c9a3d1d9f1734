package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/snapauth/snapauth"
)

const tokenUsage = `Usage:
	snapauth token b2b --token-url URL --client-key K --private-key FILE [--provider NAME] [--store DIR]
	snapauth token b2b2c --token-url URL --client-key K --private-key FILE (--auth-code CODE | --refresh-token TOKEN) [--store DIR --key K]
	snapauth token b2b2c --token-url URL --client-key K --private-key FILE --store DIR --key K
	    [--partner-id P --channel-id C --origin O]

Fetches an access token from a SNAP provider and prints it as JSON:
access_token, token_type, expiry, and for B2B2C refresh_token and
refreshTokenExpiryTime. The request is signed with SHA256withRSA over
clientKey|X-TIMESTAMP.

b2b:   grant client_credentials at the provider's access-token/b2b endpoint.
       With --store, the token is cached there and reused while it is valid.
b2b2c: grant authorization_code (an auth code from the account-binding
       redirect) or refresh_token at the access-token/b2b2c endpoint. Refresh
       tokens are single use: the answer carries the next one. With --store
       and --key, the token is saved there before anything is printed, so
       that "snapauth call --store DIR --key K" can act for the customer;
       with neither grant, the stored token is printed, refreshed (and the
       rotated refresh token saved) when it is due. Where the provider wants
       the binding's authorization code with every refresh (--provider
       finnet), give both --refresh-token and --auth-code.

--partner-id, --channel-id and --origin are sent on the token request as
X-PARTNER-ID, CHANNEL-ID and ORIGIN where the provider wants them (--provider
dana sends the first two).

A refusal is printed with its SNAP responseCode explained (exit status 2).
`

// tokenJSON is how a token is printed.
type tokenJSON struct {
	AccessToken            string `json:"access_token"`
	TokenType              string `json:"token_type"`
	Expiry                 string `json:"expiry,omitempty"`
	ExpiresIn              int64  `json:"expires_in,omitempty"`
	RefreshToken           string `json:"refresh_token,omitempty"`
	RefreshTokenExpiryTime string `json:"refreshTokenExpiryTime,omitempty"`
}

func runToken(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		if len(args) > 0 {
			fmt.Fprint(c.stdout, tokenUsage)
			return errHelpShown
		}
		return usageErrorf("token: say which token: 'snapauth token b2b' or 'snapauth token b2b2c' (see 'snapauth token --help')")
	}
	kind := args[0]
	if kind != "b2b" && kind != "b2b2c" {
		return usageErrorf("token: unknown kind %q: want b2b or b2b2c (see 'snapauth token --help')", kind)
	}
	f := newFlagSet("token "+kind, tokenUsage)
	var tf tokenFlags
	tf.register(f, "access-token/"+kind)
	tf.registerPartner(f)
	var sf storeFlags
	var authCode, refreshToken string
	if kind == "b2b2c" {
		f.secretVar(&authCode, "auth-code", "the authorization `CODE` from the account-binding redirect")
		f.secretVar(&refreshToken, "refresh-token", "the refresh `TOKEN` to renew (single use: the answer carries the next)")
		sf.register(f, "the store `KEY` of the customer's token (with --store)")
	} else {
		f.fs.StringVar(&sf.dir, "store", "", "a `DIR` of token files (snapauth.FileStore, mode 0600) caching the B2B token")
	}
	pos, err := f.parseSecrets(args[1:], c)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("%s: unexpected argument %q (see 'snapauth token --help')", f.cmd, pos[0])
	}
	st, err := sf.open(f)
	if err != nil {
		return err
	}
	wantsCode := false // the provider wants --auth-code with --refresh-token
	if p, err := f.provider(tf.provider); err == nil {
		wantsCode = p.AuthCodeOnRefresh
	}
	if kind == "b2b2c" {
		switch {
		case authCode == "" && refreshToken == "" && sf.key == "":
			return usageErrorf("token b2b2c: give --auth-code (from the account-binding redirect) or --refresh-token, or --store and --key of a saved token")
		case wantsCode && refreshToken != "" && authCode == "":
			return usageErrorf("token b2b2c: this provider wants the binding's --auth-code with --refresh-token")
		case wantsCode:
			// --refresh-token with --auth-code refreshes; --auth-code alone exchanges.
		case authCode != "" && refreshToken != "":
			if f.cli["auth-code"] == f.cli["refresh-token"] {
				return usageErrorf("token b2b2c: give --auth-code or --refresh-token, not both")
			}
			// One came from the environment: the command line wins.
			if f.cli["auth-code"] {
				refreshToken = ""
			} else {
				authCode = ""
			}
		}
		if st != nil && sf.key == "" {
			return usageErrorf("token b2b2c: --store keeps customer tokens under --key: give --key too")
		}
	}
	tc, err := tf.load(f)
	if err != nil {
		return err
	}
	c.rec = newRecorder(nil)
	tc.client.Transport = c.rec
	ctx, cancel := tf.withTimeout(ctx)
	defer cancel()
	stop := c.waiting(ctx, hostOf(tc.tokenURL))
	defer stop()

	var tok *oauth2.Token
	var doing string
	var fl flow
	switch {
	case kind == "b2b":
		doing, fl = "fetching a B2B token", flowB2B
		tok, err = b2bSource(ctx, tf.b2b(tc), st).Token()
	case refreshToken != "":
		doing, fl = "refreshing the customer token", flowRefresh
		tok, err = tf.b2b2c(tc).RefreshWithAuthCode(ctx, refreshToken, authCode)
	case authCode != "":
		doing, fl = "exchanging the auth code", flowAuthCode
		tok, err = tf.b2b2c(tc).Exchange(ctx, authCode)
	default:
		doing, fl = "reading the customer token from the store", flowRefresh
		tok, err = tf.b2b2c(tc).StoredTokenSource(ctx, st, sf.key).Token()
	}
	var storeErr *snapauth.StoreError
	if errors.As(err, &storeErr) {
		stop()
		if storeErr.Token != nil {
			if perr := printToken(c, storeErr.Token); perr != nil {
				return perr
			}
		}
		return saveFailed(f.cmd, st, storeErr.Key, err)
	}
	if err != nil {
		stop()
		return tf.providerError(f.cmd, doing, fl, err)
	}
	// A new customer token is saved before it is printed: its refresh
	// token is the only one the provider will accept from now on.
	var saveErr error
	if kind == "b2b2c" && st != nil && (authCode != "" || refreshToken != "") {
		saveErr = st.Save(ctx, sf.key, tok)
	}
	stop()
	if err := printToken(c, tok); err != nil {
		return err
	}
	if saveErr != nil {
		return saveFailed(f.cmd, st, sf.key, saveErr)
	}
	return nil
}

func printToken(c *cli, tok *oauth2.Token) error {
	out := tokenJSON{
		AccessToken:  tok.AccessToken,
		TokenType:    tok.Type(),
		ExpiresIn:    tok.ExpiresIn,
		RefreshToken: tok.RefreshToken,
	}
	if !tok.Expiry.IsZero() {
		out.Expiry = tok.Expiry.Format(time.RFC3339)
	}
	if v, ok := tok.Extra("refreshTokenExpiryTime").(string); ok {
		out.RefreshTokenExpiryTime = v
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return failf("writing the token: %s", errText(err))
	}
	return nil
}
