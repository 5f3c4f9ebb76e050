package kms

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// laggingStore is a store whose watchers see changes only while it lets
// them through: a node following the store late, as a node of a cluster
// follows etcd asynchronously.
type laggingStore struct {
	store.Store
	mu   sync.Mutex
	gate chan struct{} // nil: changes flow; else they wait until it closes
}

func (l *laggingStore) hold() {
	l.mu.Lock()
	if l.gate == nil {
		l.gate = make(chan struct{})
	}
	l.mu.Unlock()
}

func (l *laggingStore) release() {
	l.mu.Lock()
	if l.gate != nil {
		close(l.gate)
		l.gate = nil
	}
	l.mu.Unlock()
}

func (l *laggingStore) Watch(ctx context.Context, prefix string, fromRev int64) <-chan store.WatchResponse {
	in := l.Store.Watch(ctx, prefix, fromRev)
	out := make(chan store.WatchResponse)
	go func() {
		defer close(out)
		for resp := range in {
			l.mu.Lock()
			g := l.gate
			l.mu.Unlock()
			if g != nil {
				select {
				case <-g:
				case <-ctx.Done():
					return
				}
			}
			select {
			case out <- resp:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// cluster is two nodes on one store: a follows it at once, b through a
// laggingStore.
type cluster struct {
	a, b  *Service
	lag   *laggingStore
	clock *clock
	root  Caller
	ids   *iam.Directory
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	st, sealer, clk := newStore(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	lag := &laggingStore{Store: st}
	idsDone := make(chan struct{}, 1)
	ids := newDirectory(t, ctx, st, sealer, clk, idsDone)
	c := &cluster{lag: lag, clock: clk, ids: ids}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); <-idsDone }()
	for _, s := range []struct {
		st  store.Store
		out **Service
	}{{st, &c.a}, {lag, &c.b}} {
		svc, err := New(ctx, s.st, sealer, Options{Now: clk.Now, SweepInterval: time.Hour, Principals: ids})
		if err != nil {
			t.Fatal(err)
		}
		*s.out = svc
		wg.Add(1)
		go func() { defer wg.Done(); svc.Run(ctx) }()
	}
	t.Cleanup(func() { lag.release(); cancel(); wg.Wait(); st.Close() })
	root := &authz.Identity{Principal: authz.Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:root", Type: authz.RootType, UserID: "111122223333"}}
	c.root = Caller{Account: root.Account, ARN: root.ARN, Region: "us-east-1", Identity: root}
	return c
}

// sync waits until b has applied everything a has.
func (c *cluster) sync(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.b.follower.Wait(ctx, c.a.follower.Applied()); err != nil {
		t.Fatal(err)
	}
}

func (c *cluster) user(name string) Caller {
	id := iamUser(c.ids, name)
	return Caller{Account: id.Account, ARN: id.ARN, Region: "us-east-1", Identity: id, Request: authz.Request{Time: c.clock.Now()}}
}

// A node that has not seen a grant yet accepts a valid token for it, and
// only for its grantee; after the grant is retired, its token brings it back
// nowhere (grants.md: grant token, eventual consistency; issue 9, hole 9d).
func TestGrantTokenOnANodeThatHasNotSeenTheGrant(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	k, err := c.a.CreateKey(ctx, c.root, &kmsapi.CreateKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.a.CreateKey(ctx, c.root, &kmsapi.CreateKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	c.sync(t)
	c.lag.hold()
	g, err := c.a.CreateGrant(ctx, c.root, &kmsapi.CreateGrantRequest{KeyId: k.KeyMetadata.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/svc"),
		Operations: []string{"Encrypt", "CreateGrant", "RetireGrant"}})
	if err != nil {
		t.Fatal(err)
	}
	svc := c.user("svc")
	encrypt := func(s *Service, who Caller, keyID *string, tokens ...string) error {
		_, err := s.Encrypt(ctx, who, &kmsapi.EncryptRequest{KeyId: keyID, Plaintext: []byte("x"), GrantTokens: tokens})
		return err
	}
	if err := encrypt(c.a, svc, k.KeyMetadata.KeyId); err != nil {
		t.Fatalf("Encrypt on the node that wrote the grant: %v", err)
	}
	if err := encrypt(c.b, svc, k.KeyMetadata.KeyId); code(err) != "AccessDeniedException" {
		t.Fatalf("Encrypt without the token on a node that has not seen the grant: %v, want AccessDeniedException", err)
	}
	if err := encrypt(c.b, svc, k.KeyMetadata.KeyId, *g.GrantToken); err != nil {
		t.Fatalf("Encrypt with the token on a node that has not seen the grant: %v", err)
	}
	// The token is not a credential: it proves the grant, and the grant is
	// for svc only.
	if err := encrypt(c.b, c.user("mallory"), k.KeyMetadata.KeyId, *g.GrantToken); code(err) != "AccessDeniedException" {
		t.Fatalf("Encrypt by another user with svc's token: %v, want AccessDeniedException", err)
	}
	if err := encrypt(c.b, svc, other.KeyMetadata.KeyId, *g.GrantToken); code(err) != "AccessDeniedException" {
		t.Fatalf("Encrypt under another key with the token: %v, want AccessDeniedException", err)
	}
	forged := []byte(*g.GrantToken)
	forged[len(forged)/2] ^= 1
	if err := encrypt(c.b, svc, k.KeyMetadata.KeyId, string(forged)); code(err) != "InvalidGrantTokenException" {
		t.Fatalf("Encrypt with a tampered token: %v, want InvalidGrantTokenException", err)
	}
	// CreateGrant through the unseen grant (DryRun: b could not finish a
	// write while it lags).
	_, err = c.b.CreateGrant(ctx, svc, &kmsapi.CreateGrantRequest{KeyId: k.KeyMetadata.Arn, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/third"),
		Operations: []string{"Encrypt"}, GrantTokens: []string{*g.GrantToken}, DryRun: wire.Ptr(true)})
	if code(err) != "DryRunOperationException" {
		t.Fatalf("CreateGrant with the parent's token on the lagging node: %v, want DryRunOperationException", err)
	}

	// RetireGrant by token on the lagging node: the delete is written at
	// once; b acknowledges it when it has caught up.
	done := make(chan error, 1)
	go func() {
		_, err := c.b.RetireGrant(ctx, svc, &kmsapi.RetireGrantRequest{GrantToken: g.GrantToken})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	c.lag.release()
	if err := <-done; err != nil {
		t.Fatalf("RetireGrant by token on the lagging node: %v", err)
	}
	c.sync(t)
	for name, s := range map[string]*Service{"a": c.a, "b": c.b} {
		if err := encrypt(s, svc, k.KeyMetadata.KeyId, *g.GrantToken); code(err) != "AccessDeniedException" {
			t.Errorf("node %s: Encrypt with the token of a retired grant: %v, want AccessDeniedException", name, err)
		}
		if _, err := s.RetireGrant(ctx, svc, &kmsapi.RetireGrantRequest{GrantToken: g.GrantToken}); code(err) != "InvalidGrantTokenException" {
			t.Errorf("node %s: RetireGrant with the token of a retired grant: %v, want InvalidGrantTokenException", name, err)
		}
	}
}

// A token stands in for an unseen grant only for a while: a node that still
// has not seen it after tokenProofWindow is cut off from the store, and does
// not act on a grant it cannot check.
func TestGrantTokenProvesAnUnseenGrantOnlyForAWhile(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	k, err := c.a.CreateKey(ctx, c.root, &kmsapi.CreateKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	c.sync(t)
	c.lag.hold()
	g, err := c.a.CreateGrant(ctx, c.root, &kmsapi.CreateGrantRequest{KeyId: k.KeyMetadata.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/svc"), Operations: []string{"Encrypt"}})
	if err != nil {
		t.Fatal(err)
	}
	c.clock.Add(tokenProofWindow + time.Second)
	_, err = c.b.Encrypt(ctx, c.user("svc"), &kmsapi.EncryptRequest{KeyId: k.KeyMetadata.KeyId, Plaintext: []byte("x"), GrantTokens: []string{*g.GrantToken}})
	if code(err) != "AccessDeniedException" {
		t.Fatalf("Encrypt with an old token on a node that never saw the grant: %v, want AccessDeniedException", err)
	}
	c.lag.release()
	c.sync(t)
	if _, err = c.b.Encrypt(ctx, c.user("svc"), &kmsapi.EncryptRequest{KeyId: k.KeyMetadata.KeyId, Plaintext: []byte("x")}); err != nil {
		t.Fatalf("Encrypt once the node has the grant: %v", err)
	}
}

// Every operation that takes GrantTokens (grants.md: "You can submit a grant
// token to any AWS KMS grant operation") uses them: on a node that has not
// seen the grant, each is denied without the token and allowed with it.
func TestEveryOperationWithGrantTokensUsesThem(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	newKey := func(spec, usage string) *kmsapi.KeyMetadata {
		out, err := c.a.CreateKey(ctx, c.root, &kmsapi.CreateKeyRequest{KeySpec: wire.Ptr(spec), KeyUsage: wire.Ptr(usage)})
		if err != nil {
			t.Fatal(err)
		}
		return out.KeyMetadata
	}
	sym := newKey("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
	rsa := newKey("RSA_2048", "SIGN_VERIFY")
	hmac := newKey("HMAC_256", "GENERATE_VERIFY_MAC")
	ecc := newKey("ECC_NIST_P256", "KEY_AGREEMENT")
	blob, err := c.a.Encrypt(ctx, c.root, &kmsapi.EncryptRequest{KeyId: sym.KeyId, Plaintext: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("message")
	sig, err := c.a.Sign(ctx, c.root, &kmsapi.SignRequest{KeyId: rsa.KeyId, Message: msg, SigningAlgorithm: wire.Ptr("RSASSA_PSS_SHA_256")})
	if err != nil {
		t.Fatal(err)
	}
	mac, err := c.a.GenerateMac(ctx, c.root, &kmsapi.GenerateMacRequest{KeyId: hmac.KeyId, Message: msg, MacAlgorithm: wire.Ptr("HMAC_SHA_256")})
	if err != nil {
		t.Fatal(err)
	}
	peer, _ := ecdh.P256().GenerateKey(rand.Reader)
	peerDER, err := x509.MarshalPKIXPublicKey(peer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	c.sync(t)
	c.lag.hold()
	token := func(k *kmsapi.KeyMetadata, ops ...string) string {
		g, err := c.a.CreateGrant(ctx, c.root, &kmsapi.CreateGrantRequest{KeyId: k.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/svc"), Operations: ops})
		if err != nil {
			t.Fatal(err)
		}
		return *g.GrantToken
	}
	symToken := token(sym, "Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
		"GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "DescribeKey", "CreateGrant")
	rsaToken := token(rsa, "Sign", "Verify", "GetPublicKey")
	hmacToken := token(hmac, "GenerateMac", "VerifyMac")
	eccToken := token(ecc, "DeriveSharedSecret")
	svc := c.user("svc")
	b := c.b
	ops := map[string]func(tokens []string) error{
		"Encrypt": func(tk []string) error {
			_, err := b.Encrypt(ctx, svc, &kmsapi.EncryptRequest{KeyId: sym.KeyId, Plaintext: msg, GrantTokens: tk})
			return err
		},
		"Decrypt": func(tk []string) error {
			_, err := b.Decrypt(ctx, svc, &kmsapi.DecryptRequest{CiphertextBlob: blob.CiphertextBlob, GrantTokens: tk})
			return err
		},
		"ReEncrypt": func(tk []string) error {
			_, err := b.ReEncrypt(ctx, svc, &kmsapi.ReEncryptRequest{CiphertextBlob: blob.CiphertextBlob, DestinationKeyId: sym.KeyId, GrantTokens: tk})
			return err
		},
		"GenerateDataKey": func(tk []string) error {
			_, err := b.GenerateDataKey(ctx, svc, &kmsapi.GenerateDataKeyRequest{KeyId: sym.KeyId, KeySpec: wire.Ptr("AES_256"), GrantTokens: tk})
			return err
		},
		"GenerateDataKeyWithoutPlaintext": func(tk []string) error {
			_, err := b.GenerateDataKeyWithoutPlaintext(ctx, svc, &kmsapi.GenerateDataKeyWithoutPlaintextRequest{KeyId: sym.KeyId, KeySpec: wire.Ptr("AES_256"), GrantTokens: tk})
			return err
		},
		"GenerateDataKeyPair": func(tk []string) error {
			_, err := b.GenerateDataKeyPair(ctx, svc, &kmsapi.GenerateDataKeyPairRequest{KeyId: sym.KeyId, KeyPairSpec: wire.Ptr("ECC_NIST_P256"), GrantTokens: tk})
			return err
		},
		"GenerateDataKeyPairWithoutPlaintext": func(tk []string) error {
			_, err := b.GenerateDataKeyPairWithoutPlaintext(ctx, svc, &kmsapi.GenerateDataKeyPairWithoutPlaintextRequest{KeyId: sym.KeyId, KeyPairSpec: wire.Ptr("ECC_NIST_P256"), GrantTokens: tk})
			return err
		},
		"DescribeKey": func(tk []string) error {
			_, err := b.DescribeKey(ctx, svc, &kmsapi.DescribeKeyRequest{KeyId: sym.KeyId, GrantTokens: tk})
			return err
		},
		"CreateGrant": func(tk []string) error {
			_, err := b.CreateGrant(ctx, svc, &kmsapi.CreateGrantRequest{KeyId: sym.Arn, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/third"),
				Operations: []string{"Decrypt"}, GrantTokens: tk, DryRun: wire.Ptr(true)})
			if code(err) == "DryRunOperationException" {
				return nil // authorized; b could not finish a write while it lags
			}
			return err
		},
		"GetPublicKey": func(tk []string) error {
			_, err := b.GetPublicKey(ctx, svc, &kmsapi.GetPublicKeyRequest{KeyId: rsa.KeyId, GrantTokens: tk})
			return err
		},
		"Sign": func(tk []string) error {
			_, err := b.Sign(ctx, svc, &kmsapi.SignRequest{KeyId: rsa.KeyId, Message: msg, SigningAlgorithm: wire.Ptr("RSASSA_PSS_SHA_256"), GrantTokens: tk})
			return err
		},
		"Verify": func(tk []string) error {
			_, err := b.Verify(ctx, svc, &kmsapi.VerifyRequest{KeyId: rsa.KeyId, Message: msg, Signature: sig.Signature, SigningAlgorithm: wire.Ptr("RSASSA_PSS_SHA_256"), GrantTokens: tk})
			return err
		},
		"GenerateMac": func(tk []string) error {
			_, err := b.GenerateMac(ctx, svc, &kmsapi.GenerateMacRequest{KeyId: hmac.KeyId, Message: msg, MacAlgorithm: wire.Ptr("HMAC_SHA_256"), GrantTokens: tk})
			return err
		},
		"VerifyMac": func(tk []string) error {
			_, err := b.VerifyMac(ctx, svc, &kmsapi.VerifyMacRequest{KeyId: hmac.KeyId, Message: msg, Mac: mac.Mac, MacAlgorithm: wire.Ptr("HMAC_SHA_256"), GrantTokens: tk})
			return err
		},
		"DeriveSharedSecret": func(tk []string) error {
			_, err := b.DeriveSharedSecret(ctx, svc, &kmsapi.DeriveSharedSecretRequest{KeyId: ecc.KeyId, KeyAgreementAlgorithm: wire.Ptr("ECDH"), PublicKey: peerDER, GrantTokens: tk})
			return err
		},
	}
	// The operations are exactly those whose request has GrantTokens.
	var want, have []string
	for name := range kmsapi.Operations {
		m, ok := reflect.TypeOf(b).MethodByName(name)
		if ok && m.Type.NumIn() == 4 && m.Type.In(3).Kind() == reflect.Pointer {
			if _, ok := m.Type.In(3).Elem().FieldByName("GrantTokens"); ok {
				want = append(want, name)
			}
		}
	}
	for name := range ops {
		have = append(have, name)
	}
	sort.Strings(want)
	sort.Strings(have)
	if !slices.Equal(want, have) {
		t.Fatalf("operations with GrantTokens %v, tested %v", want, have)
	}
	tokens := []string{symToken, rsaToken, hmacToken, eccToken}
	for _, name := range have {
		if err := ops[name](nil); code(err) != "AccessDeniedException" {
			t.Errorf("%s without a token on the lagging node: %v, want AccessDeniedException", name, err)
		}
		if err := ops[name](tokens); err != nil {
			t.Errorf("%s with the grant's token on the lagging node: %v", name, err)
		}
	}
}

// Grants made before tokens were sealed keep working with their tokens,
// which the store knows only by hash; a token that is neither is refused.
func TestGrantTokenFromBeforeSealedTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(t)
	old := "bGVnYWN5LXRva2VuLW9mLWEtZ3JhbnQtbWFkZS1iZWZvcmUtc2VhbGVkLXRva2Vucy14eHg"
	h := sha256.Sum256([]byte(old))
	rec := grantRecord{ID: strings.Repeat("ab", 32), KeyID: *k.KeyId, Account: "111122223333", Region: "us-east-1", Created: e.clock.Now(),
		Grantee: "arn:aws:iam::111122223333:user/svc", Issuing: "arn:aws:iam::111122223333:root", Ops: []string{"Encrypt", "RetireGrant"}, TokenHash: hex.EncodeToString(h[:]),
		// Bound to svc, as grants written since principals are bound are
		// (records from before binding are bound when KMS loads them).
		Bindings: map[string]string{"arn:aws:iam::111122223333:user/svc": iamUser(e.ids, "svc").EntityID()}}
	if err := e.s.commit(ctx, store.Txn{Puts: []store.KV{{Key: grantPath(rec.Account, rec.Region, rec.KeyID, rec.ID), Value: marshal(rec)}}}); err != nil {
		t.Fatal(err)
	}
	svc := userCaller(e, "svc")
	if _, err := e.s.Encrypt(ctx, svc, &kmsapi.EncryptRequest{KeyId: k.KeyId, Plaintext: []byte("x"), GrantTokens: []string{old}}); err != nil {
		t.Fatalf("Encrypt with an old grant's token: %v", err)
	}
	if _, err := e.s.Encrypt(ctx, svc, &kmsapi.EncryptRequest{KeyId: k.KeyId, Plaintext: []byte("x"), GrantTokens: []string{old + "x"}}); code(err) != "InvalidGrantTokenException" {
		t.Fatalf("Encrypt with an unknown token: %v, want InvalidGrantTokenException", err)
	}
	if _, err := e.s.RetireGrant(ctx, svc, &kmsapi.RetireGrantRequest{GrantToken: wire.Ptr(old)}); err != nil {
		t.Fatalf("RetireGrant with an old grant's token: %v", err)
	}
	if _, err := e.s.RetireGrant(ctx, svc, &kmsapi.RetireGrantRequest{GrantToken: wire.Ptr(old)}); code(err) != "InvalidGrantTokenException" {
		t.Fatalf("RetireGrant with the token of a retired old grant: %v, want InvalidGrantTokenException", err)
	}
}
