#!/usr/bin/env bash
# gen-vectors.sh computes snapauth's signer known-answer vectors with the
# openssl command line, outside Go, so the Go tests compare our signatures
# against an independent implementation byte for byte.
#
#   testdata/gen-vectors.sh             reuse testdata/keys, rewrite testdata/vectors.txt
#   testdata/gen-vectors.sh --new-keys  generate a fresh key set first
#
# VECTORS_OUT=path writes the vectors elsewhere (the Go test uses it to check
# that this script reproduces the committed file exactly). HMAC-SHA512 and
# RSASSA-PKCS1-v1_5 are deterministic, so a rerun gives identical bytes.
#
# vectors.txt: one vector a line, 12 tab-separated fields (empty allowed):
#   kind name client_key client_secret method endpoint access_token timestamp
#   body body_sha256 string_to_sign signature
# kind is token (RSA over client_key|timestamp), symmetric (HMAC-SHA512 keyed
# with client_secret) or asymmetric (RSA, no access-token segment). body is
# the already-minified body; body_sha256 is computed here by sha256sum.
# Signatures are standard padded base64.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
keys=$here/keys
out=${VECTORS_OUT:-$here/vectors.txt}
pass=snapauth-test-passphrase

genkeys() {
	rm -rf "$keys"
	mkdir -p "$keys"
	cd "$keys"
	# The partner's RSA 2048 key in every format providers hand out.
	openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa-pkcs8.pem
	openssl rsa -in rsa-pkcs8.pem -traditional -out rsa-pkcs1.pem 2>/dev/null
	openssl pkcs8 -topk8 -nocrypt -in rsa-pkcs8.pem -outform DER | base64 -w0 >rsa-pkcs8.b64
	openssl rsa -in rsa-pkcs8.pem -traditional -outform DER 2>/dev/null | base64 -w64 >rsa-pkcs1.b64
	openssl pkey -in rsa-pkcs8.pem -pubout -out rsa-public-pkix.pem
	openssl rsa -in rsa-pkcs8.pem -RSAPublicKey_out -out rsa-public-pkcs1.pem 2>/dev/null
	openssl pkey -in rsa-pkcs8.pem -pubout -outform DER | base64 -w0 >rsa-public-pkix.b64
	openssl req -x509 -new -key rsa-pkcs8.pem -sha256 -days 36500 \
		-subj "/CN=snapauth test partner" -out rsa-cert.pem
	openssl x509 -in rsa-cert.pem -outform DER | base64 -w76 >rsa-cert.b64
	# Password-protected keys: PKCS#8 EncryptedPrivateKeyInfo and legacy PKCS#1
	# with Proc-Type: 4,ENCRYPTED.
	openssl pkcs8 -topk8 -in rsa-pkcs8.pem -v2 aes-256-cbc -passout "pass:$pass" -out rsa-pkcs8-encrypted.pem
	openssl pkcs8 -topk8 -in rsa-pkcs8.pem -v2 aes-256-cbc -passout "pass:$pass" -outform DER |
		base64 -w0 >rsa-pkcs8-encrypted.b64
	openssl rsa -in rsa-pkcs8.pem -traditional -aes128 -passout "pass:$pass" -out rsa-pkcs1-encrypted.pem 2>/dev/null
	# Another partner's key, for the wrong-key cases.
	openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa-other-pkcs8.pem
	openssl pkey -in rsa-other-pkcs8.pem -pubout -out rsa-other-public.pem
	# Keys SNAP cannot use.
	openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec-pkcs8.pem
	openssl ec -in ec-pkcs8.pem -out ec-sec1.pem 2>/dev/null
	openssl pkcs8 -topk8 -nocrypt -in ec-pkcs8.pem -outform DER | base64 -w0 >ec-pkcs8.b64
	openssl ec -in ec-pkcs8.pem -outform DER 2>/dev/null | base64 -w0 >ec-sec1.b64
	openssl pkey -in ec-pkcs8.pem -pubout -out ec-public.pem
	openssl pkey -in ec-pkcs8.pem -pubout -outform DER | base64 -w0 >ec-public.b64
	openssl req -x509 -new -key ec-pkcs8.pem -sha256 -days 36500 -subj "/CN=snapauth test ec" -out ec-cert.pem
	openssl genpkey -algorithm ED25519 -out ed25519-pkcs8.pem
	openssl pkey -in ed25519-pkcs8.pem -pubout -out ed25519-public.pem
	cd - >/dev/null
}

if [[ ${1:-} == --new-keys || ! -f $keys/rsa-pkcs8.pem ]]; then
	genkeys
fi
key=$keys/rsa-pkcs8.pem

clientKey=8b7ac5a0-2b5c-4d2e-9a3c-0f7c1e2d3b4a
secret=Zx9vKq3Lm2Np8Rt5Wy7Bc4Df6Gh1Jk0S

