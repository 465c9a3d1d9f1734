package snapauth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Finpay's documentation shows its token answers with the long tokens
// wrapped over several lines; these tests parse those samples verbatim.

// joinWrapped rebuilds JSON from a documentation sample whose long strings
// were wrapped over several indented lines: inside a string, a line break
// and the indentation after it are dropped.
func joinWrapped(s string) string {
	var b strings.Builder
	in, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in && c == '\n':
			for i+1 < len(s) && s[i+1] == ' ' {
				i++
			}
			continue
		case in && esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		}
		b.WriteByte(c)
	}
	return b.String()
}

// finpayB2BSample is the sample answer of Finpay's QRIS access-token/b2b page
// (spec/finpay-qris-access-token-b2b.md), verbatim: expiresIn is a number.
const finpayB2BSample = `{
    "responseMessage": "Request has been processed successfully",
    "responseCode": "2007300",
    "accessToken": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiI5NzE5Mzk0ZC1hZjkxLTRmOWMtOWQxNi02YjYyMzNhNDU4ODkiLCJqdGkiOiIxY2ExMjAyYmVhNjk5ODhlZThkNGY3MDVmNDRlYzg4NGE5ZWRmNDg0NjU5MGFhNDhmOGE1M2M1OGNjNzdhODVlMjU3OTA4MTdiMjYzZDBhZSIsImlhdCI6MTY2NTY0ODMwNS4zNjU0NTcsIm5iZiI6MTY2NTY0ODMwNS4zNjU0NiwiZXhwIjoxNjk3MTg0MzA1LjM1NDEzMywic3ViIjoiIiwic2NvcGVzIjpbInJlcXVlc3QiXX0.jMRB8qIZTcne5xk-GxV2rb-YQRtoE30TQ40szzyGHWlU1qrzjjszmyIxdCxG6OIQr9tIDGw1VunbZ4gZt5mtMRU9pImmMgEjOS7e8hYaoWDKuTBsNnxf62rZO4tXVbPKtTkuFaxYF2BNFpIqd9Z6qpe_zrrwfXSeVlgTE6XkPFrEgo3LPmhb0hZ_Ul-ur-FyAn9Rpqr-rC218bdkqwhrYoKagC5YLXEVbtHJlhTn3BTMIxbNqvXJV3tox832EI9eFiSWN7prvfUB8l0q-kvgUrIoa1i1LlNj_uiOX9j_917n4uF_AeG5leaDf4hZY3MmmFABzZ69BdARPrAXMDxqqSiCMhyYar9fyjVyYBlvXCJbROnJXaaR8bD9M2SWcb4hMMGC1TjHdo2Pv5sWv0KBOMSWpR3QQxUS4cryDrqql_wO57s1F1QvlbdB1D9jdHo-xLIFwuytX6nqVGno_6sOLweSXYl7Pz8A4-Fxqzt657IiWZ5AzhuZxRQj1LRzEHzE85NWJ0viXCkVDChUbZWl-RXn6KbBYwRAV-KJZjouxf4z63urOBoch0ajddSixA-TSK0fSOJrl1LfbFLJJNsItGDg1ONW5zXd7-tuGaxx-EYHfskc0OLog8FdlgecDOjNzHnfVPyI4gzFFq1QszumBMGJcPAcNGflJhP0MImq3To",
    "tokenType": "Bearer",
    "expiresIn": 900
}`

func TestB2BFinpaySample(t *testing.T) {
	clock := newSrcClock()
	p := newFakeProvider(t, clock.Now, func(fakeRequest) fakeAnswer { return okAnswer(joinWrapped(finpayB2BSample)) })
	tok, err := p.b2b(clock).Token(context.Background())
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(tok.AccessToken, "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQi"))
	assert.True(t, strings.HasSuffix(tok.AccessToken, "cPAcNGflJhP0MImq3To"))
	assert.Len(t, tok.AccessToken, 1036)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.True(t, tok.Expiry.Equal(clock.Now().Add(900*time.Second)))
	assert.Equal(t, "Request has been processed successfully", tok.Extra("responseMessage"))
}

