//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package snapauth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockFile takes an exclusive flock on path (created with mode 0600),
// polling every lockPoll until it is held or ctx ends. A symbolic link at
// path (dangling or not) is refused, never followed: following it would
// create or lock a file outside the store's directory.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK) { // EMLINK: FreeBSD's O_NOFOLLOW
		return nil, fmt.Errorf("snapauth: lock file %s is a symbolic link; refusing to follow it (remove it)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("snapauth: opening lock file: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("snapauth: lock file %s is not a regular file", path)
	}
	fd := int(f.Fd())
	var timer *time.Timer
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("snapauth: locking %s: %w", path, err)
		}
		if timer == nil {
			timer = time.NewTimer(lockPoll)
			defer timer.Stop()
		} else {
			timer.Reset(lockPoll)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("snapauth: waiting for a token lock: %w", ctx.Err())
		case <-timer.C:
		}
	}
	if fi, err := f.Stat(); err == nil {
		if at, err := os.Lstat(path); err != nil || !os.SameFile(fi, at) {
			// The holder before us removed the file (FileStore does for
			// keys without a token): a lock on it excludes no one.
			_ = syscall.Flock(fd, syscall.LOCK_UN)
			f.Close()
			return lockFile(ctx, path)
		}
	}
	return func() {
		// Closing the file releases the lock too; unlock first so that the
		// release does not depend on no other descriptor sharing it.
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		f.Close()
	}, nil
}
