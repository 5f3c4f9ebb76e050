// Package iam owns Trent's identities: accounts, their principals and access
// keys. It serves the SigV4 verifier's secret lookups and resolves an access key
// to its caller from an in-memory view kept current by the store, so a request
// authenticates without store I/O.
//
// Today it holds accounts and their root access keys; users, groups, roles and
// the IAM API grow here.
//
// # Store layout
//
//	acct/<account-id>/account          the account
//	iam/accesskeys/<access-key-id>     an access key: owner and sealed secret
//
// # Concurrency
//
// A *Directory is safe for concurrent use.
package iam

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/sigv4"
	"github.com/trentkms/trent/internal/store"
)

// ErrSecretMismatch is returned by Bootstrap when a configured access key
// already exists with another secret.
var ErrSecretMismatch = errors.New("iam: the access key exists with a different secret")

// PrincipalType is the kind of identity behind a request.
type PrincipalType uint8

const (
	Root PrincipalType = iota + 1
	User
	AssumedRole
)

func (t PrincipalType) String() string {
	switch t {
	case Root:
		return "Root"
	case User:
		return "IAMUser"
	case AssumedRole:
		return "AssumedRole"
	}
	return "Unknown"
}

// Principal is who signed a request.
type Principal struct {
	Account     string
	ARN         string
	Type        PrincipalType
	UserID      string // aws:userid: the account id for root
	AccessKeyID string
}

// Account is one AWS account.
type Account struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

type accessKeyRecord struct {
	AccessKeyID string    `json:"accessKeyId"`
	Account     string    `json:"account"`
	UserName    string    `json:"userName,omitempty"` // empty: the account's root
	Status      string    `json:"status"`
	Created     time.Time `json:"created"`
	Secret      []byte    `json:"secret"` // sealed
}

const (
	accountsPrefix   = "acct/"
	accessKeysPrefix = "iam/accesskeys/"
)

func accountKey(id string) string { return accountsPrefix + id + "/account" }

// Options are the optional dependencies of a Directory.
type Options struct {
	Now  func() time.Time // nil: time.Now
	Rand io.Reader        // nil: crypto/rand
}

// Directory is the identity store and its in-memory view.
type Directory struct {
	st     store.Store
	sealer *seal.Sealer
	now    func() time.Time
	rand   io.Reader

	keys     *store.Follower
	accounts *store.Follower

	mu      sync.RWMutex
	byKey   map[string]*credential
	accts   map[string]Account
	ordered []string // account ids in creation order
}

type credential struct {
	principal Principal
	secret    string
	active    bool
}

// New loads the identity view. Run keeps it current.
func New(ctx context.Context, st store.Store, sealer *seal.Sealer, o Options) (*Directory, error) {
	d := &Directory{st: st, sealer: sealer, now: o.Now, rand: o.Rand}
	if d.now == nil {
		d.now = time.Now
	}
	if d.rand == nil {
		d.rand = rand.Reader
	}
	d.keys = store.NewFollower(st, accessKeysPrefix, keyView{d})
	d.accounts = store.NewFollower(st, accountsPrefix, accountView{d})
	if err := d.keys.Load(ctx); err != nil {
		return nil, err
	}
	if err := d.accounts.Load(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// Run follows the store until ctx ends.
func (d *Directory) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- d.keys.Run(ctx) }()
	go func() { errc <- d.accounts.Run(ctx) }()
	err := <-errc
	<-errc
	return err
}

type keyView struct{ d *Directory }

func (v keyView) Reset(kvs []store.KV, _ int64) {
	m := make(map[string]*credential, len(kvs))
	for _, kv := range kvs {
		if c := v.d.decodeKey(kv.Value); c != nil {
			m[c.principal.AccessKeyID] = c
		}
	}
	v.d.mu.Lock()
	v.d.byKey = m
	v.d.mu.Unlock()
}

