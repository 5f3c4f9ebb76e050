package kms

import (
	"context"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// GetPublicKey returns an asymmetric key's public key (DER
// SubjectPublicKeyInfo) with what a client needs to use it outside KMS.
func (s *Service) GetPublicKey(ctx context.Context, c Caller, in *kmsapi.GetPublicKeyRequest) (*kmsapi.GetPublicKeyResponse, error) {
	c.grantTokens = in.GrantTokens
	k, err := s.keyForOp(c, "GetPublicKey", *in.KeyId, keyOrAlias|crossAccount, access{op: "GetPublicKey"})
	if err != nil {
		return nil, err
	}
	spec := k.spec()
	a, err := s.asymmetric(k)
	if err != nil {
		return nil, err
	}
	out := &kmsapi.GetPublicKeyResponse{
		KeyId: wire.Ptr(k.arn), PublicKey: a.PublicKey(),
		CustomerMasterKeySpec: wire.Ptr(k.rec.Spec.String()), KeySpec: wire.Ptr(k.rec.Spec.String()), KeyUsage: wire.Ptr(k.rec.Usage.String()),
	}
	switch k.rec.Usage {
	case keys.UsageEncryptDecrypt:
		out.EncryptionAlgorithms = keys.Names(spec.EncryptionAlgorithms())
	case keys.UsageSignVerify:
		out.SigningAlgorithms = keys.Names(spec.SigningAlgorithms())
	case keys.UsageKeyAgreement:
		out.KeyAgreementAlgorithms = keys.Names(spec.KeyAgreementAlgorithms())
	}
	return out, nil
}

// dataKeyPair makes a key pair of the requested spec and encrypts its
// private key under a symmetric encryption key, and returns the material
// that encrypted it.
func (s *Service) dataKeyPair(ctx context.Context, c Caller, id, op, pairSpec string, ec map[string]string, dry *bool) (*key, *keys.Symmetric, []byte, []byte, []byte, error) {
	k, err := s.keyForOp(c, op, id, keyOrAlias|crossAccount, dataKeyAccess(op, ec, "kms:datakeypairspec", pairSpec))
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	be := s.backend(k)
	if bc := be.caps(); !bc.dataKeyPairs {
		return nil, nil, nil, nil, nil, bc.unsupported(op)
	}
	spec, err := keys.ParseSpec(pairSpec)
	if err != nil || !spec.IsDataKeyPairSpec() {
		return nil, nil, nil, nil, nil, wire.Validation("KeyPairSpec " + pairSpec + " is not valid.")
	}
	if err := dryRun(dry); err != nil {
		return nil, nil, nil, nil, nil, err
	}
	priv, pub, err := keys.GenerateKeyPair(s.rand, spec)
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	blob, m, err := be.encrypt(ctx, c, k, op, priv, ec)
	if err != nil {
		clear(priv)
		return nil, nil, nil, nil, nil, err
	}
	return k, m, priv, pub, blob, nil
}

// GenerateDataKeyPair returns a key pair whose private key comes in plaintext
// (PKCS #8 DER) and encrypted under a symmetric encryption key.
func (s *Service) GenerateDataKeyPair(ctx context.Context, c Caller, in *kmsapi.GenerateDataKeyPairRequest) (*kmsapi.GenerateDataKeyPairResponse, error) {
	c.grantTokens = in.GrantTokens
	if in.Recipient != nil {
		return nil, kmsapi.NewUnsupportedOperationException("Recipient (attested enclaves) is not supported by this server.")
	}
	k, m, priv, pub, blob, err := s.dataKeyPair(ctx, c, *in.KeyId, "GenerateDataKeyPair", *in.KeyPairSpec, in.EncryptionContext, in.DryRun)
	if err != nil {
		return nil, err
	}
	return &kmsapi.GenerateDataKeyPairResponse{
		PrivateKeyCiphertextBlob: blob, PrivateKeyPlaintext: priv, PublicKey: pub,
		KeyId: wire.Ptr(k.arn), KeyPairSpec: in.KeyPairSpec, KeyMaterialId: materialIDOf(m),
	}, nil
}

// GenerateDataKeyPairWithoutPlaintext returns the key pair with only the
// encrypted private key.
func (s *Service) GenerateDataKeyPairWithoutPlaintext(ctx context.Context, c Caller, in *kmsapi.GenerateDataKeyPairWithoutPlaintextRequest) (*kmsapi.GenerateDataKeyPairWithoutPlaintextResponse, error) {
	c.grantTokens = in.GrantTokens
	k, m, priv, pub, blob, err := s.dataKeyPair(ctx, c, *in.KeyId, "GenerateDataKeyPairWithoutPlaintext", *in.KeyPairSpec, in.EncryptionContext, in.DryRun)
	if err != nil {
		return nil, err
	}
	clear(priv)
	return &kmsapi.GenerateDataKeyPairWithoutPlaintextResponse{
		PrivateKeyCiphertextBlob: blob, PublicKey: pub,
		KeyId: wire.Ptr(k.arn), KeyPairSpec: in.KeyPairSpec, KeyMaterialId: materialIDOf(m),
	}, nil
}
