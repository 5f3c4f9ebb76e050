package kms

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"github.com/trentkms/trent/internal/keys"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// maxGrants is AWS's quota of grants per KMS key.
const maxGrants = 50000

type grantRecord struct {
	ID       string    `json:"id"`
	KeyID    string    `json:"keyId"`
	Account  string    `json:"account"`
	Region   string    `json:"region"`
	Name     string    `json:"name,omitempty"`
	Created  time.Time `json:"created"`
	Grantee  string    `json:"grantee,omitempty"`
	Retiring string    `json:"retiring,omitempty"`
	// GranteeService and RetiringService are service principals, in place
	// of Grantee and Retiring (CreateGrant, GranteeServicePrincipal and
	// RetiringServicePrincipal).
	GranteeService  string   `json:"granteeService,omitempty"`
	RetiringService string   `json:"retiringService,omitempty"`
	Issuing         string   `json:"issuing"` // the issuing account's root ARN
	Ops             []string `json:"ops"`
	// Equals and Subset are null when absent: an empty EncryptionContextEquals
	// is a constraint (only the empty context), which omitempty would drop.
	Equals    map[string]string `json:"equals"`
	Subset    map[string]string `json:"subset"`
	SourceArn string            `json:"sourceArn,omitempty"`
	// TokenHash is the sha256 of the token of a grant made before tokens
	// were sealed (granttokens.go); such tokens are still looked up by it.
	TokenHash string `json:"tokenHash,omitempty"`
	// Bindings binds the grantee and retiring principals that are IAM users
	// or roles, as written, to the unique ids of the entities they named when
	// the grant was created ("" for none), as a saved policy binds them
	// (bindGrantPrincipals).
	Bindings map[string]string `json:"bindings,omitempty"`
}

// constrained reports whether the grant has any constraint.
func (r *grantRecord) constrained() bool {
	return r.Equals != nil || r.Subset != nil || r.SourceArn != ""
}

// grant is a grant as the view holds it.
type grant struct {
	rec    grantRecord
	authz  *authz.Grant
	modRev int64 // the revision that wrote it, for its tokens
}

func newGrant(rec grantRecord) *grant {
	return &grant{rec: rec, authz: &authz.Grant{
		ID: rec.ID, GranteePrincipal: rec.Grantee, GranteeID: rec.Bindings[rec.Grantee], GranteeServicePrincipal: rec.GranteeService,
		RetiringPrincipal: rec.Retiring, RetiringID: rec.Bindings[rec.Retiring], Operations: rec.Ops,
		ContextEquals: rec.Equals, ContextSubset: rec.Subset, SourceArn: rec.SourceArn, HasConstraints: rec.constrained(),
	}}
}

func grantPath(account, region, keyID, grantID string) string {
	return regionPrefix(account, region) + "grants/" + keyID + "/" + grantID
}

func (v *view) putGrant(region, keyID string, kv store.KV) {
	var rec grantRecord
	if err := json.Unmarshal(kv.Value, &rec); err != nil {
		v.s.log.Error("kms: undecodable grant record", "key", kv.Key, "err", err)
		return
	}
	if rec.Issuing == arn.RootARN("") {
		// Made by a service before grants it creates were issued under the
		// key's account (issuingAccount).
		rec.Issuing = arn.RootARN(rec.Account)
	}
	g := newGrant(rec)
	g.modRev = kv.ModRev
	v.deleteGrant(region, keyID, rec.ID)
	idx := keyIndex(region, keyID)
	v.grants[idx] = append(v.grants[idx][:len(v.grants[idx]):len(v.grants[idx])], g)
	if rec.TokenHash != "" {
		v.tokens[rec.TokenHash] = g
	}
	v.authzGrants[idx] = append(v.authzGrants[idx][:len(v.authzGrants[idx]):len(v.authzGrants[idx])], g.authz)
}

