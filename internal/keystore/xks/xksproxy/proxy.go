package xksproxy

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/trentkms/trent/internal/keystore/xks"
	"github.com/trentkms/trent/internal/sigv4"
)

// Config is what KMS's CreateCustomKeyStore would be given for this proxy.
type Config struct {
	URIPath     string           // XksProxyUriPath served, ending in "/kms/xks/v1"
	Region      string           // the only SigV4 region accepted
	Credentials []xks.Credential // accepted credentials; two during a rotation
}

// Options tunes a Proxy. The zero value is the default.
type Options struct {
	Now  func() time.Time // nil: time.Now
	Rand io.Reader        // IVs and generated keys; nil: crypto/rand
	Log  *slog.Logger     // one line per request, never plaintext; nil: none
}

// Usage is the set of operations a key allows.
type Usage uint8

const (
	UsageEncrypt Usage = 1 << iota
	UsageDecrypt
	// UsageSign marks a key usable only for something this proxy does not
	// implement, to exercise InvalidKeyUsageException.
	UsageSign
)

// Key describes a key to add.
type Key struct {
	Material []byte // 32 bytes; copied
	Usage    Usage
	Status   xks.KeyStatus // 0: xks.KeyEnabled
	// Metadata is returned as ciphertextMetadata by every Encrypt (at most
	// 20 bytes), e.g. a key version; nil: none.
	Metadata []byte
}

type key struct {
	gcm12, gcm16 cipher.AEAD // nonce sizes 12 and 16
	usage        Usage
	status       xks.KeyStatus
	metadata     []byte
}

// Proxy serves the XKS proxy API. It implements http.Handler.
type Proxy struct {
	path   string
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger
	verify *sigv4.Verifier
	health *key // test key for the deep health check

	mu     sync.RWMutex
	keys   map[string]*key
	creds  map[string]string // access key id -> secret
	ekm    xks.EKMHealth
	region string
}

const maxRequestSize = 64 << 10

// New returns a Proxy with no keys.
func New(c Config, o Options) (*Proxy, error) {
	// Reuse the client's checks: a path or credential the client would
	// refuse is one KMS would refuse.
	if _, err := xks.New(xks.Config{Endpoint: "http://localhost", URIPath: c.URIPath, Region: c.Region, Credential: firstOr(c.Credentials)}); err != nil {
		return nil, fmt.Errorf("xksproxy: %w", err)
	}
	p := &Proxy{
		path:   c.URIPath,
		now:    o.Now,
		rand:   o.Rand,
		log:    o.Log,
		keys:   make(map[string]*key),
		ekm:    xks.EKMActive,
		region: c.Region,
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.rand == nil {
		p.rand = rand.Reader
	}
	if err := p.SetCredentials(c.Credentials); err != nil {
		return nil, err
	}
	var m [32]byte
	defer clear(m[:])
	if _, err := io.ReadFull(p.rand, m[:]); err != nil {
		return nil, fmt.Errorf("xksproxy: generate health check key: %w", err)
	}
	hk, err := newKey(Key{Material: m[:], Usage: UsageEncrypt | UsageDecrypt})
	if err != nil {
		return nil, err
	}
	p.health = hk
	p.verify = sigv4.NewVerifier(lookup{p}, sigv4.Options{
		Now:     p.now,
		MaxSkew: xks.MaxSkew,
		Scope: func(region, service string) error {
			if service != xks.Service {
				return sigv4.ServiceScopeError(xks.Service)
			}
			if region != c.Region {
				return sigv4.RegionScopeError()
			}
			return nil
		},
	})
	return p, nil
}

func firstOr(cs []xks.Credential) xks.Credential {
	if len(cs) == 0 {
		return xks.Credential{}
	}
	return cs[0]
}

// SetCredentials replaces the accepted credentials (at least one), e.g. to
// add the new credential of a rotation and later drop the old one. Requests
// in flight may still be checked against the old set.
func (p *Proxy) SetCredentials(cs []xks.Credential) error {
	if len(cs) == 0 {
		return errors.New("xksproxy: no credentials")
	}
	m := make(map[string]string, len(cs))
	for _, c := range cs {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("xksproxy: %w", err)
		}
		if _, dup := m[c.AccessKeyID]; dup {
			return fmt.Errorf("xksproxy: access key id %s given twice", c.AccessKeyID)
		}
		m[c.AccessKeyID] = c.Secret
	}
	p.mu.Lock()
	p.creds = m
	p.mu.Unlock()
	return nil
}

