package kms

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/authz/corpus"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// TestCorpus makes every request of the decision corpus
// (internal/authz/testdata/corpus) of a Service on a real bolt store: the
// keys, aliases and grants of each file are created through the API, and each
// case's request goes through key resolution, the condition keys KMS builds,
// authorization and the operation itself. The AccessDenied message must be
// AWS's, word for word, and the audit note must name what decided.
func TestCorpus(t *testing.T) {
	files, err := corpus.Load("../authz/testdata/corpus")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f.Path), ".json"), func(t *testing.T) {
			w := newWorld(t, f)
			for _, c := range f.Cases {
				t.Run(c.Name, func(t *testing.T) { w.run(t, c) })
			}
		})
	}
}

// world is a file's keys, aliases and grants, made in a fresh Service.
type world struct {
	e      *env
	f      *corpus.File
	keys   map[string]*kmsapi.KeyMetadata
	grants map[string]string // corpus grant name → grant id
	tokens map[string]string // corpus grant name → its grant token
}

// rootOf is the root principal of an account, which sets the world up.
func rootOf(account string) Caller {
	id := &authz.Identity{Principal: authz.Principal{Account: account, ARN: arn.RootARN(account), Type: authz.RootType, UserID: account}}
	return Caller{Account: account, ARN: id.ARN, Region: corpus.Region, Identity: id, Request: authz.Request{Time: corpus.DefaultTime}}
}

func newWorld(t *testing.T, f *corpus.File) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{e: newEnv(t), f: f, keys: map[string]*kmsapi.KeyMetadata{}, grants: map[string]string{}, tokens: map[string]string{}}
	// Key policies may name only users and roles of the world, as AWS
	// refuses a policy naming one that does not exist.
	w.e.s.principals = f
	names := make([]string, 0, len(f.Keys))
	for n := range f.Keys {
		names = append(names, n)
	}
	sort.Strings(names)
	// Every key first, with the default policy, so that policies may name
	// any key's id; then each key's own policy (bypassing the lockout check,
	// as policies that lock root out are part of the corpus), aliases, grants.
	for _, n := range names {
		k := f.Keys[n]
		in := &kmsapi.CreateKeyRequest{KeySpec: optional(k.Spec), KeyUsage: optional(k.Usage)}
		for _, tk := range sortedKeys(k.Tags) {
			in.Tags = append(in.Tags, kmsapi.Tag{TagKey: wire.Ptr(tk), TagValue: wire.Ptr(k.Tags[tk])})
		}
		out, err := w.e.s.CreateKey(ctx, rootOf(k.Account), in)
		if err != nil {
			t.Fatalf("key %s: %v", n, err)
		}
		w.keys[n] = out.KeyMetadata
	}
	for _, n := range names {
		k := f.Keys[n]
		for _, a := range k.Aliases {
			if _, err := w.e.s.CreateAlias(ctx, rootOf(k.Account), &kmsapi.CreateAliasRequest{AliasName: wire.Ptr(a), TargetKeyId: w.keys[n].KeyId}); err != nil {
				t.Fatalf("key %s alias %s: %v", n, a, err)
			}
		}
		if k.IsDefault() {
			continue
		}
		doc := string(corpus.Expand(k.Policy, w.id))
		if _, err := w.e.s.PutKeyPolicy(ctx, rootOf(k.Account), &kmsapi.PutKeyPolicyRequest{KeyId: w.keys[n].KeyId, Policy: &doc, BypassPolicyLockoutSafetyCheck: wire.Ptr(true)}); err != nil {
			t.Fatalf("key %s policy: %v", n, err)
		}
	}
	for _, g := range f.Grants {
		out, err := w.e.s.CreateGrant(ctx, rootOf(f.Keys[g.Key].Account), w.grantRequest(g))
		var we *wire.Error
		if g.Refusable && errors.As(err, &we) && we.Code == "ValidationException" {
			t.Logf("grant %s refused, as AWS may refuse it: %v", g.Name, err)
			continue
		}
		if err != nil {
			t.Fatalf("grant %s: %v", g.Name, err)
		}
		w.grants[g.Name], w.tokens[g.Name] = *out.GrantId, *out.GrantToken
	}
	// The world's organization (its accounts' RCPs and org paths) governs
	// the cases, not the setting up.
	w.e.s.orgs = f
	return w
}

// id is the id of a corpus key in this world.
func (w *world) id(name string) string {
	if k := w.keys[name]; k != nil {
		return *k.KeyId
	}
	return "no-such-corpus-key-" + name
}

