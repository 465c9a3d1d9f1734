package snapauth

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// isJSONMediaType reports whether a Content-Type value is application/json,
// with or without parameters.
func isJSONMediaType(v string) bool {
	const jsonType = "application/json"
	if len(v) < len(jsonType) || !strings.EqualFold(v[:len(jsonType)], jsonType) {
		return false
	}
	rest := strings.TrimLeft(v[len(jsonType):], " \t")
	return rest == "" || rest[0] == ';'
}

// bodyReader is a request body over bytes the transport owns.
type bodyReader struct{ bytes.Reader }

func newBodyReader(b []byte) *bodyReader {
	r := new(bodyReader)
	r.Reset(b)
	return r
}

// Close does nothing: the bytes need no release.
func (*bodyReader) Close() error { return nil }

// readRequestBody reads and closes req.Body, if any.
func readRequestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	size := req.ContentLength
	if size <= 0 || size > 1<<20 {
		size = 512
	}
	b := make([]byte, 0, size+1) // one more byte, to see EOF without growing
	for {
		n, err := req.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, fmt.Errorf("snapauth: reading the request body: %w", err)
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// minifyOwned is Minify for a buffer the transport owns, done in place: the
// canonical form is never longer than the input at any point (every escape
// appendMinified rewrites shrinks or keeps its size, and it reads ahead of
// where it writes), so no second buffer is needed. FuzzMinifyInPlace checks
// it against Minify.
func minifyOwned(body []byte) ([]byte, error) {
	if err := checkJSON(body); err != nil {
		return nil, err
	}
	return appendMinified(body[:0], body), nil
}
