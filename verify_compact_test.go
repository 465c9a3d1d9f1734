package snapauth

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var compactCorpus = []string{
	``, ` `, `{}`, `[]`, `{ }`, `[ ]`, `0`, `-0`, `1.5e-3`, `1E+9`, `01`, `1.`, `.5`, `-`, `1e`, `--1`, `+1`,
	`"a"`, `"\u00e9\/\"\\\b\f\n\r\t"`, `"\u00G0"`, `"\x"`, "\"\x01\"", "\"\xff\xfe\"", `"abc`, `"\`,
	`{"a":1,"b":[true,false,null,{"c":"d"}]}`, "{\n \"a\" : [ 1 , 2 ] \r\t}", `{"a":1,}`, `[1,]`, `{"a"}`,
	`{"a":}`, `{1:2}`, `[1 2]`, `{} {}`, `{}x`, `tru`, `nulll`, `[` + strings.Repeat(`[`, 70) + strings.Repeat(`]`, 71),
	`{"a":"` + strings.Repeat("x", 300) + `"}`, `[-1.25e+10,0.0,1e0]`, `{"":""}`, `]`, `}`, `:`, `,`,
}

// TestAppendCompactJSONMatchesEncodingJSON checks the hand-written compactor
// against json.Compact: the same verdict, and the same bytes when valid.
func TestAppendCompactJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range compactCorpus {
		checkCompactAgainstStdlib(t, []byte(s))
	}
	for _, depth := range []int{maxNestingDepth, maxNestingDepth + 1} {
		checkCompactAgainstStdlib(t, []byte(strings.Repeat(`{"a":[`, depth/2)+strings.Repeat("]}", depth/2)))
		checkCompactAgainstStdlib(t, []byte(strings.Repeat("[", depth)+strings.Repeat("]", depth)))
	}
}

func checkCompactAgainstStdlib(t *testing.T, src []byte) {
	t.Helper()
	got, ok := appendCompactJSON(nil, src)
	var want bytes.Buffer
	err := json.Compact(&want, src)
	if ok != (err == nil) {
		t.Fatalf("appendCompactJSON(%q) ok=%v, json.Compact err=%v", src, ok, err)
	}
	if ok && !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("appendCompactJSON(%q) = %q, json.Compact gives %q", src, got, want.Bytes())
	}
}

// FuzzAppendCompactJSON is a differential fuzz of the verifier's body
// parser against encoding/json.
func FuzzAppendCompactJSON(f *testing.F) {
	for _, s := range compactCorpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		checkCompactAgainstStdlib(t, src)
	})
}