func (w *world) grantRequest(g *corpus.Grant) *kmsapi.CreateGrantRequest {
	in := &kmsapi.CreateGrantRequest{KeyId: w.keys[g.Key].Arn, GranteePrincipal: wire.Ptr(g.Grantee), Operations: g.Operations, RetiringPrincipal: optional(g.Retiring)}
	if c := g.Constraints; c != nil {
		in.Constraints = &kmsapi.GrantConstraints{EncryptionContextEquals: c.EncryptionContextEquals, EncryptionContextSubset: c.EncryptionContextSubset, SourceArn: optional(c.SourceArn)}
	}
	return in
}

// keyRef is how the case's request names its key.
func (w *world) keyRef(c *corpus.Case) string {
	m := w.keys[c.Key]
	switch ref := c.Request.KeyID; ref {
	case "", "arn":
		return *m.Arn
	case "id":
		return *m.KeyId
	default:
		return string(corpus.Expand([]byte(ref), w.id))
	}
}

// run makes the case's request (Repeat times) and judges the first outcome
// that differs from the expectation, or the last.
func (w *world) run(t *testing.T, c *corpus.Case) {
	var wrong []string
	for i := 0; i < max(c.Repeat, 1); i++ {
		if wrong = w.once(t, c); len(wrong) > 0 {
			break
		}
	}
	switch {
	case c.Pending != "" && len(wrong) == 0:
		t.Errorf("pending case now handled as AWS does (%s): move it to the main corpus\nrule: %s", c.Pending, c.Rule)
	case c.Pending != "":
		t.Logf("known wrong, tracked by %s: %s", c.Pending, strings.Join(wrong, "; "))
	case len(wrong) > 0:
		t.Errorf("%s\nrule: %s", strings.Join(wrong, "; "), c.Rule)
	}
}

// once makes the case's request and lists how the outcome differs from the
// expectation.
func (w *world) once(t *testing.T, c *corpus.Case) []string {
	req, err := c.Request.AuthzRequest(w.id)
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.f.Identity(c.Principal, req.Time, w.id)
	if err != nil {
		t.Fatal(err)
	}
	note := &Note{}
	caller := Caller{Account: id.Account, ARN: id.ARN, Region: corpus.Region, Identity: id, Request: req, Note: note}
	err = w.do(c, caller)

	resource := "*" // an action on no particular key
	switch {
	case c.Key != "":
		resource = *w.keys[c.Key].Arn
	case c.Resource != "":
		resource = c.Resource
	}
	var wrong []string
	var we *wire.Error
	switch want := c.Want; want.Decision {
	case "allow":
		if err != nil {
			wrong = append(wrong, fmt.Sprintf("failed: %v", err))
			break
		}
		wrong = append(wrong, w.checkNote(c, note)...)
	case "deny":
		msg := corpus.DeniedMessage(id.ARN, c.Action, resource, want.Because)
		switch {
		case !errors.As(err, &we) || we.Code != "AccessDeniedException":
			wrong = append(wrong, fmt.Sprintf("got %v, want AccessDeniedException", err))
		case want.Because == "":
			// A rule of the operation whose wording AWS does not document:
			// the denial must still name the action.
			if !strings.Contains(we.Message, c.Action) {
				wrong = append(wrong, fmt.Sprintf("message %q does not name %s", we.Message, c.Action))
			}
		case we.Message != msg:
			wrong = append(wrong, fmt.Sprintf("message %q\nwant %q", we.Message, msg))
		default:
			wrong = append(wrong, w.checkNote(c, note)...)
		}
	case "error":
		if !errors.As(err, &we) || we.Code != want.Error {
			wrong = append(wrong, fmt.Sprintf("got %v, want %s", err, want.Error))
		}
	}
	return wrong
}

// checkNote compares what the audit note says decided with the case.
func (w *world) checkNote(c *corpus.Case, n *Note) []string {
	want := c.Want
	if c.Key == "" || (want.By == "" && want.Sid == "") {
		return nil // actions on no key leave no key decision to note
	}
	if !n.Decided {
		return []string{"the audit note names no decision"}
	}
	d := n.Decision
	var wrong []string
	if want.Decision == "allow" && want.By != "" && d.By.String() != want.By {
		wrong = append(wrong, fmt.Sprintf("allowed by %q, want %q", d.By.String(), want.By))
	}
	if want.Grant != "" && d.GrantID != w.grants[want.Grant] {
		wrong = append(wrong, fmt.Sprintf("allowed by grant %s, want %s (%s)", d.GrantID, w.grants[want.Grant], want.Grant))
	}
	if want.Sid != "" && d.Sid != want.Sid {
		wrong = append(wrong, fmt.Sprintf("deciding statement %q, want %q", d.Sid, want.Sid))
	}
	return wrong
}

