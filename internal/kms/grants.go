package kms

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	ID        string            `json:"id"`
	KeyID     string            `json:"keyId"`
	Account   string            `json:"account"`
	Region    string            `json:"region"`
	Name      string            `json:"name,omitempty"`
	Created   time.Time         `json:"created"`
	Grantee   string            `json:"grantee"`
	Retiring  string            `json:"retiring,omitempty"`
	Issuing   string            `json:"issuing"` // the issuing account's root ARN
	Ops       []string          `json:"ops"`
	Equals    map[string]string `json:"equals,omitempty"`
	Subset    map[string]string `json:"subset,omitempty"`
	TokenHash string            `json:"tokenHash"` // sha256 of the newest token
	// Bindings binds the grantee and retiring principals that are IAM users
	// or roles, as written, to the unique ids of the entities they named when
	// the grant was created ("" for none), as a saved policy binds them
	// (bindGrantPrincipals).
	Bindings map[string]string `json:"bindings,omitempty"`
}

// grant is a grant as the view holds it.
type grant struct {
	rec    grantRecord
	modRev int64
	authz  *authz.Grant
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
	g := &grant{rec: rec, modRev: kv.ModRev, authz: &authz.Grant{
		ID: rec.ID, GranteePrincipal: rec.Grantee, GranteeID: rec.Bindings[rec.Grantee],
		RetiringPrincipal: rec.Retiring, RetiringID: rec.Bindings[rec.Retiring], Operations: rec.Ops,
		ContextEquals: rec.Equals, ContextSubset: rec.Subset, HasConstraints: rec.Equals != nil || rec.Subset != nil,
	}}
	v.deleteGrant(region, keyID, rec.ID)
	idx := keyIndex(region, keyID)
	v.grants[idx] = append(v.grants[idx][:len(v.grants[idx]):len(v.grants[idx])], g)
	v.tokens[rec.TokenHash] = g
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
	case k.rec.Usage == usageEncrypt && k.rec.Spec == specSymmetric:
		return append(common, "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext")
	case k.rec.Usage == usageEncrypt:
		return append(common, "Decrypt", "Encrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey")
	case k.rec.Usage == usageSign:
		return append(common, "Sign", "Verify", "GetPublicKey")
	case k.rec.Usage == usageMAC:
		return append(common, "GenerateMac", "VerifyMac")
	case k.rec.Usage == usageAgreement:
		return append(common, "DeriveSharedSecret", "GetPublicKey")
	}
	return common
}

