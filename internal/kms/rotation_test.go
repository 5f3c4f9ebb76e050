package kms

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// rotations counts a key's completed rotations by type (ListKeyRotations).
func (e *env) rotations(t *testing.T, id *string) map[string]int {
	t.Helper()
	n := map[string]int{}
	in := &kmsapi.ListKeyRotationsRequest{KeyId: id}
	for {
		out, err := e.s.ListKeyRotations(context.Background(), e.caller, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Rotations {
			n[wire.String(r.RotationType)]++
		}
		if !wire.Bool(out.Truncated) {
			return n
		}
		in.Marker = out.NextMarker
	}
}

// A key rotates on demand at most 25 times (RotateKeyOnDemand API
// reference), with AWS's LimitExceededException text (error corpus,
// error-response); automatic rotations do not count, and every material
// still decrypts what it encrypted.
func TestOnDemandRotationLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	md := e.createKey(t)
	first, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: md.KeyId, Plaintext: []byte("first")})
	if err != nil {
		t.Fatal(err)
	}
	rotate := func() error {
		_, err := e.s.RotateKeyOnDemand(ctx, e.caller, &kmsapi.RotateKeyOnDemandRequest{KeyId: md.KeyId})
		return err
	}
	for i := range 24 {
		if err := rotate(); err != nil {
			t.Fatalf("on-demand rotation %d: %v", i+1, err)
		}
	}
	// An automatic rotation between them leaves one on-demand rotation.
	if _, err := e.s.EnableKeyRotation(ctx, e.caller, &kmsapi.EnableKeyRotationRequest{KeyId: md.KeyId, RotationPeriodInDays: wire.Ptr(int32(90))}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(90 * day)
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rotate(); err != nil {
		t.Fatalf("the 25th on-demand rotation, after an automatic one: %v", err)
	}
	wantWireError(t, rotate(), "LimitExceededException",
		"The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: "+*md.Arn)
	if n := e.rotations(t, md.KeyId); n["ON_DEMAND"] != 25 || n["AUTOMATIC"] != 1 {
		t.Fatalf("rotations %v, want 25 ON_DEMAND and 1 AUTOMATIC", n)
	}
	// Automatic rotation goes on after the on-demand limit.
	e.clock.Add(90 * day)
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.rotations(t, md.KeyId); n["AUTOMATIC"] != 2 {
		t.Fatalf("rotations %v after the limit and another period, want 2 AUTOMATIC", n)
	}
	pt, err := e.s.Decrypt(ctx, e.caller, &kmsapi.DecryptRequest{CiphertextBlob: first.CiphertextBlob})
	if err != nil || string(pt.Plaintext) != "first" {
		t.Fatalf("the first ciphertext after 27 rotations: %q, %v", pt.Plaintext, err)
	}
}

