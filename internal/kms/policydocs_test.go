package kms

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// policyDocs returns the stored key policy documents of the env's Region.
func (e *env) policyDocs(t *testing.T) []store.KV {
	t.Helper()
	kvs, _, err := e.st.Range(context.Background(), regionPrefix(e.caller.Account, e.caller.Region)+"keypolicies/")
	if err != nil {
		t.Fatal(err)
	}
	return kvs
}

func (e *env) keyPolicy(t *testing.T, s *Service, id string) string {
	t.Helper()
	out, err := s.GetKeyPolicy(context.Background(), e.caller, &kmsapi.GetKeyPolicyRequest{KeyId: &id})
	if err != nil {
		t.Fatal(err)
	}
	return wire.String(out.Policy)
}

// Keys with the same policy share one stored document, which their records
// name instead of copying it; a changed policy is a second document, every
// key reads its own after a restart, and the sweep deletes a document no
// key names any more — and a later key that names it writes it again.
func TestKeysShareStoredPolicyDocument(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var ids []string
	for range 3 {
		ids = append(ids, *e.createKey(t).KeyId)
	}
	docs := e.policyDocs(t)
	if len(docs) != 1 || string(docs[0].Value) != DefaultPolicy(e.caller.Account) {
		t.Fatalf("stored documents %d, want the default policy once", len(docs))
	}
	kv, err := e.st.Get(ctx, keyPath(e.caller.Account, e.caller.Region, ids[0]))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(kv.Value, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["policy"]; ok || raw["policyRef"] != policyRef(DefaultPolicy(e.caller.Account)) {
		t.Fatalf("key record %s: want a policyRef to the default policy and no copy", kv.Value)
	}

	custom := strings.Replace(DefaultPolicy(e.caller.Account), "key-default-1", "custom", 1)
	if _, err := e.s.PutKeyPolicy(ctx, e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: &ids[1], Policy: &custom}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.policyDocs(t)); n != 2 {
		t.Fatalf("stored documents %d after PutKeyPolicy, want 2", n)
	}
	s2, err := New(ctx, e.s.st, e.s.sealer, Options{Now: e.clock.Now, Principals: e.ids, Organization: e.ids})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{DefaultPolicy(e.caller.Account), custom, DefaultPolicy(e.caller.Account)} {
		if got := e.keyPolicy(t, s2, ids[i]); got != want {
			t.Fatalf("key %d after reload: policy %q, want %q", i, got, want)
		}
	}

	def := DefaultPolicy(e.caller.Account)
	if _, err := e.s.PutKeyPolicy(ctx, e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: &ids[1], Policy: &def}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if docs := e.policyDocs(t); len(docs) != 1 || string(docs[0].Value) != def {
		t.Fatalf("stored documents %d after the sweep, want the default policy alone", len(docs))
	}
	if _, err := e.s.PutKeyPolicy(ctx, e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: &ids[2], Policy: &custom}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.policyDocs(t)); n != 2 {
		t.Fatalf("stored documents %d after naming a swept document again, want 2", n)
	}
	if got := e.keyPolicy(t, e.s, ids[2]); got != custom {
		t.Fatalf("policy %q, want the custom one", got)
	}
}

// A key record written before policy documents had records of their own
// carries its policy inline, and still loads with that policy in force.
func TestOldFormatKeyRecordLoads(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := *e.createKey(t).KeyId
	kp := keyPath(e.caller.Account, e.caller.Region, id)
	kv, err := e.st.Get(ctx, kp)
	if err != nil {
		t.Fatal(err)
	}
	// The record as an older Trent wrote it: every field, the policy inline
	// (one that denies Encrypt, so that its effect shows).
	deny := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + e.caller.Account + `:root"},"Action":"kms:*","Resource":"*"},` +
		`{"Sid":"no","Effect":"Deny","Principal":{"AWS":"*"},"Action":"kms:Encrypt","Resource":"*"}]}`
	var raw map[string]any
	if err := json.Unmarshal(kv.Value, &raw); err != nil {
		t.Fatal(err)
	}
	delete(raw, "policyRef")
	raw["policy"] = deny
	old, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Txn(ctx, store.Txn{Puts: []store.KV{{Key: kp, Value: old}}}); err != nil {
		t.Fatal(err)
	}
	s2, err := New(ctx, e.s.st, e.s.sealer, Options{Now: e.clock.Now, Principals: e.ids, Organization: e.ids})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.keyPolicy(t, s2, id); got != deny {
		t.Fatalf("policy of the old record %q, want %q", got, deny)
	}
	_, err = s2.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: &id, Plaintext: []byte("x")})
	if code(err) != "AccessDeniedException" {
		t.Fatalf("Encrypt under the old record's policy: %v, want AccessDeniedException", err)
	}
	if _, err := s2.DescribeKey(ctx, e.caller, &kmsapi.DescribeKeyRequest{KeyId: &id}); err != nil {
		t.Fatalf("DescribeKey: %v", err)
	}
}