type lookup struct{ p *Proxy }

func (l lookup) Secret(_ context.Context, id string) (sigv4.Credentials, error) {
	l.p.mu.RLock()
	s, ok := l.p.creds[id]
	l.p.mu.RUnlock()
	if !ok {
		return sigv4.Credentials{}, sigv4.ErrUnknownAccessKey
	}
	return sigv4.Credentials{Secret: s}, nil
}

func newKey(k Key) (*key, error) {
	if len(k.Material) != 32 {
		return nil, errors.New("xksproxy: key material must be 32 bytes (AES-256)")
	}
	if len(k.Metadata) > xks.MaxCiphertextMetadataSize {
		return nil, fmt.Errorf("xksproxy: ciphertext metadata longer than %d bytes", xks.MaxCiphertextMetadataSize)
	}
	st := k.Status
	if st == 0 {
		st = xks.KeyEnabled
	}
	if st != xks.KeyEnabled && st != xks.KeyDisabled {
		return nil, errors.New("xksproxy: invalid key status")
	}
	b, err := aes.NewCipher(k.Material)
	if err != nil {
		return nil, fmt.Errorf("xksproxy: %w", err)
	}
	g12, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("xksproxy: %w", err)
	}
	g16, err := cipher.NewGCMWithNonceSize(b, 16)
	if err != nil {
		return nil, fmt.Errorf("xksproxy: %w", err)
	}
	return &key{gcm12: g12, gcm16: g16, usage: k.Usage, status: st, metadata: append([]byte(nil), k.Metadata...)}, nil
}

// AddKey adds the key id. The material is copied into the AES key schedule;
// the caller may clear k.Material afterwards.
func (p *Proxy) AddKey(id string, k Key) error {
	if !xks.ValidKeyID(id) {
		return fmt.Errorf("xksproxy: invalid key id %q", id)
	}
	nk, err := newKey(k)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.keys[id]; ok {
		return fmt.Errorf("xksproxy: key %s exists", id)
	}
	p.keys[id] = nk
	return nil
}

// GenerateKey adds the enabled key id with random material.
func (p *Proxy) GenerateKey(id string, u Usage) error {
	var m [32]byte
	defer clear(m[:])
	if _, err := io.ReadFull(p.rand, m[:]); err != nil {
		return fmt.Errorf("xksproxy: generate key %s: %w", id, err)
	}
	return p.AddKey(id, Key{Material: m[:], Usage: u})
}

// SetStatus enables or disables the key id, as a key manager's own API
// would; KMS cannot.
func (p *Proxy) SetStatus(id string, s xks.KeyStatus) error {
	if s != xks.KeyEnabled && s != xks.KeyDisabled {
		return errors.New("xksproxy: invalid key status")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.keys[id]
	if !ok {
		return fmt.Errorf("xksproxy: no key %s", id)
	}
	k.status = s
	return nil
}

// DeleteKey removes the key id; what it encrypted can no longer be
// decrypted.
func (p *Proxy) DeleteKey(id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.keys[id]; !ok {
		return fmt.Errorf("xksproxy: no key %s", id)
	}
	delete(p.keys, id)
	return nil
}

// SetEKMHealth sets the healthStatus GetHealthStatus reports for the
// in-memory key manager (xks.EKMActive by default), to exercise degraded
// and unavailable proxies. With xks.EKMUnavailable, Encrypt, Decrypt and
// GetKeyMetadata fail with InternalException.
func (p *Proxy) SetEKMHealth(h xks.EKMHealth) {
	p.mu.Lock()
	p.ekm = h
	p.mu.Unlock()
}
