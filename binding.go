package snapauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// The account-binding web view, where the customer consents and the
// provider redirects back with an authorization code, starts in one of two
// ways (Provider.Binding):
//
//   - BindingByURL: the partner builds the URL, B2B2CConfig.AuthCodeURL
//     (DANA get-auth-code, the standard);
//   - BindingByAPI: a signed service call answers with the URL, StartBinding
//     (Finnet POST /v1.0/registration-account-binding, service 07; DOKU,
//     ShopeePay).
//
// Either way the redirect comes back to the partner with authCode, read by
// B2B2CConfig.AuthCodeFromRedirect, and Exchange trades it for a token.

// BindingRequest is the body of an account-binding call (SNAP service 07,
// "registration account binding"). Empty fields are left out; providers
// differ in which they require, and AdditionalInfo carries the rest.
type BindingRequest struct {
	// PartnerReferenceNo is the partner's reference of this binding.
	PartnerReferenceNo string `json:"partnerReferenceNo,omitempty"`
	// RedirectURL is where the web view sends the customer back, with
	// authCode added. Put the state to check (AuthCodeFromRedirect) in its
	// query as "state": the provider keeps the partner's query.
	RedirectURL string `json:"redirectUrl,omitempty"`
	// PhoneNo is the customer's phone number, where a provider wants it.
	PhoneNo string `json:"phoneNo,omitempty"`
	// MerchantID and SubMerchantID identify the merchant, where a provider
	// wants them.
	MerchantID    string `json:"merchantId,omitempty"`
	SubMerchantID string `json:"subMerchantId,omitempty"`
	// AdditionalInfo is sent as additionalInfo when not nil.
	AdditionalInfo map[string]any `json:"additionalInfo,omitempty"`
}

// Binding is a provider's answer to an account-binding call.
type Binding struct {
	// RedirectURL is the web view to send the customer to.
	RedirectURL string
	// LinkageToken is the provider's token for this binding, where it sends
	// one (Finnet). It is a secret: Format never shows it.
	LinkageToken string
	// ReferenceNo and PartnerReferenceNo are the provider's and the
	// partner's references of the binding.
	ReferenceNo, PartnerReferenceNo string
	// Params are the answer's params object (Finnet), nil when absent.
	Params map[string]any
	// ResponseCode and ResponseMessage are the answer's SNAP code and
	// message ("2000700").
	ResponseCode, ResponseMessage string
}

// Format writes the binding with LinkageToken redacted, for every verb.
func (b Binding) Format(f fmt.State, verb rune) {
	tok := `""`
	if b.LinkageToken != "" {
		tok = "[redacted]"
	}
	fmt.Fprintf(f, "snapauth.Binding{RedirectURL: %q, ReferenceNo: %q, PartnerReferenceNo: %q, ResponseCode: %q, LinkageToken: %s}",
		shownURL(b.RedirectURL), b.ReferenceNo, b.PartnerReferenceNo, b.ResponseCode, tok)
}

// StartBinding starts account binding with a signed API call: it POSTs req
// as JSON to endpoint (the provider's registration-account-binding URL)
// through client, whose Transport must sign SNAP service calls (a
// *Transport, or B2BConfig.Client), and returns the answer. Send the
// customer to Binding.RedirectURL; the provider redirects back to
// req.RedirectURL with authCode. A refusal is an *Error (CheckResponse); an
// answer without an absolute http(s) redirectUrl is an error too.
func StartBinding(ctx context.Context, client *http.Client, endpoint string, req BindingRequest) (*Binding, error) {
	if client == nil {
		return nil, errors.New("snapauth: StartBinding needs an *http.Client that signs SNAP calls")
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("snapauth: binding request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("snapauth: binding request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, redactURLError(err)
	}
	defer resp.Body.Close()
	if err := CheckResponse(resp); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("snapauth: reading the binding answer: %w", err)
	}
	return parseBindingAnswer(data)
}

// parseBindingAnswer reads a successful account-binding answer; an answer
// without an absolute http(s) redirectUrl is an error that does not echo it.
func parseBindingAnswer(data []byte) (*Binding, error) {
	var a struct {
		ResponseMessage    string         `json:"responseMessage"`
		RedirectURL        string         `json:"redirectUrl"`
		LinkageToken       string         `json:"linkageToken"`
		ReferenceNo        string         `json:"referenceNo"`
		PartnerReferenceNo string         `json:"partnerReferenceNo"`
		Params             map[string]any `json:"params"`
	}
	fields, err := decodeObject(data)
	if err != nil || json.Unmarshal(data, &a) != nil {
		return nil, errors.New("snapauth: the binding answer is not the expected JSON object")
	}
	u, err := url.Parse(a.RedirectURL)
	if a.RedirectURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("snapauth: the binding answer has no absolute http(s) redirectUrl")
	}
	code, _ := snapCode(fields)
	return &Binding{
		RedirectURL: a.RedirectURL, LinkageToken: a.LinkageToken, ReferenceNo: a.ReferenceNo,
		PartnerReferenceNo: a.PartnerReferenceNo, Params: a.Params,
		ResponseCode: code, ResponseMessage: a.ResponseMessage,
	}, nil
}

// addAuthCodeParams adds to an account-binding query the parameters
// Provider.AuthCodeParams names.
func (c *B2B2CConfig) addAuthCodeParams(q url.Values) error {
	p := c.Provider
	if p.AuthCodeParams == 0 {
		return nil
	}
	if err := p.Validate(); err != nil {
		return err
	}
	now := nowFunc(c.Now)()
	if p.AuthCodeParams&AuthCodeChannelID != 0 {
		if c.ChannelID == "" {
			return fmt.Errorf("snapauth: Provider %q wants channelId on the binding URL (AuthCodeParams), but B2B2CConfig.ChannelID is empty", p.Name)
		}
		q.Set("channelId", c.ChannelID)
	}
	if p.AuthCodeParams&AuthCodeExternalID != 0 {
		q.Set("externalId", p.newExternalID(now))
	}
	if p.AuthCodeParams&AuthCodeTimestamp != 0 {
		q.Set("timestamp", p.Timestamp(now))
	}
	return nil
}
