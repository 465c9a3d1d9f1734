package snapauth

import (
	"crypto"
	"fmt"
	"net/http"
)

// Partner holds what a provider registered for one partner, given once and
// shared by everything that talks to that provider: B2BConfig and
// B2B2CConfig (set their Partner field) and the Transport of
// B2BConfig.Client. A field left empty in a config or Transport takes the
// partner's value; a field set there wins. A nil *Partner gives nothing. A
// Partner must not be changed after its first use.
//
//	partner := &snapauth.Partner{Provider: snapauth.DANA, ClientKey: clientKey, PrivateKey: key,
//		ClientSecret: secret, PartnerID: partnerID, ChannelID: "95221"}
//	b2b := &snapauth.B2BConfig{Partner: partner, TokenURL: base + "/v1.0/access-token/b2b"}
//	b2b2c := &snapauth.B2B2CConfig{Partner: partner, TokenURL: base + "/v1.0/access-token/b2b2c"}
//	client := b2b.Client(ctx, nil) // signs with partner's ClientSecret, sends its PartnerID, ChannelID
type Partner struct {
	// Provider holds the provider's deviations from the standard. The zero
	// value is the standard.
	Provider Provider
	// ClientKey is the partner's client id, sent as X-CLIENT-KEY.
	ClientKey string
	// PrivateKey signs the token requests (SHA256withRSA). It does not switch
	// service calls to asymmetric signatures: set Transport.PrivateKey for that.
	PrivateKey crypto.Signer
	// ClientSecret keys the symmetric service signature (HMAC-SHA512).
	ClientSecret string
	// PartnerID is sent as X-PARTNER-ID, and as partnerId to the
	// account-binding page.
	PartnerID string
	// ChannelID is sent as CHANNEL-ID.
	ChannelID string
	// Origin is sent as ORIGIN (Finnet requires it). Empty means none.
	Origin string
	// HTTPClient sends token requests, and its Transport the service calls
	// of B2BConfig.Client. Nil means the client in the context under
	// oauth2.HTTPClient, else http.DefaultClient.
	HTTPClient *http.Client
}

// provider returns own unless it is the zero Provider, else the partner's.
func (p *Partner) provider(own Provider) Provider {
	if own != (Provider{}) || p == nil {
		return own
	}
	return p.Provider
}

// exchanger completes the exchanger a token config describes with the
// partner's facts, for the fields the config left empty. Both token configs
// build theirs here.
func (p *Partner) exchanger(x exchanger) *exchanger {
	if p != nil {
		x.clientKey = firstSet(x.clientKey, p.ClientKey)
		if x.key == nil {
			x.key = p.PrivateKey
		}
		if x.client == nil {
			x.client = p.HTTPClient
		}
		x.provider = p.provider(x.provider)
		x.headers.partnerID = firstSet(x.headers.partnerID, p.PartnerID)
		x.headers.channelID = firstSet(x.headers.channelID, p.ChannelID)
		x.headers.origin = firstSet(x.headers.origin, p.Origin)
	}
	x.now = nowFunc(x.now)
	return &x
}

// transport fills the fields of t left empty with the partner's facts,
// except Provider, which the B2B config resolves.
func (p *Partner) transport(t *Transport) {
	if p == nil {
		return
	}
	t.ClientSecret = firstSet(t.ClientSecret, p.ClientSecret)
	t.PartnerID = firstSet(t.PartnerID, p.PartnerID)
	t.ChannelID = firstSet(t.ChannelID, p.ChannelID)
	t.Origin = firstSet(t.Origin, p.Origin)
	if t.Base == nil && p.HTTPClient != nil {
		t.Base = p.HTTPClient.Transport
	}
}

func firstSet(own, fallback string) string {
	if own != "" {
		return own
	}
	return fallback
}

// Format writes the partner with its secrets redacted, for every verb.
func (p Partner) Format(f fmt.State, verb rune) {
	secret := `""`
	if p.ClientSecret != "" {
		secret = "[redacted]"
	}
	fmt.Fprintf(f, "snapauth.Partner{ClientKey: %q, PartnerID: %q, ChannelID: %q, ClientSecret: %s, PrivateKey: %s, Provider: %q}",
		p.ClientKey, p.PartnerID, p.ChannelID, secret, redactedKey(p.PrivateKey), p.Provider.Name)
}
