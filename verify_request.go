package snapauth

import (
	"bytes"
	"io"
	"net/http"
	"strings"
)

// maxIDLength bounds X-PARTNER-ID and X-EXTERNAL-ID. The standard says 36;
// the bound is looser so that a sender's longer ids are still accepted.
const maxIDLength = 64

// header returns the one non-empty value of a mandatory header, given by its
// canonical key and its name in SNAP's spelling for the answer. An absent or
// blank header is 400xx02; one sent twice is 400xx01.
func header(h http.Header, key, name string) (string, *RequestError) {
	vs := h[key]
	switch {
	case len(vs) > 1:
		return "", invalidHeader(name)
	case len(vs) == 0 || strings.TrimSpace(vs[0]) == "":
		return "", missingHeader(name)
	}
	return vs[0], nil
}

// idHeader is header for X-PARTNER-ID and X-EXTERNAL-ID: at most maxIDLength
// visible ASCII characters.
func idHeader(h http.Header, key, name string) (string, *RequestError) {
	v, e := header(h, key, name)
	if e != nil {
		return "", e
	}
	if len(v) > maxIDLength {
		return "", invalidHeader(name)
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return "", invalidHeader(name)
		}
	}
	return v, nil
}

// readBody reads r's body, at most limit bytes, and puts back a body that
// reads the same bytes from the start. A larger body is 400xx00 (and r.Body
// still reads all of it from the start); so is a body that cannot be read.
func readBody(r *http.Request, limit int64) ([]byte, *RequestError) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	orig := r.Body
	if r.ContentLength > limit {
		return nil, invalidBody("body too large")
	}
	size := 512
	if r.ContentLength > 0 {
		// Room to see EOF without growing, but never trusting a large
		// Content-Length with memory before the bytes arrive.
		size = int(min(r.ContentLength, 1<<20)) + 1
	}
	buf := make([]byte, 0, size)
	var err error
	for int64(len(buf)) <= limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n := min(cap(buf)-len(buf), int(limit+1-int64(len(buf))))
		var m int
		m, err = orig.Read(buf[len(buf) : len(buf)+n])
		buf = buf[:len(buf)+m]
		if err != nil {
			break
		}
	}
	if int64(len(buf)) > limit {
		r.Body = &rereadBody{Reader: io.MultiReader(bytes.NewReader(buf), orig), Closer: orig}
		return nil, invalidBody("body too large")
	}
	r.Body = &rereadBody{Reader: bytes.NewReader(buf), Closer: orig}
	if err != io.EOF {
		return nil, invalidBody("body unreadable")
	}
	return buf, nil
}

// rereadBody reads bytes already read, then closes the original body.
type rereadBody struct {
	io.Reader
	io.Closer
}

// compactBody appends body minus insignificant whitespace to dst, the bytes
// a sender hashed: string contents and escapes stay exactly as received. An
// empty (or blank) body appends nothing; one that is not JSON is 400xx00.
func compactBody(dst, body []byte) ([]byte, *RequestError) {
	if len(body) == 0 || len(bytes.TrimLeft(body, " \t\r\n")) == 0 {
		return dst, nil
	}
	dst, ok := appendCompactJSON(dst, body)
	if !ok {
		return dst, invalidBody("body is not JSON")
	}
	return dst, nil
}
