package snapauth

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// Minify returns body as canonical compact JSON: insignificant whitespace
// removed, key order kept, and strings written the way JavaScript's
// JSON.stringify writes them. Unnecessary escapes (\u003c, \/, \u00e9,
// escaped surrogate pairs) become the literal characters; '"', '\\' and
// control characters stay escaped, as do lone surrogates. Numbers and
// duplicate keys are kept exactly as written.
//
// What holds: for a body whose numbers are written as JavaScript writes them
// (not "1.0", "1e3", "-0", nor integers beyond 2^53), with no duplicate keys
// and no keys that are array indices ("0", "12": JavaScript moves them to
// the front of their object), Minify(body) is byte for byte
// JSON.stringify(JSON.parse(body)), so a provider that parses and
// re-serialises what it receives hashes the bytes that were signed (SNAP
// bodies carry amounts as strings, "10000.00", so this is the usual case).
// A provider that re-serialises can still change the others ("1.0" to "1",
// "1e3" to "1000", {"a":1,"a":2} to {"a":2}). Empty input gives
// empty output; anything that is not valid UTF-8 JSON is an error and is
// never signed.
func Minify(body []byte) ([]byte, error) {
	return appendMinifiedChecked(make([]byte, 0, len(body)), body)
}

var (
	errNotJSON = errors.New("snapauth: body is not valid JSON; refusing to sign it")
	errNotUTF8 = errors.New("snapauth: body is not valid UTF-8 JSON; refusing to sign it")
)

// appendMinifiedChecked appends the canonical compact form of body to dst in
// one pass that also checks it: an empty body, or one JSON value in valid
// UTF-8, refused exactly where encoding/json.Valid or utf8.Valid refuse
// (FuzzMinifyStrict compares them). Invalid JSON is reported before invalid
// UTF-8, as Valid is asked first. dst may be body[:0]: the output never gets
// ahead of the input it was read from (see minifyOwned).
func appendMinifiedChecked(dst, body []byte) ([]byte, error) {
	if len(body) == 0 {
		return dst, nil
	}
	out, syntaxOK, utf8OK := minifyStrict(dst, body, nil)
	switch {
	case !syntaxOK:
		return nil, errNotJSON
	case !utf8OK:
		return nil, errNotUTF8
	}
	return out, nil
}

// appendString writes the contents s of a valid JSON string, with quotes, in
// JSON.stringify's canonical escaping.
func appendString(dst, s []byte) []byte {
	dst = append(dst, '"')
	if bytes.IndexByte(s, '\\') < 0 {
		dst = append(dst, s...)
		return append(dst, '"')
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch e := s[i+1]; e {
		case '"', '\\':
			dst = append(dst, '\\', e)
			i += 2
		case '/':
			dst = append(dst, '/')
			i += 2
		case 'b', 'f', 'n', 'r', 't':
			dst = append(dst, '\\', e)
			i += 2
		case 'u':
			r := hex4(s[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				if r < 0xdc00 && i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2 := hex4(s[i+2 : i+6]); 0xdc00 <= r2 && r2 <= 0xdfff {
						dst = utf8.AppendRune(dst, utf16.DecodeRune(r, r2))
						i += 6
						continue
					}
				}
				dst = appendUnicodeEscape(dst, r) // a lone surrogate stays escaped
				continue
			}
			dst = appendRuneCanonical(dst, r)
		}
	}
	return append(dst, '"')
}

// shortEscapes holds, for each rune JSON.stringify writes as a backslash
// and one letter, that letter; 0 for the others.
var shortEscapes = [...]byte{'"': '"', '\\': '\\', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't'}

func appendRuneCanonical(dst []byte, r rune) []byte {
	if r < rune(len(shortEscapes)) && shortEscapes[r] != 0 {
		return append(dst, '\\', shortEscapes[r])
	}
	if r < 0x20 {
		return appendUnicodeEscape(dst, r)
	}
	return utf8.AppendRune(dst, r)
}

func appendUnicodeEscape(dst []byte, r rune) []byte {
	const lowerhex = "0123456789abcdef"
	return append(dst, '\\', 'u', lowerhex[r>>12&15], lowerhex[r>>8&15], lowerhex[r>>4&15], lowerhex[r&15])
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}
