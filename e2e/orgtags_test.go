package e2e

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trentkms/trent/internal/testserver"
)

// Organizations' tags through the SDK: written by the Create operations and
// TagResource, read by ListTagsForResource (with its paginator), removed by
// UntagResource, on an account, the root, an OU and a policy, with AWS's
// errors; and a resource's tags decide IAM, STS and Organizations requests
// through aws:ResourceTag (issue 13: a key a policy may use is set in the
// requests AWS documents it for).
func TestOrganizationsTagsThroughTheSDK(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	root := clientsFor(srv, testserver.AccessKey, testserver.SecretKey, "")
	ctx := testserver.Context(t)
	if _, err := root.orgs.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	team := []orgtypes.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}
	ca, err := root.orgs.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("dev"), Email: aws.String("dev@example.com"), Tags: team})
	if err != nil {
		t.Fatal(err)
	}
	member := *ca.CreateAccountStatus.AccountId
	roots, err := root.orgs.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	rootID := *roots.Roots[0].Id
	ou, err := root.orgs.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: &rootID, Name: aws.String("prod"), Tags: team})
	if err != nil {
		t.Fatal(err)
	}
	ouID := *ou.OrganizationalUnit.Id
	if _, err := root.orgs.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: &rootID, PolicyType: orgtypes.PolicyTypeServiceControlPolicy}); err != nil {
		t.Fatal(err)
	}
	pol, err := root.orgs.CreatePolicy(ctx, &organizations.CreatePolicyInput{Type: orgtypes.PolicyTypeServiceControlPolicy, Name: aws.String("p"), Description: aws.String(""),
		Content: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}`), Tags: team})
	if err != nil {
		t.Fatal(err)
	}
	policyID := *pol.Policy.PolicySummary.Id

	tagsOf := func(id string) []string {
		t.Helper()
		var out []string
		p := organizations.NewListTagsForResourcePaginator(root.orgs, &organizations.ListTagsForResourceInput{ResourceId: &id})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListTagsForResource %s: %v", id, err)
			}
			for _, tg := range page.Tags {
				out = append(out, *tg.Key+"="+*tg.Value)
			}
		}
		return out
	}
	for _, id := range []string{member, ouID, policyID} {
		if got := tagsOf(id); !slices.Equal(got, []string{"team=sec"}) {
			t.Errorf("tags of %s as created = %v", id, got)
		}
	}
	for _, id := range []string{rootID, member, ouID, policyID} {
		if _, err := root.orgs.TagResource(ctx, &organizations.TagResourceInput{ResourceId: aws.String(id),
			Tags: []orgtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}, {Key: aws.String("team"), Value: aws.String("ops")}}}); err != nil {
			t.Fatalf("TagResource %s: %v", id, err)
		}
		if _, err := root.orgs.UntagResource(ctx, &organizations.UntagResourceInput{ResourceId: aws.String(id), TagKeys: []string{"env"}}); err != nil {
			t.Fatalf("UntagResource %s: %v", id, err)
		}
		if got := tagsOf(id); !slices.Equal(got, []string{"team=ops"}) {
			t.Errorf("tags of %s after TagResource and UntagResource = %v, want [team=ops]", id, got)
		}
	}
	// 50 tags (read over three pages), not 51.
	var many []orgtypes.Tag
	for i := range 49 {
		many = append(many, orgtypes.Tag{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String("v")})
	}
	if _, err := root.orgs.TagResource(ctx, &organizations.TagResourceInput{ResourceId: &rootID, Tags: many}); err != nil {
		t.Fatal(err)
	}
	if got := tagsOf(rootID); len(got) != 50 {
		t.Fatalf("the root's tags: %d, want 50", len(got))
	}
	_, err = root.orgs.TagResource(ctx, &organizations.TagResourceInput{ResourceId: &rootID, Tags: []orgtypes.Tag{{Key: aws.String("one-too-many"), Value: aws.String("")}}})
	var cv *orgtypes.ConstraintViolationException
	if !errors.As(err, &cv) || cv.Reason != orgtypes.ConstraintViolationExceptionReasonMaxTagLimitExceeded {
		t.Fatalf("a 51st tag: %v", err)
	}
	_, err = root.orgs.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: aws.String("ou-abcd-12345678")})
	var tnf *orgtypes.TargetNotFoundException
	if !errors.As(err, &tnf) {
		t.Fatalf("ListTagsForResource of no OU: %v", err)
	}
	_, err = root.orgs.TagResource(ctx, &organizations.TagResourceInput{ResourceId: &member, Tags: []orgtypes.Tag{{Key: aws.String("aws:x"), Value: aws.String("")}}})
	var ii *orgtypes.InvalidInputException
	if !errors.As(err, &ii) || ii.Reason != orgtypes.InvalidInputExceptionReasonInvalidSystemTagsParameter {
		t.Fatalf("a tag of AWS's prefix: %v", err)
	}

	// A user of the management account allowed everything but what a
	// resource tagged guard=yes denies.
	if _, err := root.orgs.TagResource(ctx, &organizations.TagResourceInput{ResourceId: &member, Tags: []orgtypes.Tag{{Key: aws.String("guard"), Value: aws.String("yes")}}}); err != nil {
		t.Fatal(err)
	}
	ops := newUser(t, srv, root, "ops")
	putUserPolicy(t, root, "ops", "guarded", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":["organizations:MoveAccount","iam:DeleteRole","sts:AssumeRole"],"Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/guard":"yes"}}},
		{"Effect":"Deny","Action":"organizations:TagResource","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/guard":"no"}}}]}`)
	_, err = ops.orgs.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: &member, SourceParentId: &rootID, DestinationParentId: &ouID})
	var ad *orgtypes.AccessDeniedException
	if !errors.As(err, &ad) {
		t.Fatalf("MoveAccount of an account tagged guard=yes: %v", err)
	}
	_, err = ops.orgs.TagResource(ctx, &organizations.TagResourceInput{ResourceId: &member, Tags: []orgtypes.Tag{{Key: aws.String("guard"), Value: aws.String("no")}}})
	if !errors.As(err, &ad) {
		t.Fatalf("TagResource with guard=no: %v", err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/ops"},"Action":"sts:AssumeRole"}]}`
	role, err := root.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("guarded"), AssumeRolePolicyDocument: aws.String(trust),
		Tags: []iamtypes.Tag{{Key: aws.String("Guard"), Value: aws.String("yes")}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ops.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("s1")})
	apiErr(t, err, "AccessDenied", "is not authorized to perform: sts:AssumeRole on resource: "+*role.Role.Arn)
	_, err = ops.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("guarded")})
	apiErr(t, err, "AccessDenied", "iam:DeleteRole on resource: "+*role.Role.Arn+" with an explicit deny")
	// Untagged, the same requests are allowed.
	if _, err := root.orgs.UntagResource(ctx, &organizations.UntagResourceInput{ResourceId: &member, TagKeys: []string{"guard"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.iam.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String("guarded"), TagKeys: []string{"guard"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.orgs.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: &member, SourceParentId: &rootID, DestinationParentId: &ouID}); err != nil {
		t.Fatalf("MoveAccount once untagged: %v", err)
	}
	if _, err := ops.sts.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("s1")}); err != nil {
		t.Fatalf("AssumeRole once untagged: %v", err)
	}
	if _, err := ops.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("guarded")}); err != nil {
		t.Fatalf("DeleteRole once untagged: %v", err)
	}
}
