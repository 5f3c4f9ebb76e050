package kms

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/audit"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/usage"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// usageSource is a UsageSource with fixed answers.
type usageSource struct {
	start time.Time
	uses  map[string]audit.Usage
}

func (u *usageSource) LastUsage(_ context.Context, keyARN string) (audit.Usage, bool, error) {
	v, ok := u.uses[keyARN]
	return v, ok, nil
}

func (u *usageSource) TrackingStart() time.Time { return u.start }

func TestGetKeyLastUsage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(t)
	created := k.CreationDate.Time()
	get := func(t *testing.T, id string) *kmsapi.GetKeyLastUsageResponse {
		t.Helper()
		out, err := e.s.GetKeyLastUsage(ctx, e.caller, &kmsapi.GetKeyLastUsageRequest{KeyId: wire.Ptr(id)})
		if err != nil {
			t.Fatal(err)
		}
		if *out.KeyId != *k.KeyId || !out.KeyCreationDate.Time().Equal(created) {
			t.Fatalf("KeyId, KeyCreationDate = %s, %v; want %s, %v", *out.KeyId, out.KeyCreationDate.Time(), *k.KeyId, created)
		}
		return out
	}

	t.Run("no source: tracked since creation, no use", func(t *testing.T) {
		out := get(t, *k.KeyId)
		if !out.TrackingStartDate.Time().Equal(created) || out.KeyLastUsage != nil {
			t.Fatalf("TrackingStartDate = %v, KeyLastUsage = %+v; want %v and none", out.TrackingStartDate.Time(), out.KeyLastUsage, created)
		}
	})

	src := &usageSource{start: created.Add(-24 * time.Hour), uses: map[string]audit.Usage{}}
	e.s.SetUsageSource(src)
	t.Cleanup(func() { e.s.SetUsageSource(nil) })

	t.Run("log older than the key: tracked since creation", func(t *testing.T) {
		out := get(t, *k.Arn)
		if !out.TrackingStartDate.Time().Equal(created) || out.KeyLastUsage != nil {
			t.Fatalf("TrackingStartDate = %v, KeyLastUsage = %+v; want %v and none", out.TrackingStartDate.Time(), out.KeyLastUsage, created)
		}
	})

	t.Run("log newer than the key: tracked since the log began", func(t *testing.T) {
		src.start = created.Add(time.Hour)
		defer func() { src.start = created.Add(-24 * time.Hour) }()
		if out := get(t, *k.KeyId); !out.TrackingStartDate.Time().Equal(src.start) {
			t.Fatalf("TrackingStartDate = %v, want %v", out.TrackingStartDate.Time(), src.start)
		}
	})

	t.Run("a recorded use", func(t *testing.T) {
		used := created.Add(time.Minute)
		src.uses[*k.Arn] = audit.Usage{Operation: "Decrypt", Time: used, EventID: "ev-1", RequestID: "req-1"}
		defer delete(src.uses, *k.Arn)
		u := get(t, *k.KeyId).KeyLastUsage
		if u == nil || *u.Operation != "Decrypt" || !u.Timestamp.Time().Equal(used) || *u.CloudTrailEventId != "ev-1" || *u.KmsRequestId != "req-1" {
			t.Fatalf("KeyLastUsage = %+v", u)
		}
	})

	t.Run("a use dated before the key is not its own", func(t *testing.T) {
		src.uses[*k.Arn] = audit.Usage{Operation: "Encrypt", Time: created.Add(-time.Hour), EventID: "ev-0"}
		defer delete(src.uses, *k.Arn)
		if u := get(t, *k.KeyId).KeyLastUsage; u != nil {
			t.Fatalf("KeyLastUsage = %+v, want none", u)
		}
	})

	t.Run("alias names are not accepted", func(t *testing.T) {
		if _, err := e.s.CreateAlias(ctx, e.caller, &kmsapi.CreateAliasRequest{AliasName: wire.Ptr("alias/lu"), TargetKeyId: k.KeyId}); err != nil {
			t.Fatal(err)
		}
		_, err := e.s.GetKeyLastUsage(ctx, e.caller, &kmsapi.GetKeyLastUsageRequest{KeyId: wire.Ptr("alias/lu")})
		if code(err) != "NotFoundException" {
			t.Fatalf("GetKeyLastUsage(alias) = %v, want NotFoundException", err)
		}
	})

	t.Run("another account's key is not found", func(t *testing.T) {
		other := e.caller
		other.Account, other.ARN = "444455556666", "arn:aws:iam::444455556666:root"
		_, err := e.s.GetKeyLastUsage(ctx, other, &kmsapi.GetKeyLastUsageRequest{KeyId: k.Arn})
		if code(err) != "NotFoundException" {
			t.Fatalf("GetKeyLastUsage(other account's key) = %v, want NotFoundException", err)
		}
	})

	t.Run("a user without kms:GetKeyLastUsage is denied", func(t *testing.T) {
		user := e.caller
		user.ARN = "arn:aws:iam::111122223333:user/Alice"
		user.Identity = &authz.Identity{Principal: authz.Principal{Account: user.Account, ARN: user.ARN, Type: authz.UserType, UserID: "AIDAEXAMPLE", Name: "Alice"}}
		_, err := e.s.GetKeyLastUsage(ctx, user, &kmsapi.GetKeyLastUsageRequest{KeyId: k.KeyId})
		if code(err) != "AccessDeniedException" {
			t.Fatalf("GetKeyLastUsage by a user without permission = %v, want AccessDeniedException", err)
		}
	})
}

// With the real audit log and usage tracker: an Encrypt recorded for the key
// is its last use, and a failed Decrypt after it is not.
func TestGetKeyLastUsageFromAuditLog(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(t)
	lg, err := audit.Open(filepath.Join(t.TempDir(), "audit.jsonl"), audit.Options{Now: func() time.Time { return k.CreationDate.Time().Add(-time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	tr, err := usage.New(ctx, e.s.st, lg, usage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.s.SetUsageSource(tr)
	defer e.s.SetUsageSource(nil)

	at := e.clock.Now().Add(time.Minute)
	lg.Record(audit.NewEvent(audit.Call{Time: at, RequestID: "r1", Service: "kms", Operation: "Encrypt", Region: "us-east-1", Resources: []string{*k.Arn}, EventID: "e1"}))
	lg.Record(audit.NewEvent(audit.Call{Time: at.Add(time.Minute), RequestID: "r2", Service: "kms", Operation: "Decrypt", Region: "us-east-1", Resources: []string{*k.Arn}, ErrorCode: "InvalidCiphertextException"}))

	out, err := e.s.GetKeyLastUsage(ctx, e.caller, &kmsapi.GetKeyLastUsageRequest{KeyId: k.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	u := out.KeyLastUsage
	if u == nil || *u.Operation != "Encrypt" || *u.CloudTrailEventId != "e1" || *u.KmsRequestId != "r1" || !u.Timestamp.Time().Equal(at) {
		t.Fatalf("KeyLastUsage = %+v", u)
	}
	if !out.TrackingStartDate.Time().Equal(k.CreationDate.Time()) {
		t.Fatalf("TrackingStartDate = %v, want the key's creation %v", out.TrackingStartDate.Time(), k.CreationDate.Time())
	}
}
