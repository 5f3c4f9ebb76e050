package server

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/trentkms/trent/internal/kms"
	"github.com/trentkms/trent/internal/quota"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// throttled is AWS KMS's answer to a request over quota (KMS Developer
// Guide, Throttling AWS KMS requests). The SDKs retry ThrottlingException
// with backoff.
var throttled = &wire.Error{Code: "ThrottlingException", Message: "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.", Status: 400}

// admission counts KMS requests against their quotas: it decides which
// quota a request is for, which for a cryptographic operation takes the
// type of the key it names.
type admission struct {
	l *quota.Limiter
	k *kms.Service
	// specs caches what a key id or key ARN resolved to: a key's spec and
	// custom key store never change, and resolving an ARN costs more than
	// the rest of admission. Aliases, which can be pointed elsewhere, are
	// resolved each time. Only names that resolved are kept, up to
	// maxCachedSpecs (keys ever seen, in their two forms).
	specs  sync.Map // KeyId → kms.QuotaKey
	cached atomic.Int64
}

const maxCachedSpecs = 1 << 17

// admit counts a decoded, valid KMS request of c against its quotas, or
// returns ThrottlingException. It runs before the operation, so a throttled
// request changes nothing; it authorizes nothing either: a request counts
// against the quota of the caller's account (as in AWS, cross-account
// requests count against the caller's), whatever its outcome.
func (a *admission) admit(c call, in any) error {
	now, account, region := c.request.Time, c.identity.Account, c.region
	if quota.Cryptographic(c.op) {
		class := quota.Symmetric
		qk, ok := a.keyOf(account, region, in)
		if ok {
			class = quota.ForKeySpec(qk.Spec)
		}
		if !a.l.Allow(now, account, region, class) {
			return throttled
		}
		if ok && qk.KeyStore != "" && !a.l.AllowKeyStore(now, qk.KeyStore) {
			return throttled
		}
		return nil
	}
	ok := true
	switch r := in.(type) {
	case *kmsapi.GenerateDataKeyPairRequest:
		ok = a.l.Allow(now, account, region, quota.ForDataKeyPair(deref(r.KeyPairSpec)))
	case *kmsapi.GenerateDataKeyPairWithoutPlaintextRequest:
		ok = a.l.Allow(now, account, region, quota.ForDataKeyPair(deref(r.KeyPairSpec)))
	case *kmsapi.ReplicateKeyRequest:
		// One ReplicateKey here and two CreateKey (one a dry run) in the
		// replica's Region (KMS Developer Guide, Request quotas).
		ok = a.l.Allow(now, account, region, quota.ForOperation("ReplicateKey")) &&
			a.l.AllowN(now, account, deref(r.ReplicaRegion), quota.ForOperation("CreateKey"), 2)
	case *kmsapi.UpdatePrimaryRegionRequest:
		// One request in each of the two Regions.
		up := quota.ForOperation("UpdatePrimaryRegion")
		ok = a.l.Allow(now, account, region, up) && a.l.Allow(now, account, deref(r.PrimaryRegion), up)
	default:
		ok = a.l.Allow(now, account, region, quota.ForOperation(c.op))
	}
	if !ok {
		return throttled
	}
	return nil
}

// keyOf finds the key a cryptographic request uses, for its key type: the
// KeyId it names, or for Decrypt without one the key its ciphertext names;
// for ReEncrypt the destination key, whose quota the new ciphertext counts
// against. GenerateRandom uses no key (the symmetric quota), but with a
// CustomKeyStoreId it runs in that store.
func (a *admission) keyOf(account, region string, in any) (kms.QuotaKey, bool) {
	var id *string
	switch r := in.(type) {
	case *kmsapi.EncryptRequest:
		id = r.KeyId
	case *kmsapi.DecryptRequest:
		if r.KeyId == nil {
			return a.k.QuotaKeyOfBlob(region, r.CiphertextBlob)
		}
		id = r.KeyId
	case *kmsapi.ReEncryptRequest:
		id = r.DestinationKeyId
	case *kmsapi.GenerateDataKeyRequest:
		id = r.KeyId
	case *kmsapi.GenerateDataKeyWithoutPlaintextRequest:
		id = r.KeyId
	case *kmsapi.GenerateMacRequest:
		id = r.KeyId
	case *kmsapi.VerifyMacRequest:
		id = r.KeyId
	case *kmsapi.SignRequest:
		id = r.KeyId
	case *kmsapi.VerifyRequest:
		id = r.KeyId
	case *kmsapi.DeriveSharedSecretRequest:
		id = r.KeyId
	case *kmsapi.GenerateRandomRequest:
		if r.CustomKeyStoreId != nil {
			return kms.QuotaKey{Spec: "SYMMETRIC_DEFAULT", KeyStore: *r.CustomKeyStoreId}, true
		}
	}
	if id == nil {
		return kms.QuotaKey{}, false
	}
	if v, ok := a.specs.Load(*id); ok {
		return v.(kms.QuotaKey), true
	}
	qk, ok := a.k.QuotaKeyOf(account, region, *id)
	if ok && !strings.HasPrefix(*id, "alias/") && !strings.Contains(*id, ":alias/") && a.cached.Load() < maxCachedSpecs {
		if _, loaded := a.specs.LoadOrStore(*id, qk); !loaded {
			a.cached.Add(1)
		}
	}
	return qk, ok
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
