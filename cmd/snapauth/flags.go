package main

import (
	"context"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/snapauth/snapauth"
)

// flagSet is a flag.FlagSet that also reads every flag from the environment
// (SNAP_<FLAG>), accepts flags after positional arguments, and reports
// errors as one line.
type flagSet struct {
	fs    *flag.FlagSet
	cmd   string // "token b2b", for messages
	usage string // the command line and its description, for --help
	// cli and env record where each set flag came from.
	cli, env map[string]bool
	// secrets are the flags holding secrets (secretVar); c is the command's
	// cli once parseSecrets ran, for a key read from stdin.
	secrets   []secretFlag
	c         *cli
	stdinUsed string // the flag that read standard input
}

func newFlagSet(cmd, usage string) *flagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{fs: fs, cmd: cmd, usage: usage, cli: map[string]bool{}, env: map[string]bool{}}
}

// envName is the environment variable of a flag: SNAP_ and the flag's name
// in upper case with dashes as underscores.
func envName(flagName string) string {
	return "SNAP_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse parses args, taking flags before, between and after the positional
// arguments (which it returns), then sets each flag not given on the command
// line from its environment variable. --help prints the usage to out and
// returns errHelpShown.
func (f *flagSet) parse(args []string, env func(string) string, out io.Writer) ([]string, error) {
	var pos []string
	for {
		err := f.fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			f.printUsage(out)
			return nil, errHelpShown
		}
		if err != nil {
			return nil, usageErrorf("%s: %s (see 'snapauth %s --help')", f.cmd, oneLine(err.Error()), f.cmd)
		}
		rest := f.fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			pos = append(pos, rest...) // everything after "--" is positional
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	f.fs.Visit(func(fl *flag.Flag) { f.cli[fl.Name] = true })
	var envErr error
	f.fs.VisitAll(func(fl *flag.Flag) {
		if f.cli[fl.Name] || envErr != nil {
			return
		}
		v := env(envName(fl.Name))
		if v == "" {
			return
		}
		// The value is not repeated in the message: it may be a secret.
		if err := f.fs.Set(fl.Name, v); err != nil {
			envErr = usageErrorf("%s: environment variable %s has an invalid value for --%s", f.cmd, envName(fl.Name), fl.Name)
			return
		}
		f.env[fl.Name] = true
	})
	return pos, envErr
}

// source names where a flag's value came from, for messages.
func (f *flagSet) source(name string) string {
	if f.env[name] && !f.cli[name] {
		return envName(name)
	}
	return "--" + name
}

func (f *flagSet) printUsage(out io.Writer) {
	fmt.Fprint(out, strings.TrimRight(f.usage, "\n")+"\n")
	if len(f.secrets) > 0 {
		fmt.Fprint(out, "\n"+argvNote)
	}
	n := 0
	f.fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprint(out, "\nFlags (each also from the environment variable in brackets):\n")
	f.fs.VisitAll(func(fl *flag.Flag) {
		name, usage := flag.UnquoteUsage(fl)
		head := "--" + fl.Name
		if name != "" {
			head += " " + name
		}
		fmt.Fprintf(out, "  %s  [%s]\n", head, envName(fl.Name))
		fmt.Fprintf(out, "\t%s", strings.ReplaceAll(usage, "\n", "\n\t"))
		if def := fl.DefValue; def != "" && def != "false" && def != "0" && def != "0s" {
			fmt.Fprintf(out, " (default %s)", def)
		}
		fmt.Fprintln(out)
	})
}

// require returns a usage error naming the first empty flag of pairs, a
// list of flag names and their values.
func (f *flagSet) require(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return usageErrorf("%s: --%s is required (or set %s)", f.cmd, pairs[i], envName(pairs[i]))
		}
	}
	return nil
}

// readFlagFile reads the file a flag names, with a usage error that names
// the flag and the path (never the contents) when it cannot.
func (f *flagSet) readFlagFile(flagName, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		reason := "cannot read it"
		switch {
		case errors.Is(err, fs.ErrNotExist):
			reason = "no such file"
		case errors.Is(err, fs.ErrPermission):
			reason = "permission denied"
		default:
			var pe *fs.PathError
			if errors.As(err, &pe) {
				reason = pe.Err.Error()
			}
		}
		return nil, usageErrorf("%s: %s %q: %s", f.cmd, f.source(flagName), path, reason)
	}
	return data, nil
}

