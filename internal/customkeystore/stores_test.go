package customkeystore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/trentkms/trent/internal/keystore/xks"
	"github.com/trentkms/trent/internal/keystore/xks/xksproxy"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/bolt"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

const (
	region    = "us-east-1"
	proxyPath = "/example/prefix/kms/xks/v1"
)

var (
	alice = Caller{Account: "111122223333", Region: region, ARN: "arn:aws:iam::111122223333:root", RequestID: "r-1"}
	cred  = xks.Credential{AccessKeyID: "ABCDEFGHIJKLMNOPQRST234567", Secret: "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6"}
)

// host commits to a real store and follows what it wrote into the Stores,
// as kms's view does; keys are the KMS keys KeyIn reports.
type host struct {
	st     store.Store
	stores *Stores
	mu     sync.Mutex
	keys   map[string]string // store id → a key ARN in it
}

func (h *host) Commit(ctx context.Context, txn store.Txn) error {
	if _, err := h.st.Txn(ctx, txn); err != nil {
		return err
	}
	for _, kv := range txn.Puts {
		p := strings.Split(kv.Key, "/")
		if err := h.stores.Put(p[3], p[5], kv.Value); err != nil {
			return err
		}
	}
	for _, k := range txn.Deletes {
		p := strings.Split(k, "/")
		h.stores.Remove(p[3], p[5])
	}
	return nil
}

func (h *host) CommitNew(ctx context.Context, _, _ string, txn store.Txn) error {
	return h.Commit(ctx, txn)
}

func (h *host) KeyIn(_, _, id, _ string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.keys[id]
}

func newStores(t *testing.T) (*Stores, *host) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	sealer, err := seal.New(key, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := &host{st: st, keys: map[string]string{}}
	s, err := New(st, sealer, h, Options{Rand: rand.Reader, NewID: func() (string, error) { return "00000000-0000-4000-8000-000000000001", nil }})
	if err != nil {
		t.Fatal(err)
	}
	h.stores = s
	return s, h
}

