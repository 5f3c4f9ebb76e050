package kms

import "github.com/trentkms/trent/internal/keys"

// QuotaKey is what request quotas need to know of the key a request names:
// its key spec (the quota of cryptographic operations depends on the key
// type) and, for a key in a custom key store, the store (whose keys share a
// quota of their own). See internal/quota.
type QuotaKey struct {
	Spec     string // e.g. SYMMETRIC_DEFAULT, RSA_2048, HMAC_256
	KeyStore string // the custom key store's id; empty for other keys
}

// QuotaKeyOf resolves a KeyId (id, ARN, alias name or alias ARN, of this or
// another account) for a caller of account in region, as a cryptographic
// operation would, without authorizing anything: it is for choosing the
// quota a request counts against before the request runs. ok is false when
// id names no key; the request then fails on its own.
func (s *Service) QuotaKeyOf(account, region, id string) (QuotaKey, bool) {
	k, _, err := s.lookup(Caller{Account: account, Region: region}, id, keyOrAlias|crossAccount)
	if err != nil {
		return QuotaKey{}, false
	}
	return QuotaKey{Spec: k.rec.Spec.String(), KeyStore: k.rec.CustomKeyStoreID}, true
}

// QuotaKeyOfBlob is QuotaKeyOf for the key a symmetric ciphertext names
// (Decrypt and ReEncrypt without a KeyId).
func (s *Service) QuotaKeyOfBlob(region string, blob []byte) (QuotaKey, bool) {
	id, err := keys.BlobKeyID(blob)
	if err != nil {
		return QuotaKey{}, false
	}
	k, err := s.view.key(region, id)
	if err != nil || k == nil {
		return QuotaKey{}, false
	}
	return QuotaKey{Spec: k.rec.Spec.String(), KeyStore: k.rec.CustomKeyStoreID}, true
}
