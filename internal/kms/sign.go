package kms

import (
	"context"
	"errors"
	"slices"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// signingKey resolves a SIGN_VERIFY key and the algorithm and message type
// of a Sign or Verify request, from memory.
func (s *Service) signingKey(c Caller, id, op, algName string, mtName *string) (*key, *keys.Asymmetric, keys.SigningAlgorithm, keys.MessageType, error) {
	mtKey := "RAW"
	if mtName != nil {
		mtKey = *mtName
	}
	k, err := s.keyForOp(c, op, id, keyOrAlias|crossAccount, access{op: op, keys: []string{"kms:signingalgorithm", algName, "kms:messagetype", mtKey}})
	if err != nil {
		return nil, nil, 0, 0, err
	}
	alg, err := keys.ParseSigningAlgorithm(algName)
	if err != nil || !slices.Contains(k.spec().SigningAlgorithms(), alg) {
		return nil, nil, 0, 0, incompatible(algName, k)
	}
	mt := keys.Raw
	if mtName != nil {
		if mt, err = keys.ParseMessageType(*mtName); err != nil {
			return nil, nil, 0, 0, wire.Validation("MessageType " + *mtName + " is not valid.")
		}
	}
	a, err := s.asymmetric(k)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	return k, a, alg, mt, nil
}

// signError maps the request errors of keys' Sign and Verify to AWS's.
func signError(err error, alg keys.SigningAlgorithm, mt keys.MessageType) error {
	switch {
	case errors.Is(err, keys.ErrDigestLength):
		// AWS's text, from the error corpus ("bad-digest").
		return wire.Validation("Digest is invalid length for algorithm " + alg.String() + ".")
	case errors.Is(err, keys.ErrMessageType):
		return wire.Validation("MessageType " + mt.String() + " is not supported for signing algorithm " + alg.String() + ".")
	case errors.Is(err, keys.ErrUnsupported):
		return kmsapi.NewUnsupportedOperationException("Verify with MessageType " + mt.String() + " is not supported by this server yet.")
	}
	return err
}

// Sign signs a message, a digest or an ML-DSA μ with an asymmetric key.
func (s *Service) Sign(ctx context.Context, c Caller, in *kmsapi.SignRequest) (*kmsapi.SignResponse, error) {
	c.grantTokens = in.GrantTokens
	k, a, alg, mt, err := s.signingKey(c, *in.KeyId, "Sign", *in.SigningAlgorithm, in.MessageType)
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	sig, err := a.Sign(s.rand, alg, mt, in.Message)
	if err != nil {
		return nil, signError(err, alg, mt)
	}
	return &kmsapi.SignResponse{KeyId: wire.Ptr(k.arn), Signature: sig, SigningAlgorithm: wire.Ptr(alg.String())}, nil
}

// Verify checks a signature. A signature that does not verify is
// KMSInvalidSignatureException with no message, as AWS answers.
func (s *Service) Verify(ctx context.Context, c Caller, in *kmsapi.VerifyRequest) (*kmsapi.VerifyResponse, error) {
	c.grantTokens = in.GrantTokens
	k, a, alg, mt, err := s.signingKey(c, *in.KeyId, "Verify", *in.SigningAlgorithm, in.MessageType)
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	ok, err := a.Verify(alg, mt, in.Message, in.Signature)
	if err != nil {
		return nil, signError(err, alg, mt)
	}
	if !ok {
		return nil, kmsapi.NewKMSInvalidSignatureException("")
	}
	return &kmsapi.VerifyResponse{KeyId: wire.Ptr(k.arn), SignatureValid: wire.Ptr(true), SigningAlgorithm: wire.Ptr(alg.String())}, nil
}
