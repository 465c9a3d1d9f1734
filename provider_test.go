package snapauth_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProviderTimestamp(t *testing.T) {
	// 03:55:00.123456789 UTC is 10:55:00 in Jakarta.
	instant := time.Date(2020, 12, 17, 3, 55, 0, 123456789, time.UTC)
	inOtherZone := instant.In(time.FixedZone("EST", -5*3600))
	cases := map[string]struct {
		p    snapauth.Provider
		want string
	}{
		"zero value": {snapauth.Provider{}, "2020-12-17T10:55:00+07:00"},
		"standard":   {snapauth.Standard, "2020-12-17T10:55:00+07:00"},
		"bca":        {snapauth.BCA, "2020-12-17T10:55:00+07:00"},
		"bri":        {snapauth.BRI, "2020-12-17T10:55:00.123+07:00"},
		"doku":       {snapauth.DOKU, "2020-12-17T03:55:00Z"},
		"dana":       {snapauth.DANA, "2020-12-17T10:55:00+07:00"},
		"finnet":     {snapauth.Finnet, "2020-12-17T10:55:00+07:00"},
		"utc offset": {snapauth.Provider{Location: time.UTC}, "2020-12-17T03:55:00+00:00"},
		"wita":       {snapauth.Provider{Location: time.FixedZone("WITA", 8*3600)}, "2020-12-17T11:55:00+08:00"},
	}
	for name, c := range cases {
		assert.Equal(t, c.want, c.p.Timestamp(instant), name)
		assert.Equal(t, c.want, c.p.Timestamp(inOtherZone), name+": the input's zone does not matter")
		parsed, err := snapauth.ParseTimestamp(c.p.Timestamp(instant))
		require.NoError(t, err, name)
		assert.True(t, parsed.Equal(instant.Truncate(time.Second)) || parsed.Equal(instant.Truncate(time.Millisecond)), name)
	}
	for _, name := range snapauth.ProviderNames() {
		p, _ := snapauth.ProviderByName(name)
		assert.Equal(t, name, p.Name)
	}
	assert.Len(t, snapauth.ProviderNames(), 11)
	// Jakarta is a fixed zone: it works without a time zone database.
	name, offset := instant.In(snapauth.Jakarta).Zone()
	assert.Equal(t, "WIB", name)
	assert.Equal(t, 7*3600, offset)
	// Across a year and across the dates other zones change their clocks.
	for d := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == 2024; d = d.Add(24 * time.Hour) {
		require.True(t, strings.HasSuffix(snapauth.Standard.Timestamp(d), "+07:00"))
		require.Len(t, snapauth.Standard.Timestamp(d), 25)
	}
}

func TestProviderGrantType(t *testing.T) {
	for _, g := range []string{"client_credentials", "authorization_code", "refresh_token"} {
		assert.Equal(t, g, snapauth.Standard.GrantType(g))
		assert.Equal(t, g, snapauth.Provider{}.GrantType(g))
		assert.Equal(t, g, snapauth.Finnet.GrantType(g))
		assert.Equal(t, strings.ToUpper(g), snapauth.DANA.GrantType(g))
	}
	assert.True(t, snapauth.Finnet.AuthCodeOnRefresh)
	assert.False(t, snapauth.Standard.AuthCodeOnRefresh)
}

func TestProviderEndpointURL(t *testing.T) {
	sortedQuery := snapauth.Provider{EndpointForm: snapauth.EndpointSortedQuery}
	pathOnly := snapauth.Provider{EndpointForm: snapauth.EndpointPathOnly}
	cases := []struct {
		url                      string
		asSent, sorted, pathOnly string
	}{
		{"https://api.example.com/snap/v1.0/transfer-va/inquiry",
			"/snap/v1.0/transfer-va/inquiry", "/snap/v1.0/transfer-va/inquiry", "/snap/v1.0/transfer-va/inquiry"},
		{"https://api.example.com:8443", "/", "/", "/"},
		{"https://api.example.com/?", "/", "/", "/"},
		{"https://h/v1.0/x?b=2&a=1&a=0", "/v1.0/x?b=2&a=1&a=0", "/v1.0/x?a=0&a=1&b=2", "/v1.0/x"},
		{"https://h/v1.0/x?q=a+b&r=a%20b&s=~-._", "/v1.0/x?q=a+b&r=a%20b&s=~-._", "/v1.0/x?q=a%20b&r=a%20b&s=~-._", "/v1.0/x"},
		{"https://h/v1.0/x?name=%c3%a9&x=%2f%3a&y=*!'()", "/v1.0/x?name=%c3%a9&x=%2f%3a&y=*!'()", "/v1.0/x?name=%C3%A9&x=%2F%3A&y=%2A%21%27%28%29", "/v1.0/x"},
		{"https://h/v1.0/a%20b/c?z=1#frag", "/v1.0/a%20b/c?z=1", "/v1.0/a%20b/c?z=1", "/v1.0/a%20b/c"},
		{"https://h/v1.0/x?B=1&a=1&_=1", "/v1.0/x?B=1&a=1&_=1", "/v1.0/x?B=1&_=1&a=1", "/v1.0/x"},
		{"https://h/v1.0/x?flag&k=", "/v1.0/x?flag&k=", "/v1.0/x?flag=&k=", "/v1.0/x"},
		{"/relative/only?b=1&a=2", "/relative/only?b=1&a=2", "/relative/only?a=2&b=1", "/relative/only"},
	}
	for _, c := range cases {
		u, err := url.Parse(c.url)
		require.NoError(t, err)
		assert.Equal(t, c.asSent, snapauth.Standard.EndpointURL(u), "as sent: %s", c.url)
		assert.Equal(t, c.asSent, snapauth.Provider{}.EndpointURL(u), "zero value: %s", c.url)
		assert.Equal(t, c.sorted, sortedQuery.EndpointURL(u), "sorted: %s", c.url)
		assert.Equal(t, c.asSent, snapauth.BCA.EndpointURL(u), "BCA SNAP signs the query as sent: %s", c.url)
		assert.Equal(t, c.pathOnly, pathOnly.EndpointURL(u), "path only: %s", c.url)
	}
}

func TestProviderEncodeSignature(t *testing.T) {
	raw := []byte{0x00, 0xfb, 0xff, 0x10}
	assert.Equal(t, "APv/EA==", snapauth.Standard.EncodeSignature(raw))
	assert.Equal(t, "APv/EA==", snapauth.Provider{}.EncodeSignature(raw))
	assert.Equal(t, "00fbff10", snapauth.Provider{Encoding: snapauth.Hex}.EncodeSignature(raw))
	for _, name := range snapauth.ProviderNames() {
		p, _ := snapauth.ProviderByName(name)
		assert.Equal(t, snapauth.Base64, p.Encoding, p.Name)
	}
}
