package iam

import (
	"context"
	"encoding/base32"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/federation"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

type mfaEnv struct {
	d      *Directory
	clk    *clock
	root   Call
	alice  Call
	serial string
	seed   []byte
}

// newMFAEnv makes user alice (allowed everything) with a virtual MFA device
// enabled for her.
func newMFAEnv(t *testing.T) *mfaEnv {
	t.Helper()
	d, clk, root := newDirectory(t)
	ctx := context.Background()
	if _, err := d.CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: wire.Ptr("alice")}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.PutUserPolicy(ctx, root, &iamapi.PutUserPolicyRequest{UserName: wire.Ptr("alice"), PolicyName: wire.Ptr("all"),
		PolicyDocument: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	k, err := d.CreateAccessKey(ctx, root, &iamapi.CreateAccessKeyRequest{UserName: wire.Ptr("alice")})
	if err != nil {
		t.Fatal(err)
	}
	id, err := d.Identity(*k.AccessKey.AccessKeyId)
	if err != nil {
		t.Fatal(err)
	}
	e := &mfaEnv{d: d, clk: clk, root: root, alice: Call{Identity: id, Request: authz.Request{Time: clk.Now()}}}
	out, err := d.CreateVirtualMFADevice(ctx, root, &iamapi.CreateVirtualMFADeviceRequest{VirtualMFADeviceName: wire.Ptr("alice-phone")})
	if err != nil {
		t.Fatal(err)
	}
	e.serial = *out.VirtualMFADevice.SerialNumber
	if e.seed, err = seedEncodingForTest(string(out.VirtualMFADevice.Base32StringSeed)); err != nil {
		t.Fatal(err)
	}
	if len(out.VirtualMFADevice.QRCodePNG) < 8 || string(out.VirtualMFADevice.QRCodePNG[1:4]) != "PNG" {
		t.Fatal("no QR code PNG")
	}
	if _, err := d.EnableMFADevice(ctx, root, &iamapi.EnableMFADeviceRequest{UserName: wire.Ptr("alice"), SerialNumber: wire.Ptr(e.serial),
		AuthenticationCode1: wire.Ptr(e.code(-1)), AuthenticationCode2: wire.Ptr(e.code(0))}); err != nil {
		t.Fatal(err)
	}
	return e
}

func seedEncodingForTest(s string) ([]byte, error) {
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
}

// code is the device's code at offset steps from the clock.
func (e *mfaEnv) code(offset int64) string {
	c, _ := federation.Code(e.seed, federation.Step(e.clk.Now())+offset)
	return c
}

func (e *mfaEnv) sessionToken(code string) (*stsapi.GetSessionTokenResponse, error) {
	return e.d.GetSessionToken(context.Background(), e.alice, &stsapi.GetSessionTokenRequest{SerialNumber: wire.Ptr(e.serial), TokenCode: wire.Ptr(code)})
}

// GetSessionToken with the device's current code issues an MFA session:
// aws:MultiFactorAuthPresent is true and aws:MultiFactorAuthAge counts from
// then, and it may call IAM. The code is accepted once; a wrong code, an
// older code, another's device are refused, and nothing is issued.
func TestGetSessionTokenWithMFA(t *testing.T) {
	e := newMFAEnv(t)
	e.clk.Add(time.Minute) // past the steps of the codes that enabled it
	n := e.d.sessionCount()
	_, err := e.sessionToken("000000")
	wantWireErr(t, err, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code")
	_, err = e.d.GetSessionToken(context.Background(), e.alice, &stsapi.GetSessionTokenRequest{TokenCode: wire.Ptr(e.code(0))})
	wantWireErr(t, err, "AccessDenied", "MultiFactorAuthentication failed")
	if e.d.sessionCount() != n {
		t.Fatal("a refused code issued a session")
	}
	code := e.code(0)
	out, err := e.sessionToken(code)
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.d.Identity(*out.Credentials.AccessKeyId)
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Add(90 * time.Second)
	keys := authz.GlobalKeys(id, authz.Request{Time: e.clk.Now()})
	if keys["aws:multifactorauthpresent"][0] != "true" || keys["aws:multifactorauthage"][0] != "90" {
		t.Fatalf("MFA keys %v %v", keys["aws:multifactorauthpresent"], keys["aws:multifactorauthage"])
	}
	if err := CheckCredentialScope(id, "iam", "ListUsers"); err != nil {
		t.Fatalf("an MFA session of GetSessionToken refused IAM: %v", err)
	}
	if err := CheckCredentialScope(id, "sts", "GetSessionToken"); err == nil {
		t.Fatal("an MFA session may call GetSessionToken")
	}
	// The same code again, or the one before it: refused.
	n = e.d.sessionCount()
	e.clk.Add(-90 * time.Second)
	_, err = e.sessionToken(code)
	wantWireErr(t, err, "AccessDenied", "invalid MFA one time pass code")
	_, err = e.sessionToken(e.code(-1))
	wantWireErr(t, err, "AccessDenied", "invalid MFA one time pass code")
	if e.d.sessionCount() != n {
		t.Fatal("a reused code issued a session")
	}
	// The next step's code is fine.
	if _, err := e.sessionToken(e.code(1)); err != nil {
		t.Fatal(err)
	}
	// Without MFA, GetSessionToken credentials still may not call IAM.
	plain, err := e.d.GetSessionToken(context.Background(), e.alice, &stsapi.GetSessionTokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := e.d.Identity(*plain.Credentials.AccessKeyId)
	if err := CheckCredentialScope(pid, "iam", "ListUsers"); err == nil {
		t.Fatal("GetSessionToken credentials without MFA may call IAM")
	}
	if pid.Keys()["aws:multifactorauthpresent"][0] != "false" {
		t.Fatal("a session without MFA says MFA was present")
	}
}

// A trust policy that requires MFA admits AssumeRole with a valid code
// only; the role session carries aws:MultiFactorAuthPresent.
func TestAssumeRoleWithMFA(t *testing.T) {
	e := newMFAEnv(t)
	e.clk.Add(time.Minute)
	ctx := context.Background()
	r, err := e.d.CreateRole(ctx, e.root, &iamapi.CreateRoleRequest{RoleName: wire.Ptr("admin"), AssumeRolePolicyDocument: wire.Ptr(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"},"NumericLessThan":{"aws:MultiFactorAuthAge":"300"}}}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	assume := func(serial, code *string) (*stsapi.AssumeRoleResponse, error) {
		return e.d.AssumeRole(ctx, e.alice, &stsapi.AssumeRoleRequest{RoleArn: r.Role.Arn, RoleSessionName: wire.Ptr("ops"), SerialNumber: serial, TokenCode: code})
	}
	_, err = assume(nil, nil)
	wantWireErr(t, err, "AccessDenied", "sts:AssumeRole")
	_, err = assume(wire.Ptr(e.serial), wire.Ptr("123456"))
	wantWireErr(t, err, "AccessDenied", "invalid MFA one time pass code")
	code := e.code(0)
	out, err := assume(wire.Ptr(e.serial), wire.Ptr(code))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := e.d.Identity(*out.Credentials.AccessKeyId)
	if id.Keys()["aws:multifactorauthpresent"][0] != "true" {
		t.Fatal("the role session does not carry MFA")
	}
	_, err = assume(wire.Ptr(e.serial), wire.Ptr(code))
	wantWireErr(t, err, "AccessDenied", "invalid MFA one time pass code")
}

// The device's seed is sealed at rest and never answered after creation;
// enabling needs two consecutive codes; an assigned device cannot be
// deleted; deactivated, it can.
func TestVirtualMFADeviceLifecycle(t *testing.T) {
	e := newMFAEnv(t)
	ctx := context.Background()
	e.d.mu.RLock()
	rec := e.d.v.fed.mfa["111122223333/alice-phone"]
	e.d.mu.RUnlock()
	if strings.Contains(string(mustJSON(rec)), federation.Base32Seed(e.seed)) || len(rec.Seed) <= len(e.seed) {
		t.Fatal("the stored device record holds the seed in the clear")
	}
	if _, err := e.d.sealer.Open(rec.Seed, mfaSeedAAD("arn:aws:iam::111122223333:mfa/other")); err == nil {
		t.Fatal("the sealed seed opens as another device's")
	}
	list, err := e.d.ListVirtualMFADevices(ctx, e.root, &iamapi.ListVirtualMFADevicesRequest{AssignmentStatus: wire.Ptr("Assigned")})
	if err != nil || len(list.VirtualMFADevices) != 1 || *list.VirtualMFADevices[0].User.UserName != "alice" || list.VirtualMFADevices[0].Base32StringSeed != nil || list.VirtualMFADevices[0].QRCodePNG != nil {
		t.Fatalf("ListVirtualMFADevices = %+v, %v", list, err)
	}
	mine, err := e.d.ListMFADevices(ctx, e.alice, &iamapi.ListMFADevicesRequest{})
	if err != nil || len(mine.MFADevices) != 1 || *mine.MFADevices[0].SerialNumber != e.serial {
		t.Fatalf("ListMFADevices = %+v, %v", mine, err)
	}
	_, err = e.d.DeleteVirtualMFADevice(ctx, e.root, &iamapi.DeleteVirtualMFADeviceRequest{SerialNumber: wire.Ptr(e.serial)})
	wantWireErr(t, err, "DeleteConflict", "still in use")

	// A second device: codes that are not consecutive do not enable it.
	dev2, err := e.d.CreateVirtualMFADevice(ctx, e.root, &iamapi.CreateVirtualMFADeviceRequest{VirtualMFADeviceName: wire.Ptr("spare")})
	if err != nil {
		t.Fatal(err)
	}
	seed2, _ := seedEncodingForTest(string(dev2.VirtualMFADevice.Base32StringSeed))
	s := federation.Step(e.clk.Now())
	c1, _ := federation.Code(seed2, s)
	c3, _ := federation.Code(seed2, s+2)
	_, err = e.d.EnableMFADevice(ctx, e.root, &iamapi.EnableMFADeviceRequest{UserName: wire.Ptr("alice"), SerialNumber: dev2.VirtualMFADevice.SerialNumber, AuthenticationCode1: wire.Ptr(c1), AuthenticationCode2: wire.Ptr(c3)})
	wantWireErr(t, err, "InvalidAuthenticationCode", "not valid")
	_, err = e.d.CreateVirtualMFADevice(ctx, e.root, &iamapi.CreateVirtualMFADeviceRequest{VirtualMFADeviceName: wire.Ptr("SPARE")})
	wantWireErr(t, err, "EntityAlreadyExists", "")

	// Resync: a device whose clock runs five minutes fast.
	e.clk.Add(time.Minute)
	fast := federation.Step(e.clk.Now()) + 10
	r1, _ := federation.Code(e.seed, fast)
	r2, _ := federation.Code(e.seed, fast+1)
	if _, err := e.d.ResyncMFADevice(ctx, e.root, &iamapi.ResyncMFADeviceRequest{UserName: wire.Ptr("alice"), SerialNumber: wire.Ptr(e.serial), AuthenticationCode1: wire.Ptr(r1), AuthenticationCode2: wire.Ptr(r2)}); err != nil {
		t.Fatal(err)
	}
	next, _ := federation.Code(e.seed, fast+2)
	if _, err := e.sessionToken(next); err != nil {
		t.Fatalf("a code of the resynchronized device: %v", err)
	}

	// A user with an MFA device enabled is not deleted until it is
	// deactivated.
	if _, err := e.d.CreateUser(ctx, e.root, &iamapi.CreateUserRequest{UserName: wire.Ptr("carol")}); err != nil {
		t.Fatal(err)
	}
	s2 := federation.Step(e.clk.Now())
	k1, _ := federation.Code(seed2, s2)
	k2, _ := federation.Code(seed2, s2+1)
	if _, err := e.d.EnableMFADevice(ctx, e.root, &iamapi.EnableMFADeviceRequest{UserName: wire.Ptr("carol"), SerialNumber: dev2.VirtualMFADevice.SerialNumber, AuthenticationCode1: wire.Ptr(k1), AuthenticationCode2: wire.Ptr(k2)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.d.DeleteUser(ctx, e.root, &iamapi.DeleteUserRequest{UserName: wire.Ptr("carol")})
	wantWireErr(t, err, "DeleteConflict", "must remove MFA device first")
	if _, err := e.d.DeactivateMFADevice(ctx, e.root, &iamapi.DeactivateMFADeviceRequest{UserName: wire.Ptr("carol"), SerialNumber: dev2.VirtualMFADevice.SerialNumber}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.DeleteUser(ctx, e.root, &iamapi.DeleteUserRequest{UserName: wire.Ptr("carol")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.DeactivateMFADevice(ctx, e.root, &iamapi.DeactivateMFADeviceRequest{UserName: wire.Ptr("alice"), SerialNumber: wire.Ptr(e.serial)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.sessionToken(e.code(12))
	wantWireErr(t, err, "AccessDenied", "MultiFactorAuthentication failed")
	if _, err := e.d.DeleteVirtualMFADevice(ctx, e.root, &iamapi.DeleteVirtualMFADeviceRequest{SerialNumber: wire.Ptr(e.serial)}); err != nil {
		t.Fatal(err)
	}
}
