package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// printCurl prints the request held by --curl as a curl command line: the
// URL, every header the signature depends on, and the body byte for byte.
// Tokens are masked unless d.tokens, with a note that the command then does
// not replay.
func (c *cli) printCurl(d display) error {
	c.rec.mu.Lock()
	var held *sentRequest
	for _, r := range c.rec.sent {
		if r.Held {
			held = r
		}
	}
	c.rec.mu.Unlock()
	if held == nil {
		return failf("call: --curl: no request was signed")
	}
	fmt.Fprint(c.stdout, curlCommand(held, d))
	if !d.tokens && (held.Header.Get("Authorization") != "" || held.Header.Get("Authorization-Customer") != "") {
		fmt.Fprintln(c.stderr, "snapauth: note: the bearer tokens in this curl command are masked, so it will not replay; add --show-tokens to print them (the command then holds live access tokens)")
	}
	return nil
}

// curlCommand writes req as a curl command line for a POSIX shell, one
// option per line.
func curlCommand(req *sentRequest, d display) string {
	var b strings.Builder
	b.WriteString("curl -sS -i -X " + req.Method + " " + shellQuote(req.URL))
	for _, k := range slices.Sorted(maps.Keys(req.Header)) {
		for _, v := range req.Header[k] {
			b.WriteString(" \\\n  -H " + shellQuote(headerName(k)+": "+d.header(k, v)))
		}
	}
	if len(req.Body) > 0 {
		b.WriteString(" \\\n  --data-binary " + shellQuote(string(req.Body)))
	}
	b.WriteString("\n")
	return b.String()
}
