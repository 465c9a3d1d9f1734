package snapauth

import (
	"fmt"
	"net/http"
	"strings"
)

// checkProfile refuses, before any token is fetched or request sent, a
// Provider that contradicts itself, an X-EXTERNAL-ID (the caller's or
// ExternalID's) that breaks the Provider's rule, and a call without a
// header the Provider requires. For a request without X-EXTERNAL-ID it
// returns the one ExternalID made, or generate set when the Transport is to
// make one in the Provider's format (at the request's clock reading).
func (t *Transport) checkProfile(h http.Header) (id string, generate bool, err error) {
	p := &t.Provider
	if err := p.Validate(); err != nil {
		return "", false, err
	}
	if caller, ok := headerValue(h, hExternalID); ok {
		if err := p.checkExternalID(caller); err != nil {
			return "", false, err
		}
	} else if t.ExternalID != nil {
		id = t.ExternalID()
		if err := p.checkExternalID(id); err != nil {
			return "", false, fmt.Errorf("%w (made by Transport.ExternalID)", err)
		}
	} else {
		generate = true
	}
	return id, generate, t.checkServiceHeaders(h)
}

// checkServiceHeaders refuses a call without a header the Provider's
// ServiceHeaders requires, set neither by the Transport nor the caller.
func (t *Transport) checkServiceHeaders(h http.Header) error {
	p := &t.Provider
	if p.ServiceHeaders == 0 {
		return nil
	}
	for _, f := range []struct {
		bit        HeaderSet
		key, field string
		configured bool
	}{
		{HeaderPartnerID, hPartnerID, "PartnerID", t.PartnerID != ""},
		{HeaderChannelID, hChannelID, "ChannelID", t.ChannelID != ""},
		{HeaderOrigin, hOrigin, "Origin", t.Origin != ""},
	} {
		if p.ServiceHeaders&f.bit != 0 && !f.configured && !hasValue(h, f.key) {
			return fmt.Errorf("snapauth: Provider %q requires %s on service calls (ServiceHeaders); set Transport.%s or the request's header", p.Name, f.bit, f.field)
		}
	}
	return nil
}

// headerValue returns the first value of the canonical key ck in h, also
// under a non-canonical spelling, and whether one is set and not empty.
func headerValue(h http.Header, ck string) (string, bool) {
	if v := h[ck]; len(v) > 0 {
		return v[0], v[0] != ""
	}
	for k, v := range h {
		if len(v) > 0 && v[0] != "" && strings.EqualFold(k, ck) {
			return v[0], true
		}
	}
	return "", false
}
