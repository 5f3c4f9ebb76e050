package kms

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/customkeystore"
	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/keystore"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/trace"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// Caller is the authenticated principal of a request and the Region it named.
type Caller struct {
	Account string // the principal's account
	ARN     string // the principal's ARN
	Region  string // the Region of the request's credential scope
	// Identity is the caller as authorization sees it; Request what it knows
	// of the request. A Caller with a nil Identity is refused: callers inside
	// this process (tests, background jobs) name the principal they act as.
	Identity *authz.Identity
	Request  authz.Request
	// RequestID is the request's id (x-amzn-RequestId), passed on to external
	// key store proxies as kmsRequestId.
	RequestID string
	// Note, if set, receives what the audit event of the request reports:
	// the keys it touched and what decided access to them.
	Note *Note
	// Trace is the request's span, parent of the spans of its authorization
	// and HSM calls (trace.go); the zero Span when it is not traced.
	Trace trace.Span

	// grantTokens are the request's GrantTokens, set by the operations that
	// take them: authorize counts the grants they prove (granttokens.go).
	grantTokens []string
}

// Note is what an operation tells the audit log about its request.
type Note struct {
	Resources []string // key ARNs, in the order the request used them
	Decision  authz.KeyDecision
	Decided   bool
	// res holds Resources for the one or two keys of most requests.
	res [2]string
}

func (n *Note) add(k *key, d authz.KeyDecision) {
	if n == nil {
		return
	}
	for _, r := range n.Resources {
		if r == k.arn {
			n.Decision, n.Decided = d, true
			return
		}
	}
	if n.Resources == nil {
		n.Resources = n.res[:0]
	}
	n.Resources = append(n.Resources, k.arn)
	n.Decision, n.Decided = d, true
}

// Options are the optional dependencies of a Service.
type Options struct {
	Now  func() time.Time // nil: time.Now
	Rand io.Reader        // nil: crypto/rand
	Log  *slog.Logger     // nil: slog.Default()
	// SweepInterval is how often Run deletes due keys and rotates keys whose
	// rotation date has come. 0: one minute.
	SweepInterval time.Duration
	// Principals resolves the users and roles that key policies and grants
	// name to the unique ids they are bound to; nil: no IAM directory, so
	// such principals bind to nothing and match no one.
	Principals PrincipalResolver
	// Clusters are the HSM tokens custom key stores can use; nil: none.
	Clusters keystore.Clusters
	// Roles creates the service-linked roles of custom key stores and
	// multi-Region keys; nil: none.
	Roles RoleMaker
	// Regions are the Regions this deployment serves: multi-Region keys
	// replicate among them. nil: ReplicateKey refuses every Region.
	Regions []string
	// Organization says what the organization says of a key's account:
	// the resource control policies that limit access to its keys and its
	// org paths; nil: no organization.
	Organization Organization
	// MaterialCache bounds how many versions of key material are held
	// unsealed in memory (matcache.go); the rest stay sealed until used.
	// 0: DefaultMaterialCache.
	MaterialCache int
	// KeyCache bounds how many keys the view keeps loaded (keycache.go);
	// the others are loaded from the store on their first use. 0:
	// DefaultKeyCache.
	KeyCache int
	// The resource quotas (KMS Developer Guide, resource-limits.md); 0:
	// AWS's default. MaxKeysPerRegion counts keys of an account and Region
	// in any state (100,000), MaxAliasesPerKey the aliases of one key (50),
	// MaxCustomKeyStores the custom key stores of an account and Region
	// (10).
	MaxKeysPerRegion, MaxAliasesPerKey, MaxCustomKeyStores int
}

// Service is the KMS API over one store.
type Service struct {
	st         store.Store
	sealer     *seal.Sealer
	now        func() time.Time
	rand       io.Reader
	log        *slog.Logger
	interval   time.Duration
	principals PrincipalResolver
	roles      RoleMaker
	regions    []string
	orgs       Organization

	maxKeys, maxAliases, maxKeyStores int

	view *view
	// stores are the custom key stores and this node's connections to
	// them; the view follows their records into it.
	stores   *customkeystore.Stores
	follower *store.Follower
	// tokenKey seals grant tokens (granttokens.go); every node of a
	// deployment reads the same key from the store.
	tokenKey cipher.AEAD

	// writeLocks serialise this node's read-modify-writes of one key, so
	// concurrent requests here queue instead of failing on revision
	// conflicts; writers on other nodes are still caught by the compare.
	writeLocks [64]sync.Mutex

	reqKeys  sync.Map // requestKeysKey → policy.Keys
	reqKeysN atomic.Int64

	// quotaQueues combine this node's concurrent quota-counted creations
	// (quotas.go), by quota record.
	quotaMu     sync.Mutex
	quotaQueues map[string]*creationQueue

	// usage answers GetKeyLastUsage: the audit log. Set before serving.
	usage UsageSource
}

