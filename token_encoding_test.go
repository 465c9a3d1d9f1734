package snapauth_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

func TestMarshalTokenFormat(t *testing.T) {
	data, err := snapauth.MarshalToken(storeSecretToken())
	require.NoError(t, err)
	require.JSONEq(t, `{
		"version": 1,
		"access_token": "SECRET-ACCESS-0123456789abcdef",
		"token_type": "Bearer",
		"refresh_token": "SECRET-REFRESH-0123456789abcdef",
		"expiry": "2030-01-02T03:04:05.6007008+07:00",
		"expires_in": 900,
		"extra": {"refreshTokenExpiryTime": "2030-02-02T03:04:05+07:00", "responseCode": "2007400"}
	}`, string(data))

	got, err := snapauth.UnmarshalToken(data)
	require.NoError(t, err)
	_, offset := got.Expiry.Zone()
	require.Equal(t, 7*3600, offset, "the zone offset is kept")
	require.True(t, got.Expiry.Equal(storeSecretToken().Expiry))
	require.Nil(t, got.Extra("notStored"), "extras outside StoredExtras are dropped")

	minimal, err := snapauth.MarshalToken(&oauth2.Token{AccessToken: "a"})
	require.NoError(t, err)
	require.JSONEq(t, `{"version":1,"access_token":"a"}`, string(minimal))
}

func TestMarshalTokenExtraTypes(t *testing.T) {
	// Numbers come back as json.Number whatever they went in as, exactly
	// as the token sources read a provider's answer.
	tok := (&oauth2.Token{AccessToken: "a"}).WithExtra(map[string]any{
		"additionalInfo": map[string]any{"f": 1.5, "n": json.Number("12345678901234567890"), "i": 7, "b": false, "l": []string{"x"}},
	})
	data, err := snapauth.MarshalToken(tok)
	require.NoError(t, err)
	got, err := snapauth.UnmarshalToken(data)
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"f": json.Number("1.5"), "n": json.Number("12345678901234567890"), "i": json.Number("7"), "b": false, "l": []any{"x"},
	}, got.Extra("additionalInfo"))
}

func TestMarshalTokenErrors(t *testing.T) {
	for name, tok := range map[string]*oauth2.Token{
		"nil":              nil,
		"empty":            {},
		"only a type":      {TokenType: "Bearer", Expiry: time.Now()},
		"expiry too late":  {AccessToken: "SECRET-A", Expiry: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"expiry too early": {AccessToken: "SECRET-A", Expiry: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		"extra not JSON": (&oauth2.Token{AccessToken: "SECRET-A"}).WithExtra(map[string]any{
			"additionalInfo": map[string]any{"SECRET": func() {}},
		}),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := snapauth.MarshalToken(tok)
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
			storeRequireNoSecret(t, err.Error())
		})
	}
}

func TestUnmarshalTokenErrors(t *testing.T) {
	good, err := snapauth.MarshalToken(storeSecretToken())
	require.NoError(t, err)
	for name, tc := range map[string]struct{ data, want string }{
		"empty":           {"", "is empty"},
		"blank":           {" \n", "is empty"},
		"truncated":       {string(good[:len(good)/2]), "truncated or not valid JSON"},
		"one byte short":  {string(good[:len(good)-1]), "truncated or not valid JSON"},
		"trailing data":   {string(good) + `{"version":1}`, "not valid JSON"},
		"garbage":         {"SECRET-garbage", "not valid JSON"},
		"null":            {"null", "format version 0"},
		"empty object":    {"{}", "format version 0"},
		"array":           {`["SECRET-in-array"]`, "expected shape"},
		"future version":  {`{"version":2,"access_token":"SECRET-A"}`, "format version 2"},
		"no token":        {`{"version":1,"token_type":"Bearer"}`, "neither an access token nor a refresh token"},
		"wrong type":      {`{"version":1,"access_token":12345}`, `field "access_token" has the wrong JSON type`},
		"version string":  {`{"version":"1","access_token":"SECRET-A"}`, `field "version"`},
		"expiry garbage":  {`{"version":1,"access_token":"SECRET-A","expiry":"SECRET-not-a-time"}`, "expiry is not an RFC 3339 time"},
		"expiry no zone":  {`{"version":1,"access_token":"SECRET-A","expiry":"2030-01-02T03:04:05"}`, "expiry is not an RFC 3339 time"},
		"extras an array": {`{"version":1,"access_token":"SECRET-A","extra":["SECRET"]}`, `field "extra"`},
		"too large":       {`{"version":1,"access_token":"` + strings.Repeat("S", 1<<20) + `"}`, "larger than"},
	} {
		t.Run(name, func(t *testing.T) {
			tok, err := snapauth.UnmarshalToken([]byte(tc.data))
			require.Error(t, err)
			require.Nil(t, tok)
			require.Contains(t, err.Error(), tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
			storeRequireNoSecret(t, err.Error())
			require.NotErrorIs(t, err, snapauth.ErrNoToken)
		})
	}
}

// storeLongRuns finds the runs of 16 or more letters and digits in data:
// pieces of token text that an error must not repeat.
var storeLongRuns = regexp.MustCompile(`[A-Za-z0-9]{16,}`)

func FuzzUnmarshalToken(f *testing.F) {
	// The seed corpus is in testdata/fuzz/FuzzUnmarshalToken.
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := snapauth.UnmarshalToken(data)
		if err != nil {
			require.Nil(t, tok)
			require.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
			for _, run := range storeLongRuns.FindAllString(string(data), -1) {
				require.NotContains(t, err.Error(), run, "the error repeats input text")
			}
			return
		}
		require.NotNil(t, tok)
		require.True(t, tok.AccessToken != "" || tok.RefreshToken != "", "an empty token was accepted")
		// What was read can be written and read back unchanged.
		again, err := snapauth.MarshalToken(tok)
		require.NoError(t, err)
		tok2, err := snapauth.UnmarshalToken(again)
		require.NoError(t, err)
		require.Equal(t, tok.AccessToken, tok2.AccessToken)
		require.Equal(t, tok.TokenType, tok2.TokenType)
		require.Equal(t, tok.RefreshToken, tok2.RefreshToken)
		require.Equal(t, tok.ExpiresIn, tok2.ExpiresIn)
		require.True(t, tok.Expiry.Equal(tok2.Expiry))
		for _, name := range []string{"refreshTokenExpiryTime", "accessTokenExpiryTime", "responseCode",
			"responseMessage", "additionalInfo", snapauth.SequenceExtra, snapauth.RefreshingExtra} {
			require.Equal(t, tok.Extra(name), tok2.Extra(name), name)
		}
	})
}
