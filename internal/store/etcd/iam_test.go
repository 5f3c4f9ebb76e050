package etcd

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

// IAM's check-then-write transactions hold on etcd across nodes, each with
// its own client and in-memory view: DeleteUser refuses a user with access
// keys and CreateAccessKey keeps the quota of two (IAM API reference;
// IAM and AWS STS quotas), so racing them from two nodes never leaves a key
// of a deleted user nor a third key. (internal/iam runs the same races, and
// more, on bolt.)
func TestIAMWritesHoldAcrossNodes(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	sealer, _ := seal.New(key, rand.Reader)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var nodes []*iam.Directory
	var st *Store
	for i := 0; i < 2; i++ {
		s := open(t)
		st = s
		d, err := iam.New(ctx, s, sealer, iam.Options{})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); d.Run(ctx) }()
		nodes = append(nodes, d)
	}
	if _, err := nodes[0].Bootstrap(ctx, iam.Bootstrap{AccountID: "111122223333", AccessKeyID: "AKIAROOT", SecretAccessKey: "root-secret"}); err != nil {
		t.Fatal(err)
	}
	var roots []iam.Call
	for _, d := range nodes {
		eventually(t, "the node sees the root key", func() error { _, err := d.Identity("AKIAROOT"); return err })
		id, _ := d.Identity("AKIAROOT")
		roots = append(roots, iam.Call{Identity: id, Request: authz.Request{Time: time.Now()}})
	}
	// keysOf returns the user names of the stored access keys.
	keysOf := func() []string {
		kvs, _, err := st.Range(ctx, "iam/accesskeys/")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, kv := range kvs {
			var k struct{ UserName string }
			if err := json.Unmarshal(kv.Value, &k); err != nil {
				t.Fatal(err)
			}
			if k.UserName != "" {
				out = append(out, k.UserName)
			}
		}
		return out
	}
	lost := func(err error, codes ...string) bool {
		var we *wire.Error
		if err == nil {
			return false
		}
		if errors.As(err, &we) {
			for _, c := range codes {
				if we.Code == c {
					return true
				}
			}
		}
		t.Fatalf("unexpected error %v", err)
		return true
	}
	at := func(fs ...func() error) []error {
		errs := make([]error, len(fs))
		var start, done sync.WaitGroup
		start.Add(1)
		for i, f := range fs {
			done.Add(1)
			go func() { defer done.Done(); start.Wait(); errs[i] = f() }()
		}
		start.Done()
		done.Wait()
		return errs
	}

	u := wire.Ptr("racer")
	for i := 0; i < 30; i++ {
		if _, err := nodes[0].CreateUser(ctx, roots[0], &iamapi.CreateUserRequest{UserName: u}); err != nil {
			t.Fatal(err)
		}
		var made *iamapi.CreateAccessKeyResponse
		errs := at(
			func() error {
				_, err := nodes[0].DeleteUser(ctx, roots[0], &iamapi.DeleteUserRequest{UserName: u})
				return err
			},
			func() (err error) {
				made, err = nodes[1].CreateAccessKey(ctx, roots[1], &iamapi.CreateAccessKeyRequest{UserName: u})
				return err
			},
		)
		deleted, keyed := !lost(errs[0], "DeleteConflict", "ConcurrentModification"), !lost(errs[1], "NoSuchEntity", "ConcurrentModification")
		if deleted && keyed {
			t.Fatalf("round %d: DeleteUser and CreateAccessKey both succeeded", i)
		}
		if deleted && len(keysOf()) > 0 {
			t.Fatalf("round %d: a key outlives its deleted user", i)
		}
		if keyed {
			if _, err := nodes[0].DeleteAccessKey(ctx, roots[0], &iamapi.DeleteAccessKeyRequest{UserName: u, AccessKeyId: made.AccessKey.AccessKeyId}); err != nil {
				t.Fatal(err)
			}
		}
		if !deleted {
			if _, err := nodes[0].DeleteUser(ctx, roots[0], &iamapi.DeleteUserRequest{UserName: u}); err != nil {
				t.Fatal(err)
			}
		}
	}

	for i := 0; i < 10; i++ {
		name := "quota" + strings.Repeat("x", i)
		if _, err := nodes[0].CreateUser(ctx, roots[0], &iamapi.CreateUserRequest{UserName: wire.Ptr(name)}); err != nil {
			t.Fatal(err)
		}
		var fs []func() error
		for j := 0; j < 4; j++ {
			fs = append(fs, func() error {
				_, err := nodes[j%2].CreateAccessKey(ctx, roots[j%2], &iamapi.CreateAccessKeyRequest{UserName: wire.Ptr(name)})
				return err
			})
		}
		for _, err := range at(fs...) {
			lost(err, "LimitExceeded", "ConcurrentModification")
		}
		n := 0
		for _, owner := range keysOf() {
			if owner == name {
				n++
			}
		}
		if n > 2 {
			t.Fatalf("round %d: %s has %d access keys", i, name, n)
		}
	}
}
