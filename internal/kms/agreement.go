package kms

import (
	"context"
	"errors"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// DeriveSharedSecret runs ECDH between a KEY_AGREEMENT key's private key and
// a peer's public key (DER SubjectPublicKeyInfo) and returns the raw shared
// secret.
func (s *Service) DeriveSharedSecret(ctx context.Context, c Caller, in *kmsapi.DeriveSharedSecretRequest) (*kmsapi.DeriveSharedSecretResponse, error) {
	c.grantTokens = in.GrantTokens
	if in.Recipient != nil {
		return nil, kmsapi.NewUnsupportedOperationException("Recipient (attested enclaves) is not supported by this server.")
	}
	k, err := s.keyForOp(c, "DeriveSharedSecret", *in.KeyId, keyOrAlias|crossAccount,
		access{op: "DeriveSharedSecret", keys: []string{"kms:keyagreementalgorithm", wire.String(in.KeyAgreementAlgorithm)}})
	if err != nil {
		return nil, err
	}
	alg, err := keys.ParseKeyAgreementAlgorithm(*in.KeyAgreementAlgorithm)
	if err != nil {
		return nil, incompatible(*in.KeyAgreementAlgorithm, k)
	}
	a, err := s.asymmetric(k)
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	secret, err := a.DeriveSharedSecret(alg, in.PublicKey)
	if errors.Is(err, keys.ErrPublicKey) {
		// AWS answers a public key it cannot use with an empty
		// ValidationException (error corpus, "response-invalid-public-key").
		return nil, wire.Validation("")
	}
	if err != nil {
		return nil, err
	}
	return &kmsapi.DeriveSharedSecretResponse{
		KeyId: wire.Ptr(k.arn), SharedSecret: secret, KeyAgreementAlgorithm: wire.Ptr(alg.String()), KeyOrigin: wire.Ptr(k.rec.Origin.String()),
	}, nil
}
