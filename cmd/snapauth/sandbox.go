package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/snapauth/snapauth/internal/hostcheck"
	"github.com/snapauth/snapauth/snaptest"
)

const sandboxUsage = `Usage:
	snapauth sandbox [--addr 127.0.0.1:0] [--key-out FILE] [--provider NAME] [--path-prefix /snap]

Serves the snaptest sandbox: a strict SNAP provider for trying the other
commands and testing an integration, with no bank account. It makes up a
partner (client key, client secret, RSA key pair, partner id, channel id),
writes the private key to --key-out (mode 0600; default a temporary file,
removed on exit), and prints the URLs, the credentials and the lines to
export so that 'snapauth token' and 'snapauth call' find them. It runs until
interrupted (Ctrl-C, SIGTERM).

The sandbox serves:
	POST /v1.0/access-token/b2b      B2B tokens (client_credentials)
	POST /v1.0/access-token/b2b2c    B2B2C tokens (authorization_code, refresh_token)
	GET  /v1.0/get-auth-code         the account-binding consent page
	any  /v1.0/...                   a sample service family that checks every
	                                 header and signature and echoes what it saw;
	                                 paths under /v1.0/customer/ need a customer token
The credentials are for this sandbox only; they are printed, secret included,
so that you can use them.
`

func runSandbox(ctx context.Context, c *cli, args []string) error {
	f := newFlagSet("sandbox", sandboxUsage)
	var addr, keyOut, provider, prefix string
	f.fs.StringVar(&addr, "addr", "127.0.0.1:0", "`HOST:PORT` to listen on (port 0 picks a free one)")
	f.fs.StringVar(&keyOut, "key-out", "", "`FILE` to write the partner's private key to, mode 0600 (default a temporary file)")
	f.fs.StringVar(&provider, "provider", "", "the provider deviations to expect, by `NAME`: "+providerNames()+" (default standard)")
	f.fs.StringVar(&prefix, "path-prefix", "", "serve every endpoint under this `PREFIX`, such as /snap or /openapi")
	pos, err := f.parse(args, c.env, c.stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("sandbox: unexpected argument %q (see 'snapauth sandbox --help')", pos[0])
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return usageErrorf("sandbox: --addr %q is not HOST:PORT", addr)
	}
	p, err := f.provider(provider)
	if err != nil {
		return err
	}
	opts := []snaptest.Option{snaptest.WithProvider(p), snaptest.WithInspector()}
	if prefix != "" {
		opts = append(opts, snaptest.WithPathPrefix(prefix))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return failf("sandbox: cannot listen on %s: %s", addr, errText(err))
	}
	srv := snaptest.NewUnstartedServer(opts...)
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	keyPath, removeKey, err := writeKey(keyOut, srv.PrivateKeyPEM())
	if err != nil {
		return err
	}
	defer removeKey()

	printSandbox(c, srv, keyPath, p.Name)
	<-ctx.Done()
	fmt.Fprintln(c.stdout, "\nsnapauth sandbox: shutting down")
	return nil
}

// writeKey writes the private key PEM with mode 0600 to path, or to a new
// temporary file when path is empty; remove deletes a temporary file.
func writeKey(path string, pemData []byte) (written string, remove func(), err error) {
	remove = func() {}
	var fh *os.File
	if path == "" {
		fh, err = os.CreateTemp("", "snapauth-sandbox-*.pem") // created 0600
		if err != nil {
			return "", remove, failf("sandbox: cannot create a file for the private key: %s", errText(err))
		}
		name := fh.Name()
		remove = func() { os.Remove(name) }
	} else {
		fh, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return "", remove, usageErrorf("sandbox: --key-out %q: %s", path, errText(err))
		}
	}
	// An existing file keeps its mode on open: narrow it before writing.
	if err := fh.Chmod(0o600); err != nil {
		fh.Close()
		remove()
		return "", func() {}, failf("sandbox: cannot make %q private (mode 0600): %s", fh.Name(), errText(err))
	}
	_, err = fh.Write(pemData)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		remove()
		return "", func() {}, failf("sandbox: writing the private key to %q: %s", fh.Name(), errText(err))
	}
	return fh.Name(), remove, nil
}

func printSandbox(c *cli, srv *snaptest.Server, keyPath, provider string) {
	w := c.stdout
	fmt.Fprintf(w, "snapauth sandbox: a SNAP provider for testing (provider profile %q)\n\n", provider)
	fmt.Fprintf(w, "  URL              %s\n", srv.URL)
	fmt.Fprintf(w, "  B2B token URL    %s\n", srv.B2BTokenURL())
	fmt.Fprintf(w, "  B2B2C token URL  %s\n", srv.B2B2CTokenURL())
	fmt.Fprintf(w, "  consent page     %s\n", srv.AuthCodePageURL("https://partner.example/callback", "demo-state"))
	fmt.Fprintf(w, "  services         %s/v1.0/... (customer calls under %s/v1.0/customer/)\n", srv.URL, srv.URL)
	fmt.Fprintf(w, "  inspector        %s (open it: every request received, and why it was refused)\n", srv.InspectorURL())
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Partner credentials (for this sandbox only):")
	fmt.Fprintf(w, "  client key       %s\n", srv.ClientKey)
	fmt.Fprintf(w, "  client secret    %s\n", srv.ClientSecret)
	fmt.Fprintf(w, "  partner id       %s\n", srv.PartnerID)
	fmt.Fprintf(w, "  channel id       %s\n", srv.ChannelID)
	fmt.Fprintf(w, "  private key      %s (mode 0600)\n", keyPath)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Export these for the other commands:")
	for _, kv := range [][2]string{
		{"SNAP_PROVIDER", provider},
		{"SNAP_TOKEN_URL", srv.B2BTokenURL()},
		{"SNAP_B2B2C_TOKEN_URL", srv.B2B2CTokenURL()},
		{"SNAP_CLIENT_KEY", srv.ClientKey},
		{"SNAP_PRIVATE_KEY", keyPath},
		{"SNAP_CLIENT_SECRET", srv.ClientSecret},
		{"SNAP_PARTNER_ID", srv.PartnerID},
		{"SNAP_CHANNEL_ID", srv.ChannelID},
		{"SNAP_ORIGIN", "merchant.example"}, // ORIGIN: Finnet requires it on service calls
	} {
		fmt.Fprintf(w, "  export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	if u, err := url.Parse(srv.URL); err == nil && !hostcheck.IsLoopback(u.Hostname()) {
		// snapauth refuses plain http off loopback unless told otherwise.
		fmt.Fprintln(w, "  export SNAP_INSECURE_HTTP=true   # the sandbox speaks plain http on a non-loopback address")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Then try:")
	fmt.Fprintln(w, "  snapauth token b2b")
	fmt.Fprintf(w, "  snapauth call POST %s/v1.0/transfer-va/inquiry --data '{\"virtualAccountNo\":\"  08123\"}'\n", srv.URL)
	fmt.Fprintf(w, "  snapauth token b2b2c --token-url %s --auth-code CODE --store ./snap-tokens --key alice\n", srv.B2B2CTokenURL())
	fmt.Fprintln(w, "    (CODE: open the consent page above, Approve, and copy authCode from the address bar;")
	fmt.Fprintln(w, "     or write --auth-code - and paste it, so that it is not in ps)")
	fmt.Fprintf(w, "  snapauth call POST %s/v1.0/customer/balance-inquiry --data '{}' --store ./snap-tokens --key alice\n", srv.URL)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
