package iam

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/bolt"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/orgapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

// Every check-then-write of IAM and Organizations holds under concurrency:
// the checks and the write are one store transaction, so two requests that
// each pass their checks alone cannot both commit when together they break
// the rule (IAM and AWS STS quotas; DeleteUser, DeleteGroup and DeletePolicy
// refuse entities still in use, IAM API reference). The races run many
// times on a real bolt store, on one node and across two nodes (two
// Directories with their own views over one store, as in a cluster), and the
// invariant is checked after every round.

const races = 60

// cluster is n Directories over one bolt store: the nodes of a deployment.
func cluster(t *testing.T, n int) ([]*Directory, store.Store, Call) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	sealer, _ := seal.New(key, rand.Reader)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait(); st.Close() })
	var ds []*Directory
	for i := 0; i < n; i++ {
		d, err := New(ctx, st, sealer, Options{})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); d.Run(ctx) }()
		ds = append(ds, d)
	}
	b, err := ds[0].Bootstrap(ctx, Bootstrap{AccountID: "111122223333", AccessKeyID: "AKIAROOT", SecretAccessKey: "root-secret"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		waitFor(t, func() bool { _, err := d.Identity(b.AccessKeyID); return err == nil })
	}
	id, _ := ds[0].Identity(b.AccessKeyID)
	return ds, st, Call{Identity: id, Request: authz.Request{Time: time.Now()}}
}

func waitFor(t *testing.T, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !f(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// together runs fs at once and returns their errors.
func together(fs ...func() error) []error {
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

// records returns the store's records under prefix, decoded.
func records[T any](t *testing.T, st store.Store, prefix string) []T {
	t.Helper()
	kvs, _, err := st.Range(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for _, kv := range kvs {
		var v T
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			t.Fatalf("%s: %v", kv.Key, err)
		}
		out = append(out, v)
	}
	return out
}

// expected fails on an error that is not one of the answers the losing side
// of a race may get.
func expected(t *testing.T, what string, err error, codes ...string) {
	t.Helper()
	if err == nil {
		return
	}
	var we *wire.Error
	if errors.As(err, &we) {
		for _, c := range codes {
			if we.Code == c {
				return
			}
		}
	}
	t.Fatalf("%s: unexpected error %v", what, err)
}

// pick spreads calls over the nodes: on one node when there is one, and on
// alternate nodes otherwise.
func pick(ds []*Directory, i int) *Directory { return ds[i%len(ds)] }

func forNodes(t *testing.T, f func(t *testing.T, ds []*Directory, st store.Store, root Call)) {
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d nodes", n), func(t *testing.T) {
			ds, st, root := cluster(t, n)
			f(t, ds, st, root)
		})
	}
}

