package snapauth

import (
	"context"
	"net/http"
)

// Middleware returns a handler that verifies every request with Verify and
// passes only verified ones to next, with r.Body readable from the start. A
// refused request is answered in SNAP form (see WriteRefusal) with
// serviceCode, the endpoint's two-digit SNAP service code; an empty
// serviceCode takes it from the request path (ServiceCode), "00" for a path
// it does not know. Answers:
//
//	400xx00  body too large, unreadable or not JSON
//	400xx01  a header malformed or sent twice (X-TIMESTAMP in another layout)
//	400xx02  a mandatory header missing
//	401xx00  Unauthorized. [Signature], [Timestamp] or [X-PARTNER-ID]
//	401xx01  Invalid Token (B2B): Authorization is not a bearer token
//	401xx03  Token Not Found (B2B): no Authorization where one is needed
//	409xx00  Conflict: X-EXTERNAL-ID already used today by this partner
//	500xx01  the Verifier has no key, or its replay store failed
//
// next is never called for a refused request.
func (v *Verifier) Middleware(serviceCode string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, e := v.verify(r, nil)
		serveVerified(w, r, serviceCode, next, got, e, v.OnRefusal)
	})
}

// serveVerified answers a refusal e in SNAP form, or calls next with the
// verified facts in the request's context.
func serveVerified(w http.ResponseWriter, r *http.Request, serviceCode string, next http.Handler, got verified, e *RequestError, onRefusal func(*http.Request, error)) {
	if e != nil {
		if onRefusal != nil {
			onRefusal(r, e)
		}
		if serviceCode == "" {
			serviceCode = ServiceCode(r.URL.Path)
		}
		WriteRefusal(w, e, serviceCode)
		return
	}
	if got.clientKey != "" {
		r = r.WithContext(context.WithValue(r.Context(), clientKeyContextKey{}, got.clientKey))
	}
	next.ServeHTTP(w, r)
}

type clientKeyContextKey struct{}

// ClientKeyFromContext returns the X-CLIENT-KEY of the partner whose access
// token a request carried, in the context of a request that
// TokenServer.Middleware passed on; ok is false in any other context.
func ClientKeyFromContext(ctx context.Context) (clientKey string, ok bool) {
	clientKey, ok = ctx.Value(clientKeyContextKey{}).(string)
	return clientKey, ok
}
