package main

import (
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
	"40100": "Unauthorized: the reason is in brackets; [Signature] means the provider computed another signature than the one sent (compare the string to sign with 'snapauth sign'), [Timestamp] a clock or layout problem, [Unknown client] a wrong client key",
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

// explainCode describes a 7-character SNAP responseCode: its HTTP status,
// service and case, and the case's generic meaning.
func explainCode(code string) string {
	head, meaning := explainCodeParts(code)
	if meaning == "" {
		return head
	}
	return head + ": " + meaning
}

// explainCodeParts splits a responseCode into its parts (head) and says
// what its case means, "" when unknown.
func explainCodeParts(code string) (head, meaning string) {
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
	if m, ok := caseMeanings[status+caseCode]; ok {
		return head, m
	}
	if n, err := strconv.Atoi(status); err == nil && http.StatusText(n) != "" {
		return head, http.StatusText(n) + " (a provider-specific case)"
	}
	return head, ""
}

// explainError describes a provider's refusal on one line.
func explainError(e *snapauth.Error) string {
	s := fmt.Sprintf("HTTP %d", e.StatusCode)
	if e.ResponseCode != "" {
		s += " " + e.ResponseCode
	}
	if e.ResponseMessage != "" {
		s += " " + strings.TrimSpace(e.ResponseMessage)
	}
	if e.ResponseCode != "" {
		s += " (" + explainCode(e.ResponseCode) + ")"
	}
	return s
}
