package kms

// Keys in external key stores (CustomKeyStoreType EXTERNAL_KEY_STORE): their
// backend. The store, its proxy's client and the XKS specification's error
// table are package customkeystore's.

import (
	"context"
	"errors"

	"github.com/trentkms/trent/internal/customkeystore"
	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/keystore/xks"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// xksConnOf returns the client of a key's store, or an Unavailable error.
func xksConnOf(k *key) (*xks.Client, error) {
	if k.cks == nil {
		return nil, errors.New("kms: key " + k.arn + " has no key store connection")
	}
	cl := k.cks.XKS()
	if cl == nil {
		return nil, kmsapi.NewKMSInvalidStateException(k.arn + " is unavailable.")
	}
	return cl, nil
}

func xksMetadata(c Caller, k *key, op string, s *Service) xks.RequestMetadata {
	return xks.RequestMetadata{AWSPrincipalARN: c.ARN, KMSKeyARN: k.arn, KMSOperation: op, KMSRequestID: s.stores.RequestID(c.RequestID)}
}

// xksBackend is a key in an external key store: every encryption and
// decryption is a call to the store's proxy, in the version-2 blob format
// (keys.XKSBlob). The key has no material Trent names.
type xksBackend struct{ s *Service }

func (b xksBackend) encrypt(ctx context.Context, c Caller, k *key, op string, pt []byte, ec map[string]string) ([]byte, *keys.Symmetric, error) {
	cl, err := xksConnOf(k)
	if err != nil {
		return nil, nil, err
	}
	hdr := keys.NewXKSHeader(k.rec.ID, k.rec.XksKeyID)
	aad := hdr.AAD(ec)
	if len(aad) > xks.MaxAADSize {
		return nil, nil, wire.Validation("The encryption context is too large for a KMS key in an external key store.")
	}
	ct, err := cl.Encrypt(ctx, k.rec.XksKeyID, xksMetadata(c, k, op, b.s), pt, aad)
	if err != nil {
		b.s.log.Warn("kms: external key store encrypt", "key", k.arn, "err", err)
		return nil, nil, customkeystore.CryptoError(err)
	}
	return hdr.Append(ct.IV, ct.Metadata, ct.Tag, ct.Ciphertext), nil, nil
}

func (b xksBackend) decrypt(ctx context.Context, c Caller, k *key, op string, blob []byte, ec map[string]string) ([]byte, string, error) {
	x, err := keys.ParseXKSBlob(blob)
	if err != nil || k.rec.XksKeyID != x.XksKeyID {
		return nil, "", kmsapi.NewInvalidCiphertextException("")
	}
	cl, err := xksConnOf(k)
	if err != nil {
		return nil, "", err
	}
	aad := x.Header().AAD(ec)
	if len(aad) > xks.MaxAADSize {
		return nil, "", kmsapi.NewInvalidCiphertextException("")
	}
	pt, err := cl.Decrypt(ctx, x.XksKeyID, xksMetadata(c, k, op, b.s), xks.Ciphertext{IV: x.IV, Metadata: x.Metadata, Tag: x.Tag, Ciphertext: x.Ciphertext}, aad)
	if errors.Is(err, xks.ErrInvalidCiphertext) {
		// A wrong encryption context or a tampered blob: to the caller
		// this is InvalidCiphertextException, as for any other key
		// (the table's KMSInvalidStateException is for ciphertexts KMS
		// itself cannot have produced).
		return nil, "", kmsapi.NewInvalidCiphertextException("")
	}
	if err != nil {
		b.s.log.Warn("kms: external key store decrypt", "key", k.arn, "err", err)
		return nil, "", customkeystore.CryptoError(err)
	}
	return pt, "", nil
}

// admit leaves the store to ready: its checks ask the proxy, which only an
// authorized request may make Trent do.
func (xksBackend) admit(Caller, Origin, *kmsapi.CreateKeyRequest, keys.Spec, keys.Usage) (*customkeystore.Record, error) {
	return nil, nil
}

// ready checks the store and the external key with the proxy
// (customkeystore.ForNewXKSKey).
func (b xksBackend) ready(ctx context.Context, c Caller, in *kmsapi.CreateKeyRequest, spec keys.Spec, usage keys.Usage, _ *customkeystore.Record) (*customkeystore.Record, error) {
	return b.s.stores.ForNewXKSKey(ctx, storeCaller(c), in.CustomKeyStoreId, in.XksKeyId, spec == keys.SpecSymmetricDefault && usage == keys.UsageEncryptDecrypt)
}

// create names the external key: it has no material, the key in the
// external key manager does the cryptography.
func (xksBackend) create(_ context.Context, _ Caller, rec *keyRecord, _ keys.Spec, cks *customkeystore.Record, in *kmsapi.CreateKeyRequest) ([]store.KV, error) {
	rec.CustomKeyStoreID, rec.XksKeyID = cks.ID, *in.XksKeyId
	return nil, nil
}

// caps: GenerateDataKeyPair* on keys in external key stores is not done by
// this server yet.
func (xksBackend) describe(r *keyRecord, md *kmsapi.KeyMetadata) {
	md.CustomKeyStoreId = wire.Ptr(r.CustomKeyStoreID)
	md.XksKeyConfiguration = &kmsapi.XksKeyConfigurationType{Id: wire.Ptr(r.XksKeyID)}
}

func (xksBackend) caps() backendCaps { return backendCaps{keys: "KMS keys in an external key store"} }