// privateKey reads and parses the private key named by a flag: a file,
// @FILE, - for standard input, or (with a warning) the PEM itself.
func (f *flagSet) privateKey(flagName, path string) (*rsa.PrivateKey, error) {
	var data []byte
	var err error
	switch {
	case path == "-" && f.c != nil:
		if f.stdinUsed != "" && f.stdinUsed != flagName {
			return nil, usageErrorf("%s: --%s and --%s both want standard input; give one of them as a file", f.cmd, f.stdinUsed, flagName)
		}
		f.stdinUsed = flagName
		data, err = io.ReadAll(io.LimitReader(f.c.stdin, maxSecretBytes))
		if err != nil {
			return nil, usageErrorf("%s: %s: reading standard input: %s", f.cmd, f.source(flagName), errText(err))
		}
		path = "(standard input)"
	case strings.HasPrefix(strings.TrimSpace(path), "-----BEGIN"):
		if f.cli[flagName] && f.c != nil {
			fmt.Fprintf(f.c.stderr, "snapauth: warning: a private key on the command line is visible to other users of this machine (ps); give --%s a FILE, - (stdin) or %s\n", flagName, envName(flagName))
		}
		data, path = []byte(path), "(inline PEM)"
	default:
		data, err = f.readFlagFile(flagName, strings.TrimPrefix(path, "@"))
		if err != nil {
			return nil, err
		}
	}
	return parseKeyFlag(f, flagName, path, data, snapauth.ParsePrivateKey)
}

// publicKey reads and parses the public key file named by a flag.
func (f *flagSet) publicKey(flagName, path string) (*rsa.PublicKey, error) {
	data, err := f.readFlagFile(flagName, path)
	if err != nil {
		return nil, err
	}
	return parseKeyFlag(f, flagName, path, data, snapauth.ParsePublicKey)
}

// parseKeyFlag parses with parse the key data read from path for a flag.
// The parsers never put key material in their errors.
func parseKeyFlag[K any](f *flagSet, flagName, path string, data []byte, parse func([]byte) (K, error)) (K, error) {
	key, err := parse(data)
	if err != nil {
		var none K
		return none, usageErrorf("%s: %s %q: %s", f.cmd, f.source(flagName), path, errText(err))
	}
	return key, nil
}

// body reads --data: inline JSON, or @file for a file's contents.
func (f *flagSet) body(flagName, data string) ([]byte, error) {
	if data == "" {
		return nil, nil
	}
	if path, ok := strings.CutPrefix(data, "@"); ok {
		return f.readFlagFile(flagName, path)
	}
	return []byte(data), nil
}

// providerNames lists the names --provider accepts.
func providerNames() string {
	return strings.Join(snapauth.ProviderNames(), ", ")
}

// provider looks up --provider.
func (f *flagSet) provider(name string) (snapauth.Provider, error) {
	if name == "" {
		return snapauth.Standard, nil
	}
	p, ok := snapauth.ProviderByName(name)
	if !ok {
		return snapauth.Provider{}, usageErrorf("%s: %s %q is not a known provider (known: %s)", f.cmd, f.source("provider"), name, providerNames())
	}
	return p, nil
}

// tokenFlags are the flags that describe how to get a token from a provider,
// shared by token and call.
type tokenFlags struct {
	tokenURL, clientKey, privateKey, provider string
	insecureHTTP                              bool
	timeout                                   time.Duration
	// partnerID, channelID and origin go on token requests where the
	// provider wants them (Provider.TokenHeaders); call sets them from its
	// own flags, token registers them (registerPartner).
	partnerID, channelID, origin string
}

