package wire_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
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

// sameForm checks that the SDK sent exactly the literal form.
func sameForm(t *testing.T, sent url.Values, literal string) {
	t.Helper()
	want, err := url.ParseQuery(literal)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sent, want) {
		t.Errorf("the SDK sent\n%s\nwant\n%s", sent.Encode(), want.Encode())
	}
}

func TestSDKCreateUser(t *testing.T) {
	var got iamapi.CreateUserRequest
	var sent url.Values
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
	}, &sent)
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
	sameForm(t, sent, "Action=CreateUser&Version=2010-05-08&UserName=bob&Path=%2Fd%26v%3C1%3E%2F"+
		"&Tags.member.1.Key=team&Tags.member.1.Value=a%2Bb%3Dc+%40x&Tags.member.2.Key=empty&Tags.member.2.Value=")
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
	var sent url.Values
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
	}, &sent)
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
	sameForm(t, sent, "Action=AssumeRole&Version=2011-06-15"+
		"&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdemo&RoleSessionName=session-1"+
		"&Policy="+url.QueryEscape(policy)+"&DurationSeconds=3600"+
		"&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"+
		"&PolicyArns.member.2.arn=arn%3Aaws%3Aiam%3A%3A111122223333%3Apolicy%2Fp2"+
		"&Tags.member.1.Key=project&Tags.member.1.Value=trent&Tags.member.2.Key=cost-center&Tags.member.2.Value=42"+
		"&TransitiveTagKeys.member.1=project&TransitiveTagKeys.member.2=cost-center&SourceIdentity=bob")
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

func TestSDKAssumeRoleEmptyList(t *testing.T) {
	var got stsapi.AssumeRoleRequest
	var sent url.Values
	srv := queryServer(t, stsapi.Namespace, stsapi.APIVersion, map[string]queryHandler{
		"AssumeRole": func(p url.Values) (any, error) {
			if err := wire.DecodeQuery(p, &got); err != nil {
				return nil, err
			}
			return &stsapi.AssumeRoleResponse{}, nil
		},
	}, &sent)
	_, err := stsClient(srv).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn:           aws.String("arn:aws:iam::111122223333:role/demo"),
		RoleSessionName:   aws.String("s1"),
		TransitiveTagKeys: []string{},
	})
	if err != nil {
		t.Fatal(err)
	}
	sameForm(t, sent, "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdemo&RoleSessionName=s1&TransitiveTagKeys=")
	if got.TransitiveTagKeys == nil || len(got.TransitiveTagKeys) != 0 || got.Tags != nil {
		t.Errorf("server decoded %+v", got)
	}
}

// TestSDKMapAndBlob covers a map (GetAccountSummary) and a blob with an
// enum and a timestamp (GetCredentialReport), both without input members.
func TestSDKMapAndBlob(t *testing.T) {
	report := []byte("user,arn,user_creation_time\n<root_account>,arn:aws:iam::111122223333:root,2026-01-02T03:04:05+00:00\n")
	srv := queryServer(t, iamapi.Namespace, iamapi.APIVersion, map[string]queryHandler{
		"GetAccountSummary": func(url.Values) (any, error) {
			return &iamapi.GetAccountSummaryResponse{SummaryMap: map[string]int32{"Users": 2, "UsersQuota": 5000, "AccessKeysPerUserQuota": 2}}, nil
		},
		"GetCredentialReport": func(url.Values) (any, error) {
			return &iamapi.GetCredentialReportResponse{Content: report, ReportFormat: wire.Ptr("text/csv"), GeneratedTime: createdTS()}, nil
		},
	}, nil)
	c := iamClient(srv)
	sum, err := c.GetAccountSummary(context.Background(), &iam.GetAccountSummaryInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.SummaryMap) != 3 || sum.SummaryMap["UsersQuota"] != 5000 || sum.SummaryMap["Users"] != 2 {
		t.Errorf("SDK read %v", sum.SummaryMap)
	}
	rep, err := c.GetCredentialReport(context.Background(), &iam.GetCredentialReportInput{})
	if err != nil {
		t.Fatal(err)
	}
	if string(rep.Content) != string(report) || rep.ReportFormat != iamtypes.ReportFormatTypeTextCsv || !aws.ToTime(rep.GeneratedTime).Equal(created) {
		t.Errorf("SDK read %+v", rep)
	}
}