func (v keyView) Apply(resp store.WatchResponse) {
	v.d.mu.Lock()
	defer v.d.mu.Unlock()
	for _, e := range resp.Events {
		id := strings.TrimPrefix(e.KV.Key, accessKeysPrefix)
		if e.Type == store.Delete {
			delete(v.d.byKey, id)
			continue
		}
		if c := v.d.decodeKey(e.KV.Value); c != nil {
			v.d.byKey[id] = c
		}
	}
}

func (d *Directory) decodeKey(b []byte) *credential {
	var r accessKeyRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil
	}
	secret, err := d.sealer.Open(r.Secret, secretAAD(r.AccessKeyID))
	if err != nil {
		return nil
	}
	p := Principal{Account: r.Account, AccessKeyID: r.AccessKeyID}
	if r.UserName == "" {
		p.Type, p.ARN, p.UserID = Root, arn.RootARN(r.Account), r.Account
	} else {
		p.Type, p.ARN = User, "arn:aws:iam::"+r.Account+":user/"+r.UserName
	}
	return &credential{principal: p, secret: string(secret), active: r.Status == "Active"}
}

type accountView struct{ d *Directory }

func (v accountView) Reset(kvs []store.KV, _ int64) {
	m := map[string]Account{}
	var order []Account
	for _, kv := range kvs {
		if !strings.HasSuffix(kv.Key, "/account") {
			continue
		}
		var a Account
		if json.Unmarshal(kv.Value, &a) == nil {
			m[a.ID] = a
			order = append(order, a)
		}
	}
	v.d.mu.Lock()
	v.d.accts = m
	v.d.ordered = sortAccounts(order)
	v.d.mu.Unlock()
}

func (v accountView) Apply(resp store.WatchResponse) {
	v.d.mu.Lock()
	defer v.d.mu.Unlock()
	for _, e := range resp.Events {
		if !strings.HasSuffix(e.KV.Key, "/account") {
			continue
		}
		var a Account
		if e.Type == store.Put && json.Unmarshal(e.KV.Value, &a) == nil {
			if _, ok := v.d.accts[a.ID]; !ok {
				v.d.ordered = append(v.d.ordered, a.ID)
			}
			v.d.accts[a.ID] = a
		}
	}
}

func sortAccounts(as []Account) []string {
	// Creation order; ties by id.
	for i := 1; i < len(as); i++ {
		for j := i; j > 0 && (as[j].Created.Before(as[j-1].Created) || as[j].Created.Equal(as[j-1].Created) && as[j].ID < as[j-1].ID); j-- {
			as[j], as[j-1] = as[j-1], as[j]
		}
	}
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	return ids
}

func secretAAD(accessKeyID string) []byte { return []byte("trent/iam/accesskey/" + accessKeyID) }

// Secret implements sigv4.SecretLookup.
func (d *Directory) Secret(_ context.Context, accessKeyID string) (sigv4.Credentials, error) {
	d.mu.RLock()
	c := d.byKey[accessKeyID]
	d.mu.RUnlock()
	if c == nil || !c.active {
		return sigv4.Credentials{}, sigv4.ErrUnknownAccessKey
	}
	return sigv4.Credentials{Secret: c.secret}, nil
}

// Principal returns who owns an access key.
func (d *Directory) Principal(accessKeyID string) (Principal, bool) {
	d.mu.RLock()
	c := d.byKey[accessKeyID]
	d.mu.RUnlock()
	if c == nil || !c.active {
		return Principal{}, false
	}
	return c.principal, true
}

// FirstAccount returns the account created first, if any.
func (d *Directory) FirstAccount() (Account, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if len(d.ordered) == 0 {
		return Account{}, false
	}
	return d.accts[d.ordered[0]], true
}

