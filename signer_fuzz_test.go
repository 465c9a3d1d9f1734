package snapauth_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/snapauth/snapauth"
)

// signerDecodeJSON decodes one JSON value with numbers kept as written.
func signerDecodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

func FuzzMinify(f *testing.F) {
	for _, s := range signerStringifyCorpus() {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		"", " ", "{", `{"a":1.0,"b":1e2,"c":-0}`, `{"a":1,"a":2}`, "\"\xff\"", `"\ud800\udc00"`,
		`"\uD800\uD800\uDC00"`, `"\u0000\u001F\u007f"`, "[\r\n]", `{"":""}`, `"\\u0041"`, `"\\\""`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := snapauth.Minify(in)
		valid := json.Valid(in) && utf8.Valid(in)
		switch {
		case len(in) == 0:
			if err != nil || len(out) != 0 {
				t.Fatalf("Minify(empty) = %q, %v; want empty", out, err)
			}
			return
		case !valid:
			if err == nil {
				t.Fatalf("Minify accepted invalid input %q as %q", in, out)
			}
			if !strings.HasPrefix(err.Error(), "snapauth: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		case err != nil:
			t.Fatalf("Minify refused valid JSON %q: %v", in, err)
		}
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("Minify(%q) = %q, not valid UTF-8 JSON", in, out)
		}
		again, err := snapauth.Minify(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Minify is not idempotent: %q -> %q -> %q (%v)", in, out, again, err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, in); err != nil {
			t.Fatalf("json.Compact refused what json.Valid accepted: %v", err)
		}
		if len(out) > compact.Len() {
			t.Fatalf("Minify output %q longer than json.Compact's %q", out, compact.Bytes())
		}
		want, err := signerDecodeJSON(compact.Bytes())
		if err != nil {
			t.Fatalf("decode compact: %v", err)
		}
		got, err := signerDecodeJSON(out)
		if err != nil {
			t.Fatalf("decode minified %q: %v", out, err)
		}
		if !jsonDeepEqual(want, got) {
			t.Fatalf("Minify changed the value:\n in  %q\n out %q", in, out)
		}
	})
}

// jsonDeepEqual compares decoded JSON values (maps, slices, json.Number,
// strings, bools, nil).
func jsonDeepEqual(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !jsonDeepEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !jsonDeepEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

// signerFuzzKeySeeds are the key files of testdata/keys, the seeds of the
// key-parser fuzz targets.
func signerFuzzKeySeeds(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "keys"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("testdata", "keys", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{"", "-----BEGIN", "-----BEGIN X-----\n-----END X-----\n", "MIIB", "====", "A"} {
		f.Add([]byte(s))
	}
}

// signerCheckKeyError holds a parser's error to the secrets rule: prefixed,
// and never containing an input longer than 16 bytes.
func signerCheckKeyError(t *testing.T, data []byte, err error) {
	msg := err.Error()
	if !strings.HasPrefix(msg, "snapauth: ") {
		t.Fatalf("error without prefix: %q", msg)
	}
	if len(data) > 16 && strings.Contains(msg, string(data)) {
		t.Fatalf("error %q contains the input", msg)
	}
	if len(msg) > 300 {
		t.Fatalf("error of %d bytes; key parsers' errors are fixed sentences: %q", len(msg), msg)
	}
}

// fuzzKeyParser fuzzes a key parser from the key seeds: an input it refuses
// gets no key and an error fit for the secrets rule; a key it accepts must
// pass usable.
func fuzzKeyParser[K comparable](f *testing.F, parse func([]byte) (K, error), usable func(*testing.T, K)) {
	signerFuzzKeySeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := parse(data)
		if err != nil {
			var none K
			if key != none {
				t.Fatal("a key and an error")
			}
			signerCheckKeyError(t, data, err)
			return
		}
		usable(t, key)
	})
}

func FuzzParsePrivateKey(f *testing.F) {
	fuzzKeyParser(f, snapauth.ParsePrivateKey, func(t *testing.T, key *rsa.PrivateKey) {
		if key == nil || key.Validate() != nil {
			t.Fatalf("accepted an unusable key: %v", key.Validate())
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	fuzzKeyParser(f, snapauth.ParsePublicKey, func(t *testing.T, key *rsa.PublicKey) {
		if key == nil || key.N == nil || key.N.Sign() <= 0 || key.E < 2 {
			t.Fatalf("accepted an unusable public key: %v", key)
		}
	})
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{
		"2020-12-17T10:55:00+07:00", "2020-12-17T10:55:00.123+07:00", "2020-12-17T03:55:00Z",
		"2020-12-17T03:55:00.123456789Z", "2020-12-17T10:55:00", "2020-12-17T1:55:00+07:00",
		"2020-12-17T10:55:00+24:00", "0000-01-01T00:00:00-23:59", "9999-12-31T23:59:60Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := snapauth.ParseTimestamp(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "snapauth: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		std, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !std.Equal(got) {
			t.Fatalf("ParseTimestamp(%q) = %v, RFC 3339 says %v (%v)", s, got, std, err)
		}
		if len(s) < 20 || s[10] != 'T' || s[4] != '-' || s[13] != ':' {
			t.Fatalf("ParseTimestamp accepted %q", s)
		}
		// What we format, we parse back.
		if got.Year() < 1 || got.Year() > 9998 {
			return // a zone shift may leave four-digit years at the extremes
		}
		for _, name := range snapauth.ProviderNames() {
			p, _ := snapauth.ProviderByName(name)
			ts := p.Timestamp(got)
			back, err := snapauth.ParseTimestamp(ts)
			if err != nil || !back.Equal(got.Truncate(time.Second)) && !back.Equal(got.Truncate(time.Millisecond)) {
				t.Fatalf("%s: %q -> %q -> %v, %v", p.Name, s, ts, back, err)
			}
		}
	})
}
