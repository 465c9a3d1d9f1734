package snapauth_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
)

// The B2B2C walkthrough of docs/customers.md, compiled and run: the blocks
// between "snippet:" and "end snippet" are copied verbatim into that page
// (and README.md, where marked), and TestReadmeSnippets keeps the copies in
// sync.
// customerKey is the service's own: the store key of the signed-in user.
func Example_customers() {
	provider := snaptest.NewServer() // the SNAP provider, here in-process
	defer provider.Close()
	creds := provider.Credentials
	base := provider.URL
	clientKey, privateKey, clientSecret := creds.ClientKey, creds.PrivateKey, creds.ClientSecret
	partnerID, channelID := creds.PartnerID, creds.ChannelID
	dir, err := os.MkdirTemp("", "snapauth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	tokenDir := filepath.Join(dir, "tokens")
	customerKey := func(r *http.Request) string { return "customer:" + r.Header.Get("X-User") }
	ctx := context.Background()
	mux := http.NewServeMux()

	// snippet:customers-setup
	partner := &snapauth.Partner{ // the partner's facts, given once
		Provider:     snapauth.Standard, // or snapauth.DANA, snapauth.BCA, ...
		ClientKey:    clientKey,
		PrivateKey:   privateKey, // snapauth.ParsePrivateKey
		ClientSecret: clientSecret,
		PartnerID:    partnerID,
		ChannelID:    channelID,
	}
	b2b := &snapauth.B2BConfig{Partner: partner, TokenURL: base + "/v1.0/access-token/b2b"}
	b2b2c := &snapauth.B2B2CConfig{
		Partner:     partner,
		TokenURL:    base + "/v1.0/access-token/b2b2c",
		AuthURL:     base + "/v1.0/get-auth-code",
		RedirectURL: "https://merchant.example/bind/done",
		Scopes:      []string{"QUERY_BALANCE"},
	}
	store, err := snapauth.NewFileStore(tokenDir) // or redisstore.New(redisClient) for a fleet
	if err != nil {
		log.Fatal(err)
	}
	// One client for all calls; the B2B token is shared through the store.
	client := b2b.Client(ctx, &snapauth.Transport{Source: b2b.StoredTokenSource(ctx, store, "b2b")})
	// The customers' tokens, in the store; at most 10,000 in memory.
	customers := &snapauth.Customers{Config: b2b2c, Store: store}
	// end snippet

	// snippet:customers-bind
	// 1. Send the customer to the provider's binding page, with an
	//    unguessable state kept in a cookie.
	mux.HandleFunc("GET /bind", func(w http.ResponseWriter, r *http.Request) {
		state := rand.Text()
		http.SetCookie(w, &http.Cookie{Name: "bind-state", Value: state, Path: "/bind",
			HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
		u, err := b2b2c.AuthCodeURL(state, nil)
		if err != nil {
			http.Error(w, "binding unavailable", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, u, http.StatusFound)
	})

	// 2. The provider sends the customer back: check the state, then
	//    exchange the code and save the tokens under the customer's key.
	mux.HandleFunc("GET /bind/done", func(w http.ResponseWriter, r *http.Request) {
		state, err := r.Cookie("bind-state")
		if err != nil {
			http.Error(w, "binding expired; start again", http.StatusBadRequest)
			return
		}
		code, err := b2b2c.AuthCodeFromRedirect(r.URL, state.Value)
		switch {
		case errors.Is(err, snapauth.ErrAccessDenied):
			http.Error(w, "you declined the linking", http.StatusForbidden)
			return
		case err != nil: // ErrStateMismatch (possibly forged), or no code
			http.Error(w, "invalid redirect", http.StatusBadRequest)
			return
		}
		if _, err := customers.Link(r.Context(), customerKey(r), code); err != nil {
			http.Error(w, "linking failed", http.StatusBadGateway)
			return
		}
		io.WriteString(w, "linked")
	})
	// end snippet

	// snippet:customers-call
	// 3. Act for the customer: one line puts the customer in the request's
	//    context; the transport adds Authorization-Customer, and renews a
	//    token the provider rejects.
	mux.HandleFunc("POST /balance", func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(customers.Context(r.Context(), customerKey(r)),
			http.MethodPost, base+"/v1.0/balance-inquiry",
			strings.NewReader(`{"partnerReferenceNo": "2020102900000000000002"}`))
		if err != nil {
			http.Error(w, "bad request", http.StatusInternalServerError)
			return
		}
		req.Header.Set("X-DEVICE-ID", r.Header.Get("X-Device-Id")) // device headers are yours to set
		resp, err := client.Do(req)
		switch {
		case errors.Is(err, snapauth.ErrReauthorize): // refused or expired, or never linked
			http.Redirect(w, r, "/bind", http.StatusFound)
			return
		case err != nil: // the provider or the store failed: try again later
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})

	// 4. Unlink: the tokens leave the cache and the store.
	mux.HandleFunc("POST /unbind", func(w http.ResponseWriter, r *http.Request) {
		if err := customers.Unlink(r.Context(), customerKey(r)); err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "unlinked")
	})
	// end snippet

	// The customer's browser, played by hand.
	do := func(method, target string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		r.Header.Set("X-User", "7")
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	w := do("GET", "/bind")
	fmt.Println("bind:", w.Code, strings.HasPrefix(w.Header().Get("Location"), provider.AuthURL()))
	cookie := w.Result().Cookies()[0]
	// The provider's consent page approves and redirects back with a code.
	w = do("GET", "/bind/done?authCode="+provider.MintAuthCode()+"&state="+cookie.Value, cookie)
	fmt.Println("bind/done:", w.Code, w.Body.String())
	fmt.Println("balance:", do("POST", "/balance").Code)

	tok, err := store.Load(ctx, "customer:7")
	if err != nil {
		log.Fatal(err)
	}
	provider.RevokeToken(tok.AccessToken) // the provider revokes the customer's access token
	fmt.Println("balance after the revocation:", do("POST", "/balance").Code,
		"token requests:", provider.Count(snaptest.EndpointB2B2C))

	fmt.Println("unbind:", do("POST", "/unbind").Body.String())
	w = do("POST", "/balance")
	fmt.Println("balance after unbind:", w.Code, w.Header().Get("Location"))
	// Output:
	// bind: 302 true
	// bind/done: 200 linked
	// balance: 200
	// balance after the revocation: 200 token requests: 2
	// unbind: unlinked
	// balance after unbind: 302 /bind
}
