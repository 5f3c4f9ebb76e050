package kms

import (
	"context"
	"errors"
	"io"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

const (
	algSymmetric = "SYMMETRIC_DEFAULT"
	// incorrectKey is AWS's text when Decrypt's KeyId is not the key of the ciphertext.
	incorrectKey = "The key ID in the request does not identify a CMK that can perform this operation."
)

// encryptionKey resolves a key for encrypting and returns its current material.
func (s *Service) encryptionKey(c Caller, id, op string, alg *string) (*key, *keys.Symmetric, error) {
	k, err := s.resolve(c, id, keyOrAlias)
	if err != nil {
		return nil, nil, err
	}
	if err := checkUsage(k, op, alg); err != nil {
		return nil, nil, err
	}
	if err := usable(k); err != nil {
		return nil, nil, err
	}
	m := s.view.material(k.rec.Region, k.rec.ID, k.rec.CurrentMaterial)
	if m == nil {
		return nil, nil, errors.New("kms: current material of " + k.arn + " is not loaded")
	}
	return k, m, nil
}

func checkUsage(k *key, op string, alg *string) error {
	if k.rec.Usage != usageEncrypt {
		return kmsapi.NewInvalidKeyUsageException(k.arn + " key usage is " + k.rec.Usage + " which is not valid for " + op + ".")
	}
	if alg != nil && *alg != algSymmetric {
		return kmsapi.NewInvalidKeyUsageException("Algorithm " + *alg + " is incompatible with key spec " + k.rec.Spec + ".")
	}
	return nil
}

// Encrypt encrypts up to 4096 bytes under a symmetric key.
func (s *Service) Encrypt(ctx context.Context, c Caller, in *kmsapi.EncryptRequest) (*kmsapi.EncryptResponse, error) {
	k, m, err := s.encryptionKey(c, *in.KeyId, "Encrypt", in.EncryptionAlgorithm)
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	blob, err := m.Encrypt(s.rand, in.Plaintext, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return &kmsapi.EncryptResponse{CiphertextBlob: blob, KeyId: wire.Ptr(k.arn), EncryptionAlgorithm: wire.Ptr(algSymmetric)}, nil
}

// decryptBlob finds the key and material a ciphertext names and opens it.
// keyID, if set, must name that same key.
func (s *Service) decryptBlob(c Caller, blob []byte, ec map[string]string, keyID, alg *string, op string) (*key, []byte, string, error) {
	if blob == nil {
		return nil, nil, "", wire.Validation("1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null")
	}
	h, err := keys.ParseBlob(blob)
	if err != nil {
		return nil, nil, "", kmsapi.NewInvalidCiphertextException("")
	}
	var k *key
	if keyID != nil {
		if k, err = s.resolve(c, *keyID, keyOrAlias); err != nil {
			return nil, nil, "", err
		}
		if k.rec.ID != h.KeyID {
			return nil, nil, "", kmsapi.NewIncorrectKeyException(incorrectKey)
		}
	} else if k = s.view.key(c.Region, h.KeyID); k == nil || k.rec.Account != c.Account {
		return nil, nil, "", kmsapi.NewInvalidCiphertextException("")
	}
	if err := checkUsage(k, op, alg); err != nil {
		return nil, nil, "", err
	}
	if err := usable(k); err != nil {
		return nil, nil, "", err
	}
	mid := h.MaterialID.String()
	m := s.view.material(k.rec.Region, k.rec.ID, mid)
	if m == nil {
		return nil, nil, "", kmsapi.NewInvalidCiphertextException("")
	}
	pt, err := m.Decrypt(blob, ec)
	if err != nil {
		return nil, nil, "", kmsapi.NewInvalidCiphertextException("")
	}
	return k, pt, mid, nil
}

// Decrypt decrypts a ciphertext made by Encrypt, GenerateDataKey or ReEncrypt.
func (s *Service) Decrypt(ctx context.Context, c Caller, in *kmsapi.DecryptRequest) (*kmsapi.DecryptResponse, error) {
	if in.Recipient != nil {
		return nil, kmsapi.NewUnsupportedOperationException("Recipient (attested enclaves) is not supported by this server.")
	}
	k, pt, mid, err := s.decryptBlob(c, in.CiphertextBlob, in.EncryptionContext, in.KeyId, in.EncryptionAlgorithm, "Decrypt")
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		clear(pt)
		return nil, err
	}
	return &kmsapi.DecryptResponse{KeyId: wire.Ptr(k.arn), Plaintext: pt, EncryptionAlgorithm: wire.Ptr(algSymmetric), KeyMaterialId: wire.Ptr(mid)}, nil
}

// ReEncrypt decrypts under one key and encrypts under another (or the same)
// without exposing the plaintext.
func (s *Service) ReEncrypt(ctx context.Context, c Caller, in *kmsapi.ReEncryptRequest) (*kmsapi.ReEncryptResponse, error) {
	src, pt, srcMid, err := s.decryptBlob(c, in.CiphertextBlob, in.SourceEncryptionContext, in.SourceKeyId, in.SourceEncryptionAlgorithm, "ReEncrypt")
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	dst, m, err := s.encryptionKey(c, *in.DestinationKeyId, "ReEncrypt", in.DestinationEncryptionAlgorithm)
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	blob, err := m.Encrypt(s.rand, pt, in.DestinationEncryptionContext)
	if err != nil {
		return nil, err
	}
	return &kmsapi.ReEncryptResponse{
		CiphertextBlob: blob, SourceKeyId: wire.Ptr(src.arn), KeyId: wire.Ptr(dst.arn),
		SourceEncryptionAlgorithm: wire.Ptr(algSymmetric), DestinationEncryptionAlgorithm: wire.Ptr(algSymmetric),
		SourceKeyMaterialId: wire.Ptr(srcMid), DestinationKeyMaterialId: wire.Ptr(m.ID().String()),
	}, nil
}

func dataKeySize(spec *string, n *int32) (int, error) {
	switch {
	case spec != nil && n != nil, spec == nil && n == nil:
		return 0, wire.Validation("Please specify either number of bytes or key spec.")
	case n != nil:
		return int(*n), nil
	case *spec == "AES_128":
		return 16, nil
	}
	return 32, nil
}

// generateDataKey makes a random data key and its ciphertext under the key.
func (s *Service) generateDataKey(c Caller, id, op string, spec *string, n *int32, ec map[string]string, dry *bool) (*key, *keys.Symmetric, []byte, []byte, error) {
	size, err := dataKeySize(spec, n)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	k, m, err := s.encryptionKey(c, id, op, nil)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if err := dryRun(dry); err != nil {
		return nil, nil, nil, nil, err
	}
	pt := make([]byte, size)
	if _, err := io.ReadFull(s.rand, pt); err != nil {
		return nil, nil, nil, nil, err
	}
	blob, err := m.Encrypt(s.rand, pt, ec)
	if err != nil {
		clear(pt)
		return nil, nil, nil, nil, err
	}
	return k, m, pt, blob, nil
}

// GenerateDataKey returns a data key in plaintext and encrypted under the key.
func (s *Service) GenerateDataKey(ctx context.Context, c Caller, in *kmsapi.GenerateDataKeyRequest) (*kmsapi.GenerateDataKeyResponse, error) {
	if in.Recipient != nil {
		return nil, kmsapi.NewUnsupportedOperationException("Recipient (attested enclaves) is not supported by this server.")
	}
	k, m, pt, blob, err := s.generateDataKey(c, *in.KeyId, "GenerateDataKey", in.KeySpec, in.NumberOfBytes, in.EncryptionContext, in.DryRun)
	if err != nil {
		return nil, err
	}
	return &kmsapi.GenerateDataKeyResponse{CiphertextBlob: blob, Plaintext: pt, KeyId: wire.Ptr(k.arn), KeyMaterialId: wire.Ptr(m.ID().String())}, nil
}

// GenerateDataKeyWithoutPlaintext returns only the encrypted data key.
func (s *Service) GenerateDataKeyWithoutPlaintext(ctx context.Context, c Caller, in *kmsapi.GenerateDataKeyWithoutPlaintextRequest) (*kmsapi.GenerateDataKeyWithoutPlaintextResponse, error) {
	k, m, pt, blob, err := s.generateDataKey(c, *in.KeyId, "GenerateDataKeyWithoutPlaintext", in.KeySpec, in.NumberOfBytes, in.EncryptionContext, in.DryRun)
	if err != nil {
		return nil, err
	}
	clear(pt)
	return &kmsapi.GenerateDataKeyWithoutPlaintextResponse{CiphertextBlob: blob, KeyId: wire.Ptr(k.arn), KeyMaterialId: wire.Ptr(m.ID().String())}, nil
}

// GenerateRandom returns random bytes from the server's CSPRNG.
func (s *Service) GenerateRandom(ctx context.Context, c Caller, in *kmsapi.GenerateRandomRequest) (*kmsapi.GenerateRandomResponse, error) {
	if in.NumberOfBytes == nil {
		return nil, wire.Validation("NumberOfBytes is required.")
	}
	if in.CustomKeyStoreId != nil {
		return nil, kmsapi.NewCustomKeyStoreNotFoundException("")
	}
	if in.Recipient != nil {
		return nil, kmsapi.NewUnsupportedOperationException("Recipient (attested enclaves) is not supported by this server.")
	}
	b := make([]byte, *in.NumberOfBytes)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return nil, err
	}
	return &kmsapi.GenerateRandomResponse{Plaintext: b}, nil
}

// Scrub clears the plaintext a response carried, once it has been written.
func Scrub(resp any) {
	switch r := resp.(type) {
	case *kmsapi.DecryptResponse:
		clear(r.Plaintext)
	case *kmsapi.GenerateDataKeyResponse:
		clear(r.Plaintext)
	case *kmsapi.GenerateRandomResponse:
		clear(r.Plaintext)
	}
}
