package authz

import "strings"

// The condition keys of the services Trent serves that its requests carry:
// every one is set in the request context of the operations AWS documents
// it for (the IAM User Guide's global condition keys, the KMS Developer
// Guide's conditions-kms.md, the IAM, STS and Organizations keys of the
// operations Trent serves), and policies are validated against this list
// (KnownConditionKey), so that no policy can lean on a key that Trent
// would never set — a Deny on it would never fire. Tests walk the list and
// make, for each key, a request that must carry it (internal/kms and
// internal/iam condkeys_test.go).

// ConditionKey is a condition key Trent sets.
type ConditionKey struct {
	// Name is the key as AWS spells it; a Name ending in "/" or ":" is a
	// family (aws:PrincipalTag/…, kms:EncryptionContext:…).
	Name string
	// Service is the service whose requests carry it: "kms", "iam", "sts"
	// or "organizations"; "*" for a global key carried by requests of every
	// service, when its situation arises.
	Service string
	// When says in which situation a request carries it, for the tests
	// that walk this list: "" always, or a situation of the request or the
	// caller ("mfa", "session", "federated", "service", "via-service",
	// "source", "endpoint", "no-endpoint", "org", "tags", "user", "referer",
	// "tagged-resource", "request-tags", "alias", "key", "operation").
	When string
}

// ConditionKeys lists every condition key Trent sets; see ConditionKey.
var ConditionKeys = []ConditionKey{
	// Global keys (IAM User Guide, reference_policies_condition-keys.md).
	{"aws:CalledVia", "*", "via-service"},
	{"aws:CalledViaFirst", "*", "via-service"},
	{"aws:CalledViaLast", "*", "via-service"},
	{"aws:CurrentTime", "*", ""},
	{"aws:EpochTime", "*", ""},
	{"aws:FederatedProvider", "*", "federated"},
	{"aws:MultiFactorAuthAge", "*", "mfa"},
	{"aws:MultiFactorAuthPresent", "*", "session"},
	{"aws:PrincipalAccount", "*", ""},
	{"aws:PrincipalArn", "*", ""},
	{"aws:PrincipalIsAWSService", "*", ""},
	{"aws:PrincipalOrgID", "*", "org"},
	{"aws:PrincipalOrgPaths", "*", "org"},
	{"aws:PrincipalServiceName", "*", "service"},
	{"aws:PrincipalServiceNamesList", "*", "service"},
	{"aws:PrincipalTag/", "*", "tags"},
	{"aws:PrincipalType", "*", ""},
	{"aws:referer", "*", "referer"},
	{"aws:RequestedRegion", "*", ""},
	{"aws:RequestTag/", "*", "request-tags"},
	{"aws:ResourceAccount", "*", ""},
	{"aws:ResourceOrgID", "*", "org"},
	{"aws:ResourceOrgPaths", "*", "org"},
	{"aws:ResourceTag/", "*", "tagged-resource"}, // keys, IAM resources, roles assumed, the organization's entities
	{"aws:SecureTransport", "*", ""},
	{"aws:SourceAccount", "*", "source"},
	{"aws:SourceArn", "*", "source"},
	{"aws:SourceIdentity", "*", "source-identity"},
	{"aws:SourceIp", "*", "no-endpoint"},
	{"aws:SourceOrgID", "*", "source-org"},
	{"aws:SourceOrgPaths", "*", "source-org"},
	{"aws:SourceVpc", "*", "endpoint"},
	{"aws:SourceVpce", "*", "endpoint"},
	{"aws:TagKeys", "*", "request-tags"},
	{"aws:TokenIssueTime", "*", "session"},
	{"aws:UserAgent", "*", ""},
	{"aws:userid", "*", ""},
	{"aws:username", "*", "user"},
	{"aws:ViaAWSService", "*", ""},
	{"aws:VpcSourceIp", "*", "endpoint"},

	// KMS (KMS Developer Guide, conditions-kms.md; the operations of each
	// key come from there).
	{"kms:BypassPolicyLockoutSafetyCheck", "kms", "operation"},
	{"kms:CallerAccount", "kms", "key"},
	{"kms:CustomerMasterKeySpec", "kms", "key"},
	{"kms:CustomerMasterKeyUsage", "kms", "key"},
	{"kms:DataKeyPairSpec", "kms", "operation"},
	{"kms:EncryptionAlgorithm", "kms", "operation"},
	{"kms:EncryptionContext:", "kms", "operation"},
	{"kms:EncryptionContextKeys", "kms", "operation"},
	{"kms:ExpirationModel", "kms", "operation"},
	{"kms:GrantConstraintType", "kms", "operation"},
	{"kms:GrantIsForAWSResource", "kms", "operation"},
	{"kms:GrantOperations", "kms", "operation"},
	{"kms:GranteePrincipal", "kms", "operation"},
	{"kms:KeyAgreementAlgorithm", "kms", "operation"},
	{"kms:KeyOrigin", "kms", "key"},
	{"kms:KeySpec", "kms", "key"},
	{"kms:KeyUsage", "kms", "key"},
	{"kms:MacAlgorithm", "kms", "operation"},
	{"kms:MessageType", "kms", "operation"},
	{"kms:MultiRegion", "kms", "key"},
	{"kms:MultiRegionKeyType", "kms", "key"},
	{"kms:PrimaryRegion", "kms", "operation"},
	{"kms:ReEncryptOnSameKey", "kms", "operation"},
	{"kms:ReplicaRegion", "kms", "operation"},
	{"kms:RequestAlias", "kms", "alias"},
	{"kms:ResourceAliases", "kms", "alias"},
	{"kms:RetiringPrincipal", "kms", "operation"},
	{"kms:RotationPeriodInDays", "kms", "operation"},
	{"kms:ScheduleKeyDeletionPendingWindowInDays", "kms", "operation"},
	{"kms:SigningAlgorithm", "kms", "operation"},
	{"kms:ValidTo", "kms", "operation"},
	{"kms:ViaService", "kms", "via-service"},
	{"kms:WrappingAlgorithm", "kms", "operation"},
	{"kms:WrappingKeySpec", "kms", "operation"},

	// IAM, STS and Organizations keys of the operations Trent serves.
	{"iam:AWSServiceName", "iam", "operation"},
	{"iam:PermissionsBoundary", "iam", "operation"},
	{"iam:PolicyARN", "iam", "operation"},
	{"iam:ResourceTag/", "iam", "tagged-resource"}, // IAM resources, and roles STS assumes
	{"sts:ExternalId", "sts", "operation"},
	{"sts:RoleSessionName", "sts", "operation"},
	{"sts:SourceIdentity", "sts", "operation"},
	{"sts:TransitiveTagKeys", "sts", "operation"},
	{"organizations:PolicyType", "organizations", "operation"},
}

