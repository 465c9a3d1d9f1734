package snapauth

import (
	"errors"
	"net/http"
	"strings"
)

// redactRun is the shortest piece of a secret that is redacted from
// provider-supplied text: any 8 consecutive characters of a secret (all of a
// shorter one), so that a truncated or embedded echo is caught too.
const redactRun = 8

// minSecret is the length below which a value is not treated as a secret to
// redact (it would match ordinary words).
const minSecret = 4

// redactError removes every secret the request carried (refresh token,
// authorization code, access tokens) from the provider-supplied texts of the
// *Error in err, if any: its ResponseMessage and ResponseCode, which a
// provider may fill with an echo of the request ("Invalid refresh token
// [<refreshToken>]") and which Error() prints. Body keeps the raw answer,
// which no format verb prints. It returns err.
func redactError(err error, secrets ...string) error {
	var e *Error
	if err == nil || !errors.As(err, &e) {
		return err
	}
	e.ResponseMessage = redactText(e.ResponseMessage, secrets)
	e.ResponseCode = redactText(e.ResponseCode, secrets)
	return err
}

// redactText replaces in s every run of at least redactRun characters that
// also occurs in one of secrets (all of a secret shorter than that) with
// "[redacted]".
func redactText(s string, secrets []string) string {
	var mark []bool
	for _, sec := range secrets {
		if len(sec) < minSecret {
			continue
		}
		k := min(len(sec), redactRun)
		if len(s) < k {
			continue
		}
		grams := make(map[string]struct{}, len(sec)-k+1)
		for i := 0; i+k <= len(sec); i++ {
			grams[sec[i:i+k]] = struct{}{}
		}
		for i := 0; i+k <= len(s); i++ {
			if _, ok := grams[s[i:i+k]]; ok {
				if mark == nil {
					mark = make([]bool, len(s))
				}
				for j := i; j < i+k; j++ {
					mark[j] = true
				}
			}
		}
	}
	if mark == nil {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !mark[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		for i < len(s) && mark[i] {
			i++
		}
		b.WriteString("[redacted]")
	}
	return b.String()
}

// requestSecrets returns the bearer tokens a service request carried
// (Authorization and Authorization-Customer), for redactError.
func requestSecrets(req *http.Request) []string {
	if req == nil {
		return nil
	}
	var out []string
	for _, h := range []string{hAuthorization, hCustomer} {
		for _, v := range req.Header.Values(h) {
			if tok, ok := cutBearer(v); ok {
				out = append(out, tok)
			}
		}
	}
	return out
}

func cutBearer(v string) (string, bool) {
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:]), true
	}
	return "", false
}
