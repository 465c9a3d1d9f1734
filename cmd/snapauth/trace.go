package main

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/snapauth/snapauth"
)

// recorder is an http.RoundTripper that keeps a copy of every request it
// sends, as it went on the wire (after snapauth.Transport signed it), so
// that the tool can show the headers and the string that was signed.
type recorder struct {
	base http.RoundTripper

	mu   sync.Mutex
	sent []*sentRequest
}

// sentRequest is one request as sent.
type sentRequest struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	Status int // the answer's status, 0 when there was none
	// Answer holds the answer's status line and headers, nil when there
	// was none; Took is the time from sending to the answer's headers.
	Answer *http.Response
	Took   time.Duration
	// Held says the request was recorded but not sent (--curl).
	Held bool
}

func newRecorder(base http.RoundTripper) *recorder {
	if base == nil {
		base = http.DefaultTransport
	}
	return &recorder{base: base}
}

// record keeps a copy of req, reading (and closing) its body.
func (r *recorder) record(req *http.Request, held bool) (*sentRequest, []byte, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	rec := &sentRequest{Method: req.Method, URL: req.URL.String(), Header: req.Header.Clone(), Body: body, Held: held}
	r.mu.Lock()
	r.sent = append(r.sent, rec)
	r.mu.Unlock()
	return rec, body, nil
}

// RoundTrip records req, then sends it through the base transport.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	rec, body, err := r.record(req, false)
	if err != nil {
		return nil, err
	}
	r2 := req.Clone(req.Context())
	if body != nil {
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
	}
	start := time.Now()
	resp, err := r.base.RoundTrip(r2)
	if resp != nil {
		r.mu.Lock()
		rec.Status, rec.Took = resp.StatusCode, time.Since(start)
		rec.Answer = &http.Response{Status: resp.Status, StatusCode: resp.StatusCode, Proto: resp.Proto, Header: resp.Header.Clone()}
		r.mu.Unlock()
	}
	return resp, err
}

// heldTransport records a request in its recorder as signed but not sent,
// and answers 204 No Content itself (--curl).
type heldTransport struct{ r *recorder }

func (h heldTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if _, _, err := h.r.record(req, true); err != nil {
		return nil, err
	}
	return &http.Response{
		Status: "204 No Content", StatusCode: http.StatusNoContent, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, Request: req,
	}, nil
}

// last returns the last request sent, or nil.
func (r *recorder) last() *sentRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sent) == 0 {
		return nil
	}
	return r.sent[len(r.sent)-1]
}

// reset forgets the requests recorded so far.
func (r *recorder) reset() {
	r.mu.Lock()
	r.sent = nil
	r.mu.Unlock()
}

// mask shortens a secret-bearing value to its first four characters and its
// length, like "eyJ0…(1234 chars)", enough to tell two tokens apart without
// revealing either.
func mask(s string) string {
	n := utf8.RuneCountInString(s)
	if n <= 12 {
		return "…(" + strconv.Itoa(n) + " chars)"
	}
	i := 0
	for range 4 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + "…(" + strconv.Itoa(n) + " chars)"
}

// display says what a printed request shows whole.
type display struct {
	// tokens shows bearer tokens, auth codes and refresh tokens
	// (--show-tokens); otherwise they are masked.
	tokens bool
	// signatures shows X-SIGNATURE whole (not a secret: call --verbose);
	// the demo shortens it.
	signatures bool
}

// header returns a header's value for display: tokens masked unless d.tokens,
// signatures unless d.signatures, everything else as sent.
func (d display) header(name, value string) string {
	switch http.CanonicalHeaderKey(name) {
	case "Authorization", "Authorization-Customer":
		if d.tokens {
			return value
		}
		if scheme, tok, ok := strings.Cut(value, " "); ok {
			return scheme + " " + mask(tok)
		}
		return mask(value)
	case "X-Signature":
		if d.signatures {
			return value
		}
		return mask(value)
	}
	return value
}

// printRequest writes a sent request's line and headers, masked, indented.
func printRequest(w io.Writer, indent string, req *sentRequest) {
	display{}.printRequest(w, indent, req)
}

// printRequest writes a sent request's line, headers and body as d shows
// them, indented.
func (d display) printRequest(w io.Writer, indent string, req *sentRequest) {
	fmt.Fprintf(w, "%s%s %s\n", indent, req.Method, req.URL)
	names := slices.Sorted(maps.Keys(req.Header))
	width := 0
	for _, k := range names {
		width = max(width, len(k))
	}
	for _, k := range names {
		for _, v := range req.Header[k] {
			fmt.Fprintf(w, "%s  %-*s %s\n", indent, width+1, headerName(k)+":", d.header(k, v))
		}
	}
	if len(req.Body) > 0 {
		body := req.Body
		if !d.tokens {
			body = maskTokenBody(body)
		}
		fmt.Fprintf(w, "%s  body: %s\n", indent, body)
	}
}

// printAnswerHead writes the answer's status line, timing and headers,
// indented; provider texts go through redact.
func printAnswerHead(w io.Writer, indent string, req *sentRequest, redact func(string) string) {
	a := req.Answer
	if a == nil {
		return
	}
	fmt.Fprintf(w, "%s< %s %s (%s)\n", indent, a.Proto, redact(a.Status), req.Took.Round(time.Millisecond))
	for _, k := range slices.Sorted(maps.Keys(a.Header)) {
		for _, v := range a.Header[k] {
			fmt.Fprintf(w, "%s< %s: %s\n", indent, k, redact(v))
		}
	}
}

// headerName spells a header the way the SNAP standard writes it: its own
// headers (X-..., CHANNEL-ID, ORIGIN) in upper case, the others canonical.
func headerName(k string) string {
	k = http.CanonicalHeaderKey(k)
	switch {
	case strings.HasPrefix(k, "X-"), k == "Channel-Id", k == "Origin":
		return strings.ToUpper(k)
	}
	return k
}

// signedString rebuilds, from a sent service request, the string its
// X-SIGNATURE covers: the symmetric form with the Authorization token, or
// the asymmetric form without. display is the same string with the access
// token masked.
func signedString(req *sentRequest, p snapauth.Provider, symmetric bool) (sts, shown string, err error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return "", "", err
	}
	token := ""
	if symmetric {
		_, token, _ = strings.Cut(req.Header.Get("Authorization"), " ")
	}
	sts, err = snapauth.ServiceStringToSign(req.Method, p.EndpointURL(u), token, req.Body, req.Header.Get("X-Timestamp"))
	if err != nil {
		return "", "", err
	}
	shown = sts
	if token != "" {
		shown = strings.Replace(sts, ":"+token+":", ":"+mask(token)+":", 1)
	}
	return sts, shown, nil
}
