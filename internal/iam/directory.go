package iam

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/federation"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/store"
)

// ErrSecretMismatch is returned by Bootstrap when a configured access key
// already exists with another secret.
var ErrSecretMismatch = errors.New("iam: the access key exists with a different secret")

// Options are the optional dependencies of a Directory.
type Options struct {
	Now  func() time.Time // nil: time.Now
	Rand io.Reader        // nil: crypto/rand
	Log  *slog.Logger     // nil: slog.Default()
}

// Directory is the identity store and its in-memory view.
type Directory struct {
	st       store.Store
	sealer   *seal.Sealer
	now      func() time.Time
	rand     io.Reader
	log      *slog.Logger
	follower *store.Follower
	oidc     *federation.OIDC // verifies web identity tokens

	mu    sync.RWMutex
	v     *view
	gen   uint64    // advances with every change to the view
	usage UsageFunc // where service-linked roles are in use

	uses usage // last use of access keys and roles

	cacheMu    sync.Mutex
	secrets    map[string]*cachedSecret
	identities map[string]*cachedIdentity
	compiled   map[string]compiledDoc
	// scopes are the organization's scopes of accounts (orgscope.go) as
	// of view generation scopesGen.
	scopes    map[string]*authz.AccountOrg
	scopesGen uint64
}

type cachedSecret struct {
	key     *accessKeyRecord // the record it was unsealed from
	session *sessionRecord
	secret  string
	token   string
}

// New loads the identity view. Run keeps it current.
func New(ctx context.Context, st store.Store, sealer *seal.Sealer, o Options) (*Directory, error) {
	d := &Directory{
		st: st, sealer: sealer, now: o.Now, rand: o.Rand, log: o.Log, v: newView(),
		secrets: map[string]*cachedSecret{}, identities: map[string]*cachedIdentity{}, compiled: map[string]compiledDoc{},
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.rand == nil {
		d.rand = rand.Reader
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	d.oidc = federation.NewOIDC(federation.OIDCOptions{Now: d.now, Log: d.log})
	d.follower = store.NewFollower(st, "", handler{d})
	if err := d.follower.Load(ctx); err != nil {
		return nil, err
	}
	if err := d.bindLegacyTrust(ctx); err != nil {
		// Unbound trust policies match no one until a later start binds them.
		d.log.Error("iam: bind the principals of stored trust policies", "err", err)
	}
	return d, nil
}

// Run follows the store and removes expired sessions until ctx ends.
func (d *Directory) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- d.follower.Run(ctx) }()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	// Keep the uses of the last minute when the server stops.
	defer func() {
		if err := d.flushUses(context.WithoutCancel(ctx)); err != nil {
			d.log.Error("iam: save access key last use", "err", err)
		}
	}()
	for {
		select {
		case err := <-errc:
			return err
		case <-t.C:
			if err := d.purgeSessions(ctx); err != nil && ctx.Err() == nil {
				d.log.Error("iam: purge expired sessions", "err", err)
			}
			if err := d.purgeAssertions(ctx); err != nil && ctx.Err() == nil {
				d.log.Error("iam: purge used SAML assertions", "err", err)
			}
			if err := d.flushUses(ctx); err != nil && ctx.Err() == nil {
				d.log.Error("iam: record last use", "err", err)
			}
		}
	}
}

// commit writes t and waits until the view shows it.
func (d *Directory) commit(ctx context.Context, t store.Txn) error {
	rev, err := d.st.Txn(ctx, t)
	if err != nil {
		return err
	}
	return d.follower.Wait(ctx, rev)
}

func (d *Directory) purgeSessions(ctx context.Context) error {
	now := d.now()
	d.mu.RLock()
	var expired []string
	for id, s := range d.v.sessions {
		if !now.Before(s.Expiration) {
			expired = append(expired, sessionsPrefix+id)
		}
	}
	d.mu.RUnlock()
	if len(expired) == 0 {
		return nil
	}
	return d.commit(ctx, store.Txn{Deletes: expired})
}

func secretAAD(accessKeyID string) []byte { return []byte("trent/iam/accesskey/" + accessKeyID) }
func tokenAAD(accessKeyID string) []byte  { return []byte("trent/sts/token/" + accessKeyID) }

// Principal returns who owns an access key.
func (d *Directory) Principal(accessKeyID string) (authz.Principal, bool) {
	id, err := d.Identity(accessKeyID)
	if err != nil {
		return authz.Principal{}, false
	}
	return id.Principal, true
}

// Account returns an account.
func (d *Directory) Account(id string) (Account, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	a := d.v.accounts[id]
	if a == nil {
		return Account{}, false
	}
	return *a, true
}

