package kms

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// Material is unsealed only while it is in the bounded cache: with room for
// two versions, encrypting under five keys and decrypting every ciphertext
// again keeps at most two unsealed, and every key keeps working.
func TestMaterialCacheIsBounded(t *testing.T) {
	e := newEnv(t)
	e.s.view.cache.reset()
	e.s.view.cache.max = 2
	ctx := context.Background()
	type sealed struct {
		arn  string
		blob []byte
	}
	var blobs []sealed
	for range 5 {
		k := e.createKey(t)
		if n := e.s.view.cache.size(); n > 2 {
			t.Fatalf("%d material versions unsealed after CreateKey, want at most 2", n)
		}
		out, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: k.Arn, Plaintext: []byte("secret")})
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, sealed{*k.Arn, out.CiphertextBlob})
		if n := e.s.view.cache.size(); n > 2 {
			t.Fatalf("%d material versions unsealed, want at most 2", n)
		}
	}
	for range 2 {
		for _, b := range blobs {
			out, err := e.s.Decrypt(ctx, e.caller, &kmsapi.DecryptRequest{CiphertextBlob: b.blob})
			if err != nil || string(out.Plaintext) != "secret" || wire.String(out.KeyId) != b.arn {
				t.Fatalf("Decrypt = %+v, %v", out, err)
			}
		}
	}
	if n := e.s.view.cache.size(); n != 2 {
		t.Fatalf("%d material versions unsealed, want 2", n)
	}
}

