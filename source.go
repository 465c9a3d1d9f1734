package snapauth

import (
	"context"
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

// Error returns "snapauth: <status>: <code> <message>".
func (e *Error) Error() string {
	msg := "snapauth: " + strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)
	if e.ResponseCode != "" {
		msg += ": " + e.ResponseCode
	}
	if e.ResponseMessage != "" {
		msg += " " + e.ResponseMessage
	}
	return msg
}

// Is reports whether e matches one of the package's sentinel errors.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized && (e.CaseCode == "00" || e.CaseCode == "")
	case ErrInvalidToken:
		return e.StatusCode == http.StatusUnauthorized && e.CaseCode >= "01" && e.CaseCode <= "04"
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrServerError:
		return e.StatusCode >= 500
	case ErrTemporary:
		return e.Temporary()
	}
	return false
}

// Temporary reports whether the same request may succeed later (429 or 5xx).
func (e *Error) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// newError builds an *Error from a status and a SNAP code and message.
func newError(status int, code, message string) *Error {
	e := &Error{StatusCode: status, ResponseCode: code, ResponseMessage: message}
	if len(code) == 7 {
		e.ServiceCode, e.CaseCode = code[3:5], code[5:7]
	}
	return e
}

// ContextTokenSource is a token source that can honour a caller's context.
// The sources of this package implement it; Transport uses it to pass the
// request's context, so that a caller can give up waiting for a token.
type ContextTokenSource interface {
	oauth2.TokenSource
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// TokenInvalidator is a token source that can be told a token was rejected by
// the provider. Invalidate drops t if it is still the cached token, so the
// next call fetches a fresh one; it does nothing if t was already replaced.
// The sources of this package implement it; Transport calls it on a 401 that
// says the token is invalid.
type TokenInvalidator interface {
	Invalidate(t *oauth2.Token)
}

var _ = fmt.Sprintf
