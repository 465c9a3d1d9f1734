package snaptest

import (
	"testing"

	"github.com/snapauth/snapauth"
)

// FuzzTokenBodyFields: a token body in any style, however malformed, is
// parsed or refused without a panic, and only the standard's field names
// come out of a snake-case or form body.
func FuzzTokenBodyFields(f *testing.F) {
	f.Add([]byte(`{"grantType":"client_credentials","additionalInfo":{}}`))
	f.Add([]byte(`{"grant_type":"refresh_token","refresh_token":"r","auth_code":"c"}`))
	f.Add([]byte("grant_type=client_credentials&auth_code=%zz"))
	f.Add([]byte(`{"grant_type":1}`))
	known := map[string]bool{"grantType": true, "authCode": true, "refreshToken": true, "additionalInfo": true}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, style := range []snapauth.TokenBodyStyle{snapauth.TokenBodyJSON, snapauth.TokenBodySnakeJSON, snapauth.TokenBodyForm} {
			x := &exchange{cfg: config{provider: snapauth.Provider{TokenBody: style}}, body: body}
			fields, e := x.tokenBodyFields()
			if e != nil {
				continue
			}
			if style == snapauth.TokenBodyJSON {
				continue
			}
			for k := range fields {
				if !known[k] {
					t.Fatalf("style %d: field %q came out", style, k)
				}
			}
		}
	})
}
