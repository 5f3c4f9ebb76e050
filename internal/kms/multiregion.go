package kms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// Multi-Region keys (KMS Developer Guide: multi-region-keys-overview). A
// family is the keys of one account with the same mrk- id, one per Region;
// each member is an ordinary key record in its Region whose PrimaryRegion
// names the primary's Region. The shared properties (key spec, usage,
// origin, material and its rotation) are written to every member in one
// store transaction, so no node ever sees a family out of step.
//
// This deployment replicates only among the Regions it serves
// (Options.Regions); Regions served elsewhere need a peering protocol that
// does not exist yet.

const (
	mrkPrimary = "PRIMARY"
	mrkReplica = "REPLICA"
)

// newMultiRegionKeyID returns "mrk-" and 32 hex digits, the form of AWS's
// multi-Region key ids.
func (s *Service) newMultiRegionKeyID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", err
	}
	return fmt.Sprintf("mrk-%x", b[:]), nil
}

// checkNewMultiRegion is CreateKey's check of MultiRegion true for a key of
// origin whose backend can do bc: keys in custom key stores cannot be
// multi-Region (CreateKey, MultiRegion).
func checkNewMultiRegion(origin Origin, bc backendCaps) error {
	switch {
	case !bc.multiRegion:
		return kmsapi.NewUnsupportedOperationException("Multi-Region keys are not supported in custom key stores.")
	case origin == originExternal:
		// AWS allows them, with the same material imported into every
		// member; this server does not track that yet.
		return kmsapi.NewUnsupportedOperationException("Multi-Region keys with imported key material (Origin EXTERNAL) are not supported by this server yet.")
	}
	return nil
}

// multiRegionConfiguration describes k's family as DescribeKey shows it.
func (s *Service) multiRegionConfiguration(k *key) *kmsapi.MultiRegionConfiguration {
	r := &k.rec
	typ := mrkPrimary
	if r.replica() {
		typ = mrkReplica
	}
	out := &kmsapi.MultiRegionConfiguration{
		MultiRegionKeyType: wire.Ptr(typ),
		PrimaryKey:         &kmsapi.MultiRegionKey{Arn: wire.Ptr(arn.KeyARN(r.PrimaryRegion, r.Account, r.ID)), Region: wire.Ptr(r.PrimaryRegion)},
	}
	fam := s.view.familyRegions(k)
	regions := make([]string, 0, len(fam))
	for _, region := range fam {
		if region != r.PrimaryRegion {
			regions = append(regions, region)
		}
	}
	sort.Strings(regions)
	for _, region := range regions {
		out.ReplicaKeys = append(out.ReplicaKeys, kmsapi.MultiRegionKey{Arn: wire.Ptr(arn.KeyARN(region, r.Account, r.ID)), Region: wire.Ptr(region)})
	}
	return out
}

// MultiRegionKeyUsage returns the ARNs of an account's multi-Region keys by
// Region, for iam to refuse deleting their service-linked role.
func (s *Service) MultiRegionKeyUsage(account string) map[string][]string {
	out := map[string][]string{}
	out = s.view.multiRegionKeyARNs(account)
	for _, arns := range out {
		sort.Strings(arns)
	}
	return out
}

// updateFamily is update for every member of k's multi-Region key (just k
// for a single-Region key): fn gets fresh copies of the members' records by
// Region and may add puts and deletes to txn; all the records are written
// in one transaction, conditional on the revisions they were read at, so a
// change of a shared property commits in every Region or in none. A
// concurrent writer makes it read again and retry, so fn may run more than
// once. Members share a key id, hence one of s.writeLocks.
func (s *Service) updateFamily(ctx context.Context, k *key, fn func(recs map[string]*keyRecord, txn *store.Txn) error) error {
	mu := &s.writeLocks[lockIndex(k.rec.ID)]
	mu.Lock()
	defer mu.Unlock()
	for attempt := 0; ; attempt++ {
		fam, err := s.view.familyOf(k)
		if err != nil {
			return err
		}
		if fam[k.rec.Region] == nil {
			return notFoundKey(k.arn)
		}
		regions := make([]string, 0, len(fam))
		for region := range fam {
			regions = append(regions, region)
		}
		sort.Strings(regions)
		recs := make(map[string]*keyRecord, len(fam))
		var txn store.Txn
		for _, region := range regions {
			m := fam[region]
			rec := cloneRecord(m.rec)
			recs[region] = &rec
			txn.Compares = append(txn.Compares, store.Compare{Key: keyPath(rec.Account, region, rec.ID), ModRev: m.modRev})
		}
		if err := fn(recs, &txn); err != nil {
			return err
		}
		for _, region := range regions {
			rec := recs[region]
			txn.Puts = append(txn.Puts, storedKey(*rec)...)
		}
		rev, err := s.st.Txn(ctx, txn)
		if err == nil {
			return s.follower.Wait(ctx, rev)
		}
		if !errors.Is(err, store.ErrConflict) || attempt >= 8 {
			return err
		}
		// Catch up with whatever won before reading the family again.
		var newest int64
		for _, region := range regions {
			kv, gerr := s.st.Get(ctx, keyPath(k.rec.Account, region, k.rec.ID))
			if errors.Is(gerr, store.ErrNotFound) {
				continue
			}
			if gerr != nil {
				return gerr
			}
			newest = max(newest, kv.ModRev)
		}
		if err := s.follower.Wait(ctx, newest); err != nil {
			return err
		}
	}
}

