package kms

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// maxOnDemand is how many on-demand rotations AWS allows per key
// (RotateKeyOnDemand documentation).
const maxOnDemand = 25

const day = 24 * time.Hour

// lastRotation is when the key's current schedule starts counting: its newest
// material's creation.
func lastRotation(r *keyRecord) time.Time {
	last := r.Created
	for _, m := range r.Materials {
		if m.Created > last {
			last = m.Created
		}
	}
	return last.Time()
}

// EnableKeyRotation turns on automatic rotation, every RotationPeriodInDays (default 365).
func (s *Service) EnableKeyRotation(ctx context.Context, c Caller, in *kmsapi.EnableKeyRotationRequest) (Empty, error) {
	period := int32(defaultPeriod)
	if in.RotationPeriodInDays != nil {
		period = *in.RotationPeriodInDays
	}
	k, err := s.keyForOp(c, "EnableKeyRotation", *in.KeyId, keyOnly, access{op: "EnableKeyRotation", keys: []string{"kms:RotationPeriodInDays", strconv.Itoa(int(period))}})
	if err != nil {
		return nil, err
	}
	if err := notReplica(k); err != nil {
		return nil, err
	}
	// The rotation status is a shared property of a multi-Region key: every
	// member gets it in the same transaction.
	err = s.updateFamily(ctx, k, func(recs map[string]*keyRecord, _ *store.Txn) error {
		r := recs[k.rec.Region]
		if err := checkKey(k.fresh(r), "EnableKeyRotation"); err != nil {
			return err
		}
		// A new schedule counts from now; a changed period on an enabled key
		// counts from the last rotation, as AWS does.
		base := s.now().UTC()
		if r.RotationEnabled {
			base = lastRotation(r)
		}
		for _, m := range recs {
			m.RotationEnabled, m.RotationPeriod = true, period
			m.NextRotation = stampOf(base.Add(time.Duration(period) * day))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// DisableKeyRotation turns off automatic rotation.
func (s *Service) DisableKeyRotation(ctx context.Context, c Caller, in *kmsapi.DisableKeyRotationRequest) (Empty, error) {
	k, err := s.keyForOp(c, "DisableKeyRotation", *in.KeyId, keyOnly, access{op: "DisableKeyRotation"})
	if err != nil {
		return nil, err
	}
	if err := notReplica(k); err != nil {
		return nil, err
	}
	err = s.updateFamily(ctx, k, func(recs map[string]*keyRecord, _ *store.Txn) error {
		if err := checkKey(k.fresh(recs[k.rec.Region]), "DisableKeyRotation"); err != nil {
			return err
		}
		for _, m := range recs {
			m.RotationEnabled, m.RotationPeriod, m.NextRotation = false, 0, 0
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// GetKeyRotationStatus says whether automatic rotation is on and when it runs next.
func (s *Service) GetKeyRotationStatus(ctx context.Context, c Caller, in *kmsapi.GetKeyRotationStatusRequest) (*kmsapi.GetKeyRotationStatusResponse, error) {
	k, err := s.keyForOp(c, "GetKeyRotationStatus", *in.KeyId, keyOnly|crossAccount, access{op: "GetKeyRotationStatus"})
	if err != nil {
		return nil, err
	}
	out := &kmsapi.GetKeyRotationStatusResponse{KeyRotationEnabled: wire.Ptr(k.rec.RotationEnabled), KeyId: wire.Ptr(k.arn)}
	if k.rec.RotationEnabled {
		out.RotationPeriodInDays = wire.Ptr(k.rec.RotationPeriod)
		out.NextRotationDate = ts(k.rec.NextRotation.Time())
	}
	if !k.rec.OnDemandStart.IsZero() {
		out.OnDemandRotationStartDate = ts(k.rec.OnDemandStart.Time())
	}
	return out, nil
}

// RotateKeyOnDemand rotates now, up to 25 times per key; the automatic
// schedule is unchanged.
func (s *Service) RotateKeyOnDemand(ctx context.Context, c Caller, in *kmsapi.RotateKeyOnDemandRequest) (*kmsapi.RotateKeyOnDemandResponse, error) {
	k, err := s.keyForOp(c, "RotateKeyOnDemand", *in.KeyId, keyOnly, access{op: "RotateKeyOnDemand"})
	if err != nil {
		return nil, err
	}
	if err := notReplica(k); err != nil {
		return nil, err
	}
	// A multi-Region primary's new material goes to every replica in the
	// same transaction (shared properties).
	err = s.updateFamily(ctx, k, func(recs map[string]*keyRecord, txn *store.Txn) error {
		r := recs[k.rec.Region]
		if err := checkKey(k.fresh(r), "RotateKeyOnDemand"); err != nil {
			return err
		}
		if r.Origin == originExternal {
			return s.rotateImported(k, r)
		}
		n := 0
		for _, m := range r.Materials {
			if m.RotationType == "ON_DEMAND" {
				n++
			}
		}
		if n >= maxOnDemand {
			return kmsapi.NewLimitExceededException("The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: " + k.arn)
		}
		return s.addFamilyMaterial(recs, txn, "ON_DEMAND")
	})
	if err != nil {
		return nil, err
	}
	return &kmsapi.RotateKeyOnDemandResponse{KeyId: wire.Ptr(k.arn)}, nil
}

// rotateScheduled performs an automatic rotation that has come due.
func (s *Service) rotateScheduled(ctx context.Context, k *key) error {
	err := s.updateFamily(ctx, k, func(recs map[string]*keyRecord, txn *store.Txn) error {
		r := recs[k.rec.Region]
		now := s.now().UTC()
		// A key that became a replica meanwhile rotates with its new primary.
		if !r.RotationEnabled || r.State != Enabled || r.replica() || now.Before(r.NextRotation.Time()) {
			return errSkip
		}
		if err := s.addFamilyMaterial(recs, txn, "AUTOMATIC"); err != nil {
			return err
		}
		for _, m := range recs {
			m.NextRotation = stampOf(now.Add(time.Duration(r.RotationPeriod) * day))
		}
		return nil
	})
	if err == errSkip {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rotate %s: %w", k.arn, err)
	}
	s.log.Info("kms: rotated key on schedule", "key", k.arn)
	return nil
}

var errSkip = fmt.Errorf("kms: nothing to do")

// ListKeyRotations lists completed rotations, or with IncludeKeyMaterial
// ALL_KEY_MATERIAL every version of the key's material.
func (s *Service) ListKeyRotations(ctx context.Context, c Caller, in *kmsapi.ListKeyRotationsRequest) (*kmsapi.ListKeyRotationsResponse, error) {
	k, err := s.keyForOp(c, "ListKeyRotations", *in.KeyId, keyOnly, access{op: "ListKeyRotations"})
	if err != nil {
		return nil, err
	}
	// By default only materials a rotation made current; ALL_KEY_MATERIAL
	// adds the first material and imported material pending rotation
	// (ListKeyRotations, IncludeKeyMaterial).
	mats := k.rec.Materials
	if wire.String(in.IncludeKeyMaterial) != "ALL_KEY_MATERIAL" {
		mats = slices.DeleteFunc(slices.Clone(mats), func(m material) bool { return m.rotationDate().IsZero() })
	}
	var got []material
	var next *string
	if in.Marker != nil {
		start := -1
		for i, m := range mats {
			if m.ID == *in.Marker {
				start = i
			}
		}
		if start < 0 {
			return nil, kmsapi.NewInvalidMarkerException("Invalid marker")
		}
		mats = mats[start:]
	}
	got, next, err = page(mats, func(m material) string { return m.ID }, nil, in.Limit, 100)
	if err != nil {
		return nil, err
	}
	out := &kmsapi.ListKeyRotationsResponse{Truncated: wire.Ptr(next != nil), NextMarker: next}
	imported := k.rec.Origin == originExternal
	for _, m := range got {
		e := kmsapi.RotationsListEntry{KeyId: wire.Ptr(k.rec.ID), KeyMaterialId: wire.Ptr(m.ID)}
		// Neither for the first material nor for one pending rotation
		// (RotationsListEntry).
		if d := m.rotationDate(); !d.IsZero() {
			e.RotationDate, e.RotationType = ts(d), wire.Ptr(m.RotationType)
		}
		// Imported material describes its import (RotationsListEntry:
		// symmetric keys of origin EXTERNAL only).
		if imported {
			e.ImportState = wire.Ptr("PENDING_IMPORT")
			if s.view.hasMaterial(k.rec.Region, k.rec.ID, m.ID) {
				e.ImportState = wire.Ptr("IMPORTED")
			}
			if m.Description != "" {
				e.KeyMaterialDescription = wire.Ptr(m.Description)
			}
			if m.ExpirationModel != "" {
				e.ExpirationModel = wire.Ptr(m.ExpirationModel)
			}
			if m.ExpirationModel == expires {
				e.ValidTo = ts(m.ValidTo.Time())
			}
		}
		state := "NON_CURRENT"
		switch {
		case m.ID == k.rec.CurrentMaterial:
			state = "CURRENT"
		case m.PendingRotation:
			state = "PENDING_ROTATION"
		}
		e.KeyMaterialState = wire.Ptr(state)
		out.Rotations = append(out.Rotations, e)
	}
	return out, nil
}
