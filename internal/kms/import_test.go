package kms

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// Expired imported material is deleted by Tick and the key returns to
// PendingImport; reimporting the same material makes it usable again.
func TestImportedMaterialExpires(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	out, err := e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{Origin: wire.Ptr("EXTERNAL")})
	if err != nil {
		t.Fatal(err)
	}
	id := out.KeyMetadata.KeyId
	material := make([]byte, 32)
	rand.Read(material)
	imp := func(validTo time.Time) error {
		p, err := e.s.GetParametersForImport(ctx, e.caller, &kmsapi.GetParametersForImportRequest{KeyId: id, WrappingAlgorithm: wire.Ptr("RSAES_OAEP_SHA_256"), WrappingKeySpec: wire.Ptr("RSA_2048")})
		if err != nil {
			return err
		}
		w, err := keys.Wrap(rand.Reader, p.PublicKey, keys.WrapRSAESOAEPSHA256, material)
		if err != nil {
			return err
		}
		v := wire.Timestamp(validTo)
		_, err = e.s.ImportKeyMaterial(ctx, e.caller, &kmsapi.ImportKeyMaterialRequest{KeyId: id, ImportToken: p.ImportToken, EncryptedKeyMaterial: w, ValidTo: &v})
		return err
	}
	if err := imp(e.clock.Now().Add(2 * day)); err != nil {
		t.Fatal(err)
	}
	enc, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: id, Plaintext: []byte("p")})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2*day - time.Second)
	e.s.Tick(ctx)
	if d, _ := e.s.DescribeKey(ctx, e.caller, &kmsapi.DescribeKeyRequest{KeyId: id}); *d.KeyMetadata.KeyState != "Enabled" {
		t.Fatalf("state a second before ValidTo = %s", *d.KeyMetadata.KeyState)
	}
	e.clock.Add(time.Second)
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	d, _ := e.s.DescribeKey(ctx, e.caller, &kmsapi.DescribeKeyRequest{KeyId: id})
	if *d.KeyMetadata.KeyState != "PendingImport" {
		t.Fatalf("state after ValidTo = %s, want PendingImport", *d.KeyMetadata.KeyState)
	}
	if _, err := e.s.Decrypt(ctx, e.caller, &kmsapi.DecryptRequest{CiphertextBlob: enc.CiphertextBlob}); code(err) != "KMSInvalidStateException" {
		t.Fatalf("Decrypt after expiry: %v", err)
	}
	if err := imp(e.clock.Now().Add(day)); err != nil {
		t.Fatal(err)
	}
	if pt, err := e.s.Decrypt(ctx, e.caller, &kmsapi.DecryptRequest{CiphertextBlob: enc.CiphertextBlob}); err != nil || string(pt.Plaintext) != "p" {
		t.Fatalf("Decrypt after reimport: %v", err)
	}
}

