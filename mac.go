package snapauth

import (
	"crypto/hmac"
	"crypto/sha512"
	"hash"
	"sync"
	"sync/atomic"
)

// HMAC-SHA512 states keyed once per client secret and reused: hmac.New
// hashes the key into its inner and outer pads on every call (two SHA-512
// blocks, about 800 bytes and six allocations), while a keyed state that is
// Reset restores those pads from a copy. The states are pooled per secret,
// so concurrent signers never share one.

// macState is one keyed HMAC-SHA512 with a reusable message buffer.
type macState struct {
	h   hash.Hash
	msg []byte // the message to MAC, built in place by the caller
	sum [sha512.Size]byte
}

// mac returns the HMAC of s.msg, in s.sum.
func (s *macState) mac() []byte {
	s.h.Reset()
	s.h.Write(s.msg)
	return s.h.Sum(s.sum[:0])
}

// keyedMACs maps a client secret to a *sync.Pool of *macState keyed with
// it. It holds at most maxKeyedSecrets secrets, and is emptied when one more
// comes: a process talking with more partners than that signs correctly, at
// hmac.New's cost for the ones that churn.
var keyedMACs struct {
	m sync.Map
	n atomic.Int32
}

const maxKeyedSecrets = 64

// maxPooledMsg is the largest message buffer kept in a pooled state.
const maxPooledMsg = 16 << 10

func getMAC(secret string) (*sync.Pool, *macState) {
	if p, ok := keyedMACs.m.Load(secret); ok {
		pool := p.(*sync.Pool)
		return pool, pool.Get().(*macState)
	}
	if keyedMACs.n.Add(1) > maxKeyedSecrets {
		keyedMACs.m.Clear()
		keyedMACs.n.Store(1)
	}
	key := []byte(secret)
	p, _ := keyedMACs.m.LoadOrStore(secret, &sync.Pool{New: func() any {
		return &macState{h: hmac.New(sha512.New, key)}
	}})
	pool := p.(*sync.Pool)
	return pool, pool.Get().(*macState)
}

func putMAC(pool *sync.Pool, s *macState) {
	if cap(s.msg) > maxPooledMsg {
		s.msg = nil
	}
	pool.Put(s)
}

// hmacSHA512 returns the HMAC-SHA512 of msg keyed with secret.
func hmacSHA512(secret, msg string) []byte {
	pool, s := getMAC(secret)
	s.msg = append(s.msg[:0], msg...)
	out := append([]byte(nil), s.mac()...)
	putMAC(pool, s)
	return out
}
