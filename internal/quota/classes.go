package quota

import (
	"fmt"
	"strings"
)

// Class is one request quota: a shared quota of cryptographic operations, the
// quota of GenerateDataKeyPair for one pair spec, or one operation's own. The
// zero Class is no quota.
type Class uint8

// The shared quotas of cryptographic operations, by the type of the KMS key
// the request uses (KMS Developer Guide, Request quotas: "Shared quotas for
// cryptographic operations"), and the quota of each custom key store.
const (
	Symmetric Class = iota + 1 // symmetric encryption and HMAC keys; GenerateRandom
	RSA
	ECC
	SM
	MLDSA
	KeyStore // every key in one custom key store, whatever the account
	firstPair
)

// info describes a class: its name in configuration and documentation, the
// name of the AWS quota, and its default rate in requests per second.
type info struct {
	name, aws string
	rate      float64
}

// pairs are the quotas of GenerateDataKeyPair and
// GenerateDataKeyPairWithoutPlaintext, which share one quota per pair spec
// and nothing else. Source: KMS Developer Guide, Request quotas
// (shared/docs/aws-kms-developer-guide/requests-per-second.md).
var pairs = []struct {
	spec string
	rate float64
}{
	{"ECC_NIST_P256", 25}, {"ECC_NIST_P384", 10}, {"ECC_NIST_P521", 5}, {"ECC_SECG_P256K1", 25},
	{"RSA_2048", 1}, {"RSA_3072", 0.5}, {"RSA_4096", 0.1}, {"SM2", 25},
}

// operations are the quotas of single operations, from the same table.
// ReplicateKey also counts as two CreateKey requests in the replica's Region,
// and UpdatePrimaryRegion as one request in each of its two Regions
// (Charges). Operations not listed have no quota.
var operations = []struct {
	op   string
	rate float64
}{
	{"CancelKeyDeletion", 5}, {"ConnectCustomKeyStore", 5}, {"CreateAlias", 5}, {"CreateCustomKeyStore", 5},
	{"CreateGrant", 50}, {"CreateKey", 5}, {"DeleteAlias", 15}, {"DeleteCustomKeyStore", 5},
	{"DeleteImportedKeyMaterial", 5}, {"DescribeCustomKeyStores", 5}, {"DescribeKey", 2000}, {"DisableKey", 5},
	{"DisableKeyRotation", 5}, {"DisconnectCustomKeyStore", 5}, {"EnableKey", 5}, {"EnableKeyRotation", 15},
	{"GetKeyPolicy", 1000}, {"GetKeyRotationStatus", 1000}, {"GetParametersForImport", 0.25}, {"GetPublicKey", 2000},
	{"ImportKeyMaterial", 5}, {"ListAliases", 500}, {"ListGrants", 100}, {"ListKeyPolicies", 100},
	{"ListKeys", 500}, {"ListResourceTags", 2000}, {"ListRetirableGrants", 100}, {"PutKeyPolicy", 15},
	{"ReplicateKey", 5}, {"RetireGrant", 30}, {"RevokeGrant", 30}, {"ScheduleKeyDeletion", 15},
	{"TagResource", 10}, {"UntagResource", 5}, {"UpdateAlias", 5}, {"UpdateCustomKeyStore", 5},
	{"UpdateKeyDescription", 5}, {"UpdatePrimaryRegion", 5},
}

// classes is every class by its value; built once from the tables above.
var classes, byName, byOperation, byPair = buildClasses()

