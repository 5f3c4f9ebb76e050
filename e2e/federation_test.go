package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/trentkms/trent/internal/federation/oidctest"
	"github.com/trentkms/trent/internal/testserver"
)

// oidcEnv is a Trent server, an OIDC issuer run by the test over TLS, an
// IAM OIDC provider for it (trusted by its certificate's thumbprint) and a
// key the federated roles may use.
type oidcEnv struct {
	srv      *testserver.Server
	root     clients
	iss      *oidctest.Issuer
	provider string
	host     string // the provider's URL without https://: its condition key prefix
	keyID    string
}

func newOIDCEnv(t *testing.T) *oidcEnv {
	t.Helper()
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	iss := oidctest.New(t)
	p, err := root.iam.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(iss.URL), ClientIDList: []string{"sts.amazonaws.com"}, ThumbprintList: []string{iss.Thumbprint},
	})
	if err != nil {
		t.Fatal(err)
	}
	k, err := root.kms.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("federated")})
	if err != nil {
		t.Fatal(err)
	}
	return &oidcEnv{srv: srv, root: root, iss: iss, provider: *p.OpenIDConnectProviderArn, host: strings.TrimPrefix(iss.URL, "https://"), keyID: *k.KeyMetadata.KeyId}
}

// role creates a role federated identities with a matching sub may assume,
// allowed to use KMS.
func (e *oidcEnv) role(t *testing.T, name, subPattern string) string {
	t.Helper()
	ctx := testserver.Context(t)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + e.provider + `"},"Action":"sts:AssumeRoleWithWebIdentity",
		"Condition":{"StringEquals":{"` + e.host + `:aud":"sts.amazonaws.com"},"StringLike":{"` + e.host + `:sub":"` + subPattern + `"}}}]}`
	r, err := e.root.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.root.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("kms"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt","kms:ListKeys"],"Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	return *r.Role.Arn
}

// tokenFile writes a token as Kubernetes projects a service account token
// and GitHub Actions hands one over: a file the SDK reads.
func tokenFile(t *testing.T, token string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// noStaticCredentials clears every way the SDK could find an access key,
// so that only the web identity token authenticates.
func noStaticCredentials(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_KMS", "AWS_ROLE_SESSION_NAME"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
}

// A pod-style workload (a Kubernetes service account token, STS and KMS
// endpoints set per service) and a CI-style one (a GitHub Actions-like
// token, one endpoint for everything) reach KMS through the SDK's default
// credential chain with no access key anywhere: AWS_WEB_IDENTITY_TOKEN_FILE
// and AWS_ROLE_ARN make the SDK call AssumeRoleWithWebIdentity, unsigned.
func TestWebIdentitySDKDefaultChain(t *testing.T) {
	e := newOIDCEnv(t)
	podRole := e.role(t, "pod", "system:serviceaccount:payments:*")
	ciRole := e.role(t, "ci", "repo:acme/app:ref:refs/heads/main")
	for _, tt := range []struct {
		name, role, sub string
		env             map[string]string
	}{
		{"pod", podRole, "system:serviceaccount:payments:api", map[string]string{"AWS_ENDPOINT_URL_STS": e.srv.URL, "AWS_ENDPOINT_URL_KMS": e.srv.URL}},
		// AWS_ENDPOINT_URL alone does not reach the SDK's web identity
		// provider's STS client (it resolves credentials before the
		// endpoint): STS is named on its own.
		{"ci", ciRole, "repo:acme/app:ref:refs/heads/main", map[string]string{"AWS_ENDPOINT_URL": e.srv.URL, "AWS_ENDPOINT_URL_STS": e.srv.URL, "AWS_ROLE_SESSION_NAME": "gha-run-42"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			noStaticCredentials(t)
			t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile(t, e.iss.Token(t, e.iss.Claims(tt.sub, "sts.amazonaws.com"))))
			t.Setenv("AWS_ROLE_ARN", tt.role)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			ctx := testserver.Context(t)
			cfg, err := config.LoadDefaultConfig(ctx)
			if err != nil {
				t.Fatal(err)
			}
			creds, err := cfg.Credentials.Retrieve(ctx)
			if err != nil {
				t.Fatalf("default chain: %v\n%s", err, e.srv.Stderr())
			}
			if creds.Source != "WebIdentityCredentials" || !strings.HasPrefix(creds.AccessKeyID, "ASIA") {
				t.Fatalf("credentials from %s: %s", creds.Source, creds.AccessKeyID)
			}
			k := kms.NewFromConfig(cfg)
			enc, err := k.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(e.keyID), Plaintext: []byte("attack at dawn")})
			if err != nil {
				t.Fatal(err)
			}
			dec, err := k.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
			if err != nil || string(dec.Plaintext) != "attack at dawn" {
				t.Fatalf("Decrypt = %v", err)
			}
			who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil || !strings.HasPrefix(*who.Arn, "arn:aws:sts::"+acct+":assumed-role/"+tt.name+"/") {
				t.Fatalf("GetCallerIdentity = %v, %v", who, err)
			}
			// The role allows KMS only through its own policy.
			_, err = k.CreateKey(ctx, &kms.CreateKeyInput{})
			apiErr(t, err, "AccessDeniedException", "kms:CreateKey")
		})
	}
}

