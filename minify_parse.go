package snapauth

import (
	"encoding/binary"
	"hash"
	"unicode/utf8"
)

// The strict one-pass parser behind Minify: it checks that a body is one
// JSON value in valid UTF-8, refusing exactly what encoding/json.Valid and
// utf8.Valid refuse, while it writes the canonical compact form.

// maxNestingDepth is encoding/json's limit on nested objects and arrays.
const maxNestingDepth = 10000

// States of minifyStrict's parser.
const (
	wantValue      = iota // a value
	wantKey               // an object key (after '{' that is not empty, or ',')
	wantAfterValue        // ',', a closing bracket, or the end
)

// minifyStrict parses src as one JSON value (RFC 8259 as encoding/json
// accepts it) and appends its canonical compact form to dst. syntaxOK
// reports whether src is valid JSON; utf8OK whether its strings (the only
// place non-ASCII can be) are valid UTF-8. The output is only meaningful
// when both hold.
//
// Canonical form differs from the input only where whitespace is dropped
// and where a string with escapes is rewritten, so the parser copies the
// input in runs (src[from:i]) at those places only.
//
// With hs set, the output is also fed to hs.h as it is made, in chunks of
// about hashChunk bytes while they are still in cache: for a large body that
// saves a pass over memory. hs.n is how much of the output was fed; the
// caller feeds the rest.
func minifyStrict(dst, src []byte, hs *chunkHasher) (out []byte, syntaxOK, utf8OK bool) {
	var objects [maxNestingDepth/64 + 1]uint64 // bit d: depth d+1 is an object
	depth := uint(0)
	inObject := false
	utf8OK = true
	n := len(src)
	i := skipSpace(src, 0)
	from := i
	state := wantValue
	for {
		switch state {
		case wantKey:
			if i >= n || src[i] != '"' {
				return dst, false, utf8OK
			}
			var ok, u bool
			if dst, from, i, ok, u = stringToken(dst, src, from, i); !ok {
				return dst, false, utf8OK
			}
			utf8OK = utf8OK && u
			if i < n && isJSONSpace(src[i]) {
				dst = append(dst, src[from:i]...)
				i = skipSpace(src, i+1)
				from = i
			}
			if i >= n || src[i] != ':' {
				return dst, false, utf8OK
			}
			i++
			if i < n && isJSONSpace(src[i]) {
				dst = append(dst, src[from:i]...)
				i = skipSpace(src, i+1)
				from = i
			}
			state = wantValue

		case wantValue:
			if i >= n {
				return dst, false, utf8OK
			}
			switch c := src[i]; c {
			case '{', '[':
				if depth >= maxNestingDepth {
					return dst, false, utf8OK
				}
				bit := uint64(1) << (depth % 64)
				inObject = c == '{'
				if inObject {
					objects[depth/64] |= bit
				} else {
					objects[depth/64] &^= bit
				}
				depth++
				i++
				if i < n && isJSONSpace(src[i]) {
					dst = append(dst, src[from:i]...)
					i = skipSpace(src, i+1)
					from = i
				}
				if i < n && src[i] == c+2 { // '}' is '{'+2, ']' is '['+2
					i++
					depth--
					if depth > 0 {
						inObject = objects[(depth-1)/64]&(1<<((depth-1)%64)) != 0
					}
					state = wantAfterValue
				} else if inObject {
					state = wantKey
				}
				continue
			case '"':
				var ok, u bool
				if dst, from, i, ok, u = stringToken(dst, src, from, i); !ok {
					return dst, false, utf8OK
				}
				utf8OK = utf8OK && u
			case 't':
				if !hasWord(src, i, "true") {
					return dst, false, utf8OK
				}
				i += 4
			case 'f':
				if !hasWord(src, i, "false") {
					return dst, false, utf8OK
				}
				i += 5
			case 'n':
				if !hasWord(src, i, "null") {
					return dst, false, utf8OK
				}
				i += 4
			default:
				if i = scanNumber(src, i); i < 0 {
					return dst, false, utf8OK
				}
			}
			state = wantAfterValue

		case wantAfterValue:
			if hs != nil && len(dst)+(i-from)-hs.n >= hashChunk {
				dst = append(dst, src[from:i]...)
				from = i
				hs.h.Write(dst[hs.n:])
				hs.n = len(dst)
			}
			if i < n && isJSONSpace(src[i]) {
				dst = append(dst, src[from:i]...)
				i = skipSpace(src, i+1)
				from = i
			}
			if depth == 0 {
				return append(dst, src[from:i]...), i == n, utf8OK
			}
			if i >= n {
				return dst, false, utf8OK
			}
			switch c := src[i]; {
			case c == ',':
				i++
				if i < n && isJSONSpace(src[i]) {
					dst = append(dst, src[from:i]...)
					i = skipSpace(src, i+1)
					from = i
				}
				if inObject {
					state = wantKey
				} else {
					state = wantValue
				}
			case c == '}' && inObject, c == ']' && !inObject:
				i++
				depth--
				if depth > 0 {
					inObject = objects[(depth-1)/64]&(1<<((depth-1)%64)) != 0
				}
			default:
				return dst, false, utf8OK
			}
		}
	}
}