// A key whose policy document the view has not seen denies every request;
// the document's arrival gives the key its policy. A document whose text
// is not its reference is refused.
func TestKeyWaitsForItsPolicyDocument(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := *e.createKey(t).KeyId
	k := e.s.view.testKey(e.caller.Region, id)
	custom := strings.Replace(DefaultPolicy(e.caller.Account), "key-default-1", "later", 1)
	rec := k.rec
	rec.Policy, rec.PolicyRef = "", policyRef(custom)
	v := e.s.view
	v.mu.Lock()
	v.put(store.KV{Key: keyPath(e.caller.Account, e.caller.Region, id), Value: marshal(rec), ModRev: k.modRev + 1})
	v.mu.Unlock()
	if k := v.testKey(e.caller.Region, id); k.policy != nil {
		t.Fatal("a key without its policy document has a policy")
	}
	if _, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: &id, Plaintext: []byte("x")}); code(err) != "AccessDeniedException" {
		t.Fatalf("Encrypt without the policy document: %v, want AccessDeniedException", err)
	}
	doc := policyDocPath(e.caller.Account, e.caller.Region, policyRef(custom))
	v.mu.Lock()
	v.put(store.KV{Key: doc, Value: []byte(custom + " "), ModRev: k.modRev + 2})
	v.mu.Unlock()
	if k := v.testKey(e.caller.Region, id); k.policy != nil {
		t.Fatal("a document that does not match its reference gave the key a policy")
	}
	v.mu.Lock()
	v.put(store.KV{Key: doc, Value: []byte(custom), ModRev: k.modRev + 3})
	v.mu.Unlock()
	if k := v.testKey(e.caller.Region, id); k.policy == nil || k.rec.Policy != custom {
		t.Fatal("the key did not get its policy when the document came")
	}
	if _, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: &id, Plaintext: []byte("x")}); err != nil {
		t.Fatalf("Encrypt once the document came: %v", err)
	}
}

// The sweep deletes a document only at the revision at which it saw no key
// name it: a write that names the document meanwhile puts it again, so the
// sweep's delete fails and the document stays.
func TestSweepLosesToAWriteThatNamesTheDocument(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := *e.createKey(t).KeyId
	custom := strings.Replace(DefaultPolicy(e.caller.Account), "key-default-1", "raced", 1)
	if _, err := e.s.PutKeyPolicy(ctx, e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: &id, Policy: &custom}); err != nil {
		t.Fatal(err)
	}
	def := DefaultPolicy(e.caller.Account)
	if _, err := e.s.PutKeyPolicy(ctx, e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: &id, Policy: &def}); err != nil {
		t.Fatal(err)
	}
	// What the sweep saw: the custom document, named by no key.
	dk := docKey{e.caller.Account, e.caller.Region, policyRef(custom)}
	e.s.view.mu.RLock()
	d, users := e.s.view.docs[dk], e.s.view.docUsers[dk]
	e.s.view.mu.RUnlock()
	if d == nil || users != 0 {
		t.Fatalf("document in view %v, users %d; want it unused", d != nil, users)
	}
	seen := d.modRev
	// Then, before the sweep's delete, a key names it again.
	other := *e.createKey(t).KeyId
	if _, err := e.s.PutKeyPolicy(ctx, e.caller, &kmsapi.PutKeyPolicyRequest{KeyId: &other, Policy: &custom}); err != nil {
		t.Fatal(err)
	}
	p := policyDocPath(e.caller.Account, e.caller.Region, policyRef(custom))
	if _, err := e.st.Txn(ctx, store.Txn{Compares: []store.Compare{{Key: p, ModRev: seen}}, Deletes: []string{p}}); err == nil {
		t.Fatal("the sweep's delete at the revision it saw succeeded after a write named the document")
	}
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Get(ctx, p); err != nil {
		t.Fatalf("the document a key names: %v", err)
	}
	if got := e.keyPolicy(t, e.s, other); got != custom {
		t.Fatalf("policy %q, want the custom one", got)
	}
}
