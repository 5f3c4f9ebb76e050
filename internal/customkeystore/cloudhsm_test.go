package customkeystore

import (
	"bytes"
	"context"
	"testing"

	"github.com/trentkms/trent/internal/keystore/pkcs11"
	"github.com/trentkms/trent/internal/softhsmtest"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

const (
	cluster = "cluster-2345672345a"
	pin     = "kmsuser-pass"
)

// withClusters gives s a SoftHSM2 token as the cluster.
func withClusters(t *testing.T, s *Stores) {
	t.Helper()
	t.Setenv("SOFTHSM2_CONF", softhsmtest.Init(t, softhsmtest.Token{Label: "trent-cks", PIN: pin}))
	c, err := pkcs11.New([]pkcs11.Config{{ClusterID: cluster, Module: softhsmtest.Module, Token: "trent-cks"}}, pkcs11.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.clusters = c
	t.Cleanup(func() {
		for _, conn := range s.conns {
			conn.close()
		}
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
}

func createHSM(s *Stores, name, clusterID, anchor, password string) (*kmsapi.CreateCustomKeyStoreResponse, error) {
	return s.Create(context.Background(), alice, &kmsapi.CreateCustomKeyStoreRequest{CustomKeyStoreName: wire.Ptr(name),
		CloudHsmClusterId: wire.Ptr(clusterID), TrustAnchorCertificate: wire.Ptr(anchor), KeyStorePassword: wire.Ptr(password)}, nil)
}

// TestCloudHSMStore runs an AWS CloudHSM key store over a real PKCS#11
// token: the checks of Create, a password the token refuses recorded as
// FAILED, a new password while disconnected, and a connected store's
// token generating a key, doing AES-GCM under it and drawing random bytes.
func TestCloudHSMStore(t *testing.T) {
	s, _ := newStores(t)
	withClusters(t, s)
	ctx := context.Background()
	anchor := softhsmtest.TrustAnchor(t)

	if _, err := createHSM(s, "hsm", "cluster-1111111111a", anchor, pin); code(err) != "CloudHsmClusterNotFoundException" {
		t.Fatalf("Create over a cluster not configured = %v", err)
	}
	if _, err := createHSM(s, "hsm", cluster, "not a certificate", pin); code(err) != "IncorrectTrustAnchorException" {
		t.Fatalf("Create with a bad trust anchor = %v", err)
	}
	if _, err := s.Create(ctx, alice, &kmsapi.CreateCustomKeyStoreRequest{CustomKeyStoreName: wire.Ptr("hsm"), CloudHsmClusterId: wire.Ptr(cluster),
		TrustAnchorCertificate: wire.Ptr(anchor), KeyStorePassword: wire.Ptr(pin), XksProxyUriPath: wire.Ptr(proxyPath)}, nil); code(err) != "ValidationException" {
		t.Fatalf("Create with XksProxy parameters = %v", err)
	}
	created, err := createHSM(s, "hsm", cluster, anchor, "wrong-password")
	if err != nil {
		t.Fatal(err)
	}
	id := *created.CustomKeyStoreId
	if _, err := createHSM(s, "hsm2", cluster, anchor, pin); code(err) != "CloudHsmClusterInUseException" {
		t.Fatalf("Create over a cluster in use = %v", err)
	}

	if _, err := s.Connect(ctx, alice, id); err != nil {
		t.Fatalf("Connect with a password the token refuses = %v", err)
	}
	if r := s.Get(alice.Account, region, id); r.State != Failed || r.ErrorCode != "INVALID_CREDENTIALS" {
		t.Fatalf("after a refused login: %s %s", r.State, r.ErrorCode)
	}
	if _, err := s.Update(ctx, alice, &kmsapi.UpdateCustomKeyStoreRequest{CustomKeyStoreId: &id, KeyStorePassword: wire.Ptr(pin)}); code(err) != "CustomKeyStoreInvalidStateException" {
		t.Fatalf("a new password while FAILED = %v", err)
	}
	if _, err := s.Disconnect(ctx, alice, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, alice, &kmsapi.UpdateCustomKeyStoreRequest{CustomKeyStoreId: &id, KeyStorePassword: wire.Ptr(pin)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Connect(ctx, alice, id); err != nil || s.Get(alice.Account, region, id).State != Connected {
		t.Fatalf("Connect with the new password = %v", err)
	}

	r := s.Get(alice.Account, region, id)
	if _, err := s.ForNewKey(alice, &id, false); code(err) != "UnsupportedOperationException" {
		t.Fatalf("an asymmetric key in the store = %v", err)
	}
	if got, err := s.ForNewKey(alice, &id, true); err != nil || got.ID != id {
		t.Fatalf("ForNewKey = %v, %v", got, err)
	}
	label := Label("1234abcd-12ab-34cd-56ef-1234567890ab", "m1")
	if err := s.GenerateKey(ctx, r, label); err != nil {
		t.Fatal(err)
	}
	aead := s.Conn(region, id).AEAD(label)
	nonce := make([]byte, 12)
	ct, err := aead.Seal(nonce, []byte("in the token"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := aead.Open(nonce, ct, []byte("ad")); err != nil || !bytes.Equal(pt, []byte("in the token")) {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	if b, err := s.Random(ctx, alice, id, 32); err != nil || len(b) != 32 {
		t.Fatalf("Random = %d bytes, %v", len(b), err)
	}

	if _, err := s.Disconnect(ctx, alice, id); err != nil {
		t.Fatal(err)
	}
	if _, err := aead.Seal(nonce, []byte("x"), nil); err != errUnavailable {
		t.Fatalf("Seal after Disconnect = %v", err)
	}
	if _, err := s.Random(ctx, alice, id, 32); code(err) != "CustomKeyStoreInvalidStateException" {
		t.Fatalf("Random of a disconnected store = %v", err)
	}
}