// newProxy is a real XKS proxy over loopback HTTP.
func newProxy(t *testing.T) (*xksproxy.Proxy, string) {
	t.Helper()
	p, err := xksproxy.New(xksproxy.Config{URIPath: proxyPath, Region: region, Credentials: []xks.Credential{cred}}, xksproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL
}

func createXKS(s *Stores, name, endpoint, secret string) (*kmsapi.CreateCustomKeyStoreResponse, error) {
	return s.Create(context.Background(), alice, &kmsapi.CreateCustomKeyStoreRequest{
		CustomKeyStoreName: wire.Ptr(name), CustomKeyStoreType: wire.Ptr(TypeExternal), XksProxyConnectivity: wire.Ptr("PUBLIC_ENDPOINT"),
		XksProxyUriEndpoint: wire.Ptr(endpoint), XksProxyUriPath: wire.Ptr(proxyPath),
		XksProxyAuthenticationCredential: &kmsapi.XksProxyAuthenticationCredentialType{AccessKeyId: wire.Ptr(cred.AccessKeyID), RawSecretAccessKey: wire.Ptr(secret)},
	}, nil)
}

func code(err error) string {
	var we *wire.Error
	if errors.As(err, &we) {
		return we.Code
	}
	if err == nil {
		return ""
	}
	return "internal: " + err.Error()
}

// TestExternalStoreLifecycle runs an external key store through the six
// operations against a real proxy, with the errors of each rule.
func TestExternalStoreLifecycle(t *testing.T) {
	s, h := newStores(t)
	_, endpoint := newProxy(t)
	ctx := context.Background()

	if _, err := createXKS(s, "ext", endpoint, strings.Repeat("A", 44)); code(err) != "XksProxyIncorrectAuthenticationCredentialException" {
		t.Fatalf("Create with a secret the proxy refuses = %v", err)
	}
	created, err := createXKS(s, "ext", endpoint, cred.Secret)
	if err != nil {
		t.Fatal(err)
	}
	id := *created.CustomKeyStoreId
	if _, err := createXKS(s, "ext", endpoint, cred.Secret); code(err) != "CustomKeyStoreNameInUseException" {
		t.Fatalf("Create with a name in use = %v", err)
	}
	if _, err := createXKS(s, "other", endpoint, cred.Secret); code(err) != "XksProxyUriInUseException" {
		t.Fatalf("Create with a URI in use = %v", err)
	}

	list, err := s.Describe(alice, &id, nil)
	if err != nil || len(list) != 1 {
		t.Fatalf("Describe = %v, %v", list, err)
	}
	e := Entry(list[0])
	if *e.ConnectionState != Disconnected || e.CloudHsmClusterId != nil || e.XksProxyConfiguration == nil ||
		*e.XksProxyConfiguration.UriEndpoint != endpoint || *e.XksProxyConfiguration.AccessKeyId != cred.AccessKeyID {
		t.Fatalf("entry %+v", e)
	}
	if b, _ := json.Marshal(e); strings.Contains(string(b), cred.Secret) {
		t.Fatal("the entry shows the proxy secret")
	}
	if list[0].XksSecret == nil || strings.Contains(string(list[0].XksSecret), cred.Secret) {
		t.Fatal("the record holds the secret unsealed")
	}
	bob := Caller{Account: "444455556666", Region: region}
	if _, err := s.Connect(ctx, bob, id); code(err) != "CustomKeyStoreNotFoundException" {
		t.Fatalf("Connect from another account = %v", err)
	}

	if _, err := s.Connect(ctx, alice, id); err != nil {
		t.Fatal(err)
	}
	if r := s.Get(alice.Account, region, id); r.State != Connected || s.Conn(region, id).XKS() == nil {
		t.Fatalf("after Connect: %s, client %v", r.State, s.Conn(region, id).XKS())
	}
	if _, err := s.Update(ctx, alice, &kmsapi.UpdateCustomKeyStoreRequest{CustomKeyStoreId: &id, XksProxyUriPath: wire.Ptr("/other/kms/xks/v1")}); code(err) != "CustomKeyStoreInvalidStateException" {
		t.Fatalf("Update of the proxy while connected = %v", err)
	}
	if _, err := s.Update(ctx, alice, &kmsapi.UpdateCustomKeyStoreRequest{CustomKeyStoreId: &id, NewCustomKeyStoreName: wire.Ptr("renamed")}); err != nil {
		t.Fatalf("rename while connected: %v", err)
	}
	if _, err := s.Delete(ctx, alice, id); code(err) != "CustomKeyStoreInvalidStateException" {
		t.Fatalf("Delete while connected = %v", err)
	}
	if _, err := s.Disconnect(ctx, alice, id); err != nil {
		t.Fatal(err)
	}
	if s.Conn(region, id).Connected() {
		t.Fatal("connected after Disconnect")
	}
	h.keys[id] = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	if _, err := s.Delete(ctx, alice, id); code(err) != "CustomKeyStoreHasCMKsException" {
		t.Fatalf("Delete of a store with keys = %v", err)
	}
	delete(h.keys, id)
	if _, err := s.Delete(ctx, alice, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Describe(alice, &id, nil); code(err) != "CustomKeyStoreNotFoundException" {
		t.Fatalf("Describe after Delete = %v", err)
	}
}

// TestConnectFailureIsRecorded: a proxy that cannot serve is no error of
// ConnectCustomKeyStore: the store becomes FAILED with the code, and must
// be disconnected before it connects again.
func TestConnectFailureIsRecorded(t *testing.T) {
	s, _ := newStores(t)
	p, endpoint := newProxy(t)
	ctx := context.Background()
	created, err := createXKS(s, "ext", endpoint, cred.Secret)
	if err != nil {
		t.Fatal(err)
	}
	id := *created.CustomKeyStoreId
	p.SetEKMHealth(xks.EKMUnavailable)
	if _, err := s.Connect(ctx, alice, id); err != nil {
		t.Fatalf("Connect = %v", err)
	}
	r := s.Get(alice.Account, region, id)
	if r.State != Failed || r.ErrorCode != "XKS_PROXY_NOT_REACHABLE" || s.Conn(region, id).Connected() {
		t.Fatalf("after a failed Connect: %s %s", r.State, r.ErrorCode)
	}
	if _, err := s.Connect(ctx, alice, id); code(err) != "CustomKeyStoreInvalidStateException" {
		t.Fatalf("Connect of a FAILED store = %v", err)
	}
	p.SetEKMHealth(xks.EKMActive)
	if _, err := s.Disconnect(ctx, alice, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Connect(ctx, alice, id); err != nil || s.Get(alice.Account, region, id).State != Connected {
		t.Fatalf("Connect after Disconnect = %v", err)
	}
}

// TestReconnectFollowsRecords: a node that did not handle Connect (here,
// Stores over the same records with no connection) connects on Reconnect,
// and disconnects once the record says DISCONNECTED.
func TestReconnectFollowsRecords(t *testing.T) {
	s, h := newStores(t)
	_, endpoint := newProxy(t)
	ctx := context.Background()
	created, err := createXKS(s, "ext", endpoint, cred.Secret)
	if err != nil {
		t.Fatal(err)
	}
	id := *created.CustomKeyStoreId
	if _, err := s.Connect(ctx, alice, id); err != nil {
		t.Fatal(err)
	}
	other, err := New(h.st, s.sealer, h, Options{Rand: rand.Reader, NewID: s.newID})
	if err != nil {
		t.Fatal(err)
	}
	kv, err := h.st.Get(ctx, Path(alice.Account, region, id))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Put(region, id, kv.Value); err != nil {
		t.Fatal(err)
	}
	if err := other.Reconnect(ctx); err != nil || !other.Conn(region, id).Connected() {
		t.Fatalf("Reconnect of a CONNECTED record: %v", err)
	}
	rec := *other.Get(alice.Account, region, id)
	rec.State = Disconnected
	if err := other.Put(region, id, marshal(&rec)); err != nil {
		t.Fatal(err)
	}
	if err := other.Reconnect(ctx); err != nil || other.Conn(region, id).Connected() {
		t.Fatalf("Reconnect of a DISCONNECTED record: %v", err)
	}
}
