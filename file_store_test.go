package snapauth_test

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/storetest"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

func TestNewFileStoreDirectory(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "a", "b", "tokens")
	s, err := snapauth.NewFileStore(dir)
	require.NoError(t, err)
	require.Equal(t, dir, s.Dir())
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	if runtime.GOOS != "windows" {
		require.Equal(t, fs.FileMode(0o700), fi.Mode().Perm(), "created directory mode")
	}

	// An existing 0700 directory is taken as is; a relative name is made absolute.
	t.Chdir(base)
	s, err = snapauth.NewFileStore(filepath.Join("a", "b", "tokens"))
	require.NoError(t, err)
	require.Equal(t, dir, s.Dir())

	_, err = snapauth.NewFileStore("")
	require.Error(t, err)

	file := filepath.Join(base, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err = snapauth.NewFileStore(file)
	require.ErrorContains(t, err, "not a directory")

	if runtime.GOOS == "windows" {
		return
	}
	for _, mode := range []fs.FileMode{0o755, 0o750, 0o701, 0o777} {
		open := filepath.Join(base, fmt.Sprintf("open-%o", mode))
		require.NoError(t, os.Mkdir(open, 0o700))
		require.NoError(t, os.Chmod(open, mode))
		_, err := snapauth.NewFileStore(open)
		require.ErrorContainsf(t, err, "chmod 700", "mode %o", mode)
		fi, err := os.Stat(open)
		require.NoError(t, err)
		require.Equal(t, mode, fi.Mode().Perm(), "NewFileStore changed the mode of a directory it did not create")
	}
}

// storeDirEntries lists the names in dir.
func storeDirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestFileStoreFiles(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	dir := filepath.Join(base, "tokens")
	s, err := snapauth.NewFileStore(dir)
	require.NoError(t, err)
	for _, key := range storetest.OddKeys {
		require.NoError(t, s.Save(ctx, key, storeSecretToken()))
	}
	require.Equal(t, []string{"tokens"}, storeDirEntries(t, base), "a key escaped the directory")

	names := storeDirEntries(t, dir)
	require.Len(t, names, len(storetest.OddKeys), "one file per key, no temporary file left")
	valid := regexp.MustCompile(`^(t-[a-z2-7]*|h-[0-9a-f]{64})\.json$`)
	for _, name := range names {
		require.Regexp(t, valid, name)
		require.LessOrEqual(t, len(name), 255-20, "room for the temporary file's suffix")
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		if runtime.GOOS != "windows" {
			require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm(), name)
		}
	}
	require.Equal(t, filepath.Join(dir, "t-nvsxey3imfxhi.json"), s.Path("merchant"))

	// A key's lock file sits beside its token file, mode 0600.
	require.NoError(t, s.Save(ctx, "merchant", storeSecretToken()))
	unlock, err := s.Lock(ctx, "merchant")
	require.NoError(t, err)
	unlock()
	fi, err := os.Stat(strings.TrimSuffix(s.Path("merchant"), ".json") + ".lock")
	require.NoError(t, err)
	if runtime.GOOS != "windows" {
		require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())
	}
}

func TestFileStoreNoTemporaryFilesLeft(t *testing.T) {
	ctx := context.Background()
	dir := storeTempDir(t)
	s, err := snapauth.NewFileStore(dir)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				key := fmt.Sprintf("k%d", i%3)
				if err := s.Save(ctx, key, &oauth2.Token{AccessToken: fmt.Sprintf("%d-%d", g, i)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	require.Error(t, s.Save(ctx, "k3", &oauth2.Token{}), "a token that cannot be encoded")
	require.ElementsMatch(t, []string{filepath.Base(s.Path("k0")), filepath.Base(s.Path("k1")), filepath.Base(s.Path("k2"))},
		storeDirEntries(t, dir))
}

func TestFileStoreSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "tokens")
	s1, err := snapauth.NewFileStore(dir)
	require.NoError(t, err)
	want := storeSecretToken()
	require.NoError(t, s1.Save(ctx, "customer-42", want))

	s2, err := snapauth.NewFileStore(dir)
	require.NoError(t, err)
	got, err := s2.Load(ctx, "customer-42")
	require.NoError(t, err)
	require.Equal(t, want.AccessToken, got.AccessToken)
	require.Equal(t, want.RefreshToken, got.RefreshToken)
	require.True(t, want.Expiry.Equal(got.Expiry))
	require.Equal(t, want.Extra("refreshTokenExpiryTime"), got.Extra("refreshTokenExpiryTime"))
	require.Equal(t, snapauth.RefreshTokenExpiry(want), snapauth.RefreshTokenExpiry(got))
}