// do makes the case's request with the KMS operation its action names,
// validated as the server validates it.
func (w *world) do(c *corpus.Case, caller Caller) error {
	ctx := context.Background()
	r := &c.Request
	var key *string
	if c.Key != "" {
		key = wire.Ptr(w.keyRef(c))
	}
	ec := r.EncryptionContext
	var tokens []string
	for _, g := range r.GrantTokens {
		tokens = append(tokens, w.tokens[g])
	}
	call := func(in interface{ Validate() error }, op func() error) error {
		if err := in.Validate(); err != nil {
			return fmt.Errorf("the corpus request is not valid: %w", err)
		}
		return op()
	}
	switch c.Action {
	case "kms:Encrypt":
		in := &kmsapi.EncryptRequest{KeyId: key, Plaintext: []byte("data"), EncryptionContext: ec, EncryptionAlgorithm: optional(r.EncryptionAlgorithm), GrantTokens: tokens}
		return call(in, func() error { _, err := w.e.s.Encrypt(ctx, caller, in); return err })
	case "kms:Decrypt":
		in := &kmsapi.DecryptRequest{CiphertextBlob: w.blob(c), EncryptionContext: ec, GrantTokens: tokens}
		if r.KeyID != "" {
			in.KeyId = key
		}
		return call(in, func() error { _, err := w.e.s.Decrypt(ctx, caller, in); return err })
	case "kms:ReEncryptFrom":
		in := &kmsapi.ReEncryptRequest{CiphertextBlob: w.blob(c), SourceEncryptionContext: ec, DestinationKeyId: w.keys[r.DestinationKey].Arn}
		return call(in, func() error { _, err := w.e.s.ReEncrypt(ctx, caller, in); return err })
	case "kms:GenerateDataKey":
		in := &kmsapi.GenerateDataKeyRequest{KeyId: key, KeySpec: wire.Ptr("AES_256"), EncryptionContext: ec}
		return call(in, func() error { _, err := w.e.s.GenerateDataKey(ctx, caller, in); return err })
	case "kms:DescribeKey":
		in := &kmsapi.DescribeKeyRequest{KeyId: key}
		return call(in, func() error { _, err := w.e.s.DescribeKey(ctx, caller, in); return err })
	case "kms:GetKeyRotationStatus":
		in := &kmsapi.GetKeyRotationStatusRequest{KeyId: key}
		return call(in, func() error { _, err := w.e.s.GetKeyRotationStatus(ctx, caller, in); return err })
	case "kms:EnableKeyRotation":
		in := &kmsapi.EnableKeyRotationRequest{KeyId: key, RotationPeriodInDays: optionalInt(r.RotationPeriodInDays)}
		return call(in, func() error { _, err := w.e.s.EnableKeyRotation(ctx, caller, in); return err })
	case "kms:ScheduleKeyDeletion":
		in := &kmsapi.ScheduleKeyDeletionRequest{KeyId: key, PendingWindowInDays: optionalInt(r.PendingWindowInDays)}
		return call(in, func() error { _, err := w.e.s.ScheduleKeyDeletion(ctx, caller, in); return err })
	case "kms:PutKeyPolicy":
		in := &kmsapi.PutKeyPolicyRequest{KeyId: key, Policy: wire.Ptr(string(corpus.Expand(r.Policy, w.id))), BypassPolicyLockoutSafetyCheck: optionalBool(r.Bypass)}
		return call(in, func() error { _, err := w.e.s.PutKeyPolicy(ctx, caller, in); return err })
	case "kms:TagResource":
		in := &kmsapi.TagResourceRequest{KeyId: key, Tags: tags(r.Tags)}
		return call(in, func() error { _, err := w.e.s.TagResource(ctx, caller, in); return err })
	case "kms:ListResourceTags":
		in := &kmsapi.ListResourceTagsRequest{KeyId: key}
		return call(in, func() error { _, err := w.e.s.ListResourceTags(ctx, caller, in); return err })
	case "kms:CreateGrant":
		g := *r.Grant
		g.Key = c.Key
		in := w.grantRequest(&g)
		in.KeyId = key
		return call(in, func() error { _, err := w.e.s.CreateGrant(ctx, caller, in); return err })
	case "kms:ListGrants":
		in := &kmsapi.ListGrantsRequest{KeyId: key}
		return call(in, func() error { _, err := w.e.s.ListGrants(ctx, caller, in); return err })
	case "kms:RetireGrant":
		in := &kmsapi.RetireGrantRequest{KeyId: key, GrantId: wire.Ptr(w.grants[r.GrantName])}
		return call(in, func() error { _, err := w.e.s.RetireGrant(ctx, caller, in); return err })
	case "kms:RevokeGrant":
		in := &kmsapi.RevokeGrantRequest{KeyId: key, GrantId: wire.Ptr(w.grants[r.GrantName])}
		return call(in, func() error { _, err := w.e.s.RevokeGrant(ctx, caller, in); return err })
	case "kms:Sign":
		msg := []byte("message")
		if r.MessageType == "DIGEST" {
			msg = make([]byte, 32) // a SHA-256 digest's length
		}
		in := &kmsapi.SignRequest{KeyId: key, Message: msg, MessageType: optional(r.MessageType), SigningAlgorithm: optional(r.SigningAlgorithm)}
		return call(in, func() error { _, err := w.e.s.Sign(ctx, caller, in); return err })
	case "kms:GenerateMac":
		in := &kmsapi.GenerateMacRequest{KeyId: key, Message: []byte("message"), MacAlgorithm: optional(r.MacAlgorithm)}
		return call(in, func() error { _, err := w.e.s.GenerateMac(ctx, caller, in); return err })
	case "kms:CreateKey":
		in := &kmsapi.CreateKeyRequest{KeySpec: optional(r.KeySpec), KeyUsage: optional(r.KeyUsage), Origin: optional(r.Origin), Tags: tags(r.Tags), BypassPolicyLockoutSafetyCheck: optionalBool(r.Bypass)}
		if len(r.Policy) > 0 {
			in.Policy = wire.Ptr(string(corpus.Expand(r.Policy, w.id)))
		}
		return call(in, func() error { _, err := w.e.s.CreateKey(ctx, caller, in); return err })
	case "kms:ListKeys":
		in := &kmsapi.ListKeysRequest{}
		return call(in, func() error { _, err := w.e.s.ListKeys(ctx, caller, in); return err })
	case "kms:ListAliases":
		in := &kmsapi.ListAliasesRequest{}
		return call(in, func() error { _, err := w.e.s.ListAliases(ctx, caller, in); return err })
	case "kms:GenerateRandom":
		in := &kmsapi.GenerateRandomRequest{NumberOfBytes: wire.Ptr(int32(16))}
		return call(in, func() error { _, err := w.e.s.GenerateRandom(ctx, caller, in); return err })
	case "kms:CreateAlias", "kms:UpdateAlias":
		// The key is the case's key, or for a case on the alias alone the
		// destination key.
		target := key
		if target == nil {
			target = w.keys[r.DestinationKey].KeyId
		}
		if c.Action == "kms:CreateAlias" {
			in := &kmsapi.CreateAliasRequest{AliasName: wire.Ptr(r.Alias), TargetKeyId: target}
			return call(in, func() error { _, err := w.e.s.CreateAlias(ctx, caller, in); return err })
		}
		in := &kmsapi.UpdateAliasRequest{AliasName: wire.Ptr(r.Alias), TargetKeyId: target}
		return call(in, func() error { _, err := w.e.s.UpdateAlias(ctx, caller, in); return err })
	case "kms:DeleteAlias":
		in := &kmsapi.DeleteAliasRequest{AliasName: wire.Ptr(r.Alias)}
		return call(in, func() error { _, err := w.e.s.DeleteAlias(ctx, caller, in); return err })
	}
	return fmt.Errorf("the kms corpus runner does not make %s requests yet", c.Action)
}

// blob is a ciphertext of the case's key under its encryption context,
// made without authorization: the corpus's keys may lock everyone out, and
// the case is about who may decrypt, not who may encrypt.
func (w *world) blob(c *corpus.Case) []byte {
	k, _, err := w.e.s.lookup(rootOf(w.f.Keys[c.Key].Account), *w.keys[c.Key].KeyId, keyOnly)
	if err != nil {
		panic(err)
	}
	m, err := w.e.s.symmetric(k)
	if err != nil {
		panic(err)
	}
	b, err := m.Encrypt(w.e.s.rand, []byte("secret"), c.Request.EncryptionContext)
	if err != nil {
		panic(err)
	}
	return b
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optionalInt(n int) *int32 {
	if n == 0 {
		return nil
	}
	v := int32(n)
	return &v
}

func optionalBool(b bool) *bool {
	if !b {
		return nil
	}
	return &b
}

func tags(m map[string]string) []kmsapi.Tag {
	var out []kmsapi.Tag
	for _, k := range sortedKeys(m) {
		out = append(out, kmsapi.Tag{TagKey: wire.Ptr(k), TagValue: wire.Ptr(m[k])})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