// deleteGrant copies the key's grant list so that lists handed out earlier stay unchanged.
func (v *view) deleteGrant(region, keyID, grantID string) {
	idx := keyIndex(region, keyID)
	found := false
	for _, g := range v.grants[idx] {
		found = found || g.rec.ID == grantID
	}
	if !found {
		return
	}
	var kept []*grant
	var kauthz []*authz.Grant
	for _, g := range v.grants[idx] {
		if g.rec.ID == grantID {
			delete(v.tokens, g.rec.TokenHash)
			continue
		}
		kept = append(kept, g)
		kauthz = append(kauthz, g.authz)
	}
	if len(kept) == 0 {
		delete(v.grants, idx)
		delete(v.authzGrants, idx)
	} else {
		v.grants[idx], v.authzGrants[idx] = kept, kauthz
	}
}

// grantsOf returns the authorization view of a key's grants.
func (v *view) grantsOf(k *key) []*authz.Grant {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.authzGrants[keyIndex(k.rec.Region, k.rec.ID)]
}

func (v *view) grantList(region, keyID string) []*grant {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.grants[keyIndex(region, keyID)]
}

func (v *view) grantByToken(token string) *grant {
	h := sha256.Sum256([]byte(token))
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.tokens[hex.EncodeToString(h[:])]
}

// grantOps are the grant operations each kind of key supports (KMS Developer
// Guide: grant operations).
func grantOps(k *key) []string {
	common := []string{"CreateGrant", "RetireGrant", "DescribeKey"}
	switch {
	case k.rec.Usage == keys.UsageEncryptDecrypt && k.rec.Spec == keys.SpecSymmetricDefault:
		return append(common, "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext")
	case k.rec.Usage == keys.UsageEncryptDecrypt:
		return append(common, "Decrypt", "Encrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey")
	case k.rec.Usage == keys.UsageSignVerify:
		return append(common, "Sign", "Verify", "GetPublicKey")
	case k.rec.Usage == keys.UsageGenerateVerifyMAC:
		return append(common, "GenerateMac", "VerifyMac")
	case k.rec.Usage == keys.UsageKeyAgreement:
		return append(common, "DeriveSharedSecret", "GetPublicKey")
	}
	return common
}

// bindGrantPrincipals binds the grantee and retiring principals of a grant
// being created that are IAM users or roles to the unique ids of the entities
// they name now, as AWS binds the principals of a saved policy (IAM User
// Guide, Principal element, "IAM role principals", "IAM user principals"): a
// user or role deleted and created again under the same name is not the
// grantee. A user or role that does not exist is refused with
// InvalidArnException, as AWS refuses a grant to a role it cannot find yet
// (a newly created role "doesn't show up and causes an InvalidArnException",
// terraform-provider-aws, resource aws_kms_grant) and a key policy naming one;
// the answer comes after authorization, so only a caller who may create
// grants on the key learns whether an entity exists. Without a resolver
// nothing can be bound: such principals bind to nothing and match no one.
func (s *Service) bindGrantPrincipals(principals ...string) (map[string]string, error) {
	var out map[string]string
	for _, p := range principals {
		if p == "" || !bindableARN(p) {
			continue
		}
		var id string
		if s.principals != nil {
			var ok bool
			if id, ok = s.principals.PrincipalID(p); !ok {
				return nil, kmsapi.NewInvalidArnException("The principal " + p + " is not valid: no IAM user or role has this ARN.")
			}
		}
		if out == nil {
			out = map[string]string{}
		}
		out[p] = id
	}
	return out, nil
}

// bindableARN reports whether an ARN names an IAM user or role.
func bindableARN(p string) bool {
	a, err := arn.Parse(p)
	return err == nil && a.Service == "iam" && (strings.HasPrefix(a.Resource, "user/") || strings.HasPrefix(a.Resource, "role/"))
}

// unboundGrant reports whether a stored grant has a user or role principal
// that its bindings do not cover: a grant created before grants were bound.
func unboundGrant(r grantRecord) bool {
	for _, p := range []string{r.Grantee, r.Retiring} {
		if _, ok := r.Bindings[p]; p != "" && bindableARN(p) && !ok {
			return true
		}
	}
	return false
}

// principalARN checks a grantee or retiring principal: an AWS account id or
// an IAM principal ARN (KMS Developer Guide: grant concepts).
func principalARN(p string) (string, error) {
	if arn.IsAccountID(p) {
		return arn.RootARN(p), nil
	}
	a, err := arn.Parse(p)
	if err != nil || (a.Service != "iam" && a.Service != "sts") || !arn.IsAccountID(a.Account) {
		return "", wire.Validation("Invalid principal: " + p)
	}
	return p, nil
}

