// Package bearer holds the one reading of an "Authorization: Bearer" header
// that the library's Verifier and snaptest's provider share.
package bearer

import "strings"

// Token returns the token of an "Authorization: Bearer <token>" value, the
// scheme in any case and spaces around either part allowed. A value of
// another scheme, or without a token, is not one.
func Token(v string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(v), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}
