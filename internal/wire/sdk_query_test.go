package wire_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

// These tests drive the real aws-sdk-go-v2 IAM and STS clients against a
// server that decodes with wire.DecodeQuery and answers with wire.WriteXML
// and wire.WriteXMLError: the SDK's serializers and deserializers are the
// reference for the form parameters and the XML.

const requestID = "4f3c2d1e-0000-4000-8000-000000000001"

// queryHandler handles one action: it decodes params into a request of
// its own and returns the result, or an error.
type queryHandler func(params url.Values) (any, error)

// queryServer serves the given actions of a Query service and records the
// last request's parameters in *last.
func queryServer(t *testing.T, ns, version string, handlers map[string]queryHandler, last *url.Values) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			wire.WriteXMLError(w, requestID, ns, err)
			return
		}
		action, v := wire.QueryAction(r.Form)
		if last != nil {
			*last = r.Form
		}
		h, ok := handlers[action]
		if !ok || v != version {
			wire.WriteXMLError(w, requestID, ns, wire.Errorf("InvalidAction", 400, "Could not find operation %s for version %s", action, v))
			return
		}
		result, err := h(r.Form)
		if err != nil {
			wire.WriteXMLError(w, requestID, ns, err)
			return
		}
		wire.WriteXML(w, requestID, ns, action, result)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func sdkConfig() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
}

