package kms

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/bolt"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	s      *Service
	clock  *clock
	caller Caller
	dbPath string
	// ids is the IAM directory on the same store, as the server wires it:
	// it resolves the users and roles key policies and grants name.
	ids    *iam.Directory
	st     store.Store
	sealer *seal.Sealer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, Options{})
}

// newEnvWith is newEnv with more options; the clock, sweep interval and
// Regions are newEnv's.
func newEnvWith(t testing.TB, o Options) *env {
	t.Helper()
	return newEnvOn(t, o, nil)
}

// newEnvOn is newEnvWith whose service uses the store through wrap, if not
// nil.
func newEnvOn(t testing.TB, o Options, wrap func(store.Store) store.Store) *env {
	t.Helper()
	dir := t.TempDir()
	bst, sealer, clk := newStore(t, dir)
	var st store.Store = bst
	if wrap != nil {
		st = wrap(bst)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	ids := newDirectory(t, ctx, st, sealer, clk, done)
	o.Now, o.SweepInterval, o.Regions = clk.Now, time.Hour, []string{"us-east-1", "eu-west-1"}
	if o.Principals == nil {
		o.Principals = ids
	}
	if o.Organization == nil {
		o.Organization = ids
	}
	s, err := New(ctx, st, sealer, o)
	if err != nil {
		t.Fatal(err)
	}
	go func() { s.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done; st.Close() })
	// In-process callers say who they are: a Caller without an identity is refused.
	root := &authz.Identity{Principal: authz.Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:root", Type: authz.RootType, UserID: "111122223333"}}
	return &env{s: s, clock: clk, caller: Caller{Account: "111122223333", ARN: root.ARN, Region: "us-east-1", Identity: root}, dbPath: filepath.Join(dir, "trent.db"),
		ids: ids, st: st, sealer: sealer}
}

// newStore opens a bolt store in dir, with a sealer of a random root key
// and a clock at the tests' start, 2026-01-01; the caller closes the store.
func newStore(t testing.TB, dir string) (*bolt.DB, *seal.Sealer, *clock) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(dir, "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	sealer, err := seal.New(key, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return st, sealer, &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// newDirectory loads an IAM directory on st with the test account, its root
// access key AKIAROOT and fixtureUsers, and runs it until ctx ends, then
// sends on done.
func newDirectory(t testing.TB, ctx context.Context, st store.Store, sealer *seal.Sealer, clk *clock, done chan<- struct{}) *iam.Directory {
	t.Helper()
	ids, err := iam.New(ctx, st, sealer, iam.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ids.Bootstrap(ctx, iam.Bootstrap{AccountID: "111122223333", AccessKeyID: "AKIAROOT", SecretAccessKey: "root-secret"}); err != nil {
		t.Fatal(err)
	}
	go func() { ids.Run(ctx); done <- struct{}{} }()
	for _, name := range fixtureUsers {
		iamUser(ids, name)
	}
	root, err := ids.Identity("AKIAROOT")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range fixtureRoles {
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`
		if _, err := ids.CreateRole(ctx, iam.Call{Identity: root}, &iamapi.CreateRoleRequest{RoleName: wire.Ptr(name), AssumeRolePolicyDocument: wire.Ptr(trust)}); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// fixtureRoles are the IAM roles the tests of this package name as grantees
// or retiring principals: CreateGrant refuses a role that does not exist.
var fixtureRoles = []string{"adminRole"}

// fixtureUsers are the IAM users that the tests of this package name in key
// policies and grants, often before they act: AWS refuses a key policy
// naming a principal that does not exist, and binds a grant to the user
// that exists when it is created.
var fixtureUsers = []string{"admin", "anotherUser", "app", "exampleUser", "g", "mallory", "r", "svc", "third"}

// iamUser is the identity of an IAM user of the test account, created in
// ids if it does not exist yet: key policies and grants name users that
// exist, and bind to them.
func iamUser(ids *iam.Directory, name string) *authz.Identity {
	arn := "arn:aws:iam::111122223333:user/" + name
	if _, ok := ids.PrincipalID(arn); !ok {
		root, err := ids.Identity("AKIAROOT")
		if err != nil {
			panic(err)
		}
		if _, err := ids.CreateUser(context.Background(), iam.Call{Identity: root}, &iamapi.CreateUserRequest{UserName: wire.Ptr(name)}); err != nil {
			panic(err)
		}
	}
	id, err := ids.IdentityForARN(arn)
	if err != nil {
		panic(err)
	}
	return id
}

func (e *env) createKey(t *testing.T) *kmsapi.KeyMetadata {
	t.Helper()
	out, err := e.s.CreateKey(context.Background(), e.caller, &kmsapi.CreateKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return out.KeyMetadata
}

func code(err error) string {
	var we *wire.Error
	if errors.As(err, &we) {
		return we.Code
	}
	return ""
}

func TestSweeperDeletesDueKeysAndTheirAliases(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	doomed, kept := e.createKey(t), e.createKey(t)
	for name, id := range map[string]*string{"alias/doomed": doomed.KeyId, "alias/kept": kept.KeyId} {
		if _, err := e.s.CreateAlias(ctx, e.caller, &kmsapi.CreateAliasRequest{AliasName: wire.Ptr(name), TargetKeyId: id}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if _, err := e.s.CreateGrant(ctx, e.caller, &kmsapi.CreateGrantRequest{KeyId: doomed.KeyId, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/g"), Operations: []string{"Encrypt"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: doomed.KeyId, PendingWindowInDays: wire.Ptr(int32(7))}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(7*day - time.Second)
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.DescribeKey(ctx, e.caller, &kmsapi.DescribeKeyRequest{KeyId: doomed.KeyId}); err != nil {
		t.Fatalf("key deleted a second before its deletion date: %v", err)
	}
	e.clock.Add(time.Second)
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.DescribeKey(ctx, e.caller, &kmsapi.DescribeKeyRequest{KeyId: doomed.KeyId})
	if code(err) != "NotFoundException" {
		t.Fatalf("DescribeKey after the deletion date: %v, want NotFoundException", err)
	}
	aliases, err := e.s.ListAliases(ctx, e.caller, &kmsapi.ListAliasesRequest{})
	if err != nil || len(aliases.Aliases) != 1 || *aliases.Aliases[0].AliasName != "alias/kept" {
		t.Fatalf("aliases after deletion = %+v, %v; want only alias/kept", aliases, err)
	}
	if len(e.s.view.mats) != 1 {
		t.Fatalf("deleted key's material still loaded: %d keys have material", len(e.s.view.mats))
	}
	kvs, _, err := e.s.st.Range(ctx, regionPrefix("111122223333", "us-east-1")+"grants/"+*doomed.KeyId+"/")
	if err != nil || len(kvs) != 0 {
		t.Fatalf("grants of the deleted key left in the store: %d, %v", len(kvs), err)
	}
}

func TestScheduledRotation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(t)
	old, err := e.s.Encrypt(ctx, e.caller, &kmsapi.EncryptRequest{KeyId: k.KeyId, Plaintext: []byte("v1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.EnableKeyRotation(ctx, e.caller, &kmsapi.EnableKeyRotationRequest{KeyId: k.KeyId, RotationPeriodInDays: wire.Ptr(int32(90))}); err != nil {
		t.Fatal(err)
	}
	st, _ := e.s.GetKeyRotationStatus(ctx, e.caller, &kmsapi.GetKeyRotationStatusRequest{KeyId: k.KeyId})
	if want := e.clock.Now().Add(90 * day); !st.NextRotationDate.Time().Equal(want) {
		t.Fatalf("NextRotationDate = %v, want %v", st.NextRotationDate.Time(), want)
	}
	e.clock.Add(89 * day)
	e.s.Tick(ctx)
	if d, _ := e.s.DescribeKey(ctx, e.caller, &kmsapi.DescribeKeyRequest{KeyId: k.KeyId}); *d.KeyMetadata.CurrentKeyMaterialId != *k.CurrentKeyMaterialId {
		t.Fatal("rotated before the rotation date")
	}
	e.clock.Add(day)
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	d, _ := e.s.DescribeKey(ctx, e.caller, &kmsapi.DescribeKeyRequest{KeyId: k.KeyId})
	if *d.KeyMetadata.CurrentKeyMaterialId == *k.CurrentKeyMaterialId {
		t.Fatal("not rotated on the rotation date")
	}
	rots, _ := e.s.ListKeyRotations(ctx, e.caller, &kmsapi.ListKeyRotationsRequest{KeyId: k.KeyId})
	if len(rots.Rotations) != 1 || *rots.Rotations[0].RotationType != "AUTOMATIC" {
		t.Fatalf("ListKeyRotations = %+v", rots.Rotations)
	}
	st, _ = e.s.GetKeyRotationStatus(ctx, e.caller, &kmsapi.GetKeyRotationStatusRequest{KeyId: k.KeyId})
	if want := e.clock.Now().Add(90 * day); !st.NextRotationDate.Time().Equal(want) {
		t.Fatalf("next NextRotationDate = %v, want %v", st.NextRotationDate.Time(), want)
	}
	pt, err := e.s.Decrypt(ctx, e.caller, &kmsapi.DecryptRequest{CiphertextBlob: old.CiphertextBlob})
	if err != nil || string(pt.Plaintext) != "v1" {
		t.Fatalf("old ciphertext after scheduled rotation: %v", err)
	}
	// A disabled key is not rotated when its date comes.
	e.s.DisableKey(ctx, e.caller, &kmsapi.DisableKeyRequest{KeyId: k.KeyId})
	e.clock.Add(91 * day)
	e.s.Tick(ctx)
	rots, _ = e.s.ListKeyRotations(ctx, e.caller, &kmsapi.ListKeyRotationsRequest{KeyId: k.KeyId})
	if len(rots.Rotations) != 1 {
		t.Fatalf("a disabled key was rotated: %d rotations", len(rots.Rotations))
	}
}

// The store must never hold key material in plaintext: read the database file
// and look for every version of every key's material.
func TestNoPlaintextMaterialInStore(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		k := e.createKey(t)
		e.s.RotateKeyOnDemand(ctx, e.caller, &kmsapi.RotateKeyOnDemandRequest{KeyId: k.KeyId})
	}
	db, err := os.ReadFile(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	kvs, _, err := e.s.st.Range(ctx, "acct/")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, kv := range kvs {
		p, ok := parsePath(kv.Key)
		if !ok || p.kind != "material" {
			continue
		}
		var rec materialRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			t.Fatal(err)
		}
		raw, err := e.s.sealer.Open(rec.Sealed, e.s.materialAAD(p.account, p.region, p.id, p.sub))
		if err != nil || len(raw) != 32 {
			t.Fatalf("material %s does not open: %v", kv.Key, err)
		}
		found++
		if bytes.Contains(db, raw) {
			t.Fatalf("material %s appears in plaintext in the store file", kv.Key)
		}
	}
	if found != 6 {
		t.Fatalf("checked %d materials, want 6", found)
	}
}

func TestConcurrentUpdatesAllLand(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(t)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := e.s.TagResource(ctx, e.caller, &kmsapi.TagResourceRequest{KeyId: k.KeyId, Tags: []kmsapi.Tag{{TagKey: wire.Ptr(string(rune('a' + i))), TagValue: wire.Ptr("v")}}})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	tags, _ := e.s.ListResourceTags(ctx, e.caller, &kmsapi.ListResourceTagsRequest{KeyId: k.KeyId})
	if len(tags.Tags) != 10 {
		t.Fatalf("%d of 10 concurrent TagResource calls landed", len(tags.Tags))
	}
}