check() { # refuse a field the line format cannot carry
	if [[ $1 == *$'\t'* || $1 == *$'\n'* || $1 == *$'\r'* ]]; then
		echo "gen-vectors: field contains a tab or line break: $1" >&2
		exit 1
	fi
}

emit() { # emit FIELD... (12 fields, tab-separated)
	local f line=""
	for f in "$@"; do
		check "$f"
		line+="$f"$'\t'
	done
	printf '%s\n' "${line%$'\t'}" >>"$tmp"
}

rsa_sign() { printf '%s' "$1" | openssl dgst -sha256 -sign "$key" | base64 -w0; }
hmac_sign() { printf '%s' "$2" | openssl dgst -sha512 -hmac "$1" -binary | base64 -w0; }
body_hash() { printf '%s' "$1" | sha256sum | cut -c1-64; }

token() { # token NAME TIMESTAMP
	local sts="$clientKey|$2"
	emit token "$1" "$clientKey" "" "" "" "" "$2" "" "" "$sts" "$(rsa_sign "$sts")"
}

symmetric() { # symmetric NAME SECRET METHOD ENDPOINT TOKEN TIMESTAMP BODY
	local h sts
	h=$(body_hash "$7")
	sts="$3:$4:$5:$h:$6"
	emit symmetric "$1" "" "$2" "$3" "$4" "$5" "$6" "$7" "$h" "$sts" "$(hmac_sign "$2" "$sts")"
}

asymmetric() { # asymmetric NAME METHOD ENDPOINT TIMESTAMP BODY
	local h sts
	h=$(body_hash "$5")
	sts="$2:$3:$h:$4"
	emit asymmetric "$1" "$clientKey" "" "$2" "$3" "" "$4" "$5" "$h" "$sts" "$(rsa_sign "$sts")"
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

ts=2020-12-17T10:55:00+07:00
tok=gp9HjjEj813Y9JGoqwOeOPWbnt4CUpvIJbU1mMU4a11MNDZ7Sg5u9a
compact='{"partnerServiceId":"   12345","customerNo":"123456789012345678","virtualAccountNo":"   12345123456789012345678","amount":{"value":"10000.00","currency":"IDR"},"trxDateInit":"2020-12-17T10:55:00+07:00","channelCode":6011,"sourceBankCode":"014","additionalInfo":{"tags":["a","b"],"nested":{"ok":true,"none":null,"n":-12.50e+3}}}'
unicode='{"remark":"Pembayaran tagihan listrik bulan Desember – terima kasih 🙏","payer":"Budi Šantoso","city":"Yogyakarta ꦪꦺꦴꦒꦾ","emoji":"👨‍👩‍👧 🇮🇩"}'
html='{"note":"<b>Tom & Jerry</b> > 5 < 10","url":"https://example.com/a?b=1&c=2","script":"<script>alert(1)</script>"}'
escapes='{"quote":"say \"halo\"","backslash":"C:\\snap\\key","lines":"a\nb\r\tc","ctl":"\u0000\u001f\b\f","lone":"\ud83d","slash":"a/b"}'

token token-standard "$ts"
token token-bri-millis 2020-12-17T10:55:00.123+07:00
token token-doku-zulu 2020-12-17T03:55:00Z

symmetric sym-empty-body "$secret" GET /v1.0/balance-inquiry "$tok" "$ts" ""
symmetric sym-get-query "$secret" GET '/snap/v1.0/transfer/status?partnerReferenceNo=2020102900000000000001&serviceCode=17&name=A%20B' "$tok" "$ts" ""
symmetric sym-compact "$secret" POST /openapi/v1.0/transfer-va/inquiry "$tok" "$ts" "$compact"
symmetric sym-unicode "$secret" POST /v1.0/debit/payment-host-to-host "$tok" "$ts" "$unicode"
symmetric sym-html "$secret" POST /v1.0/qr/qr-mpm-generate "$tok" "$ts" "$html"
symmetric sym-escapes "$secret" PUT /v1.0/registration-account-binding "$tok" "$ts" "$escapes"
symmetric sym-unicode-secret 'rahasia-🔑-ÄÖ' DELETE /v1.0/registration-account-unbinding "$tok" 2020-12-17T03:55:00Z '{"ok":true}'
symmetric sym-empty-object "$secret" POST /v1.0/transfer-intrabank "$tok" 2020-12-17T10:55:00.123+07:00 '{}'

asymmetric asym-empty-body GET /v1.0/balance-inquiry "$ts" ""
asymmetric asym-get-query GET '/snap/v1.0/transfer/status?partnerReferenceNo=2020102900000000000001&serviceCode=17&name=A%20B' "$ts" ""
asymmetric asym-compact POST /openapi/v1.0/transfer-va/payment "$ts" "$compact"
asymmetric asym-unicode POST /v1.0/debit/notify "$ts" "$unicode"
asymmetric asym-html POST /v1.0/qr/qr-mpm-notify "$ts" "$html"

mv "$tmp" "$out"
trap - EXIT
echo "gen-vectors: wrote $(wc -l <"$out") vectors to $out" >&2
