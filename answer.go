package snapauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// maxAnswer is the most of a token answer that is read; a larger answer is an
// error, so an endless or hostile answer cannot exhaust memory.
const maxAnswer = 1 << 20

// parseTokenAnswer reads a token endpoint's answer, tolerant of the shapes
// providers send and strict where a wrong token would follow.
func parseTokenAnswer(status int, header http.Header, data []byte, now time.Time, keep ...keptExtra) (*oauth2.Token, error) {
	if len(data) > maxAnswer {
		e := newError(status, "", "answer larger than 1 MiB")
		return nil, e
	}
	fields, jsonErr := decodeObject(data)
	if e := answerError(status, header, data, fields, jsonErr, now); e != nil {
		return nil, e
	}
	code, _ := snapCode(fields)
	access, _ := fields["accessToken"].(string)
	if access == "" {
		e := newError(status, code, "answer has no accessToken")
		return nil, e
	}
	tok := &oauth2.Token{AccessToken: access, TokenType: tokenType(fields["tokenType"])}
	tok.RefreshToken, _ = fields["refreshToken"].(string)
	if name := controlChar(tok); name != "" {
		return nil, newError(status, code, name+" contains a control character")
	}
	if at, ok := fields["accessTokenExpiryTime"].(string); ok && at != "" {
		exp, err := parseISOTime(at)
		if err != nil {
			return nil, newError(status, code, "accessTokenExpiryTime is not an ISO 8601 time")
		}
		tok.Expiry = exp
		tok.ExpiresIn = lifetimeSeconds(exp, now)
	} else if secs, ok := number(fields["expiresIn"]); ok && secs > 0 {
		secs = min(secs, maxLifetimeSeconds)
		tok.ExpiresIn = secs
		tok.Expiry = now.Add(time.Duration(secs) * time.Second)
	} else if exp, ok := expiresAt(fields["expiresIn"]); ok {
		tok.Expiry = exp
		tok.ExpiresIn = lifetimeSeconds(exp, now)
	} else {
		tok.ExpiresIn = int64(DefaultLifetime / time.Second)
		tok.Expiry = now.Add(DefaultLifetime)
	}
	clampLifetime(tok, now)
	delete(fields, "accessToken")
	delete(fields, "refreshToken")
	for _, k := range keep {
		fields[k.name] = k.value
	}
	return tok.WithExtra(fields), nil
}

// answerError returns the *Error a SNAP answer stands for, or nil when it is
// a success: a 2xx status, a JSON object, and a responseCode that, if
// present, is seven digits starting with "200". fields and jsonErr are
// decodeObject's result.
func answerError(status int, header http.Header, data []byte, fields map[string]any, jsonErr error, now time.Time) *Error {
	code, message := snapCode(fields)
	if status >= 200 && status <= 299 && jsonErr == nil && isSuccessCode(code) {
		return nil
	}
	if errors.Is(jsonErr, errDuplicateKey) {
		message = "answer is not a valid SNAP answer: " + jsonErr.Error()
	} else if jsonErr != nil && message == "" {
		message = describeNonJSON(header, data)
	}
	e := newError(status, code, message)
	e.RetryAfter = parseRetryAfter(header.Get("Retry-After"), now)
	e.Body = data[:min(len(data), 64<<10)]
	return e
}

func decodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	if key := duplicateKey(data); key != "" {
		return nil, duplicateKeyError(key)
	}
	return m, nil
}

// snapCode returns responseCode (string or number) and responseMessage (or
// responseDescription) of a SNAP answer.
func snapCode(fields map[string]any) (code, message string) {
	switch v := fields["responseCode"].(type) {
	case string:
		code = strings.TrimSpace(v)
	case json.Number:
		code = v.String()
	}
	for _, k := range []string{"responseMessage", "responseDescription"} {
		if m, ok := fields[k].(string); ok && m != "" {
			return code, m
		}
	}
	return code, ""
}

func describeNonJSON(header http.Header, data []byte) string {
	if len(bytes.TrimSpace(data)) == 0 {
		return "empty answer"
	}
	ct, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if ct == "" {
		ct = "unknown content type"
	}
	return "answer is not JSON (" + ct + ")"
}

// tokenType normalises "bearer", "BEARER", "BearerToken" to "Bearer".
func tokenType(v any) string {
	s, _ := v.(string)
	if s == "" || strings.HasPrefix(strings.ToLower(s), "bearer") {
		return "Bearer"
	}
	return s
}

// number reads a JSON number or a string holding one.
func number(v any) (int64, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	default:
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1<<40 {
		return 0, false
	}
	return int64(f), true
}

// parseISOTime parses ISO 8601 date-times with any offset: RFC 3339, with or
// without fractional seconds, and offsets written +0700.
func parseISOTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999-0700", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999-07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("snapauth: %q is not an ISO 8601 time with an offset", s)
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs >= 0 {
		return min(time.Duration(secs)*time.Second, time.Hour)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), time.Hour)
	}
	return 0
}

// RefreshTokenExpiry returns the expiry of t's refresh token from its
// refreshTokenExpiryTime extra, or the zero time when t has none.
func RefreshTokenExpiry(t *oauth2.Token) time.Time {
	if t == nil {
		return time.Time{}
	}
	s, _ := t.Extra("refreshTokenExpiryTime").(string)
	if s == "" {
		return time.Time{}
	}
	exp, err := parseISOTime(s)
	if err != nil {
		return time.Time{}
	}
	return exp
}
