package snapauth_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"golang.org/x/oauth2"
)

// A customer's B2B2C token kept in files: saved once after the account
// binding, then used and refreshed by a StoredTokenSource, which saves each
// rotated refresh token before handing out the access token, so a restart
// picks up where the last run left off.
func ExampleNewFileStore() {
	ctx := context.Background()
	provider := snaptest.NewServer()
	defer provider.Close()
	cfg := &snapauth.B2B2CConfig{
		TokenURL:   provider.B2B2CTokenURL(),
		ClientKey:  provider.ClientKey,
		PrivateKey: provider.PrivateKey,
	}

	base, err := os.MkdirTemp("", "snapauth-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(base)
	dir := filepath.Join(base, "tokens") // created with mode 0700
	store, err := snapauth.NewFileStore(dir)
	if err != nil {
		fmt.Println(err)
		return
	}

	// After the account binding: exchange the code and save the token.
	linked, err := cfg.Exchange(ctx, provider.MintAuthCode())
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := store.Save(ctx, "customer-42", linked); err != nil {
		fmt.Println(err)
		return
	}

	// Later, in any process of this host: a source reading the store.
	src := cfg.StoredTokenSource(ctx, store, "customer-42")
	tok, err := src.Token()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("uses the saved token:", tok.AccessToken == linked.AccessToken)

	// After a restart, a new FileStore on the same directory has it all.
	again, err := snapauth.NewFileStore(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	loaded, err := again.Load(ctx, "customer-42")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("refresh token kept:", loaded.RefreshToken == linked.RefreshToken)
	fmt.Println("its expiry kept:", snapauth.RefreshTokenExpiry(loaded).Equal(snapauth.RefreshTokenExpiry(linked)))
	// Output:
	// uses the saved token: true
	// refresh token kept: true
	// its expiry kept: true
}

// A MemoryStore shares one token among the sources of one process, and
// holds copies: changing a loaded token changes nothing stored.
func ExampleNewMemoryStore() {
	ctx := context.Background()
	store := snapauth.NewMemoryStore()
	_ = store.Save(ctx, "b2b", &oauth2.Token{AccessToken: "token-1", Expiry: time.Now().Add(time.Hour)})

	tok, _ := store.Load(ctx, "b2b")
	tok.AccessToken = "changed"
	again, _ := store.Load(ctx, "b2b")
	fmt.Println(again.AccessToken)

	_, err := store.Load(ctx, "other")
	fmt.Println(err)
	// Output:
	// token-1
	// snapauth: no token stored
}

// MarshalToken is the stored form of a token, for a TokenStore of your own.
func ExampleMarshalToken() {
	tok := (&oauth2.Token{
		AccessToken:  "access",
		TokenType:    "Bearer",
		RefreshToken: "refresh",
		Expiry:       time.Date(2026, 11, 22, 9, 15, 0, 0, snapauth.Jakarta),
		ExpiresIn:    900,
	}).WithExtra(map[string]any{"refreshTokenExpiryTime": "2026-12-22T09:00:00+07:00", "unlisted": "dropped"})
	data, _ := snapauth.MarshalToken(tok)
	fmt.Println(string(data))

	back, _ := snapauth.UnmarshalToken(data)
	fmt.Println(back.Expiry.Equal(tok.Expiry), back.Extra("refreshTokenExpiryTime"))
	// Output:
	// {"version":1,"access_token":"access","token_type":"Bearer","refresh_token":"refresh","expiry":"2026-11-22T09:15:00+07:00","expires_in":900,"extra":{"refreshTokenExpiryTime":"2026-12-22T09:00:00+07:00"}}
	// true 2026-12-22T09:00:00+07:00
}