// The clock hand passes over material in use: the recently used of two
// entries survives the next miss.
func TestMaterialCacheKeepsWhatIsUsed(t *testing.T) {
	e := newEnv(t)
	e.s.view.cache.reset()
	e.s.view.cache.max = 2
	ctx := context.Background()
	var arns []string
	for range 3 {
		arns = append(arns, *e.createKey(t).Arn)
	}
	enc := func(arn string) {
		if _, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: &arn, Plaintext: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	enc(arns[0])
	enc(arns[1])
	// One full turn of the hand clears both used bits; then a use of
	// arns[1] marks only it.
	e.s.view.cache.mu.Lock()
	for _, x := range e.s.view.cache.ring {
		x.used.Store(false)
	}
	e.s.view.cache.mu.Unlock()
	enc(arns[1])
	enc(arns[2]) // a miss: evicts arns[0], not arns[1]
	open := func(arn string) bool {
		k := e.s.view.testKey("us-east-1", arn[len(arn)-36:])
		mid, _ := keys.ParseMaterialID(k.rec.CurrentMaterial)
		return find(e.s.view.mats[keyIndex("us-east-1", k.rec.ID)], mid).open.Load() != nil
	}
	if open(arns[0]) || !open(arns[1]) || !open(arns[2]) {
		t.Fatalf("open after the miss: %v %v %v, want false true true", open(arns[0]), open(arns[1]), open(arns[2]))
	}
}

// Keys that carry the same policy document share one compiled policy, and a
// document no key carries any more is dropped.
func TestKeysShareCompiledPolicies(t *testing.T) {
	e := newEnv(t)
	a, b := e.createKey(t), e.createKey(t)
	ka, kb := e.s.view.testKey("us-east-1", *a.KeyId), e.s.view.testKey("us-east-1", *b.KeyId)
	if ka.policy == nil || ka.policy != kb.policy {
		t.Fatalf("two keys with the default policy have compiled policies %p and %p, want one", ka.policy, kb.policy)
	}
	if ka.rec.Policy != kb.rec.Policy || unsafe.StringData(ka.rec.Policy) != unsafe.StringData(kb.rec.Policy) {
		t.Fatal("the policy documents of two keys do not share their bytes")
	}
	var c policyCache
	doc := DefaultPolicy("111122223333")
	p1, err := c.compile(doc, policy.Options{Kind: policy.ResourceKind})
	if err != nil {
		t.Fatal(err)
	}
	bound := policy.Options{Kind: policy.ResourceKind, Bound: true, Bindings: map[string]string{"arn:aws:iam::111122223333:role/R": "AROAEXAMPLE"}}
	p2, _ := c.compile(doc, bound)
	p3, _ := c.compile(doc, policy.Options{Kind: policy.ResourceKind, Bound: true, Bindings: map[string]string{"arn:aws:iam::111122223333:role/R": "AROAEXAMPLE"}})
	if p1 == p2 || p2 != p3 || c.len() != 2 {
		t.Fatalf("the same document with other bindings must compile apart and equal bindings share: %p %p %p, %d entries", p1, p2, p3, c.len())
	}
	runtime.KeepAlive(p1)
	runtime.KeepAlive(p2)
	runtime.KeepAlive(p3)
	p1, p2, p3 = nil, nil, nil
	for i := 0; i < 100 && c.len() > 0; i++ {
		runtime.GC()
		runtime.Gosched()
	}
	if n := c.len(); n != 0 {
		t.Fatalf("%d policies no key uses are still held", n)
	}
}

// A load keeps the KMS records but keys and their material, which are
// loaded on use, and passes over the runs of those without reading them.
func TestViewKeepsOnlyKMSRecords(t *testing.T) {
	var v view
	for k, want := range map[string]bool{
		"acct/111122223333/kms/us-east-1/keys/1234":        false,
		"acct/111122223333/kms/us-east-1/material/1234/ab": false,
		"acct/111122223333/kms/us-east-1/keyindex/1234":    true,
		"acct/111122223333/kms/us-east-1/keypolicies/ab":   true,
		"acct/111122223333/kms/us-east-1/keysx/1234":       true,
		"acct/111122223333/kms/us-east-1/grants/1234/g":    true,
		"acct/111122223333/account":                        false,
		"acct/111122223333/iam/users/alice":                false,
		"acct/111122223333/kmsx/us-east-1/keys/1234":       false,
		"iam/accesskeys/AKIA":                              false,
		"acct/":                                            false,
	} {
		if got := v.Keep([]byte(k)); got != want {
			t.Errorf("Keep(%q) = %v, want %v", k, got, want)
		}
	}
	for k, want := range map[string]string{
		"acct/111122223333/kms/us-east-1/keys/1234":        "acct/111122223333/kms/us-east-1/keys0",
		"acct/111122223333/kms/us-east-1/material/1234/ab": "acct/111122223333/kms/us-east-1/material0",
		"acct/111122223333/kms/us-east-1/keyindex/1234":    "",
		"acct/111122223333/iam/users/alice":                "",
	} {
		if got := string(v.Skip([]byte(k))); got != want {
			t.Errorf("Skip(%q) = %q, want %q", k, got, want)
		}
	}
}

// A restarted service loads every key and its material from the store,
// streamed (the store is a Scanner).
func TestReloadedServiceServesEveryKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var blobs [][]byte
	for range 3 {
		k := e.createKey(t)
		out, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: k.Arn, Plaintext: []byte("kept")})
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, out.CiphertextBlob)
	}
	s2, err := New(ctx, e.s.st, e.s.sealer, Options{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if s2.KeyCount() != 3 {
		t.Fatalf("reloaded %d keys, want 3", s2.KeyCount())
	}
	for _, b := range blobs {
		out, err := s2.Decrypt(ctx, e.caller, &kmsapi.DecryptRequest{CiphertextBlob: b})
		if err != nil || string(out.Plaintext) != "kept" {
			t.Fatalf("Decrypt after reload = %v", err)
		}
	}
}

// The view counts keys per account and Region as records come and go (the
// keys quota reads the count on every CreateKey).
func TestViewCountsKeys(t *testing.T) {
	e := newEnv(t)
	a, b := e.createKey(t), e.createKey(t)
	if n := e.s.view.keyCount(e.caller.Account, e.caller.Region); n != 2 {
		t.Fatalf("count %d, want 2", n)
	}
	ka := e.s.view.testKey(e.caller.Region, *a.KeyId)
	e.s.view.mu.Lock()
	e.s.view.put(store.KV{Key: keyPath(e.caller.Account, e.caller.Region, *a.KeyId), Value: marshal(ka.rec)}) // a rewrite
	e.s.view.delete(keyPath(e.caller.Account, e.caller.Region, *b.KeyId))
	e.s.view.mu.Unlock()
	if n := e.s.view.keyCount(e.caller.Account, e.caller.Region); n != 1 {
		t.Fatalf("count after a rewrite and a delete %d, want 1", n)
	}
	if n := e.s.view.keyCount(e.caller.Account, "eu-west-1"); n != 0 {
		t.Fatalf("count in another Region %d", n)
	}
}

// A restart with more keys than one decoding batch loads every key with
// its shared policy, in the store's order, and leaves out only the record
// that does not decode.
func TestRestartWithManyKeys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first := e.s.view.testKey(e.caller.Region, *e.createKey(t).KeyId)
	const n = 2348
	var puts []store.KV
	ids := make([]string, n)
	for i := range ids {
		id, err := e.s.newKeyID()
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
		rec := first.rec
		rec.ID = id
		kvs := storedKey(rec)
		if i == 1031 {
			kvs[2].Value = []byte(strings.Replace(string(kvs[2].Value), `"spec":"SYMMETRIC_DEFAULT"`, `"spec":"AES_512"`, 1))
		}
		puts = append(puts, kvs[0], kvs[2])
	}
	if _, err := e.st.Txn(ctx, store.Txn{Puts: puts}); err != nil {
		t.Fatal(err)
	}
	s2, err := New(ctx, e.s.st, e.s.sealer, Options{Now: e.clock.Now, Principals: e.ids, Organization: e.ids})
	if err != nil {
		t.Fatal(err)
	}
	// Every key is in the index, the one that does not decode too: it is
	// not served.
	if got := s2.KeyCount(); got != n+1 {
		t.Fatalf("reloaded %d keys, want %d", got, n+1)
	}
	if got := s2.view.keyCount(e.caller.Account, e.caller.Region); got != n+1 {
		t.Fatalf("count %d, want %d", got, n+1)
	}
	shared := s2.view.testKey(e.caller.Region, first.rec.ID).policy
	for i, id := range ids {
		k := s2.view.testKey(e.caller.Region, id)
		if i == 1031 {
			if k != nil {
				t.Fatal("the record with an unknown spec loaded")
			}
			continue
		}
		if k == nil || shared == nil || k.policy != shared || k.rec.Policy != DefaultPolicy(e.caller.Account) {
			t.Fatalf("key %d: %v, not loaded with the shared default policy", i, k != nil)
		}
	}
}
