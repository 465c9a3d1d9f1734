package bearer

import "testing"

func TestToken(t *testing.T) {
	for v, want := range map[string]string{
		"Bearer abc": "abc", "bearer abc": "abc", "BEARER  abc ": "abc", " Bearer abc": "abc",
		"": "", "Bearer": "", "Bearer ": "", "Basic abc": "", "Bearerabc": "", "Token abc": "",
	} {
		got, ok := Token(v)
		if got != want || ok != (want != "") {
			t.Errorf("Token(%q) = %q, %v; want %q, %v", v, got, ok, want, want != "")
		}
	}
}