// TestSDKBooleansAndNoOutput covers booleans and integers in a request and
// an operation without output (UpdateAccountPasswordPolicy), and a boolean
// with an enum in ListPolicies.
func TestSDKBooleansAndNoOutput(t *testing.T) {
	var pol iamapi.UpdateAccountPasswordPolicyRequest
	var list iamapi.ListPoliciesRequest
	var sent url.Values
	srv := queryServer(t, iamapi.Namespace, iamapi.APIVersion, map[string]queryHandler{
		"UpdateAccountPasswordPolicy": func(p url.Values) (any, error) {
			return nil, wire.DecodeQuery(p, &pol)
		},
		"ListPolicies": func(p url.Values) (any, error) {
			if err := wire.DecodeQuery(p, &list); err != nil {
				return nil, err
			}
			return &iamapi.ListPoliciesResponse{Policies: []iamapi.Policy{{
				PolicyName: wire.Ptr("p"), Arn: wire.Ptr("arn:aws:iam::111122223333:policy/p"),
				AttachmentCount: wire.Ptr[int32](3), IsAttachable: wire.Ptr(true), CreateDate: createdTS(), UpdateDate: createdTS(),
			}}, IsTruncated: wire.Ptr(false)}, nil
		},
	}, &sent)
	c := iamClient(srv)
	_, err := c.UpdateAccountPasswordPolicy(context.Background(), &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength: aws.Int32(14), RequireSymbols: true, RequireNumbers: false, MaxPasswordAge: aws.Int32(90), HardExpiry: aws.Bool(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK leaves out a plain bool that is false (RequireNumbers), but
	// sends a *bool (HardExpiry) that is set.
	sameForm(t, sent, "Action=UpdateAccountPasswordPolicy&Version=2010-05-08&MinimumPasswordLength=14&RequireSymbols=true"+
		"&MaxPasswordAge=90&HardExpiry=false")
	if wire.Int32(pol.MinimumPasswordLength) != 14 || !wire.Bool(pol.RequireSymbols) || pol.RequireNumbers != nil ||
		wire.Int32(pol.MaxPasswordAge) != 90 || pol.HardExpiry == nil || pol.PasswordReusePrevention != nil {
		t.Errorf("server decoded %+v", pol)
	}

	out, err := c.ListPolicies(context.Background(), &iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal, OnlyAttached: true})
	if err != nil {
		t.Fatal(err)
	}
	if wire.String(list.Scope) != "Local" || !wire.Bool(list.OnlyAttached) {
		t.Errorf("server decoded %+v", list)
	}
	if len(out.Policies) != 1 || aws.ToInt32(out.Policies[0].AttachmentCount) != 3 || !out.Policies[0].IsAttachable || out.IsTruncated {
		t.Errorf("SDK read %+v", out)
	}
}

// TestSDKErrors checks what the SDK sees of a ValidationError, an error of
// the model, an unknown action and an internal failure.
func TestSDKErrors(t *testing.T) {
	srv := queryServer(t, iamapi.Namespace, iamapi.APIVersion, map[string]queryHandler{
		"CreateUser": func(p url.Values) (any, error) {
			var in iamapi.CreateUserRequest
			if err := wire.DecodeQuery(p, &in); err != nil {
				return nil, err
			}
			return nil, iamapi.NewEntityAlreadyExistsException("User with name " + wire.String(in.UserName) + " already exists.")
		},
		"DeleteUser": func(url.Values) (any, error) {
			return nil, errors.New("store: disk on fire")
		},
	}, nil)
	c := iamClient(srv)
	_, err := c.CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String("bob!")})
	checkAPIError(t, err, "ValidationError", "1 validation error detected: Value 'bob!' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", 400)

	_, err = c.CreateUser(context.Background(), &iam.CreateUserInput{UserName: aws.String("bob")})
	var eae *iamtypes.EntityAlreadyExistsException
	if !errors.As(err, &eae) {
		t.Errorf("got %v, want EntityAlreadyExistsException", err)
	}
	checkAPIError(t, err, "EntityAlreadyExists", "User with name bob already exists.", 409)

	_, err = c.DeleteUser(context.Background(), &iam.DeleteUserInput{UserName: aws.String("bob")})
	checkAPIError(t, err, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.", 500)
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorFault() != smithy.FaultUnknown && ae.ErrorFault() != smithy.FaultServer {
		t.Errorf("fault %v", ae.ErrorFault())
	}

	_, err = c.GetUser(context.Background(), &iam.GetUserInput{})
	checkAPIError(t, err, "InvalidAction", "Could not find operation GetUser for version 2010-05-08", 400)
}
