package main

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapauth/snapauth"
)

// shellWords splits a command line the way a POSIX shell does, for the
// quoting that shellQuote writes: words, and single-quoted strings.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range line {
		switch {
		case quoted && r == '\'':
			quoted = false
		case quoted:
			cur.WriteRune(r)
		case r == '\'':
			quoted, inWord = true, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

var (
	consentLine   = regexp.MustCompile(`(?m)^  consent page +(\S+)$`)
	inspectorLine = regexp.MustCompile(`(?m)^  inspector +(\S+) `)
)

// approve opens the consent page as a browser would, approves, and returns
// the authCode of the redirect.
func approve(t *testing.T, pageURL string) string {
	t.Helper()
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(pageURL)
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	action, ticket := formAction.FindSubmatch(page), formTicket.FindSubmatch(page) // the demo's
	require.NotNil(t, action, "%s", page)
	require.NotNil(t, ticket)
	u, err := url.Parse(pageURL)
	require.NoError(t, err)
	u = u.ResolveReference(&url.URL{Path: string(action[1])})
	resp, err = browser.PostForm(u.String(), url.Values{"ticket": {string(ticket[1])}, "decision": {"approve"}})
	require.NoError(t, err)
	resp.Body.Close()
	loc, err := resp.Location()
	require.NoError(t, err)
	code := loc.Query().Get("authCode")
	require.NotEmpty(t, code)
	return code
}

// TestSandboxSuggestionsEveryProvider runs, for every --provider, each
// command the sandbox suggests, with only the variables it exports: all of
// them succeed (the suggested customer commands included).
func TestSandboxSuggestionsEveryProvider(t *testing.T) {
	t.Parallel()
	names := snapauth.ProviderNames()
	require.Contains(t, names, "bri")
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startSandbox(t, "--provider", name, "--path-prefix", "/snap")
			env, out := s.exports(t)
			assert.Equal(t, name, env["SNAP_PROVIDER"], out)
			m := consentLine.FindStringSubmatch(out)
			require.NotNil(t, m, out)
			code := approve(t, m[1])
			store := t.TempDir() + "/tokens"

			var ran int
			for line := range strings.SplitSeq(out, "\n") {
				rest, ok := strings.CutPrefix(line, "  snapauth ")
				if !ok {
					continue
				}
				args := shellWords(rest)
				for i, a := range args {
					switch a {
					case "CODE":
						args[i] = code
					case "./snap-tokens":
						args[i] = store
					}
				}
				r := runCLI(t, env, args...)
				assert.Equal(t, 0, r.code, "snapauth %s\nstdout: %s\nstderr: %s", rest, r.stdout, r.stderr)
				ran++
			}
			assert.Equal(t, 4, ran, "the suggested commands:\n%s", out)
			require.Equal(t, 0, s.stop(t))
		})
	}
}

func TestSandboxInspectorServed(t *testing.T) {
	t.Parallel()
	s := startSandbox(t)
	_, out := s.exports(t)
	m := inspectorLine.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	resp, err := http.Get(m[1])
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(page), "snaptest inspector")
	require.Equal(t, 0, s.stop(t))
}

func TestDemoHelpHasNoEmptyFlags(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "demo", "--help")
	require.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "Usage:")
	assert.NotContains(t, r.stdout, "Flags")
	r = runCLI(t, nil, "sandbox", "--help")
	assert.Contains(t, r.stdout, "\nFlags (each also from the environment variable in brackets):\n  --addr")
}
