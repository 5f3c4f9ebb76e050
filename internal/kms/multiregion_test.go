package kms

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// newFamily creates a multi-Region primary in us-east-1 and its replica in
// eu-west-1 and returns the key id.
func (e *env) newFamily(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	out, err := e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{MultiRegion: wire.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.ReplicateKey(ctx, e.caller, &kmsapi.ReplicateKeyRequest{KeyId: out.KeyMetadata.KeyId, ReplicaRegion: wire.Ptr("eu-west-1")}); err != nil {
		t.Fatal(err)
	}
	return *out.KeyMetadata.KeyId
}

// members reads the family's key records straight from the store.
func (e *env) members(t *testing.T, id string) (primary, replica keyRecord, primaryRev, replicaRev int64) {
	t.Helper()
	for _, m := range []struct {
		region string
		rec    *keyRecord
		rev    *int64
	}{{"us-east-1", &primary, &primaryRev}, {"eu-west-1", &replica, &replicaRev}} {
		kv, err := e.s.st.Get(context.Background(), keyPath(e.caller.Account, m.region, id))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(kv.Value, m.rec); err != nil {
			t.Fatal(err)
		}
		*m.rev = kv.ModRev
	}
	return
}

func TestFamilyRotationIsOneTransaction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.newFamily(t)
	if _, err := e.s.EnableKeyRotation(ctx, e.caller, &kmsapi.EnableKeyRotationRequest{KeyId: &id, RotationPeriodInDays: wire.Ptr(int32(90))}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		rotate func() error
	}{
		{name: "on demand", rotate: func() error {
			_, err := e.s.RotateKeyOnDemand(ctx, e.caller, &kmsapi.RotateKeyOnDemandRequest{KeyId: &id})
			return err
		}},
		{name: "scheduled", rotate: func() error {
			e.clock.Add(90 * day)
			return e.s.Tick(ctx)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _, _, _ := e.members(t, id)
			if err := tt.rotate(); err != nil {
				t.Fatal(err)
			}
			p, r, prev, rrev := e.members(t, id)
			if prev != rrev {
				t.Fatalf("primary written at revision %d, replica at %d: not one transaction", prev, rrev)
			}
			if len(p.Materials) != len(before.Materials)+1 || p.CurrentMaterial == before.CurrentMaterial {
				t.Fatalf("primary not rotated: %d → %d versions", len(before.Materials), len(p.Materials))
			}
			// The replica has exactly the primary's versions: the sweep
			// rotates only the primary, never the replica on its own.
			if r.CurrentMaterial != p.CurrentMaterial || len(r.Materials) != len(p.Materials) || r.NextRotation != p.NextRotation {
				t.Fatalf("replica out of step: current %s vs %s, %d vs %d versions", r.CurrentMaterial, p.CurrentMaterial, len(r.Materials), len(p.Materials))
			}
			for _, region := range []string{"us-east-1", "eu-west-1"} {
				if e.s.view.material(region, id, p.CurrentMaterial) == nil {
					t.Fatalf("material %s not loaded in %s", p.CurrentMaterial, region)
				}
			}
		})
	}
}

func TestReplicaMaterialIsSealedUnderItsOwnARN(t *testing.T) {
	e := newEnv(t)
	id := e.newFamily(t)
	p, _, _, _ := e.members(t, id)
	kv, err := e.s.st.Get(context.Background(), materialPath(e.caller.Account, "eu-west-1", id, p.CurrentMaterial))
	if err != nil {
		t.Fatal(err)
	}
	var mr materialRecord
	if err := json.Unmarshal(kv.Value, &mr); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.sealer.Open(mr.Sealed, e.s.materialAAD(e.caller.Account, "eu-west-1", id, p.CurrentMaterial)); err != nil {
		t.Fatalf("replica material does not open under the replica's ARN: %v", err)
	}
	if _, err := e.s.sealer.Open(mr.Sealed, e.s.materialAAD(e.caller.Account, "us-east-1", id, p.CurrentMaterial)); err == nil {
		t.Fatal("replica material opens under the primary's ARN")
	}
}

func TestFamilyWriteRetriesAfterAConcurrentWrite(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.newFamily(t)
	// Another node changes the replica's description: a write to one member
	// that a family rotation must not overwrite.
	kv, err := e.s.st.Get(ctx, keyPath(e.caller.Account, "eu-west-1", id))
	if err != nil {
		t.Fatal(err)
	}
	var r keyRecord
	if err := json.Unmarshal(kv.Value, &r); err != nil {
		t.Fatal(err)
	}
	r.Description = "changed elsewhere"
	if _, err := e.s.st.Txn(ctx, store.Txn{Compares: []store.Compare{{Key: kv.Key, ModRev: kv.ModRev}}, Puts: []store.KV{{Key: kv.Key, Value: marshal(r)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.RotateKeyOnDemand(ctx, e.caller, &kmsapi.RotateKeyOnDemandRequest{KeyId: &id}); err != nil {
		t.Fatal(err)
	}
	p, got, _, _ := e.members(t, id)
	if got.Description != "changed elsewhere" || got.CurrentMaterial != p.CurrentMaterial {
		t.Fatalf("after a concurrent write: description %q, current %s (primary %s)", got.Description, got.CurrentMaterial, p.CurrentMaterial)
	}
}

func TestMultiRegionRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.newFamily(t)
	eu := e.caller
	eu.Region = "eu-west-1"
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{name: "replicate a replica", want: "UnsupportedOperationException", call: func() error {
			_, err := e.s.ReplicateKey(ctx, eu, &kmsapi.ReplicateKeyRequest{KeyId: &id, ReplicaRegion: wire.Ptr("us-east-1")})
			return err
		}},
		{name: "second replica in a Region", want: "AlreadyExistsException", call: func() error {
			_, err := e.s.ReplicateKey(ctx, e.caller, &kmsapi.ReplicateKeyRequest{KeyId: &id, ReplicaRegion: wire.Ptr("eu-west-1")})
			return err
		}},
		{name: "Region not served", want: "UnsupportedOperationException", call: func() error {
			_, err := e.s.ReplicateKey(ctx, e.caller, &kmsapi.ReplicateKeyRequest{KeyId: &id, ReplicaRegion: wire.Ptr("us-west-2")})
			return err
		}},
		{name: "rotate a replica", want: "UnsupportedOperationException", call: func() error {
			_, err := e.s.RotateKeyOnDemand(ctx, eu, &kmsapi.RotateKeyOnDemandRequest{KeyId: &id})
			return err
		}},
		{name: "delete a primary with replicas", want: "KMSInvalidStateException", call: func() error {
			_, err := e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: &id})
			return err
		}},
		{name: "new primary not a replica", want: "NotFoundException", call: func() error {
			_, err := e.s.UpdatePrimaryRegion(ctx, e.caller, &kmsapi.UpdatePrimaryRegionRequest{KeyId: &id, PrimaryRegion: wire.Ptr("us-west-2")})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := code(tt.call()); got != tt.want {
				t.Fatalf("error %q, want %q", got, tt.want)
			}
		})
	}
}