// CreateGrant gives a principal permission to use a key in the listed
// operations, with optional encryption context constraints.
func (s *Service) CreateGrant(ctx context.Context, c Caller, in *kmsapi.CreateGrantRequest) (*kmsapi.CreateGrantResponse, error) {
	c.grantTokens = in.GrantTokens
	// The grantee and the retiring principal are each an IAM principal or
	// a service principal, not both; a service grantee needs a SourceArn
	// constraint and someone to retire the grant (CreateGrant).
	switch {
	case in.GranteePrincipal != nil && in.GranteeServicePrincipal != nil:
		return nil, wire.Validation("You must specify either GranteePrincipal or GranteeServicePrincipal, but not both.")
	case in.GranteePrincipal == nil && in.GranteeServicePrincipal == nil:
		return nil, wire.Validation("1 validation error detected: Value null at 'granteePrincipal' failed to satisfy constraint: Member must not be null")
	case in.RetiringPrincipal != nil && in.RetiringServicePrincipal != nil:
		return nil, wire.Validation("You can specify either RetiringPrincipal or RetiringServicePrincipal, but not both.")
	case in.GranteeServicePrincipal != nil && (in.Constraints == nil || in.Constraints.SourceArn == nil):
		return nil, wire.Validation("When you specify a GranteeServicePrincipal, you must also specify a SourceArn grant constraint.")
	case in.GranteeServicePrincipal != nil && in.RetiringPrincipal == nil && in.RetiringServicePrincipal == nil:
		return nil, wire.Validation("When you specify a GranteeServicePrincipal, you must also specify either a RetiringPrincipal or a RetiringServicePrincipal.")
	}
	if len(in.Operations) == 0 {
		return nil, wire.Validation("1 validation error detected: Value null at 'operations' failed to satisfy constraint: Member must not be null")
	}
	// The grant to be made, as far as authorization needs it: a grant that
	// allows CreateGrant allows only children at least as strict as itself.
	child := grantRecord{GranteeService: wire.String(in.GranteeServicePrincipal), RetiringService: wire.String(in.RetiringServicePrincipal)}
	var err error
	if in.GranteePrincipal != nil {
		if child.Grantee, err = principalARN(*in.GranteePrincipal); err != nil {
			return nil, err
		}
	}
	if in.RetiringPrincipal != nil {
		if child.Retiring, err = principalARN(*in.RetiringPrincipal); err != nil {
			return nil, err
		}
	}
	// The condition keys name whichever principal the request gives.
	grantee, retiring := cmp.Or(child.Grantee, child.GranteeService), cmp.Or(child.Retiring, child.RetiringService)
	var types []string
	if cons := in.Constraints; cons != nil {
		child.Equals, child.Subset, child.SourceArn = cons.EncryptionContextEquals, cons.EncryptionContextSubset, wire.String(cons.SourceArn)
		if child.Equals != nil && child.Subset != nil {
			// AWS's text; an empty map counts as supplied (aws/aws-sdk-java#328).
			return nil, wire.Validation("More than one constraint supplied")
		}
		switch {
		case child.Equals != nil:
			types = append(types, "EncryptionContextEquals")
		case child.Subset != nil:
			types = append(types, "EncryptionContextSubset")
		}
		if child.SourceArn != "" {
			types = append(types, "SourceArn")
		}
	}
	ops := slices.Clone(in.Operations)
	sort.Strings(ops)
	ops = slices.Compact(ops)
	child.Ops = ops
	a := access{op: "CreateGrant", child: &child, keys: []string{"kms:GranteePrincipal", grantee, "kms:GrantIsForAWSResource", grantIsForAWSResource(c)}}
	if retiring != "" {
		a.keys = append(a.keys, "kms:RetiringPrincipal", retiring)
	}
	for _, op := range ops {
		a.keys = append(a.keys, "kms:GrantOperations", op)
	}
	// kms:GrantConstraintType: one value per kind of constraint the grant
	// has (a grant may have a SourceArn and an encryption context
	// constraint), so a policy that requires one kind still finds it.
	for _, t := range types {
		a.keys = append(a.keys, "kms:GrantConstraintType", t)
	}
	k, err := s.keyFor(c, *in.KeyId, keyOnly|crossAccount, a)
	if err != nil {
		return nil, err
	}
	if err := checkKey(k, "CreateGrant"); err != nil {
		return nil, err
	}
	valid := grantOps(k)
	for _, op := range ops {
		if !slices.Contains(valid, op) {
			return nil, wire.Validation("Grant operations " + op + " are not valid for a key with KeyUsage " + k.rec.Usage.String() + " and KeySpec " + k.rec.Spec.String() + ".")
		}
	}
	// Encryption context constraints need a symmetric encryption key; a
	// SourceArn constraint "is supported on grants for all types of KMS keys".
	if (child.Equals != nil || child.Subset != nil) && (k.rec.Spec != keys.SpecSymmetricDefault || k.rec.Usage != keys.UsageEncryptDecrypt) {
		return nil, wire.Validation("Grant constraints are not supported for asymmetric or HMAC KMS keys.")
	}
	bindings, err := s.bindGrantPrincipals(child.Grantee, child.Retiring)
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	// A retried request with the same Name and parameters returns the grant
	// it made, with a new token (CreateGrant: Name); a grant bound to a
	// principal since deleted is not the one a retry means.
	for _, g := range s.view.grantList(k.rec.Region, k.rec.ID) {
		r := g.rec
		if in.Name != nil && r.Name == *in.Name && r.Grantee == child.Grantee && r.Retiring == child.Retiring &&
			r.GranteeService == child.GranteeService && r.RetiringService == child.RetiringService && slices.Equal(r.Ops, ops) &&
			sameContext(r.Equals, child.Equals) && sameContext(r.Subset, child.Subset) && r.SourceArn == child.SourceArn && maps.Equal(r.Bindings, bindings) {
			token, err := s.issueToken(r, g.modRev)
			if err != nil {
				return nil, err
			}
			return &kmsapi.CreateGrantResponse{GrantId: wire.Ptr(r.ID), GrantToken: wire.Ptr(token)}, nil
		}
	}
	if len(s.view.grantList(k.rec.Region, k.rec.ID)) >= maxGrants {
		return nil, kmsapi.NewLimitExceededException("The request was rejected because the number of grants on the key would exceed " + "50000" + ".")
	}
	var idb [32]byte
	if _, err := io.ReadFull(s.rand, idb[:]); err != nil {
		return nil, err
	}
	rec := grantRecord{
		ID: hex.EncodeToString(idb[:]), KeyID: k.rec.ID, Account: k.rec.Account, Region: k.rec.Region, Name: wire.String(in.Name),
		Created: s.now().UTC(), Grantee: child.Grantee, Retiring: child.Retiring, GranteeService: child.GranteeService, RetiringService: child.RetiringService,
		Issuing: arn.RootARN(issuingAccount(c.Identity, k)),
		Ops:     ops, Equals: child.Equals, Subset: child.Subset, SourceArn: child.SourceArn, Bindings: bindings,
	}
	p := grantPath(k.rec.Account, k.rec.Region, k.rec.ID, rec.ID)
	rev, err := s.commitRev(ctx, store.Txn{
		// The key must still exist when its grant is written.
		Compares: []store.Compare{{Key: p}, {Key: keyPath(k.rec.Account, k.rec.Region, k.rec.ID), ModRev: k.modRev}},
		Puts:     []store.KV{{Key: p, Value: marshal(rec)}},
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, kmsapi.NewKMSInternalException("The key changed while the grant was created; retry.")
	}
	if err != nil {
		return nil, err
	}
	token, err := s.issueToken(rec, rev)
	if err != nil {
		return nil, err
	}
	return &kmsapi.CreateGrantResponse{GrantId: wire.Ptr(rec.ID), GrantToken: wire.Ptr(token)}, nil
}

// issuingAccount is the account under which a grant is issued (ListGrants
// IssuingAccount): the creator's, or for a service principal, which has no
// account, that of the key whose policy let it create the grant.
func issuingAccount(id *authz.Identity, k *key) string {
	if id.Type == authz.ServiceType || id.Account == "" {
		return k.rec.Account
	}
	return id.Account
}

func (s *Service) grantByID(k *key, id string) *grant {
	for _, g := range s.view.grantList(k.rec.Region, k.rec.ID) {
		if g.rec.ID == id {
			return g
		}
	}
	return nil
}

// sameContext compares two constraint contexts, telling an absent one (nil)
// from an empty one.
func sameContext(a, b map[string]string) bool {
	return (a == nil) == (b == nil) && maps.Equal(a, b)
}

// admits is how grantsFor chooses the grants that may allow a CreateGrant:
// "the grantee principal can only create grants that allow some or all of
// the operations in the parent grant", and "the grant constraints in the
// grants they create must be at least as strict as those in the parent
// grant" (create-grant-overview.md, Granting CreateGrant permission).
// admits reports whether child gives a subset of parent's operations under
// constraints at least as strict: every request child allows, parent
// allows. The child can add pairs to a subset and turn a subset into an
// equals that includes it, "but not the reverse"; it keeps the parent's
// SourceArn.
func admits(parent, child *grantRecord) bool {
	for _, op := range child.Ops {
		if !slices.Contains(parent.Ops, op) {
			return false
		}
	}
	if parent.SourceArn != "" && child.SourceArn != parent.SourceArn {
		return false
	}
	switch {
	case parent.Equals != nil:
		// Only the parent's context satisfies it: the child must allow no
		// other, and the one it allows must satisfy the parent.
		return child.Equals != nil && authz.ContextEquals(parent.Equals, child.Equals) && authz.ContextEquals(child.Equals, parent.Equals)
	case parent.Subset != nil:
		have := child.Equals
		if have == nil {
			have = child.Subset
		}
		// A context that includes the child's pairs includes the parent's.
		return have != nil && authz.ContextIncludes(parent.Subset, have)
	}
	return true
}

func apiGrant(k *key, r grantRecord) kmsapi.GrantListEntry {
	e := kmsapi.GrantListEntry{
		KeyId: wire.Ptr(k.arn), GrantId: wire.Ptr(r.ID), CreationDate: ts(r.Created),
		IssuingAccount: wire.Ptr(r.Issuing), Operations: r.Ops,
	}
	if r.Name != "" {
		e.Name = wire.Ptr(r.Name)
	}
	for _, m := range []struct {
		dst **string
		v   string
	}{{&e.GranteePrincipal, r.Grantee}, {&e.RetiringPrincipal, r.Retiring}, {&e.GranteeServicePrincipal, r.GranteeService}, {&e.RetiringServicePrincipal, r.RetiringService}} {
		if m.v != "" {
			*m.dst = wire.Ptr(m.v)
		}
	}
	if r.constrained() {
		e.Constraints = &kmsapi.GrantConstraints{EncryptionContextEquals: r.Equals, EncryptionContextSubset: r.Subset}
		if r.SourceArn != "" {
			e.Constraints.SourceArn = wire.Ptr(r.SourceArn)
		}
	}
	return e
}

// ListGrants lists a key's grants.
func (s *Service) ListGrants(ctx context.Context, c Caller, in *kmsapi.ListGrantsRequest) (*kmsapi.ListGrantsResponse, error) {
	id, err := c.who()
	if err != nil {
		return nil, err
	}
	// The filters are one principal or the other; the service one only
	// for a service principal's own calls (ListGrants).
	switch {
	case in.GranteePrincipal != nil && in.GranteeServicePrincipal != nil:
		return nil, wire.Validation("You can specify either GranteePrincipal or GranteeServicePrincipal, but not both.")
	case in.GranteeServicePrincipal != nil && id.Type != authz.ServiceType:
		return nil, wire.Validation("GranteeServicePrincipal is usable only by callers in a service principal.")
	}
	k, err := s.keyFor(c, *in.KeyId, keyOnly|crossAccount, access{op: "ListGrants", keys: []string{"kms:GrantIsForAWSResource", grantIsForAWSResource(c)}})
	if err != nil {
		return nil, err
	}
	var gs []grantRecord
	for _, g := range s.view.grantList(k.rec.Region, k.rec.ID) {
		if in.GrantId != nil && g.rec.ID != *in.GrantId {
			continue
		}
		if in.GranteePrincipal != nil && g.rec.Grantee != *in.GranteePrincipal {
			continue
		}
		if in.GranteeServicePrincipal != nil && g.rec.GranteeService != *in.GranteeServicePrincipal {
			continue
		}
		gs = append(gs, g.rec)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].ID < gs[j].ID })
	got, next, err := page(gs, func(r grantRecord) string { return r.ID }, in.Marker, in.Limit, 50)
	if err != nil {
		return nil, err
	}
	out := &kmsapi.ListGrantsResponse{Grants: []kmsapi.GrantListEntry{}, Truncated: wire.Ptr(next != nil), NextMarker: next}
	for _, r := range got {
		out.Grants = append(out.Grants, apiGrant(k, r))
	}
	return out, nil
}