// Imported material is described per material: its expiry, description,
// import state and rotation (ImportKeyMaterial, ListKeyRotations,
// DeleteImportedKeyMaterial, KeyMetadata).
func TestImportedMaterialPerMaterial(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	out, err := e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{Origin: wire.Ptr("EXTERNAL")})
	if err != nil {
		t.Fatal(err)
	}
	id := out.KeyMetadata.KeyId
	all := func() map[string]kmsapi.RotationsListEntry {
		t.Helper()
		l, err := e.s.ListKeyRotations(ctx, e.caller, &kmsapi.ListKeyRotationsRequest{KeyId: id, IncludeKeyMaterial: wire.Ptr("ALL_KEY_MATERIAL")})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]kmsapi.RotationsListEntry{}
		for _, r := range l.Rotations {
			m[*r.KeyMaterialId] = r
		}
		return m
	}
	describe := func() *kmsapi.KeyMetadata {
		t.Helper()
		d, err := e.s.DescribeKey(ctx, e.caller, &kmsapi.DescribeKeyRequest{KeyId: id})
		if err != nil {
			t.Fatal(err)
		}
		return d.KeyMetadata
	}
	first := e.importMaterial(t, id, nil, nil)
	m1 := describe().CurrentKeyMaterialId
	validTo := e.clock.Now().Add(10 * day)
	e.importMaterial(t, id, nil, func(in *kmsapi.ImportKeyMaterialRequest) {
		v := wire.Timestamp(validTo)
		in.ExpirationModel, in.ValidTo, in.ImportType, in.KeyMaterialDescription = wire.Ptr(expires), &v, wire.Ptr(importNew), wire.Ptr("second")
	})
	rots := all()
	var m2 string
	for mid := range rots {
		if mid != *m1 {
			m2 = mid
		}
	}
	if r := rots[*m1]; *r.KeyMaterialState != "CURRENT" || *r.ImportState != "IMPORTED" || *r.ExpirationModel != doesNotExpire || r.ValidTo != nil || r.RotationDate != nil || r.RotationType != nil {
		t.Fatalf("first material %+v", r)
	}
	if r := rots[m2]; *r.KeyMaterialState != "PENDING_ROTATION" || *r.ImportState != "IMPORTED" || *r.ExpirationModel != expires ||
		!r.ValidTo.Time().Equal(validTo) || *r.KeyMaterialDescription != "second" || r.RotationDate != nil {
		t.Fatalf("pending material %+v", r)
	}
	// Material pending rotation is not yet the key's: KeyMetadata shows the
	// current material's expiry only.
	if md := describe(); *md.ExpirationModel != doesNotExpire || md.ValidTo != nil {
		t.Fatalf("KeyMetadata before rotation: %s %v", *md.ExpirationModel, md.ValidTo)
	}

	e.clock.Add(day)
	if _, err := e.s.RotateKeyOnDemand(ctx, e.caller, &kmsapi.RotateKeyOnDemandRequest{KeyId: id}); err != nil {
		t.Fatal(err)
	}
	if r := all()[m2]; *r.KeyMaterialState != "CURRENT" || !r.RotationDate.Time().Equal(e.clock.Now()) || *r.RotationType != "ON_DEMAND" {
		t.Fatalf("rotated material %+v", r)
	}
	if md := describe(); *md.ExpirationModel != expires || !md.ValidTo.Time().Equal(validTo) {
		t.Fatalf("KeyMetadata after rotation: %s %v", *md.ExpirationModel, md.ValidTo)
	}
	only, _ := e.s.ListKeyRotations(ctx, e.caller, &kmsapi.ListKeyRotationsRequest{KeyId: id})
	if len(only.Rotations) != 1 || *only.Rotations[0].KeyMaterialId != m2 {
		t.Fatalf("rotations only: %+v", only.Rotations)
	}

	// Deleting non-current material: the key waits for it.
	del, err := e.s.DeleteImportedKeyMaterial(ctx, e.caller, &kmsapi.DeleteImportedKeyMaterialRequest{KeyId: id, KeyMaterialId: m1})
	if err != nil || *del.KeyMaterialId != *m1 {
		t.Fatalf("DeleteImportedKeyMaterial: %+v, %v", del, err)
	}
	if md := describe(); *md.KeyState != "PendingImport" {
		t.Fatalf("state after deleting non-current material: %s", *md.KeyState)
	}
	rots = all()
	if r := rots[*m1]; *r.ImportState != "PENDING_IMPORT" || r.ExpirationModel != nil || *r.KeyMaterialState != "NON_CURRENT" {
		t.Fatalf("deleted material %+v", r)
	}
	if r := rots[m2]; *r.ImportState != "IMPORTED" {
		t.Fatalf("the other material %+v", r)
	}
	e.importMaterial(t, id, first, func(in *kmsapi.ImportKeyMaterialRequest) { in.ImportType = wire.Ptr(importAgain) })
	if md := describe(); *md.KeyState != "Enabled" {
		t.Fatalf("state after reimport: %s", *md.KeyState)
	}

	// Each material expires on its own ValidTo.
	e.clock.Add(9 * day)
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	rots = all()
	if md := describe(); *md.KeyState != "PendingImport" || *rots[m2].ImportState != "PENDING_IMPORT" || *rots[*m1].ImportState != "IMPORTED" {
		t.Fatalf("after the second material's ValidTo: %s, %+v, %+v", *md.KeyState, rots[m2], rots[*m1])
	}

	// Material pending rotation is not permanently the key's: deleting it
	// drops it, the key keeps its state, and other material may follow.
	e.importMaterial(t, id, nil, func(in *kmsapi.ImportKeyMaterialRequest) { in.ImportType = wire.Ptr(importNew) })
	var m3 string
	for mid, r := range all() {
		if *r.KeyMaterialState == "PENDING_ROTATION" {
			m3 = mid
		}
	}
	if _, err := e.s.DeleteImportedKeyMaterial(ctx, e.caller, &kmsapi.DeleteImportedKeyMaterialRequest{KeyId: id, KeyMaterialId: wire.Ptr(m3)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := all()[m3]; ok || *describe().KeyState != "PendingImport" {
		t.Fatalf("after deleting pending material: listed %v, state %s", ok, *describe().KeyState)
	}
	e.importMaterial(t, id, nil, func(in *kmsapi.ImportKeyMaterialRequest) { in.ImportType = wire.Ptr(importNew) })

	// On a key pending deletion the material goes and the state stays.
	if _, err := e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: id, PendingWindowInDays: wire.Ptr(int32(7))}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.DeleteImportedKeyMaterial(ctx, e.caller, &kmsapi.DeleteImportedKeyMaterialRequest{KeyId: id, KeyMaterialId: m1}); err != nil {
		t.Fatalf("DeleteImportedKeyMaterial on a key pending deletion: %v", err)
	}
	if md := describe(); *md.KeyState != "PendingDeletion" || *all()[*m1].ImportState != "PENDING_IMPORT" {
		t.Fatalf("pending deletion after deleting material: %s", *md.KeyState)
	}
}

// A key record written before materials had their own expiry gives its
// key-level expiry to its current material.
func TestRecordUpgradeMovesExpiryToMaterial(t *testing.T) {
	var r keyRecord
	old := `{"id":"k","currentMaterial":"b","materials":[{"id":"a"},{"id":"b"}],"expirationModel":"KEY_MATERIAL_EXPIRES","validTo":"2026-03-01T00:00:00Z"}`
	if err := json.Unmarshal([]byte(old), &r); err != nil {
		t.Fatal(err)
	}
	r.upgrade()
	want := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if m := r.Materials[1]; m.ExpirationModel != expires || !m.ValidTo.Time().Equal(want) || r.Materials[0].ExpirationModel != "" || r.ExpirationModel != "" || !r.ValidTo.IsZero() {
		t.Fatalf("upgraded record %+v", r)
	}
	if model, validTo := r.importExpiry(); model != expires || !validTo.Equal(want) {
		t.Fatalf("importExpiry = %s %v", model, validTo)
	}
}
