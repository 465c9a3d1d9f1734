package canonjson

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanonicalJSON(t *testing.T) {
	for in, want := range map[string]string{
		"": "",
		"{ \"b\" : 1 ,\n \"a\" : [ 1.50 , 2e3 ] }": `{"b":1,"a":[1.50,2e3]}`,
		`{"k":"a\u003cb\/c\u00e9\ud83d\ude00"}`:    `{"k":"a<b/cé😀"}`,
		`{"k":"\"\\\n\t\u0001\u007f"}`:             `{"k":"\"\\\n\t\u0001` + "\x7f" + `"}`,
		`{"a":1,"a":2}`:                            `{"a":1,"a":2}`,
		` [ true , false , null , {} , [] ] `:      `[true,false,null,{},[]]`,
		`"just a string"`:                          `"just a string"`,
	} {
		got, err := Reserialize([]byte(in))
		require.NoError(t, err, in)
		assert.Equal(t, want, string(got), in)
	}
	for _, in := range []string{" ", "{", `{"a":1}{"b":2}`, `{"a":1} x`, "\xff", `{'a':1}`, `[1,]`} {
		_, err := Reserialize([]byte(in))
		assert.Error(t, err, "%q", in)
	}
}

// escapedSurrogate finds \uD800-\uDFFF escapes, which Go's decoder turns
// into U+FFFD when unpaired while JSON.stringify keeps them escaped.
var escapedSurrogate = regexp.MustCompile(`(?i)\\ud[89a-f]`)

// FuzzCanonicalJSON checks the server's re-serialisation against the
// client's minification, written independently: on any valid JSON they must
// agree byte for byte, or a correct client would be rejected.
func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, "{ \"a\" : [1, 2.0, \"x\\u003c\"] }", `"\ud83d\ude00"`, `[]`, `{"a":{"b":null}}`, "\"\\u0000\\/\"", ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := Reserialize(in)
		want, minErr := snapauth.Minify(in)
		if (err == nil) != (minErr == nil) {
			t.Fatalf("Reserialize error %v, Minify error %v, for %q", err, minErr, in)
		}
		if err != nil {
			return
		}
		if len(in) > 0 && !json.Valid(got) {
			t.Fatalf("Reserialize(%q) = %q is not JSON", in, got)
		}
		again, err := Reserialize(got)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("Reserialize is not idempotent on %q: %q then %q (%v)", in, got, again, err)
		}
		if escapedSurrogate.Match(in) {
			return
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("server and client disagree on %q:\nserver %q\nclient %q", in, got, want)
		}
	})
}