func TestFileStoreCorruptFile(t *testing.T) {
	ctx := context.Background()
	s, err := snapauth.NewFileStore(storeTempDir(t))
	require.NoError(t, err)
	require.NoError(t, s.Save(ctx, "k", storeSecretToken()))
	good, err := os.ReadFile(s.Path("k"))
	require.NoError(t, err)
	for name, data := range map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)*2/3],
		"garbage":   []byte("SECRET-SECRET-SECRET"),
		"zeroes":    make([]byte, 512),
		"too large": []byte(`{"version":1,"access_token":"` + strings.Repeat("S", 2<<20) + `"}`),
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(s.Path("k"), data, 0o600))
			tok, err := s.Load(ctx, "k")
			require.Error(t, err)
			require.Nil(t, tok)
			require.NotErrorIs(t, err, snapauth.ErrNoToken, "a corrupt file is not an absent token")
			require.Contains(t, err.Error(), s.Path("k"), "the error names the file")
			storeRequireNoSecret(t, err.Error())
		})
	}
	// Saving over a corrupt file repairs it.
	require.NoError(t, s.Save(ctx, "k", storeSecretToken()))
	_, err = s.Load(ctx, "k")
	require.NoError(t, err)
}

func TestFileStoreLockAcrossInstances(t *testing.T) {
	ctx := context.Background()
	_, a, b := twoFileStores(t)
	unlock, err := a.Lock(ctx, "k")
	require.NoError(t, err)

	if runtime.GOOS == "windows" || runtime.GOOS == "solaris" || runtime.GOOS == "illumos" || runtime.GOOS == "aix" {
		unlock()
		t.Skip("no flock here: FileStore's lock covers one instance only")
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = b.Lock(short, "k")
	require.ErrorIs(t, err, context.DeadlineExceeded, "a second FileStore on the directory took a held lock")

	got := make(chan error, 1)
	go func() {
		u, err := b.Lock(ctx, "k")
		if err == nil {
			u()
		}
		got <- err
	}()
	unlock()
	select {
	case err := <-got:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the lock was not handed over after unlock")
	}
}

// TestFileStoreLockAcrossProcesses holds a key's lock in a child process:
// this process waits for it, and takes it as soon as the child is killed,
// since the kernel drops a dead process's flock.
func TestFileStoreLockAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("SNAPAUTH_STORE_LOCK_HELPER"); dir != "" {
		storeLockHelper(dir)
		return
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "solaris" || runtime.GOOS == "illumos" || runtime.GOOS == "aix" {
		t.Skip("no flock here")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := storeTempDir(t)
	s, err := snapauth.NewFileStore(dir)
	require.NoError(t, err)

	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFileStoreLockAcrossProcesses$")
	child.Env = append(os.Environ(), "SNAPAUTH_STORE_LOCK_HELPER="+dir)
	stdout, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)

	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	_, err = s.Lock(short, "shared")
	require.ErrorIs(t, err, context.DeadlineExceeded, "took a lock another process holds")

	require.NoError(t, child.Process.Kill()) // SIGKILL: no unlock runs
	start := time.Now()
	unlock, err := s.Lock(ctx, "shared")
	require.NoError(t, err)
	unlock()
	require.Less(t, time.Since(start), 5*time.Second)
}

// storeLockHelper runs in the child of TestFileStoreLockAcrossProcesses: it
// takes the lock, says so, and holds it until killed.
func storeLockHelper(dir string) {
	s, err := snapauth.NewFileStore(dir)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	if _, err := s.Lock(context.Background(), "shared"); err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute) // until killed; the parent kills it well before
	os.Exit(3)
}
