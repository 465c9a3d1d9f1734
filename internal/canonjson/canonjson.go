// Package canonjson re-serialises JSON the way SNAP providers do before
// hashing a body (JSON.stringify(JSON.parse(body))), for snaptest and the
// tests of the root package: one independent reference for Minify.
package canonjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"
)

// Reserialize re-serialises a received body the way a provider does before
// hashing it for a service signature: parse, then write back compactly in
// JavaScript's JSON.stringify form (key order and duplicate keys kept,
// numbers as written, strings with only '"', '\\' and control characters
// escaped). It is written independently of snapauth.Minify on purpose, so
// that the sandbox catches a client whose minification a provider would not
// reproduce. An empty body stays empty; anything else that is not one valid
// UTF-8 JSON value is an error.
func Reserialize(body []byte) ([]byte, error) {
	if len(body) == 0 {
		return []byte{}, nil
	}
	if !utf8.Valid(body) {
		return nil, errors.New("canonjson: body is not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	out, err := appendValue(make([]byte, 0, len(body)), dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("canonjson: body has data after the JSON value")
	}
	return out, nil
}

var errNotJSON = errors.New("canonjson: body is not JSON")

// appendValue appends the next JSON value of dec. The decoder's own nesting
// limit bounds the recursion.
func appendValue(out []byte, dec *json.Decoder) ([]byte, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, errNotJSON
	}
	switch v := tok.(type) {
	case json.Delim:
		if v != '{' && v != '[' {
			return nil, errNotJSON
		}
		out = append(out, byte(v))
		for i := 0; dec.More(); i++ {
			if i > 0 {
				out = append(out, ',')
			}
			if v == '{' {
				k, err := dec.Token()
				key, ok := k.(string)
				if err != nil || !ok {
					return nil, errNotJSON
				}
				out = appendJSString(out, key)
				out = append(out, ':')
			}
			if out, err = appendValue(out, dec); err != nil {
				return nil, err
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, errNotJSON
		}
		if v == '{' {
			return append(out, '}'), nil
		}
		return append(out, ']'), nil
	case string:
		return appendJSString(out, v), nil
	case json.Number:
		return append(out, v...), nil
	case bool:
		if v {
			return append(out, "true"...), nil
		}
		return append(out, "false"...), nil
	case nil:
		return append(out, "null"...), nil
	}
	return nil, errNotJSON
}

// appendJSString writes s as JSON.stringify does.
func appendJSString(out []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c == '\b':
			out = append(out, '\\', 'b')
		case c == '\f':
			out = append(out, '\\', 'f')
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c == '\t':
			out = append(out, '\\', 't')
		case c < 0x20:
			out = append(out, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		default:
			out = append(out, c)
		}
	}
	return append(out, '"')
}
