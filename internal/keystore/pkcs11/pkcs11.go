package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	p11 "github.com/miekg/pkcs11"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/keystore"
)

// Config names one token as a CloudHSM cluster.
type Config struct {
	ClusterID string // what CreateCustomKeyStore's CloudHsmClusterId names
	Module    string // path of the PKCS#11 module (.so)
	Token     string // the token's label
}

// Options are the optional settings of Clusters.
type Options struct {
	// MaxSessions bounds the sessions open on one token. 0: 8.
	MaxSessions int
}

// Clusters is a set of PKCS#11 tokens by cluster id.
type Clusters struct {
	maxSessions int
	cfg         map[string]Config

	mu   sync.Mutex
	mods map[string]*p11.Ctx // by module path: a module is initialised once per process
	open map[string]bool     // cluster ids with an open Token
}

var _ keystore.Clusters = (*Clusters)(nil)

// New loads and initialises the modules of cfgs. Close unloads them.
func New(cfgs []Config, o Options) (*Clusters, error) {
	c := &Clusters{maxSessions: o.MaxSessions, cfg: map[string]Config{}, mods: map[string]*p11.Ctx{}, open: map[string]bool{}}
	if c.maxSessions <= 0 {
		c.maxSessions = 8
	}
	for _, cf := range cfgs {
		if _, dup := c.cfg[cf.ClusterID]; dup {
			c.Close()
			return nil, fmt.Errorf("pkcs11: cluster %s is configured twice", cf.ClusterID)
		}
		c.cfg[cf.ClusterID] = cf
		if c.mods[cf.Module] != nil {
			continue
		}
		m := p11.New(cf.Module)
		if m == nil {
			c.Close()
			return nil, fmt.Errorf("pkcs11: cannot load module %s", cf.Module)
		}
		if err := m.Initialize(); err != nil {
			m.Destroy()
			c.Close()
			return nil, fmt.Errorf("pkcs11: initialise %s: %w", cf.Module, err)
		}
		c.mods[cf.Module] = m
	}
	return c, nil
}

// Close finalises and unloads every module; open tokens stop working.
func (c *Clusters) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for path, m := range c.mods {
		if err := m.Finalize(); err != nil {
			errs = append(errs, fmt.Errorf("pkcs11: finalise %s: %w", path, err))
		}
		m.Destroy()
		delete(c.mods, path)
	}
	return errors.Join(errs...)
}

// Has reports whether a cluster id is configured.
func (c *Clusters) Has(clusterID string) bool {
	_, ok := c.cfg[clusterID]
	return ok
}

// Open logs in to a cluster's token as its user.
func (c *Clusters) Open(ctx context.Context, clusterID, password string) (keystore.Token, error) {
	cf, ok := c.cfg[clusterID]
	if !ok {
		return nil, keystore.ErrClusterNotFound
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.mods[cf.Module]
	if m == nil {
		return nil, errors.New("pkcs11: clusters are closed")
	}
	if c.open[clusterID] {
		return nil, keystore.ErrLoggedIn
	}
	slot, err := findSlot(m, cf.Token)
	if err != nil {
		return nil, err
	}
	s, err := m.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: open session on %s: %w", cf.Token, err)
	}
	if err := m.Login(s, p11.CKU_USER, password); err != nil {
		m.CloseSession(s)
		return nil, loginError(err)
	}
	t := &token{c: c, clusterID: clusterID, m: m, slot: slot, anchor: s,
		idle: make(chan p11.SessionHandle, c.maxSessions), sem: make(chan struct{}, c.maxSessions), handles: map[string]p11.ObjectHandle{}}
	c.open[clusterID] = true
	return t, nil
}

func findSlot(m *p11.Ctx, label string) (uint, error) {
	slots, err := m.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("pkcs11: slots: %w", err)
	}
	for _, s := range slots {
		ti, err := m.GetTokenInfo(s)
		if err == nil && ti.Label == label {
			return s, nil
		}
	}
	return 0, keystore.ErrClusterNotFound
}