// DeleteUser refuses a user with access keys ("Cannot delete entity, must
// delete access keys first."); racing CreateAccessKey, one of the two must
// lose, or a key outlives its user and signs in as the next user of that
// name. And never more than two keys (IAM quota AccessKeysPerUser: 2).
func TestRaceDeleteUserAndCreateAccessKey(t *testing.T) {
	forNodes(t, func(t *testing.T, ds []*Directory, st store.Store, root Call) {
		ctx := context.Background()
		u := wire.Ptr("racer")
		for i := 0; i < races; i++ {
			if _, err := ds[0].CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: u}); err != nil {
				t.Fatal(err)
			}
			var key *iamapi.CreateAccessKeyResponse
			errs := together(
				func() error {
					_, err := pick(ds, 0).DeleteUser(ctx, root, &iamapi.DeleteUserRequest{UserName: u})
					return err
				},
				func() (err error) {
					key, err = pick(ds, 1).CreateAccessKey(ctx, root, &iamapi.CreateAccessKeyRequest{UserName: u})
					return err
				},
			)
			expected(t, "DeleteUser", errs[0], "DeleteConflict", "ConcurrentModification")
			expected(t, "CreateAccessKey", errs[1], "NoSuchEntity", "ConcurrentModification")
			if errs[0] == nil && errs[1] == nil {
				t.Fatalf("round %d: DeleteUser and CreateAccessKey both succeeded", i)
			}
			users := records[User](t, st, "acct/111122223333/iam/users/")
			for _, k := range records[accessKeyRecord](t, st, accessKeysPrefix) {
				if k.UserName != "" && len(users) == 0 {
					t.Fatalf("round %d: access key %s of deleted user %s", i, k.AccessKeyID, k.UserName)
				}
			}
			// Clean up for the next round.
			if errs[1] == nil {
				if _, err := ds[0].DeleteAccessKey(ctx, root, &iamapi.DeleteAccessKeyRequest{UserName: u, AccessKeyId: key.AccessKey.AccessKeyId}); err != nil {
					t.Fatal(err)
				}
			}
			if errs[0] != nil {
				if _, err := ds[0].DeleteUser(ctx, root, &iamapi.DeleteUserRequest{UserName: u}); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

func TestRaceAccessKeyQuota(t *testing.T) {
	forNodes(t, func(t *testing.T, ds []*Directory, st store.Store, root Call) {
		ctx := context.Background()
		for i := 0; i < races/3; i++ {
			u := wire.Ptr(fmt.Sprintf("quota%d", i))
			if _, err := ds[0].CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: u}); err != nil {
				t.Fatal(err)
			}
			var fs []func() error
			for j := 0; j < 4; j++ {
				fs = append(fs, func() error {
					_, err := pick(ds, j).CreateAccessKey(ctx, root, &iamapi.CreateAccessKeyRequest{UserName: u})
					return err
				})
			}
			ok := 0
			for _, err := range together(fs...) {
				expected(t, "CreateAccessKey", err, "LimitExceeded", "ConcurrentModification")
				if err == nil {
					ok++
				}
			}
			n := 0
			for _, k := range records[accessKeyRecord](t, st, accessKeysPrefix) {
				if k.UserName == *u {
					n++
				}
			}
			if n > maxAccessKeys || n != ok {
				t.Fatalf("round %d: %d keys stored, %d created; the quota is %d", i, n, ok, maxAccessKeys)
			}
		}
	})
}

// DeleteGroup refuses a group with members ("Cannot delete entity, must
// remove users from group first."); racing AddUserToGroup, the user must not
// end up a member of a deleted group, which would make it a member of the
// next group of that name.
func TestRaceDeleteGroupAndAddUser(t *testing.T) {
	forNodes(t, func(t *testing.T, ds []*Directory, st store.Store, root Call) {
		ctx := context.Background()
		if _, err := ds[0].CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: wire.Ptr("member")}); err != nil {
			t.Fatal(err)
		}
		g, u := wire.Ptr("team"), wire.Ptr("member")
		for i := 0; i < races; i++ {
			if _, err := ds[0].CreateGroup(ctx, root, &iamapi.CreateGroupRequest{GroupName: g}); err != nil {
				t.Fatal(err)
			}
			errs := together(
				func() error {
					_, err := pick(ds, 0).DeleteGroup(ctx, root, &iamapi.DeleteGroupRequest{GroupName: g})
					return err
				},
				func() error {
					_, err := pick(ds, 1).AddUserToGroup(ctx, root, &iamapi.AddUserToGroupRequest{GroupName: g, UserName: u})
					return err
				},
			)
			expected(t, "DeleteGroup", errs[0], "DeleteConflict", "ConcurrentModification")
			expected(t, "AddUserToGroup", errs[1], "NoSuchEntity", "ConcurrentModification")
			if errs[0] == nil && errs[1] == nil {
				t.Fatalf("round %d: DeleteGroup and AddUserToGroup both succeeded", i)
			}
			groups := records[Group](t, st, "acct/111122223333/iam/groups/")
			for _, us := range records[User](t, st, "acct/111122223333/iam/users/") {
				if len(us.Groups) > 0 && len(groups) == 0 {
					t.Fatalf("round %d: %s is a member of deleted group %v", i, us.Name, us.Groups)
				}
			}
			if errs[1] == nil {
				if _, err := ds[0].RemoveUserFromGroup(ctx, root, &iamapi.RemoveUserFromGroupRequest{GroupName: g, UserName: u}); err != nil {
					t.Fatal(err)
				}
			}
			if errs[0] != nil {
				if _, err := ds[0].DeleteGroup(ctx, root, &iamapi.DeleteGroupRequest{GroupName: g}); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// DeletePolicy refuses a policy attached to entities or used as a
// permissions boundary ("Cannot delete a policy attached to entities.");
// racing an attachment or a boundary, no user may be left naming a deleted
// policy: a dangling boundary would bound nothing, and a dangling
// attachment would grant what the next policy of that name allows.
func TestRaceDeletePolicyAndAttach(t *testing.T) {
	forNodes(t, func(t *testing.T, ds []*Directory, st store.Store, root Call) {
		ctx := context.Background()
		u := wire.Ptr("holder")
		if _, err := ds[0].CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: u}); err != nil {
			t.Fatal(err)
		}
		p := "arn:aws:iam::111122223333:policy/shared"
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}`
		for i := 0; i < races; i++ {
			if _, err := ds[0].CreatePolicy(ctx, root, &iamapi.CreatePolicyRequest{PolicyName: wire.Ptr("shared"), PolicyDocument: wire.Ptr(doc)}); err != nil {
				t.Fatal(err)
			}
			boundary := i%2 == 1
			errs := together(
				func() error {
					_, err := pick(ds, 0).DeletePolicy(ctx, root, &iamapi.DeletePolicyRequest{PolicyArn: wire.Ptr(p)})
					return err
				},
				func() error {
					if boundary {
						_, err := pick(ds, 1).PutUserPermissionsBoundary(ctx, root, &iamapi.PutUserPermissionsBoundaryRequest{UserName: u, PermissionsBoundary: wire.Ptr(p)})
						return err
					}
					_, err := pick(ds, 1).AttachUserPolicy(ctx, root, &iamapi.AttachUserPolicyRequest{UserName: u, PolicyArn: wire.Ptr(p)})
					return err
				},
			)
			expected(t, "DeletePolicy", errs[0], "DeleteConflict", "ConcurrentModification")
			expected(t, "attach", errs[1], "NoSuchEntity", "ConcurrentModification")
			if errs[0] == nil && errs[1] == nil {
				t.Fatalf("round %d (boundary %v): DeletePolicy and the attachment both succeeded", i, boundary)
			}
			policies := records[ManagedPolicy](t, st, "acct/111122223333/iam/policies/")
			for _, us := range records[User](t, st, "acct/111122223333/iam/users/") {
				if (len(us.Attached) > 0 || us.Boundary != "") && len(policies) == 0 {
					t.Fatalf("round %d: %s names deleted policy: %v %q", i, us.Name, us.Attached, us.Boundary)
				}
			}
			if errs[1] == nil {
				var err error
				if boundary {
					_, err = ds[0].DeleteUserPermissionsBoundary(ctx, root, &iamapi.DeleteUserPermissionsBoundaryRequest{UserName: u})
				} else {
					_, err = ds[0].DetachUserPolicy(ctx, root, &iamapi.DetachUserPolicyRequest{UserName: u, PolicyArn: wire.Ptr(p)})
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if errs[0] != nil {
				if _, err := ds[0].DeletePolicy(ctx, root, &iamapi.DeletePolicyRequest{PolicyArn: wire.Ptr(p)}); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// The quotas kept in one record hold too: at most 10 managed policies per
// user and 5 versions per policy (IAM and AWS STS quotas).
func TestRaceAttachmentAndVersionQuotas(t *testing.T) {
	forNodes(t, func(t *testing.T, ds []*Directory, st store.Store, root Call) {
		ctx := context.Background()
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}`
		var arns []string
		for i := 0; i < maxAttached+3; i++ {
			out, err := ds[0].CreatePolicy(ctx, root, &iamapi.CreatePolicyRequest{PolicyName: wire.Ptr(fmt.Sprintf("p%d", i)), PolicyDocument: wire.Ptr(doc)})
			if err != nil {
				t.Fatal(err)
			}
			arns = append(arns, *out.Policy.Arn)
		}
		for i := 0; i < 3; i++ {
			u := wire.Ptr(fmt.Sprintf("many%d", i))
			if _, err := ds[0].CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: u}); err != nil {
				t.Fatal(err)
			}
			var fs []func() error
			for j, a := range arns {
				fs = append(fs, func() error {
					_, err := pick(ds, j).AttachUserPolicy(ctx, root, &iamapi.AttachUserPolicyRequest{UserName: u, PolicyArn: wire.Ptr(a)})
					return err
				})
			}
			for _, err := range together(fs...) {
				expected(t, "AttachUserPolicy", err, "LimitExceeded", "ConcurrentModification")
			}
			for _, us := range records[User](t, st, "acct/111122223333/iam/users/") {
				if len(us.Attached) > maxAttached {
					t.Fatalf("%s has %d managed policies", us.Name, len(us.Attached))
				}
			}
			var versions []func() error
			for j := 0; j < maxPolicyVersions+2; j++ {
				versions = append(versions, func() error {
					_, err := pick(ds, j).CreatePolicyVersion(ctx, root, &iamapi.CreatePolicyVersionRequest{PolicyArn: wire.Ptr(arns[i]), PolicyDocument: wire.Ptr(doc)})
					return err
				})
			}
			for _, err := range together(versions...) {
				expected(t, "CreatePolicyVersion", err, "LimitExceeded", "ConcurrentModification")
			}
			for _, p := range records[ManagedPolicy](t, st, "acct/111122223333/iam/policies/") {
				if len(p.Versions) > maxPolicyVersions {
					t.Fatalf("%s has %d versions", p.Name, len(p.Versions))
				}
			}
		}
	})
}

