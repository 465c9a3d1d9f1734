package snapauth_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMinify(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{`{}`, `{}`},
		{" \t\r\n{ \"a\" :\t1 ,\n\"b\" : [ ] , \"c\":{ } }\r\n", `{"a":1,"b":[],"c":{}}`},
		{`"  spaces  inside  "`, `"  spaces  inside  "`},
		{`{"z":1,"a":2,"m":3}`, `{"z":1,"a":2,"m":3}`},                                                 // key order kept
		{`{"a":1,"a":2}`, `{"a":1,"a":2}`},                                                             // duplicate keys kept
		{`{"b":1,"2":2,"1":3}`, `{"b":1,"2":2,"1":3}`},                                                 // integer-like keys not reordered
		{`[1.0,1e2,1E+2,-0,0.10,12345678901234567890]`, `[1.0,1e2,1E+2,-0,0.10,12345678901234567890]`}, // numbers verbatim
		{`"\u003cb\u003e \u0026 \/"`, `"<b> & /"`},
		{`"\u00e9\u00E9é"`, `"ééé"`},
		{`"\ud83d\ude4f"`, `"🙏"`},
		{`"\uD83D\uDE4F"`, `"🙏"`},
		{`"\ud83d"`, `"\ud83d"`},
		{`"\uDE4F"`, `"\ude4f"`},
		{`"\ude4f\ud83d"`, `"\ude4f\ud83d"`},
		{`"\ud83d\ud83d\ude4f"`, `"\ud83d🙏"`},
		{`"\ud83dx"`, `"\ud83dx"`},
		{`"\u0000\u001F\u0008\u000c\u000A\u000d\u0009"`, `"\u0000\u001f\b\f\n\r\t"`},
		{`"\b\f\n\r\t\"\\"`, `"\b\f\n\r\t\"\\"`},
		{`"\u0022\u005c\u005C"`, `"\"\\\\"`},
		{`"\u007f\u0080\u2028\u2029\ufeff\uffff"`, "\"\u007f\u0080\u2028\u2029\ufeff\uffff\""},
		{"\"\u2028 raw\"", "\"\u2028 raw\""},
		{`"\u0020"`, `" "`},
		{` true `, `true`},
		{` null`, `null`},
		{`-1.5e-7`, `-1.5e-7`},
		{`[[[[{"a":[{}]}]]]]`, `[[[[{"a":[{}]}]]]]`},
	}
	for _, c := range cases {
		got, err := snapauth.Minify([]byte(c.in))
		require.NoError(t, err, "%q", c.in)
		assert.Equal(t, c.want, string(got), "%q", c.in)
		again, err := snapauth.Minify(got)
		require.NoError(t, err)
		assert.Equal(t, string(got), string(again), "idempotent on %q", c.in)
	}

	got, err := snapauth.Minify(nil)
	require.NoError(t, err)
	assert.Empty(t, got)

	for _, bad := range []string{" ", "\n", "{", "}", `{"a"}`, `{"a":1,}`, `[1,]`, `'a'`, `{"a":01}`, `NaN`,
		`"\x"`, `"\u12"`, "\"\x01\"", "\xef\xbb\xbf{}", `{} {}`, "\"\xff\"", "\"\xed\xa0\x80\"", "\"\xc0\xaf\""} {
		_, err := snapauth.Minify([]byte(bad))
		require.Error(t, err, "%q", bad)
		assert.Contains(t, err.Error(), "snapauth: body is not valid")
		if len(bad) > 4 {
			assert.NotContains(t, err.Error(), bad, "the body is not echoed")
		}
	}
}

// TestMinifyDoesNotAliasInput checks that the result never shares memory
// with the caller's body, so a caller may reuse its buffer.
func TestMinifyDoesNotAliasInput(t *testing.T) {
	in := []byte(`{"a":"b"}`)
	out, err := snapauth.Minify(in)
	require.NoError(t, err)
	in[2] = 'X'
	assert.Equal(t, `{"a":"b"}`, string(out))
}

