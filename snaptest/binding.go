package snaptest

import (
	"encoding/json"
	"net/http"
	"net/url"
)

// The account-binding call: binding started by a signed API call (Finnet,
// DOKU, ShopeePay) rather than by a URL the partner builds.
const (
	// EndpointBinding is POST /v1.0/registration-account-binding, as counted
	// in Stats.Calls and recorded in Record.Endpoint.
	EndpointBinding = "registration-account-binding"
	// ServiceCodeBinding is the SNAP service code of account binding.
	ServiceCodeBinding = "07"
)

// BindingURL returns the URL of the account-binding call, for
// snapauth.StartBinding. The server checks it as a service call (every
// header, the X-EXTERNAL-ID rule, the B2B token and the signature), requires
// an absolute http(s) redirectUrl in the body, and answers 2000700 with
// redirectUrl (the consent page), linkageToken, referenceNo,
// partnerReferenceNo and params. Approving the consent page redirects to
// the body's redirectUrl with authCode, and with the state its query
// carried.
func (s *Server) BindingURL() string { return s.URL + "/v1.0/registration-account-binding" }

// serveBinding serves POST /v1.0/registration-account-binding.
func (x *exchange) serveBinding(path string) {
	if _, e := x.checkService(path); e != nil {
		x.fail(e)
		return
	}
	var body struct {
		PartnerReferenceNo string `json:"partnerReferenceNo"`
		RedirectURL        string `json:"redirectUrl"`
	}
	if err := json.Unmarshal(x.body, &body); err != nil {
		x.fail(badRequest(ReasonBody, "body is not a JSON object"))
		return
	}
	if body.RedirectURL == "" {
		x.fail(missingField(ReasonBody, "redirectUrl"))
		return
	}
	u, err := url.Parse(body.RedirectURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		x.fail(invalidFormat(ReasonBody, "redirectUrl"))
		return
	}
	page := x.s.AuthCodePageURL(body.RedirectURL, u.Query().Get("state"))
	x.writeJSON(http.StatusOK, map[string]any{
		"responseCode":       "200" + ServiceCodeBinding + "00",
		"responseMessage":    "Successful",
		"referenceNo":        randomHex(8),
		"partnerReferenceNo": body.PartnerReferenceNo,
		"redirectUrl":        page,
		"linkageToken":       randomString(24),
		"params":             map[string]any{},
	})
}
