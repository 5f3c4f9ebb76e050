package iam

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/orgapi"
)

func orgTag(k, v string) orgapi.Tag { return orgapi.Tag{Key: wire.Ptr(k), Value: wire.Ptr(v)} }

// listOrgTags lists every tag of an entity, page after page, as "k=v".
func listOrgTags(t *testing.T, d *Directory, c Call, id string) []string {
	t.Helper()
	var out []string
	in := &orgapi.ListTagsForResourceRequest{ResourceId: wire.Ptr(id)}
	for {
		page, err := d.ListTagsForResource(context.Background(), c, in)
		if err != nil {
			t.Fatalf("ListTagsForResource %s: %v", id, err)
		}
		for _, tg := range page.Tags {
			out = append(out, *tg.Key+"="+*tg.Value)
		}
		if page.NextToken == nil {
			return out
		}
		in.NextToken = page.NextToken
	}
}

// TagResource, UntagResource and ListTagsForResource on each kind of
// entity that carries tags (Organizations API, TagResource: account, root,
// OU, policy), with the tags Create* gave it.
func TestOrgTagsOfEachEntity(t *testing.T) {
	d, root, rootID, member := newOrg(t)
	ctx := context.Background()
	ou := ok(d.CreateOrganizationalUnit(ctx, root, &orgapi.CreateOrganizationalUnitRequest{ParentId: wire.Ptr(rootID), Name: wire.Ptr("prod"),
		Tags: []orgapi.Tag{orgTag("team", "sec")}}))(t).OrganizationalUnit
	pol := ok(d.CreateOrgPolicy(ctx, root, &orgapi.CreatePolicyRequest{Type: wire.Ptr(scpType), Name: wire.Ptr("p"), Description: wire.Ptr(""),
		Content: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}`),
		Tags:    []orgapi.Tag{orgTag("team", "sec")}}))(t).Policy.PolicySummary
	acct := ok(d.CreateAccount(ctx, root, &orgapi.CreateAccountRequest{AccountName: wire.Ptr("tagged"), Email: wire.Ptr("t@example.com"),
		Tags: []orgapi.Tag{orgTag("team", "sec")}}))(t).CreateAccountStatus
	for name, id := range map[string]string{"root": rootID, "member account": member, "OU": *ou.Id, "policy": *pol.Id,
		"account created with tags": *acct.AccountId, "management account": "111122223333"} {
		t.Run(name, func(t *testing.T) {
			var want []string
			if id == *ou.Id || id == *pol.Id || id == *acct.AccountId {
				want = []string{"team=sec"} // given when it was created
			}
			if got := listOrgTags(t, d, root, id); !slices.Equal(got, want) {
				t.Fatalf("tags at first = %v, want %v", got, want)
			}
			ok(d.TagResource(ctx, root, &orgapi.TagResourceRequest{ResourceId: wire.Ptr(id), Tags: []orgapi.Tag{orgTag("env", "prod"), orgTag("Env", "dev"), orgTag("owner", "")}}))(t)
			ok(d.TagResource(ctx, root, &orgapi.TagResourceRequest{ResourceId: wire.Ptr(id), Tags: []orgapi.Tag{orgTag("env", "test")}}))(t)
			want = append(want, "env=test", "Env=dev", "owner=") // keys are case-sensitive; a value replaced keeps its place
			if got := listOrgTags(t, d, root, id); !slices.Equal(got, want) {
				t.Fatalf("tags after TagResource = %v, want %v", got, want)
			}
			ok(d.UntagResource(ctx, root, &orgapi.UntagResourceRequest{ResourceId: wire.Ptr(id), TagKeys: []string{"env", "absent"}}))(t)
			want = slices.DeleteFunc(want, func(s string) bool { return s == "env=test" })
			if got := listOrgTags(t, d, root, id); !slices.Equal(got, want) {
				t.Fatalf("tags after UntagResource = %v, want %v", got, want)
			}
		})
	}
	// The account's tags did not move it: it is still under the root with
	// the policies it had.
	parents := ok(d.ListParents(ctx, root, &orgapi.ListParentsRequest{ChildId: wire.Ptr(member)}))(t)
	if len(parents.Parents) != 1 || *parents.Parents[0].Id != rootID {
		t.Fatalf("the tagged account's parents = %+v", parents.Parents)
	}
}

func TestOrgTagErrors(t *testing.T) {
	d, root, rootID, member := newOrg(t)
	ctx := context.Background()
	tag := func(id string, tags ...orgapi.Tag) error {
		_, err := d.TagResource(ctx, root, &orgapi.TagResourceRequest{ResourceId: wire.Ptr(id), Tags: tags})
		return err
	}
	for _, id := range []string{"ou-abcd-12345678", "p-12345678", fullAWSAccessID, "999999999999"} {
		wantOrgErr(t, "TagResource of "+id, tag(id, orgTag("a", "b")), "TargetNotFoundException")
		_, err := d.UntagResource(ctx, root, &orgapi.UntagResourceRequest{ResourceId: wire.Ptr(id), TagKeys: []string{"a"}})
		wantOrgErr(t, "UntagResource of "+id, err, "TargetNotFoundException")
		_, err = d.ListTagsForResource(ctx, root, &orgapi.ListTagsForResourceRequest{ResourceId: wire.Ptr(id)})
		wantOrgErr(t, "ListTagsForResource of "+id, err, "TargetNotFoundException")
	}
	wantOrgErr(t, "two tags of one key", tag(member, orgTag("a", "1"), orgTag("a", "2")), "InvalidInputException/DUPLICATE_TAG_KEY")
	wantOrgErr(t, "a tag of AWS's prefix", tag(member, orgTag("aws:x", "1")), "InvalidInputException/INVALID_SYSTEM_TAGS_PARAMETER")
	_, err := d.UntagResource(ctx, root, &orgapi.UntagResourceRequest{ResourceId: wire.Ptr(member), TagKeys: []string{"AWS:x"}})
	wantOrgErr(t, "untagging a key of AWS's prefix", err, "InvalidInputException/INVALID_SYSTEM_TAGS_PARAMETER")

	// 50 tags, not 51; a request that would pass the limit adds none.
	var fifty []orgapi.Tag
	for i := range 49 {
		fifty = append(fifty, orgTag(fmt.Sprintf("k%02d", i), "v"))
	}
	if err := tag(rootID, fifty...); err != nil {
		t.Fatal(err)
	}
	wantOrgErr(t, "the 50th and 51st tags", tag(rootID, orgTag("x", "1"), orgTag("y", "2")), "ConstraintViolationException/MAX_TAG_LIMIT_EXCEEDED")
	if got := listOrgTags(t, d, root, rootID); len(got) != 49 {
		t.Fatalf("a refused TagResource changed the tags: %d of them", len(got))
	}
	if err := tag(rootID, orgTag("k00", "replaced"), orgTag("x", "1")); err != nil {
		t.Fatalf("replacing a value and adding the 50th tag: %v", err)
	}
	if got := listOrgTags(t, d, root, rootID); len(got) != 50 || got[0] != "k00=replaced" || got[49] != "x=1" {
		t.Fatalf("after the 50th tag: %d tags, first %q, last %q", len(got), got[0], got[len(got)-1])
	}

	// Only the management account.
	id, err := d.IdentityForARN("arn:aws:iam::" + member + ":root")
	if err != nil {
		t.Fatal(err)
	}
	mc := Call{Identity: id, Request: authz.Request{Time: d.now()}}
	_, err = d.TagResource(ctx, mc, &orgapi.TagResourceRequest{ResourceId: wire.Ptr(member), Tags: []orgapi.Tag{orgTag("a", "b")}})
	wantOrgErr(t, "a member account's TagResource", err, "AccessDeniedException")
	_, err = d.ListTagsForResource(ctx, mc, &orgapi.ListTagsForResourceRequest{ResourceId: wire.Ptr(member)})
	wantOrgErr(t, "a member account's ListTagsForResource", err, "AccessDeniedException")
}

func TestOrgTagsWithoutOrganization(t *testing.T) {
	d, _, root := newDirectory(t)
	_, err := d.TagResource(context.Background(), root, &orgapi.TagResourceRequest{ResourceId: wire.Ptr("111122223333"), Tags: []orgapi.Tag{orgTag("a", "b")}})
	wantOrgErr(t, "TagResource without an organization", err, "AWSOrganizationsNotInUseException")
	_, err = d.ListTagsForResource(context.Background(), root, &orgapi.ListTagsForResourceRequest{ResourceId: wire.Ptr("111122223333")})
	wantOrgErr(t, "ListTagsForResource without an organization", err, "AWSOrganizationsNotInUseException")
}

// The tagging requests and those that create tagged entities carry
// aws:RequestTag/<key> and aws:TagKeys, and requests on a tagged entity
// its aws:ResourceTag/<key> (the Organizations actions' condition keys).
func TestOrgTagConditionKeys(t *testing.T) {
	d, c := proberIn(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Effect":"Deny","Action":["organizations:TagResource","organizations:CreateOrganizationalUnit","organizations:CreatePolicy","organizations:CreateAccount"],
		 "Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/owner":"mallory"}}},
		{"Effect":"Deny","Action":"organizations:UntagResource","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":"locked"}}},
		{"Effect":"Deny","Action":["organizations:MoveAccount","organizations:ListTagsForResource"],"Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/locked":"yes"}}}]}`)
	ctx := context.Background()
	root := rootCall(t, d)
	rootID := *ok(d.ListRoots(ctx, root, &orgapi.ListRootsRequest{}))(t).Roots[0].Id
	member := ok(d.CreateMemberAccount(ctx, "dev", "dev@example.com"))(t).AccountID
	ou := *ok(d.CreateOrganizationalUnit(ctx, root, &orgapi.CreateOrganizationalUnitRequest{ParentId: wire.Ptr(rootID), Name: wire.Ptr("prod")}))(t).OrganizationalUnit.Id
	mallory := []orgapi.Tag{orgTag("owner", "mallory")}
	denied := map[string]error{}
	_, denied["TagResource"] = d.TagResource(ctx, c, &orgapi.TagResourceRequest{ResourceId: wire.Ptr(member), Tags: mallory})
	_, denied["CreateOrganizationalUnit"] = d.CreateOrganizationalUnit(ctx, c, &orgapi.CreateOrganizationalUnitRequest{ParentId: wire.Ptr(rootID), Name: wire.Ptr("x"), Tags: mallory})
	_, denied["CreatePolicy"] = d.CreateOrgPolicy(ctx, c, &orgapi.CreatePolicyRequest{Type: wire.Ptr(scpType), Name: wire.Ptr("x"), Description: wire.Ptr(""),
		Content: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}`), Tags: mallory})
	_, denied["CreateAccount"] = d.CreateAccount(ctx, c, &orgapi.CreateAccountRequest{AccountName: wire.Ptr("x"), Email: wire.Ptr("x@example.com"), Tags: mallory})
	for op, err := range denied {
		wantOrgErr(t, op+" with aws:RequestTag/owner=mallory", err, "AccessDeniedException")
	}
	// Another owner is allowed, and locks the account.
	ok(d.TagResource(ctx, c, &orgapi.TagResourceRequest{ResourceId: wire.Ptr(member), Tags: []orgapi.Tag{orgTag("owner", "alice"), orgTag("locked", "yes")}}))(t)
	_, err := d.UntagResource(ctx, c, &orgapi.UntagResourceRequest{ResourceId: wire.Ptr(member), TagKeys: []string{"owner", "locked"}})
	wantOrgErr(t, "UntagResource of the key locked", err, "AccessDeniedException")
	_, err = d.MoveAccount(ctx, c, &orgapi.MoveAccountRequest{AccountId: wire.Ptr(member), SourceParentId: wire.Ptr(rootID), DestinationParentId: wire.Ptr(ou)})
	wantOrgErr(t, "MoveAccount of an account tagged locked=yes", err, "AccessDeniedException")
	_, err = d.ListTagsForResource(ctx, c, &orgapi.ListTagsForResourceRequest{ResourceId: wire.Ptr(member)})
	wantOrgErr(t, "ListTagsForResource of an account tagged locked=yes", err, "AccessDeniedException")
	// Unlocked (by root, whom no Deny names), it moves.
	ok(d.UntagResource(ctx, root, &orgapi.UntagResourceRequest{ResourceId: wire.Ptr(member), TagKeys: []string{"locked"}}))(t)
	ok(d.MoveAccount(ctx, c, &orgapi.MoveAccountRequest{AccountId: wire.Ptr(member), SourceParentId: wire.Ptr(rootID), DestinationParentId: wire.Ptr(ou)}))(t)
	if got := listOrgTags(t, d, c, member); !slices.Equal(got, []string{"owner=alice"}) {
		t.Fatalf("the moved account's tags = %v", got)
	}
}

// Concurrent tag changes and a move of one account are each one
// transaction on the account's record: none is lost.
func TestOrgTagsConcurrent(t *testing.T) {
	d, root, rootID, member := newOrg(t)
	ctx := context.Background()
	ou := *ok(d.CreateOrganizationalUnit(ctx, root, &orgapi.CreateOrganizationalUnitRequest{ParentId: wire.Ptr(rootID), Name: wire.Ptr("prod")}))(t).OrganizationalUnit.Id
	const n = 8
	errs := make(chan error, n+1)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := d.TagResource(ctx, root, &orgapi.TagResourceRequest{ResourceId: wire.Ptr(member), Tags: []orgapi.Tag{orgTag(fmt.Sprintf("k%d", i), "v")}})
			errs <- err
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := d.MoveAccount(ctx, root, &orgapi.MoveAccountRequest{AccountId: wire.Ptr(member), SourceParentId: wire.Ptr(rootID), DestinationParentId: wire.Ptr(ou)})
		errs <- err
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := listOrgTags(t, d, root, member)
	slices.Sort(got)
	want := []string{"k0=v", "k1=v", "k2=v", "k3=v", "k4=v", "k5=v", "k6=v", "k7=v"}
	if !slices.Equal(got, want) {
		t.Fatalf("tags after concurrent TagResource = %v, want %v", got, want)
	}
	parents := ok(d.ListParents(ctx, root, &orgapi.ListParentsRequest{ChildId: wire.Ptr(member)}))(t)
	if *parents.Parents[0].Id != ou {
		t.Fatalf("the account's parent after a concurrent move = %s, want %s", *parents.Parents[0].Id, ou)
	}
}