// New loads every KMS record into memory. Run keeps the view current.
func New(ctx context.Context, st store.Store, sealer *seal.Sealer, o Options) (*Service, error) {
	s := &Service{st: st, sealer: sealer, now: o.Now, rand: o.Rand, log: o.Log, interval: o.SweepInterval, principals: o.Principals, roles: o.Roles, regions: o.Regions, orgs: o.Organization,
		maxKeys: o.MaxKeysPerRegion, maxAliases: o.MaxAliasesPerKey, maxKeyStores: o.MaxCustomKeyStores}
	for _, q := range []struct {
		v   *int
		def int
	}{{&s.maxKeys, defaultMaxKeys}, {&s.maxAliases, defaultMaxAliasesPerKey}, {&s.maxKeyStores, defaultMaxCustomKeyStores}} {
		switch {
		case *q.v < 0:
			return nil, fmt.Errorf("kms: a quota of %d: quotas are positive, or 0 for AWS's", *q.v)
		case *q.v == 0:
			*q.v = q.def
		}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.interval == 0 {
		s.interval = time.Minute
	}
	var err error
	if s.tokenKey, err = loadTokenKey(ctx, st, sealer, s.rand); err != nil {
		return nil, err
	}
	if s.stores, err = customkeystore.New(st, sealer, storesHost{s}, customkeystore.Options{
		Clusters: o.Clusters, Now: s.now, Rand: s.rand, Log: s.log, NewID: s.newKeyID}); err != nil {
		return nil, err
	}
	s.view = newView(s)
	s.view.cache.max = o.MaterialCache
	if s.view.cache.max <= 0 {
		s.view.cache.max = DefaultMaterialCache
	}
	s.view.maxKeys = o.KeyCache
	if s.view.maxKeys <= 0 {
		s.view.maxKeys = DefaultKeyCache
	}
	s.follower = store.NewFollower(st, "acct/", s.view)
	if err := s.follower.Load(ctx); err != nil {
		return nil, err
	}
	if err := s.bindLegacy(ctx); err != nil {
		// Unbound records match no user or role until a later start binds them.
		s.log.Error("kms: bind the principals of stored key policies and grants", "err", err)
	}
	// Log in to the custom key stores recorded CONNECTED before the first
	// request, so that a restart does not leave their keys Unavailable for a
	// moment. A store that cannot connect stays for Run to retry.
	if err := s.stores.Reconnect(ctx); err != nil {
		s.log.Error("kms: custom key stores", "err", err)
	}
	return s, nil
}

// Run follows the store and runs the deletion sweeper and rotation scheduler
// until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.follower.Run(ctx) }()
	if err := s.stores.Reconnect(ctx); err != nil {
		s.log.Error("kms: custom key stores", "err", err)
	}
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case err := <-errc:
			return err
		case <-t.C:
			if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("kms: background sweep", "err", err)
			}
		}
	}
}

// Tick deletes every key whose deletion date has passed, rotates every key
// whose rotation date has come and deletes imported material that expired,
// as of Options.Now. Run calls it periodically;
// tests call it after moving the clock.
func (s *Service) Tick(ctx context.Context) error {
	var errs []error
	now := s.now()
	errs = append(errs, s.sweepPolicyDocs(ctx))
	for _, ref := range s.view.dueKeys(now) {
		k, err := s.view.key(ref.region, ref.id)
		if err != nil || k == nil {
			errs = append(errs, err)
			continue
		}
		switch {
		case k.rec.State == PendingDeletion && !now.Before(k.rec.DeletionDate.Time()):
			errs = append(errs, s.deleteKeyNow(ctx, k))
		// A replica rotates only with its primary (multiregion.go).
		case k.rec.RotationEnabled && k.rec.State == Enabled && !k.rec.replica() && !k.rec.NextRotation.IsZero() && !now.Before(k.rec.NextRotation.Time()):
			errs = append(errs, s.rotateScheduled(ctx, k))
		case k.rec.Origin == originExternal && len(k.rec.expired(now)) > 0:
			errs = append(errs, s.expireImported(ctx, k))
		}
	}
	errs = append(errs, s.stores.Reconnect(ctx))
	return errors.Join(errs...)
}

