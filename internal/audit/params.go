package audit

import (
	"bytes"
	"encoding/json"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// kind says how a request member is copied into requestParameters.
type kind uint8

const (
	plain       kind = iota + 1 // strings, numbers, booleans, string lists, encryption contexts: as they are
	date                        // epoch seconds, shown as CloudTrail shows dates
	tags                        // [{TagKey, TagValue}] as [{tagKey, tagValue}]
	constraints                 // grant constraints: their three members, contexts as they are
)

// member is one request member that may appear in an event.
type member struct {
	name string // the wire name, e.g. "KeyId"
	as   string // the event's name; empty: name with its first letter lowered
	kind kind
}

func m(names ...string) []member {
	out := make([]member, len(names))
	for i, n := range names {
		out[i] = member{name: n, as: lowerFirst(n), kind: plain}
	}
	return out
}

// eventName is the member's name in the event.
func (mb member) eventName() string {
	if mb.as != "" {
		return mb.as
	}
	return lowerFirst(mb.name)
}

func with(ms []member, extra ...member) []member { return append(ms, extra...) }

var (
	tagsMember        = member{name: "Tags", kind: tags}
	constraintsMember = member{name: "Constraints", kind: constraints}
	clusterMember     = member{name: "CloudHsmClusterId", as: "clusterId", kind: plain}
)

// kmsRequestMembers is the allowlist: for each KMS operation, the request
// members an event may show, as the KMS Developer Guide's CloudTrail examples
// show them. A member not listed never appears. Never listed: CiphertextBlob,
// Plaintext, Message, Signature, Mac, PublicKey (DeriveSharedSecret),
// ImportToken, EncryptedKeyMaterial, Recipient (its attestation document),
// GrantToken(s), KeyStorePassword, XksProxyAuthenticationCredential.
// Key policies appear, as AWS shows them for CreateKey and PutKeyPolicy.
// GenerateRandom's requestParameters are null, as in AWS's example.
var kmsRequestMembers = map[string][]member{
	"CancelKeyDeletion":                   m("KeyId"),
	"ConnectCustomKeyStore":               m("CustomKeyStoreId"),
	"CreateAlias":                         m("AliasName", "TargetKeyId"),
	"CreateCustomKeyStore":                with(m("CustomKeyStoreName", "CustomKeyStoreType", "XksProxyUriEndpoint", "XksProxyUriPath", "XksProxyVpcEndpointServiceName", "XksProxyVpcEndpointServiceOwner", "XksProxyConnectivity"), clusterMember),
	"CreateGrant":                         with(m("KeyId", "GranteePrincipal", "RetiringPrincipal", "Operations", "Name", "DryRun", "GranteeServicePrincipal", "RetiringServicePrincipal"), constraintsMember),
	"CreateKey":                           with(m("Policy", "Description", "KeyUsage", "CustomerMasterKeySpec", "KeySpec", "Origin", "CustomKeyStoreId", "BypassPolicyLockoutSafetyCheck", "MultiRegion", "XksKeyId"), tagsMember),
	"Decrypt":                             m("KeyId", "EncryptionContext", "EncryptionAlgorithm", "DryRun", "DryRunModifiers"),
	"DeleteAlias":                         m("AliasName"),
	"DeleteCustomKeyStore":                m("CustomKeyStoreId"),
	"DeleteImportedKeyMaterial":           m("KeyId", "KeyMaterialId"),
	"DeriveSharedSecret":                  m("KeyId", "KeyAgreementAlgorithm", "DryRun"),
	"DescribeCustomKeyStores":             m("CustomKeyStoreId", "CustomKeyStoreName", "Limit", "Marker"),
	"DescribeKey":                         m("KeyId"),
	"DisableKey":                          m("KeyId"),
	"DisableKeyRotation":                  m("KeyId"),
	"DisconnectCustomKeyStore":            m("CustomKeyStoreId"),
	"EnableKey":                           m("KeyId"),
	"EnableKeyRotation":                   m("KeyId", "RotationPeriodInDays"),
	"Encrypt":                             m("KeyId", "EncryptionContext", "EncryptionAlgorithm", "DryRun"),
	"GenerateDataKey":                     m("KeyId", "EncryptionContext", "NumberOfBytes", "KeySpec", "DryRun"),
	"GenerateDataKeyPair":                 m("KeyId", "EncryptionContext", "KeyPairSpec", "DryRun"),
	"GenerateDataKeyPairWithoutPlaintext": m("KeyId", "EncryptionContext", "KeyPairSpec", "DryRun"),
	"GenerateDataKeyWithoutPlaintext":     m("KeyId", "EncryptionContext", "KeySpec", "NumberOfBytes", "DryRun"),
	"GenerateMac":                         m("KeyId", "MacAlgorithm", "DryRun"),
	"GetKeyLastUsage":                     m("KeyId"),
	"GetKeyPolicy":                        m("KeyId", "PolicyName"),
	"GetKeyRotationStatus":                m("KeyId"),
	"GetParametersForImport":              m("KeyId", "WrappingAlgorithm", "WrappingKeySpec"),
	"GetPublicKey":                        m("KeyId"),
	"ImportKeyMaterial":                   with(m("KeyId", "ExpirationModel", "ImportType", "KeyMaterialDescription", "KeyMaterialId"), member{name: "ValidTo", kind: date}),
	"ListAliases":                         m("KeyId", "Limit", "Marker"),
	"ListGrants":                          m("KeyId", "GrantId", "GranteePrincipal", "GranteeServicePrincipal", "Limit", "Marker"),
	"ListKeyPolicies":                     m("KeyId", "Limit", "Marker"),
	"ListKeyRotations":                    m("KeyId", "IncludeKeyMaterial", "Limit", "Marker"),
	"ListKeys":                            m("Limit", "Marker"),
	"ListResourceTags":                    m("KeyId", "Limit", "Marker"),
	"ListRetirableGrants":                 m("RetiringPrincipal", "RetiringServicePrincipal", "Limit", "Marker"),
	"PutKeyPolicy":                        m("KeyId", "PolicyName", "Policy", "BypassPolicyLockoutSafetyCheck"),
	"ReEncrypt":                           m("SourceKeyId", "SourceEncryptionContext", "SourceEncryptionAlgorithm", "DestinationKeyId", "DestinationEncryptionContext", "DestinationEncryptionAlgorithm", "DryRun", "DryRunModifiers"),
	"ReplicateKey":                        with(m("KeyId", "ReplicaRegion", "Policy", "BypassPolicyLockoutSafetyCheck", "Description"), tagsMember),
	// AWS's example shows null; the key and grant ids are no secret and tell
	// an operator which grant went (the grant token never appears).
	"RetireGrant":          m("KeyId", "GrantId", "DryRun"),
	"RevokeGrant":          m("KeyId", "GrantId", "DryRun"),
	"RotateKeyOnDemand":    m("KeyId"),
	"ScheduleKeyDeletion":  m("KeyId", "PendingWindowInDays"),
	"Sign":                 m("KeyId", "MessageType", "SigningAlgorithm", "DryRun"),
	"TagResource":          with(m("KeyId"), tagsMember),
	"UntagResource":        m("KeyId", "TagKeys"),
	"UpdateAlias":          m("AliasName", "TargetKeyId"),
	"UpdateCustomKeyStore": with(m("CustomKeyStoreId", "NewCustomKeyStoreName", "XksProxyUriEndpoint", "XksProxyUriPath", "XksProxyVpcEndpointServiceName", "XksProxyVpcEndpointServiceOwner", "XksProxyConnectivity"), clusterMember),
	"UpdateKeyDescription": m("KeyId", "Description"),
	"UpdatePrimaryRegion":  m("KeyId", "PrimaryRegion"),
	"Verify":               m("KeyId", "MessageType", "SigningAlgorithm", "DryRun"),
	"VerifyMac":            m("KeyId", "MacAlgorithm", "DryRun"),
}

// rawRef is a member's JSON text, a slice of the request body: the body is
// never copied, so a secret member (Plaintext) leaves no copy behind.
type rawRef []byte

func (r *rawRef) UnmarshalJSON(b []byte) error { *r = b; return nil }

// KMSRequestParameters returns the requestParameters of a KMS request: the
// members of its JSON body that the operation's allowlist names, with
// CloudTrail's lower-camel-case names ("keyId", "encryptionContext"). It
// returns nil for an operation without parameters to show, an unknown
// operation, or a body that is not a JSON object. The result does not alias
// body, which the caller may clear.
//
// Values are what encoding/json decodes the members to (numbers as
// json.Number), except that for operations whose members are all plain (the
// cryptographic ones among them) an object or a list, such as an encryption
// context, is kept as JSON text in the form encoding/json writes the decoded
// value: either way the event's JSON is the same.
func KMSRequestParameters(op string, body []byte) map[string]any {
	allowed := kmsRequestMembers[op]
	if len(allowed) == 0 {
		return nil
	}
	if allPlain(allowed) {
		return plainRequestParameters(allowed, body)
	}
	return decodedRequestParameters(allowed, body)
}

func allPlain(ms []member) bool {
	if len(ms) > maxPlainMembers {
		return false
	}
	for _, mb := range ms {
		if mb.kind != plain {
			return false
		}
	}
	return true
}

// decodedRequestParameters is KMSRequestParameters by json.Unmarshal: the
// general path, for every kind of member.
func decodedRequestParameters(allowed []member, body []byte) map[string]any {
	var members map[string]rawRef
	if err := json.Unmarshal(body, &members); err != nil {
		return nil
	}
	var out map[string]any
	for _, mb := range allowed {
		raw, ok := members[mb.name]
		if !ok || string(raw) == "null" {
			continue
		}
		v, ok := convert(mb.kind, raw)
		if !ok {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(allowed))
		}
		out[mb.eventName()] = v
	}
	return out
}

