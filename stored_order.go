package snapauth

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// The extras a stored source keeps with each token it saves (they are in
// StoredExtras, so every TokenStore keeps them):
const (
	// SequenceExtra orders the tokens of one key by when they were obtained:
	// a decimal number, bumped by one (under the store's lock) for each new
	// token, starting from the milliseconds of the Unix time times 10^6 when
	// the token it replaces had none (one saved by hand, such as the result
	// of Exchange after the customer linked the account again), so that a
	// relinked chain sorts after the one it replaces.
	SequenceExtra = "snapauth.sequence"
	// RefreshingExtra marks a token whose refresh token a replica is about
	// to send, or has sent without saving the answer yet: "<replica> <RFC
	// 3339 time>". No other replica sends that refresh token again.
	RefreshingExtra = "snapauth.refreshing"
)

// sequence returns t's SequenceExtra, 0 when it has none.
func sequence(t *oauth2.Token) int64 {
	if t == nil {
		return 0
	}
	var n int64
	var err error
	switch v := t.Extra(SequenceExtra).(type) {
	case string:
		n, err = strconv.ParseInt(v, 10, 64)
	case json.Number:
		n, err = v.Int64()
	case int64:
		n = v
	default:
		return 0
	}
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// chainStart is the sequence given to a token that has none when it is
// about to be replaced.
func chainStart(now time.Time) int64 { return now.UnixMilli() * 1_000_000 }

// withOrder returns a copy of t with the extras of StoredExtras it holds,
// SequenceExtra set to seq and RefreshingExtra set to marker ("" for none).
func withOrder(t *oauth2.Token, seq int64, marker string) *oauth2.Token {
	extra := make(map[string]any, len(storedExtras))
	for _, name := range storedExtras {
		if v := t.Extra(name); v != nil {
			extra[name] = v
		}
	}
	if v := t.Extra(authCodeExtra); v != nil {
		extra[authCodeExtra] = v // the binding's code, for providers that resend it (TokenAuthCode)
	}
	extra[SequenceExtra] = strconv.FormatInt(seq, 10)
	delete(extra, RefreshingExtra)
	if marker != "" {
		extra[RefreshingExtra] = marker
	}
	cp := *t
	return cp.WithExtra(extra)
}

// newest returns whichever of a (the store's copy) and b (the newest token
// this process holds) was obtained last, by SequenceExtra: a token saved
// without one (by hand, by an older snapauth, or as a relinked customer's
// new token) is taken as the newest, so a store copy without a sequence
// wins; on a tie the store's copy wins, since it carries RefreshingExtra.
// Only when neither has a sequence does the later access-token expiry
// decide. The access-token expiry is not a safe order: a provider that
// shortens lifetimes issues newer tokens that expire sooner.
func newest(a, b *oauth2.Token) *oauth2.Token {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	sa, sb := sequence(a), sequence(b)
	switch {
	case sa == 0 && sb == 0:
		if b.Expiry.After(a.Expiry) {
			return b
		}
		return a
	case sa == 0 || sa >= sb:
		return a
	}
	return b
}

// newReplicaID names one stored source in RefreshingExtra markers.
func newReplicaID() string { return crand.Text()[:12] }

// refreshInFlightError says another replica sent (or is sending) the stored
// refresh token and has not saved the answer: sending it again would spend
// it twice. It matches ErrTemporary: the other replica saves the new token
// when its store works again (at the latest at its next refresh).
type refreshInFlightError struct {
	key   string
	since time.Time
}

func (e *refreshInFlightError) Error() string {
	return fmt.Sprintf("snapauth: token %q: another replica sent its refresh token at %s and has not saved the answer; not sending it again",
		e.key, e.since.Format(time.RFC3339))
}
func (e *refreshInFlightError) Is(target error) bool { return target == ErrTemporary }

// inFlight reports whether t is marked as being refreshed by a replica other
// than self, and since when. A marker older than twice the token's access
// lifetime (at least a minute) is taken as abandoned (its replica died
// between sending and saving): then the refresh token is sent once more and
// the provider decides, as after an answer lost on the network.
func inFlight(t *oauth2.Token, self string, now time.Time) (time.Time, bool) {
	m, _ := t.Extra(RefreshingExtra).(string)
	owner, at, ok := strings.Cut(m, " ")
	if !ok || owner == self {
		return time.Time{}, false
	}
	since, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return time.Time{}, true // unreadable: be safe
	}
	life := max(time.Duration(t.ExpiresIn)*time.Second, time.Minute)
	if now.Sub(since) > 2*life {
		return since, false
	}
	return since, true
}

func marker(self string, now time.Time) string {
	return self + " " + now.UTC().Format(time.RFC3339Nano)
}

// saveRetries is how often a rotated token's save is tried before the
// source gives up (then the store keeps the RefreshingExtra marker, and no
// other replica sends the spent refresh token).
const saveRetries = 5

// saveRotated saves a token whose refresh token just rotated, retrying a
// failed save with backoff (50 ms doubling, jittered) while ctx allows,
// holding the store's lock meanwhile.
func saveRotated(ctx context.Context, store TokenStore, key string, t *oauth2.Token) error {
	var err error
	for attempt := range saveRetries {
		if err = observedSave(ctx, store, key, t); err == nil {
			return nil
		}
		wait := 50*time.Millisecond<<attempt + rand.N(25*time.Millisecond)
		if dl, ok := ctx.Deadline(); attempt == saveRetries-1 || ok && time.Until(dl) < wait {
			return err
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
	}
	return err
}
