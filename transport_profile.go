package snapauth

import (
	"fmt"
	"net/http"
	"strings"
)

// checkProfile refuses, before any token is fetched or request sent, a
// Provider that contradicts itself, a caller's X-EXTERNAL-ID that breaks
// the Provider's rule, and a call without a header the Provider requires.
func (t *Transport) checkProfile(h http.Header) error {
	p := &t.Provider
	if err := p.Validate(); err != nil {
		return err
	}
	if id, ok := headerValue(h, hExternalID); ok {
		if err := p.checkExternalID(id); err != nil {
			return err
		}
	}
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
