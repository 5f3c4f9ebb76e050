package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/orgapi"
)

// newOrg makes the root account the management account of an organization
// with one member account and returns the root and the member's id.
func newOrg(t *testing.T) (*Directory, Call, string, string) {
	t.Helper()
	d, _, root := newDirectory(t)
	ctx := context.Background()
	if _, err := d.CreateOrganization(ctx, root, &orgapi.CreateOrganizationRequest{}); err != nil {
		t.Fatal(err)
	}
	st, err := d.CreateMemberAccount(ctx, "dev", "dev@example.com")
	if err != nil || st.State != "SUCCEEDED" {
		t.Fatalf("CreateMemberAccount = %+v, %v", st, err)
	}
	roots, err := d.ListRoots(ctx, root, &orgapi.ListRootsRequest{})
	if err != nil || len(roots.Roots) != 1 {
		t.Fatalf("ListRoots = %+v, %v", roots, err)
	}
	return d, root, *roots.Roots[0].Id, st.AccountID
}

// wantOrgErr checks an Organizations error's code, and its Reason if want
// has one ("Code/REASON").
func wantOrgErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	code, reason, _ := strings.Cut(want, "/")
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != code || we.Reason != reason {
		t.Fatalf("%s: err = %v (%+v), want %s", what, err, we, want)
	}
}

