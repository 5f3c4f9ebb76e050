package iam

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

// Call is one authenticated IAM, STS or Organizations request.
type Call struct {
	Identity *authz.Identity
	Request  authz.Request
}

// authorize decides an IAM action on a resource of the caller's account with
// the caller's identity-based policies; extra adds request-specific condition
// keys (name/value pairs). The resource's tags are its aws:ResourceTag keys
// (restags.go).
func (d *Directory) authorize(c Call, action, resource string, extra ...string) error {
	keys := authz.GlobalKeys(c.Identity, c.Request)
	// IAM, STS and Organizations actions act on resources of the caller's
	// account (aws:ResourceAccount, aws:ResourceOrgID, aws:ResourceOrgPaths).
	if c.Identity.Account != "" {
		keys.Set("aws:ResourceAccount", c.Identity.Account)
		for n, v := range d.OrgScope(c.Identity.Account).ResourceKeys() {
			keys[n] = v
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		// aws:TagKeys collects values; every other key a request names is
		// single-valued, so that request tag keys spelled in several cases
		// (Organizations keeps Env and env apart) make one ambiguous key
		// that fails closed (SetOne) rather than a multivalued one that an
		// Allow on either value matches.
		if strings.EqualFold(extra[i], "aws:TagKeys") {
			keys.Add(extra[i], extra[i+1])
		} else {
			keys.SetOne(extra[i], extra[i+1])
		}
	}
	tags, iamResource := d.resourceTags(resource)
	setResourceTags(keys, tags, iamResource)
	r := &policy.Request{
		Principal: policy.Principal{Type: policy.AWSPrincipal, ARN: c.Identity.ARN, Account: c.Identity.Account},
		Action:    action, Resource: resource, Time: c.Request.Time, Keys: keys,
	}
	dec := authz.IdentityBasedVia(c.Identity, r, c.Request.Endpoint)
	if dec.Allowed() {
		return nil
	}
	d.log.Info("iam: access denied", "caller", c.Identity.ARN, "action", action, "resource", resource, "statement", dec.Statement, "sid", dec.Sid)
	return wire.Errorf("AccessDenied", 403, "%s", dec.Reason.Message(c.Identity.ARN, action, resource))
}

// update reads a record of the caller's account, applies fn to a copy and
// writes it back, all in one transaction (atomically): fn's checks may read
// other records through t, and fn may write or delete others; the record is
// deleted instead of written if fn deletes it.
func update[T any](ctx context.Context, d *Directory, account string, kind entityKind, name string, notFound func() error, fn func(*T, *tx) error) error {
	key := entityKey(account, kind, name)
	err := d.atomically(ctx, func(t *tx) error {
		cur := txEntity[T](t, account, kind, name)
		if cur == nil {
			return notFound()
		}
		v := clone(cur)
		if err := fn(v, t); err != nil {
			return err
		}
		if !t.deletes(key) {
			t.put(key, v)
		}
		return nil
	})
	return concurrentModification(err)
}

// create writes a new record, failing with exists if its name is taken.
// check, if not nil, runs in the same transaction first (e.g. that a
// boundary policy exists).
func (d *Directory) create(ctx context.Context, account string, kind entityKind, name string, v any, exists func() error, check ...func(*tx) error) error {
	key := entityKey(account, kind, name)
	err := d.atomically(ctx, func(t *tx) error {
		for _, c := range check {
			if err := c(t); err != nil {
				return err
			}
		}
		t.read(key)
		if t.v.revs[key] != 0 {
			return exists()
		}
		t.put(key, v)
		return nil
	})
	return concurrentModification(err)
}

// checkDocument validates an IAM policy document of the given kind and words
// the first problem as IAM's MalformedPolicyDocument.
func checkDocument(doc string, kind policy.Kind) error {
	if _, err := policy.Compile([]byte(doc), policy.Options{Kind: kind, KnownKey: authz.KnownConditionKey}); err != nil {
		var ve *policy.ValidationError
		msg := "Syntax errors in policy."
		if errors.As(err, &ve) && len(ve.Findings) > 0 {
			msg = ve.Findings[0].Message
		}
		return iamapi.NewMalformedPolicyDocumentException(msg)
	}
	return nil
}

// encodeDocument is how IAM returns policy documents: URL-encoded (RFC 3986).
func encodeDocument(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

func normPath(p *string) string {
	if p == nil || *p == "" {
		return "/"
	}
	return *p
}

// checkTags applies IAM's tag rules to a set being added to have.
func checkTags(have []Tag, add []iamapi.Tag) ([]Tag, error) {
	out := append([]Tag(nil), have...)
	seen := map[string]bool{}
	for _, t := range add {
		k, v := wire.String(t.Key), wire.String(t.Value)
		if seen[strings.ToLower(k)] {
			return nil, iamapi.NewInvalidInputException("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[strings.ToLower(k)] = true
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, iamapi.NewInvalidInputException("User is not authorized to perform: iam:Tag* on resource with tag key prefix aws:")
		}
		replaced := false
		for i := range out {
			if strings.EqualFold(out[i].Key, k) {
				out[i] = Tag{Key: k, Value: v}
				replaced = true
			}
		}
		if !replaced {
			out = append(out, Tag{Key: k, Value: v})
		}
	}
	if len(out) > 50 {
		return nil, iamapi.NewLimitExceededException("The number of tags has reached the maximum limit.")
	}
	return out, nil
}

func untag(have []Tag, keys []string) []Tag {
	var out []Tag
	for _, t := range have {
		drop := false
		for _, k := range keys {
			drop = drop || strings.EqualFold(k, t.Key)
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}

func apiTags(ts []Tag) []iamapi.Tag {
	out := make([]iamapi.Tag, 0, len(ts))
	for _, t := range ts {
		out = append(out, iamapi.Tag{Key: wire.Ptr(t.Key), Value: wire.Ptr(t.Value)})
	}
	return out
}

func tagKeys(ts []iamapi.Tag) []string {
	var ks []string
	for _, t := range ts {
		ks = append(ks, wire.String(t.Key))
	}
	return ks
}

// tagConditionKeys are aws:RequestTag/<k> and aws:TagKeys for a tagging request.
func tagConditionKeys(ts []iamapi.Tag) []string {
	var kv []string
	for _, t := range ts {
		kv = append(kv, "aws:RequestTag/"+wire.String(t.Key), wire.String(t.Value), "aws:TagKeys", wire.String(t.Key))
	}
	return kv
}

// page returns items[start:start+max] where start follows marker (the index
// of the next item, as text), and the marker of the rest.
func pageOf[T any](items []T, marker *string, maxItems *int32) ([]T, *bool, *string, error) {
	start := 0
	if marker != nil {
		n, err := parseMarker(*marker)
		if err != nil || n > len(items) {
			return nil, nil, nil, iamapi.NewInvalidInputException("Invalid Marker.")
		}
		start = n
	}
	limit := 100
	if maxItems != nil {
		limit = int(*maxItems)
	}
	end := min(start+limit, len(items))
	if end < len(items) {
		return items[start:end], wire.Ptr(true), wire.Ptr(formatMarker(end)), nil
	}
	return items[start:end], wire.Ptr(false), nil, nil
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