func convert(k kind, raw []byte) (any, bool) {
	switch k {
	case plain:
		return decode(raw)
	case date:
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, false
		}
		return javaDate(time.UnixMilli(int64(f * 1000))), true
	case tags:
		var in []struct {
			TagKey, TagValue *string
		}
		if json.Unmarshal(raw, &in) != nil {
			return nil, false
		}
		out := make([]any, 0, len(in))
		for _, t := range in {
			tag := map[string]any{}
			if t.TagKey != nil {
				tag["tagKey"] = *t.TagKey
			}
			if t.TagValue != nil {
				tag["tagValue"] = *t.TagValue
			}
			out = append(out, tag)
		}
		return out, true
	case constraints:
		var in map[string]rawRef
		if json.Unmarshal(raw, &in) != nil {
			return nil, false
		}
		out := map[string]any{}
		for _, n := range []string{"EncryptionContextSubset", "EncryptionContextEquals", "SourceArn"} {
			if r, ok := in[n]; ok {
				if v, ok := decode(r); ok {
					out[lowerFirst(n)] = v
				}
			}
		}
		return out, true
	}
	return nil, false
}

// decode decodes a JSON value, keeping numbers as they are written.
func decode(raw []byte) (any, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err == nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}

// javaDate writes a date as CloudTrail writes dates inside KMS request
// parameters and response elements ("Aug 10, 2022, 10:38:27 PM", UTC).
func javaDate(t time.Time) string {
	return t.UTC().Format("Jan 2, 2006, 3:04:05 PM")
}