func TestOrganizationalUnits(t *testing.T) {
	d, root, rootID, member := newOrg(t)
	ctx := context.Background()
	mkOU := func(parent, name string) (*orgapi.OrganizationalUnit, error) {
		out, err := d.CreateOrganizationalUnit(ctx, root, &orgapi.CreateOrganizationalUnitRequest{ParentId: wire.Ptr(parent), Name: wire.Ptr(name)})
		if err != nil {
			return nil, err
		}
		return out.OrganizationalUnit, nil
	}
	prod, err := mkOU(rootID, "prod")
	if err != nil {
		t.Fatal(err)
	}
	org := d.organization()
	if !strings.HasPrefix(*prod.Id, "ou-"+strings.TrimPrefix(rootID, "r-")+"-") || *prod.Path != org.ID+"/"+rootID+"/"+*prod.Id+"/" ||
		*prod.Arn != "arn:aws:organizations::111122223333:ou/"+org.ID+"/"+*prod.Id {
		t.Fatalf("CreateOrganizationalUnit = %+v", prod)
	}
	_, err = mkOU(rootID, "prod")
	wantOrgErr(t, "a second OU of the same name", err, "DuplicateOrganizationalUnitException")
	_, err = mkOU("ou-abcd-12345678", "x")
	wantOrgErr(t, "an OU under no parent", err, "ParentNotFoundException")

	// Five levels of OUs, not six.
	parent := *prod.Id
	for i := 2; i <= 5; i++ {
		ou, err := mkOU(parent, fmt.Sprintf("level%d", i))
		if err != nil {
			t.Fatalf("level %d: %v", i, err)
		}
		parent = *ou.Id
	}
	_, err = mkOU(parent, "level6")
	wantOrgErr(t, "a sixth level", err, "ConstraintViolationException/OU_DEPTH_LIMIT_EXCEEDED")
	desc, err := d.DescribeOrganizationalUnit(ctx, root, &orgapi.DescribeOrganizationalUnitRequest{OrganizationalUnitId: wire.Ptr(parent)})
	if err != nil || strings.Count(*desc.OrganizationalUnit.Path, "ou-") != 5 {
		t.Fatalf("DescribeOrganizationalUnit at level 5 = %+v, %v", desc, err)
	}

	// The member moves into prod; then prod is not empty.
	if _, err := d.MoveAccount(ctx, root, &orgapi.MoveAccountRequest{AccountId: wire.Ptr(member), SourceParentId: prod.Id, DestinationParentId: wire.Ptr(rootID)}); err == nil {
		t.Fatal("MoveAccount from a parent the account is not in succeeded")
	}
	if _, err := d.MoveAccount(ctx, root, &orgapi.MoveAccountRequest{AccountId: wire.Ptr(member), SourceParentId: wire.Ptr(rootID), DestinationParentId: prod.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = d.MoveAccount(ctx, root, &orgapi.MoveAccountRequest{AccountId: wire.Ptr(member), SourceParentId: prod.Id, DestinationParentId: prod.Id})
	wantOrgErr(t, "a move to where the account is", err, "DuplicateAccountException")
	parents, err := d.ListParents(ctx, root, &orgapi.ListParentsRequest{ChildId: wire.Ptr(member)})
	if err != nil || len(parents.Parents) != 1 || *parents.Parents[0].Id != *prod.Id || *parents.Parents[0].Type != "ORGANIZATIONAL_UNIT" {
		t.Fatalf("ListParents = %+v, %v", parents, err)
	}
	accts, err := d.ListAccountsForParent(ctx, root, &orgapi.ListAccountsForParentRequest{ParentId: prod.Id})
	if err != nil || len(accts.Accounts) != 1 || *accts.Accounts[0].Id != member {
		t.Fatalf("ListAccountsForParent(prod) = %+v, %v", accts, err)
	}
	kids, err := d.ListChildren(ctx, root, &orgapi.ListChildrenRequest{ParentId: wire.Ptr(rootID), ChildType: wire.Ptr("ACCOUNT")})
	if err != nil || len(kids.Children) != 1 || *kids.Children[0].Id != "111122223333" {
		t.Fatalf("ListChildren(root, ACCOUNT) = %+v, %v; want the management account only", kids, err)
	}
	_, err = d.DeleteOrganizationalUnit(ctx, root, &orgapi.DeleteOrganizationalUnitRequest{OrganizationalUnitId: prod.Id})
	wantOrgErr(t, "deleting an OU with an account and OUs", err, "OrganizationalUnitNotEmptyException")

	// Renaming keeps names unique among siblings.
	staging, _ := mkOU(rootID, "staging")
	_, err = d.UpdateOrganizationalUnit(ctx, root, &orgapi.UpdateOrganizationalUnitRequest{OrganizationalUnitId: staging.Id, Name: wire.Ptr("prod")})
	wantOrgErr(t, "renaming to a sibling's name", err, "DuplicateOrganizationalUnitException")
	up, err := d.UpdateOrganizationalUnit(ctx, root, &orgapi.UpdateOrganizationalUnitRequest{OrganizationalUnitId: staging.Id, Name: wire.Ptr("test")})
	if err != nil || *up.OrganizationalUnit.Name != "test" {
		t.Fatalf("UpdateOrganizationalUnit = %+v, %v", up, err)
	}
	ous, err := d.ListOrganizationalUnitsForParent(ctx, root, &orgapi.ListOrganizationalUnitsForParentRequest{ParentId: wire.Ptr(rootID)})
	if err != nil || len(ous.OrganizationalUnits) != 2 || *ous.OrganizationalUnits[0].Name+*ous.OrganizationalUnits[1].Name != "prodtest" && *ous.OrganizationalUnits[1].Name+*ous.OrganizationalUnits[0].Name != "prodtest" {
		t.Fatalf("ListOrganizationalUnitsForParent = %+v, %v", ous, err)
	}
	if _, err := d.DeleteOrganizationalUnit(ctx, root, &orgapi.DeleteOrganizationalUnitRequest{OrganizationalUnitId: staging.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = d.DescribeOrganizationalUnit(ctx, root, &orgapi.DescribeOrganizationalUnitRequest{OrganizationalUnitId: staging.Id})
	wantOrgErr(t, "a deleted OU", err, "OrganizationalUnitNotFoundException")
}

// Two requests that create OUs of one name under one parent at once: the
// parent's record guards its children, so exactly one wins.
func TestConcurrentOUsOfOneName(t *testing.T) {
	d, root, rootID, _ := newOrg(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = d.CreateOrganizationalUnit(ctx, root, &orgapi.CreateOrganizationalUnitRequest{ParentId: wire.Ptr(rootID), Name: wire.Ptr("same")})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		var we *wire.Error
		switch {
		case err == nil:
			ok++
		case errors.As(err, &we) && (we.Code == "DuplicateOrganizationalUnitException" || we.Code == "ConcurrentModificationException"):
		default:
			t.Fatal(err)
		}
	}
	ous, _ := d.ListOrganizationalUnitsForParent(ctx, root, &orgapi.ListOrganizationalUnitsForParentRequest{ParentId: wire.Ptr(rootID)})
	if ok != 1 || len(ous.OrganizationalUnits) != 1 {
		t.Fatalf("%d creations succeeded, %d OUs exist; want 1 and 1", ok, len(ous.OrganizationalUnits))
	}
}

func TestOrganizationPolicies(t *testing.T) {
	d, root, rootID, member := newOrg(t)
	ctx := context.Background()
	deny := `{"Version":"2012-10-17","Statement":[{"Sid":"NoDecrypt","Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}`
	create := func(typ, name, content string) (*orgapi.Policy, error) {
		out, err := d.CreateOrgPolicy(ctx, root, &orgapi.CreatePolicyRequest{Type: wire.Ptr(typ), Name: wire.Ptr(name), Description: wire.Ptr(""), Content: wire.Ptr(content)})
		if err != nil {
			return nil, err
		}
		return out.Policy, nil
	}
	scp, err := create(scpType, "no-decrypt", deny)
	if err != nil {
		t.Fatal(err)
	}
	if s := scp.PolicySummary; !strings.HasPrefix(*s.Id, "p-") || *s.AwsManaged || !strings.Contains(*s.Arn, ":policy/"+d.organization().ID+"/service_control_policy/p-") {
		t.Fatalf("CreatePolicy = %+v", s)
	}
	_, err = create(scpType, "no-decrypt", deny)
	wantOrgErr(t, "a second policy of the name", err, "DuplicatePolicyException")
	_, err = create(scpType, "FullAWSAccess", deny)
	wantOrgErr(t, "a policy named as the AWS managed one", err, "DuplicatePolicyException")
	_, err = create(scpType, "big", `{"Version":"2012-10-17","Statement":[{"Sid":"`+strings.Repeat("a", 5100)+`","Effect":"Deny","Action":"*","Resource":"*"}]}`)
	wantOrgErr(t, "a 5 KB SCP", err, "ConstraintViolationException/POLICY_CONTENT_LIMIT_EXCEEDED")
	_, err = create(scpType, "principal", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}`)
	wantOrgErr(t, "an SCP with a Principal", err, "MalformedPolicyDocumentException")
	_, err = create(rcpType, "allow", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}`)
	wantOrgErr(t, "an RCP that allows", err, "MalformedPolicyDocumentException")
	_, err = create(rcpType, "one-account", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}]}`)
	wantOrgErr(t, "an RCP naming a principal", err, "MalformedPolicyDocumentException")
	_, err = create(rcpType, "notaction", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","NotAction":"kms:Decrypt","Resource":"*"}]}`)
	wantOrgErr(t, "an RCP with NotAction", err, "MalformedPolicyDocumentException")
	_, err = create("TAG_POLICY", "tags", `{}`)
	wantOrgErr(t, "a tag policy", err, "PolicyTypeNotAvailableForOrganizationException")
	rcp, err := create(rcpType, "perimeter", `{"Version":"2012-10-17","Statement":[{"Sid":"Perimeter","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-aaaaaaaaaa"}}}]}`)
	if err != nil {
		t.Fatal(err)
	}

	attach := func(p *orgapi.Policy, target string) error {
		_, err := d.AttachPolicy(ctx, root, &orgapi.AttachPolicyRequest{PolicyId: p.PolicySummary.Id, TargetId: wire.Ptr(target)})
		return err
	}
	detach := func(id, target string) error {
		_, err := d.DetachPolicy(ctx, root, &orgapi.DetachPolicyRequest{PolicyId: wire.Ptr(id), TargetId: wire.Ptr(target)})
		return err
	}
	policiesOf := func(target, typ string) []string {
		t.Helper()
		out, err := d.ListPoliciesForTarget(ctx, root, &orgapi.ListPoliciesForTargetRequest{TargetId: wire.Ptr(target), Filter: wire.Ptr(typ)})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range out.Policies {
			ids = append(ids, *p.Id)
		}
		return ids
	}
	wantOrgErr(t, "attaching before the type is enabled", attach(scp, member), "PolicyTypeNotEnabledException")
	if got := policiesOf(member, scpType); len(got) != 0 {
		t.Fatalf("SCPs of an account before SCPs are enabled = %v", got)
	}
	en, err := d.EnablePolicyType(ctx, root, &orgapi.EnablePolicyTypeRequest{RootId: wire.Ptr(rootID), PolicyType: wire.Ptr(scpType)})
	if err != nil || len(en.Root.PolicyTypes) != 1 || *en.Root.PolicyTypes[0].Status != "ENABLED" {
		t.Fatalf("EnablePolicyType = %+v, %v", en, err)
	}
	_, err = d.EnablePolicyType(ctx, root, &orgapi.EnablePolicyTypeRequest{RootId: wire.Ptr(rootID), PolicyType: wire.Ptr(scpType)})
	wantOrgErr(t, "enabling twice", err, "PolicyTypeAlreadyEnabledException")
	_, err = d.EnablePolicyType(ctx, root, &orgapi.EnablePolicyTypeRequest{RootId: wire.Ptr("r-zzzz"), PolicyType: wire.Ptr(rcpType)})
	wantOrgErr(t, "another root", err, "RootNotFoundException")
	for _, target := range []string{rootID, member, "111122223333"} {
		if got := policiesOf(target, scpType); len(got) != 1 || got[0] != fullAWSAccessID {
			t.Fatalf("SCPs of %s once enabled = %v, want FullAWSAccess", target, got)
		}
	}
	wantOrgErr(t, "detaching the last SCP", detach(fullAWSAccessID, member), "ConstraintViolationException/MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
	if err := attach(scp, member); err != nil {
		t.Fatal(err)
	}
	wantOrgErr(t, "attaching twice", attach(scp, member), "DuplicatePolicyAttachmentException")
	wantOrgErr(t, "attaching to no target", attach(scp, "999999999999"), "TargetNotFoundException")
	_, err = d.DeleteOrgPolicy(ctx, root, &orgapi.DeletePolicyRequest{PolicyId: scp.PolicySummary.Id})
	wantOrgErr(t, "deleting an attached policy", err, "PolicyInUseException")
	_, err = d.DeleteOrgPolicy(ctx, root, &orgapi.DeletePolicyRequest{PolicyId: wire.Ptr(fullAWSAccessID)})
	wantOrgErr(t, "deleting FullAWSAccess", err, "InvalidInputException/IMMUTABLE_POLICY")
	if err := detach(fullAWSAccessID, member); err != nil {
		t.Fatalf("detaching FullAWSAccess beside another SCP: %v", err)
	}
	if got := policiesOf(member, scpType); len(got) != 1 || got[0] != *scp.PolicySummary.Id {
		t.Fatalf("SCPs of the member = %v", got)
	}
	targets, err := d.ListTargetsForPolicy(ctx, root, &orgapi.ListTargetsForPolicyRequest{PolicyId: wire.Ptr(fullAWSAccessID)})
	if err != nil || len(targets.Targets) != 2 {
		t.Fatalf("targets of FullAWSAccess = %+v, %v; want the root and the management account", targets, err)
	}

	// Five SCPs per target.
	for i := 0; i < 4; i++ {
		p, err := create(scpType, fmt.Sprint("extra", i), deny)
		if err != nil {
			t.Fatal(err)
		}
		if err := attach(p, member); err != nil {
			t.Fatalf("attaching SCP %d: %v", i+2, err)
		}
	}
	p6, _ := create(scpType, "sixth", deny)
	wantOrgErr(t, "a sixth SCP", attach(p6, member), "ConstraintViolationException/MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")

	// RCPs: RCPFullAWSAccess everywhere, never detached.
	if _, err := d.EnablePolicyType(ctx, root, &orgapi.EnablePolicyTypeRequest{RootId: wire.Ptr(rootID), PolicyType: wire.Ptr(rcpType)}); err != nil {
		t.Fatal(err)
	}
	if err := attach(rcp, member); err != nil {
		t.Fatal(err)
	}
	if got := policiesOf(member, rcpType); len(got) != 2 || got[0] != rcpFullAWSAccessID {
		t.Fatalf("RCPs of the member = %v", got)
	}
	wantOrgErr(t, "detaching RCPFullAWSAccess", detach(rcpFullAWSAccessID, member), "InvalidInputException/NON_DETACHABLE_POLICY")

	// Disabling SCPs detaches them all; enabling again leaves FullAWSAccess.
	if _, err := d.DisablePolicyType(ctx, root, &orgapi.DisablePolicyTypeRequest{RootId: wire.Ptr(rootID), PolicyType: wire.Ptr(scpType)}); err != nil {
		t.Fatal(err)
	}
	_, err = d.DisablePolicyType(ctx, root, &orgapi.DisablePolicyTypeRequest{RootId: wire.Ptr(rootID), PolicyType: wire.Ptr(scpType)})
	wantOrgErr(t, "disabling twice", err, "PolicyTypeNotEnabledException")
	if _, err := d.EnablePolicyType(ctx, root, &orgapi.EnablePolicyTypeRequest{RootId: wire.Ptr(rootID), PolicyType: wire.Ptr(scpType)}); err != nil {
		t.Fatal(err)
	}
	if got := policiesOf(member, scpType); len(got) != 1 || got[0] != fullAWSAccessID {
		t.Fatalf("SCPs of the member after disable and enable = %v, want FullAWSAccess", got)
	}
	if got := policiesOf(member, rcpType); len(got) != 2 {
		t.Fatalf("RCPs of the member after SCPs were disabled = %v, want them kept", got)
	}
	if _, err := d.DeleteOrgPolicy(ctx, root, &orgapi.DeletePolicyRequest{PolicyId: scp.PolicySummary.Id}); err != nil {
		t.Fatalf("deleting an SCP detached by disabling SCPs: %v", err)
	}

	// Updates: name, document, and the AWS managed policies are immutable.
	up, err := d.UpdateOrgPolicy(ctx, root, &orgapi.UpdatePolicyRequest{PolicyId: rcp.PolicySummary.Id, Name: wire.Ptr("perimeter2")})
	if err != nil || *up.Policy.PolicySummary.Name != "perimeter2" || *up.Policy.Content != *rcp.Content {
		t.Fatalf("UpdatePolicy = %+v, %v", up, err)
	}
	_, err = d.UpdateOrgPolicy(ctx, root, &orgapi.UpdatePolicyRequest{PolicyId: rcp.PolicySummary.Id, Content: wire.Ptr(deny)})
	wantOrgErr(t, "an RCP updated to an SCP's document", err, "MalformedPolicyDocumentException")
	_, err = d.UpdateOrgPolicy(ctx, root, &orgapi.UpdatePolicyRequest{PolicyId: wire.Ptr(rcpFullAWSAccessID), Name: wire.Ptr("x")})
	wantOrgErr(t, "updating RCPFullAWSAccess", err, "InvalidInputException/IMMUTABLE_POLICY")
	list, err := d.ListOrgPolicies(ctx, root, &orgapi.ListPoliciesRequest{Filter: wire.Ptr(rcpType)})
	if err != nil || len(list.Policies) != 2 || !*list.Policies[0].AwsManaged || *list.Policies[1].Name != "perimeter2" {
		t.Fatalf("ListPolicies(RCP) = %+v, %v", list, err)
	}
	desc, err := d.DescribeOrgPolicy(ctx, root, &orgapi.DescribePolicyRequest{PolicyId: wire.Ptr(fullAWSAccessID)})
	if err != nil || *desc.Policy.PolicySummary.Arn != "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess" {
		t.Fatalf("DescribePolicy(FullAWSAccess) = %+v, %v", desc, err)
	}
}

// Organizations answers only its management account.
func TestOrganizationsOnlyForTheManagementAccount(t *testing.T) {
	d, _, rootID, member := newOrg(t)
	ctx := context.Background()
	id, err := d.IdentityForARN("arn:aws:iam::" + member + ":root")
	if err != nil {
		t.Fatal(err)
	}
	c := Call{Identity: id}
	_, err = d.CreateOrganizationalUnit(ctx, c, &orgapi.CreateOrganizationalUnitRequest{ParentId: wire.Ptr(rootID), Name: wire.Ptr("x")})
	wantOrgErr(t, "a member account's CreateOrganizationalUnit", err, "AccessDeniedException")
	_, err = d.ListRoots(ctx, c, &orgapi.ListRootsRequest{})
	wantOrgErr(t, "a member account's ListRoots", err, "AccessDeniedException")
}
