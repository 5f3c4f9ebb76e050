package audit

import (
	"bytes"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// Parameters is an event's requestParameters as JSON text: an object, or
// nil for null. KMS requests write theirs from the request the operation
// decoded (KMSRequestParameters), IAM and STS requests from their Query
// parameters (QueryRequestParameters).
type Parameters []byte

// MarshalJSON returns p itself; nil is null.
func (p Parameters) MarshalJSON() ([]byte, error) {
	if len(p) == 0 {
		return []byte("null"), nil
	}
	return p, nil
}

// UnmarshalJSON keeps a copy of b; null is nil. It lets an event read back
// from the log be decoded into an Event.
func (p *Parameters) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*p = nil
		return nil
	}
	*p = append((*p)[:0], b...)
	return nil
}

// KMSRequest is a KMS request as its operation decoded and validated it: a
// *kmsapi.<Op>Request. Its AppendAuditParameters method is generated from
// the API model (internal/wire/internal/gen, audit.go): which members an
// event shows and how it names them, with every member the model marks
// sensitive, and every blob, left out by construction.
type KMSRequest interface {
	AppendAuditParameters(b []byte) []byte
}

// KMSRequestParameters returns the requestParameters of a KMS request, built
// from the request value its operation used, so that the event names
// exactly what the operation acted on, whatever the body's spelling (member
// names in other case, duplicates, escapes). req is nil when the body could
// not be decoded: the event's requestParameters are then null.
//
// For Decrypt, CloudTrail shows the key that decrypted as keyId even when
// the request named none (ct-decrypt.md): resources[0], the key the
// operation used.
func KMSRequestParameters(req KMSRequest, resources []string) Parameters {
	// Written into a pooled buffer, then copied at its size: one
	// allocation of what the event keeps. (The buffer never holds a
	// secret: no sensitive member is ever written.)
	buf := paramBufs.Get().(*[]byte)
	b := appendKMSRequestParameters((*buf)[:0], req, resources)
	var out Parameters
	if len(b) > 0 {
		out = Parameters(bytes.Clone(b))
	}
	if cap(b) <= maxParamBuffer {
		*buf = b
		paramBufs.Put(buf)
	}
	return out
}

// appendKMSRequestParameters appends what KMSRequestParameters returns to
// b: nothing for null.
func appendKMSRequestParameters(b []byte, req KMSRequest, resources []string) []byte {
	switch r := req.(type) {
	case nil:
		return b
	case *kmsapi.DecryptRequest:
		if r == nil {
			return b
		}
		if r.KeyId == nil && len(resources) > 0 {
			// A static call, so that the copy stays on the stack.
			c := *r
			c.KeyId = &resources[0]
			return c.AppendAuditParameters(b)
		}
	}
	return req.AppendAuditParameters(b)
}

// maxParamBuffer bounds the parameter buffers kept for reuse: a larger
// request's (a long key policy) is not kept.
const maxParamBuffer = 64 << 10

var paramBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}

// javaDate writes a date as CloudTrail writes dates inside KMS request
// parameters and response elements ("Aug 10, 2022, 10:38:27 PM", UTC).
func javaDate(t time.Time) string {
	return t.UTC().Format(wire.AuditDateLayout)
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
func QueryRequestParameters(params url.Values) Parameters {
	m := queryParameters(params)
	if m == nil {
		return nil
	}
	var en encoder
	b, err := en.appendMap(nil, m, 0)
	if err != nil {
		// Only strings, lists and maps: the encoder writes them all.
		return nil
	}
	return b
}

func queryParameters(params url.Values) map[string]any {
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
