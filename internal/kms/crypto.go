package kms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

const (
	algSymmetric = "SYMMETRIC_DEFAULT"
	// incorrectKey is AWS's text when Decrypt's KeyId is not the key of the ciphertext.
	incorrectKey = "The key ID in the request does not identify a CMK that can perform this operation."
)

// spec is the key's spec: a record with an unknown one does not load.
func (k *key) spec() keys.Spec { return k.rec.Spec }

// wrongUsage is AWS's text when a key's usage does not allow an operation.
func wrongUsage(k *key, op string) error {
	return kmsapi.NewInvalidKeyUsageException(k.arn + " key usage is " + k.rec.Usage.String() + " which is not valid for " + op + ".")
}

// incompatible is AWS's text when an algorithm does not go with a key spec.
func incompatible(alg string, k *key) error {
	return kmsapi.NewInvalidKeyUsageException("Algorithm " + alg + " is incompatible with key spec " + k.rec.Spec.String() + ".")
}

// current returns the material a key uses now, from memory.
func (s *Service) current(k *key) (keys.Material, error) {
	m := s.view.material(k.rec.Region, k.rec.ID, k.rec.CurrentMaterial)
	if m == nil {
		return nil, errors.New("kms: current material of " + k.arn + " is not loaded")
	}
	return m, nil
}

// currentAs returns a key's current material as the type its spec makes
// it, what for the error if it is not.
func currentAs[T keys.Material](s *Service, k *key, what string) (T, error) {
	var zero T
	m, err := s.current(k)
	if err != nil {
		return zero, err
	}
	t, ok := m.(T)
	if !ok {
		return zero, errors.New("kms: current material of " + k.arn + " is not " + what)
	}
	return t, nil
}

// asymmetric returns a key's current material as a key pair.
func (s *Service) asymmetric(k *key) (*keys.Asymmetric, error) {
	return currentAs[*keys.Asymmetric](s, k, "a key pair")
}

// checkAlgorithm checks the encryption algorithm of a request on a
// symmetric key: only SYMMETRIC_DEFAULT.
func checkAlgorithm(k *key, alg *string) error {
	if k.rec.Spec == keys.SpecSymmetricDefault && alg != nil && *alg != algSymmetric {
		return incompatible(*alg, k)
	}
	return nil
}

// asymmetricAlgorithm is the encryption algorithm of a request on an RSA or
// SM2 key and its name. KMS needs an explicit one there: SYMMETRIC_DEFAULT,
// the default, is incompatible with the spec.
func asymmetricAlgorithm(k *key, alg *string) (keys.EncryptionAlgorithm, string, error) {
	name := wire.String(alg)
	if name == "" {
		name = algSymmetric
	}
	ea, err := keys.ParseEncryptionAlgorithm(name)
	if err != nil || !slices.Contains(k.spec().EncryptionAlgorithms(), ea) {
		return 0, name, incompatible(name, k)
	}
	return ea, name, nil
}

// encryptAsymmetric encrypts under an RSA or SM2 key's public key.
func (s *Service) encryptAsymmetric(k *key, alg *string, pt []byte, ec map[string]string) ([]byte, string, error) {
	ea, name, err := asymmetricAlgorithm(k, alg)
	if err != nil {
		return nil, "", err
	}
	if len(ec) > 0 {
		return nil, "", wire.Validation("EncryptionContext is not supported with asymmetric KMS keys.")
	}
	a, err := s.asymmetric(k)
	if err != nil {
		return nil, "", err
	}
	if max := a.MaxPlaintext(ea); len(pt) > max {
		// AWS's text, from the error corpus (RSAES_OAEP_SHA_1 / RSA_2048: 214 bytes).
		return nil, "", wire.Validation(fmt.Sprintf("Algorithm %s and key spec %s cannot encrypt data larger than %d bytes.", name, k.rec.Spec, max))
	}
	ct, err := a.Encrypt(s.rand, ea, pt)
	if err != nil {
		return nil, "", err
	}
	return ct, name, nil
}