// stringToken scans the string whose quote is src[i] (see scanString) and
// returns the index after it. A string with escapes is written out in
// canonical form, after the pending run src[from:i], and the run restarts
// after it; any other string stays in the run.
func stringToken(dst, src []byte, from, i int) (out []byte, newFrom, end int, syntaxOK, utf8OK bool) {
	end, esc, syntaxOK, utf8OK := scanString(src, i)
	if !syntaxOK {
		return dst, from, i, false, utf8OK
	}
	if esc {
		dst = appendString(append(dst, src[from:i]...), src[i+1:end-1])
		from = end
	}
	return dst, from, end, true, utf8OK
}

// chunkHasher is a hash fed by minifyStrict as it goes, and how much of
// the output it has been fed.
type chunkHasher struct {
	h hash.Hash
	n int
}

// hashChunk is how much output minifyStrict makes between two feeds of a
// chunkHasher: small enough to be in cache still, large enough that the
// feeds cost nothing.
const hashChunk = 64 << 10

func skipSpace(src []byte, i int) int {
	for i < len(src) && isJSONSpace(src[i]) {
		i++
	}
	return i
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func hasWord(src []byte, i int, w string) bool {
	return len(src)-i >= len(w) && string(src[i:i+len(w)]) == w
}

// scanNumber returns the end of the JSON number at src[i:], or -1.
func scanNumber(src []byte, i int) int {
	n := len(src)
	if i < n && src[i] == '-' {
		i++
	}
	switch {
	case i < n && src[i] == '0':
		i++
	case i < n && '1' <= src[i] && src[i] <= '9':
		i = skipDigits(src, i+1)
	default:
		return -1
	}
	if i < n && src[i] == '.' {
		j := skipDigits(src, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < n && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < n && (src[i] == '+' || src[i] == '-') {
			i++
		}
		j := skipDigits(src, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func skipDigits(src []byte, i int) int {
	for i < len(src) && '0' <= src[i] && src[i] <= '9' {
		i++
	}
	return i
}

// plainStringByte[c] is true for the bytes a JSON string holds as they are
// and that need no further look: printable ASCII other than '"' and '\\'.
var plainStringByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString scans the JSON string whose opening quote is src[i] and returns
// the index after its closing quote, whether it holds escapes, whether it is
// valid (syntaxOK) and whether its bytes are valid UTF-8. Invalid UTF-8 is
// not a syntax error, as for encoding/json.
func scanString(src []byte, i int) (end int, escapes, syntaxOK, utf8OK bool) {
	utf8OK = true
	n := len(src)
	j := i + 1
	for {
		for j+8 <= n && !hasStringStop(binary.LittleEndian.Uint64(src[j:])) {
			j += 8
		}
		for j < n && plainStringByte[src[j]] {
			j++
		}
		if j >= n {
			return 0, false, false, utf8OK
		}
		switch c := src[j]; {
		case c == '"':
			return j + 1, escapes, true, utf8OK
		case c == '\\':
			escapes = true
			if j+1 >= n {
				return 0, false, false, utf8OK
			}
			switch src[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if n-j < 6 || !isHex(src[j+2]) || !isHex(src[j+3]) || !isHex(src[j+4]) || !isHex(src[j+5]) {
					return 0, false, false, utf8OK
				}
				j += 6
			default:
				return 0, false, false, utf8OK
			}
		case c < 0x20:
			return 0, false, false, utf8OK
		default: // c >= 0x80
			r, size := utf8.DecodeRune(src[j:])
			if r == utf8.RuneError && size == 1 {
				utf8OK = false
			}
			j += size
		}
	}
}

// hasStringStop reports whether any of the 8 bytes in x is one that
// plainStringByte refuses: '"', '\\', a control character or non-ASCII. (Each
// term is the classic "has a byte below n" test, (x - n*lsb) &^ x & msb,
// exact about whether such a byte exists.)
func hasStringStop(x uint64) bool {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	q := x ^ (lsb * '"')
	b := x ^ (lsb * '\\')
	return ((x-lsb*0x20)&^x|(q-lsb)&^q|(b-lsb)&^b|x)&msb != 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
