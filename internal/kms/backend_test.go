package kms

import (
	"context"
	"testing"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// TestBackendOf: a key's origin alone chooses where its cryptography
// happens, and what that backend can do.
func TestBackendOf(t *testing.T) {
	s := &Service{}
	tests := []struct {
		origin       string
		want         backend
		dataKeyPairs bool
	}{
		{originAWSKMS, localBackend{s}, true},
		{originExternal, localBackend{s}, true},
		{originCloudHSM, hsmBackend{s}, true},
		{originXKS, xksBackend{s}, false},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			b := s.backendOf(tt.origin)
			if b != tt.want {
				t.Fatalf("backendOf(%s) = %T", tt.origin, b)
			}
			if got := b.caps().dataKeyPairs; got != tt.dataKeyPairs {
				t.Fatalf("dataKeyPairs = %v", got)
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
	k := e.s.view.key(e.caller.Region, *md.KeyId)
	if _, _, err := (xksBackend{e.s}).decrypt(ctx, e.caller, k, "Decrypt", forged, nil); code(err) != "InvalidCiphertextException" {
		t.Fatalf("xksBackend.decrypt of a key with no external key = %v", err)
	}
}