func buildClasses() ([]info, map[string]Class, map[string]Class, map[string]Class) {
	all := []info{
		{},
		// The symmetric rate varies by Region: symmetricRate.
		Symmetric: {"symmetric", "Cryptographic operations (symmetric) request rate", 0},
		RSA:       {"rsa", "Cryptographic operations (RSA) request rate", 500},
		ECC:       {"ecc", "Cryptographic operations (ECC) request rate", 300},
		SM:        {"sm", "Cryptographic operations (SM) request rate", 300},
		// ML-DSA keys came after the developer guide in shared/docs; AWS's
		// current quotas page gives them a shared 1,000 per second.
		MLDSA:    {"ml-dsa", "Cryptographic operations (ML-DSA) request rate", 1000},
		KeyStore: {"custom-key-store", "Custom key store request quota (per key store)", 1800},
	}
	names, ops, prs := map[string]Class{}, map[string]Class{}, map[string]Class{}
	for _, p := range pairs {
		prs[p.spec] = Class(len(all))
		all = append(all, info{"GenerateDataKeyPair:" + p.spec, "GenerateDataKeyPair (" + p.spec + ") request rate", p.rate})
	}
	for _, o := range operations {
		ops[o.op] = Class(len(all))
		all = append(all, info{o.op, o.op + " request rate", o.rate})
	}
	for c, i := range all {
		if c > 0 {
			names[strings.ToLower(i.name)] = Class(c)
		}
	}
	if len(all) > 255 {
		panic("quota: more classes than a Class holds")
	}
	return all, names, ops, prs
}

// String is the class's name in configuration: "symmetric", "rsa", "ecc",
// "sm", "ml-dsa", "custom-key-store", "GenerateDataKeyPair:RSA_2048", or an
// operation's name such as "CreateKey".
func (c Class) String() string {
	if int(c) < len(classes) && c > 0 {
		return classes[c].name
	}
	return fmt.Sprintf("quota.Class(%d)", c)
}

// ParseClass returns the class a name names, ignoring case.
func ParseClass(name string) (Class, error) {
	if c, ok := byName[strings.ToLower(name)]; ok {
		return c, nil
	}
	return 0, fmt.Errorf("quota: no quota is named %q; the names are symmetric, rsa, ecc, sm, ml-dsa, custom-key-store, GenerateDataKeyPair:<spec> and the operations with a quota (e.g. CreateKey)", name)
}

// ForOperation returns the quota of a KMS operation that has one of its own,
// or 0 (cryptographic operations count against their key type's, below).
func ForOperation(op string) Class { return byOperation[op] }

// ForDataKeyPair returns the quota of GenerateDataKeyPair and
// GenerateDataKeyPairWithoutPlaintext for a pair spec, or 0 for a spec AWS
// publishes no quota for.
func ForDataKeyPair(spec string) Class { return byPair[spec] }

// ForKeySpec returns the shared quota of cryptographic operations on keys of
// a key spec. HMAC keys share the symmetric quota, as in AWS; Ed25519 and
// secp256k1 keys are elliptic-curve keys.
func ForKeySpec(spec string) Class {
	switch {
	case spec == "SYMMETRIC_DEFAULT", strings.HasPrefix(spec, "HMAC_"):
		return Symmetric
	case strings.HasPrefix(spec, "RSA_"):
		return RSA
	case strings.HasPrefix(spec, "ECC_"):
		return ECC
	case spec == "SM2":
		return SM
	case strings.HasPrefix(spec, "ML_DSA_"):
		return MLDSA
	}
	return Symmetric
}

// Cryptographic reports whether op counts against the shared quota of the
// key type it uses (KMS Developer Guide: the "Applies to" lists of the
// cryptographic operations quotas).
func Cryptographic(op string) bool {
	switch op {
	case "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
		"GenerateMac", "VerifyMac", "GenerateRandom", "Sign", "Verify", "DeriveSharedSecret":
		return true
	}
	return false
}

// symmetricRate is the default symmetric quota of a Region: 50,000 in US
// East (N. Virginia), US West (Oregon) and Europe (Ireland); 10,000 in US
// East (Ohio), Asia Pacific (Singapore, Sydney, Tokyo), Europe (Frankfurt,
// London); 5,500 elsewhere. Source: KMS Developer Guide, Request quotas (the
// Region lists are on AWS's page; shared/docs has the figures and the
// examples of London, Singapore and N. Virginia).
func symmetricRate(region string) float64 {
	switch region {
	case "us-east-1", "us-west-2", "eu-west-1":
		return 50000
	case "us-east-2", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "eu-central-1", "eu-west-2":
		return 10000
	}
	return 5500
}

// Default is a class's default rate in requests per second, in region.
func Default(c Class, region string) float64 {
	if c == Symmetric {
		return symmetricRate(region)
	}
	if int(c) < len(classes) {
		return classes[c].rate
	}
	return 0
}
