package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
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
}

func newRecorder(base http.RoundTripper) *recorder {
	if base == nil {
		base = http.DefaultTransport
	}
	return &recorder{base: base}
}

// RoundTrip records req, then sends it through the base transport.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	rec := &sentRequest{Method: req.Method, URL: req.URL.String(), Header: req.Header.Clone(), Body: body}
	r.mu.Lock()
	r.sent = append(r.sent, rec)
	r.mu.Unlock()

	r2 := req.Clone(req.Context())
	if body != nil {
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
	}
	resp, err := r.base.RoundTrip(r2)
	if resp != nil {
		r.mu.Lock()
		rec.Status = resp.StatusCode
		r.mu.Unlock()
	}
	return resp, err
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

// maskedHeader returns a header's value for display: tokens and signatures
// masked, everything else as sent.
func maskedHeader(name, value string) string {
	switch http.CanonicalHeaderKey(name) {
	case "Authorization", "Authorization-Customer":
		if scheme, tok, ok := strings.Cut(value, " "); ok {
			return scheme + " " + mask(tok)
		}
		return mask(value)
	case "X-Signature":
		return mask(value)
	}
	return value
}

// printRequest writes a sent request's line and headers, masked, indented.
func printRequest(w io.Writer, indent string, req *sentRequest) {
	fmt.Fprintf(w, "%s%s %s\n", indent, req.Method, req.URL)
	names := make([]string, 0, len(req.Header))
	for k := range req.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	width := 0
	for _, k := range names {
		width = max(width, len(k))
	}
	for _, k := range names {
		for _, v := range req.Header[k] {
			fmt.Fprintf(w, "%s  %-*s %s\n", indent, width+1, headerName(k)+":", maskedHeader(k, v))
		}
	}
	if len(req.Body) > 0 {
		fmt.Fprintf(w, "%s  body: %s\n", indent, req.Body)
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
func signedString(req *sentRequest, p snapauth.Provider, symmetric bool) (sts, display string, err error) {
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
	display = sts
	if token != "" {
		display = strings.Replace(sts, ":"+token+":", ":"+mask(token)+":", 1)
	}
	return sts, display, nil
}
