package snapauth

import (
	"net/http"
	"strings"
)

// The headers Transport sets: their names, one slot each, and how a
// request's headers are copied with them set.

// Canonical forms of the header names the transport sets.
const (
	hAuthorization = "Authorization"
	hCustomer      = "Authorization-Customer"
	hTimestamp     = "X-Timestamp"
	hSignature     = "X-Signature"
	hPartnerID     = "X-Partner-Id"
	hExternalID    = "X-External-Id"
	hChannelID     = "Channel-Id"
	hOrigin        = "Origin"
	hContentType   = "Content-Type"
)

// The headers send sets, one slot each. The slot list is the one place
// that says how many there are: the values array, the map's size hint and
// headerNames all follow from it, so adding a header is adding a slot.
const (
	slotAuthorization = iota
	slotCustomer
	slotTimestamp
	slotSignature
	slotPartnerID
	slotExternalID
	slotChannelID
	slotOrigin
	slotContentType
	numHeaderSlots
)

// headerNames is the canonical name of each slot's header.
var headerNames = [numHeaderSlots]string{
	slotAuthorization: hAuthorization,
	slotCustomer:      hCustomer,
	slotTimestamp:     hTimestamp,
	slotSignature:     hSignature,
	slotPartnerID:     hPartnerID,
	slotExternalID:    hExternalID,
	slotChannelID:     hChannelID,
	slotOrigin:        hOrigin,
	slotContentType:   hContentType,
}

// cloneHeader copies h into a new map with room for extra more keys, with
// all values in one allocation. Keys are canonicalised, so that a value the
// caller stored under a non-canonical key is still found and replaced.
func cloneHeader(h http.Header, extra int) http.Header {
	n := 0
	for _, vv := range h {
		n += len(vv)
	}
	out := make(http.Header, len(h)+extra)
	if n == 0 {
		return out
	}
	all := make([]string, n)
	for k, vv := range h {
		if len(vv) == 0 {
			continue
		}
		ck := http.CanonicalHeaderKey(k)
		c := copy(all, vv)
		if prev, ok := out[ck]; ok {
			out[ck] = append(prev[:len(prev):len(prev)], all[:c]...)
		} else {
			out[ck] = all[:c:c]
		}
		all = all[c:]
	}
	return out
}

// withHeaders returns a copy of h (see cloneHeader) with the non-empty
// values of v set under their slots' names, each replacing what h held,
// except that a JSON Content-Type the caller set is kept.
func withHeaders(h http.Header, v *[numHeaderSlots]string) http.Header {
	n := 0
	for _, s := range v {
		if s != "" {
			n++
		}
	}
	out := cloneHeader(h, n)
	for i, s := range v {
		if s == "" {
			continue
		}
		k := headerNames[i]
		if i == slotContentType {
			if ct := out[k]; len(ct) > 0 && isJSONMediaType(ct[0]) {
				continue
			}
		}
		out[k] = v[i : i+1 : i+1]
	}
	return out
}

// hasValue reports whether h holds a non-empty value for the canonical key
// ck, also under a non-canonical spelling of it.
func hasValue(h http.Header, ck string) bool {
	if v := h[ck]; len(v) > 0 {
		return v[0] != ""
	}
	for k, v := range h {
		if len(v) > 0 && v[0] != "" && strings.EqualFold(k, ck) {
			return true
		}
	}
	return false
}

// headerValues are the values of the headers made for each attempt.
type headerValues struct {
	timestamp, signature, bearer, externalID string
}

// headerStrings returns the X-TIMESTAMP and X-SIGNATURE values, the
// Authorization value when withBearer, and id as the X-EXTERNAL-ID value
// (empty when id is), made in one allocation.
func headerStrings(ts, sig []byte, withBearer bool, access string, id []byte) headerValues {
	const prefix = "Bearer "
	n := len(ts) + len(sig) + len(id)
	if withBearer {
		n += len(prefix) + len(access)
	}
	var b strings.Builder
	b.Grow(n)
	b.Write(ts)
	b.Write(sig)
	b.Write(id)
	if withBearer {
		b.WriteString(prefix)
		b.WriteString(access)
	}
	all := b.String()
	ends := [...]int{len(ts), len(ts) + len(sig), len(ts) + len(sig) + len(id)}
	return headerValues{
		timestamp:  all[:ends[0]],
		signature:  all[ends[0]:ends[1]],
		externalID: all[ends[1]:ends[2]],
		bearer:     all[ends[2]:],
	}
}