func loginError(err error) error {
	var e p11.Error
	if errors.As(err, &e) {
		switch e {
		case p11.CKR_PIN_INCORRECT, p11.CKR_PIN_INVALID, p11.CKR_PIN_LEN_RANGE:
			return keystore.ErrInvalidCredentials
		case p11.CKR_PIN_LOCKED:
			return keystore.ErrLockedOut
		case p11.CKR_USER_PIN_NOT_INITIALIZED:
			return keystore.ErrUserNotFound
		case p11.CKR_USER_ALREADY_LOGGED_IN, p11.CKR_USER_ANOTHER_ALREADY_LOGGED_IN:
			return keystore.ErrLoggedIn
		}
	}
	return fmt.Errorf("pkcs11: login: %w", err)
}

// token is one login to a token, with its pool of sessions.
type token struct {
	c         *Clusters
	clusterID string
	m         *p11.Ctx
	slot      uint
	closed    atomic.Bool
	// anchor is the session that logged in. It does no work and stays open
	// until Close: closing a token's last session logs the user out and, in
	// SoftHSM2, invalidates the object handles, so the pool must never be
	// able to close the last one.
	anchor p11.SessionHandle

	idle chan p11.SessionHandle // sessions not in use
	sem  chan struct{}          // one element per open session

	mu      sync.RWMutex
	handles map[string]p11.ObjectHandle // label → object; valid while logged in
}

var errClosed = errors.New("pkcs11: token is closed")

// session takes an idle session or opens one, waiting when all are busy.
func (t *token) session() (p11.SessionHandle, error) {
	if t.closed.Load() {
		return 0, errClosed
	}
	select {
	case s := <-t.idle:
		return s, nil
	default:
	}
	select {
	case s := <-t.idle:
		return s, nil
	case t.sem <- struct{}{}:
		// The login covers every session of the token in this process.
		s, err := t.m.OpenSession(t.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
		if err != nil {
			<-t.sem
			return 0, fmt.Errorf("pkcs11: open session: %w", err)
		}
		return s, nil
	}
}

// put returns a healthy session to the pool.
func (t *token) put(s p11.SessionHandle) { t.idle <- s }

// discard closes a session that failed mid-operation, which may have left an
// operation active on it.
func (t *token) discard(s p11.SessionHandle) {
	t.m.CloseSession(s)
	<-t.sem
}

// do runs f on a pooled session.
func (t *token) do(f func(s p11.SessionHandle) error) error {
	s, err := t.session()
	if err != nil {
		return err
	}
	if err := f(s); err != nil {
		t.discard(s)
		return err
	}
	t.put(s)
	return nil
}

func (t *token) GenerateKey(_ context.Context, label string) error {
	tmpl := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_AES),
		p11.NewAttribute(p11.CKA_VALUE_LEN, keys.SymmetricKeySize),
		p11.NewAttribute(p11.CKA_LABEL, label),
		p11.NewAttribute(p11.CKA_TOKEN, true),
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
		p11.NewAttribute(p11.CKA_ENCRYPT, true),
		p11.NewAttribute(p11.CKA_DECRYPT, true),
		p11.NewAttribute(p11.CKA_WRAP, false),
		p11.NewAttribute(p11.CKA_UNWRAP, false),
	}
	return t.do(func(s p11.SessionHandle) error {
		h, err := t.m.GenerateKey(s, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_KEY_GEN, nil)}, tmpl)
		if err != nil {
			return fmt.Errorf("pkcs11: generate key %s: %w", label, err)
		}
		t.mu.Lock()
		t.handles[label] = h
		t.mu.Unlock()
		return nil
	})
}

// errNoKey is returned when the token has no key of a label: it was deleted
// from the HSM, or the store names another token.
var errNoKey = errors.New("pkcs11: no key with this label in the token")

