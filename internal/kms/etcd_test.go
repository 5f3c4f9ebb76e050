package kms

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/etcd"
	"github.com/trentkms/trent/internal/store/etcd/etcdtest"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// Two nodes on one etcd cluster: a key made on one is loaded by the other
// on its first use there, follows its rotation, and is gone there once its
// deletion reaches that node's view.
func TestLazyViewAcrossEtcdNodes(t *testing.T) {
	c := etcdtest.Start(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := make([]byte, 32)
	rand.Read(root)
	sealer, err := seal.New(root, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	node := func() (*Service, *etcd.Store) {
		st, err := etcd.Open(ctx, c.Endpoints(), etcd.Options{Prefix: "/trent/", DialTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		s, err := New(ctx, st, sealer, Options{Now: clk.Now, SweepInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		return s, st
	}
	a, stA := node()
	who := &authz.Identity{Principal: authz.Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:root", Type: authz.RootType, UserID: "111122223333"}}
	caller := Caller{Account: "111122223333", ARN: who.ARN, Region: "us-east-1", Identity: who}
	out, err := a.CreateKey(ctx, caller, &kmsapi.CreateKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	id := out.KeyMetadata.KeyId
	enc, err := a.Encrypt(ctx, caller, &kmsapi.EncryptRequest{KeyId: id, Plaintext: []byte("across")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := node()
	if n := b.view.loadedKeys(); n != 0 {
		t.Fatalf("node B loaded %d keys at start", n)
	}
	dec, err := b.Decrypt(ctx, caller, &kmsapi.DecryptRequest{CiphertextBlob: enc.CiphertextBlob})
	if err != nil || string(dec.Plaintext) != "across" {
		t.Fatalf("node B's Decrypt of node A's ciphertext: %v", err)
	}
	// A rotation on A: B, which has the key loaded, follows it.
	if _, err := a.RotateKeyOnDemand(ctx, caller, &kmsapi.RotateKeyOnDemandRequest{KeyId: id}); err != nil {
		t.Fatal(err)
	}
	// waitFor waits until s's view has every write made so far (a write
	// outside its prefix advances it only by a progress notification).
	waitFor := func(s *Service) {
		t.Helper()
		rev, err := stA.Revision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for s.follower.Applied() < rev {
			if time.Now().After(deadline) {
				t.Fatalf("node's view never reached revision %d", rev)
			}
			if err := stA.RequestProgress(ctx); err != nil {
				t.Fatal(err)
			}
			wctx, wcancel := context.WithTimeout(ctx, time.Second)
			s.follower.Wait(wctx, rev)
			wcancel()
		}
	}
	waitFor(b)
	current := a.view.testKey("us-east-1", *id).rec.CurrentMaterial
	encB, err := b.Encrypt(ctx, caller, &kmsapi.EncryptRequest{KeyId: id, Plaintext: []byte("after")})
	if err != nil {
		t.Fatal(err)
	}
	if mid, err := keys.BlobMaterialID(encB.CiphertextBlob); err != nil || mid.String() != current {
		t.Fatalf("node B encrypted under material %v (%v), want the rotated %s", mid, err, current)
	}
	// A deletion on A: gone on B once B's view has it.
	if _, err := a.ScheduleKeyDeletion(ctx, caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: id, PendingWindowInDays: wire.Ptr(int32(7))}); err != nil {
		t.Fatal(err)
	}
	clk.Add(8 * 24 * time.Hour)
	if err := a.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := stA.Get(ctx, keyIndexPath("111122223333", "us-east-1", *id)); err != store.ErrNotFound {
		t.Fatalf("index record after the deletion: %v", err)
	}
	waitFor(b)
	if _, err := b.DescribeKey(ctx, caller, &kmsapi.DescribeKeyRequest{KeyId: id}); code(err) != "NotFoundException" {
		t.Fatalf("node B's DescribeKey of the deleted key: %v", err)
	}
	if n := b.KeyCount(); n != 0 {
		t.Fatalf("node B counts %d keys", n)
	}
}