// bindGrantPrincipals binds the grantee and retiring principals of a grant
// being created that are IAM users or roles to the unique ids of the entities
// they name now, as AWS binds the principals of a saved policy (IAM User
// Guide, Principal element, "IAM role principals", "IAM user principals"): a
// user or role deleted and created again under the same name is not the
// grantee. A principal naming no entity binds to nothing and matches no one.
func (s *Service) bindGrantPrincipals(principals ...string) map[string]string {
	var out map[string]string
	for _, p := range principals {
		if p == "" || !bindableARN(p) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		if s.principals != nil {
			out[p], _ = s.principals.PrincipalID(p)
		} else {
			out[p] = ""
		}
	}
	return out
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
	if in.GranteeServicePrincipal != nil || in.RetiringServicePrincipal != nil {
		return nil, kmsapi.NewUnsupportedOperationException("Service principals as grantees are not supported by this server yet.")
	}
	if in.GranteePrincipal == nil {
		return nil, wire.Validation("1 validation error detected: Value null at 'granteePrincipal' failed to satisfy constraint: Member must not be null")
	}
	if len(in.Operations) == 0 {
		return nil, wire.Validation("1 validation error detected: Value null at 'operations' failed to satisfy constraint: Member must not be null")
	}
	grantee, err := principalARN(*in.GranteePrincipal)
	if err != nil {
		return nil, err
	}
	var retiring string
	if in.RetiringPrincipal != nil {
		if retiring, err = principalARN(*in.RetiringPrincipal); err != nil {
			return nil, err
		}
	}
	var equals, subset map[string]string
	constraint := ""
	if in.Constraints != nil {
		equals, subset = in.Constraints.EncryptionContextEquals, in.Constraints.EncryptionContextSubset
		if equals != nil && subset != nil {
			return nil, wire.Validation("EncryptionContextEquals and EncryptionContextSubset cannot both be specified.")
		}
		if equals != nil {
			constraint = "EncryptionContextEquals"
		} else if subset != nil {
			constraint = "EncryptionContextSubset"
		}
	}
	ops := slices.Clone(in.Operations)
	sort.Strings(ops)
	ops = slices.Compact(ops)
	a := access{op: "CreateGrant", keys: []string{"kms:GranteePrincipal", grantee, "kms:GrantIsForAWSResource", "false"}}
	if retiring != "" {
		a.keys = append(a.keys, "kms:RetiringPrincipal", retiring)
	}
	for _, op := range ops {
		a.keys = append(a.keys, "kms:GrantOperations", op)
	}
	if constraint != "" {
		a.keys = append(a.keys, "kms:GrantConstraintType", constraint)
	}
	k, dec, err := s.grantAuthority(c, *in.KeyId, a)
	if err != nil {
		return nil, err
	}
	switch k.rec.State {
	case Disabled:
		return nil, kmsapi.NewDisabledException(k.arn + " is disabled.")
	case PendingDeletion:
		return nil, kmsapi.NewKMSInvalidStateException(k.arn + " is pending deletion.")
	case PendingImport:
		return nil, kmsapi.NewKMSInvalidStateException(k.arn + " is pending import.")
	}
	valid := grantOps(k)
	for _, op := range ops {
		if !slices.Contains(valid, op) {
			return nil, wire.Validation("Grant operations " + op + " are not valid for a key with KeyUsage " + k.rec.Usage + " and KeySpec " + k.rec.Spec + ".")
		}
	}
	if constraint != "" && (k.rec.Spec != specSymmetric || k.rec.Usage != usageEncrypt) {
		return nil, wire.Validation("Grant constraints are not supported for asymmetric or HMAC KMS keys.")
	}
	// A grant that only passes on a grant's CreateGrant may give no more than
	// that grant has, with equal or stricter constraints (grants.md).
	if dec.By == "grant" {
		if parent := s.grantByID(k, dec.GrantID); parent != nil && !narrower(parent.rec, ops, equals, subset) {
			return nil, accessDenied(authz.NoIdentityAllow.Message(c.identity().ARN, "kms:CreateGrant", k.arn))
		}
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	token, hash, err := s.newGrantToken()
	if err != nil {
		return nil, err
	}
	bindings := s.bindGrantPrincipals(grantee, retiring)
	// A retried request with the same Name and parameters returns the grant
	// it made, with a new token (CreateGrant: Name); a grant bound to a
	// principal since deleted is not the one a retry means.
	for _, g := range s.view.grantList(k.rec.Region, k.rec.ID) {
		r := g.rec
		if in.Name != nil && r.Name == *in.Name && r.Grantee == grantee && r.Retiring == retiring && slices.Equal(r.Ops, ops) && maps.Equal(r.Equals, equals) && maps.Equal(r.Subset, subset) && maps.Equal(r.Bindings, bindings) {
			r.TokenHash = hash
			p := grantPath(k.rec.Account, k.rec.Region, k.rec.ID, r.ID)
			if err := s.commit(ctx, store.Txn{Puts: []store.KV{{Key: p, Value: marshal(r)}}}); err != nil {
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
		Created: s.now().UTC(), Grantee: grantee, Retiring: retiring, Issuing: arn.RootARN(c.identity().Account),
		Ops: ops, Equals: equals, Subset: subset, TokenHash: hash, Bindings: bindings,
	}
	p := grantPath(k.rec.Account, k.rec.Region, k.rec.ID, rec.ID)
	err = s.commit(ctx, store.Txn{
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
	return &kmsapi.CreateGrantResponse{GrantId: wire.Ptr(rec.ID), GrantToken: wire.Ptr(token)}, nil
}

// grantAuthority resolves the key of a grant request and authorizes it,
// returning the decision (to see whether a grant allowed it).
func (s *Service) grantAuthority(c Caller, id string, a access) (*key, authz.KeyDecision, error) {
	k, _, err := s.lookup(c, id, keyOnly|crossAccount)
	if err != nil {
		return nil, authz.KeyDecision{}, err
	}
	ident := c.identity()
	d := s.decide(c, ident, k, a, s.view.grantsOf(k))
	if !d.Allowed() {
		return nil, d, accessDenied(d.Reason.Message(ident.ARN, a.actionName(), k.arn))
	}
	return k, d, nil
}

func (s *Service) grantByID(k *key, id string) *grant {
	for _, g := range s.view.grantList(k.rec.Region, k.rec.ID) {
		if g.rec.ID == id {
			return g
		}
	}
	return nil
}

// narrower reports whether a new grant gives a subset of parent's operations
// with constraints at least as strict.
func narrower(parent grantRecord, ops []string, equals, subset map[string]string) bool {
	for _, op := range ops {
		if !slices.Contains(parent.Ops, op) {
			return false
		}
	}
	switch {
	case parent.Equals != nil:
		return maps.Equal(parent.Equals, equals)
	case parent.Subset != nil:
		// Stricter: the child's pairs include all of the parent's.
		have := equals
		if have == nil {
			have = subset
		}
		for k, v := range parent.Subset {
			if have[k] != v {
				return false
			}
		}
	}
	return true
}

// newGrantToken makes a grant token and the hash the store keeps of it.
func (s *Service) newGrantToken() (token, hash string, err error) {
	b := make([]byte, 48)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(token))
	return token, hex.EncodeToString(h[:]), nil
}

func apiGrant(k *key, r grantRecord) kmsapi.GrantListEntry {
	e := kmsapi.GrantListEntry{
		KeyId: wire.Ptr(k.arn), GrantId: wire.Ptr(r.ID), CreationDate: ts(r.Created), GranteePrincipal: wire.Ptr(r.Grantee),
		IssuingAccount: wire.Ptr(r.Issuing), Operations: r.Ops,
	}
	if r.Name != "" {
		e.Name = wire.Ptr(r.Name)
	}
	if r.Retiring != "" {
		e.RetiringPrincipal = wire.Ptr(r.Retiring)
	}
	if r.Equals != nil || r.Subset != nil {
		e.Constraints = &kmsapi.GrantConstraints{EncryptionContextEquals: r.Equals, EncryptionContextSubset: r.Subset}
	}
	return e
}

// ListGrants lists a key's grants.
func (s *Service) ListGrants(ctx context.Context, c Caller, in *kmsapi.ListGrantsRequest) (*kmsapi.ListGrantsResponse, error) {
	k, err := s.keyFor(c, *in.KeyId, keyOnly|crossAccount, access{op: "ListGrants"})
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
	if in.RetiringPrincipal == nil {
		return nil, wire.Validation("1 validation error detected: Value null at 'retiringPrincipal' failed to satisfy constraint: Member must not be null")
	}
	if err := s.authorizeAccount(c, "kms:ListRetirableGrants", "*"); err != nil {
		return nil, err
	}
	type entry struct {
		k *key
		r grantRecord
	}
	var es []entry
	for _, k := range s.view.keysOf(c.Account, c.Region) {
		for _, g := range s.view.grantList(k.rec.Region, k.rec.ID) {
			if g.rec.Retiring == *in.RetiringPrincipal {
				es = append(es, entry{k, g.rec})
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
	var g *grant
	var k *key
	switch {
	case in.GrantToken != nil:
		if g = s.view.grantByToken(*in.GrantToken); g == nil {
			return nil, kmsapi.NewInvalidGrantTokenException("Grant token is not valid")
		}
		if k = s.view.key(g.rec.Region, g.rec.KeyID); k == nil {
			return nil, kmsapi.NewNotFoundException("Grant not found")
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
	id := c.identity()
	// A Deny of kms:RetireGrant still stops those the grant lets retire it
	// (KMS Developer Guide: retiring and revoking grants).
	if err := s.deniedExplicitly(c, k, access{op: "RetireGrant"}); err != nil {
		return nil, err
	}
	allowed := authz.GrantPrincipalIs(g.rec.Retiring, g.rec.Bindings[g.rec.Retiring], id) ||
		(authz.GrantPrincipalIs(g.rec.Grantee, g.rec.Bindings[g.rec.Grantee], id) && slices.Contains(g.rec.Ops, "RetireGrant"))
	if !allowed && g.rec.Issuing == arn.RootARN(id.Account) {
		allowed = s.authorizeAccount(c, "kms:RetireGrant", k.arn) == nil
	}
	if !allowed {
		return nil, accessDenied(authz.NoIdentityAllow.Message(id.ARN, "kms:RetireGrant", k.arn))
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	return &struct{}{}, s.commit(ctx, store.Txn{Deletes: []string{grantPath(g.rec.Account, g.rec.Region, g.rec.KeyID, g.rec.ID)}})
}

// RevokeGrant deletes a grant; the key policy or IAM must allow kms:RevokeGrant.
func (s *Service) RevokeGrant(ctx context.Context, c Caller, in *kmsapi.RevokeGrantRequest) (*struct{}, error) {
	k, err := s.keyFor(c, *in.KeyId, keyOnly|crossAccount, access{op: "RevokeGrant"})
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
