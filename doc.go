// Package snapauth lets any http.Client talk to Indonesian SNAP payment APIs
// (Bank Indonesia's Standar Nasional Open API Pembayaran) without the caller
// ever thinking about tokens or signatures.
//
// SNAP providers (banks, Finnet/Finpay, e-wallets) guard their APIs with
// OAuth2-like access tokens, but with their own JSON bodies and RSA-signed
// headers, so golang.org/x/oauth2 cannot talk to them directly. snapauth
// closes that gap with the pieces below; each works with oauth2's types
// (oauth2.TokenSource, oauth2.ReuseTokenSource, oauth2.NewClient).
//
// # Tokens
//
// [B2BConfig] obtains B2B access tokens (grant client_credentials, service
// 73): [B2BConfig.TokenSource] caches one in memory and renews it before it
// expires, with one fetch however many goroutines ask. [B2B2CConfig] obtains
// a customer's tokens (service 74): [B2B2CConfig.Exchange] turns the
// authorization code of account binding into tokens, and its sources refresh
// them with the rotating, single-use refresh token. [Customers] holds the
// tokens of many customers at once: bounded in memory, one refresh per
// customer across the process and (through the store's lock) the fleet,
// revoked tokens renewed, unlinking. [Partner] gives the partner's own facts
// (keys, ids, provider profile) once to every config. Every failure a
// provider answers is an [*Error]; branch on it with errors.Is and the
// sentinels ([ErrUnauthorized], [ErrInvalidToken], [ErrTemporary],
// [ErrReauthorize], ...).
//
// # Signed calls
//
// [Transport] is an http.RoundTripper that turns plain requests into SNAP
// service calls: it minifies the JSON body, sends exactly the bytes it
// signed, and adds Authorization, X-TIMESTAMP, X-SIGNATURE, X-PARTNER-ID,
// X-EXTERNAL-ID and CHANNEL-ID. [B2BConfig.Client] wires a token source and a
// Transport into a ready *http.Client. [Customers.Context] (or
// [WithCustomerToken] for a source of your own) adds a customer's token
// (Authorization-Customer) to one request. A token the provider rejects is
// dropped and renewed, and the request sent once more.
//
// # Stores
//
// A [TokenStore] keeps tokens, and the newest rotating refresh token, across
// restarts and replicas: [NewMemoryStore], [NewFileStore], and the Redis store
// in the module github.com/snapauth/snapauth/redisstore, PostgreSQL in
// github.com/snapauth/snapauth/sqlstore. The StoredTokenSource methods read
// the store first, lock the key across processes when the store is a
// [Locker], mark a refresh in the store before sending the refresh token, and
// save every new token before handing it out. A [TokenDeleter] unlinks.
//
// # Providers
//
// Providers deviate from the standard in small ways (timestamp layout and
// zone, grant-type casing, the form of EndpointUrl, signature encoding,
// token-request body and headers, external-id format). A [Provider] value
// describes them as data; the named profiles ([Standard], [BCA], [BRI],
// [BNI], [DOKU], [DANA], [Finnet], [Mandiri], [Midtrans], [BNC], [OneBrick])
// cite their evidence, and [ProviderByName] finds one by name.
//
// # Calls providers make to you
//
// [Verifier] checks what a bank or provider sends you (payment
// notifications, a bank calling your virtual-account endpoints): the
// timestamp window, the signature over the body exactly as received, and
// replayed X-EXTERNAL-IDs ([ReplayStore]). [Verifier.Middleware] answers
// every refusal in SNAP form. [TokenServer] is the access-token endpoint
// banks call before calling you, with the middleware that checks their
// calls against the tokens it issued.
//
// # Observability
//
// An [Observer] on a config or the Transport is told of every token fetch,
// renewal, retry, lock wait, store save and 401 invalidation, never a
// secret; [SlogObserver] logs them with log/slog. A token fetch runs with the
// context values of the caller that caused it, so a trace shows it inside
// that request.
//
// # Signatures
//
// The primitives are exported for code that signs or checks by hand:
// [TokenStringToSign], [ServiceStringToSign], [SignAsymmetric],
// [SignSymmetric], [VerifyAsymmetric], [VerifySymmetric], [Minify],
// [ParsePrivateKey], [ParsePublicKey], [FormatTimestamp].
//
// # Testing
//
// The package github.com/snapauth/snapauth/snaptest is an in-process SNAP
// provider, like net/http/httptest: it verifies every signature the way a
// provider does, so an integration can be tested without a bank. The
// command github.com/snapauth/snapauth/cmd/snapauth fetches tokens, signs and
// verifies by hand, and runs a demo of the whole story.
package snapauth
