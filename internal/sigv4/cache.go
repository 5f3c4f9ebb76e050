package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"sync"
)

// defaultCacheSize bounds the signing-key cache. A key is valid for one day,
// region and service, so one entry per active access key a day suffices.
const defaultCacheSize = 4096

type cacheKey struct{ accessKeyID, date, region, service string }

// cacheEntry remembers the secret the key was derived from, so that a key
// derived from an old secret is never used after the secret changes.
type cacheEntry struct {
	secret string
	key    [32]byte
}

// keyCache holds derived signing keys. It is safe for concurrent use.
type keyCache struct {
	mu  sync.RWMutex
	max int
	m   map[cacheKey]*cacheEntry
}

// signingKey returns the SigV4 signing key for secret and the scope,
// deriving and caching it on a miss.
func (c *keyCache) signingKey(cr *credential, secret string) [32]byte {
	k := cacheKey{cr.accessKeyID, cr.date, cr.region, cr.service}
	c.mu.RLock()
	e := c.m[k]
	c.mu.RUnlock()
	if e != nil && equalStrings(e.secret, secret) {
		return e.key
	}
	e = &cacheEntry{secret: strings.Clone(secret), key: deriveKey(secret, cr.date, cr.region, cr.service)}
	// The key strings are substrings of the Authorization header: clone them
	// so the cache does not pin request memory.
	k = cacheKey{strings.Clone(k.accessKeyID), strings.Clone(k.date), strings.Clone(k.region), strings.Clone(k.service)}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[cacheKey]*cacheEntry)
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for old := range c.m { // evict an arbitrary entry
			delete(c.m, old)
			break
		}
	}
	c.m[k] = e
	c.mu.Unlock()
	return e.key
}

// deriveKey computes kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date),
// region), service), "aws4_request").
func deriveKey(secret, date, region, service string) [32]byte {
	k := []byte("AWS4" + secret)
	for _, s := range [...]string{date, region, service, terminator} {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(s))
		clear(k)
		k = m.Sum(nil)
	}
	var out [32]byte
	copy(out[:], k)
	clear(k)
	return out
}

// equalStrings compares a and b in time that depends only on their lengths.
func equalStrings(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}

// hmacSHA256 computes HMAC-SHA256 (RFC 2104) with a 32-byte key over msg,
// where msg starts at buf[64:] and buf[:64] is scratch for the inner pad.
// Writing the pads by hand into one buffer avoids the allocations of
// crypto/hmac on the hot path.
func hmacSHA256(key *[32]byte, buf []byte) [32]byte {
	var pad [64 + 32]byte
	for i := range 64 {
		var k byte
		if i < 32 {
			k = key[i]
		}
		buf[i] = k ^ 0x36
		pad[i] = k ^ 0x5c
	}
	inner := sha256.Sum256(buf)
	copy(pad[64:], inner[:])
	return sha256.Sum256(pad[:])
}