func (t *token) handle(s p11.SessionHandle, label string) (p11.ObjectHandle, error) {
	t.mu.RLock()
	h, ok := t.handles[label]
	t.mu.RUnlock()
	if ok {
		return h, nil
	}
	if err := t.m.FindObjectsInit(s, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_LABEL, label),
	}); err != nil {
		return 0, fmt.Errorf("pkcs11: find %s: %w", label, err)
	}
	hs, _, err := t.m.FindObjects(s, 2)
	if ferr := t.m.FindObjectsFinal(s); err == nil {
		err = ferr
	}
	if err != nil {
		return 0, fmt.Errorf("pkcs11: find %s: %w", label, err)
	}
	if len(hs) != 1 {
		return 0, fmt.Errorf("%w: %s (%d found)", errNoKey, label, len(hs))
	}
	t.mu.Lock()
	t.handles[label] = hs[0]
	t.mu.Unlock()
	return hs[0], nil
}

const tagBits = 128

func (t *token) Seal(label string, nonce, plaintext, ad []byte) ([]byte, error) {
	var out []byte
	err := t.do(func(s p11.SessionHandle) error {
		h, err := t.handle(s, label)
		if err != nil {
			return err
		}
		gp := p11.NewGCMParams(nonce, ad, tagBits)
		defer gp.Free()
		if err := t.m.EncryptInit(s, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_GCM, gp)}, h); err != nil {
			return fmt.Errorf("pkcs11: encrypt: %w", err)
		}
		if out, err = t.m.Encrypt(s, plaintext); err != nil {
			return fmt.Errorf("pkcs11: encrypt: %w", err)
		}
		return nil
	})
	return out, err
}

func (t *token) Open(label string, nonce, ciphertext, ad []byte) ([]byte, error) {
	var out []byte
	err := t.do(func(s p11.SessionHandle) error {
		h, err := t.handle(s, label)
		if err != nil {
			return err
		}
		gp := p11.NewGCMParams(nonce, ad, tagBits)
		defer gp.Free()
		if err := t.m.DecryptInit(s, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_GCM, gp)}, h); err != nil {
			return fmt.Errorf("pkcs11: decrypt: %w", err)
		}
		if out, err = t.m.Decrypt(s, ciphertext); err != nil {
			return decryptError{err}
		}
		return nil
	})
	var de decryptError
	if errors.As(err, &de) {
		var e p11.Error
		// PKCS#11 says a tag that does not verify is CKR_ENCRYPTED_DATA_INVALID;
		// SoftHSM2 answers CKR_GENERAL_ERROR. After a DecryptInit that
		// succeeded, both mean the ciphertext (or its associated data) is wrong.
		if errors.As(de.err, &e) && (e == p11.CKR_ENCRYPTED_DATA_INVALID || e == p11.CKR_ENCRYPTED_DATA_LEN_RANGE || e == p11.CKR_GENERAL_ERROR) {
			return nil, keys.ErrCiphertext
		}
		err = de.err
	}
	if err != nil {
		return nil, fmt.Errorf("pkcs11: decrypt: %w", err)
	}
	return out, nil
}

// decryptError is a failure of C_Decrypt itself, as opposed to finding the key
// or starting the operation.
type decryptError struct{ err error }

func (e decryptError) Error() string { return e.err.Error() }

func (t *token) Random(_ context.Context, n int) ([]byte, error) {
	var out []byte
	err := t.do(func(s p11.SessionHandle) error {
		var err error
		out, err = t.m.GenerateRandom(s, n)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: random: %w", err)
	}
	return out, nil
}

// Close logs out by closing every session of the token (PKCS#11: closing the
// last session logs the user out) and lets the cluster be opened again.
func (t *token) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	delete(t.c.open, t.clusterID)
	if t.c.mods[t.c.cfg[t.clusterID].Module] == nil {
		return nil // the module is finalised already
	}
	if err := t.m.CloseAllSessions(t.slot); err != nil {
		return fmt.Errorf("pkcs11: close sessions: %w", err)
	}
	return nil
}