func iamClient(srv *httptest.Server) *iam.Client {
	return iam.NewFromConfig(sdkConfig(), func(o *iam.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

func stsClient(srv *httptest.Server) *sts.Client {
	return sts.NewFromConfig(sdkConfig(), func(o *sts.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

var created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func createdTS() *iamapi.Timestamp {
	ts := iamapi.Timestamp(created)
	return &ts
}

func TestSDKCreateUser(t *testing.T) {
	var got iamapi.CreateUserRequest
	srv := queryServer(t, iamapi.Namespace, iamapi.APIVersion, map[string]queryHandler{
		"CreateUser": func(p url.Values) (any, error) {
			if err := wire.DecodeQuery(p, &got); err != nil {
				return nil, err
			}
			return &iamapi.CreateUserResponse{User: &iamapi.User{
				Path:       got.Path,
				UserName:   got.UserName,
				UserId:     wire.Ptr("AIDAEXAMPLE1234567890"),
				Arn:        wire.Ptr("arn:aws:iam::111122223333:user/division/bob"),
				CreateDate: createdTS(),
				Tags:       got.Tags,
			}}, nil
		},
	}, nil)
	out, err := iamClient(srv).CreateUser(context.Background(), &iam.CreateUserInput{
		UserName: aws.String("bob"),
		Path:     aws.String("/d&v<1>/"),
		Tags: []iamtypes.Tag{
			{Key: aws.String("team"), Value: aws.String("a+b=c @x")},
			{Key: aws.String("empty"), Value: aws.String("")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if wire.String(got.UserName) != "bob" || wire.String(got.Path) != "/d&v<1>/" || len(got.Tags) != 2 ||
		wire.String(got.Tags[0].Value) != "a+b=c @x" || got.Tags[1].Value == nil || *got.Tags[1].Value != "" {
		t.Errorf("server decoded %+v", got)
	}
	u := out.User
	if aws.ToString(u.UserName) != "bob" || aws.ToString(u.Path) != "/d&v<1>/" || aws.ToString(u.UserId) != "AIDAEXAMPLE1234567890" ||
		!aws.ToTime(u.CreateDate).Equal(created) || len(u.Tags) != 2 || aws.ToString(u.Tags[0].Value) != "a+b=c @x" {
		t.Errorf("SDK read %+v", u)
	}
}

func TestSDKListUsers(t *testing.T) {
	var got iamapi.ListUsersRequest
	later := iamapi.Timestamp(created.Add(90*time.Minute + 123*time.Millisecond))
	srv := queryServer(t, iamapi.Namespace, iamapi.APIVersion, map[string]queryHandler{
		"ListUsers": func(p url.Values) (any, error) {
			if err := wire.DecodeQuery(p, &got); err != nil {
				return nil, err
			}
			return &iamapi.ListUsersResponse{
				Users: []iamapi.User{
					{UserName: wire.Ptr("alice"), Path: wire.Ptr("/"), UserId: wire.Ptr("AIDA1"), Arn: wire.Ptr("arn:aws:iam::111122223333:user/alice"), CreateDate: createdTS()},
					{UserName: wire.Ptr("bob"), Path: wire.Ptr("/"), UserId: wire.Ptr("AIDA2"), Arn: wire.Ptr("arn:aws:iam::111122223333:user/bob"), CreateDate: createdTS(), PasswordLastUsed: &later},
				},
				IsTruncated: wire.Ptr(true),
				Marker:      wire.Ptr("next"),
			}, nil
		},
	}, nil)
	out, err := iamClient(srv).ListUsers(context.Background(), &iam.ListUsersInput{PathPrefix: aws.String("/"), MaxItems: aws.Int32(2), Marker: aws.String("m")})
	if err != nil {
		t.Fatal(err)
	}
	if wire.String(got.PathPrefix) != "/" || wire.Int32(got.MaxItems) != 2 || wire.String(got.Marker) != "m" {
		t.Errorf("server decoded %+v", got)
	}
	if len(out.Users) != 2 || aws.ToString(out.Users[1].UserName) != "bob" || !out.IsTruncated || aws.ToString(out.Marker) != "next" ||
		!aws.ToTime(out.Users[0].CreateDate).Equal(created) || !aws.ToTime(out.Users[1].PasswordLastUsed).Equal(later.Time()) ||
		out.Users[0].PasswordLastUsed != nil {
		t.Errorf("SDK read %+v", out)
	}
}

func TestSDKGetUserAndNoSuchEntity(t *testing.T) {
	srv := queryServer(t, iamapi.Namespace, iamapi.APIVersion, map[string]queryHandler{
		"GetUser": func(p url.Values) (any, error) {
			var in iamapi.GetUserRequest
			if err := wire.DecodeQuery(p, &in); err != nil {
				return nil, err
			}
			if wire.String(in.UserName) != "alice" {
				return nil, iamapi.NewNoSuchEntityException("The user with name " + wire.String(in.UserName) + " cannot be found.")
			}
			return &iamapi.GetUserResponse{User: &iamapi.User{UserName: in.UserName, Path: wire.Ptr("/"), UserId: wire.Ptr("AIDA1"),
				Arn: wire.Ptr("arn:aws:iam::111122223333:user/alice"), CreateDate: createdTS()}}, nil
		},
	}, nil)
	c := iamClient(srv)
	out, err := c.GetUser(context.Background(), &iam.GetUserInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.User.Arn) != "arn:aws:iam::111122223333:user/alice" {
		t.Errorf("SDK read %+v", out.User)
	}

	_, err = c.GetUser(context.Background(), &iam.GetUserInput{UserName: aws.String("bob")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("got %v, want NoSuchEntityException", err)
	}
	checkAPIError(t, err, "NoSuchEntity", "The user with name bob cannot be found.", 404)
}

func checkAPIError(t *testing.T, err error, code, msg string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want an API error", err)
	}
	if ae.ErrorCode() != code || ae.ErrorMessage() != msg {
		t.Errorf("got %s %q, want %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Errorf("got %v, want HTTP %d", err, status)
	}
}

func TestSDKCreateAccessKey(t *testing.T) {
	srv := queryServer(t, iamapi.Namespace, iamapi.APIVersion, map[string]queryHandler{
		"CreateAccessKey": func(p url.Values) (any, error) {
			var in iamapi.CreateAccessKeyRequest
			if err := wire.DecodeQuery(p, &in); err != nil {
				return nil, err
			}
			return &iamapi.CreateAccessKeyResponse{AccessKey: &iamapi.AccessKey{
				UserName:        in.UserName,
				AccessKeyId:     wire.Ptr("AKIAIOSFODNN7EXAMPLE"),
				Status:          wire.Ptr("Active"),
				SecretAccessKey: wire.Ptr("wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"),
				CreateDate:      createdTS(),
			}}, nil
		},
	}, nil)
	out, err := iamClient(srv).CreateAccessKey(context.Background(), &iam.CreateAccessKeyInput{UserName: aws.String("bob")})
	if err != nil {
		t.Fatal(err)
	}
	k := out.AccessKey
	if aws.ToString(k.UserName) != "bob" || aws.ToString(k.AccessKeyId) != "AKIAIOSFODNN7EXAMPLE" || k.Status != iamtypes.StatusTypeActive ||
		aws.ToString(k.SecretAccessKey) != "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY" || !aws.ToTime(k.CreateDate).Equal(created) {
		t.Errorf("SDK read %+v", k)
	}
}

func TestSDKGetCallerIdentity(t *testing.T) {
	srv := queryServer(t, stsapi.Namespace, stsapi.APIVersion, map[string]queryHandler{
		"GetCallerIdentity": func(p url.Values) (any, error) {
			var in stsapi.GetCallerIdentityRequest
			if err := wire.DecodeQuery(p, &in); err != nil {
				return nil, err
			}
			return &stsapi.GetCallerIdentityResponse{
				UserId:  wire.Ptr("AIDAEXAMPLE"),
				Account: wire.Ptr("111122223333"),
				Arn:     wire.Ptr("arn:aws:iam::111122223333:user/bob"),
			}, nil
		},
	}, nil)
	out, err := stsClient(srv).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "111122223333" || aws.ToString(out.Arn) != "arn:aws:iam::111122223333:user/bob" || aws.ToString(out.UserId) != "AIDAEXAMPLE" {
		t.Errorf("SDK read %+v", out)
	}
}

func TestSDKAssumeRole(t *testing.T) {
	var got stsapi.AssumeRoleRequest
	expires := time.Date(2026, 1, 2, 4, 4, 5, 359_000_000, time.UTC)
	srv := queryServer(t, stsapi.Namespace, stsapi.APIVersion, map[string]queryHandler{
		"AssumeRole": func(p url.Values) (any, error) {
			if err := wire.DecodeQuery(p, &got); err != nil {
				return nil, err
			}
			exp := stsapi.Timestamp(expires)
			return &stsapi.AssumeRoleResponse{
				Credentials: &stsapi.Credentials{
					AccessKeyId:     wire.Ptr("ASIAEXAMPLE"),
					SecretAccessKey: wire.Ptr("secret"),
					SessionToken:    wire.Ptr("token+/="),
					Expiration:      &exp,
				},
				AssumedRoleUser: &stsapi.AssumedRoleUser{
					AssumedRoleId: wire.Ptr("AROAEXAMPLE:" + wire.String(got.RoleSessionName)),
					Arn:           wire.Ptr("arn:aws:sts::111122223333:assumed-role/demo/" + wire.String(got.RoleSessionName)),
				},
				PackedPolicySize: wire.Ptr[int32](6),
				SourceIdentity:   got.SourceIdentity,
			}, nil
		},
	}, nil)
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}`
	out, err := stsClient(srv).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::111122223333:role/demo"),
		RoleSessionName: aws.String("session-1"),
		Policy:          aws.String(policy),
		DurationSeconds: aws.Int32(3600),
		PolicyArns: []ststypes.PolicyDescriptorType{
			{Arn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")},
			{Arn: aws.String("arn:aws:iam::111122223333:policy/p2")},
		},
		Tags: []ststypes.Tag{
			{Key: aws.String("project"), Value: aws.String("trent")},
			{Key: aws.String("cost-center"), Value: aws.String("42")},
		},
		TransitiveTagKeys: []string{"project", "cost-center"},
		SourceIdentity:    aws.String("bob"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if wire.String(got.RoleArn) != "arn:aws:iam::111122223333:role/demo" || wire.String(got.Policy) != policy ||
		wire.Int32(got.DurationSeconds) != 3600 || len(got.PolicyArns) != 2 || wire.String(got.PolicyArns[1].Arn) != "arn:aws:iam::111122223333:policy/p2" ||
		len(got.Tags) != 2 || wire.String(got.Tags[1].Key) != "cost-center" || !slices.Equal(got.TransitiveTagKeys, []string{"project", "cost-center"}) {
		t.Errorf("server decoded %+v", got)
	}
	c := out.Credentials
	if aws.ToString(c.SessionToken) != "token+/=" || !aws.ToTime(c.Expiration).Equal(expires) ||
		aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::111122223333:assumed-role/demo/session-1" ||
		aws.ToInt32(out.PackedPolicySize) != 6 || aws.ToString(out.SourceIdentity) != "bob" {
		t.Errorf("SDK read %+v %+v", c, out.AssumedRoleUser)
	}
}