// ListRetirableGrants lists the grants of the account and Region that a
// principal may retire.
func (s *Service) ListRetirableGrants(ctx context.Context, c Caller, in *kmsapi.ListRetirableGrantsRequest) (*kmsapi.ListGrantsResponse, error) {
	id, err := c.who()
	if err != nil {
		return nil, err
	}
	type entry struct {
		k *key
		r grantRecord
	}
	var es []entry
	switch {
	case in.RetiringPrincipal != nil && in.RetiringServicePrincipal != nil:
		return nil, wire.Validation("You must specify either RetiringPrincipal or RetiringServicePrincipal, but not both.")
	case in.RetiringServicePrincipal != nil:
		// A service principal lists the grants it may retire, in every
		// account of the Region (ListRetirableGrants: only callers in a
		// service principal). Each key's grants go through the one door
		// (decideRetirable): a key whose owner denies the service, or an
		// endpoint policy that does not allow the listing, keeps them out,
		// logged; one owner's deny does not fail the listing of the
		// others' grants. The audit note names the keys listed.
		if !authz.ServiceIs(*in.RetiringServicePrincipal, id) {
			return nil, wire.Validation("RetiringServicePrincipal is usable only by callers in that service principal.")
		}
		quiet := c
		quiet.Note = nil
		keys, err := s.view.keysWithGrants(c.Region, "")
		if err != nil {
			return nil, err
		}
		// In ARN order, not the view's map order, so that the audit
		// event names the keys alike every time.
		slices.SortFunc(keys, func(a, b *key) int { return strings.Compare(a.arn, b.arn) })
		for _, k := range keys {
			var mine []grantRecord
			for _, g := range s.view.grantList(k.rec.Region, k.rec.ID) {
				if g.rec.RetiringService == *in.RetiringServicePrincipal {
					mine = append(mine, g.rec)
				}
			}
			if len(mine) == 0 {
				continue
			}
			d, err := s.authorize(quiet, k, access{op: "ListRetirableGrants", retirable: true})
			if err != nil {
				continue
			}
			c.Note.add(k, d)
			for _, r := range mine {
				es = append(es, entry{k, r})
			}
		}
	case in.RetiringPrincipal == nil:
		return nil, wire.Validation("1 validation error detected: Value null at 'retiringPrincipal' failed to satisfy constraint: Member must not be null")
	default:
		// "The authorized resource in ListRetirableGrants calls is the
		// retiring principal specified in the request", by the caller
		// account's IAM policies (ListRetirableGrants, API reference).
		if err := s.authorizeAccount(c, "kms:ListRetirableGrants", *in.RetiringPrincipal); err != nil {
			return nil, err
		}
		keys, err := s.view.keysWithGrants(c.Region, c.Account)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			for _, g := range s.view.grantList(k.rec.Region, k.rec.ID) {
				if g.rec.Retiring == *in.RetiringPrincipal {
					es = append(es, entry{k, g.rec})
				}
			}
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].r.ID < es[j].r.ID })
	got, next, err := page(es, func(e entry) string { return e.r.ID }, in.Marker, in.Limit, 50)
	if err != nil {
		return nil, err
	}
	out := &kmsapi.ListGrantsResponse{Grants: []kmsapi.GrantListEntry{}, Truncated: wire.Ptr(next != nil), NextMarker: next}
	for _, e := range got {
		out.Grants = append(out.Grants, apiGrant(e.k, e.r))
	}
	return out, nil
}

