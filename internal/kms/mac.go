package kms

import (
	"context"
	"errors"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// macKey resolves a GENERATE_VERIFY_MAC key and its material, from memory.
func (s *Service) macKey(c Caller, id, op, algName string) (*key, *keys.HMAC, keys.MACAlgorithm, error) {
	k, err := s.keyForOp(c, op, id, keyOrAlias|crossAccount, access{op: op, keys: []string{"kms:macalgorithm", algName}})
	if err != nil {
		return nil, nil, 0, err
	}
	alg, err := keys.ParseMACAlgorithm(algName)
	if err != nil {
		return nil, nil, 0, incompatible(algName, k)
	}
	m, err := s.current(k)
	if err != nil {
		return nil, nil, 0, err
	}
	h, ok := m.(*keys.HMAC)
	if !ok {
		return nil, nil, 0, errors.New("kms: material of " + k.arn + " is not HMAC")
	}
	return k, h, alg, nil
}

// GenerateMac computes the HMAC of a message of up to 4096 bytes.
func (s *Service) GenerateMac(ctx context.Context, c Caller, in *kmsapi.GenerateMacRequest) (*kmsapi.GenerateMacResponse, error) {
	c.grantTokens = in.GrantTokens
	k, h, alg, err := s.macKey(c, *in.KeyId, "GenerateMac", *in.MacAlgorithm)
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	mac, err := h.MAC(alg, in.Message)
	if errors.Is(err, keys.ErrIncompatible) {
		// AWS's text, from the error corpus ("generate-mac").
		return nil, incompatible(alg.String(), k)
	}
	if err != nil {
		return nil, err
	}
	return &kmsapi.GenerateMacResponse{Mac: mac, MacAlgorithm: wire.Ptr(alg.String()), KeyId: wire.Ptr(k.arn)}, nil
}

// VerifyMac checks an HMAC in constant time. A MAC that does not match is
// KMSInvalidMacException with no message, as AWS answers.
func (s *Service) VerifyMac(ctx context.Context, c Caller, in *kmsapi.VerifyMacRequest) (*kmsapi.VerifyMacResponse, error) {
	c.grantTokens = in.GrantTokens
	k, h, alg, err := s.macKey(c, *in.KeyId, "VerifyMac", *in.MacAlgorithm)
	if err != nil {
		return nil, err
	}
	if err := dryRun(in.DryRun); err != nil {
		return nil, err
	}
	ok, err := h.VerifyMAC(alg, in.Message, in.Mac)
	if errors.Is(err, keys.ErrIncompatible) {
		return nil, incompatible(alg.String(), k)
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, kmsapi.NewKMSInvalidMacException("")
	}
	return &kmsapi.VerifyMacResponse{KeyId: wire.Ptr(k.arn), MacValid: wire.Ptr(true), MacAlgorithm: wire.Ptr(alg.String())}, nil
}