// addFamilyMaterial generates one new version of material and makes it
// current in every member, each sealed under its own ARN (materialAAD), so
// a blob made in any Region decrypts in all of them.
func (s *Service) addFamilyMaterial(recs map[string]*keyRecord, txn *store.Txn, rotationType string) error {
	raw, err := keys.Generate(s.rand, keys.SpecSymmetricDefault)
	if err != nil {
		return err
	}
	defer clear(raw)
	id, err := keys.NewMaterialID(s.rand)
	if err != nil {
		return err
	}
	for _, r := range recs {
		m, kv, err := s.sealMaterial(r.Account, r.Region, r.ID, keys.SpecSymmetricDefault, id, raw, material{RotationType: rotationType})
		if err != nil {
			return err
		}
		txn.Compares = append(txn.Compares, store.Compare{Key: kv.Key})
		// Material records go before the key records that name them.
		txn.Puts = append(txn.Puts, kv)
		r.Materials = append(r.Materials, m)
		r.CurrentMaterial = m.ID
	}
	return nil
}

// notReplica refuses operations on a shared property that only the primary
// key may change (multi-region-keys-overview.md: shared properties).
func notReplica(k *key) error {
	if k.rec.replica() {
		return kmsapi.NewUnsupportedOperationException(k.arn + " is a multi-Region replica key; its shared properties change only through its primary key " + arn.KeyARN(k.rec.PrimaryRegion, k.rec.Account, k.rec.ID) + ".")
	}
	return nil
}

// serves reports whether this deployment serves a Region.
func (s *Service) serves(region string) bool {
	return slices.Contains(s.regions, region)
}

// ReplicateKey creates a replica of a multi-Region primary key in another
// Region this deployment serves: the same id and material (each version
// re-sealed under the replica's ARN), its own policy, description and tags.
// The replica is Enabled when the call returns: AWS shows the transient
// state Creating, which a single transaction has no need for.
func (s *Service) ReplicateKey(ctx context.Context, c Caller, in *kmsapi.ReplicateKeyRequest) (*kmsapi.ReplicateKeyResponse, error) {
	region := *in.ReplicaRegion
	// kms:ReplicateKey on the primary, in its key policy or IAM policies
	// (multi-region-keys-auth.md: replicating keys); kms:ReplicaRegion limits it.
	k, err := s.keyForOp(c, "ReplicateKey", *in.KeyId, keyOnly, access{op: "ReplicateKey", keys: []string{"kms:replicaregion", region}})
	if err != nil {
		return nil, err
	}
	if !k.rec.multiRegion() || k.rec.replica() {
		return nil, kmsapi.NewUnsupportedOperationException(k.arn + " is not a multi-region primary key.")
	}
	if region == k.rec.Region {
		return nil, wire.Validation("The replica Region " + region + " must differ from the Region of the primary key " + k.arn + ".")
	}
	if !s.serves(region) {
		return nil, kmsapi.NewUnsupportedOperationException("Region " + region + " is not served by this Trent deployment; replicating to a Region served by another deployment is not supported yet.")
	}
	replicaARN := arn.KeyARN(region, k.rec.Account, k.rec.ID)
	if s.view.hasKey(region, k.rec.ID) {
		return nil, kmsapi.NewAlreadyExistsException("Multi-Region key " + k.rec.ID + " already has a replica in " + region + ": " + replicaARN + ".")
	}
	// kms:CreateKey (and kms:TagResource for Tags) in an IAM policy that is
	// effective in the replica Region (ReplicateKey, required permissions).
	rc := c
	rc.Region, rc.Request.Region = region, region
	cond := []string{"kms:KeySpec", k.rec.Spec.String(), "kms:CustomerMasterKeySpec", k.rec.Spec.String(), "kms:KeyUsage", k.rec.Usage.String(), "kms:CustomerMasterKeyUsage", k.rec.Usage.String(),
		"kms:KeyOrigin", k.rec.Origin.String(), "kms:MultiRegion", "true", "kms:MultiRegionKeyType", mrkReplica,
		"kms:BypassPolicyLockoutSafetyCheck", boolString(wire.Bool(in.BypassPolicyLockoutSafetyCheck))}
	var tagCond []string
	for _, t := range in.Tags {
		tagCond = append(tagCond, "aws:RequestTag/"+wire.String(t.TagKey), wire.String(t.TagValue), "aws:TagKeys", wire.String(t.TagKey))
	}
	if err := s.authorizeAccount(rc, "kms:CreateKey", "*", append(cond, tagCond...)...); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 {
		if err := s.authorizeAccount(rc, "kms:TagResource", replicaARN, tagCond...); err != nil {
			return nil, err
		}
	}
	policy := DefaultPolicy(c.Account)
	var bindings map[string]string
	if in.Policy != nil {
		if bindings, err = s.checkKeyPolicy(rc, *in.Policy, replicaARN, k.rec.Account, wire.Bool(in.BypassPolicyLockoutSafetyCheck)); err != nil {
			return nil, err
		}
		policy = *in.Policy
	}
	tags, err := checkTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	err = s.updateFamily(ctx, k, func(recs map[string]*keyRecord, txn *store.Txn) error {
		p := recs[k.rec.Region]
		if p == nil || p.replica() {
			return kmsapi.NewUnsupportedOperationException(k.arn + " is not a multi-region primary key.")
		}
		if err := checkKey(k.fresh(p), "ReplicateKey"); err != nil {
			return err
		}
		if recs[region] != nil {
			return kmsapi.NewAlreadyExistsException("Multi-Region key " + k.rec.ID + " already has a replica in " + region + ": " + replicaARN + ".")
		}
		rec := cloneRecord(*p)
		rec.Region, rec.Created, rec.State = region, stampOf(s.now()), Enabled
		rec.Description, rec.Policy, rec.PolicyBindings, rec.Tags = wire.String(in.Description), policy, bindings, tags
		rec.DeletionDate, rec.PendingWindow = 0, 0
		for _, m := range rec.Materials {
			kv, err := s.resealMaterial(ctx, p, rec.Region, m.ID)
			if err != nil {
				return err
			}
			txn.Puts = append(txn.Puts, kv)
		}
		kp := keyPath(rec.Account, region, rec.ID)
		txn.Compares = append(txn.Compares, store.Compare{Key: kp})
		txn.Puts = append(txn.Puts, storedKey(rec)...)
		// The replica is a key of its Region's quota.
		if err := s.counted(ctx, s.keysQuota(rec.Account, region), txn); err != nil {
			return err
		}
		// The primary's record is rewritten unchanged (updateFamily puts it),
		// which orders this against concurrent rotations of the family.
		return nil
	})
	if err != nil {
		return nil, err
	}
	r, err := s.view.key(region, k.rec.ID)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, notFoundKey(replicaARN)
	}
	md := s.metadata(r)
	// AWS answers while the replica is still being created, before it has
	// material to name (ReplicateKey's ReplicaKeyMetadata).
	md.CurrentKeyMaterialId = nil
	out := &kmsapi.ReplicateKeyResponse{ReplicaKeyMetadata: md, ReplicaPolicy: wire.Ptr(s.displayPolicy(r.rec.Policy, r.rec.PolicyBindings))}
	for _, t := range r.rec.Tags {
		out.ReplicaTags = append(out.ReplicaTags, kmsapi.Tag{TagKey: wire.Ptr(t.Key), TagValue: wire.Ptr(t.Value)})
	}
	return out, nil
}