func (s *Service) materialAAD(account, region, keyID, materialID string) []byte {
	return []byte(arn.KeyARN(region, account, keyID) + "|" + materialID)
}

func (s *Service) openMaterial(account, region, keyID, materialID string, rec materialRecord) (keys.Material, error) {
	id, err := keys.ParseMaterialID(materialID)
	if err != nil {
		return nil, err
	}
	if rec.KeyStore != "" {
		return s.openHSMMaterial(region, keyID, id, rec)
	}
	spec := keys.SpecSymmetricDefault
	if rec.Spec != "" {
		if spec, err = keys.ParseSpec(rec.Spec); err != nil {
			return nil, err
		}
	}
	raw, err := s.sealer.Open(rec.Sealed, s.materialAAD(account, region, keyID, materialID))
	if err != nil {
		return nil, err
	}
	// Load owns raw from here and clears it on Destroy.
	m, err := keys.Load(spec, keyID, id, raw)
	if err != nil {
		clear(raw)
	}
	return m, err
}

// newMaterial makes fresh material of a key's spec and returns its
// description and the sealed record to store.
func (s *Service) newMaterial(account, region, keyID string, spec keys.Spec, rotationType string) (material, store.KV, error) {
	raw, err := keys.Generate(s.rand, spec)
	if err != nil {
		return material{}, store.KV{}, err
	}
	defer clear(raw)
	id, err := keys.NewMaterialID(s.rand)
	if err != nil {
		return material{}, store.KV{}, err
	}
	return s.sealMaterial(account, region, keyID, spec, id, raw, material{RotationType: rotationType})
}

// sealMaterial seals raw material (which the caller still owns) as version
// id of a key and describes it with m.
func (s *Service) sealMaterial(account, region, keyID string, spec keys.Spec, id keys.MaterialID, raw []byte, m material) (material, store.KV, error) {
	sealed, err := s.sealer.Seal(raw, s.materialAAD(account, region, keyID, id.String()))
	if err != nil {
		return material{}, store.KV{}, err
	}
	m.ID, m.Created = id.String(), stampOf(s.now())
	rec := materialRecord{Sealed: sealed, Spec: spec.String()}
	return m, store.KV{Key: materialPath(account, region, keyID, m.ID), Value: marshal(rec)}, nil
}

// commit writes t and waits until this node's view shows it.
func (s *Service) commit(ctx context.Context, t store.Txn) error {
	_, err := s.commitRev(ctx, t)
	return err
}

// commitRev is commit that returns the revision of the write.
func (s *Service) commitRev(ctx context.Context, t store.Txn) (int64, error) {
	rev, err := s.st.Txn(ctx, t)
	if err != nil {
		return 0, err
	}
	return rev, s.follower.Wait(ctx, rev)
}

func lockIndex(id string) int {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return int(h % 64)
}

// update applies fn to a fresh copy of a key's record and writes it,
// conditional on the revision it was read at; a concurrent writer makes it
// read again and retry. fn may add puts and deletes of other records to txn.
func (s *Service) update(ctx context.Context, k *key, fn func(rec *keyRecord, txn *store.Txn) error) error {
	mu := &s.writeLocks[lockIndex(k.rec.ID)]
	mu.Lock()
	defer mu.Unlock()
	// Under the lock, the view holds every write this node made to the key.
	keyARN := k.arn
	k, err := s.view.key(k.rec.Region, k.rec.ID)
	if err != nil {
		return err
	}
	if k == nil {
		return notFoundKey(keyARN)
	}
	for attempt := 0; ; attempt++ {
		rec := cloneRecord(k.rec)
		txn := store.Txn{Compares: []store.Compare{{Key: keyPath(rec.Account, rec.Region, rec.ID), ModRev: k.modRev}}}
		if err := fn(&rec, &txn); err != nil {
			return err
		}
		txn.Puts = append(txn.Puts, storedKey(rec)...)
		err := s.commit(ctx, txn)
		if !errors.Is(err, store.ErrConflict) || attempt >= 8 {
			return err
		}
		kv, gerr := s.st.Get(ctx, keyPath(rec.Account, rec.Region, rec.ID))
		if errors.Is(gerr, store.ErrNotFound) {
			return notFoundKey(k.arn)
		}
		if gerr != nil {
			return gerr
		}
		if err := s.follower.Wait(ctx, kv.ModRev); err != nil {
			return err
		}
		if k, err = s.view.key(rec.Region, rec.ID); err != nil {
			return err
		}
		if k == nil {
			return notFoundKey(arn.KeyARN(rec.Region, rec.Account, rec.ID))
		}
	}
}