// Encrypt encrypts up to 4096 bytes under a symmetric key, or a small
// plaintext under an RSA or SM2 key's public key.
func (s *Service) Encrypt(ctx context.Context, c Caller, in *kmsapi.EncryptRequest) (*kmsapi.EncryptResponse, error) {
	c.grantTokens = in.GrantTokens
	k, err := s.keyForOp(c, "Encrypt", *in.KeyId, keyOrAlias|crossAccount,
		cryptoAccess("Encrypt", in.EncryptionContext, "kms:encryptionalgorithm", in.EncryptionAlgorithm, algSymmetric))
	if err != nil {
		return nil, err
	}
	if k.rec.Spec != keys.SpecSymmetricDefault {
		ct, alg, err := s.encryptAsymmetric(k, in.EncryptionAlgorithm, in.Plaintext, in.EncryptionContext)
		if err != nil {
			return nil, err
		}
		if err := dryRun(in.DryRun); err != nil {
			return nil, err
		}
		return &kmsapi.EncryptResponse{CiphertextBlob: ct, KeyId: wire.Ptr(k.arn), EncryptionAlgorithm: wire.Ptr(alg)}, nil
	}
	if err := checkAlgorithm(k, in.EncryptionAlgorithm); err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	blob, _, err := s.backend(k).encrypt(ctx, c, k, "Encrypt", in.Plaintext, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return encryptResponse(blob, k.arn, algSymmetric), nil
}

// encryptResponse is an EncryptResponse and the strings it points to, in
// one allocation.
func encryptResponse(blob []byte, keyARN, alg string) *kmsapi.EncryptResponse {
	r := &struct {
		resp       kmsapi.EncryptResponse
		keyID, alg string
	}{keyID: keyARN, alg: alg}
	r.resp = kmsapi.EncryptResponse{CiphertextBlob: blob, KeyId: &r.keyID, EncryptionAlgorithm: &r.alg}
	return &r.resp
}

// decryptResponse is a DecryptResponse and the strings it points to, in one
// allocation.
func decryptResponse(d decrypted) *kmsapi.DecryptResponse {
	r := &struct {
		resp            kmsapi.DecryptResponse
		keyID, alg, mid string
	}{keyID: d.k.arn, alg: d.alg, mid: d.mid}
	r.resp = kmsapi.DecryptResponse{KeyId: &r.keyID, Plaintext: d.pt, EncryptionAlgorithm: &r.alg}
	if d.mid != "" {
		r.resp.KeyMaterialId = &r.mid
	}
	return &r.resp
}

// decrypted is what opening a ciphertext yields.
type decrypted struct {
	k   *key
	pt  []byte
	mid string // symmetric keys only
	alg string
}

// decryptAccess is the access of Decrypt, or of ReEncrypt's source side
// (kms:ReEncryptFrom).
func decryptAccess(op string, ec map[string]string, alg *string) access {
	a := cryptoAccess("Decrypt", ec, "kms:encryptionalgorithm", alg, algSymmetric)
	if op == "ReEncrypt" {
		a.op = "ReEncryptFrom"
	}
	return a
}

// decryptAny opens a ciphertext: an asymmetric one needs its KeyId (it names
// no key), a symmetric blob names its own.
func (s *Service) decryptAny(ctx context.Context, c Caller, blob []byte, ec map[string]string, keyID, alg *string, op string, extra ...string) (decrypted, error) {
	if keyID != nil && blob != nil {
		a := decryptAccess(op, ec, alg)
		a.keys = append(a.keys, extra...)
		k, err := s.keyFor(c, *keyID, keyOrAlias|crossAccount, a)
		if err != nil {
			return decrypted{}, err
		}
		if k.rec.Spec != keys.SpecSymmetricDefault && k.rec.Usage == keys.UsageEncryptDecrypt {
			return s.decryptAsymmetric(k, blob, ec, alg, op)
		}
	}
	k, pt, mid, err := s.decryptBlob(ctx, c, blob, ec, keyID, alg, op, extra...)
	return decrypted{k: k, pt: pt, mid: mid, alg: algSymmetric}, err
}

func (s *Service) decryptAsymmetric(k *key, ct []byte, ec map[string]string, alg *string, op string) (decrypted, error) {
	if err := checkKey(k, op); err != nil {
		return decrypted{}, err
	}
	ea, name, err := asymmetricAlgorithm(k, alg)
	if err != nil {
		return decrypted{}, err
	}
	if len(ec) > 0 {
		return decrypted{}, wire.Validation("EncryptionContext is not supported with asymmetric KMS keys.")
	}
	a, err := s.asymmetric(k)
	if err != nil {
		return decrypted{}, err
	}
	pt, err := a.Decrypt(ea, ct)
	if err != nil {
		return decrypted{}, kmsapi.NewInvalidCiphertextException("")
	}
	return decrypted{k: k, pt: pt, alg: name}, nil
}

// decryptBlob finds the key a symmetric ciphertext blob names, authorizes
// and checks it, and has the key's backend open the blob. keyID, if set,
// must name that same key.
func (s *Service) decryptBlob(ctx context.Context, c Caller, blob []byte, ec map[string]string, keyID, alg *string, op string, extra ...string) (*key, []byte, string, error) {
	if blob == nil {
		return nil, nil, "", wire.Validation("1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null")
	}
	blobKey, err := keys.BlobKeyID(blob)
	if err != nil {
		return nil, nil, "", kmsapi.NewInvalidCiphertextException("")
	}
	var k *key
	a := decryptAccess(op, ec, alg)
	a.keys = append(a.keys, extra...)
	if keyID != nil {
		if k, err = s.keyFor(c, *keyID, keyOrAlias|crossAccount, a); err != nil {
			return nil, nil, "", err
		}
		if k.rec.ID != blobKey {
			return nil, nil, "", kmsapi.NewIncorrectKeyException(incorrectKey)
		}
	} else {
		// Decrypt is authorized against the key the ciphertext names, in
		// whatever account it is (KMS Developer Guide: Decrypt).
		if k, err = s.view.key(c.Region, blobKey); err != nil {
			return nil, nil, "", err
		}
		if k == nil {
			return nil, nil, "", accessDenied("The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.")
		}
		if _, err := s.authorize(c, k, a); err != nil {
			return nil, nil, "", err
		}
	}
	if err := checkKey(k, op); err != nil {
		return nil, nil, "", err
	}
	if err := checkAlgorithm(k, alg); err != nil {
		return nil, nil, "", err
	}
	pt, mid, err := s.backend(k).decrypt(ctx, c, k, op, blob, ec)
	if err != nil {
		return nil, nil, "", err
	}
	return k, pt, mid, nil
}

// ignoreCiphertext reports a DryRun that tests only permissions
// (DryRunModifiers IGNORE_CIPHERTEXT): the key and access are checked, the
// ciphertext is not (Decrypt and ReEncrypt, DryRunModifiers).
func ignoreCiphertext(dry *bool, mods []string) bool {
	return wire.Bool(dry) && slices.Contains(mods, "IGNORE_CIPHERTEXT")
}

// dryRunSource checks the key that would decrypt, named by the request's
// member (which the model requires with IGNORE_CIPHERTEXT), as Decrypt
// would: resolution, authorization, the key's needs and the algorithm.
func (s *Service) dryRunSource(c Caller, op, member string, keyID *string, ec map[string]string, alg *string, extra ...string) (*key, error) {
	if keyID == nil {
		return nil, wire.Validation(member + " is required when DryRunModifiers contains IGNORE_CIPHERTEXT.")
	}
	a := decryptAccess(op, ec, alg)
	a.keys = append(a.keys, extra...)
	k, err := s.keyForOp(c, op, *keyID, keyOrAlias|crossAccount, a)
	if err != nil {
		return nil, err
	}
	if k.rec.Spec == keys.SpecSymmetricDefault {
		return k, checkAlgorithm(k, alg)
	}
	_, _, err = asymmetricAlgorithm(k, alg)
	return k, err
}

// Decrypt decrypts a ciphertext made by Encrypt, GenerateDataKey or
// ReEncrypt, or one made outside KMS with an asymmetric key's public key.
func (s *Service) Decrypt(ctx context.Context, c Caller, in *kmsapi.DecryptRequest) (*kmsapi.DecryptResponse, error) {
	c.grantTokens = in.GrantTokens
	if in.Recipient != nil {
		return nil, kmsapi.NewUnsupportedOperationException("Recipient (attested enclaves) is not supported by this server.")
	}
	if ignoreCiphertext(in.DryRun, in.DryRunModifiers) {
		if _, err := s.dryRunSource(c, "Decrypt", "KeyId", in.KeyId, in.EncryptionContext, in.EncryptionAlgorithm); err != nil {
			return nil, err
		}
		return nil, dryRun(in.DryRun)
	}
	d, err := s.decryptAny(ctx, c, in.CiphertextBlob, in.EncryptionContext, in.KeyId, in.EncryptionAlgorithm, "Decrypt")
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		clear(d.pt)
		return nil, err
	}
	return decryptResponse(d), nil
}

