package kms

import (
	"context"
	"testing"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// TestBackendOf: a key's origin alone chooses where its cryptography
// happens, and what that backend can do.
func TestBackendOf(t *testing.T) {
	s := &Service{}
	tests := []struct {
		origin                    Origin
		want                      backend
		dataKeyPairs, multiRegion bool
	}{
		{originAWSKMS, localBackend{s}, true, true},
		{originExternal, localBackend{s}, true, true},
		{originCloudHSM, hsmBackend{s}, true, false},
		{originXKS, xksBackend{s}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.origin.String(), func(t *testing.T) {
			b := s.backendOf(tt.origin)
			if b != tt.want {
				t.Fatalf("backendOf(%s) = %T", tt.origin, b)
			}
			if bc := b.caps(); bc.dataKeyPairs != tt.dataKeyPairs || bc.multiRegion != tt.multiRegion {
				t.Fatalf("caps = %+v", bc)
			}
		})
	}
}

// TestDecryptBlobOfAnotherBackend: a blob in the other backend's format
// that names a key does not open under it, whatever its bytes, and the
// caller sees InvalidCiphertextException, not an internal error.
func TestDecryptBlobOfAnotherBackend(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	md := e.createKey(t)
	hdr := keys.NewXKSHeader(*md.KeyId, "ext-key-1")
	forged := hdr.Append(make([]byte, 12), nil, make([]byte, 16), []byte("ciphertext"))
	for _, keyID := range []*string{nil, md.KeyId} {
		_, err := e.s.Decrypt(ctx, e.caller, &kmsapi.DecryptRequest{KeyId: keyID, CiphertextBlob: forged})
		if code(err) != "InvalidCiphertextException" {
			t.Fatalf("KeyId %v: Decrypt of a version-2 blob under a local key = %v", keyID, err)
		}
	}
	k := e.s.view.testKey(e.caller.Region, *md.KeyId)
	if _, _, err := (xksBackend{e.s}).decrypt(ctx, e.caller, k, "Decrypt", forged, nil); code(err) != "InvalidCiphertextException" {
		t.Fatalf("xksBackend.decrypt of a key with no external key = %v", err)
	}
}

// TestCreateKeyAdmit: what each backend refuses of CreateKey before
// authorization, with AWS's precedence among the members.
func TestCreateKeyAdmit(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		origin Origin
		in     kmsapi.CreateKeyRequest
		spec   keys.Spec
		usage  keys.Usage
		want   string
	}{
		{"a local key with a store", originAWSKMS, kmsapi.CreateKeyRequest{CustomKeyStoreId: wire.Ptr("cks-1234567890abcdef0")}, keys.SpecSymmetricDefault, keys.UsageEncryptDecrypt, "ValidationException"},
		{"a local key with an external key", originAWSKMS, kmsapi.CreateKeyRequest{XksKeyId: wire.Ptr("ext")}, keys.SpecSymmetricDefault, keys.UsageEncryptDecrypt, "ValidationException"},
		{"an imported key", originExternal, kmsapi.CreateKeyRequest{}, keys.SpecSymmetricDefault, keys.UsageEncryptDecrypt, ""},
		{"an origin not served", 0, kmsapi.CreateKeyRequest{Origin: wire.Ptr("AWS_NITRO")}, keys.SpecSymmetricDefault, keys.UsageEncryptDecrypt, "UnsupportedOperationException"},
		{"a CloudHSM key without a store", originCloudHSM, kmsapi.CreateKeyRequest{}, keys.SpecSymmetricDefault, keys.UsageEncryptDecrypt, "ValidationException"},
		{"an asymmetric CloudHSM key", originCloudHSM, kmsapi.CreateKeyRequest{CustomKeyStoreId: wire.Ptr("cks-1234567890abcdef0")}, keys.SpecRSA2048, keys.UsageEncryptDecrypt, "UnsupportedOperationException"},
		{"a CloudHSM key in no store", originCloudHSM, kmsapi.CreateKeyRequest{CustomKeyStoreId: wire.Ptr("cks-1234567890abcdef0")}, keys.SpecSymmetricDefault, keys.UsageEncryptDecrypt, "CustomKeyStoreNotFoundException"},
		{"an XKS key waits for authorization", originXKS, kmsapi.CreateKeyRequest{}, keys.SpecSymmetricDefault, keys.UsageEncryptDecrypt, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.s.backendOf(tt.origin).admit(e.caller, tt.origin, &tt.in, tt.spec, tt.usage)
			if code(err) != tt.want || (tt.want == "") != (err == nil) {
				t.Fatalf("admit = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestBackendDescribes: what KeyMetadata says of where a key's cryptography
// happens comes from its backend alone.
func TestBackendDescribes(t *testing.T) {
	s := &Service{}
	r := &keyRecord{CustomKeyStoreID: "cks-1234567890abcdef0", XksKeyID: "ext-1"}
	var md kmsapi.KeyMetadata
	localBackend{s}.describe(r, &md)
	if md.CustomKeyStoreId != nil || md.XksKeyConfiguration != nil || md.CloudHsmClusterId != nil {
		t.Fatalf("a local key describes a store: %+v", md)
	}
	xksBackend{s}.describe(r, &md)
	if wire.String(md.CustomKeyStoreId) != r.CustomKeyStoreID || md.XksKeyConfiguration == nil || wire.String(md.XksKeyConfiguration.Id) != "ext-1" || md.CloudHsmClusterId != nil {
		t.Fatalf("an XKS key: %+v", md)
	}
}
