package kms

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// describe returns the key's metadata as DescribeKey shows it.
func (e *env) describe(t *testing.T, id *string) *kmsapi.KeyMetadata {
	t.Helper()
	out, err := e.s.DescribeKey(context.Background(), e.caller, &kmsapi.DescribeKeyRequest{KeyId: id})
	if err != nil {
		t.Fatal(err)
	}
	return out.KeyMetadata
}

// wantWireError fails t unless err is the error a client sees with code
// and exactly msg.
func wantWireError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != code || we.Message != msg {
		t.Fatalf("got %v, want %s %q", err, code, msg)
	}
}

// The transitions of a key's state and what DescribeKey shows in each
// (KMS Developer Guide, key-state.md; ScheduleKeyDeletion and
// CancelKeyDeletion API references): disabling and enabling go both ways;
// a deletion is scheduled from Enabled or Disabled; a cancelled deletion
// leaves the key Disabled whatever it was before.
func TestKeyStateTransitions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	md := e.createKey(t)
	id := md.KeyId
	check := func(step, state string, enabled bool) *kmsapi.KeyMetadata {
		t.Helper()
		got := e.describe(t, id)
		if wire.String(got.KeyState) != state || wire.Bool(got.Enabled) != enabled {
			t.Fatalf("after %s: KeyState %s Enabled %v, want %s %v", step, wire.String(got.KeyState), wire.Bool(got.Enabled), state, enabled)
		}
		return got
	}
	check("CreateKey", "Enabled", true)

	if _, err := e.s.DisableKey(ctx, e.caller, &kmsapi.DisableKeyRequest{KeyId: id}); err != nil {
		t.Fatal(err)
	}
	check("DisableKey", "Disabled", false)
	_, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: id, Plaintext: []byte("p")})
	wantWireError(t, err, "DisabledException", *md.Arn+" is disabled.")

	if _, err := e.s.EnableKey(ctx, e.caller, &kmsapi.EnableKeyRequest{KeyId: id}); err != nil {
		t.Fatal(err)
	}
	check("EnableKey", "Enabled", true)
	if _, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: id, Plaintext: []byte("p")}); err != nil {
		t.Fatalf("Encrypt after EnableKey: %v", err)
	}

	// Scheduled from Enabled, with the default waiting period of 30 days.
	now := e.clock.Now().UTC()
	out, err := e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: id})
	if err != nil {
		t.Fatal(err)
	}
	want := now.Add(30 * day)
	if wire.String(out.KeyId) != *md.Arn || wire.String(out.KeyState) != "PendingDeletion" || wire.Int32(out.PendingWindowInDays) != 30 ||
		out.DeletionDate == nil || !out.DeletionDate.Time().Equal(want) {
		t.Fatalf("ScheduleKeyDeletion: %+v, want the key's ARN, PendingDeletion, 30 days, deletion at %v", out, want)
	}
	got := check("ScheduleKeyDeletion", "PendingDeletion", false)
	// PendingDeletionWindowInDays is only for a multi-Region primary
	// pending replica deletion (KeyMetadata).
	if got.DeletionDate == nil || !got.DeletionDate.Time().Equal(want) || got.PendingDeletionWindowInDays != nil {
		t.Fatalf("DescribeKey of a key pending deletion: DeletionDate %v window %v, want %v and none", got.DeletionDate, got.PendingDeletionWindowInDays, want)
	}
	_, err = e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: id, Plaintext: []byte("p")})
	wantWireError(t, err, "KMSInvalidStateException", *md.Arn+" is pending deletion.")

	// Cancelled, the key is Disabled, not Enabled as it was, and shows no
	// deletion date.
	c, err := e.s.CancelKeyDeletion(ctx, e.caller, &kmsapi.CancelKeyDeletionRequest{KeyId: id})
	if err != nil {
		t.Fatal(err)
	}
	if wire.String(c.KeyId) != *md.Arn {
		t.Fatalf("CancelKeyDeletion KeyId %q, want the key's ARN", wire.String(c.KeyId))
	}
	got = check("CancelKeyDeletion", "Disabled", false)
	if got.DeletionDate != nil || got.PendingDeletionWindowInDays != nil {
		t.Fatalf("DescribeKey after CancelKeyDeletion: DeletionDate %v window %v, want neither", got.DeletionDate, got.PendingDeletionWindowInDays)
	}
	_, err = e.s.CancelKeyDeletion(ctx, e.caller, &kmsapi.CancelKeyDeletionRequest{KeyId: id})
	wantWireError(t, err, "KMSInvalidStateException", *md.Arn+" is not pending deletion.")

	// Scheduled from Disabled; the cancelled key is past its old date and
	// still there, as the sweeper deletes only keys pending deletion.
	if _, err := e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: id, PendingWindowInDays: wire.Ptr(int32(7))}); err != nil {
		t.Fatal(err)
	}
	check("ScheduleKeyDeletion of a disabled key", "PendingDeletion", false)
	if _, err := e.s.CancelKeyDeletion(ctx, e.caller, &kmsapi.CancelKeyDeletionRequest{KeyId: id}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(31 * day)
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	check("a tick past the cancelled deletion date", "Disabled", false)
}

// ScheduleKeyDeletion takes a waiting period of 7 to 30 days, narrower
// than the model's 1 to 365, and says which bound a value breaks in the
// model's wording.
func TestScheduleKeyDeletionWindow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		days int32
		msg  string // "" accepted
	}{
		{6, "1 validation error detected: Value '6' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 7"},
		{7, ""},
		{30, ""},
		{31, "1 validation error detected: Value '31' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value less than or equal to 30"},
	}
	for _, tt := range tests {
		md := e.createKey(t)
		now := e.clock.Now().UTC()
		out, err := e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: md.KeyId, PendingWindowInDays: wire.Ptr(tt.days)})
		if tt.msg != "" {
			wantWireError(t, err, "ValidationException", tt.msg)
			if st := wire.String(e.describe(t, md.KeyId).KeyState); st != "Enabled" {
				t.Fatalf("%d days refused, but the key is %s", tt.days, st)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%d days: %v", tt.days, err)
		}
		if want := now.Add(time.Duration(tt.days) * day); !out.DeletionDate.Time().Equal(want) || wire.Int32(out.PendingWindowInDays) != tt.days {
			t.Fatalf("%d days: deletion at %v after %d days, want %v", tt.days, out.DeletionDate.Time(), wire.Int32(out.PendingWindowInDays), want)
		}
	}
}
