package iam

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

const simKey = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func TestSimulateCustomPolicy(t *testing.T) {
	d, _, root := newDirectory(t)
	ctx := context.Background()
	identity := `{"Version":"2012-10-17","Statement":[
  {"Sid":"Use","Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*","Condition":{"StringEquals":{"kms:EncryptionContext:tenant":"acme"}}},
  {"Sid":"NoDecryptOutside","Effect":"Deny","Action":"kms:Decrypt","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}
]}`
	sim := func(in *iamapi.SimulateCustomPolicyRequest) map[string]iamapi.EvaluationResult {
		t.Helper()
		out, err := d.SimulateCustomPolicy(ctx, root, in)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]iamapi.EvaluationResult{}
		for _, r := range out.EvaluationResults {
			m[*r.EvalActionName] = r
		}
		return m
	}
	ctxEntry := func(k, typ string, v ...string) iamapi.ContextEntry {
		return iamapi.ContextEntry{ContextKeyName: wire.Ptr(k), ContextKeyType: wire.Ptr(typ), ContextKeyValues: v}
	}

	// Without the context the conditions read: implicitly denied, and the
	// keys named missing.
	r := sim(&iamapi.SimulateCustomPolicyRequest{PolicyInputList: []string{identity}, ActionNames: []string{"kms:Encrypt", "kms:CreateKey"}})
	if e := r["kms:Encrypt"]; *e.EvalDecision != "implicitDeny" || !slices.Equal(e.MissingContextValues, []string{"kms:EncryptionContext:tenant"}) || *e.EvalResourceName != "*" {
		t.Fatalf("Encrypt without context = %+v", e)
	}
	if e := r["kms:CreateKey"]; *e.EvalDecision != "implicitDeny" || len(e.MissingContextValues) != 0 {
		t.Fatalf("CreateKey = %+v", e)
	}
	// With it: allowed by the Use statement, whose place in the document is
	// reported.
	entries := []iamapi.ContextEntry{ctxEntry("kms:EncryptionContext:tenant", "string", "acme"), ctxEntry("aws:SecureTransport", "boolean", "false")}
	r = sim(&iamapi.SimulateCustomPolicyRequest{PolicyInputList: []string{identity}, ActionNames: []string{"kms:Encrypt", "kms:Decrypt"}, ContextEntries: entries})
	e := r["kms:Encrypt"]
	if *e.EvalDecision != "allowed" || len(e.MatchedStatements) != 1 {
		t.Fatalf("Encrypt with context = %+v", e)
	}
	if st := e.MatchedStatements[0]; *st.SourcePolicyId != "PolicyInputList.1" || *st.SourcePolicyType != "none" ||
		*st.StartPosition.Line != 2 || *st.StartPosition.Column != 3 || *st.EndPosition.Line != 2 {
		t.Fatalf("matched statement = %+v %+v %+v", st, st.StartPosition, st.EndPosition)
	}
	// An explicit deny reports the deny alone.
	e = r["kms:Decrypt"]
	if *e.EvalDecision != "explicitDeny" || len(e.MatchedStatements) != 1 || *e.MatchedStatements[0].StartPosition.Line != 3 {
		t.Fatalf("Decrypt over plain HTTP = %+v", e)
	}

	// A key policy as ResourcePolicy, for another account's caller: the key
	// policy and the caller's account must both allow; per resource results.
	keyPolicy := `{"Version":"2012-10-17","Statement":[{"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"kms:Encrypt","Resource":"*"}]}`
	in := &iamapi.SimulateCustomPolicyRequest{PolicyInputList: []string{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`},
		ActionNames: []string{"kms:Encrypt", "kms:Decrypt"}, ResourceArns: []string{simKey}, ResourcePolicy: wire.Ptr(keyPolicy),
		CallerArn: wire.Ptr("arn:aws:iam::444455556666:user/partner")}
	r = sim(in)
	if e := r["kms:Encrypt"]; *e.EvalDecision != "allowed" || len(e.ResourceSpecificResults) != 1 || *e.EvalResourceName != "arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}" ||
		e.EvalDecisionDetails["Resource Policy"] != "allowed" || e.EvalDecisionDetails["IAM Policy"] != "allowed" {
		t.Fatalf("Encrypt across accounts = %+v", e)
	}
	if e := r["kms:Decrypt"]; *e.EvalDecision != "implicitDeny" || e.EvalDecisionDetails["Resource Policy"] != "implicitDeny" || *e.ResourceSpecificResults[0].EvalResourceDecision != "implicitDeny" {
		t.Fatalf("Decrypt across accounts = %+v", e)
	}
	// A resource policy needs a caller for its Principal.
	in.CallerArn = nil
	if _, err := d.SimulateCustomPolicy(ctx, root, in); !isCode(err, "InvalidInput") {
		t.Fatalf("ResourcePolicy without CallerArn: %v", err)
	}

	// SCP levels: every level must allow.
	scpAll := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	scpIAM := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`
	r = sim(&iamapi.SimulateCustomPolicyRequest{PolicyInputList: []string{scpAll}, ActionNames: []string{"kms:Encrypt", "iam:ListUsers"},
		OrderedOrganizationPolicyInputList: []iamapi.OrderedOrganizationPolicyType{{ServiceControlPolicyInputList: []string{scpAll}}, {ServiceControlPolicyInputList: []string{scpIAM}}}})
	if e := r["kms:Encrypt"]; *e.EvalDecision != "implicitDeny" || *e.OrganizationsDecisionDetail.AllowedByOrganizations {
		t.Fatalf("Encrypt under SCPs that allow only IAM = %+v", e)
	}
	if e := r["iam:ListUsers"]; *e.EvalDecision != "allowed" || !*e.OrganizationsDecisionDetail.AllowedByOrganizations {
		t.Fatalf("ListUsers under the same SCPs = %+v", e)
	}
	// A boundary.
	r = sim(&iamapi.SimulateCustomPolicyRequest{PolicyInputList: []string{scpAll}, PermissionsBoundaryPolicyInputList: []string{scpIAM}, ActionNames: []string{"kms:Encrypt"}})
	if e := r["kms:Encrypt"]; *e.EvalDecision != "implicitDeny" || *e.PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary {
		t.Fatalf("Encrypt outside the boundary = %+v", e)
	}
	// Invalid input.
	for name, in := range map[string]*iamapi.SimulateCustomPolicyRequest{
		"a wildcard action":  {PolicyInputList: []string{scpAll}, ActionNames: []string{"kms:*"}},
		"a session caller":   {PolicyInputList: []string{scpAll}, ActionNames: []string{"kms:Encrypt"}, CallerArn: wire.Ptr("arn:aws:sts::111122223333:assumed-role/r/s")},
		"two boundaries":     {PolicyInputList: []string{scpAll}, ActionNames: []string{"kms:Encrypt"}, PermissionsBoundaryPolicyInputList: []string{scpAll, scpAll}},
		"a scalar with more": {PolicyInputList: []string{scpAll}, ActionNames: []string{"kms:Encrypt"}, ContextEntries: []iamapi.ContextEntry{ctxEntry("aws:SourceIp", "ip", "10.0.0.1", "10.0.0.2")}},
	} {
		if _, err := d.SimulateCustomPolicy(ctx, root, in); !isCode(err, "InvalidInput") {
			t.Errorf("%s: %v, want InvalidInput", name, err)
		}
	}
	if _, err := d.SimulateCustomPolicy(ctx, root, &iamapi.SimulateCustomPolicyRequest{PolicyInputList: []string{`{"Statement":[]}`}, ActionNames: []string{"kms:Encrypt"}}); !isCode(err, "MalformedPolicyDocument") {
		t.Errorf("an invalid policy: %v", err)
	}
	keys, err := d.GetContextKeysForCustomPolicy(ctx, root, &iamapi.GetContextKeysForCustomPolicyRequest{PolicyInputList: []string{identity, keyPolicy}})
	if err != nil || !slices.Equal(keys.ContextKeyNames, []string{"aws:SecureTransport", "kms:EncryptionContext:tenant"}) {
		t.Fatalf("GetContextKeysForCustomPolicy = %+v, %v", keys, err)
	}
}

// A user's policies, its groups' and its boundary; exclusions; the
// simulation as another caller.
func TestSimulatePrincipalPolicy(t *testing.T) {
	d, _, root := newDirectory(t)
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(d.CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: wire.Ptr("alice")}))
	must(d.CreateGroup(ctx, root, &iamapi.CreateGroupRequest{GroupName: wire.Ptr("crypto")}))
	must(d.AddUserToGroup(ctx, root, &iamapi.AddUserToGroupRequest{GroupName: wire.Ptr("crypto"), UserName: wire.Ptr("alice")}))
	must(d.PutGroupPolicy(ctx, root, &iamapi.PutGroupPolicyRequest{GroupName: wire.Ptr("crypto"), PolicyName: wire.Ptr("encrypt"),
		PolicyDocument: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}]}`)}))
	must(d.AttachUserPolicy(ctx, root, &iamapi.AttachUserPolicyRequest{UserName: wire.Ptr("alice"), PolicyArn: wire.Ptr("arn:aws:iam::aws:policy/IAMFullAccess")}))
	src := "arn:aws:iam::111122223333:user/alice"
	out, err := d.SimulatePrincipalPolicy(ctx, root, &iamapi.SimulatePrincipalPolicyRequest{PolicySourceArn: wire.Ptr(src), ActionNames: []string{"kms:Encrypt", "iam:ListUsers", "kms:Decrypt"},
		ContextEntries: []iamapi.ContextEntry{{ContextKeyName: wire.Ptr("aws:RequestedRegion"), ContextKeyType: wire.Ptr("string"), ContextKeyValues: []string{"us-east-1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]iamapi.EvaluationResult{}
	for _, r := range out.EvaluationResults {
		got[*r.EvalActionName] = r
	}
	if e := got["kms:Encrypt"]; *e.EvalDecision != "allowed" || *e.MatchedStatements[0].SourcePolicyId != "encrypt" || *e.MatchedStatements[0].SourcePolicyType != "group" {
		t.Fatalf("Encrypt through the group = %+v", e)
	}
	if e := got["iam:ListUsers"]; *e.EvalDecision != "allowed" || *e.MatchedStatements[0].SourcePolicyType != "aws-managed" || *e.MatchedStatements[0].SourcePolicyId != "arn:aws:iam::aws:policy/IAMFullAccess" {
		t.Fatalf("ListUsers through the managed policy = %+v", e)
	}
	if e := got["kms:Decrypt"]; *e.EvalDecision != "implicitDeny" {
		t.Fatalf("Decrypt = %+v", e)
	}
	// Excluding the managed policy, and the group's inline one.
	out, err = d.SimulatePrincipalPolicy(ctx, root, &iamapi.SimulatePrincipalPolicyRequest{PolicySourceArn: wire.Ptr(src), ActionNames: []string{"iam:ListUsers", "kms:Encrypt"},
		PolicyExclusionList: []iamapi.PolicyIdentifier{{PolicyArn: wire.Ptr("arn:aws:iam::aws:policy/IAMFullAccess")},
			{InlinePolicyIdentifier: &iamapi.InlinePolicyIdentifierType{PolicyName: wire.Ptr("encrypt"), AttachmentType: wire.Ptr("group"), AttachmentName: wire.Ptr("crypto")}}}})
	if err != nil || *out.EvaluationResults[0].EvalDecision != "implicitDeny" || *out.EvaluationResults[1].EvalDecision != "implicitDeny" {
		t.Fatalf("with exclusions = %+v, %v", out, err)
	}
	// A boundary attached to the user limits it.
	must(d.PutUserPermissionsBoundary(ctx, root, &iamapi.PutUserPermissionsBoundaryRequest{UserName: wire.Ptr("alice"), PermissionsBoundary: wire.Ptr("arn:aws:iam::aws:policy/IAMFullAccess")}))
	out, err = d.SimulatePrincipalPolicy(ctx, root, &iamapi.SimulatePrincipalPolicyRequest{PolicySourceArn: wire.Ptr(src), ActionNames: []string{"kms:Encrypt"},
		ContextEntries: []iamapi.ContextEntry{{ContextKeyName: wire.Ptr("aws:RequestedRegion"), ContextKeyType: wire.Ptr("string"), ContextKeyValues: []string{"us-east-1"}}}})
	if err != nil || *out.EvaluationResults[0].EvalDecision != "implicitDeny" || *out.EvaluationResults[0].PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary {
		t.Fatalf("within the boundary = %+v, %v", out, err)
	}
	if _, err := d.SimulatePrincipalPolicy(ctx, root, &iamapi.SimulatePrincipalPolicyRequest{PolicySourceArn: wire.Ptr("arn:aws:iam::111122223333:user/nobody"), ActionNames: []string{"kms:Encrypt"}}); !isCode(err, "NoSuchEntity") {
		t.Fatalf("an unknown user: %v", err)
	}
	keys, err := d.GetContextKeysForPrincipalPolicy(ctx, root, &iamapi.GetContextKeysForPrincipalPolicyRequest{PolicySourceArn: wire.Ptr(src)})
	if err != nil || !slices.Equal(keys.ContextKeyNames, []string{"aws:RequestedRegion"}) {
		t.Fatalf("GetContextKeysForPrincipalPolicy = %+v, %v", keys, err)
	}
}

func isCode(err error, code string) bool {
	var we *wire.Error
	return errors.As(err, &we) && we.Code == code
}

// ResourceHandlingOption names an EC2 scenario, which Trent cannot simulate:
// refused, never accepted and ignored.
func TestSimulationRefusesResourceHandlingOption(t *testing.T) {
	d, _, root := newDirectory(t)
	ctx := context.Background()
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}`
	in := &iamapi.SimulateCustomPolicyRequest{PolicyInputList: []string{doc}, ActionNames: []string{"kms:Encrypt"}}
	if _, err := d.SimulateCustomPolicy(ctx, root, in); err != nil {
		t.Fatal(err)
	}
	in.ResourceHandlingOption = wire.Ptr("EC2-VPC-EBS")
	if _, err := d.SimulateCustomPolicy(ctx, root, in); !isCode(err, "InvalidInput") {
		t.Fatalf("SimulateCustomPolicy with ResourceHandlingOption: %v", err)
	}
	if _, err := d.CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: wire.Ptr("bob")}); err != nil {
		t.Fatal(err)
	}
	pin := &iamapi.SimulatePrincipalPolicyRequest{PolicySourceArn: wire.Ptr("arn:aws:iam::111122223333:user/bob"), ActionNames: []string{"kms:Encrypt"}, ResourceHandlingOption: wire.Ptr("EC2-VPC-InstanceStore")}
	if _, err := d.SimulatePrincipalPolicy(ctx, root, pin); !isCode(err, "InvalidInput") {
		t.Fatalf("SimulatePrincipalPolicy with ResourceHandlingOption: %v", err)
	}
}
