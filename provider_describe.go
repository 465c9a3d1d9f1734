package snapauth

import (
	"strconv"
	"strings"
	"time"
)

// Deviations lists, in words and in a fixed order, every way p differs from
// the SNAP standard, one entry per field: what the provider documentation
// tables and snapauth's README show. The zero Provider has none.
func (p Provider) Deviations() []string {
	var d []string
	if p.TimestampLayout != "" && p.TimestampLayout != TimestampLayout || p.Location != nil && p.Location != Jakarta {
		d = append(d, "X-TIMESTAMP "+p.Timestamp(time.Date(2020, 12, 17, 3, 55, 0, 0, time.UTC)))
	}
	if p.UpperCaseGrants {
		d = append(d, "grant types in upper case")
	}
	if p.Encoding == Hex {
		d = append(d, "X-SIGNATURE in hex")
	}
	switch p.EndpointForm {
	case EndpointSortedQuery:
		d = append(d, "EndpointUrl with the query sorted")
	case EndpointPathOnly:
		d = append(d, "EndpointUrl without the query")
	}
	switch p.TokenBody {
	case TokenBodySnakeJSON:
		d = append(d, "token body JSON grant_type")
	case TokenBodyForm:
		d = append(d, "token body form-encoded grant_type")
	}
	if p.TokenHeaders != 0 {
		d = append(d, "token call sends "+p.TokenHeaders.String())
	}
	if p.ServiceHeaders != 0 {
		d = append(d, "service calls require "+p.ServiceHeaders.String())
	}
	if p.ExternalIDAlphabet == ExternalIDUUID {
		d = append(d, "X-EXTERNAL-ID a UUID")
	} else if p.ExternalIDLength != 0 && p.ExternalIDLength != maxExternalID {
		d = append(d, "X-EXTERNAL-ID numeric, at most "+strconv.Itoa(p.ExternalIDLength))
	}
	if p.AuthCodeOnRefresh {
		d = append(d, "authCode on refresh")
	}
	switch p.ExpiresIn {
	case ExpiresInNumber:
		d = append(d, "expiresIn a number")
	case ExpiresInDateTime:
		d = append(d, "expiresIn a datetime")
	}
	if p.ExpiryLocation != nil {
		_, off := time.Date(2020, 12, 17, 0, 0, 0, 0, p.ExpiryLocation).Zone()
		if off != 7*3600 {
			d = append(d, "expiry times in "+time.Date(2020, 12, 17, 0, 0, 0, 0, p.ExpiryLocation).Format("-07:00"))
		}
	}
	if p.AuthCodeParams != 0 {
		d = append(d, "binding URL adds "+p.AuthCodeParams.String())
	}
	if p.Binding == BindingByAPI {
		d = append(d, "binding by API call")
	}
	return d
}

// String lists the headers of s, such as "X-PARTNER-ID, CHANNEL-ID".
func (s HeaderSet) String() string {
	return bitNames(s, "X-PARTNER-ID", "CHANNEL-ID", "ORIGIN")
}

// String lists the parameters of a, such as "timestamp, externalId".
func (a AuthCodeParams) String() string {
	return bitNames(a, "timestamp", "externalId", "channelId")
}

// bitNames joins the names of the bits set in s; names[i] names bit 1<<i.
func bitNames[T ~uint8](s T, names ...string) string {
	var set []string
	for i, name := range names {
		if s&(1<<i) != 0 {
			set = append(set, name)
		}
	}
	return strings.Join(set, ", ")
}