// RetireGrant deletes a grant, by its token or by key and grant id. The
// retiring principal may, the grantee may if the grant includes RetireGrant,
// and so may the issuing account through its IAM policies; kms:RetireGrant in
// a key policy has no effect (KMS Developer Guide: retiring and revoking grants).
func (s *Service) RetireGrant(ctx context.Context, c Caller, in *kmsapi.RetireGrantRequest) (*struct{}, error) {
	if _, err := c.who(); err != nil {
		return nil, err
	}
	var g *grant
	var k *key
	switch {
	case in.GrantToken != nil:
		var err error
		if g, k, err = s.grantOfToken(*in.GrantToken); err != nil {
			return nil, err
		}
	case in.KeyId != nil && in.GrantId != nil:
		var err error
		if k, _, err = s.lookup(c, *in.KeyId, keyOnly|crossAccount); err != nil {
			return nil, err
		}
		if g = s.grantByID(k, *in.GrantId); g == nil {
			return nil, kmsapi.NewNotFoundException("Grant ID " + *in.GrantId + " not found")
		}
	default:
		return nil, wire.Validation("Either GrantToken or both KeyId and GrantId must be specified.")
	}
	if _, err := s.authorize(c, k, access{op: "RetireGrant", retire: g}); err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	return &struct{}{}, s.commit(ctx, store.Txn{Deletes: []string{grantPath(g.rec.Account, g.rec.Region, g.rec.KeyID, g.rec.ID)}})
}

