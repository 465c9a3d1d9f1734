package main

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
)

// argvNote is printed in the help of every command with a secret flag.
const argvNote = `Secrets (the flags marked "secret"): the command line is visible to every
user of this machine (ps, /proc), so give a secret as @FILE (read from the
file, a trailing newline dropped, as curl does), as - (read from standard
input), or in its environment variable; a secret typed on the command line
works but draws a warning on stderr. A secret that itself starts with @ or
is - must come from a file.
`

// secretFlag is a flag whose value is a secret: given literally, as @FILE,
// or as - for standard input.
type secretFlag struct {
	name string
	p    *string
}

// secretVar registers a secret string flag; its usage says how to pass it
// without putting it on the command line.
func (f *flagSet) secretVar(p *string, name, usage string) {
	f.fs.StringVar(p, name, "", usage+" (secret: @FILE, - for stdin, or the environment)")
	f.secrets = append(f.secrets, secretFlag{name: name, p: p})
}

// parseSecrets is parse followed by resolveSecrets: the flags' values are
// read from their files or from stdin, and remembered so that no provider
// text the command prints repeats them.
func (f *flagSet) parseSecrets(args []string, c *cli) ([]string, error) {
	f.c = c
	pos, err := f.parse(args, c.env, c.stdout)
	if err != nil {
		return nil, err
	}
	return pos, f.resolveSecrets(c)
}

// resolveSecrets replaces each secret flag's @FILE or - by what it names,
// and warns about each secret given literally on the command line.
func (f *flagSet) resolveSecrets(c *cli) error {
	for _, s := range f.secrets {
		v := *s.p
		switch {
		case v == "":
			continue
		case v == "-":
			if f.stdinUsed != "" {
				return usageErrorf("%s: --%s and --%s both want standard input; give one of them as @FILE", f.cmd, f.stdinUsed, s.name)
			}
			f.stdinUsed = s.name
			data, err := io.ReadAll(io.LimitReader(c.stdin, maxSecretBytes+1))
			if err != nil {
				return usageErrorf("%s: %s: reading standard input: %s", f.cmd, f.source(s.name), errText(err))
			}
			if len(data) > maxSecretBytes {
				return usageErrorf("%s: %s: standard input holds more than %d bytes", f.cmd, f.source(s.name), maxSecretBytes)
			}
			v = trimNewline(string(data))
		case strings.HasPrefix(v, "@"):
			data, err := f.readFlagFile(s.name, v[1:])
			if err != nil {
				return err
			}
			v = trimNewline(string(data))
		default:
			if f.cli[s.name] {
				fmt.Fprintf(c.stderr, "snapauth: warning: --%s on the command line is visible to other users of this machine (ps); use --%s @FILE, --%s - (stdin) or %s\n",
					s.name, s.name, s.name, envName(s.name))
			}
		}
		if v == "" {
			return usageErrorf("%s: %s names an empty secret", f.cmd, f.source(s.name))
		}
		*s.p = v
		c.addSecret(v)
	}
	return nil
}

// maxSecretBytes bounds a secret read from a file or stdin.
const maxSecretBytes = 64 << 10

// trimNewline drops one trailing line end, as a file written by an editor
// or echo has.
func trimNewline(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r")
}

// minRedacted is the shortest secret that is redacted from provider texts:
// shorter ones would blank out ordinary words.
const minRedacted = 6

// addSecret remembers a secret the command sends, so that redact removes
// it from every provider-supplied text.
func (c *cli) addSecret(s string) {
	s = strings.TrimSpace(s)
	if len(s) < minRedacted || slices.Contains(c.secrets, s) {
		return
	}
	c.secrets = append(c.secrets, s)
	// Longest first, so that a secret containing another is removed whole.
	slices.SortFunc(c.secrets, func(a, b string) int { return len(b) - len(a) })
}

// redact replaces every secret the command sent (flags, fetched tokens,
// the tokens and codes its recorder saw) by "[redacted]" in s.
func (c *cli) redact(s string) string {
	c.harvest()
	for _, sec := range c.secrets {
		s = strings.ReplaceAll(s, sec, "[redacted]")
	}
	return s
}

// redactBytes is redact for a body.
func (c *cli) redactBytes(b []byte) []byte {
	c.harvest()
	for _, sec := range c.secrets {
		b = bytes.ReplaceAll(b, []byte(sec), []byte("[redacted]"))
	}
	return b
}

// harvest adds the secrets of every request the recorder saw: the tokens
// in Authorization headers and the codes and tokens of token requests.
func (c *cli) harvest() {
	if c.rec == nil {
		return
	}
	c.rec.mu.Lock()
	sent := append([]*sentRequest(nil), c.rec.sent...)
	c.rec.mu.Unlock()
	for _, req := range sent {
		for _, h := range []string{"Authorization", "Authorization-Customer"} {
			if v := req.Header.Get(h); v != "" {
				_, tok, _ := strings.Cut(v, " ")
				c.addSecret(tok)
			}
		}
		for _, m := range tokenBodySecret.FindAllSubmatch(req.Body, -1) {
			c.addSecret(string(m[2]))
		}
	}
}