// Bootstrap is what a first start needs.
type Bootstrap struct {
	AccountID       string // empty: random
	AccessKeyID     string // empty: random
	SecretAccessKey string // empty: random
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
		acct = Account{ID: id, Created: d.now().UTC()}
		out.CreatedAccount = true
	} else if b.AccountID != "" && b.AccountID != acct.ID {
		return out, fmt.Errorf("iam: the data directory belongs to account %s, not %s", acct.ID, b.AccountID)
	}
	out.Account = acct

	var txn store.Txn
	if out.CreatedAccount {
		v, _ := json.Marshal(acct)
		txn.Compares = append(txn.Compares, store.Compare{Key: accountKey(acct.ID)})
		txn.Puts = append(txn.Puts, store.KV{Key: accountKey(acct.ID), Value: v})
	}
	switch {
	case b.AccessKeyID != "":
		out.AccessKeyID = b.AccessKeyID
		if c, err := d.Secret(ctx, b.AccessKeyID); err == nil {
			if c.Secret != b.SecretAccessKey {
				return out, fmt.Errorf("%w: %s", ErrSecretMismatch, b.AccessKeyID)
			}
			break
		}
		if b.SecretAccessKey == "" {
			return out, errors.New("iam: a root access key id was given without its secret")
		}
		out.SecretAccessKey, out.CreatedKey = b.SecretAccessKey, true
	case out.CreatedAccount:
		id, secret, err := d.randomAccessKey()
		if err != nil {
			return out, err
		}
		out.AccessKeyID, out.SecretAccessKey, out.CreatedKey = id, secret, true
	}
	if out.CreatedKey {
		sealed, err := d.sealer.Seal([]byte(out.SecretAccessKey), secretAAD(out.AccessKeyID))
		if err != nil {
			return out, err
		}
		v, _ := json.Marshal(accessKeyRecord{
			AccessKeyID: out.AccessKeyID, Account: acct.ID, Status: "Active", Created: d.now().UTC(), Secret: sealed,
		})
		k := accessKeysPrefix + out.AccessKeyID
		txn.Compares = append(txn.Compares, store.Compare{Key: k})
		txn.Puts = append(txn.Puts, store.KV{Key: k, Value: v})
	}
	if len(txn.Puts) == 0 {
		return out, nil
	}
	rev, err := d.st.Txn(ctx, txn)
	if err != nil {
		return out, fmt.Errorf("iam: bootstrap: %w", err)
	}
	if out.CreatedKey {
		if err := d.waitKeys(ctx, rev); err != nil {
			return out, err
		}
	}
	if out.CreatedAccount {
		if err := d.waitAccounts(ctx, rev); err != nil {
			return out, err
		}
	}
	return out, nil
}

// waitKeys and waitAccounts make a write visible here before it is reported
// done. Before Run starts, they apply the store directly.
func (d *Directory) waitKeys(ctx context.Context, rev int64) error {
	return waitOrLoad(ctx, d.keys, rev)
}

func (d *Directory) waitAccounts(ctx context.Context, rev int64) error {
	return waitOrLoad(ctx, d.accounts, rev)
}

func waitOrLoad(ctx context.Context, f *store.Follower, rev int64) error {
	if f.Applied() >= rev {
		return nil
	}
	// Load is idempotent and cheap at bootstrap; it makes Bootstrap usable
	// before Run has started following.
	return f.Load(ctx)
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

// randomAccessKey makes an AKIA… id (16 base32 characters) and a 40-character
// secret, the shapes AWS uses.
func (d *Directory) randomAccessKey() (id, secret string, err error) {
	var idb [10]byte
	var sb [30]byte
	if _, err := io.ReadFull(d.rand, idb[:]); err != nil {
		return "", "", err
	}
	if _, err := io.ReadFull(d.rand, sb[:]); err != nil {
		return "", "", err
	}
	id = "AKIA" + base32.StdEncoding.EncodeToString(idb[:])
	secret = base64.StdEncoding.EncodeToString(sb[:])
	clear(sb[:])
	return id, secret, nil
}