// CreateAccount fails an account whose email another account has
// (EMAIL_ALREADY_EXISTS, Organizations API reference, CreateAccountStatus);
// two at once with one email make at most one account.
func TestRaceCreateAccountEmail(t *testing.T) {
	forNodes(t, func(t *testing.T, ds []*Directory, st store.Store, root Call) {
		ctx := context.Background()
		if _, err := ds[0].CreateOrganization(ctx, root, &orgapi.CreateOrganizationRequest{}); err != nil {
			t.Fatal(err)
		}
		// Who may call CreateAccount is read from each node's view, which
		// follows the store: let every node see the organization first.
		for _, d := range ds {
			waitFor(t, func() bool { return d.OrgID("111122223333") != "" })
		}
		for i := 0; i < races/4; i++ {
			email := fmt.Sprintf("team%d@example.com", i)
			var fs []func() error
			for j := 0; j < 3; j++ {
				fs = append(fs, func() error {
					_, err := pick(ds, j).CreateAccount(ctx, root, &orgapi.CreateAccountRequest{AccountName: wire.Ptr("a"), Email: wire.Ptr(email)})
					return err
				})
			}
			for _, err := range together(fs...) {
				expected(t, "CreateAccount", err, "ConcurrentModificationException")
			}
			n := 0
			kvs, _, err := st.Range(ctx, "acct/")
			if err != nil {
				t.Fatal(err)
			}
			for _, kv := range kvs {
				var a Account
				if strings.HasSuffix(kv.Key, "/account") && json.Unmarshal(kv.Value, &a) == nil && strings.EqualFold(a.Email, email) {
					n++
				}
			}
			if n > 1 {
				t.Fatalf("round %d: %d accounts with email %s", i, n, email)
			}
		}
	})
}