// grantOfToken finds the grant a RetireGrant token names, and its key: in
// the view, or in the token if this node cannot have seen the grant yet
// ("you can use a grant token to retire a new grant even before the grant
// achieves eventual consistency", grant-manage.md).
func (s *Service) grantOfToken(token string) (*grant, *key, error) {
	applied := s.follower.Applied()
	cl, ok := s.openToken(token)
	if !ok {
		g := s.view.grantByToken(token)
		if g == nil {
			return nil, nil, invalidGrantToken()
		}
		cl.Grant = g.rec
	}
	k, err := s.view.key(cl.Grant.Region, cl.Grant.KeyID)
	if err != nil {
		return nil, nil, err
	}
	if k == nil || k.rec.Account != cl.Grant.Account {
		return nil, nil, kmsapi.NewNotFoundException("Grant not found")
	}
	g := s.grantByID(k, cl.Grant.ID)
	if g == nil && ok {
		g = s.unseen(cl, applied)
	}
	if g == nil {
		// Retired or revoked since: the token names no grant.
		return nil, nil, invalidGrantToken()
	}
	return g, k, nil
}

// granteeIs reports whether a grant's grantee or retiring principal names
// the caller (or its role), by the unique id it was bound to (bindings).
func granteeIs(principal string, bindings map[string]string, id *authz.Identity) bool {
	return authz.GrantPrincipalIs(principal, bindings[principal], id)
}

