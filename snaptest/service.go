package snaptest

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/bearer"
	"github.com/snapauth/snapauth/internal/canonjson"
)

// serveService serves the sample service family: any method on any path
// under /v1.0/ other than the token and consent endpoints. path is the
// request path without the server's prefix.
func (x *exchange) serveService(path string) {
	echo, e := x.checkService(path)
	if e != nil {
		x.fail(e)
		return
	}
	x.writeJSON(http.StatusOK, map[string]any{
		"responseCode":    "200" + ServiceCode + "00",
		"responseMessage": "Successful",
		"echo":            echo,
	})
}

// Echo is what a successful answer of the sample service family reports
// under "echo": what the server verified. Decode it from the answer to
// assert on it.
type Echo struct {
	// Method is the request's HTTP method.
	Method string `json:"method"`
	// EndpointURL is the EndpointUrl the signature was verified over.
	EndpointURL string `json:"endpointUrl"`
	// PartnerID, ExternalID, ChannelID and Timestamp are the X-PARTNER-ID,
	// X-EXTERNAL-ID, CHANNEL-ID and X-TIMESTAMP headers received.
	PartnerID  string `json:"partnerId"`
	ExternalID string `json:"externalId"`
	ChannelID  string `json:"channelId"`
	Timestamp  string `json:"timestamp"`
	// SignatureMode is "symmetric" or "asymmetric".
	SignatureMode string `json:"signatureMode"`
	// Customer identifies the customer of the Authorization-Customer token,
	// empty when none was sent.
	Customer string `json:"customer,omitempty"`
	// Body is the request body as the server re-serialised it before hashing,
	// absent when the request had none.
	Body json.RawMessage `json:"body,omitempty"`
}

func (x *exchange) checkService(path string) (*Echo, *snapErr) {
	h := x.r.Header
	if len(x.body) > 0 {
		if e := x.checkContentType(); e != nil {
			return nil, e
		}
	}
	if e := x.checkHeadersPresent("X-TIMESTAMP", "X-SIGNATURE", "X-PARTNER-ID", "X-EXTERNAL-ID", "CHANNEL-ID"); e != nil {
		return nil, e
	}
	t, e := x.parseTimestamp()
	if e != nil {
		return nil, e
	}
	if e := x.checkExtraHeaders(x.cfg.provider.ServiceHeaders); e != nil {
		return nil, e
	}
	extID := h.Get("X-EXTERNAL-ID")
	if e := x.checkExternalID(extID); e != nil {
		return nil, e
	}
	if ch := h.Get("CHANNEL-ID"); len(ch) > 5 || ch != x.creds.ChannelID {
		return nil, invalidFormat(ReasonChannelID, "CHANNEL-ID")
	}
	canonical, err := canonjson.Reserialize(x.body)
	if err != nil {
		return nil, badRequest(ReasonBody, "body is not JSON")
	}
	x.rec.Canonical = canonical

	needCustomer := h.Get("Authorization-Customer") != ""
	for _, prefix := range x.cfg.customerPaths {
		needCustomer = needCustomer || strings.HasPrefix(path, prefix)
	}
	mode := x.cfg.serviceAuth
	switch {
	case needCustomer:
		mode = Symmetric
	case mode == EitherAuth && h.Get("Authorization") == "":
		mode = Asymmetric
	case mode == EitherAuth:
		mode = Symmetric
	}

	var accessToken string
	echo := &Echo{
		Method: x.r.Method, PartnerID: h.Get("X-PARTNER-ID"), ExternalID: extID,
		ChannelID: h.Get("CHANNEL-ID"), Timestamp: h.Get("X-TIMESTAMP"), SignatureMode: mode.String(),
	}
	if mode == Symmetric {
		if h.Get("Authorization") == "" {
			return nil, &snapErr{http.StatusUnauthorized, "03", "Token Not Found (B2B)", ReasonTokenMissing}
		}
		tok, ok := bearer.Token(h.Get("Authorization"))
		if ok {
			x.s.mu.Lock()
			_, ok = x.s.liveTokenLocked(tok, kindB2B)
			x.s.mu.Unlock()
		}
		if !ok {
			return nil, &snapErr{http.StatusUnauthorized, "01", "Invalid Token (B2B)", ReasonTokenInvalid}
		}
		accessToken = tok
	}
	if needCustomer {
		v := h.Get("Authorization-Customer")
		if v == "" {
			return nil, &snapErr{http.StatusUnauthorized, "04", "Customer Token Not Found", ReasonCustomerTokenMissing}
		}
		tok, ok := bearer.Token(v)
		var info *tokenInfo
		if ok {
			x.s.mu.Lock()
			if info, ok = x.s.liveTokenLocked(tok, kindB2B2C); ok {
				echo.Customer = info.customer
			}
			x.s.mu.Unlock()
		}
		if !ok {
			return nil, &snapErr{http.StatusUnauthorized, "02", "Invalid Customer Token", ReasonCustomerTokenInvalid}
		}
	}
	if h.Get("X-PARTNER-ID") != x.creds.PartnerID {
		return nil, unauthorized(ReasonPartnerID, "X-PARTNER-ID")
	}
	if e := x.checkSkew(t); e != nil {
		return nil, e
	}

	sts := x.serviceStringToSign(canonical, accessToken)
	x.rec.StringToSign, x.rec.SignatureMode = sts, mode.String()
	echo.EndpointURL = x.rec.EndpointURL
	sig := h.Get("X-SIGNATURE")
	if mode == Symmetric {
		err = snapauth.VerifySymmetric(x.creds.ClientSecret, sts, sig)
	} else {
		err = snapauth.VerifyAsymmetric(&x.creds.PrivateKey.PublicKey, sts, sig)
	}
	if err != nil {
		return nil, unauthorized(ReasonSignature, "Signature")
	}

	// X-EXTERNAL-ID is unique per partner per day (the provider's day, in
	// Jakarta); only accepted requests use one up.
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	day := x.s.cfg.now().In(snapauth.Jakarta).Format("2006-01-02")
	if day != x.s.st.externalDay {
		x.s.st.externalDay = day
		clear(x.s.st.externalIDs)
	}
	key := echo.PartnerID + "\x00" + extID
	if x.s.st.externalIDs[key] {
		return nil, &snapErr{http.StatusConflict, "00", "Conflict", ReasonExternalIDReused}
	}
	x.s.st.externalIDs[key] = true
	if len(canonical) > 0 {
		echo.Body = canonical
	}
	return echo, nil
}
