package snapauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// The minifier as it was before the one-pass parser, kept as the reference
// the fuzz target holds the parser to: encoding/json.Valid and utf8.Valid
// decide what is accepted (Valid first, so invalid JSON is reported before
// invalid UTF-8), and a simple copier, run on accepted input only, what
// comes out.

func referenceMinify(body []byte) ([]byte, error) {
	if len(body) == 0 {
		return []byte{}, nil
	}
	if !json.Valid(body) {
		return nil, errNotJSON
	}
	if !utf8.Valid(body) {
		return nil, errNotUTF8
	}
	return referenceAppendMinified(nil, body), nil
}

// referenceAppendMinified appends the canonical compact form of valid JSON src to dst.
func referenceAppendMinified(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		c := src[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			i++
		case '"':
			end := i + 1
			for src[end] != '"' {
				if src[end] == '\\' {
					end++
				}
				end++
			}
			dst = appendString(dst, src[i+1:end])
			i = end + 1
		default:
			j := i + 1
			for j < len(src) && !isJSONSpace(src[j]) && src[j] != '"' {
				j++
			}
			dst = append(dst, src[i:j]...)
			i = j
		}
	}
	return dst
}

// FuzzMinifyStrict holds the one-pass parser to the reference: the same
// inputs accepted, the same error for those refused, the same bytes out.
func FuzzMinifyStrict(f *testing.F) {
	for _, seed := range []string{
		``, ` `, `{}`, `[]`, `[ ]`, `{ }`, `"x"`, `1.50e+2`, `-0`, `01`, `1.`, `.5`, `1e`, `1e+`, `-`, `--1`,
		`tru`, `true`, `truex`, `nul`, `null `, ` false`, `[1,]`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{,}`, `[,1]`,
		`{"a":1}{}`, `[1 2]`, `{"a" "b"}`, `{1:2}`, `"\x"`, `"\u12"`, `"\u12G4"`, "\"\t\"", "\"a\x7f\"",
		"{\n  \"a\" : \"\\u003cb\\u003e \\u0026 \\/ \\u00e9 \\ud83c\\udf89 \\ud800 \\u0001 \\\" \\\\ \\n\"\n}",
		`{"k":[1, 2 ,{"x":null,"y":true}], "s": "\uDBFF\uDFFF\u2028"}`,
		"not json", `{"a":1`, "\"\xff\"", "\"\xed\xa0\x80\"", "\"\xc0\xaf\"", "\"\xf4\x90\x80\x80\"", "[\"\xff\"", "\"é日🎉\"",
		"\xef\xbb\xbf{}", "{}\x00", "[\r\n\t]",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantErr := referenceMinify(body)
		got, gotErr := Minify(body)
		if wantErr != gotErr {
			t.Fatalf("%q: reference error %v, Minify %v", body, wantErr, gotErr)
		}
		if wantErr == nil && !bytes.Equal(want, got) {
			t.Fatalf("%q: reference %q, Minify %q", body, want, got)
		}
	})
}

// TestMinifyNestingLimit: the depth encoding/json accepts (10000) passes,
// one more is refused, as json.Valid refuses it.
func TestMinifyNestingLimit(t *testing.T) {
	for _, depth := range []int{maxNestingDepth, maxNestingDepth + 1} {
		for _, open := range []string{"[", "{\"k\":"} {
			closeWith := map[string]string{"[": "]", "{\"k\":": "}"}[open]
			body := []byte(strings.Repeat(open, depth) + "1" + strings.Repeat(closeWith, depth))
			_, err := Minify(body)
			if valid := json.Valid(body); valid != (err == nil) {
				t.Fatalf("depth %d of %q: json.Valid %v, Minify error %v", depth, open, valid, err)
			}
			if depth == maxNestingDepth && err != nil {
				t.Fatalf("depth %d refused: %v", depth, err)
			}
		}
	}
}

// TestHasStringStop checks the 8-byte test against plainStringByte for
// every byte value in every position, beside plain bytes.
func TestHasStringStop(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			var w [8]byte
			for k := range w {
				w[k] = 'a'
			}
			w[pos] = byte(c)
			x := uint64(0)
			for k := 7; k >= 0; k-- {
				x = x<<8 | uint64(w[k])
			}
			if got, want := hasStringStop(x), !plainStringByte[c]; got != want {
				t.Fatalf("byte %#x at %d: hasStringStop %v, want %v", c, pos, got, want)
			}
		}
	}
}

// TestMinifyOwnedLargeHashesInChunks: for bodies large enough to be hashed
// chunk by chunk while minified, minifyOwned gives Minify's bytes and their
// SHA-256, and refuses what Minify refuses, late errors included.
func TestMinifyOwnedLargeHashesInChunks(t *testing.T) {
	item := `{ "name" : "caf\u00e9 \"x\" \/ \ud83c\udf89", "qty" : 1.50e+2, "ok" : [ true , false , null ] }`
	var pretty, compact []byte
	pretty = append(pretty, "[\n"...)
	compact = append(compact, '[')
	for i := 0; len(pretty) < 600<<10; i++ {
		if i > 0 {
			pretty = append(pretty, ",\n  "...)
			compact = append(compact, ',')
		}
		pretty = append(pretty, item...)
		compact = append(compact, `{"a":"`+strings.Repeat("y", i%300)+`"}`...)
	}
	pretty = append(pretty, "\n]"...)
	compact = append(compact, ']')
	for name, body := range map[string][]byte{
		"pretty":         pretty,
		"compact":        compact,
		"late syntax":    append(bytes.Clone(pretty[:len(pretty)-1]), '}'),
		"late bad UTF-8": append(bytes.Clone(pretty[:len(pretty)-2]), ",\"\xff\"]"...),
		"trailing data":  append(bytes.Clone(compact), " 1"...),
	} {
		want, wantErr := Minify(body)
		got, sum, err := minifyOwned(bytes.Clone(body))
		if wantErr != err {
			t.Fatalf("%s: Minify error %v, minifyOwned %v", name, wantErr, err)
		}
		if err == nil && (!bytes.Equal(want, got) || sum != sha256.Sum256(want)) {
			t.Fatalf("%s: minifyOwned differs from Minify + sha256.Sum256", name)
		}
	}
}