// RevokeGrant deletes a grant; the key policy or IAM must allow kms:RevokeGrant.
func (s *Service) RevokeGrant(ctx context.Context, c Caller, in *kmsapi.RevokeGrantRequest) (*struct{}, error) {
	k, err := s.keyFor(c, *in.KeyId, keyOnly|crossAccount, access{op: "RevokeGrant", keys: []string{"kms:GrantIsForAWSResource", grantIsForAWSResource(c)}})
	if err != nil {
		return nil, err
	}
	g := s.grantByID(k, *in.GrantId)
	if g == nil {
		return nil, kmsapi.NewNotFoundException("Grant ID " + *in.GrantId + " not found")
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	return &struct{}{}, s.commit(ctx, store.Txn{Deletes: []string{grantPath(g.rec.Account, g.rec.Region, g.rec.KeyID, g.rec.ID)}})
}

// grantIsForAWSResource is kms:GrantIsForAWSResource of a CreateGrant,
// ListGrants or RevokeGrant: true when a registered service forwarded the
// caller's request, as an AWS service integrated with KMS calls these
// operations on the caller's behalf for its resources (KMS Developer Guide,
// conditions-kms.md, kms:GrantIsForAWSResource).
func grantIsForAWSResource(c Caller) string {
	if c.Request.ViaService != "" {
		return "true"
	}
	return "false"
}
