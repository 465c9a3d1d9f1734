package snapauth

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
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

// readRequestBody reads and closes req.Body, if any. A body of more than
// limit bytes is an error, found after reading at most limit+1 bytes. A body
// whose ContentLength is known is read into one buffer of that size; one of
// unknown length is read through a pooled chunk first, so that a small one
// costs one allocation of its own size and an empty one none.
func readRequestBody(req *http.Request, limit int64) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	if req.ContentLength > limit {
		return nil, bodyTooLarge(limit)
	}
	var b []byte
	if req.ContentLength > 0 {
		b = make([]byte, 0, req.ContentLength+1) // one more byte, to see EOF without growing
	} else {
		var done bool
		var err error
		if b, done, err = readFirstChunk(req.Body, limit); done || err != nil {
			return b, err
		}
	}
	for {
		if len(b) == cap(b) {
			if int64(len(b)) > limit {
				return nil, bodyTooLarge(limit)
			}
			b = growBody(b, limit)
		}
		n, err := req.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			if int64(len(b)) > limit {
				return nil, bodyTooLarge(limit)
			}
			return b, nil
		}
		if err != nil {
			return nil, readError(err)
		}
	}
}

// bodyChunk is the size of readFirstChunk's pooled buffers.
const bodyChunk = 4 << 10

var bodyChunks = sync.Pool{New: func() any { return new([bodyChunk]byte) }}

// readFirstChunk reads r into a pooled chunk. When r ends within it (done),
// b is an exact copy of the body (nil when empty); otherwise b holds what was
// read, in a buffer with room for more.
func readFirstChunk(r io.Reader, limit int64) (b []byte, done bool, err error) {
	c := bodyChunks.Get().(*[bodyChunk]byte)
	defer bodyChunks.Put(c)
	n := 0
	for n < len(c) && int64(n) <= limit {
		m, err := r.Read(c[n:min(len(c), int(min(limit+1, bodyChunk)))])
		n += m
		if err == io.EOF {
			if int64(n) > limit {
				return nil, true, bodyTooLarge(limit)
			}
			if n == 0 {
				return nil, true, nil
			}
			return append([]byte(nil), c[:n]...), true, nil
		}
		if err != nil {
			return nil, true, readError(err)
		}
	}
	if int64(n) > limit {
		return nil, true, bodyTooLarge(limit)
	}
	b = make([]byte, n, min(2*bodyChunk, limit+1))
	copy(b, c[:n])
	return b, false, nil
}

// growBody returns b with room for more, doubling its capacity, or going
// straight to limit+1 bytes once a doubling would pass half of that: the
// buffers a body over the cap takes add up to about twice the cap.
func growBody(b []byte, limit int64) []byte {
	n := int64(max(2*cap(b), 512))
	if n > (limit+1)/2 {
		n = limit + 1 // rather than a step that would need one more
	}
	nb := make([]byte, len(b), n)
	copy(nb, b)
	return nb
}

func readError(err error) error {
	return fmt.Errorf("snapauth: reading the request body: %w", err)
}

func bodyTooLarge(limit int64) error {
	return fmt.Errorf("snapauth: request body is larger than Transport.MaxBodySize (%d bytes); nothing was sent: %w",
		limit, &http.MaxBytesError{Limit: limit})
}

// emptyBodySum is the SHA-256 of an empty body, which a request without
// one signs.
var emptyBodySum = sha256.Sum256(nil)

// minifyOwned is Minify for a buffer the transport owns, done in place: the
// canonical form is never longer than the input at any point (every escape
// appendString rewrites shrinks or keeps its size, and the parser reads ahead
// of where it writes), so no second buffer is needed. A body that is refused
// is left garbled, which is fine for a buffer nobody else sees. It also
// returns the SHA-256 of the minified body, which the string to sign needs:
// for a large body it is computed chunk by chunk as the body is minified.
// FuzzMinifyInPlace checks it against Minify and sha256.Sum256.
func minifyOwned(body []byte) ([]byte, [sha256.Size]byte, error) {
	if len(body) == 0 { // a GET's: nothing to minify, and a known hash
		return nil, emptyBodySum, nil
	}
	if len(body) < 4*hashChunk {
		min, err := appendMinifiedChecked(body[:0], body)
		if err != nil {
			return nil, [sha256.Size]byte{}, err
		}
		return min, sha256.Sum256(min), nil
	}
	hs := &chunkHasher{h: sha256.New()}
	min, syntaxOK, utf8OK := minifyStrict(body[:0], body, hs)
	switch {
	case !syntaxOK:
		return nil, [sha256.Size]byte{}, errNotJSON
	case !utf8OK:
		return nil, [sha256.Size]byte{}, errNotUTF8
	}
	hs.h.Write(min[hs.n:])
	var sum [sha256.Size]byte
	hs.h.Sum(sum[:0])
	return min, sum, nil
}