// ReEncrypt decrypts under one key and encrypts under another (or the same)
// without exposing the plaintext.
func (s *Service) ReEncrypt(ctx context.Context, c Caller, in *kmsapi.ReEncryptRequest) (*kmsapi.ReEncryptResponse, error) {
	c.grantTokens = in.GrantTokens
	// kms:ReEncryptOnSameKey is part of both the ReEncryptFrom and the
	// ReEncryptTo decisions, so work out both keys first.
	same := "false"
	if dk, _, err := s.lookup(c, *in.DestinationKeyId, keyOrAlias|crossAccount); err == nil {
		var srcID string
		if in.SourceKeyId != nil {
			if sk, _, err := s.lookup(c, *in.SourceKeyId, keyOrAlias|crossAccount); err == nil {
				srcID = sk.rec.ID
			}
		} else if id, err := keys.BlobKeyID(in.CiphertextBlob); err == nil {
			srcID = id
		}
		if srcID == dk.rec.ID {
			same = "true"
		}
	}
	var d decrypted
	var err error
	if ignoreCiphertext(in.DryRun, in.DryRunModifiers) {
		// The source side without its ciphertext; the destination side is
		// checked in full below, and DryRun answers before encrypting.
		d.k, err = s.dryRunSource(c, "ReEncrypt", "SourceKeyId", in.SourceKeyId, in.SourceEncryptionContext, in.SourceEncryptionAlgorithm, "kms:reencryptonsamekey", same)
	} else {
		d, err = s.decryptAny(ctx, c, in.CiphertextBlob, in.SourceEncryptionContext, in.SourceKeyId, in.SourceEncryptionAlgorithm, "ReEncrypt", "kms:reencryptonsamekey", same)
	}
	if err != nil {
		return nil, err
	}
	defer clear(d.pt)
	out := &kmsapi.ReEncryptResponse{SourceKeyId: wire.Ptr(d.k.arn), SourceEncryptionAlgorithm: wire.Ptr(d.alg)}
	if d.mid != "" {
		out.SourceKeyMaterialId = wire.Ptr(d.mid)
	}
	to := cryptoAccess("ReEncryptTo", in.DestinationEncryptionContext, "kms:encryptionalgorithm", in.DestinationEncryptionAlgorithm, algSymmetric)
	to.keys = append(to.keys, "kms:reencryptonsamekey", same)
	dst, err := s.keyForOp(c, "ReEncrypt", *in.DestinationKeyId, keyOrAlias|crossAccount, to)
	if err != nil {
		return nil, err
	}
	if dst.rec.Spec != keys.SpecSymmetricDefault {
		ct, alg, err := s.encryptAsymmetric(dst, in.DestinationEncryptionAlgorithm, d.pt, in.DestinationEncryptionContext)
		if err != nil {
			return nil, err
		}
		if err := dryRun(in.DryRun); err != nil {
			return nil, err
		}
		out.CiphertextBlob, out.KeyId, out.DestinationEncryptionAlgorithm = ct, wire.Ptr(dst.arn), wire.Ptr(alg)
		return out, nil
	}
	if err := checkAlgorithm(dst, in.DestinationEncryptionAlgorithm); err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	blob, m, err := s.backend(dst).encrypt(ctx, c, dst, "ReEncrypt", d.pt, in.DestinationEncryptionContext)
	if err != nil {
		return nil, err
	}
	out.CiphertextBlob, out.KeyId, out.DestinationEncryptionAlgorithm = blob, wire.Ptr(dst.arn), wire.Ptr(algSymmetric)
	out.DestinationKeyMaterialId = materialIDOf(m)
	return out, nil
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

// dataKeyAccess is the access of an operation that generates a data key or
// data key pair: KMS encrypts it with SYMMETRIC_DEFAULT, which
// kms:EncryptionAlgorithm reports although the request names no algorithm
// (KMS Developer Guide, conditions-kms.md: kms:EncryptionAlgorithm).
func dataKeyAccess(op string, ec map[string]string, keys ...string) access {
	return access{op: op, ec: ec, keys: append([]string{"kms:encryptionalgorithm", algSymmetric}, keys...)}
}

// generateDataKey makes a random data key and its ciphertext under the key,
// and returns the material that encrypted it (nil if Trent holds none).
func (s *Service) generateDataKey(ctx context.Context, c Caller, id, op string, spec *string, n *int32, ec map[string]string, dry *bool) (*key, *keys.Symmetric, []byte, []byte, error) {
	size, err := dataKeySize(spec, n)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	k, err := s.keyForOp(c, op, id, keyOrAlias|crossAccount, dataKeyAccess(op, ec))
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
	blob, m, err := s.backend(k).encrypt(ctx, c, k, op, pt, ec)
	if err != nil {
		clear(pt)
		return nil, nil, nil, nil, err
	}
	return k, m, pt, blob, nil
}

// GenerateDataKey returns a data key in plaintext and encrypted under the key.
func (s *Service) GenerateDataKey(ctx context.Context, c Caller, in *kmsapi.GenerateDataKeyRequest) (*kmsapi.GenerateDataKeyResponse, error) {
	c.grantTokens = in.GrantTokens
	if in.Recipient != nil {
		return nil, kmsapi.NewUnsupportedOperationException("Recipient (attested enclaves) is not supported by this server.")
	}
	k, m, pt, blob, err := s.generateDataKey(ctx, c, *in.KeyId, "GenerateDataKey", in.KeySpec, in.NumberOfBytes, in.EncryptionContext, in.DryRun)
	if err != nil {
		return nil, err
	}
	// The response and the strings it points to in one allocation.
	r := &struct {
		resp       kmsapi.GenerateDataKeyResponse
		keyID, mid string
	}{keyID: k.arn}
	r.resp = kmsapi.GenerateDataKeyResponse{CiphertextBlob: blob, Plaintext: pt, KeyId: &r.keyID}
	if m != nil {
		r.mid = m.ID().String()
		r.resp.KeyMaterialId = &r.mid
	}
	return &r.resp, nil
}

// GenerateDataKeyWithoutPlaintext returns only the encrypted data key.
func (s *Service) GenerateDataKeyWithoutPlaintext(ctx context.Context, c Caller, in *kmsapi.GenerateDataKeyWithoutPlaintextRequest) (*kmsapi.GenerateDataKeyWithoutPlaintextResponse, error) {
	c.grantTokens = in.GrantTokens
	k, m, pt, blob, err := s.generateDataKey(ctx, c, *in.KeyId, "GenerateDataKeyWithoutPlaintext", in.KeySpec, in.NumberOfBytes, in.EncryptionContext, in.DryRun)
	if err != nil {
		return nil, err
	}
	clear(pt)
	return &kmsapi.GenerateDataKeyWithoutPlaintextResponse{CiphertextBlob: blob, KeyId: wire.Ptr(k.arn), KeyMaterialId: materialIDOf(m)}, nil
}

// materialIDOf is a response's KeyMaterialId; keys in external key stores
// (no material Trent holds) have none.
func materialIDOf(m *keys.Symmetric) *string {
	if m == nil {
		return nil
	}
	return wire.Ptr(m.ID().String())
}

// GenerateRandom returns random bytes from the server's CSPRNG.
func (s *Service) GenerateRandom(ctx context.Context, c Caller, in *kmsapi.GenerateRandomRequest) (*kmsapi.GenerateRandomResponse, error) {
	if in.NumberOfBytes == nil {
		return nil, wire.Validation("NumberOfBytes is required.")
	}
	if err := s.authorizeAccount(c, "kms:GenerateRandom", "*"); err != nil {
		return nil, err
	}
	if in.Recipient != nil {
		return nil, kmsapi.NewUnsupportedOperationException("Recipient (attested enclaves) is not supported by this server.")
	}
	if in.CustomKeyStoreId != nil {
		// From the store's HSM (C_GenerateRandom), as AWS does.
		b, err := s.stores.Random(ctx, storeCaller(c), *in.CustomKeyStoreId, int(*in.NumberOfBytes))
		if err != nil {
			return nil, err
		}
		return &kmsapi.GenerateRandomResponse{Plaintext: b}, nil
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
	case *kmsapi.GenerateDataKeyPairResponse:
		clear(r.PrivateKeyPlaintext)
	case *kmsapi.DeriveSharedSecretResponse:
		clear(r.SharedSecret)
	}
}
