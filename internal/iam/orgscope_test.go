package iam

import (
	"context"
	"testing"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
	"github.com/trentkms/trent/internal/wire/orgapi"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

// The SCPs of an account are those of every level from the root down to it,
// as the organization has them now: they reach a member account's principals
// (its root user included), never the management account's nor a
// service-linked role's, and change when the organization does.
func TestSCPsOfAnIdentity(t *testing.T) {
	d, root, rootID, member := newOrg(t)
	ctx := context.Background()
	ou, err := d.CreateOrganizationalUnit(ctx, root, &orgapi.CreateOrganizationalUnitRequest{ParentId: wire.Ptr(rootID), Name: wire.Ptr("prod")})
	if err != nil {
		t.Fatal(err)
	}
	ouID := *ou.OrganizationalUnit.Id
	if _, err := d.MoveAccount(ctx, root, &orgapi.MoveAccountRequest{AccountId: wire.Ptr(member), SourceParentId: wire.Ptr(rootID), DestinationParentId: wire.Ptr(ouID)}); err != nil {
		t.Fatal(err)
	}
	memberRoot, err := d.IdentityForARN("arn:aws:iam::" + member + ":root")
	if err != nil {
		t.Fatal(err)
	}
	org := d.organization()
	if len(memberRoot.SCPs) != 0 || len(memberRoot.OrgPaths) != 1 || memberRoot.OrgPaths[0] != org.ID+"/"+rootID+"/"+ouID+"/" {
		t.Fatalf("before SCPs are enabled: SCPs %v, paths %v", memberRoot.SCPs, memberRoot.OrgPaths)
	}
	if _, err := d.EnablePolicyType(ctx, root, &orgapi.EnablePolicyTypeRequest{RootId: wire.Ptr(rootID), PolicyType: wire.Ptr(scpType)}); err != nil {
		t.Fatal(err)
	}
	deny, err := d.CreateOrgPolicy(ctx, root, &orgapi.CreatePolicyRequest{Type: wire.Ptr(scpType), Name: wire.Ptr("no-deletion"), Description: wire.Ptr(""),
		Content: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Sid":"NoDeletion","Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.AttachPolicy(ctx, root, &orgapi.AttachPolicyRequest{PolicyId: deny.Policy.PolicySummary.Id, TargetId: wire.Ptr(ouID)}); err != nil {
		t.Fatal(err)
	}
	decide := func(id *authz.Identity, action string) authz.Decision {
		r := &policy.Request{Principal: id.PolicyPrincipal(), Action: action, Resource: "*", Keys: id.Keys()}
		return authz.IdentityBased(id, r)
	}
	memberRoot, _ = d.IdentityForARN("arn:aws:iam::" + member + ":root")
	if n := len(memberRoot.SCPs); n != 3 || memberRoot.SCPs[1].Target != ouID || memberRoot.SCPs[1].IDs[1] != *deny.Policy.PolicySummary.Id {
		t.Fatalf("SCP levels of the member = %+v", memberRoot.SCPs)
	}
	if got := decide(memberRoot, "kms:ScheduleKeyDeletion"); got.Reason != authz.ExplicitSCPDeny || got.Sid != "NoDeletion" || got.Policy != *deny.Policy.PolicySummary.Id {
		t.Fatalf("the member's root user: %+v, want the SCP's explicit deny", got)
	}
	if got := decide(memberRoot, "kms:CreateKey"); !got.Allowed() {
		t.Fatalf("the member's root user on what the SCPs allow: %+v", got)
	}
	// The management account is not limited.
	mgmt, _ := d.IdentityForARN("arn:aws:iam::111122223333:root")
	if len(mgmt.SCPs) != 0 || !decide(mgmt, "kms:ScheduleKeyDeletion").Allowed() {
		t.Fatalf("the management account's root: SCPs %+v", mgmt.SCPs)
	}
	// A service-linked role of the member account is not limited either.
	memberCall := Call{Identity: memberRoot, Request: authz.Request{Time: d.now()}}
	if err := d.EnsureServiceLinkedRole(ctx, memberCall, MultiRegionKeysService); err != nil {
		t.Fatal(err)
	}
	slr, err := d.IdentityForARN("arn:aws:iam::" + member + ":role/aws-service-role/mrk.kms.amazonaws.com/AWSServiceRoleForKeyManagementServiceMultiRegionKeys")
	if err != nil {
		t.Fatal(err)
	}
	if !slr.ServiceLinked || len(slr.SCPs) != 0 {
		t.Fatalf("a service-linked role's session: ServiceLinked %v, SCPs %+v", slr.ServiceLinked, slr.SCPs)
	}
	// The access role's session in the member account is limited, and the
	// cached identity follows a change of the organization.
	if _, err := d.CreateUser(ctx, root, &iamapi.CreateUserRequest{UserName: wire.Ptr("admin")}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AttachUserPolicy(ctx, root, &iamapi.AttachUserPolicyRequest{UserName: wire.Ptr("admin"), PolicyArn: wire.Ptr("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	adminID, err := d.IdentityForARN("arn:aws:iam::111122223333:user/admin")
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.AssumeRole(ctx, Call{Identity: adminID, Request: authz.Request{Time: d.now()}}, &stsapi.AssumeRoleRequest{RoleArn: wire.Ptr("arn:aws:iam::" + member + ":role/OrganizationAccountAccessRole"), RoleSessionName: wire.Ptr("ops")})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := d.Identity(*out.Credentials.AccessKeyId)
	if err != nil {
		t.Fatal(err)
	}
	if got := decide(sess, "kms:ScheduleKeyDeletion"); got.Reason != authz.ExplicitSCPDeny {
		t.Fatalf("a session in the member account: %+v", got)
	}
	if _, err := d.DetachPolicy(ctx, root, &orgapi.DetachPolicyRequest{PolicyId: deny.Policy.PolicySummary.Id, TargetId: wire.Ptr(ouID)}); err != nil {
		t.Fatal(err)
	}
	sess, _ = d.Identity(*out.Credentials.AccessKeyId)
	if got := decide(sess, "kms:ScheduleKeyDeletion"); !got.Allowed() {
		t.Fatalf("the session once the SCP is detached: %+v", got)
	}
}

// The RCPs of an account are the scope KMS asks for: none for the
// management account, whose resources RCPs never limit.
func TestRCPsOfAnAccount(t *testing.T) {
	d, root, rootID, member := newOrg(t)
	ctx := context.Background()
	if s := d.OrgScope(member); s == nil || s.RCPs() != nil || s.OrgID != d.organization().ID {
		t.Fatalf("scope before RCPs are enabled = %+v", s)
	}
	if s := d.OrgScope("999999999999"); s != nil {
		t.Fatalf("the scope of an account in no organization = %+v", s)
	}
	if _, err := d.EnablePolicyType(ctx, root, &orgapi.EnablePolicyTypeRequest{RootId: wire.Ptr(rootID), PolicyType: wire.Ptr(rcpType)}); err != nil {
		t.Fatal(err)
	}
	s := d.OrgScope(member)
	if rcps := s.RCPs(); len(rcps) != 2 || rcps[0].IDs[0] != rcpFullAWSAccessID || rcps[1].Target != member {
		t.Fatalf("RCPs of the member = %+v", rcps)
	}
	if s2 := d.OrgScope(member); s2 != s {
		t.Fatal("the scope is built again without a change of the organization")
	}
	if rcps := d.OrgScope("111122223333").RCPs(); rcps != nil {
		t.Fatalf("RCPs of the management account = %+v", rcps)
	}
}
