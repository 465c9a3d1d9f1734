package main

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/snapauth/snapauth"
)

// serviceNames names the SNAP service codes the tool knows.
var serviceNames = map[string]string{
	"73": "B2B access token",
	"74": "B2B2C access token",
	"47": "snaptest sample service",
}

// caseMeanings are the generic SNAP case meanings, by HTTP status and case
// code, from the standard's response-code table.
var caseMeanings = map[string]string{
	"20000": "success",
	"40000": "Bad Request: the body is not JSON, or a general request error",
	"40001": "Invalid Field Format: a header or field has the wrong format (X-TIMESTAMP layout, X-EXTERNAL-ID, CHANNEL-ID...)",
	"40002": "Invalid Mandatory Field: a mandatory header or field is missing",
	"40100": "Unauthorized; the reason is in brackets",
	"40101": "Invalid Token (B2B): the access token is invalid or expired; fetch a new one",
	"40102": "Invalid Customer Token: the customer's B2B2C token is invalid or expired; refresh it",
	"40103": "Token Not Found (B2B): the Authorization header is missing",
	"40104": "Customer Token Not Found: the Authorization-Customer header is missing",
	"40900": "Conflict: this X-EXTERNAL-ID was already used today; send a new one per request",
	"40901": "Duplicate partnerReferenceNo",
	"42900": "Too Many Requests: slow down and retry later",
	"50000": "General Error at the provider",
	"50001": "Internal Server Error at the provider",
	"50002": "External Server Error: a system behind the provider failed",
	"50400": "Timeout at the provider",
}

// unauthorizedHints say what to check for the bracketed reasons of a
// 401xx00 "Unauthorized. [reason]" answer, by kind of signature.
var unauthorizedHints = map[string]string{
	"signature/token": "the provider could not verify the token signature over clientKey|X-TIMESTAMP: " +
		"check the client key, that the private key is the one whose public half the provider holds, " +
		"and --provider (timestamp layout); 'snapauth sign token' prints what is signed",
	"signature/service": "the provider computed another signature from the bytes it received: " +
		"compare its string to sign with the one 'snapauth call --verbose' or 'snapauth sign service' prints " +
		"(body sent exactly as minified, EndpointUrl with prefix and query, access token, X-TIMESTAMP, client secret); " +
		"against 'snapauth sandbox', its inspector page names the likely cause",
	"timestamp":      "X-TIMESTAMP is too far from the provider's clock, or not in its layout: check the clock and --provider",
	"unknown client": "the provider does not know this X-CLIENT-KEY (sandbox and production keys differ)",
	"x-partner-id":   "X-PARTNER-ID is not the partner id the provider registered for this client",
}

// explainCode describes a 7-character SNAP responseCode: its HTTP status,
// service and case, and the case's generic meaning.
func explainCode(code string) string {
	return explainAnswer(code, "")
}

// explainAnswer is explainCode, with the advice that the bracketed reason of
// the provider's message calls for.
func explainAnswer(code, message string) string {
	head, meaning := explainCodeParts(code, message)
	if meaning == "" {
		return head
	}
	return head + ": " + meaning
}

// explainCodeParts splits a responseCode into its parts (head) and says
// what its case means, "" when unknown. message, the provider's
// responseMessage, refines the meaning of a 401xx00.
func explainCodeParts(code, message string) (head, meaning string) {
	if len(code) != 7 {
		if code == "" {
			return "no responseCode", ""
		}
		return fmt.Sprintf("responseCode %q is not the 7-character SNAP form", code), ""
	}
	status, service, caseCode := code[:3], code[3:5], code[5:]
	svc := "service " + service
	if name, ok := serviceNames[service]; ok {
		svc += " (" + name + ")"
	}
	head = fmt.Sprintf("HTTP status %s, %s, case %s", status, svc, caseCode)
	if status+caseCode == "40100" {
		return head, "Unauthorized; " + unauthorizedHint(service, message)
	}
	if m, ok := caseMeanings[status+caseCode]; ok {
		return head, m
	}
	if n, err := strconv.Atoi(status); err == nil && http.StatusText(n) != "" {
		return head, http.StatusText(n) + " (a provider-specific case)"
	}
	return head, ""
}

// unauthorizedHint reads the bracketed reason of "Unauthorized. [reason]".
func unauthorizedHint(service, message string) string {
	_, reason, ok := strings.Cut(message, "[")
	reason, _, _ = strings.Cut(reason, "]")
	reason = strings.ToLower(strings.TrimSpace(reason))
	if !ok || reason == "" {
		return "the provider gave no reason; check the signature, X-TIMESTAMP and client key"
	}
	if reason == "signature" {
		if service == "73" || service == "74" {
			reason = "signature/token"
		} else {
			reason = "signature/service"
		}
	}
	if hint, ok := unauthorizedHints[reason]; ok {
		return hint
	}
	return "the provider's reason is [" + reason + "]"
}

// flow is what a command was doing when the provider refused: the same
// code means different things on different calls.
type flow int

const (
	flowService  flow = iota // a service call
	flowB2B                  // fetching a B2B access token
	flowAuthCode             // exchanging an auth code for a customer token
	flowRefresh              // renewing a customer token with a refresh token
)

// flowMeanings say what a refusal of a token grant means, by flow: a 401 on
// the B2B2C endpoint refuses the grant itself (the code or refresh token),
// not an access token, so "fetch a new token" would be the wrong advice.
var flowMeanings = map[flow]string{
	flowAuthCode: "the provider refused the auth code: it is unknown, already used or expired " +
		"(codes are single use and short-lived); send the customer through account binding again for a new one",
	flowRefresh: "the provider refused the refresh token: it is expired, already used (refresh tokens are single use: " +
		"the last answer carried the next one) or revoked; unless a newer one was saved, the customer must link the account again",
}

// explainError describes a provider's refusal on one line. The library
// classifies it (errors.Is with the snapauth sentinels); the code table
// adds the generic meaning.
func explainError(e *snapauth.Error, fl flow) string {
	s := fmt.Sprintf("HTTP %d", e.StatusCode)
	if e.ResponseCode != "" {
		s += " " + e.ResponseCode
	}
	if e.ResponseMessage != "" {
		s += " " + strings.TrimSpace(e.ResponseMessage)
	}
	head, meaning := explainCodeParts(e.ResponseCode, e.ResponseMessage)
	if m, ok := flowMeanings[fl]; ok && (errors.Is(e, snapauth.ErrReauthorize) || errors.Is(e, snapauth.ErrInvalidToken)) {
		meaning = m
	}
	switch {
	case e.ResponseCode == "":
	case meaning == "":
		s += " (" + head + ")"
	default:
		s += " (" + head + ": " + meaning + ")"
	}
	return s
}