// Accounts returns every account, oldest first.
func (d *Directory) Accounts() []Account {
	d.mu.RLock()
	out := make([]Account, 0, len(d.v.accounts))
	for _, a := range d.v.accounts {
		out = append(out, *a)
	}
	d.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// FirstAccount returns the account created first, if any.
func (d *Directory) FirstAccount() (Account, bool) {
	as := d.Accounts()
	if len(as) == 0 {
		return Account{}, false
	}
	return as[0], true
}

// Bootstrap is what a first start needs.
type Bootstrap struct {
	AccountID       string // empty: random
	AccessKeyID     string // empty: random
	SecretAccessKey string // empty: random
	// AccountName and AccountEmail describe the first account when it is
	// made, as Organizations shows the management account; later starts
	// leave the account as it is.
	AccountName, AccountEmail string
	// Also is more of a first start's records (the wrapped root key), written
	// in the same transaction as the account, so that of several nodes
	// starting at once on an empty store exactly one makes both. If one of
	// its compares fails Bootstrap returns an error wrapping
	// store.ErrConflict, having written nothing.
	Also store.Txn
}

// Bootstrapped says what Bootstrap found or made. SecretAccessKey is set only
// when the key was created now (it is never readable again afterwards).
type Bootstrapped struct {
	Account         Account
	AccessKeyID     string
	SecretAccessKey string
	CreatedAccount  bool
	CreatedKey      bool
}

// Bootstrap makes sure the first account and a root access key exist: on an
// empty store it creates both; later it reuses them, adding b's access key to
// the first account if b names one that does not exist yet.
func (d *Directory) Bootstrap(ctx context.Context, b Bootstrap) (Bootstrapped, error) {
	var out Bootstrapped
	acct, ok := d.FirstAccount()
	if !ok {
		id := b.AccountID
		if id == "" {
			var err error
			if id, err = d.randomAccountID(); err != nil {
				return out, err
			}
		}
		if !arn.IsAccountID(id) {
			return out, fmt.Errorf("iam: account id %q is not 12 digits", id)
		}
		acct = Account{ID: id, Name: b.AccountName, Email: b.AccountEmail, Created: d.now().UTC()}
		out.CreatedAccount = true
	} else if b.AccountID != "" && b.AccountID != acct.ID {
		return out, fmt.Errorf("iam: the data directory belongs to account %s, not %s", acct.ID, b.AccountID)
	}
	out.Account = acct

	txn := store.Txn{Compares: slices.Clone(b.Also.Compares), Puts: slices.Clone(b.Also.Puts), Deletes: slices.Clone(b.Also.Deletes)}
	if out.CreatedAccount {
		txn.Compares = append(txn.Compares, store.Compare{Key: accountKey(acct.ID)})
		txn.Puts = append(txn.Puts, store.KV{Key: accountKey(acct.ID), Value: mustJSON(acct)})
	}
	switch {
	case b.AccessKeyID != "":
		out.AccessKeyID = b.AccessKeyID
		if c, err := d.Secret(ctx, b.AccessKeyID); err == nil {
			if subtle.ConstantTimeCompare([]byte(c.Secret), []byte(b.SecretAccessKey)) != 1 {
				return out, fmt.Errorf("%w: %s", ErrSecretMismatch, b.AccessKeyID)
			}
			break
		}
		if b.SecretAccessKey == "" {
			return out, errors.New("iam: a root access key id was given without its secret")
		}
		out.SecretAccessKey, out.CreatedKey = b.SecretAccessKey, true
	case out.CreatedAccount:
		id, secret, err := d.newAccessKey("AKIA")
		if err != nil {
			return out, err
		}
		out.AccessKeyID, out.SecretAccessKey, out.CreatedKey = id, secret, true
	}
	if out.CreatedKey {
		kv, err := d.accessKeyKV(acct.ID, "", "", out.AccessKeyID, out.SecretAccessKey)
		if err != nil {
			return out, err
		}
		txn.Compares = append(txn.Compares, store.Compare{Key: kv.Key})
		txn.Puts = append(txn.Puts, kv)
	}
	if len(txn.Puts) == 0 {
		return out, nil
	}
	rev, err := d.st.Txn(ctx, txn)
	if err != nil {
		return out, fmt.Errorf("iam: bootstrap: %w", err)
	}
	// Bootstrap runs before Run follows the store: load what was written.
	if d.follower.Applied() < rev {
		if err := d.follower.Load(ctx); err != nil {
			return out, err
		}
	}
	return out, nil
}

func (d *Directory) accessKeyKV(account, user, userID, id, secret string) (store.KV, error) {
	rec, err := d.accessKeyRec(account, user, userID, id, secret)
	if err != nil {
		return store.KV{}, err
	}
	return store.KV{Key: accessKeysPrefix + id, Value: mustJSON(rec)}, nil
}

// accessKeyRec is a new, active access key with its secret sealed.
func (d *Directory) accessKeyRec(account, user, userID, id, secret string) (*accessKeyRecord, error) {
	sealed, err := d.sealer.Seal([]byte(secret), secretAAD(id))
	if err != nil {
		return nil, err
	}
	return &accessKeyRecord{AccessKeyID: id, Account: account, UserName: user, UserID: userID, Status: "Active", Created: d.now().UTC(), Secret: sealed}, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("iam: marshal %T: %v", v, err))
	}
	return b
}

func (d *Directory) randomAccountID() (string, error) {
	var b [12]byte
	if _, err := io.ReadFull(d.rand, b[:]); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b[:]), nil
}

// base32 alphabet of AWS unique ids (upper-case letters and digits 2-7).
const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// newID returns prefix followed by 16 random id characters: the shape of AWS
// access key ids (AKIA, ASIA) and unique ids (AIDA, AROA, AGPA, ANPA).
func (d *Directory) newID(prefix string) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(d.rand, b[:]); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = idAlphabet[b[i]%32]
	}
	return prefix + string(b[:]), nil
}

// newAccessKey makes an access key id with prefix and a 40-character secret.
func (d *Directory) newAccessKey(prefix string) (id, secret string, err error) {
	if id, err = d.newID(prefix); err != nil {
		return "", "", err
	}
	var sb [40]byte
	if _, err := io.ReadFull(d.rand, sb[:]); err != nil {
		return "", "", err
	}
	// 64 divides 256, so taking six bits of each byte is unbiased.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	s := make([]byte, 40)
	for i := range s {
		s[i] = alphabet[sb[i]&63]
	}
	clear(sb[:])
	return id, string(s), nil
}
