package iam

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/sigv4"
	"github.com/trentkms/trent/internal/store/bolt"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

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

func newDirectory(t *testing.T) (*Directory, *clock, Call) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	sealer, _ := seal.New(key, rand.Reader)
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := New(ctx, st, sealer, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	b, err := d.Bootstrap(ctx, Bootstrap{AccountID: "111122223333", AccessKeyID: "AKIAROOT", SecretAccessKey: "root-secret"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := d.Identity(b.AccessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	return d, clk, Call{Identity: id, Request: authz.Request{Time: clk.Now()}}
}

func TestBootstrapIsIdempotentAndRefusesAnotherSecret(t *testing.T) {
	d, _, _ := newDirectory(t)
	ctx := context.Background()
	again, err := d.Bootstrap(ctx, Bootstrap{AccountID: "111122223333", AccessKeyID: "AKIAROOT", SecretAccessKey: "root-secret"})
	if err != nil || again.CreatedAccount || again.CreatedKey {
		t.Fatalf("second Bootstrap = %+v, %v; want nothing created", again, err)
	}
	if _, err := d.Bootstrap(ctx, Bootstrap{AccessKeyID: "AKIAROOT", SecretAccessKey: "other"}); !errors.Is(err, ErrSecretMismatch) {
		t.Fatalf("Bootstrap with another secret: %v, want ErrSecretMismatch", err)
	}
	if _, err := d.Bootstrap(ctx, Bootstrap{AccountID: "999999999999"}); err == nil {
		t.Fatal("Bootstrap accepted another account id for an existing data directory")
	}
}

// Temporary credentials stop working at their expiration, with STS's
// ExpiredToken, and are then purged.
func TestSessionExpires(t *testing.T) {
	d, clk, root := newDirectory(t)
	ctx := context.Background()
	out, err := d.GetSessionToken(ctx, root, &stsapi.GetSessionTokenRequest{DurationSeconds: wire.Ptr(int32(900))})
	if err != nil {
		t.Fatal(err)
	}
	id := *out.Credentials.AccessKeyId
	c, err := d.Secret(ctx, id)
	if err != nil || c.Secret != *out.Credentials.SecretAccessKey || c.SessionToken != *out.Credentials.SessionToken {
		t.Fatalf("Secret of a fresh session = %+v, %v", c, err)
	}
	clk.Add(899 * time.Second)
	if _, err := d.Secret(ctx, id); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	clk.Add(time.Second)
	if _, err := d.Secret(ctx, id); !errors.Is(err, sigv4.ErrExpiredToken) {
		t.Fatalf("at expiry: %v, want ErrExpiredToken", err)
	}
	if err := d.purgeSessions(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Secret(ctx, id); !errors.Is(err, sigv4.ErrUnknownAccessKey) {
		t.Fatalf("after purge: %v, want ErrUnknownAccessKey", err)
	}
}

// A service-linked role still used by its service's resources is not
// deleted: the task fails and names the Regions and resources.
func TestServiceLinkedRoleInUseIsKept(t *testing.T) {
	d, _, root := newDirectory(t)
	ctx := context.Background()
	if err := d.EnsureServiceLinkedRole(ctx, root, CustomKeyStoresService); err != nil {
		t.Fatal(err)
	}
	if err := d.EnsureServiceLinkedRole(ctx, root, CustomKeyStoresService); err != nil {
		t.Fatalf("EnsureServiceLinkedRole is not idempotent: %v", err)
	}
	inUse := true
	d.SetRoleUsage(func(_ context.Context, account, service string) ([]RoleUsage, error) {
		if inUse && account == "111122223333" && service == CustomKeyStoresService {
			return []RoleUsage{{Region: "us-east-1", Resources: []string{"cks-1234567890abcdef0"}}}, nil
		}
		return nil, nil
	})
	name := "AWSServiceRoleForKeyManagementServiceCustomKeyStores"
	del, err := d.DeleteServiceLinkedRole(ctx, root, &iamapi.DeleteServiceLinkedRoleRequest{RoleName: wire.Ptr(name)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.GetServiceLinkedRoleDeletionStatus(ctx, root, &iamapi.GetServiceLinkedRoleDeletionStatusRequest{DeletionTaskId: del.DeletionTaskId})
	if err != nil || *st.Status != "FAILED" || len(st.Reason.RoleUsageList) != 1 || st.Reason.RoleUsageList[0].Resources[0] != "cks-1234567890abcdef0" {
		t.Fatalf("deletion status while in use = %+v, %v", st, err)
	}
	if _, ok := d.Role("111122223333", name); !ok {
		t.Fatal("a service-linked role in use was deleted")
	}
	inUse = false
	del, _ = d.DeleteServiceLinkedRole(ctx, root, &iamapi.DeleteServiceLinkedRoleRequest{RoleName: wire.Ptr(name)})
	st, _ = d.GetServiceLinkedRoleDeletionStatus(ctx, root, &iamapi.GetServiceLinkedRoleDeletionStatusRequest{DeletionTaskId: del.DeletionTaskId})
	if *st.Status != "SUCCEEDED" {
		t.Fatalf("deletion when unused = %s", *st.Status)
	}
	if _, ok := d.Role("111122223333", name); ok {
		t.Fatal("the unused service-linked role was not deleted")
	}
}

func TestAccessKeyShapes(t *testing.T) {
	d, _, _ := newDirectory(t)
	for i := 0; i < 20; i++ {
		id, secret, err := d.newAccessKey("AKIA")
		if err != nil || len(id) != 20 || id[:4] != "AKIA" || len(secret) != 40 {
			t.Fatalf("newAccessKey = %q, %d-char secret, %v", id, len(secret), err)
		}
	}
}
