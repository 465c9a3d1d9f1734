package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"sync"
	"time"
)

// isTerminal reports whether w is a terminal (a character device), where
// the waiting feedback is shown; a pipe or a file is not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// progressTick is how often the waiting feedback is updated.
const progressTick = time.Second

// waiting shows, on a terminal only, how long the command has been waiting
// for host, updated every second on one line of stderr, until stop is
// called (which clears the line) or ctx ends.
func (c *cli) waiting(ctx context.Context, host string) (stop func()) {
	term := c.terminal
	if term == nil {
		term = isTerminal
	}
	if !term(c.stderr) {
		return func() {}
	}
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(progressTick)
		defer t.Stop()
		shown := false
		for {
			select {
			case <-t.C:
				shown = true
				fmt.Fprintf(c.stderr, "\rsnapauth: waiting for %s… %ds ", host, int(time.Since(start).Seconds()))
			case <-ctx.Done():
				// The timeout message follows on a line of its own.
				if shown {
					fmt.Fprint(c.stderr, "\n")
				}
				<-done
				return
			case <-done:
				if shown {
					fmt.Fprint(c.stderr, "\r\033[K") // clear the line
				}
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}

// hostOf names the host of a URL for the waiting feedback.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the provider"
	}
	return u.Host
}