// servedVendors are the condition key prefixes of the services Trent
// serves: their keys must be in ConditionKeys. Keys of other services (an
// IAM policy may well mention s3:prefix) are accepted: their requests never
// reach Trent, as in AWS their keys never appear in a KMS request.
var servedVendors = map[string]bool{"aws": true, "kms": true, "iam": true, "sts": true, "organizations": true}

var knownKeys, knownFamilies = func() (map[string]bool, []string) {
	keys := map[string]bool{}
	var families []string
	for _, k := range ConditionKeys {
		n := strings.ToLower(k.Name)
		if strings.HasSuffix(n, "/") || strings.HasSuffix(n, ":") {
			families = append(families, n)
			continue
		}
		keys[n] = true
	}
	return keys, families
}()

// KnownConditionKey reports whether a policy may use a condition key: a key
// of a service Trent does not serve, or one Trent sets (ConditionKeys).
// Names are matched without regard to case, as AWS matches them. It is the
// policy.Options.KnownKey of every policy Trent accepts.
func KnownConditionKey(name string) bool {
	n := strings.ToLower(name)
	vendor, _, ok := strings.Cut(n, ":")
	if !ok || !servedVendors[vendor] {
		return true
	}
	if knownKeys[n] {
		return true
	}
	for _, f := range knownFamilies {
		if strings.HasPrefix(n, f) && len(n) > len(f) {
			return true
		}
	}
	return false
}