// AssumeRole decides on the role's trust policy; a session is written only
// if the role it decided on is still the role when the session is: racing
// UpdateAssumeRolePolicy that removes the caller's trust, or DeleteRole, a
// session is either made before the change or not at all, and a session of
// a deleted role is never made.
func TestRaceAssumeRoleAndRoleChanges(t *testing.T) {
	forNodes(t, func(t *testing.T, ds []*Directory, st store.Store, root Call) {
		ctx := context.Background()
		if _, err := ds[0].CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: wire.Ptr("alice")}); err != nil {
			t.Fatal(err)
		}
		k, err := ds[0].CreateAccessKey(ctx, root, &iamapi.CreateAccessKeyRequest{UserName: wire.Ptr("alice")})
		if err != nil {
			t.Fatal(err)
		}
		var alices []Call
		for _, d := range ds {
			waitFor(t, func() bool { _, err := d.Identity(*k.AccessKey.AccessKeyId); return err == nil })
			alices = append(alices, callAs(t, d, *k.AccessKey.AccessKeyId))
		}
		trusting := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}]}`
		distrusting := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}]}`
		role := wire.Ptr("target")
		for i := 0; i < races; i++ {
			if _, err := ds[0].CreateRole(ctx, root, &iamapi.CreateRoleRequest{RoleName: role, AssumeRolePolicyDocument: wire.Ptr(trusting)}); err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				waitFor(t, func() bool { _, ok := d.Role("111122223333", "target"); return ok })
			}
			del := i%2 == 0
			// Watch the store from now on, to see in which order the role's
			// change and the session were written.
			from, err := st.Txn(ctx, store.Txn{})
			if err != nil {
				t.Fatal(err)
			}
			wctx, stop := context.WithCancel(ctx)
			events := st.Watch(wctx, "", from)
			var session string
			errs := together(
				func() error {
					if del {
						_, err := pick(ds, 0).DeleteRole(ctx, root, &iamapi.DeleteRoleRequest{RoleName: role})
						return err
					}
					_, err := pick(ds, 0).UpdateAssumeRolePolicy(ctx, root, &iamapi.UpdateAssumeRolePolicyRequest{RoleName: role, PolicyDocument: wire.Ptr(distrusting)})
					return err
				},
				func() error {
					out, err := pick(ds, 1).AssumeRole(ctx, alices[1%len(ds)], &stsapi.AssumeRoleRequest{RoleArn: wire.Ptr("arn:aws:iam::111122223333:role/target"), RoleSessionName: wire.Ptr(fmt.Sprintf("s%d", i))})
					if err == nil {
						session = *out.Credentials.AccessKeyId
					}
					return err
				},
			)
			if errs[0] != nil {
				t.Fatalf("round %d: changing the role: %v", i, errs[0])
			}
			expected(t, "AssumeRole", errs[1], "AccessDenied")
			var roleRev, sessionRev int64
			for roleRev == 0 || (session != "" && sessionRev == 0) {
				select {
				case resp := <-events:
					for _, e := range resp.Events {
						switch e.KV.Key {
						case entityKey("111122223333", roleKind, "target"):
							roleRev = resp.Revision
						case sessionsPrefix + session:
							sessionRev = resp.Revision
						}
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("round %d: the role's change or the session is not in the store", i)
				}
			}
			stop()
			// The trust policy decided on must still have been the role's
			// when the session was written.
			if session != "" && sessionRev > roleRev {
				t.Fatalf("round %d (delete %v): the session was written at %d, after the role changed at %d", i, del, sessionRev, roleRev)
			}
			if !del {
				if _, err := ds[0].DeleteRole(ctx, root, &iamapi.DeleteRoleRequest{RoleName: role}); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range ds {
				waitFor(t, func() bool { _, ok := d.Role("111122223333", "target"); return !ok })
			}
		}
	})
}
