package snapauth

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/oauth2"
)

// Sentinel errors for the conditions callers branch on. A *Error matches them
// with errors.Is according to its HTTP status and SNAP case code.
var (
	// ErrUnauthorized matches a 401 whose SNAP case is 00: "Unauthorized.
	// [reason]", most often a signature, timestamp or client-key problem.
	ErrUnauthorized = errors.New("snapauth: unauthorized")
	// ErrInvalidToken matches a 401 saying the access token or customer token
	// is invalid or unknown (cases 01 to 04).
	ErrInvalidToken = errors.New("snapauth: invalid or unknown token")
	// ErrRateLimited matches a 429 Too Many Requests.
	ErrRateLimited = errors.New("snapauth: rate limited")
	// ErrServerError matches a 5xx answer.
	ErrServerError = errors.New("snapauth: provider server error")
	// ErrTemporary matches every failure worth trying again later: 429, 5xx,
	// and network errors on the way to the provider.
	ErrTemporary = errors.New("snapauth: temporary failure")
	// ErrReauthorize means the customer's refresh token is expired or was
	// rejected: the customer must link the account again to get a new
	// authorization code.
	ErrReauthorize = errors.New("snapauth: refresh token expired or rejected; the customer must link the account again")
)

// Error is a failure answered by a SNAP provider: a non-2xx status, a
// responseCode that is not a success, or a success without a token. Its text
// holds the status and the SNAP code and message, never a secret.
type Error struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// ResponseCode is the 7-character SNAP code (HTTP status, service code,
	// case code), or "" when the answer had none.
	ResponseCode string
	// ResponseMessage is the provider's responseMessage (or
	// responseDescription), or a short description of a non-JSON answer.
	ResponseMessage string
	// ServiceCode is characters 4-5 of ResponseCode ("73" for B2B tokens).
	ServiceCode string
	// CaseCode is characters 6-7 of ResponseCode ("01" for an invalid token).
	CaseCode string
	// RetryAfter is the provider's Retry-After, zero when absent.
	RetryAfter time.Duration
	// Body is the raw answer, at most 64 KiB of it. It is not part of the
	// error text.
	Body []byte
}

// Error returns "snapauth: <status>: <code> <message>". It has a value
// receiver so that an Error printed by value shows this text too, never the
// fields (Body may echo a secret of the request).
func (e Error) Error() string {
	msg := "snapauth: " + strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)
	if e.ResponseCode != "" {
		msg += ": " + e.ResponseCode
	}
	if e.ResponseMessage != "" {
		msg += " " + e.ResponseMessage
	}
	return msg
}

// GoString is the %#v form: the fields with Body's length only, since a
// provider's answer may echo a refresh token or an authorization code.
func (e Error) GoString() string {
	return fmt.Sprintf("snapauth.Error{StatusCode:%d, ResponseCode:%q, ResponseMessage:%q, ServiceCode:%q, CaseCode:%q, RetryAfter:%d, Body:[]byte{ /* %d bytes, not printed */ }}",
		e.StatusCode, e.ResponseCode, e.ResponseMessage, e.ServiceCode, e.CaseCode, e.RetryAfter, len(e.Body))
}

// Is reports whether e matches one of the package's sentinel errors.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.status() == http.StatusUnauthorized && (e.CaseCode == "00" || e.CaseCode == "")
	case ErrInvalidToken:
		return e.status() == http.StatusUnauthorized && e.CaseCode >= "01" && e.CaseCode <= "04"
	case ErrRateLimited:
		return e.status() == http.StatusTooManyRequests
	case ErrServerError:
		return e.status() >= 500
	case ErrTemporary:
		return e.Temporary()
	}
	return false
}

// Temporary reports whether the same request may succeed later (429 or 5xx).
func (e *Error) Temporary() bool {
	s := e.status()
	return s == http.StatusTooManyRequests || s >= 500
}

// status is the HTTP status the SNAP code speaks of, which some providers
// send with an HTTP 200; without a code it is the HTTP status.
func (e *Error) status() int {
	if len(e.ResponseCode) == 7 {
		if s, err := strconv.Atoi(e.ResponseCode[:3]); err == nil {
			return s
		}
	}
	return e.StatusCode
}

// newError builds an *Error from a status and a SNAP code and message.
func newError(status int, code, message string) *Error {
	e := &Error{StatusCode: status, ResponseCode: code, ResponseMessage: message}
	if len(code) == 7 {
		e.ServiceCode, e.CaseCode = code[3:5], code[5:7]
	}
	return e
}

// fetchError is a failure to reach the provider at all (connection refused,
// reset, timeout). It matches ErrTemporary.
type fetchError struct{ err error }

func (e *fetchError) Error() string { return "snapauth: token request failed: " + e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }
func (e *fetchError) Is(target error) bool {
	return target == ErrTemporary
}

// StoreError reports that a token was obtained but could not be saved to the
// TokenStore. Token is the new token: for B2B2C it holds the only copy of the
// rotated refresh token, so persist it by other means. Its text never
// contains the token.
type StoreError struct {
	Key   string
	Token *oauth2.Token
	Err   error
}

// Error names the key and the store's error, never the token. It has a
// value receiver so that a StoreError printed by value shows this text too.
func (e StoreError) Error() string {
	return fmt.Sprintf("snapauth: new token for key %q not saved: %v", e.Key, e.Err)
}

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }
