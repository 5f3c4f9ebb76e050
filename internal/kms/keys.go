package kms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

const (
	defaultWindow  = 30
	defaultPeriod  = 365
	maxKeyPolicy   = 32768
	defaultPolicy  = "default"
	keyManagerCust = "CUSTOMER"
)

// DefaultPolicy is the key policy AWS gives a key created without one: it
// lets the account's IAM policies control access (KMS Developer Guide,
// "Default key policy"). AWS returns it in exactly this layout.
func DefaultPolicy(account string) string {
	return `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "` + arn.RootARN(account) + `"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`
}

func (s *Service) newKeyID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40 // a version 4 UUID, as AWS key ids are
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// CreateKey creates a key of any spec, with material KMS generates or, for
// Origin EXTERNAL, none until ImportKeyMaterial.
func (s *Service) CreateKey(ctx context.Context, c Caller, in *kmsapi.CreateKeyRequest) (*kmsapi.CreateKeyResponse, error) {
	spec := wire.String(in.KeySpec)
	if in.CustomerMasterKeySpec != nil {
		if in.KeySpec != nil {
			return nil, wire.Validation("You cannot specify both KeySpec and CustomerMasterKeySpec. Use only KeySpec, because CustomerMasterKeySpec is deprecated.")
		}
		spec = *in.CustomerMasterKeySpec
	}
	if spec == "" {
		spec = keys.SpecSymmetricDefault.String()
	}
	usage := wire.String(in.KeyUsage)
	if usage == "" {
		if spec != keys.SpecSymmetricDefault.String() {
			return nil, wire.Validation("You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.")
		}
		usage = keys.UsageEncryptDecrypt.String()
	}
	ks, err := keys.ParseSpec(spec)
	if err != nil {
		return nil, wire.Validation("KeySpec " + spec + " is not valid.")
	}
	ku, err := keys.ParseUsage(usage)
	if err != nil || !ks.Allows(ku) {
		return nil, wire.Validation("KeyUsage " + usage + " is not compatible with KeySpec " + spec)
	}
	originName := wire.String(in.Origin)
	if originName == "" {
		originName = originAWSKMS.String()
	}
	origin, _ := parseOrigin(originName) // 0, unknown, is refused by admit
	// Where the key's cryptography will happen decides what else it needs
	// (backend.go): the checks before authorization, ...
	maker := s.backendOf(origin)
	cks, err := maker.admit(c, origin, in, ks, ku)
	if err != nil {
		return nil, err
	}
	multi := wire.Bool(in.MultiRegion)
	if multi {
		if err := checkNewMultiRegion(origin, maker.caps()); err != nil {
			return nil, err
		}
	}
	// CreateKey is authorized by IAM alone (KMS Developer Guide: kms:CreateKey),
	// with the new key's attributes and tags as condition keys.
	cond := []string{"kms:KeySpec", spec, "kms:CustomerMasterKeySpec", spec, "kms:KeyUsage", usage, "kms:CustomerMasterKeyUsage", usage,
		"kms:KeyOrigin", originName, "kms:MultiRegion", boolString(multi), "kms:BypassPolicyLockoutSafetyCheck", boolString(wire.Bool(in.BypassPolicyLockoutSafetyCheck))}
	if multi {
		cond = append(cond, "kms:MultiRegionKeyType", mrkPrimary)
	}
	for _, t := range in.Tags {
		cond = append(cond, "aws:RequestTag/"+wire.String(t.TagKey), wire.String(t.TagValue), "aws:TagKeys", wire.String(t.TagKey))
	}
	if err := s.authorizeAccount(c, "kms:CreateKey", "*", cond...); err != nil {
		return nil, err
	}
	// Before anything is made in a token or asked of a proxy; the commit
	// checks again, in order with concurrent creations.
	if q := s.keysQuota(c.Account, c.Region); q.count() >= q.max {
		return nil, q.exceeded(q.count())
	}
	// ... those that ask the key's store, after authorization ...
	if cks, err = maker.ready(ctx, c, in, ks, ku, cks); err != nil {
		return nil, err
	}
	newID := s.newKeyID
	if multi {
		// Every multi-Region primary key (re)creates the role that keeps the
		// family synchronized (multi-region-keys-auth.md: service-linked role).
		if s.roles != nil {
			if err := s.roles.EnsureMultiRegionKeyRole(ctx, c.Identity, c.Request); err != nil {
				return nil, err
			}
		}
		newID = s.newMultiRegionKeyID
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	policy := DefaultPolicy(c.Account)
	var bindings map[string]string
	if in.Policy != nil {
		if bindings, err = s.checkKeyPolicy(c, *in.Policy, arn.KeyARN(c.Region, c.Account, id), c.Account, wire.Bool(in.BypassPolicyLockoutSafetyCheck)); err != nil {
			return nil, err
		}
		policy = *in.Policy
	}
	tags, err := checkTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	rec := keyRecord{
		ID: id, Account: c.Account, Region: c.Region, Created: stampOf(s.now()),
		Description: wire.String(in.Description), State: Enabled,
		Usage: ku, Spec: ks, Origin: origin, Policy: policy, PolicyBindings: bindings, Tags: tags,
	}
	if multi {
		rec.PrimaryRegion = c.Region
	}
	kp := keyPath(c.Account, c.Region, id)
	txn := store.Txn{Compares: []store.Compare{{Key: kp}}}
	// ... and its place and first material.
	puts, err := maker.create(ctx, c, &rec, ks, cks, in)
	if err != nil {
		return nil, err
	}
	txn.Puts = append(txn.Puts, puts...)
	txn.Puts = append(txn.Puts, storedKey(rec)...)
	if err := s.commitCounted(ctx, s.keysQuota(c.Account, c.Region), txn); err != nil {
		return nil, err
	}
	k, err := s.view.key(c.Region, id)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, notFoundKey(arn.KeyARN(c.Region, c.Account, id)) // deleted meanwhile
	}
	return &kmsapi.CreateKeyResponse{KeyMetadata: s.metadata(k)}, nil
}

func (s *Service) metadata(k *key) *kmsapi.KeyMetadata {
	r := &k.rec
	md := &kmsapi.KeyMetadata{
		AWSAccountId:          wire.Ptr(r.Account),
		KeyId:                 wire.Ptr(r.ID),
		Arn:                   wire.Ptr(k.arn),
		CreationDate:          ts(r.Created.Time()),
		Enabled:               wire.Ptr(k.state() == Enabled),
		Description:           wire.Ptr(r.Description),
		KeyUsage:              wire.Ptr(r.Usage.String()),
		KeyState:              wire.Ptr(k.state().String()),
		Origin:                wire.Ptr(r.Origin.String()),
		KeyManager:            wire.Ptr(keyManagerCust),
		CustomerMasterKeySpec: wire.Ptr(r.Spec.String()),
		KeySpec:               wire.Ptr(r.Spec.String()),
		MultiRegion:           wire.Ptr(r.multiRegion()),
	}
	if r.multiRegion() {
		md.MultiRegionConfiguration = s.multiRegionConfiguration(k)
	}
	// The algorithm lists follow the key usage: an RSA signing key lists
	// only its signing algorithms (DescribeKey, KeyMetadata).
	spec := r.Spec
	switch r.Usage {
	case keys.UsageEncryptDecrypt:
		md.EncryptionAlgorithms = keys.Names(spec.EncryptionAlgorithms())
	case keys.UsageSignVerify:
		md.SigningAlgorithms = keys.Names(spec.SigningAlgorithms())
	case keys.UsageGenerateVerifyMAC:
		md.MacAlgorithms = keys.Names(spec.MACAlgorithms())
	case keys.UsageKeyAgreement:
		md.KeyAgreementAlgorithms = keys.Names(spec.KeyAgreementAlgorithms())
	}
	if model, validTo := r.importExpiry(); r.Origin == originExternal && model != "" {
		md.ExpirationModel = wire.Ptr(model)
		if !validTo.IsZero() {
			md.ValidTo = ts(validTo)
		}
	}
	s.backend(k).describe(r, md)
	// Only keys that rotate have a current material to name: symmetric
	// encryption keys of origin AWS_KMS or EXTERNAL (KeyMetadata,
	// CurrentKeyMaterialId), the latter once material was imported.
	if r.CurrentMaterial != "" && r.Spec == keys.SpecSymmetricDefault && (r.Origin == originAWSKMS || r.Origin == originExternal) {
		md.CurrentKeyMaterialId = wire.Ptr(r.CurrentMaterial)
	}
	// PendingDeletionWindowInDays belongs to PendingReplicaDeletion alone
	// (KeyMetadata), a state this server does not have (see
	// primaryWithReplicas).
	if r.State == PendingDeletion {
		md.DeletionDate = ts(r.DeletionDate.Time())
	}
	return md
}

// DescribeKey returns a key's metadata.
func (s *Service) DescribeKey(ctx context.Context, c Caller, in *kmsapi.DescribeKeyRequest) (*kmsapi.DescribeKeyResponse, error) {
	c.grantTokens = in.GrantTokens
	k, err := s.keyFor(c, *in.KeyId, keyOrAlias|crossAccount, access{op: "DescribeKey"})
	if err != nil {
		return nil, err
	}
	return &kmsapi.DescribeKeyResponse{KeyMetadata: s.metadata(k)}, nil
}

// page cuts a sorted list at the marker (the first element it names) and the
// limit, and says where the next page starts.
func page[T any](items []T, name func(T) string, marker *string, limit *int32, def int32) ([]T, *string, error) {
	start := 0
	if marker != nil {
		start = sort.Search(len(items), func(i int) bool { return name(items[i]) >= *marker })
		if start == len(items) || name(items[start]) != *marker {
			return nil, nil, kmsapi.NewInvalidMarkerException("Invalid marker")
		}
	}
	n := def
	if limit != nil {
		n = *limit
	}
	end := start + int(n)
	if end >= len(items) {
		return items[start:], nil, nil
	}
	return items[start:end], wire.Ptr(name(items[end])), nil
}

// ListKeys lists the caller's keys in this Region.
func (s *Service) ListKeys(ctx context.Context, c Caller, in *kmsapi.ListKeysRequest) (*kmsapi.ListKeysResponse, error) {
	if err := s.authorizeAccount(c, "kms:ListKeys", "*"); err != nil {
		return nil, err
	}
	ids := s.view.keyIDs(c.Account, c.Region)
	got, next, err := page(ids, func(id string) string { return id }, in.Marker, in.Limit, 100)
	if err != nil {
		return nil, err
	}
	out := &kmsapi.ListKeysResponse{Truncated: wire.Ptr(next != nil), NextMarker: next}
	for _, id := range got {
		out.Keys = append(out.Keys, kmsapi.KeyListEntry{KeyId: wire.Ptr(id), KeyArn: wire.Ptr(arn.KeyARN(c.Region, c.Account, id))})
	}
	return out, nil
}

// UpdateKeyDescription replaces a key's description.
func (s *Service) UpdateKeyDescription(ctx context.Context, c Caller, in *kmsapi.UpdateKeyDescriptionRequest) (Empty, error) {
	k, err := s.keyForOp(c, "UpdateKeyDescription", *in.KeyId, keyOnly, access{op: "UpdateKeyDescription"})
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, k, func(r *keyRecord, _ *store.Txn) error {
		if err := checkKey(k.fresh(r), "UpdateKeyDescription"); err != nil {
			return err
		}
		r.Description = *in.Description
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// EnableKey sets a disabled key's state to Enabled.
func (s *Service) EnableKey(ctx context.Context, c Caller, in *kmsapi.EnableKeyRequest) (Empty, error) {
	return &struct{}{}, s.setEnabled(ctx, c, *in.KeyId, "EnableKey", Enabled)
}

// DisableKey sets a key's state to Disabled.
func (s *Service) DisableKey(ctx context.Context, c Caller, in *kmsapi.DisableKeyRequest) (Empty, error) {
	return &struct{}{}, s.setEnabled(ctx, c, *in.KeyId, "DisableKey", Disabled)
}

func (s *Service) setEnabled(ctx context.Context, c Caller, id, op string, to State) error {
	k, err := s.keyForOp(c, op, id, keyOnly, access{op: op})
	if err != nil {
		return err
	}
	return s.update(ctx, k, func(r *keyRecord, _ *store.Txn) error {
		if err := checkKey(k.fresh(r), op); err != nil {
			return err
		}
		r.State = to
		return nil
	})
}

// ScheduleKeyDeletion starts a key's waiting period before deletion.
func (s *Service) ScheduleKeyDeletion(ctx context.Context, c Caller, in *kmsapi.ScheduleKeyDeletionRequest) (*kmsapi.ScheduleKeyDeletionResponse, error) {
	days := int32(defaultWindow)
	if in.PendingWindowInDays != nil {
		days = *in.PendingWindowInDays
	}
	// The model allows 1-365; the service allows 7-30 (ScheduleKeyDeletion docs).
	if days < 7 || days > 30 {
		return nil, wire.Validation(fmt.Sprintf("1 validation error detected: Value '%d' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value %s", days, map[bool]string{true: "greater than or equal to 7", false: "less than or equal to 30"}[days < 7]))
	}
	k, err := s.keyForOp(c, "ScheduleKeyDeletion", *in.KeyId, keyOnly, access{op: "ScheduleKeyDeletion",
		keys: []string{"kms:ScheduleKeyDeletionPendingWindowInDays", strconv.Itoa(int(days))}})
	if err != nil {
		return nil, err
	}
	var when time.Time
	err = s.update(ctx, k, func(r *keyRecord, _ *store.Txn) error {
		if err := checkKey(k.fresh(r), "ScheduleKeyDeletion"); err != nil {
			return err
		}
		if err := s.primaryWithReplicas(k.fresh(r)); err != nil {
			return err
		}
		when = s.now().UTC().Add(time.Duration(days) * 24 * time.Hour)
		r.State, r.DeletionDate, r.PendingWindow = PendingDeletion, stampOf(when), days
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &kmsapi.ScheduleKeyDeletionResponse{
		KeyId: wire.Ptr(k.arn), DeletionDate: ts(when), KeyState: wire.Ptr(PendingDeletion.String()), PendingWindowInDays: wire.Ptr(days),
	}, nil
}

// CancelKeyDeletion stops a scheduled deletion; the key returns Disabled.
func (s *Service) CancelKeyDeletion(ctx context.Context, c Caller, in *kmsapi.CancelKeyDeletionRequest) (*kmsapi.CancelKeyDeletionResponse, error) {
	k, err := s.keyForOp(c, "CancelKeyDeletion", *in.KeyId, keyOnly, access{op: "CancelKeyDeletion"})
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, k, func(r *keyRecord, _ *store.Txn) error {
		if err := checkKey(k.fresh(r), "CancelKeyDeletion"); err != nil {
			return err
		}
		r.State, r.DeletionDate, r.PendingWindow = Disabled, 0, 0
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &kmsapi.CancelKeyDeletionResponse{KeyId: wire.Ptr(k.arn)}, nil
}

// deleteKeyNow removes a key whose waiting period has ended, with its material
// and every alias that points to it, in one transaction.
func (s *Service) deleteKeyNow(ctx context.Context, k *key) error {
	r := k.rec
	txn := store.Txn{
		Compares: []store.Compare{{Key: keyPath(r.Account, r.Region, r.ID), ModRev: k.modRev}},
		Deletes:  deletedKey(r.Account, r.Region, r.ID),
	}
	for _, m := range r.Materials {
		txn.Deletes = append(txn.Deletes, materialPath(r.Account, r.Region, r.ID, m.ID))
	}
	for _, a := range s.view.aliasesOf(r.Account, r.Region) {
		if a.TargetKeyID == r.ID {
			txn.Deletes = append(txn.Deletes, aliasPath(r.Account, r.Region, a.Name))
		}
	}
	if err := s.commit(ctx, txn); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// Another node (or request) changed the key first; the next
			// sweep sees what it did.
			return nil
		}
		return fmt.Errorf("delete key %s: %w", k.arn, err)
	}
	s.log.Info("kms: deleted key at the end of its waiting period", "key", k.arn)
	// Its grants go after it, in transactions of bounded size (a key may have
	// 50,000; etcd takes 128 operations a transaction by default). A grant of
	// a deleted key grants nothing meanwhile.
	var dels []string
	for _, g := range s.view.grantList(r.Region, r.ID) {
		dels = append(dels, grantPath(r.Account, r.Region, r.ID, g.rec.ID))
	}
	for len(dels) > 0 {
		n := min(len(dels), 100)
		if err := s.commit(ctx, store.Txn{Deletes: dels[:n]}); err != nil {
			return fmt.Errorf("delete grants of %s: %w", k.arn, err)
		}
		dels = dels[n:]
	}
	return nil
}
