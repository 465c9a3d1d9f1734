package main

import (
	"context"

	"golang.org/x/oauth2"

	"github.com/snapauth/snapauth"
)

// storeFlags are --store and --key: a snapauth.FileStore holding the B2B
// token (a cache) and customer tokens by key, as an application keeps them.
type storeFlags struct {
	dir, key string
}

func (s *storeFlags) register(f *flagSet, keyUsage string) {
	f.fs.StringVar(&s.dir, "store", "", "a `DIR` of token files (snapauth.FileStore, mode 0600): caches the B2B token, keeps customer tokens under --key")
	f.fs.StringVar(&s.key, "key", "", keyUsage)
}

// open returns the store, nil without --store; --key needs --store.
func (s *storeFlags) open(f *flagSet) (*snapauth.FileStore, error) {
	if s.dir == "" {
		if s.key != "" {
			return nil, usageErrorf("%s: --key names a customer token in a store: give --store DIR too", f.cmd)
		}
		return nil, nil
	}
	st, err := snapauth.NewFileStore(s.dir)
	if err != nil {
		return nil, usageErrorf("%s: %s %q: %s", f.cmd, f.source("store"), s.dir, errText(err))
	}
	return st, nil
}

// b2bKey is the store key of the cached B2B token of a client.
func b2bKey(clientKey string) string { return "b2b:" + clientKey }

// b2bSource returns the source of B2B tokens: cached in the store when
// there is one, else fetched once.
func b2bSource(ctx context.Context, cfg *snapauth.B2BConfig, st *snapauth.FileStore) oauth2.TokenSource {
	if st == nil {
		return cfg.TokenSource(ctx)
	}
	return cfg.StoredTokenSource(ctx, st, b2bKey(cfg.ClientKey))
}

// saveFailed is the error of a token obtained but not saved: exit status 1,
// and the advice to keep the token printed above, the only copy.
func saveFailed(cmd string, st *snapauth.FileStore, key string, err error) error {
	return failf("%s: the token could not be saved in %s under %q: %s; the token printed above is the only copy (a customer's refresh token: the one sent is spent): save it by hand",
		cmd, st.Dir(), key, errText(err))
}