// finpayB2B2CSample is the sample answer of Finpay's access-token/b2b2c page
// (spec/finpay-money-access-token-b2b2c.md) verbatim, with its tokens
// wrapped over several lines as the page shows them.
const finpayB2B2CSample = `{
  "responseCode": "2007400",
  "responseMessage": "Request has been processed successfully",
  "accessToken":
  "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiI5NzE5Mzk0ZC1hZjkxLTRmOWMtO
  WQxNi02YjYyMzNhNDU4ODkiLCJqdGkiOiJkODgyNGU4MGUwNjM5MjhiYTQzZTgxNzEwY2Q0YmU4
  OTlhYjhlMTVhZmEwODEyMGEyYzI3OWFkNzJmMGMxMWUxYWMwNTRiZjgyZDQ1YWUzNSIsImlhdCI
  6MTY2NjY4MTIzMi42NDE3ODQsIm5iZiI6MTY2NjY4MTIzMi42NDE3ODksImV4cCI6MTY5ODIxNz
  IzMi41MzA2ODksInN1YiI6IjYyODE5Nzc4MTc5MDIiLCJzY29wZXMiOltdfQ.aKOvws66NOQ-KT
  qPMvFIxgpHiGqYrFeS8KCtCm-k0eXS-2wA8C0QLL_JqVDopvaQofp0tGc_y68_KehkksJqbyje7
  TR9m7SQdJWO6meVud6AqPUQv0KY9rMN_FfohF8Z3B45SrgbRZAk-hzYNQRDcnrPwy4clD_QMUQh
  ic8PINOyBfguV1wIaGBXDkbMDKqONBU-xuXQLv5EsosbsqKSNq86B8sE8IO5yKC0O6JIK11Nvpz
  wG4fo4VP1DNuZ7uaHkF7Jv3RofLnj7uRsbxAS6r1qudHIq8O3romw40G474RciMGdiu2L5rB7_F
  iKwdVqNB-fARcg4O2OyC_8roGBh2jsA-92c6dANJIe03g2OQ_DoOTDpVx3Va2lGV04NXHlWOu3n
  fUgFSzorZNkWJj6w1DMtWtYq1xPVfR5r1O3Hwulri_MrgmcuQeiZA7jt9z-04iBSt0zehonjlDY
  NmrDM9zUYljc6vlIpOhpBEux0Su4w4BZNgozIKkmJ6O3VG-rLEOxcdl_-A4X42qE-mEqkPjQjFy
  Hx7xzTvE06q7KRmaQt2qMtGJVRiPes7HPt7eWLeTRfyJcw9uXqNwVpvyv52H1IptuhkA7jDIPJF
  IN1lRe6aa0m7vw8EKpXFc_uxn0aSqpBYA1wdN9eJtKRM9F8USS9chTywy4p7pYrBRTZ8Y",
  "tokenType": "Bearer",
  "accessTokenExpiryTime": "2023-10-25T07:00:32+00:00",
  "refreshToken":
  "def502001649fd620c475a48dba4609390d4bced557ec26bd39532abd1cde20f0fda8fbdd5
  5fa937892baa218bb29db83b1e9ee818f94f8680e40428a52aa76a0a7e896daa1ec6e45c3b1
  b1e4634e47bbea9c00c4b1533bcaf77f15027aaacec4347afdce981ac0ae04dcc4b40769025
  21d8960c4bac6f5491b02432db24bad7c8c03b58d9310eb445cb2bc4f2b1741e984f3a89abe
  acbc2738a866ebb9297564e2614a5d8e6630fd7d866776e1a6b84c2aee3d2c2f190f2b18b01
  d649fc5916eab0fa8ed99e91ac8443c37d373e44f05a9b516023a9027609dd99c6bfaac5967
  0e4d1a751a6c3bfb57fc58eb7b30b500a5ee1a3884c07b6d4c449614e3e0b55cc7f6b106b12
  cf7664823f7e972f31bc9106eb5a758dd1cb9fe7f434426af2b8b0654ec23cdcad0d18037d2
  a5f6e380b943e7cf0f5690d4e4d92ef8917f7728eeb739139e3b0d42d35c338bd73f38645b4
  b5c8ecdb5ffcf2520bb8586e355fe7bd3489720e6cbf7d7eb026da8f7e9b83d6280c0f384f7
  eab80193a3810d191a3b77afae2d290aece21cd8507a02e095b",
  "refreshTokenExpiryTime": "2023-10-25T07:00:32+00:00"
}`

func TestB2B2CFinpaySample(t *testing.T) {
	clock := newSrcClock()
	p := newFakeProvider(t, clock.Now, func(fakeRequest) fakeAnswer { return okAnswer(joinWrapped(finpayB2B2CSample)) })
	cfg := p.b2b2c(clock)
	cfg.Provider = Finnet
	tok, err := cfg.Exchange(context.Background(), "def50200e84f7fe6a6dc3c3a5c007a2afa824977ba5031b4080f79a2b8130e3")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(tok.AccessToken, "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiI5NzE5Mzk0ZC1hZjkxLTRmOWMtOWQxNi02"))
	assert.True(t, strings.HasSuffix(tok.AccessToken, "TZ8Y"))
	assert.NotContains(t, tok.AccessToken, " ")
	assert.Len(t, tok.AccessToken, 1043)
	assert.Equal(t, 2, strings.Count(tok.AccessToken, "."), "a JWT in three parts")
	assert.True(t, strings.HasPrefix(tok.RefreshToken, "def502001649fd620c475a48dba4609390d4bced557ec26bd39532abd1cde20f0fda8fbdd55fa937"))
	assert.True(t, strings.HasSuffix(tok.RefreshToken, "e095b"))
	assert.Len(t, tok.RefreshToken, 800)
	exp := time.Date(2023, 10, 25, 7, 0, 32, 0, time.UTC)
	assert.True(t, tok.Expiry.Equal(exp))
	assert.True(t, RefreshTokenExpiry(tok).Equal(exp))
}
