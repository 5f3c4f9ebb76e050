package iam

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

// An access key belongs to the user it was created for, not to the name: a
// user deleted and created again is a new entity with a new unique id (IAM
// User Guide, reference_identifiers: unique IDs), and a key left from the
// first (as the DeleteUser/CreateAccessKey race once left them) must not
// sign in as the second.
func TestAccessKeyIsBoundToItsUser(t *testing.T) {
	d, clk, root := newDirectory(t)
	ctx := context.Background()
	u := wire.Ptr("reborn")
	first, err := d.CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: u})
	if err != nil {
		t.Fatal(err)
	}
	k, err := d.CreateAccessKey(ctx, root, &iamapi.CreateAccessKeyRequest{UserName: u})
	if err != nil {
		t.Fatal(err)
	}
	id := *k.AccessKey.AccessKeyId
	if got, err := d.Identity(id); err != nil || got.UserID != *first.User.UserId {
		t.Fatalf("Identity of the first user's key = %+v, %v", got, err)
	}
	// Remove the user behind the key's back, as only a lost race could.
	if err := d.commit(ctx, store.Txn{Deletes: []string{entityKey("111122223333", userKind, "reborn")}}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	second, err := d.CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: u})
	if err != nil {
		t.Fatal(err)
	}
	if *second.User.UserId == *first.User.UserId {
		t.Fatal("the new user has the old one's unique id")
	}
	if got, err := d.Identity(id); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("the first user's key resolves to %+v, %v; want ErrNoIdentity", got, err)
	}

	// Keys stored before they recorded their user's id: one older than the
	// user cannot be its own; one newer is taken as the user's.
	legacy := func(id string, created time.Time) {
		t.Helper()
		kv, err := d.accessKeyKV("111122223333", "reborn", "", id, "secret")
		if err != nil {
			t.Fatal(err)
		}
		rec := accessKeyRecord{AccessKeyID: id, Account: "111122223333", UserName: "reborn", Status: "Active", Created: created.UTC()}
		kv.Value = mustJSON(rec)
		if err := d.commit(ctx, store.Txn{Puts: []store.KV{kv}}); err != nil {
			t.Fatal(err)
		}
	}
	legacy("AKIALEGACYOLDER00001", clk.Now().Add(-2*time.Minute))
	legacy("AKIALEGACYNEWER00001", clk.Now().Add(time.Second))
	if got, err := d.Identity("AKIALEGACYOLDER00001"); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("a legacy key older than its user resolves to %+v, %v", got, err)
	}
	if got, err := d.Identity("AKIALEGACYNEWER00001"); err != nil || got.UserID != *second.User.UserId {
		t.Fatalf("a legacy key newer than its user = %+v, %v", got, err)
	}
}

// A permissions boundary sets the most an identity may do (IAM User Guide,
// access_policies_boundaries); one that names a policy that cannot be found
// (as a lost DeletePolicy race once left) bounds everything to nothing
// rather than lifting the bound.
func TestMissingBoundaryAllowsNothing(t *testing.T) {
	d, _, root := newDirectory(t)
	ctx := context.Background()
	if _, err := d.CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: wire.Ptr("bounded")}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.PutUserPolicy(ctx, root, &iamapi.PutUserPolicyRequest{UserName: wire.Ptr("bounded"), PolicyName: wire.Ptr("all"),
		PolicyDocument: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	k, err := d.CreateAccessKey(ctx, root, &iamapi.CreateAccessKeyRequest{UserName: wire.Ptr("bounded")})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.authorize(callAs(t, d, *k.AccessKey.AccessKeyId), "iam:ListUsers", "arn:aws:iam::111122223333:user/*"); err != nil {
		t.Fatalf("unbounded user with an allow: %v", err)
	}
	// Point the boundary at a policy that is not there, behind IAM's back.
	key := entityKey("111122223333", userKind, "bounded")
	kv, err := d.st.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var u User
	if err := jsonUnmarshal(kv.Value, &u); err != nil {
		t.Fatal(err)
	}
	u.Boundary = "arn:aws:iam::111122223333:policy/gone"
	if err := d.commit(ctx, store.Txn{Puts: []store.KV{{Key: key, Value: mustJSON(u)}}}); err != nil {
		t.Fatal(err)
	}
	if err := d.authorize(callAs(t, d, *k.AccessKey.AccessKeyId), "iam:ListUsers", "arn:aws:iam::111122223333:user/*"); err == nil {
		t.Fatal("a user whose boundary policy is missing was allowed")
	}
}
