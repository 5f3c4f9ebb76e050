package kms

import (
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/trace"
)

// endAuthorizeSpan records the decision of authorize's span: the action, the
// key, allowed or not and by what (key policy, IAM, grant). Policies and
// conditions stay out; trent authz explain shows them.
func endAuthorizeSpan(sp trace.Span, k *key, a access, d *authz.KeyDecision) {
	sp.String("aws.kms.action", a.actionName())
	sp.String("aws.kms.key_arn", k.arn)
	sp.Bool("trent.authz.allowed", d.Allowed())
	if d.By != authz.ByNone {
		sp.String("trent.authz.decided_by", d.By.String())
	}
	if d.GrantID != "" {
		sp.String("aws.kms.grant_id", d.GrantID)
	}
	sp.End()
}

// endAccountAuthorizeSpan records an account-level decision (CreateKey,
// ListKeys, aliases, …), which only identity-based policies make.
func endAccountAuthorizeSpan(sp trace.Span, action, resource string, allowed bool) {
	sp.String("aws.kms.action", action)
	sp.String("aws.resource", resource)
	sp.Bool("trent.authz.allowed", allowed)
	sp.Bool("trent.authz.identity_only", true)
	sp.End()
}

// hsmSpan starts the span of a cryptographic operation that a key of an
// AWS_CLOUDHSM key store does in its PKCS#11 token: the token's AES-GCM has
// no context to carry a span (keys.AEAD), so hsmBackend starts it here.
// External key store calls have theirs in internal/keystore/xks. Keys in
// process memory get none: their AES-GCM is not a call. End it with
// endHSMSpan.
func (c Caller) hsmSpan(k *key, op string) trace.Span {
	if !c.Trace.Recording() {
		return trace.Span{}
	}
	sp := c.Trace.Child("hsm." + op)
	sp.String("aws.kms.key_arn", k.arn)
	sp.String("aws.kms.custom_key_store_id", k.rec.CustomKeyStoreID)
	return sp
}

// endHSMSpan ends an HSM call's span, failed if err is set (by a fixed text:
// the token's errors are not shown).
func endHSMSpan(sp trace.Span, err error) {
	if err != nil {
		sp.Fail("HSMError")
	}
	sp.End()
}
