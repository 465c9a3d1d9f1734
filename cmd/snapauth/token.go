package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"golang.org/x/oauth2"
)

const tokenUsage = `Usage:
	snapauth token b2b --token-url URL --client-key K --private-key FILE [--provider NAME]
	snapauth token b2b2c --token-url URL --client-key K --private-key FILE (--auth-code CODE | --refresh-token TOKEN)
	    [--partner-id P --channel-id C --origin O]

Fetches an access token from a SNAP provider and prints it as JSON:
access_token, token_type, expiry, and for B2B2C refresh_token and
refreshTokenExpiryTime. The request is signed with SHA256withRSA over
clientKey|X-TIMESTAMP.

b2b:   grant client_credentials at the provider's access-token/b2b endpoint.
b2b2c: grant authorization_code (an auth code from the account-binding
       redirect) or refresh_token at the access-token/b2b2c endpoint. Refresh
       tokens are single use: the answer carries the next one, save it.
       Where the provider wants the binding's authorization code with every
       refresh (--provider finnet), give both --refresh-token and --auth-code.

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
	var authCode, refreshToken, partnerID, channelID, origin string
	f.fs.StringVar(&partnerID, "partner-id", "", "the partner `ID`, sent as X-PARTNER-ID where the provider wants it on token calls")
	f.fs.StringVar(&channelID, "channel-id", "", "the channel `ID`, sent as CHANNEL-ID where the provider wants it on token calls")
	f.fs.StringVar(&origin, "origin", "", "the `ORIGIN` header, sent where the provider wants it on token calls")
	if kind == "b2b2c" {
		f.fs.StringVar(&authCode, "auth-code", "", "the authorization `CODE` from the account-binding redirect")
		f.fs.StringVar(&refreshToken, "refresh-token", "", "the refresh `TOKEN` to renew (single use: the answer carries the next)")
	}
	pos, err := f.parse(args[1:], c.env, c.stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("%s: unexpected argument %q (see 'snapauth token --help')", f.cmd, pos[0])
	}
	wantsCode := false // the provider wants --auth-code with --refresh-token
	if p, err := f.provider(tf.provider); err == nil {
		wantsCode = p.AuthCodeOnRefresh
	}
	if kind == "b2b2c" {
		switch {
		case authCode == "" && refreshToken == "":
			return usageErrorf("token b2b2c: give --auth-code (from the account-binding redirect) or --refresh-token")
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
	}
	tc, err := tf.load(f)
	if err != nil {
		return err
	}
	ctx, cancel := tf.withTimeout(ctx)
	defer cancel()

	b2b, b2b2c := tf.b2b(tc), tf.b2b2c(tc)
	b2b.PartnerID, b2b.ChannelID, b2b.Origin = partnerID, channelID, origin
	b2b2c.PartnerID, b2b2c.ChannelID, b2b2c.Origin = partnerID, channelID, origin
	var tok *oauth2.Token
	var doing string
	switch {
	case kind == "b2b":
		doing = "fetching a B2B token"
		tok, err = b2b.Token(ctx)
	case refreshToken == "":
		doing = "exchanging the auth code"
		tok, err = b2b2c.Exchange(ctx, authCode)
	default:
		doing = "refreshing the customer token"
		tok, err = b2b2c.RefreshWithAuthCode(ctx, refreshToken, authCode)
	}
	if err != nil {
		return providerError(f.cmd, doing, err)
	}
	return printToken(c, tok)
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