// KMSResponseElements returns the responseElements of a successful KMS
// response, as CloudTrail shows them: only CreateKey, ReplicateKey,
// CreateGrant (the grant id, never the token), ScheduleKeyDeletion,
// CancelKeyDeletion and CreateCustomKeyStore have any; every other operation,
// the cryptographic ones included, has null. resp is the operation's
// *kmsapi.<Op>Response.
func KMSResponseElements(op string, resp any) map[string]any {
	switch r := resp.(type) {
	case *kmsapi.CreateKeyResponse:
		if op == "CreateKey" && r != nil && r.KeyMetadata != nil {
			return map[string]any{"keyMetadata": keyMetadata(r.KeyMetadata)}
		}
	case *kmsapi.ReplicateKeyResponse:
		if op == "ReplicateKey" && r != nil {
			out := map[string]any{}
			if r.ReplicaKeyMetadata != nil {
				out["replicaKeyMetadata"] = keyMetadata(r.ReplicaKeyMetadata)
			}
			put(out, "replicaPolicy", r.ReplicaPolicy)
			return out
		}
	case *kmsapi.CreateGrantResponse:
		if op == "CreateGrant" && r != nil && r.GrantId != nil {
			return map[string]any{"grantId": *r.GrantId}
		}
	case *kmsapi.ScheduleKeyDeletionResponse:
		if op == "ScheduleKeyDeletion" && r != nil {
			out := map[string]any{}
			put(out, "keyId", r.KeyId)
			put(out, "keyState", r.KeyState)
			if r.DeletionDate != nil {
				out["deletionDate"] = javaDate(r.DeletionDate.Time())
			}
			if r.PendingWindowInDays != nil {
				out["pendingWindowInDays"] = *r.PendingWindowInDays
			}
			return out
		}
	case *kmsapi.CancelKeyDeletionResponse:
		if op == "CancelKeyDeletion" && r != nil && r.KeyId != nil {
			return map[string]any{"keyId": *r.KeyId}
		}
	case *kmsapi.CreateCustomKeyStoreResponse:
		if op == "CreateCustomKeyStore" && r != nil && r.CustomKeyStoreId != nil {
			return map[string]any{"customKeyStoreId": *r.CustomKeyStoreId}
		}
	}
	return nil
}

func put(m map[string]any, name string, v *string) {
	if v != nil {
		m[name] = *v
	}
}

