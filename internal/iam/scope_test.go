package iam

import (
	"context"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

// What temporary credentials may call, by the STS operation that issued them
// (IAM User Guide, id_credentials_temp_request, "Comparing the AWS STS API
// operations"): GetSessionToken credentials call no IAM operation without MFA
// and no STS operation but AssumeRole and GetCallerIdentity; AssumeRole
// credentials call neither GetFederationToken nor GetSessionToken. The
// identities come from credentials issued by a real Directory.
func TestCredentialScope(t *testing.T) {
	d, _, root := newDirectory(t)
	ctx := context.Background()
	if _, err := d.CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: wire.Ptr("alice")}); err != nil {
		t.Fatal(err)
	}
	k, err := d.CreateAccessKey(ctx, root, &iamapi.CreateAccessKeyRequest{UserName: wire.Ptr("alice")})
	if err != nil {
		t.Fatal(err)
	}
	alice := callAs(t, d, *k.AccessKey.AccessKeyId)
	if _, err := d.CreateRole(ctx, root, &iamapi.CreateRoleRequest{RoleName: wire.Ptr("r"),
		AssumeRolePolicyDocument: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	st, err := d.GetSessionToken(ctx, alice, &stsapi.GetSessionTokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	sessionToken := callAs(t, d, *st.Credentials.AccessKeyId)
	ar, err := d.AssumeRole(ctx, alice, &stsapi.AssumeRoleRequest{RoleArn: wire.Ptr("arn:aws:iam::111122223333:role/r"), RoleSessionName: wire.Ptr("s")})
	if err != nil {
		t.Fatal(err)
	}
	roleSession := callAs(t, d, *ar.Credentials.AccessKeyId)

	const (
		ok      = ""
		invalid = "InvalidClientTokenId: The security token included in the request is invalid"
	)
	denied := func(op string) string { return "AccessDenied: Cannot call " + op + " with session credentials" }
	for _, tc := range []struct {
		who         string
		call        Call
		service, op string
		want        string
	}{
		{"long-term key", alice, "iam", "ListUsers", ok},
		{"long-term key", alice, "sts", "GetSessionToken", ok},
		{"GetSessionToken", sessionToken, "iam", "ListUsers", invalid},
		{"GetSessionToken", sessionToken, "iam", "CreateAccessKey", invalid},
		{"GetSessionToken", sessionToken, "sts", "GetCallerIdentity", ok},
		{"GetSessionToken", sessionToken, "sts", "AssumeRole", ok},
		{"GetSessionToken", sessionToken, "sts", "GetSessionToken", denied("GetSessionToken")},
		{"GetSessionToken", sessionToken, "sts", "GetFederationToken", denied("GetFederationToken")},
		{"GetSessionToken", sessionToken, "sts", "DecodeAuthorizationMessage", denied("DecodeAuthorizationMessage")},
		{"GetSessionToken", sessionToken, "kms", "Encrypt", ok},
		{"AssumeRole", roleSession, "iam", "ListUsers", ok},
		{"AssumeRole", roleSession, "sts", "AssumeRole", ok},
		{"AssumeRole", roleSession, "sts", "DecodeAuthorizationMessage", ok},
		{"AssumeRole", roleSession, "sts", "GetSessionToken", denied("GetSessionToken")},
		{"AssumeRole", roleSession, "sts", "GetFederationToken", denied("GetFederationToken")},
	} {
		got := ""
		if err := CheckCredentialScope(tc.call.Identity, tc.service, tc.op); err != nil {
			we := err.(*wire.Error)
			got = we.Code + ": " + we.Message
		}
		if got != tc.want {
			t.Errorf("%s credentials, %s:%s = %q, want %q", tc.who, tc.service, tc.op, got, tc.want)
		}
	}
}

// callAs is a call signed with accessKeyID, as the server builds it.
func callAs(t *testing.T, d *Directory, accessKeyID string) Call {
	t.Helper()
	id, err := d.Identity(accessKeyID)
	if err != nil {
		t.Fatal(err)
	}
	return Call{Identity: id}
}