// resealMaterial reads one sealed version of a key's material and seals it
// again for the same key id in another Region, whose ARN is its associated
// data; the plaintext lives only within this call.
func (s *Service) resealMaterial(ctx context.Context, from *keyRecord, region, materialID string) (store.KV, error) {
	kv, err := s.st.Get(ctx, materialPath(from.Account, from.Region, from.ID, materialID))
	if err != nil {
		return store.KV{}, fmt.Errorf("material %s of %s: %w", materialID, from.ID, err)
	}
	var mr materialRecord
	if err := json.Unmarshal(kv.Value, &mr); err != nil {
		return store.KV{}, fmt.Errorf("material %s of %s: %w", materialID, from.ID, err)
	}
	raw, err := s.sealer.Open(mr.Sealed, s.materialAAD(from.Account, from.Region, from.ID, materialID))
	if err != nil {
		return store.KV{}, fmt.Errorf("material %s of %s: %w", materialID, from.ID, err)
	}
	defer clear(raw)
	sealed, err := s.sealer.Seal(raw, s.materialAAD(from.Account, region, from.ID, materialID))
	if err != nil {
		return store.KV{}, err
	}
	mr.Sealed = sealed
	return store.KV{Key: materialPath(from.Account, region, from.ID, materialID), Value: marshal(mr)}, nil
}

// UpdatePrimaryRegion makes the replica in another Region the primary key
// and the primary a replica, in one transaction over the family. AWS shows
// both keys Updating for a while; here the change is atomic, so they keep
// their states.
func (s *Service) UpdatePrimaryRegion(ctx context.Context, c Caller, in *kmsapi.UpdatePrimaryRegionRequest) (Empty, error) {
	region := *in.PrimaryRegion
	a := access{op: "UpdatePrimaryRegion", keys: []string{"kms:primaryregion", region}}
	k, err := s.keyForOp(c, "UpdatePrimaryRegion", *in.KeyId, keyOnly, a)
	if err != nil {
		return nil, err
	}
	if !k.rec.multiRegion() || k.rec.replica() {
		return nil, kmsapi.NewUnsupportedOperationException(k.arn + " is not a multi-region primary key.")
	}
	if region == k.rec.Region {
		return nil, wire.Validation("The primary Region " + region + " is already the Region of the primary key " + k.arn + ".")
	}
	r, err := s.view.key(region, k.rec.ID)
	if err != nil {
		return nil, err
	}
	if r == nil || r.rec.Account != k.rec.Account {
		return nil, notFoundKey(arn.KeyARN(region, k.rec.Account, k.rec.ID))
	}
	// kms:UpdatePrimaryRegion on the replica too, effective in its Region
	// (multi-region-keys-auth.md: updating the primary Region).
	rc := c
	rc.Region, rc.Request.Region = region, region
	if _, err := s.authorize(rc, r, a); err != nil {
		return nil, err
	}
	err = s.updateFamily(ctx, k, func(recs map[string]*keyRecord, _ *store.Txn) error {
		p, n := recs[k.rec.Region], recs[region]
		if p == nil || p.replica() {
			return kmsapi.NewUnsupportedOperationException(k.arn + " is not a multi-region primary key.")
		}
		if n == nil {
			return notFoundKey(r.arn)
		}
		// The key-state table: both keys must be usable.
		for _, m := range []*key{k.fresh(p), r.fresh(n)} {
			if err := checkKey(m, "UpdatePrimaryRegion"); err != nil {
				return err
			}
		}
		for _, rec := range recs {
			rec.PrimaryRegion = region
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// primaryWithReplicas refuses to schedule the deletion of a primary key
// that still has replicas. AWS accepts it and holds the key in
// PendingReplicaDeletion until the last replica is deleted; this server
// asks for the replicas to be deleted first (multi-region-keys-delete.md),
// or the primary moved with UpdatePrimaryRegion.
func (s *Service) primaryWithReplicas(k *key) error {
	if !k.rec.multiRegion() || k.rec.replica() {
		return nil
	}
	fam := s.view.familyRegions(k)
	if len(fam) <= 1 {
		return nil
	}
	var regions []string
	for _, region := range fam {
		if region != k.rec.Region {
			regions = append(regions, region)
		}
	}
	sort.Strings(regions)
	return kmsapi.NewKMSInvalidStateException(k.arn + " is a multi-Region primary key with replica keys in " + strings.Join(regions, ", ") + ". Delete its replica keys first, or make another Region primary with UpdatePrimaryRegion.")
}
