package iam

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/federation"
	"github.com/trentkms/trent/internal/federation/oidctest"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

func wantWireErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != code || !strings.Contains(we.Message, msg) {
		t.Fatalf("err = %v, want %s containing %q", err, code, msg)
	}
}

func (d *Directory) sessionCount() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.v.sessions)
}

// The OIDC provider operations keep the provider as IAM does: the URL
// without its scheme, audiences and thumbprints, tags; a second provider
// of the same URL is refused; once deleted it is gone.
func TestOIDCProviderOperations(t *testing.T) {
	d, _, root := newDirectory(t)
	ctx := context.Background()
	url := "https://oidc.example.com/id/ABC"
	tp := strings.Repeat("9e99a48a9960b14926bb7f3b02e22da2b0ab7280", 1)
	out, err := d.CreateOpenIDConnectProvider(ctx, root, &iamapi.CreateOpenIDConnectProviderRequest{
		Url: wire.Ptr(url), ClientIDList: []string{"sts.amazonaws.com"}, ThumbprintList: []string{strings.ToUpper(tp)},
		Tags: []iamapi.Tag{{Key: wire.Ptr("team"), Value: wire.Ptr("platform")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := *out.OpenIDConnectProviderArn
	if arn != "arn:aws:iam::111122223333:oidc-provider/oidc.example.com/id/ABC" {
		t.Fatalf("ARN %s", arn)
	}
	_, err = d.CreateOpenIDConnectProvider(ctx, root, &iamapi.CreateOpenIDConnectProviderRequest{Url: wire.Ptr(url)})
	wantWireErr(t, err, "EntityAlreadyExists", "already exists")
	for _, bad := range []string{"http://oidc.example.com", "https://", "https://x.example.com/?a=b", "oidc.example.com"} {
		_, err = d.CreateOpenIDConnectProvider(ctx, root, &iamapi.CreateOpenIDConnectProviderRequest{Url: wire.Ptr(bad)})
		wantWireErr(t, err, "InvalidInput", "")
	}
	_, err = d.CreateOpenIDConnectProvider(ctx, root, &iamapi.CreateOpenIDConnectProviderRequest{Url: wire.Ptr("https://x.example.com"), ThumbprintList: []string{strings.Repeat("zz", 20)}})
	wantWireErr(t, err, "InvalidInput", "Thumbprint")

	arnReq := func() *string { return wire.Ptr(arn) }
	if _, err := d.AddClientIDToOpenIDConnectProvider(ctx, root, &iamapi.AddClientIDToOpenIDConnectProviderRequest{OpenIDConnectProviderArn: arnReq(), ClientID: wire.Ptr("ci")}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddClientIDToOpenIDConnectProvider(ctx, root, &iamapi.AddClientIDToOpenIDConnectProviderRequest{OpenIDConnectProviderArn: arnReq(), ClientID: wire.Ptr("ci")}); err != nil {
		t.Fatalf("adding a client id again: %v", err)
	}
	if _, err := d.RemoveClientIDFromOpenIDConnectProvider(ctx, root, &iamapi.RemoveClientIDFromOpenIDConnectProviderRequest{OpenIDConnectProviderArn: arnReq(), ClientID: wire.Ptr("sts.amazonaws.com")}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.UpdateOpenIDConnectProviderThumbprint(ctx, root, &iamapi.UpdateOpenIDConnectProviderThumbprintRequest{OpenIDConnectProviderArn: arnReq(), ThumbprintList: []string{tp, strings.Repeat("a", 40)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.UntagOpenIDConnectProvider(ctx, root, &iamapi.UntagOpenIDConnectProviderRequest{OpenIDConnectProviderArn: arnReq(), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.TagOpenIDConnectProvider(ctx, root, &iamapi.TagOpenIDConnectProviderRequest{OpenIDConnectProviderArn: arnReq(), Tags: []iamapi.Tag{{Key: wire.Ptr("env"), Value: wire.Ptr("prod")}}}); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetOpenIDConnectProvider(ctx, root, &iamapi.GetOpenIDConnectProviderRequest{OpenIDConnectProviderArn: arnReq()})
	if err != nil {
		t.Fatal(err)
	}
	if *got.Url != "oidc.example.com/id/ABC" || strings.Join(got.ClientIDList, ",") != "ci" || len(got.ThumbprintList) != 2 || got.ThumbprintList[0] != tp ||
		len(got.Tags) != 1 || *got.Tags[0].Key != "env" {
		t.Fatalf("GetOpenIDConnectProvider = %+v", got)
	}
	tags, err := d.ListOpenIDConnectProviderTags(ctx, root, &iamapi.ListOpenIDConnectProviderTagsRequest{OpenIDConnectProviderArn: arnReq()})
	if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Value != "prod" {
		t.Fatalf("tags %+v, %v", tags, err)
	}
	list, err := d.ListOpenIDConnectProviders(ctx, root, &iamapi.ListOpenIDConnectProvidersRequest{})
	if err != nil || len(list.OpenIDConnectProviderList) != 1 || *list.OpenIDConnectProviderList[0].Arn != arn {
		t.Fatalf("list %+v, %v", list, err)
	}
	// Another account's provider ARN names nothing of the caller's.
	_, err = d.GetOpenIDConnectProvider(ctx, root, &iamapi.GetOpenIDConnectProviderRequest{OpenIDConnectProviderArn: wire.Ptr("arn:aws:iam::999999999999:oidc-provider/oidc.example.com/id/ABC")})
	wantWireErr(t, err, "NoSuchEntity", "")
	if _, err := d.DeleteOpenIDConnectProvider(ctx, root, &iamapi.DeleteOpenIDConnectProviderRequest{OpenIDConnectProviderArn: arnReq()}); err != nil {
		t.Fatal(err)
	}
	_, err = d.GetOpenIDConnectProvider(ctx, root, &iamapi.GetOpenIDConnectProviderRequest{OpenIDConnectProviderArn: arnReq()})
	wantWireErr(t, err, "NoSuchEntity", "OpenIDConnect Provider not found")
	_, err = d.DeleteOpenIDConnectProvider(ctx, root, &iamapi.DeleteOpenIDConnectProviderRequest{OpenIDConnectProviderArn: arnReq()})
	wantWireErr(t, err, "NoSuchEntity", "")
}

type webIdentityEnv struct {
	d        *Directory
	clk      *clock
	root     Call
	iss      *oidctest.Issuer
	provider string // its ARN
	prefix   string // its condition key prefix
}

func newWebIdentityEnv(t *testing.T) *webIdentityEnv {
	d, clk, root := newDirectory(t)
	iss := oidctest.New(t)
	out, err := d.CreateOpenIDConnectProvider(context.Background(), root, &iamapi.CreateOpenIDConnectProviderRequest{
		Url: wire.Ptr(iss.URL), ClientIDList: []string{"sts.amazonaws.com"}, ThumbprintList: []string{iss.Thumbprint},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &webIdentityEnv{d: d, clk: clk, root: root, iss: iss, provider: *out.OpenIDConnectProviderArn, prefix: strings.TrimPrefix(iss.URL, "https://")}
}

// claims are valid claims at the directory's clock.
func (e *webIdentityEnv) claims(sub string) map[string]any {
	now := e.clk.Now()
	return map[string]any{"iss": e.iss.URL, "sub": sub, "aud": "sts.amazonaws.com", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
}

func (e *webIdentityEnv) role(t *testing.T, name, trust string) string {
	t.Helper()
	out, err := e.d.CreateRole(context.Background(), e.root, &iamapi.CreateRoleRequest{RoleName: wire.Ptr(name), AssumeRolePolicyDocument: wire.Ptr(trust)})
	if err != nil {
		t.Fatal(err)
	}
	return *out.Role.Arn
}

func (e *webIdentityEnv) assume(roleARN, token string) (*stsapi.AssumeRoleWithWebIdentityResponse, error) {
	return e.d.AssumeRoleWithWebIdentity(context.Background(), authz.Request{Time: e.clk.Now(), SourceIP: "127.0.0.1"}, &stsapi.AssumeRoleWithWebIdentityRequest{
		RoleArn: wire.Ptr(roleARN), RoleSessionName: wire.Ptr("pod"), WebIdentityToken: wire.Ptr(token),
	})
}

func (e *webIdentityEnv) trust(extra string, actions ...string) string {
	if len(actions) == 0 {
		actions = []string{"sts:AssumeRoleWithWebIdentity"}
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + e.provider + `"},"Action":["` + strings.Join(actions, `","`) + `"],
	"Condition":{"StringEquals":{"` + e.prefix + `:aud":"sts.amazonaws.com"},"StringLike":{"` + e.prefix + `:sub":"system:serviceaccount:prod:*"}` + extra + `}}]}`
}

// A token from the role account's provider whose claims the trust policy
// accepts gets a role session; the session carries aws:FederatedProvider
// and the provider's sub, aud and amr keys into later requests.
func TestAssumeRoleWithWebIdentity(t *testing.T) {
	e := newWebIdentityEnv(t)
	roleARN := e.role(t, "app", e.trust(""))
	c := e.claims("system:serviceaccount:prod:app")
	c["amr"] = []string{"pwd"}
	out, err := e.assume(roleARN, e.iss.Token(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if *out.SubjectFromWebIdentityToken != "system:serviceaccount:prod:app" || *out.Provider != e.provider || *out.Audience != "sts.amazonaws.com" ||
		*out.AssumedRoleUser.Arn != "arn:aws:sts::111122223333:assumed-role/app/pod" {
		t.Fatalf("response %+v", out)
	}
	id, err := e.d.Identity(*out.Credentials.AccessKeyId)
	if err != nil {
		t.Fatal(err)
	}
	k := id.Keys()
	if id.Type != authz.AssumedRoleType || id.RoleARN != roleARN || id.IssuedBy != issuedByWebIdentity ||
		k["aws:federatedprovider"][0] != e.provider || k[strings.ToLower(e.prefix)+":sub"][0] != "system:serviceaccount:prod:app" ||
		k[strings.ToLower(e.prefix)+":amr"][0] != "pwd" || k["aws:multifactorauthpresent"][0] != "false" {
		t.Fatalf("identity %+v keys %v", id, k)
	}
	// A role session: it may call IAM (its policies decide) and STS.
	if err := CheckCredentialScope(id, "iam", "ListUsers"); err != nil {
		t.Fatalf("web identity session refused IAM: %v", err)
	}

	// The trust policy's conditions decide: another namespace's account is
	// refused, and so is a role that names another provider.
	n := e.d.sessionCount()
	_, err = e.assume(roleARN, e.iss.Token(t, e.claims("system:serviceaccount:dev:app")))
	wantWireErr(t, err, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	other := e.role(t, "other", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/elsewhere.example.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`)
	_, err = e.assume(other, e.iss.Token(t, e.claims("system:serviceaccount:prod:app")))
	wantWireErr(t, err, "AccessDenied", "")
	_, err = e.assume("arn:aws:iam::111122223333:role/missing", e.iss.Token(t, e.claims("system:serviceaccount:prod:app")))
	wantWireErr(t, err, "AccessDenied", "")
	if e.d.sessionCount() != n {
		t.Fatal("a refused request issued a session")
	}
}

// Bad tokens are refused with STS's errors, and nothing is issued.
func TestAssumeRoleWithWebIdentityBadTokens(t *testing.T) {
	e := newWebIdentityEnv(t)
	roleARN := e.role(t, "app", e.trust(""))
	sub := "system:serviceaccount:prod:app"
	with := func(k string, v any) map[string]any {
		c := e.claims(sub)
		c[k] = v
		return c
	}
	now := e.clk.Now()
	n := e.d.sessionCount()
	for _, tt := range []struct {
		name, token, code, msg string
	}{
		{"expired", e.iss.Token(t, with("exp", now.Add(-time.Minute).Unix())), "ExpiredTokenException", "Token expired"},
		{"not yet valid", e.iss.Token(t, with("nbf", now.Add(time.Hour).Unix())), "InvalidIdentityToken", "not valid yet"},
		{"wrong audience", e.iss.Token(t, with("aud", "other")), "InvalidIdentityToken", "Incorrect token audience"},
		{"wrong issuer", e.iss.Token(t, with("iss", "https://accounts.example.com")), "InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://accounts.example.com"},
		{"garbage", "not-a-token", "InvalidIdentityToken", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.assume(roleARN, tt.token)
			wantWireErr(t, err, tt.code, tt.msg)
		})
	}
	if e.d.sessionCount() != n {
		t.Fatal("a refused token issued a session")
	}
	// A provider deleted: its tokens name no provider any more.
	if _, err := e.d.DeleteOpenIDConnectProvider(context.Background(), e.root, &iamapi.DeleteOpenIDConnectProviderRequest{OpenIDConnectProviderArn: wire.Ptr(e.provider)}); err != nil {
		t.Fatal(err)
	}
	_, err := e.assume(roleARN, e.iss.Token(t, e.claims(sub)))
	wantWireErr(t, err, "InvalidIdentityToken", "No OpenIDConnect provider found")
}

// Session tags from the token need sts:TagSession in the trust policy; then
// they become principal tags, and transitive ones stay transitive.
func TestWebIdentitySessionTags(t *testing.T) {
	e := newWebIdentityEnv(t)
	c := e.claims("system:serviceaccount:prod:app")
	c[federation.TagsClaim] = map[string]any{"principal_tags": map[string]any{"Project": []string{"Automation"}}, "transitive_tag_keys": []string{"Project"}}
	tok := e.iss.Token(t, c)
	noTag := e.role(t, "notag", e.trust(""))
	_, err := e.assume(noTag, tok)
	wantWireErr(t, err, "AccessDenied", "sts:TagSession")
	tag := e.role(t, "tag", e.trust(`,"ForAllValues:StringEquals":{"aws:TagKeys":["Project"]}`, "sts:AssumeRoleWithWebIdentity", "sts:TagSession"))
	out, err := e.assume(tag, tok)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := e.d.Identity(*out.Credentials.AccessKeyId)
	if id.Tags["Project"] != "Automation" || strings.Join(id.TransitiveTagKeys, ",") != "Project" {
		t.Fatalf("tags %v transitive %v", id.Tags, id.TransitiveTagKeys)
	}
	// The session's policies: the role's, so an identity-based decision
	// sees the tag.
	r := &policy.Request{Principal: id.PolicyPrincipal(), Action: "kms:Encrypt", Resource: "*", Time: e.clk.Now(), Keys: authz.GlobalKeys(id, authz.Request{Time: e.clk.Now()})}
	if v := r.Values("aws:principaltag/project"); len(v) != 1 || v[0] != "Automation" {
		t.Fatalf("aws:PrincipalTag/Project = %v", v)
	}
}

// Keys configured on the provider verify its tokens without the issuer: a
// token signed by a key the configuration lacks is refused even though the
// issuer publishes it.
func TestWebIdentityConfiguredKeys(t *testing.T) {
	e := newWebIdentityEnv(t)
	roleARN := e.role(t, "app", e.trust(""))
	if err := e.d.SetOpenIDConnectProviderKeys(context.Background(), e.root, e.provider, e.iss.JWKS()); err != nil {
		t.Fatal(err)
	}
	if err := e.d.SetOpenIDConnectProviderKeys(context.Background(), e.root, e.provider, []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)); err == nil {
		t.Fatal("a symmetric key was accepted as the provider's keys")
	}
	if _, err := e.assume(roleARN, e.iss.Token(t, e.claims("system:serviceaccount:prod:app"))); err != nil {
		t.Fatal(err)
	}
	e.iss.Rotate(t)
	_, err := e.assume(roleARN, e.iss.Token(t, e.claims("system:serviceaccount:prod:app")))
	wantWireErr(t, err, "InvalidIdentityToken", "Couldn't retrieve verification key")
	if n := e.iss.JWKSFetches.Load(); n != 0 {
		t.Fatalf("the issuer was asked for its keys %d times", n)
	}
}