// keyMetadata is KeyMetadata as CloudTrail shows it in CreateKey's
// responseElements.
func keyMetadata(k *kmsapi.KeyMetadata) map[string]any {
	out := map[string]any{}
	put(out, "aWSAccountId", k.AWSAccountId)
	put(out, "keyId", k.KeyId)
	put(out, "arn", k.Arn)
	if k.CreationDate != nil {
		out["creationDate"] = javaDate(k.CreationDate.Time())
	}
	if k.Enabled != nil {
		out["enabled"] = *k.Enabled
	}
	put(out, "description", k.Description)
	put(out, "keyUsage", k.KeyUsage)
	put(out, "keyState", k.KeyState)
	if k.DeletionDate != nil {
		out["deletionDate"] = javaDate(k.DeletionDate.Time())
	}
	if k.ValidTo != nil {
		out["validTo"] = javaDate(k.ValidTo.Time())
	}
	put(out, "origin", k.Origin)
	put(out, "customKeyStoreId", k.CustomKeyStoreId)
	put(out, "cloudHsmClusterId", k.CloudHsmClusterId)
	put(out, "expirationModel", k.ExpirationModel)
	put(out, "keyManager", k.KeyManager)
	put(out, "customerMasterKeySpec", k.CustomerMasterKeySpec)
	put(out, "keySpec", k.KeySpec)
	for name, list := range map[string][]string{"encryptionAlgorithms": k.EncryptionAlgorithms, "signingAlgorithms": k.SigningAlgorithms, "keyAgreementAlgorithms": k.KeyAgreementAlgorithms, "macAlgorithms": k.MacAlgorithms} {
		if list != nil {
			out[name] = append([]string(nil), list...)
		}
	}
	if k.MultiRegion != nil {
		out["multiRegion"] = *k.MultiRegion
	}
	if c := k.MultiRegionConfiguration; c != nil {
		mc := map[string]any{}
		put(mc, "multiRegionKeyType", c.MultiRegionKeyType)
		region := func(r kmsapi.MultiRegionKey) map[string]any {
			o := map[string]any{}
			put(o, "arn", r.Arn)
			put(o, "region", r.Region)
			return o
		}
		if c.PrimaryKey != nil {
			mc["primaryKey"] = region(*c.PrimaryKey)
		}
		if c.ReplicaKeys != nil {
			rs := make([]any, len(c.ReplicaKeys))
			for i, r := range c.ReplicaKeys {
				rs[i] = region(r)
			}
			mc["replicaKeys"] = rs
		}
		out["multiRegionConfiguration"] = mc
	}
	if k.PendingDeletionWindowInDays != nil {
		out["pendingDeletionWindowInDays"] = *k.PendingDeletionWindowInDays
	}
	if k.XksKeyConfiguration != nil && k.XksKeyConfiguration.Id != nil {
		out["xksKeyConfiguration"] = map[string]any{"id": *k.XksKeyConfiguration.Id}
	}
	put(out, "currentKeyMaterialId", k.CurrentKeyMaterialId)
	return out
}

// secretQueryWords mark IAM and STS parameters that hold or lead to a secret:
// passwords (CreateLoginProfile, ChangePassword), private keys
// (UploadServerCertificate), SAML assertions and web identity tokens
// (AssumeRoleWith…), MFA codes (TokenCode, AuthenticationCode1/2) and
// anything named secret or token. A parameter whose lower-cased name
// contains one is dropped.
var secretQueryWords = []string{"password", "secret", "token", "privatekey", "assertion", "authenticationcode"}

// QueryRequestParameters returns the requestParameters of an IAM or STS
// (Query protocol) request: its parameters without Action and Version and
// without any parameter that may hold a secret, named in lower camel case,
// with Query lists ("Tags.member.1.Key") as JSON lists ("tags": [{"key": …}]).
// The result does not alias params.
func QueryRequestParameters(params url.Values) map[string]any {
	var out map[string]any
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names) // so that list members land in order
	for _, n := range names {
		if n == "Action" || n == "Version" || len(params[n]) == 0 || secretQuery(n) {
			continue
		}
		if out == nil {
			out = map[string]any{}
		}
		setPath(out, strings.Split(n, "."), params[n][0])
	}
	return out
}

func secretQuery(name string) bool {
	l := strings.ToLower(name)
	for _, w := range secretQueryWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// setPath stores v at a Query parameter path: "A.member.2.B" is a["a"][1]["b"].
// Indexes start at 1; a list grows to the largest index given.
func setPath(m map[string]any, path []string, v string) {
	name := lowerFirst(path[0])
	rest := path[1:]
	if len(rest) == 0 {
		m[name] = v
		return
	}
	if (rest[0] == "member" || rest[0] == "entry") && len(rest) >= 2 {
		i, err := strconv.Atoi(rest[1])
		if err != nil || i < 1 || i > 1000 {
			return
		}
		list, _ := m[name].([]any)
		for len(list) < i {
			list = append(list, nil)
		}
		if len(rest) == 2 {
			list[i-1] = v
		} else {
			sub, _ := list[i-1].(map[string]any)
			if sub == nil {
				sub = map[string]any{}
			}
			setPath(sub, rest[2:], v)
			list[i-1] = sub
		}
		m[name] = list
		return
	}
	sub, _ := m[name].(map[string]any)
	if sub == nil {
		sub = map[string]any{}
	}
	setPath(sub, rest, v)
	m[name] = sub
}
