package snapauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors of the reverse direction (Verifier, TokenServer), beside
// ErrInvalidSignature, ErrStaleTimestamp and ErrInvalidToken. A
// *RequestError matches them with errors.Is.
var (
	// ErrReplay means the X-EXTERNAL-ID of the request was already accepted
	// from the same partner on the same day (SNAP 409xx00).
	ErrReplay = errors.New("snapauth: X-EXTERNAL-ID already used today by this partner")
	// ErrMissingHeader means a mandatory header is absent or empty (400xx02).
	ErrMissingHeader = errors.New("snapauth: mandatory header missing")
	// ErrInvalidHeader means a header is malformed or sent more than once,
	// such as an X-TIMESTAMP in another layout (400xx01).
	ErrInvalidHeader = errors.New("snapauth: header malformed or repeated")
	// ErrInvalidBody means the body is too large, unreadable or not JSON
	// (400xx00).
	ErrInvalidBody = errors.New("snapauth: request body too large or not JSON")
	// ErrMissingToken means a request that needs a B2B access token carries
	// no "Authorization: Bearer" header (401xx03, Token Not Found).
	ErrMissingToken = errors.New("snapauth: no bearer access token")
)

// RequestError is why a Verifier or TokenServer refused a request, with the
// SNAP answer the refusal calls for. Its text holds the message and the
// cause, never a secret, a token or a signature.
type RequestError struct {
	// StatusCode is the HTTP status of the answer: 400, 401, 405, 409 or 500.
	StatusCode int
	// CaseCode is the two-digit SNAP case code ("00" for
	// "Unauthorized. [Signature]", "01" for an invalid token).
	CaseCode string
	// Message is the SNAP responseMessage, such as "Unauthorized. [Signature]".
	Message string
	// Err is the cause: one of the sentinels (ErrInvalidSignature,
	// ErrStaleTimestamp, ErrReplay, ErrMissingHeader, ErrInvalidHeader,
	// ErrInvalidBody, ErrInvalidToken, ErrMissingToken, ErrUnauthorized) or,
	// with StatusCode 500, a failure of the server's own configuration or
	// replay store. It may be nil.
	Err error
}

// Error returns "snapauth: request refused: <message>", followed by the cause.
func (e *RequestError) Error() string {
	msg := "snapauth: request refused: " + e.Message
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

// Is makes a refusal match ErrUnauthorized (401, case 00) and ErrInvalidToken
// (401, cases 01 to 04) as a provider's *Error does.
func (e *RequestError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized && e.CaseCode == "00"
	case ErrInvalidToken:
		return e.StatusCode == http.StatusUnauthorized && e.CaseCode >= "01" && e.CaseCode <= "04"
	}
	return false
}

// ResponseCode returns the 7-character SNAP code of the refusal for a service
// code: status, service code, case code ("4012400" for a bad signature on
// service 24). A service code that is not two digits is written as "00".
func (e *RequestError) ResponseCode(serviceCode string) string {
	if len(serviceCode) != 2 || strings.Trim(serviceCode, "0123456789") != "" {
		serviceCode = "00"
	}
	return strconv.Itoa(e.StatusCode) + serviceCode + e.CaseCode
}

func refuse(status int, caseCode, message string, err error) *RequestError {
	return &RequestError{StatusCode: status, CaseCode: caseCode, Message: message, Err: err}
}

func missingHeader(name string) *RequestError {
	return refuse(http.StatusBadRequest, "02", "Invalid Mandatory Field ["+name+"]", ErrMissingHeader)
}

func invalidHeader(name string) *RequestError {
	return refuse(http.StatusBadRequest, "01", "Invalid Field Format ["+name+"]", ErrInvalidHeader)
}

func invalidBody(detail string) *RequestError {
	return refuse(http.StatusBadRequest, "00", "Bad Request. ["+detail+"]", ErrInvalidBody)
}

func unauthorized(detail string, err error) *RequestError {
	return refuse(http.StatusUnauthorized, "00", "Unauthorized. ["+detail+"]", err)
}

func internalError(err error) *RequestError {
	return refuse(http.StatusInternalServerError, "01", "Internal Server Error", err)
}

// The refusals made in more than one place; each call returns a new value,
// so that a caller changing one changes no other.
func errBadSignature() *RequestError { return unauthorized("Signature", ErrInvalidSignature) }
func errInvalidToken() *RequestError {
	return refuse(http.StatusUnauthorized, "01", "Invalid Token (B2B)", ErrInvalidToken)
}
func errNoToken() *RequestError {
	return refuse(http.StatusUnauthorized, "03", "Token Not Found (B2B)", ErrMissingToken)
}
func errReplayed() *RequestError { return refuse(http.StatusConflict, "00", "Conflict", ErrReplay) }

// asRequestError returns err as a *RequestError, treating any other error as
// an internal one (500).
func asRequestError(err error) *RequestError {
	var re *RequestError
	if errors.As(err, &re) {
		return re
	}
	return internalError(err)
}

// WriteRefusal answers a refused request in SNAP form: the refusal's HTTP
// status, Content-Type application/json, an X-TIMESTAMP of the answer (unless
// w already has one) and a JSON body {"responseCode":
// "<status><serviceCode><case>","responseMessage":"<message>"}. An err that
// is not a *RequestError is
// answered as 500xx01 Internal Server Error, without its text. serviceCode
// is the two-digit SNAP service code of the endpoint (see ServiceCode).
func WriteRefusal(w http.ResponseWriter, err error, serviceCode string) {
	re := asRequestError(err)
	body, _ := json.Marshal(struct {
		ResponseCode    string `json:"responseCode"`
		ResponseMessage string `json:"responseMessage"`
	}{re.ResponseCode(serviceCode), re.Message})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if h.Get("X-Timestamp") == "" {
		h.Set("X-TIMESTAMP", Standard.Timestamp(time.Now()))
	}
	h.Del("Content-Length")
	w.WriteHeader(re.StatusCode)
	_, _ = w.Write(body)
}

// serviceCodes are the SNAP service codes of well-known endpoints, by the
// path after /v1.0/ (or any version).
var serviceCodes = map[string]string{
	"access-token/b2b":    "73",
	"access-token/b2b2c":  "74",
	"transfer-va/inquiry": "24",
	"transfer-va/payment": "25",
	"transfer-va/status":  "26",
	"qr/qr-mpm-generate":  "47",
	"qr/qr-mpm-decode":    "48",
	"qr/qr-mpm-query":     "51",
	"qr/qr-mpm-notify":    "52",
}

// ServiceCode returns the SNAP service code of a well-known endpoint path,
// such as "24" for ".../v1.0/transfer-va/inquiry" and "52" for
// ".../v1.0/qr/qr-mpm-notify", whatever prefix comes before the version, or
// "00" for a path it does not know.
func ServiceCode(path string) string {
	for i := 0; i+3 < len(path); i++ {
		// Find "/v<digits>.<digits>/" and look up what follows it.
		if path[i] != '/' || path[i+1] != 'v' {
			continue
		}
		j := i + 2
		for j < len(path) && (path[j] == '.' || '0' <= path[j] && path[j] <= '9') {
			j++
		}
		if j > i+2 && j < len(path) && path[j] == '/' {
			if code, ok := serviceCodes[strings.TrimSuffix(path[j+1:], "/")]; ok {
				return code
			}
		}
	}
	return "00"
}