// registerPartner adds the flags of the headers some providers want on
// token requests too.
func (t *tokenFlags) registerPartner(f *flagSet) {
	f.fs.StringVar(&t.partnerID, "partner-id", "", "the partner `ID`, sent as X-PARTNER-ID where the provider wants it on token calls")
	f.fs.StringVar(&t.channelID, "channel-id", "", "the channel `ID`, sent as CHANNEL-ID where the provider wants it on token calls")
	f.fs.StringVar(&t.origin, "origin", "", "the `ORIGIN` header, sent where the provider wants it on token calls")
}

func (t *tokenFlags) register(f *flagSet, what string) {
	f.fs.StringVar(&t.tokenURL, "token-url", "", "full `URL` of the provider's "+what+" endpoint")
	f.fs.StringVar(&t.clientKey, "client-key", "", "the partner's client `KEY`, sent as X-CLIENT-KEY")
	f.fs.StringVar(&t.privateKey, "private-key", "", "`FILE` holding the partner's RSA private key (PEM or base64 DER), or - for stdin")
	f.fs.StringVar(&t.provider, "provider", "", "the provider's deviations, by `NAME`: "+providerNames()+" (default standard)")
	f.fs.BoolVar(&t.insecureHTTP, "insecure-http", false, "allow a plain http token URL on a non-loopback host")
	f.fs.DurationVar(&t.timeout, "timeout", 30*time.Second, "give up after this long")
}

// tokenConfig is what B2BConfig and B2B2CConfig share, checked and loaded.
type tokenConfig struct {
	tokenURL, clientKey string
	key                 *rsa.PrivateKey
	provider            snapauth.Provider
	client              *http.Client
}

// load checks the token flags and reads the private key.
func (t *tokenFlags) load(f *flagSet) (*tokenConfig, error) {
	if err := f.require("token-url", t.tokenURL, "client-key", t.clientKey, "private-key", t.privateKey); err != nil {
		return nil, err
	}
	p, err := f.provider(t.provider)
	if err != nil {
		return nil, err
	}
	key, err := f.privateKey("private-key", t.privateKey)
	if err != nil {
		return nil, err
	}
	if t.timeout <= 0 {
		return nil, usageErrorf("%s: --timeout must be positive", f.cmd)
	}
	return &tokenConfig{
		tokenURL: t.tokenURL, clientKey: t.clientKey, key: key, provider: p,
		client: &http.Client{Timeout: t.timeout},
	}, nil
}

// b2b returns the B2B token config the flags describe.
func (t *tokenFlags) b2b(tc *tokenConfig) *snapauth.B2BConfig {
	return &snapauth.B2BConfig{
		TokenURL: tc.tokenURL, ClientKey: tc.clientKey, PrivateKey: tc.key, Provider: tc.provider,
		HTTPClient: tc.client, AllowInsecureHTTP: t.insecureHTTP, FetchTimeout: t.timeout,
		PartnerID: t.partnerID, ChannelID: t.channelID, Origin: t.origin,
	}
}

// b2b2c returns the B2B2C token config the flags describe.
func (t *tokenFlags) b2b2c(tc *tokenConfig) *snapauth.B2B2CConfig {
	return &snapauth.B2B2CConfig{
		TokenURL: tc.tokenURL, ClientKey: tc.clientKey, PrivateKey: tc.key, Provider: tc.provider,
		HTTPClient: tc.client, AllowInsecureHTTP: t.insecureHTTP, FetchTimeout: t.timeout,
		PartnerID: t.partnerID, ChannelID: t.channelID, Origin: t.origin,
	}
}

// withTimeout bounds ctx by --timeout.
func (t *tokenFlags) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, t.timeout)
}

// providerError turns a provider's refusal into the command's error: exit
// status 2 with the SNAP code explained for the flow; other errors exit 1.
// A provider that did not answer within --timeout is said to be so.
func (t *tokenFlags) providerError(cmd, doing string, fl flow, err error) error {
	var apiErr *snapauth.Error
	if errors.As(err, &apiErr) {
		return &exitError{code: 2, msg: fmt.Sprintf("%s: %s: the provider refused: %s", cmd, doing, explainError(apiErr, fl))}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return failf("%s: %s: no answer from the provider within %s (--timeout); it may be down, or slow: raise --timeout", cmd, doing, t.timeout)
	}
	return failf("%s: %s: %s", cmd, doing, errText(err))
}
