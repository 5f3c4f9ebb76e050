package seal

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/trentkms/trent/internal/store"
)

// Kind is a kind of seal: what keeps the root key wrapped.
type Kind uint8

const (
	File       Kind = iota + 1 // a key file in the data directory (development)
	Passphrase                 // a key derived with Argon2id from a passphrase
	PKCS11                     // a non-extractable AES key in a PKCS#11 token
	KMS                        // a key in another KMS that speaks the AWS KMS API
)

var kindNames = [...]string{File: "file", Passphrase: "passphrase", PKCS11: "pkcs11", KMS: "kms"}

func (k Kind) String() string {
	if k == 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", k)
	}
	return kindNames[k]
}

// ParseKind parses a seal kind's name.
func ParseKind(s string) (Kind, error) {
	for k, n := range kindNames {
		if n != "" && n == s {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("seal: unknown seal %q (want file, passphrase, pkcs11 or kms)", s)
}

// Wrapper is what a seal does: wrap the root key for the store, and unwrap
// it at start. Implementations live beside the things they talk to (this
// package for file and passphrase, seal/hsm for PKCS#11, seal/awskms for a
// KMS).
type Wrapper interface {
	Kind() Kind
	// Wrap encrypts key with associated data ad. params is what Unwrap needs
	// besides the ciphertext and is not secret (a salt and cost, a key label,
	// a key ARN); it is recorded in the store next to wrapped.
	Wrap(ctx context.Context, key, ad []byte) (params json.RawMessage, wrapped []byte, err error)
	// Unwrap reverses Wrap. When the seal answers but does not open the key
	// (another passphrase, another HSM key) the error wraps ErrWrongSeal.
	// The returned key is the caller's to clear.
	Unwrap(ctx context.Context, params json.RawMessage, wrapped, ad []byte) ([]byte, error)
	// Close forgets the seal's secrets (passphrase, PIN) and releases what it
	// holds (a PKCS#11 module).
	Close() error
}

var (
	// ErrWrongSeal is returned when the configured seal does not open the
	// store's root key: a wrong passphrase, another key file, HSM key or
	// KMS key.
	ErrWrongSeal = errors.New("seal: the configured seal does not open this store's root key")
	// ErrNotInitialized is returned by Unseal when the store has no root key
	// yet.
	ErrNotInitialized = errors.New("seal: the store has no root key yet")
	// ErrInitialized is returned by Initialize when the store has a root
	// key already, as when another node made it first: Unseal it instead.
	ErrInitialized = errors.New("seal: the store has a root key already")
	// ErrMismatch is returned when a root key unwraps but is not the one the
	// store's records are sealed with (the canary does not open).
	ErrMismatch = errors.New("seal: the root key is not the one this store's records are sealed with")
	// ErrLegacy is returned when the store was made by a Trent that kept the
	// root key itself in a file, and the configured seal is not that file.
	ErrLegacy = errors.New("seal: this store's records are sealed with the root key file of an older Trent")
)

// Store keys of the seal's records. Both live outside the prefixes the
// services follow, so no view ever loads them.
const (
	// RootKey holds the root key wrapped by the seal (rootRecord, JSON).
	RootKey = "seal/root"
	// CanaryKey holds a fixed text sealed under the root key: a root key that
	// unwraps but does not open it (a restore mixing two stores, an older
	// Trent's root.key) is refused before anything is served.
	CanaryKey = "seal/canary"
)

const (
	// rootFormat1 is a root key record of one root key, version 1, wrapped
	// by the seal: what Initialize writes, and what Trent wrote before the
	// root key could rotate.
	rootFormat1 = 1
	// rootFormat2 is a keyring (keyring.go): the newest version wrapped by
	// the seal, older ones sealed under it. The first rotation writes it.
	rootFormat2 = 2
	canaryText  = "trent"
	canaryAD    = "trent/seal/canary"
	rootKeySize = 32
)

// rootRecord is the value at RootKey.
type rootRecord struct {
	Format  int             `json:"format"`
	Seal    string          `json:"seal"`
	Params  json.RawMessage `json:"params,omitempty"`
	Wrapped []byte          `json:"wrapped"` // the newest version, wrapped by the seal
	Created time.Time       `json:"created"` // when the newest version was made

	// Format 2 only. Version is the newest version's number (format 1:
	// always 1).
	Version uint32 `json:"version,omitempty"`
	// Older are the older versions still in the keyring, each sealed under
	// the newest (olderAD): a node unwraps one key with the seal, however
	// many versions there are, and trent seal migrate rewraps one key.
	Older []olderVersion `json:"older,omitempty"`
	// Link is the newest version sealed under the version that was newest
	// before it (linkAD): how running nodes, which no longer have the seal's
	// secrets, learn it. It goes when that version is retired, so no
	// retired root key opens a newer one.
	Link []byte `json:"link,omitempty"`
}

// olderVersion is a version of the root key that the newest superseded.
type olderVersion struct {
	Version    uint32    `json:"version"`
	Sealed     []byte    `json:"sealed"`
	Created    time.Time `json:"created"`
	Superseded time.Time `json:"superseded"` // when it stopped sealing
}

// rootAD binds a wrapped root key to the record format and the seal kind, so
// a wrapped key cannot be presented as another seal's.
func rootAD(k Kind) []byte { return []byte(fmt.Sprintf("trent/seal/root|%d|%s", rootFormat1, k)) }

// wrapAD is the associated data of the newest version wrapped by a seal:
// version 1 keeps format 1's, later versions are bound to their number.
func wrapAD(k Kind, v uint32) []byte {
	if v == 1 {
		return rootAD(k)
	}
	return []byte(fmt.Sprintf("trent/seal/root|%d|%s|%d", rootFormat2, k, v))
}

func olderAD(v uint32) []byte { return []byte(fmt.Sprintf("trent/seal/root/older|%d", v)) }
func linkAD(v uint32) []byte  { return []byte(fmt.Sprintf("trent/seal/root/link|%d", v)) }

// Status is what the store says about its root key, without unwrapping it.
type Status struct {
	Initialized bool
	Seal        Kind // the kind that wraps it, when Initialized
	Legacy      bool // an older Trent's store: records sealed with root.key itself
}

// ReadStatus reads the store's root key record.
func ReadStatus(ctx context.Context, st store.Store) (Status, error) {
	status, canary, err := readStatus(ctx, st)
	if err != nil || !canary {
		return status, err
	}
	// A canary without a root key record is an older Trent's store, or a
	// first node's transaction (root key record and canary together) that
	// committed between the two reads: read the root key record again,
	// after the canary, so a node starting beside the first one is not
	// told the store is an older Trent's.
	if status, canary, err = readStatus(ctx, st); err != nil || !canary {
		return status, err
	}
	return Status{Legacy: true}, nil
}

// readStatus reads the root key record, then, without one, whether the
// store has a canary (canary true, status zero).
func readStatus(ctx context.Context, st store.Store) (status Status, canary bool, err error) {
	rec, _, err := readRoot(ctx, st)
	switch {
	case err == nil:
		k, err := ParseKind(rec.Seal)
		if err != nil {
			return Status{}, false, fmt.Errorf("seal: the store's root key record names %w", err)
		}
		return Status{Initialized: true, Seal: k}, false, nil
	case !errors.Is(err, ErrNotInitialized):
		return Status{}, false, err
	}
	_, err = st.Get(ctx, CanaryKey)
	switch {
	case err == nil:
		return Status{}, true, nil
	case errors.Is(err, store.ErrNotFound):
		return Status{}, false, nil
	}
	return Status{}, false, fmt.Errorf("seal: read %s: %w", CanaryKey, err)
}

func readRoot(ctx context.Context, st store.Store) (rootRecord, int64, error) {
	kv, err := st.Get(ctx, RootKey)
	if errors.Is(err, store.ErrNotFound) {
		return rootRecord{}, 0, ErrNotInitialized
	}
	if err != nil {
		return rootRecord{}, 0, fmt.Errorf("seal: read %s: %w", RootKey, err)
	}
	rec, err := parseRoot(kv.Value)
	return rec, kv.ModRev, err
}

func parseRoot(b []byte) (rootRecord, error) {
	var rec rootRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return rootRecord{}, fmt.Errorf("seal: %s is not a root key record: %w", RootKey, err)
	}
	switch rec.Format {
	case rootFormat1:
		if rec.Version != 0 || rec.Older != nil || rec.Link != nil {
			return rootRecord{}, fmt.Errorf("seal: %s is malformed", RootKey)
		}
		rec.Version = 1
	case rootFormat2:
		if rec.Version < 2 || rec.Version > maxVersion {
			return rootRecord{}, fmt.Errorf("seal: %s names root key version %d", RootKey, rec.Version)
		}
		for i, o := range rec.Older {
			if o.Version == 0 || o.Version >= rec.Version || (i > 0 && o.Version <= rec.Older[i-1].Version) {
				return rootRecord{}, fmt.Errorf("seal: %s is malformed: older versions out of order", RootKey)
			}
		}
	default:
		return rootRecord{}, fmt.Errorf("seal: the store's root key record has format %d; this Trent understands up to %d: upgrade Trent", rec.Format, rootFormat2)
	}
	return rec, nil
}

// unwrapNewest unwraps the newest version of rec with w.
func unwrapNewest(ctx context.Context, rec rootRecord, w Wrapper) ([]byte, error) {
	if rec.Seal != w.Kind().String() {
		return nil, fmt.Errorf("%w: it is wrapped by the %s seal, and this node is configured with the %s seal (trent seal migrate changes the seal)", ErrWrongSeal, rec.Seal, w.Kind())
	}
	return w.Unwrap(ctx, rec.Params, rec.Wrapped, wrapAD(w.Kind(), rec.Version))
}

// openKeyring returns the Sealer of every version of rec, given the newest.
func openKeyring(rec rootRecord, newest []byte, rand io.Reader) (*Sealer, error) {
	s := &Sealer{rand: rand}
	s.ring.Store(&ring{})
	if err := s.add(rec.Version, newest); err != nil {
		return nil, err
	}
	if err := s.addOlder(rec); err != nil {
		return nil, err
	}
	return s, nil
}

// addOlder adds the older versions of rec that s does not hold; s holds
// the newest.
func (s *Sealer) addOlder(rec rootRecord) error {
	for _, o := range rec.Older {
		if s.Holds(o.Version) {
			continue
		}
		k, err := s.ring.Load().open(o.Sealed, olderAD(o.Version))
		if err != nil {
			return fmt.Errorf("%w: root key version %d does not open", ErrMismatch, o.Version)
		}
		err = s.add(o.Version, k)
		clear(k)
		if err != nil {
			return err
		}
	}
	return nil
}

// Verify checks records that are not in a store yet (a backup to restore):
// w unwraps their root key, and the root key opens their canary. It is
// Unseal without a store.
func Verify(ctx context.Context, records []store.KV, w Wrapper) error {
	var root, canary []byte
	for _, kv := range records {
		switch kv.Key {
		case RootKey:
			root = kv.Value
		case CanaryKey:
			canary = kv.Value
		}
	}
	if root == nil || canary == nil {
		return fmt.Errorf("seal: the records hold no root key (%s and %s)", RootKey, CanaryKey)
	}
	rec, err := parseRoot(root)
	if err != nil {
		return err
	}
	if rec.Seal != w.Kind().String() {
		return fmt.Errorf("%w: it is wrapped by the %s seal, not the %s seal", ErrWrongSeal, rec.Seal, w.Kind())
	}
	key, err := unwrapNewest(ctx, rec, w)
	if err != nil {
		return err
	}
	defer clear(key)
	s, err := openKeyring(rec, key, nil)
	if err != nil {
		return err
	}
	pt, err := s.Open(canary, []byte(canaryAD))
	if err != nil || subtle.ConstantTimeCompare(pt, []byte(canaryText)) != 1 {
		return ErrMismatch
	}
	return nil
}

// Unseal unwraps the store's root key with w and checks it against the
// canary. It returns ErrNotInitialized when the store has none yet (see
// Initialize), an error wrapping ErrWrongSeal when w is the wrong seal.
// It writes nothing.
func Unseal(ctx context.Context, st store.Store, w Wrapper, rand io.Reader) (*Sealer, error) {
	rec, _, err := readRoot(ctx, st)
	if err != nil {
		return nil, err
	}
	key, err := unwrapNewest(ctx, rec, w)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	s, err := openKeyring(rec, key, rand)
	if err != nil {
		return nil, err
	}
	if err := checkCanary(ctx, st, s); err != nil {
		return nil, err
	}
	return s, nil
}

// UnwrapRoot returns the newest version of the store's root key unwrapped
// by w, unchecked; the caller clears it. Unseal is what a node uses; this
// is for tests that look for the root key where it must not be.
func UnwrapRoot(ctx context.Context, st store.Store, w Wrapper) ([]byte, error) {
	rec, _, err := readRoot(ctx, st)
	if err != nil {
		return nil, err
	}
	return unwrapNewest(ctx, rec, w)
}

// UnwrapKeyring returns every version of the store's root key in its
// keyring, newest first; the caller clears them. As UnwrapRoot, for tests.
func UnwrapKeyring(ctx context.Context, st store.Store, w Wrapper) ([][]byte, error) {
	rec, _, err := readRoot(ctx, st)
	if err != nil {
		return nil, err
	}
	key, err := unwrapNewest(ctx, rec, w)
	if err != nil {
		return nil, err
	}
	out := [][]byte{key}
	s, err := openKeyring(rec, key, nil)
	if err != nil {
		return nil, err
	}
	for _, o := range rec.Older {
		k, err := s.Open(o.Sealed, olderAD(o.Version))
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

func checkCanary(ctx context.Context, st store.Store, s *Sealer) error {
	kv, err := st.Get(ctx, CanaryKey)
	if err != nil {
		return fmt.Errorf("seal: read %s: %w", CanaryKey, err)
	}
	pt, err := s.Open(kv.Value, []byte(canaryAD))
	if err != nil || subtle.ConstantTimeCompare(pt, []byte(canaryText)) != 1 {
		return ErrMismatch
	}
	return nil
}

// Initialize makes a new root key, wraps it with w, and returns its Sealer
// and the Txn that records it: the wrapped key and the canary, conditional on
// the store having neither. The caller commits the Txn, adding the other
// records of a first start so that they land together; if the commit fails
// with store.ErrConflict another node initialized the store first, and the
// caller must Unseal instead and forget this Sealer.
//
// A legacy store (Status.Legacy) is adopted instead of given a new key: the
// root key is the one its key file holds, which only a *FileSeal can give,
// and the Txn is conditional on the canary being the one checked.
func Initialize(ctx context.Context, st store.Store, w Wrapper, rand io.Reader, now time.Time) (*Sealer, store.Txn, error) {
	status, err := ReadStatus(ctx, st)
	if err != nil {
		return nil, store.Txn{}, err
	}
	if status.Initialized {
		return nil, store.Txn{}, fmt.Errorf("%w (wrapped by the %s seal)", ErrInitialized, status.Seal)
	}
	var key []byte
	if status.Legacy {
		fs, ok := w.(*FileSeal)
		if !ok {
			return nil, store.Txn{}, fmt.Errorf("%w: start it once with --seal file and its root.key to adopt it, then trent seal migrate to the %s seal", ErrLegacy, w.Kind())
		}
		if key, err = fs.legacyKey(); err != nil {
			return nil, store.Txn{}, err
		}
	} else {
		key = make([]byte, rootKeySize)
		if _, err := io.ReadFull(rand, key); err != nil {
			return nil, store.Txn{}, fmt.Errorf("seal: generate root key: %w", err)
		}
	}
	defer clear(key)
	s, err := New(key, rand)
	if err != nil {
		return nil, store.Txn{}, err
	}
	var txn store.Txn
	if status.Legacy {
		canary, err := st.Get(ctx, CanaryKey)
		if err != nil {
			return nil, store.Txn{}, fmt.Errorf("seal: read %s: %w", CanaryKey, err)
		}
		if pt, err := s.Open(canary.Value, []byte(canaryAD)); err != nil || subtle.ConstantTimeCompare(pt, []byte(canaryText)) != 1 {
			return nil, store.Txn{}, fmt.Errorf("%w: the key file %s is not this store's", ErrMismatch, w.(*FileSeal).path)
		}
		txn.Compares = append(txn.Compares, store.Compare{Key: CanaryKey, ModRev: canary.ModRev})
	} else {
		txn.Compares = append(txn.Compares, store.Compare{Key: CanaryKey})
	}
	params, wrapped, err := w.Wrap(ctx, key, rootAD(w.Kind()))
	if err != nil {
		return nil, store.Txn{}, err
	}
	rec, err := json.Marshal(rootRecord{Format: rootFormat1, Seal: w.Kind().String(), Params: params, Wrapped: wrapped, Created: now.UTC()})
	if err != nil {
		return nil, store.Txn{}, err
	}
	txn.Compares = append(txn.Compares, store.Compare{Key: RootKey})
	txn.Puts = append(txn.Puts, store.KV{Key: RootKey, Value: rec})
	if !status.Legacy {
		canary, err := s.Seal([]byte(canaryText), []byte(canaryAD))
		if err != nil {
			return nil, store.Txn{}, err
		}
		txn.Puts = append(txn.Puts, store.KV{Key: CanaryKey, Value: canary})
	}
	return s, txn, nil
}

// Migrate rewraps the store's root key from one seal to another in one
// conditional write: the root key itself, and so every sealed record, stays
// the same, and nodes that are running keep serving. It unwraps with from
// (which must open it), wraps with to, checks that to opens what it wrapped,
// and writes only if the record is still the one it read. On any error the
// store is unchanged. It closes from once it has unwrapped the key.
func Migrate(ctx context.Context, st store.Store, from, to Wrapper, now time.Time) error {
	rec, modRev, err := readRoot(ctx, st)
	if err != nil {
		return err
	}
	if rec.Seal != from.Kind().String() {
		return fmt.Errorf("%w: it is wrapped by the %s seal, not the %s seal named to migrate from", ErrWrongSeal, rec.Seal, from.Kind())
	}
	key, err := from.Unwrap(ctx, rec.Params, rec.Wrapped, wrapAD(from.Kind(), rec.Version))
	if err != nil {
		return fmt.Errorf("migrate from the %s seal: %w", from.Kind(), err)
	}
	defer clear(key)
	// Done with from: a PKCS#11 module can be loaded once at a time, and to
	// may be another token of the same module.
	from.Close()
	// The whole keyring must open, and the canary under it: only the newest
	// version is rewrapped, and the older ones stay sealed under it.
	s, err := openKeyring(rec, key, nil)
	if err != nil {
		return err
	}
	if err := checkCanary(ctx, st, s); err != nil {
		return err
	}
	ad := wrapAD(to.Kind(), rec.Version)
	params, wrapped, err := to.Wrap(ctx, key, ad)
	if err != nil {
		return fmt.Errorf("migrate to the %s seal: %w", to.Kind(), err)
	}
	// Read back through the new seal before writing: a seal that wraps but
	// cannot unwrap (a KMS key without Decrypt permission) would otherwise
	// lock the store.
	back, err := to.Unwrap(ctx, params, wrapped, ad)
	if err != nil {
		return fmt.Errorf("migrate to the %s seal: it does not unwrap what it wrapped: %w", to.Kind(), err)
	}
	same := subtle.ConstantTimeCompare(back, key) == 1
	clear(back)
	if !same {
		return fmt.Errorf("migrate to the %s seal: it unwraps another key than it wrapped", to.Kind())
	}
	// The keyring keeps its versions, older keys and link; only the seal
	// and the newest version's wrapping change.
	out := rec
	if out.Format == rootFormat1 {
		out.Version = 0
	}
	out.Seal, out.Params, out.Wrapped = to.Kind().String(), params, wrapped
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = st.Txn(ctx, store.Txn{Compares: []store.Compare{{Key: RootKey, ModRev: modRev}}, Puts: []store.KV{{Key: RootKey, Value: b}}})
	if errors.Is(err, store.ErrConflict) {
		return errors.New("migrate: the root key record changed while migrating (another migration?); nothing was written, run it again")
	}
	return err
}
