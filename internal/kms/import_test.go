package kms

import (
	"context"
	"crypto/rand"
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