// RotationPeriodInDays is 90 to 2560 days (the model refuses the rest
// before the Service sees them), 365 by default; the next rotation counts
// from enabling, and a new period of a key already rotating counts from
// its last rotation.
func TestRotationPeriod(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, tt := range []struct {
		days int32
		msg  string
	}{
		{89, "1 validation error detected: Value '89' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 90"},
		{2561, "1 validation error detected: Value '2561' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value less than or equal to 2560"},
	} {
		in := &kmsapi.EnableKeyRotationRequest{KeyId: wire.Ptr("1234abcd-12ab-34cd-56ef-1234567890ab"), RotationPeriodInDays: wire.Ptr(tt.days)}
		wantWireError(t, in.Validate(), "ValidationException", tt.msg)
	}
	status := func(id *string) *kmsapi.GetKeyRotationStatusResponse {
		t.Helper()
		st, err := e.s.GetKeyRotationStatus(ctx, e.caller, &kmsapi.GetKeyRotationStatusRequest{KeyId: id})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for _, tt := range []struct {
		period *int32
		want   int32
	}{{nil, 365}, {wire.Ptr(int32(90)), 90}, {wire.Ptr(int32(2560)), 2560}} {
		md := e.createKey(t)
		in := &kmsapi.EnableKeyRotationRequest{KeyId: md.KeyId, RotationPeriodInDays: tt.period}
		if err := in.Validate(); err != nil {
			t.Fatalf("%d days: %v", tt.want, err)
		}
		if _, err := e.s.EnableKeyRotation(ctx, e.caller, in); err != nil {
			t.Fatalf("%d days: %v", tt.want, err)
		}
		st := status(md.KeyId)
		if next := e.clock.Now().Add(time.Duration(tt.want) * day); !wire.Bool(st.KeyRotationEnabled) || wire.Int32(st.RotationPeriodInDays) != tt.want || !st.NextRotationDate.Time().Equal(next) {
			t.Fatalf("status %+v, want enabled every %d days, next at %v", st, tt.want, next)
		}
	}

	md := e.createKey(t)
	if _, err := e.s.EnableKeyRotation(ctx, e.caller, &kmsapi.EnableKeyRotationRequest{KeyId: md.KeyId}); err != nil {
		t.Fatal(err)
	}
	enabled := e.clock.Now()
	e.clock.Add(10 * day)
	// A shorter period on a rotating key counts from the key's creation,
	// its last rotation, not from now.
	if _, err := e.s.EnableKeyRotation(ctx, e.caller, &kmsapi.EnableKeyRotationRequest{KeyId: md.KeyId, RotationPeriodInDays: wire.Ptr(int32(100))}); err != nil {
		t.Fatal(err)
	}
	if st, want := status(md.KeyId), enabled.Add(100*day); !st.NextRotationDate.Time().Equal(want) {
		t.Fatalf("next rotation after a new period: %v, want %v", st.NextRotationDate.Time(), want)
	}
	if _, err := e.s.DisableKeyRotation(ctx, e.caller, &kmsapi.DisableKeyRotationRequest{KeyId: md.KeyId}); err != nil {
		t.Fatal(err)
	}
	if st := status(md.KeyId); wire.Bool(st.KeyRotationEnabled) || st.RotationPeriodInDays != nil || st.NextRotationDate != nil {
		t.Fatalf("status after DisableKeyRotation: %+v, want disabled without period or date", st)
	}
	e.clock.Add(200 * day)
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.rotations(t, md.KeyId); len(n) != 0 {
		t.Fatalf("a key whose rotation is disabled rotated: %v", n)
	}
}

// Only symmetric encryption keys whose material KMS made rotate
// automatically; on demand, imported material rotates too (to material
// imported for it). Other key types are refused without a message (error
// corpus, error-response), other origins with the origin's.
func TestWhichKeysRotate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	type op func(id *string) error
	enable := func(id *string) error {
		_, err := e.s.EnableKeyRotation(ctx, e.caller, &kmsapi.EnableKeyRotationRequest{KeyId: id})
		return err
	}
	onDemand := func(id *string) error {
		_, err := e.s.RotateKeyOnDemand(ctx, e.caller, &kmsapi.RotateKeyOnDemandRequest{KeyId: id})
		return err
	}
	status := func(id *string) error {
		_, err := e.s.GetKeyRotationStatus(ctx, e.caller, &kmsapi.GetKeyRotationStatusRequest{KeyId: id})
		return err
	}
	list := func(id *string) error {
		_, err := e.s.ListKeyRotations(ctx, e.caller, &kmsapi.ListKeyRotationsRequest{KeyId: id})
		return err
	}
	const unsupported = "UnsupportedOperationException: "
	tests := []struct {
		name                string
		spec, usage, origin string
		ops                 map[string]op
		want                map[string]string // op → "" or code: message, ARN for the key's
	}{
		{name: "symmetric", spec: "SYMMETRIC_DEFAULT", origin: "AWS_KMS",
			want: map[string]string{"EnableKeyRotation": "", "RotateKeyOnDemand": "", "GetKeyRotationStatus": "", "ListKeyRotations": ""}},
		{name: "HMAC", spec: "HMAC_256", usage: "GENERATE_VERIFY_MAC", origin: "AWS_KMS",
			want: map[string]string{"EnableKeyRotation": unsupported, "RotateKeyOnDemand": unsupported, "GetKeyRotationStatus": unsupported,
				"ListKeyRotations": unsupported + "ARN key spec is HMAC_256 which is not valid for this operation."}},
		{name: "RSA encryption", spec: "RSA_2048", usage: "ENCRYPT_DECRYPT", origin: "AWS_KMS",
			want: map[string]string{"EnableKeyRotation": unsupported, "RotateKeyOnDemand": unsupported, "GetKeyRotationStatus": unsupported,
				"ListKeyRotations": unsupported + "ARN key spec is RSA_2048 which is not valid for this operation."}},
		{name: "ECC signing", spec: "ECC_NIST_P256", usage: "SIGN_VERIFY", origin: "AWS_KMS",
			want: map[string]string{"EnableKeyRotation": unsupported, "RotateKeyOnDemand": unsupported, "GetKeyRotationStatus": unsupported,
				"ListKeyRotations": unsupported + "ARN key spec is ECC_NIST_P256 which is not valid for this operation."}},
		{name: "imported", spec: "SYMMETRIC_DEFAULT", origin: "EXTERNAL",
			want: map[string]string{"EnableKeyRotation": unsupported + "ARN origin is EXTERNAL which is not valid for this operation.",
				"GetKeyRotationStatus": unsupported + "ARN origin is EXTERNAL which is not valid for this operation.",
				// On demand it rotates only to material imported for it.
				"RotateKeyOnDemand": "KMSInvalidStateException: No available key material pending rotation for the key: ARN.",
				"ListKeyRotations":  ""}},
	}
	ops := map[string]op{"EnableKeyRotation": enable, "RotateKeyOnDemand": onDemand, "GetKeyRotationStatus": status, "ListKeyRotations": list}
	for _, tt := range tests {
		md := e.keyIn(t, tt.spec, tt.usage, tt.origin, Enabled)
		for name, f := range ops {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				want := strings.Replace(tt.want[name], "ARN", *md.Arn, 1)
				if want == "" {
					if err := f(md.KeyId); err != nil {
						t.Fatalf("%s of a %s key: %v", name, tt.name, err)
					}
					return
				}
				code, msg, _ := strings.Cut(want, ": ")
				wantWireError(t, f(md.KeyId), code, msg)
			})
		}
	}
}