func cloneRecord(r keyRecord) keyRecord {
	r.Tags = append([]tag(nil), r.Tags...)
	r.Materials = append([]material(nil), r.Materials...)
	return r
}

// Key identifiers. The forms AWS accepts are a key id, a key ARN, an alias
// name (alias/…) and an alias ARN; management operations take only the first two.

type idForms uint8

const (
	keyOnly idForms = iota + 1
	keyOrAlias
	// crossAccount, or'ed in, accepts the key and alias ARNs of other
	// accounts: for the operations AWS allows across accounts (KMS Developer
	// Guide, permissions reference: cross-account use).
	crossAccount idForms = 4
)

// resolve finds the key a KeyId names, as seen by c: a key of c's account, or
// with forms&crossAccount a key or alias ARN of another account.
func (s *Service) resolve(c Caller, id string, forms idForms) (*key, error) {
	k, _, err := s.lookup(c, id, forms)
	return k, err
}

// lookup is resolve that also returns the alias name the KeyId used, if any
// (kms:RequestAlias).
func (s *Service) lookup(c Caller, id string, forms idForms) (*key, string, error) {
	cross := forms&crossAccount != 0
	forms &^= crossAccount
	if strings.HasPrefix(id, "arn:") {
		a, err := arn.Parse(id)
		if err != nil || a.Service != "kms" || a.Partition != arn.Partition {
			return nil, "", kmsapi.NewNotFoundException("Invalid arn " + id)
		}
		if a.Region != c.Region {
			// AWS names only the Region it could not find (see the error corpus).
			return nil, "", kmsapi.NewNotFoundException("Invalid arn " + a.Region)
		}
		switch {
		case strings.HasPrefix(a.Resource, "key/"):
			kid := strings.TrimPrefix(a.Resource, "key/")
			if !arn.IsKeyID(kid) {
				return nil, "", kmsapi.NewNotFoundException("Invalid keyId '" + id + "'")
			}
			k, err := s.view.key(c.Region, kid)
			if err != nil {
				return nil, "", err
			}
			if k == nil || k.rec.Account != a.Account || (a.Account != c.Account && !cross) {
				return nil, "", notFoundKey(id)
			}
			return k, "", nil
		case strings.HasPrefix(a.Resource, "alias/") && forms == keyOrAlias:
			if a.Account != c.Account && !cross {
				return nil, "", notFoundAlias(id)
			}
			k, err := s.resolveAlias(a.Account, c.Region, a.Resource)
			return k, a.Resource, err
		}
		return nil, "", kmsapi.NewNotFoundException("Invalid arn " + id)
	}
	if strings.HasPrefix(id, "alias/") && forms == keyOrAlias {
		k, err := s.resolveAlias(c.Account, c.Region, id)
		return k, id, err
	}
	if !arn.IsKeyID(id) {
		return nil, "", kmsapi.NewNotFoundException("Invalid keyId '" + id + "'")
	}
	k, err := s.view.key(c.Region, id)
	if err != nil {
		return nil, "", err
	}
	if k == nil || k.rec.Account != c.Account {
		return nil, "", notFoundKey(arn.KeyARN(c.Region, c.Account, id))
	}
	return k, "", nil
}

func (s *Service) resolveAlias(account, region, name string) (*key, error) {
	a := s.view.alias(account, region, name)
	if a == nil {
		return nil, notFoundAlias(arn.AliasARN(region, account, name))
	}
	k, err := s.view.key(region, a.TargetKeyID)
	if err != nil {
		return nil, err
	}
	if k == nil || k.rec.Account != account {
		return nil, notFoundKey(arn.KeyARN(region, account, a.TargetKeyID))
	}
	return k, nil
}

func notFoundKey(keyARN string) error {
	return kmsapi.NewNotFoundException("Key '" + keyARN + "' does not exist")
}

func notFoundAlias(aliasARN string) error {
	return kmsapi.NewNotFoundException("Alias " + aliasARN + " is not found.")
}

// fresh is k with the record r that a transaction read, for checking the
// key as it is now.
func (k *key) fresh(r *keyRecord) *key {
	return &key{rec: *r, arn: k.arn, cks: k.cks}
}

func dryRun(p *bool) error {
	if wire.Bool(p) {
		return kmsapi.NewDryRunOperationException("The request would have succeeded, but the DryRun option is set.")
	}
	return nil
}

func ts(t time.Time) *wire.Timestamp {
	v := wire.Timestamp(t)
	return &v
}

// Empty is the response of operations that return nothing.
type Empty = *struct{}