// anonymous is an STS client that signs nothing, as the SDK's web identity
// provider calls AssumeRoleWithWebIdentity.
func (e *oidcEnv) anonymous() *sts.Client {
	return sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.srv.URL), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
}

func (e *oidcEnv) assume(t *testing.T, role, token string) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	return e.anonymous().AssumeRoleWithWebIdentity(testserver.Context(t), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(role), RoleSessionName: aws.String("session"), WebIdentityToken: aws.String(token),
	})
}

func b64url(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Tokens that are not what they should be are refused with STS's errors
// (STS API reference, AssumeRoleWithWebIdentity, Errors), and the audit log
// never holds a token.
func TestWebIdentityBadTokens(t *testing.T) {
	e := newOIDCEnv(t)
	role := e.role(t, "app", "system:serviceaccount:*")
	sub := "system:serviceaccount:default:app"
	now := time.Now()
	with := func(k string, v any) map[string]any {
		c := e.iss.Claims(sub, "sts.amazonaws.com")
		c[k] = v
		return c
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	good := e.iss.Token(t, e.iss.Claims(sub, "sts.amazonaws.com"))
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + b64url(e.iss.Claims("system:serviceaccount:kube-system:admin", "sts.amazonaws.com")) + "." + parts[2]
	var tokens []string
	for _, tt := range []struct {
		name, token, code, msg string
	}{
		{"expired", e.iss.Token(t, with("exp", now.Add(-time.Minute).Unix())), "ExpiredTokenException", "Token expired: current date/time"},
		{"not yet valid", e.iss.Token(t, with("nbf", now.Add(time.Hour).Unix())), "InvalidIdentityToken", "not valid yet"},
		{"wrong audience", e.iss.Token(t, with("aud", "someone-else")), "InvalidIdentityToken", "Incorrect token audience"},
		{"wrong issuer", e.iss.Token(t, with("iss", "https://token.example.com")), "InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://token.example.com"},
		{"unknown key id", oidctest.SignWith(t, other, "not-a-key", jose.RS256, e.iss.Claims(sub, "sts.amazonaws.com")), "InvalidIdentityToken", "Couldn't retrieve verification key"},
		{"alg none", b64url(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64url(e.iss.Claims(sub, "sts.amazonaws.com")) + ".", "InvalidIdentityToken", "supported algorithm"},
		{"tampered signature", tampered, "InvalidIdentityToken", "signature"},
		{"sub the trust policy refuses", e.iss.Token(t, e.iss.Claims("repo:acme/app", "sts.amazonaws.com")), "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
	} {
		tokens = append(tokens, tt.token)
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.assume(t, role, tt.token)
			apiErr(t, err, tt.code, tt.msg)
			if out != nil {
				t.Fatalf("credentials issued: %+v", out)
			}
		})
	}
	if _, err := e.assume(t, role, good); err != nil {
		t.Fatalf("the good token: %v", err)
	}

	// Only these operations are served unsigned: the others still need a
	// signature.
	_, err := e.anonymous().GetCallerIdentity(testserver.Context(t), &sts.GetCallerIdentityInput{})
	apiErr(t, err, "MissingAuthenticationToken", "")
	_, err = e.anonymous().AssumeRole(testserver.Context(t), &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("x")})
	apiErr(t, err, "MissingAuthenticationToken", "")
	// A request that is signed is verified, whatever it carries (the SDKs
	// never sign this operation: sign one by hand).
	signed := func(secret string) *http.Response {
		form := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {role}, "RoleSessionName": {"signed"}, "WebIdentityToken": {good}}
		body := form.Encode()
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(testserver.Context(t), aws.Credentials{AccessKeyID: testserver.AccessKey, SecretAccessKey: secret}, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := signed("wrong-secret"); resp.StatusCode != 403 {
		t.Fatalf("AssumeRoleWithWebIdentity signed with a wrong secret: %s", resp.Status)
	}
	if resp := signed(testserver.SecretKey); resp.StatusCode != 200 {
		t.Fatalf("AssumeRoleWithWebIdentity signed: %s", resp.Status)
	}

	// The audit log names the provider and subject, never the token.
	e.srv.Stop(t)
	log, err := os.ReadFile(filepath.Join(e.srv.DataDir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range append(tokens, good) {
		if bytes.Contains(log, []byte(strings.Split(tok, ".")[1])) {
			t.Fatal("the audit log holds a web identity token")
		}
	}
	if !bytes.Contains(log, []byte(`"identityProvider":"`+e.provider+`"`)) || !bytes.Contains(log, []byte(`"eventName":"AssumeRoleWithWebIdentity"`)) {
		t.Fatalf("no AssumeRoleWithWebIdentity event naming the provider in the audit log")
	}
}

// The AWS CLI does the same: with AWS_WEB_IDENTITY_TOKEN_FILE and
// AWS_ROLE_ARN and no access key it calls KMS, and assume-role-with-web-identity
// answers with the federated session.
func TestWebIdentityAWSCLI(t *testing.T) {
	needAWSCLI(t)
	e := newOIDCEnv(t)
	role := e.role(t, "cli", "system:serviceaccount:*")
	token := e.iss.Token(t, e.iss.Claims("system:serviceaccount:tools:cli", "sts.amazonaws.com"))
	home := t.TempDir()
	// CLIs from 2.13 on take the STS endpoint from AWS_ENDPOINT_URL_STS;
	// older ones (Debian 12 has 2.9) only from their data path: an endpoint
	// rule set for STS that names Trent (AWS_DATA_PATH, botocore's loader).
	rules := filepath.Join(home, "data", "sts", "2011-06-15")
	if err := os.MkdirAll(rules, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(rules, "endpoint-rule-set-1.json"), `{"version":"1.0","parameters":{
		"Region":{"builtIn":"AWS::Region","required":false,"documentation":"","type":"String"},
		"UseDualStack":{"builtIn":"AWS::UseDualStack","required":true,"default":false,"documentation":"","type":"Boolean"},
		"UseFIPS":{"builtIn":"AWS::UseFIPS","required":true,"default":false,"documentation":"","type":"Boolean"},
		"Endpoint":{"builtIn":"SDK::Endpoint","required":false,"documentation":"","type":"String"},
		"UseGlobalEndpoint":{"builtIn":"AWS::STS::UseGlobalEndpoint","required":true,"default":false,"documentation":"","type":"Boolean"}},
		"rules":[{"conditions":[],"endpoint":{"url":"`+e.srv.URL+`","properties":{},"headers":{}},"type":"endpoint"}]}`)
	run := func(extra []string, args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsCLI, args...)
		cmd.Env = cliEnv(home, append([]string{"AWS_ENDPOINT_URL=" + e.srv.URL, "AWS_ENDPOINT_URL_STS=" + e.srv.URL, "AWS_DATA_PATH=" + filepath.Join(home, "data")}, extra...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	chain := []string{"AWS_WEB_IDENTITY_TOKEN_FILE=" + tokenFile(t, token), "AWS_ROLE_ARN=" + role, "AWS_ROLE_SESSION_NAME=cli-session"}
	var who struct{ Arn string }
	if err := json.Unmarshal(run(chain, "sts", "get-caller-identity", "--output", "json"), &who); err != nil || who.Arn != "arn:aws:sts::"+acct+":assumed-role/cli/cli-session" {
		t.Fatalf("get-caller-identity: %+v %v", who, err)
	}
	run(chain, "kms", "encrypt", "--endpoint-url", e.srv.URL, "--key-id", e.keyID, "--plaintext", "aGVsbG8=", "--output", "json")

	var out struct {
		Credentials                 struct{ AccessKeyId string }
		SubjectFromWebIdentityToken string
		Provider                    string
	}
	raw := run(nil, "sts", "assume-role-with-web-identity", "--endpoint-url", e.srv.URL, "--role-arn", role, "--role-session-name", "direct", "--web-identity-token", token, "--output", "json")
	if err := json.Unmarshal(raw, &out); err != nil || !strings.HasPrefix(out.Credentials.AccessKeyId, "ASIA") ||
		out.SubjectFromWebIdentityToken != "system:serviceaccount:tools:cli" || out.Provider != e.provider {
		t.Fatalf("assume-role-with-web-identity: %s (%v)", raw, err)
	}
}

// Unsigned requests of any other action are refused as unauthenticated,
// as a plain HTTP client sends them.
func TestUnsignedOnlyWebIdentity(t *testing.T) {
	e := newOIDCEnv(t)
	form := url.Values{"Action": {"GetSessionToken"}, "Version": {"2011-06-15"}}
	resp, err := http.Post(e.srv.URL, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	body := new(bytes.Buffer)
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(body.String(), "MissingAuthenticationToken") {
		t.Fatalf("unsigned GetSessionToken: %d %s", resp.StatusCode, body)
	}
}

// Keys configured on a provider (TrentAdmin SetOpenIDConnectProviderKeys,
// as trent oidc set-keys sends it) are the only keys that verify its
// tokens: a token the issuer signs with a key left out is refused. Only a
// caller allowed iam:UpdateOpenIDConnectProviderThumbprint may set them.
func TestOIDCConfiguredKeysThroughAdmin(t *testing.T) {
	e := newOIDCEnv(t)
	role := e.role(t, "app", "system:serviceaccount:*")
	rootCreds := aws.Credentials{AccessKeyID: testserver.AccessKey, SecretAccessKey: testserver.SecretKey}
	other := oidctest.New(t) // another issuer's keys, configured in place of this one's
	if got := adminCall(t, e.srv, rootCreds, "SetOpenIDConnectProviderKeys", map[string]any{"OpenIDConnectProviderArn": e.provider, "Keys": json.RawMessage(other.JWKS())}); got.status != 200 {
		t.Fatalf("SetOpenIDConnectProviderKeys: %d %s", got.status, got.body)
	}
	_, err := e.assume(t, role, e.iss.Token(t, e.iss.Claims("system:serviceaccount:a:b", "sts.amazonaws.com")))
	apiErr(t, err, "InvalidIdentityToken", "")
	if got := adminCall(t, e.srv, rootCreds, "SetOpenIDConnectProviderKeys", map[string]any{"OpenIDConnectProviderArn": e.provider, "Keys": json.RawMessage(e.iss.JWKS())}); got.status != 200 {
		t.Fatalf("SetOpenIDConnectProviderKeys: %d %s", got.status, got.body)
	}
	if _, err := e.assume(t, role, e.iss.Token(t, e.iss.Claims("system:serviceaccount:a:b", "sts.amazonaws.com"))); err != nil {
		t.Fatal(err)
	}
	bob := newUser(t, e.srv, e.root, "bob")
	creds, _ := bob.iam.Options().Credentials.Retrieve(testserver.Context(t))
	if got := adminCall(t, e.srv, creds, "SetOpenIDConnectProviderKeys", map[string]any{"OpenIDConnectProviderArn": e.provider}); got.status == 200 || !strings.Contains(got.body, "AccessDenied") {
		t.Fatalf("SetOpenIDConnectProviderKeys by a user without permission: %d %s", got.status, got.body)
	}
}
