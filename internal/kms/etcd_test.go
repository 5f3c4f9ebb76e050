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
	cl := newEtcdCluster(t)
	ctx, clk := cl.ctx, cl.clk
	stA := cl.open()
	a := cl.node(stA)
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
	b := cl.node(cl.open())
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

// etcdCluster is a one-member embedded etcd cluster and what the Trent
// nodes a test runs on it share: the root key's sealer and the clock.
type etcdCluster struct {
	t      *testing.T
	ctx    context.Context
	cancel context.CancelFunc
	c      *etcdtest.Cluster
	sealer *seal.Sealer
	clk    *clock
}

func newEtcdCluster(t *testing.T) *etcdCluster {
	c := etcdtest.Start(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	root := make([]byte, 32)
	rand.Read(root)
	sealer, err := seal.New(root, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &etcdCluster{t: t, ctx: ctx, cancel: cancel, c: c, sealer: sealer, clk: &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
}

// open connects a store to the cluster, closed when the test ends.
func (e *etcdCluster) open() *etcd.Store {
	st, err := etcd.Open(e.ctx, e.c.Endpoints(), etcd.Options{Prefix: "/trent/", DialTimeout: 5 * time.Second})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	return st
}

// node starts a KMS service on st, running (following the store) until
// the test ends.
func (e *etcdCluster) node(st *etcd.Store) *Service {
	s, err := New(e.ctx, st, e.sealer, Options{Now: e.clk.Now, SweepInterval: time.Hour})
	if err != nil {
		e.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Run(e.ctx); close(done) }()
	e.t.Cleanup(func() { e.cancel(); <-done })
	return s
}