// signerStringifyCorpus are bodies for which JSON.stringify(JSON.parse(x))
// is the canonical form snapauth promises. Numbers here are already in
// JavaScript's shortest form: Minify keeps numbers verbatim (see TestMinify),
// and JSON.parse merges duplicate keys and moves integer-like keys first,
// which Minify does not do, so neither appears here.
func signerStringifyCorpus() []string {
	deep := strings.Repeat(`{"a":[`, 200) + `"bottom"` + strings.Repeat(`]}`, 200)
	long := strings.Repeat(`Pembayaran \u003c€\ud83d\ude4f\n`, 2000)
	var controls strings.Builder
	for c := 0; c < 0x20; c++ {
		fmt.Fprintf(&controls, `\u%04x`, c)
	}
	return []string{
		`{}`, `[]`, `""`, `0`, `-1`, `true`, `false`, `null`, `"x"`,
		` { "a" : 1 , "b" : [ true , false , null ] } `,
		"\t\r\n[\n\t{\r\n\"k\"\t:\n\"v\"\r}\t,\n[\t]\r,{ }\n]\t\r\n",
		`{"html":"\u003cscript\u003ealert(\"x\")\u003c/script\u003e \u0026 \u003e"}`,
		`{"url":"https:\/\/example.com\/a\/b?c=1\u0026d=2"}`,
		`{"e":"caf\u00e9 \u00C9t\u00e9 na\u00efve \u4e2d\u6587 \u0410"}`,
		`{"pair":"\ud83d\ude4f \uD83C\uDDEE\uD83C\uDDE9 \ud83d\udc68\u200d\ud83d\udc69"}`,
		`{"lone":["\ud800","\udfff","\ud83d x","\ude4f\ud83d","\ud83d\ud83d\ude4f","a\udc00b"]}`,
		`{"ctl":"` + controls.String() + `","del":"\u007f","named":"\b\f\n\r\t"}`,
		`{"esc":"\"quoted\" \\back\\slash\\ \/ \u0022 \u005c"}`,
		`{"ls":"\u2028\u2029","raw":"` + "\u2028\u2029" + `"}`,
		`{"bom":"\ufeff","nonchar":"\uffff\ufffe","nul":"a\u0000b"}`,
		`{"raw":"Terima kasih 🙏 — Rp 10.000,00 ꦪꦺꦴꦒꦾ 👨‍👩‍👧 🇮🇩 <>&'"}`,
		`[[[[[[[[[[[]]]]]]]]]],[{}],{"a":{"b":{"c":{"d":[1,[2,[3,[4]]]]}}}}]`,
		`{"a":[{"b":[{"c":[]}],"d":{}},[],[[]],""]}`,
		deep,
		`{"long":"` + long + `"}`,
		`{"numbers":[0,1,-1,0.5,-0.25,123456789,1e+21,1.5e-7,-1e-7]}`,
		`{"partnerServiceId":"  12345","amount":{"value":"10000.00","currency":"IDR"},"additionalInfo":{}}`,
		`{"k\u00e9y \u003c":"v","\ud83d\ude4f":1,"":"empty key"}`,
	}
}

func TestMinifyMatchesJSONStringify(t *testing.T) {
	node := signerToolOrSkip(t, "node")
	corpus := signerStringifyCorpus()
	var in bytes.Buffer
	for _, body := range corpus {
		require.True(t, json.Valid([]byte(body)), "corpus entry is not JSON: %.80s", body)
		in.WriteString(base64.StdEncoding.EncodeToString([]byte(body)) + "\n")
	}
	// Each line of stdin is base64 of a body; each line of stdout is base64
	// of the UTF-8 of JSON.stringify(JSON.parse(body)).
	const script = `
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(Boolean);
for (const l of lines) {
  const s = JSON.stringify(JSON.parse(Buffer.from(l, 'base64').toString('utf8')));
  process.stdout.write(Buffer.from(s, 'utf8').toString('base64') + '\n');
}`
	out := runNode(t, node, script, in.Bytes())
	results := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	require.Len(t, results, len(corpus))
	for i, body := range corpus {
		want, err := base64.StdEncoding.DecodeString(results[i])
		require.NoError(t, err)
		got, err := snapauth.Minify([]byte(body))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "corpus[%d] %.120s", i, body)
	}
}

// TestMinifyKeepsNumbersVerbatim documents the one deliberate deviation from
// JSON.stringify(JSON.parse(x)): a number is kept exactly as written, never
// re-formatted (1.0 stays 1.0, 1e2 stays 1e2), because a Java or Go provider
// re-serialises numbers differently from JavaScript and only the sender's
// own spelling is common ground. Send numbers in their shortest form (or
// amounts as strings, as SNAP does) if a provider re-serialises.
func TestMinifyKeepsNumbersVerbatim(t *testing.T) {
	for _, n := range []string{"1.0", "1e2", "1E2", "1e+2", "1.50", "-0", "0.0", "100000000000000000000000", "1.7976931348623157e309"} {
		body := ` { "amount" : ` + n + ` } `
		got, err := snapauth.Minify([]byte(body))
		require.NoError(t, err)
		assert.Equal(t, `{"amount":`+n+`}`, string(got))
	}
}
