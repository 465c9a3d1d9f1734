package snapauth

import (
	"slices"
	"strings"
	"time"
)

// Named providers. Each doc comment cites the evidence for every deviation
// and says what is inferred rather than documented; docs/providers.md has
// the long form. Standard is the zero value with a name.
var (
	// Standard follows the SNAP standard to the letter.
	Standard = Provider{Name: "standard"}

	// BCA is the standard. The sorted, RFC 3986-encoded query in the
	// EndpointUrl comes from BCA's older, pre-SNAP API (HMAC-SHA256 and
	// X-BCA-Signature, "Generate Signature" on developer.bca.co.id's
	// dokumentasi page); no BCA SNAP document found says a SNAP call signs
	// it, and BCA SNAP clients sign the path and query as sent. Decision:
	// the standard EndpointUrl. EndpointSortedQuery stays available for the
	// pre-SNAP form.
	BCA = Provider{Name: "bca"}

	// BRI writes X-TIMESTAMP with milliseconds,
	// yyyy-MM-ddTHH:mm:ss.SSS+07:00 (developers.bri.co.id, "APIDOCS Oauth
	// SNAP BI", header structure of Get Token, path
	// /snap/v1.0/access-token/b2b). Documented.
	BRI = Provider{Name: "bri", TimestampLayout: TimestampLayoutMillis}

	// BNI follows the standard headers and signatures. Its paths are
	// /snap/v1/... (not /v1.0/...), which is configuration: put the whole
	// path in TokenURL and in the request URLs. Documented (BNI's API
	// portal); no further deviation found.
	BNI = Provider{Name: "bni"}

	// DOKU writes X-TIMESTAMP in UTC with "Z" (DOKU's SNAP pages; its own Go
	// SDK sends an offset, so "Z" is likely accepted rather than required:
	// inferred) and starts account binding with a signed API call that
	// answers the web-view URL (DOKU's direct-debit "account binding" API).
	DOKU = Provider{Name: "doku", TimestampLayout: TimestampLayoutZulu, Location: time.UTC, Binding: BindingByAPI}

	// DANA, per its official Go SDK (github.com/dana-id/dana-go):
	//   - the service string to sign holds the path only, no query
	//     (utils/snap_header.go, generateSignature signs url.Parse(endpoint).Path);
	//   - AUTHORIZATION_CODE and REFRESH_TOKEN in upper case
	//     (widget/v1/model_apply_token_*_request.go);
	//   - X-PARTNER-ID and CHANNEL-ID on the token call besides X-CLIENT-KEY
	//     (utils/snap_header.go, SetSnapHeaders, scenario apply_token);
	//   - X-EXTERNAL-ID a UUID (utils/snap_header.go: uuid.New());
	//   - get-auth-code with timestamp, externalId and channelId
	//     (widget/v1/utils.go, API mode; it also sends isSnapBI=true, which
	//     AuthCodeURL's extra parameters carry).
	// The SDK signs service calls asymmetrically (no token in the string to
	// sign): set Transport.PrivateKey. Its B2B2C token URL ends in ".htm"
	// (/v1.0/access-token/b2b2c.htm): configuration. All documented by the
	// SDK's code; that DANA's servers reject the standard forms is inferred.
	DANA = Provider{
		Name: "dana", UpperCaseGrants: true, EndpointForm: EndpointPathOnly,
		TokenHeaders: HeaderPartnerID | HeaderChannelID, ExternalIDAlphabet: ExternalIDUUID,
		AuthCodeParams: AuthCodeTimestamp | AuthCodeExternalID | AuthCodeChannelID,
	}

	// Finnet (Finpay), per its published pages ("Access Token B2B2C" of
	// Finpay Money and "Access Token" of Finpay QRIS, copied in the
	// repository's shared spec) and its SNAP header table:
	//   - authCode is mandatory, minimum length 1, on refresh_token grants
	//     too (B2B2C body table): the binding's authorization code is kept
	//     with the token and resent; which code Finnet expects there is not
	//     stated, the original one is inferred;
	//   - expiresIn as the number 900 (QRIS sample response; its table says
	//     String);
	//   - accessTokenExpiryTime and refreshTokenExpiryTime with +00:00
	//     (B2B2C sample response);
	//   - X-EXTERNAL-ID a numeric string of at most 32, and ORIGIN mandatory
	//     on service calls (docs.finpay.id, "Authorization & Headers" of
	//     Finpay PG SNAP);
	//   - account binding by a signed call, POST
	//     /v1.0/registration-account-binding, service 07, answering
	//     redirectUrl (Finpay Money linkage pages).
	// The QRIS token URL is spelled two ways on the same page:
	// /pg/snap/oauth/v1.0/access-token/b2b in its table and
	// /oauth/v1.0/access-token/b2b in its OpenAPI block; it is TokenURL's
	// business, not the profile's.
	Finnet = Provider{
		Name: "finnet", AuthCodeOnRefresh: true, ExternalIDLength: 32,
		ServiceHeaders: HeaderOrigin, ExpiresIn: ExpiresInNumber, ExpiryLocation: time.UTC,
		Binding: BindingByAPI,
	}

	// Mandiri writes X-TIMESTAMP with milliseconds (Mandiri's SNAP
	// developer pages). Its token body is mixed evidence: its pages show
	// {"grantType":"client_credentials"}, while integrators report
	// grant_type; the profile keeps the documented grantType. Set
	// TokenBody: TokenBodySnakeJSON on a copy if your Mandiri endpoint
	// wants the other.
	Mandiri = Provider{Name: "mandiri", TimestampLayout: TimestampLayoutMillis}

	// Midtrans (and GoPay through it), per its official SDKs:
	//   - {"grant_type":"client_credentials"} as JSON (midtrans-php
	//     SnapBi/SnapBi.php and midtrans-nodejs-client lib/snapBi/snapBi.js,
	//     getAccessToken);
	//   - X-TIMESTAMP as new Date().toISOString(), milliseconds and "Z" in
	//     UTC (midtrans-nodejs-client lib/snapBi/snapBi.js). The PHP SDK
	//     writes date("c") (seconds, offset), so Midtrans accepts both:
	//     inferred.
	Midtrans = Provider{Name: "midtrans", TimestampLayout: TimestampLayoutMillisZulu, Location: time.UTC, TokenBody: TokenBodySnakeJSON}

	// BNC (Bank Neo Commerce) asks for grant_type in its token body
	// (developers.bankneo.co.id, "Direct Debit - Get Access Token", token
	// URL /open/bi/1.0.0/get/token: configuration). That the body is JSON
	// rather than a form is inferred from its Content-Type column.
	BNC = Provider{Name: "bnc", TokenBody: TokenBodySnakeJSON}

	// OneBrick, per docs.onebrick.io "Get Access Token SNAP": X-TIMESTAMP
	// yyyy-MM-ddTHH:mm:ss.SSSTZD (milliseconds), grant_type in the JSON body,
	// expiresIn an integer. Its token URL
	// (/v2/payments/acceptance/1.0/access-token/b2b) is configuration. The
	// zone is not stated; Jakarta is inferred from "local time".
	OneBrick = Provider{Name: "onebrick", TimestampLayout: TimestampLayoutMillis, TokenBody: TokenBodySnakeJSON, ExpiresIn: ExpiresInNumber}
)

// namedProviders maps the lower-case names of the named providers to their
// values. It is read only: ProviderByName and ProviderNames hand out copies.
var namedProviders = map[string]Provider{
	"standard": Standard, "bca": BCA, "bri": BRI, "bni": BNI, "doku": DOKU, "dana": DANA,
	"finnet": Finnet, "mandiri": Mandiri, "midtrans": Midtrans, "bnc": BNC, "onebrick": OneBrick,
}

// ProviderByName returns the named profile whose Name is name, in any
// case ("bri", "Finnet"), for configuration files and command-line flags;
// ok is false for a name no profile has.
func ProviderByName(name string) (p Provider, ok bool) {
	p, ok = namedProviders[strings.ToLower(name)]
	return p, ok
}

// ProviderNames returns the names of the named profiles, sorted.
func ProviderNames() []string {
	names := make([]string, 0, len(namedProviders))
	for n := range namedProviders {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
