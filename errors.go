package snapauth

import (
	"errors"
	"fmt"
	"io"
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
	// ErrNotLinked means no token is held for the customer: the account was
	// never linked, was unlinked, or its tokens were removed after the
	// provider refused them. It matches ErrReauthorize too: send the
	// customer to the account-binding page.
	ErrNotLinked error = notLinked{}
)

type notLinked struct{}

func (notLinked) Error() string {
	return "snapauth: no token is stored for this customer; the customer must link the account"
}

// Is makes ErrNotLinked match ErrReauthorize.
func (notLinked) Is(target error) bool { return target == ErrReauthorize }

// Error is a failure answered by a SNAP provider: a non-2xx status, a
// responseCode that is not a success, or a success without a token. Its text
// holds the status and the SNAP code and message, never a secret. Match it
// with errors.As and a *Error target, and its conditions with errors.Is and
// the sentinels above; the service and case codes are derived from
// ResponseCode, so an Error built by hand behaves like one from a provider.
type Error struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// ResponseCode is the 7-character SNAP code (HTTP status, service code,
	// case code), or "" when the answer had none.
	ResponseCode string
	// ResponseMessage is the provider's responseMessage (or
	// responseDescription), or a short description of a non-JSON answer.
	ResponseMessage string
	// RetryAfter is the provider's Retry-After, zero when absent.
	RetryAfter time.Duration
	// Body is the raw answer, at most 64 KiB of it. It is not part of the
	// error text.
	Body []byte
}

// Error returns "snapauth: <status> <status text>: <code> <message>".
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

// Format writes Error() for every verb, and for %#v the fields with the
// length of Body only.
func (e Error) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprintf(f, "snapauth.Error{StatusCode:%d, ResponseCode:%q, ResponseMessage:%q, RetryAfter:%d, Body:[]byte{ /* %d bytes, not printed */ }}",
			e.StatusCode, e.ResponseCode, e.ResponseMessage, e.RetryAfter, len(e.Body))
		return
	}
	io.WriteString(f, e.Error())
}

// As lets errors.As fill a target of type *Error (a value) as well as the
// usual **Error.
func (e Error) As(target any) bool {
	if t, ok := target.(*Error); ok {
		*t = e
		return true
	}
	return false
}

// ServiceCode returns characters 4-5 of ResponseCode ("73" for B2B tokens),
// or "" when ResponseCode is not a 7-character SNAP code.
func (e Error) ServiceCode() string {
	if len(e.ResponseCode) != 7 {
		return ""
	}
	return e.ResponseCode[3:5]
}

// CaseCode returns characters 6-7 of ResponseCode ("01" for an invalid
// token), or "" when ResponseCode is not a 7-character SNAP code.
func (e Error) CaseCode() string {
	if len(e.ResponseCode) != 7 {
		return ""
	}
	return e.ResponseCode[5:7]
}

// Is reports whether e matches one of the package's sentinel errors:
// ErrUnauthorized, ErrInvalidToken, ErrRateLimited, ErrServerError or
// ErrTemporary (429 or 5xx).
func (e Error) Is(target error) bool {
	s, c := e.status(), e.CaseCode()
	switch target {
	case ErrUnauthorized:
		return s == http.StatusUnauthorized && (c == "00" || c == "")
	case ErrInvalidToken:
		return s == http.StatusUnauthorized && c >= "01" && c <= "04"
	case ErrRateLimited:
		return s == http.StatusTooManyRequests
	case ErrServerError:
		return s >= 500
	case ErrTemporary:
		return s == http.StatusTooManyRequests || s >= 500
	}
	return false
}

// status is the HTTP status the SNAP code speaks of, which some providers
// send with an HTTP 200; without a code it is the HTTP status.
func (e Error) status() int {
	if len(e.ResponseCode) == 7 {
		if s, err := strconv.Atoi(e.ResponseCode[:3]); err == nil {
			return s
		}
	}
	return e.StatusCode
}

// newError builds an *Error from a status and a SNAP code and message.
func newError(status int, code, message string) *Error {
	return &Error{StatusCode: status, ResponseCode: code, ResponseMessage: message}
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
	// Key is the store key the token was to be saved under.
	Key string
	// Token is the token obtained, the only copy if the store lost it.
	Token *oauth2.Token
	// Err is the store's error.
	Err error
}

// Error names the key and the store's error, never the token. StoreError's
// methods have value receivers, so errors.As finds it with a target of
// either *StoreError or StoreError, and fmt prints this text for every verb.
func (e StoreError) Error() string {
	return fmt.Sprintf("snapauth: new token for key %q not saved: %v", e.Key, e.Err)
}

// Unwrap returns the store's error.
func (e StoreError) Unwrap() error { return e.Err }

// Format writes Error() for every verb, so that the token is never printed.
func (e StoreError) Format(f fmt.State, verb rune) { io.WriteString(f, e.Error()) }

// As lets errors.As fill a target of type *StoreError (a value) as well as
// the usual **StoreError.
func (e StoreError) As(target any) bool {
	if t, ok := target.(*StoreError); ok {
		*t = e
		return true
	}
	return false
}
