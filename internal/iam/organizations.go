package iam

import (
	"context"
	"errors"
	"io"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/orgapi"
)

// The AWS Organizations operations a Trent deployment needs: one
// organization, whose management account creates member accounts. Each new
// account gets the role OrganizationAccountAccessRole (trusting the management
// account, with AdministratorAccess), which is how the management account
// reaches it, as in AWS.

const defaultAccessRole = "OrganizationAccountAccessRole"

func (d *Directory) organization() *Organization {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.v.org
}

func notInUse() error {
	return orgapi.NewAWSOrganizationsNotInUseException("Your account is not a member of an organization.")
}

// managementCall checks that the caller acts for the organization's
// management account and may perform action; extra are condition keys
// (name, value, …).
func (d *Directory) managementCall(c Call, action string, extra ...string) (*Organization, error) {
	o := d.organization()
	if o == nil || d.OrgID(c.Identity.Account) == "" {
		return nil, notInUse()
	}
	if c.Identity.Account != o.ManagementAccount {
		return nil, orgapi.NewAccessDeniedException("You don't have permissions to access this resource.")
	}
	if err := d.authorize(c, action, orgARN(o), extra...); err != nil {
		return nil, orgapi.NewAccessDeniedException("You don't have permissions to access this resource.")
	}
	return o, nil
}

func orgARN(o *Organization) string {
	return "arn:aws:organizations::" + o.ManagementAccount + ":organization/" + o.ID
}

func (d *Directory) apiOrg(o *Organization) *orgapi.Organization {
	a, _ := d.Account(o.ManagementAccount)
	return &orgapi.Organization{
		Id: wire.Ptr(o.ID), Arn: wire.Ptr(orgARN(o)), FeatureSet: wire.Ptr(o.FeatureSet),
		MasterAccountArn: wire.Ptr("arn:aws:organizations::" + o.ManagementAccount + ":account/" + o.ID + "/" + o.ManagementAccount),
		MasterAccountId:  wire.Ptr(o.ManagementAccount), MasterAccountEmail: wire.Ptr(a.Email),
		AvailablePolicyTypes: []orgapi.PolicyTypeSummary{},
	}
}

// CreateOrganization founds the organization with the caller's account as
// its management account.
func (d *Directory) CreateOrganization(ctx context.Context, c Call, in *orgapi.CreateOrganizationRequest) (*orgapi.CreateOrganizationResponse, error) {
	if o := d.organization(); o != nil {
		if d.OrgID(c.Identity.Account) != "" {
			return nil, orgapi.NewAlreadyInOrganizationException("The AWS account is already a member of an organization.")
		}
		return nil, orgapi.NewConstraintViolationException("This Trent deployment already has an organization; its management account can create accounts in it.")
	}
	if err := d.authorize(c, "organizations:CreateOrganization", "*"); err != nil {
		return nil, orgapi.NewAccessDeniedException("You don't have permissions to access this resource.")
	}
	id, err := d.randomLower(10)
	if err != nil {
		return nil, err
	}
	fs := wire.String(in.FeatureSet)
	if fs == "" {
		fs = "ALL"
	}
	rootID, err := d.randomLower(4)
	if err != nil {
		return nil, err
	}
	o := &Organization{ID: "o-" + id, ManagementAccount: c.Identity.Account, FeatureSet: fs, Created: d.now().UTC(), Root: &OrgRoot{ID: "r-" + rootID}}
	if err := d.commit(ctx, store.Txn{Compares: []store.Compare{{Key: orgKey}}, Puts: []store.KV{{Key: orgKey, Value: mustJSON(o)}}}); err != nil {
		if err == store.ErrConflict {
			return nil, orgapi.NewAlreadyInOrganizationException("The AWS account is already a member of an organization.")
		}
		return nil, err
	}
	return &orgapi.CreateOrganizationResponse{Organization: d.apiOrg(o)}, nil
}

// DescribeOrganization describes the caller's organization.
func (d *Directory) DescribeOrganization(ctx context.Context, c Call, _ *struct{}) (*orgapi.DescribeOrganizationResponse, error) {
	o := d.organization()
	if o == nil || d.OrgID(c.Identity.Account) == "" {
		return nil, notInUse()
	}
	if err := d.authorize(c, "organizations:DescribeOrganization", orgARN(o)); err != nil {
		return nil, orgapi.NewAccessDeniedException("You don't have permissions to access this resource.")
	}
	return &orgapi.DescribeOrganizationResponse{Organization: d.apiOrg(o)}, nil
}

func (d *Directory) randomLower(n int) (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	if _, err := io.ReadFull(d.rand, b); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

// CreateAccount creates a member account and its access role. Trent creates
// it at once, so the returned status is already SUCCEEDED (or FAILED).
func (d *Directory) CreateAccount(ctx context.Context, c Call, in *orgapi.CreateAccountRequest) (*orgapi.CreateAccountResponse, error) {
	if _, err := d.managementCall(c, "organizations:CreateAccount", orgTagConditionKeys(in.Tags)...); err != nil {
		return nil, err
	}
	tags, err := checkOrgTags(in.Tags)
	if err != nil {
		return nil, err
	}
	st, err := d.createAccount(ctx, *in.AccountName, *in.Email, wire.String(in.RoleName), tags)
	if err != nil {
		return nil, err
	}
	return &orgapi.CreateAccountResponse{CreateAccountStatus: apiStatus(st)}, nil
}

func apiStatus(s CreateAccountStatus) *orgapi.CreateAccountStatus {
	out := &orgapi.CreateAccountStatus{
		Id: wire.Ptr(s.ID), AccountName: wire.Ptr(s.AccountName), State: wire.Ptr(s.State),
		RequestedTimestamp: wire.Ptr(wire.Timestamp(s.Requested)), CompletedTimestamp: wire.Ptr(wire.Timestamp(s.Completed)),
	}
	if s.AccountID != "" {
		out.AccountId = wire.Ptr(s.AccountID)
	}
	if s.State == "FAILED" {
		out.FailureReason = wire.Ptr("EMAIL_ALREADY_EXISTS")
	}
	return out
}

// createAccount creates a member account with its access role and, if
// any, the tags the account carries in the organization.
func (d *Directory) createAccount(ctx context.Context, name, email, roleName string, tags []Tag) (CreateAccountStatus, error) {
	if roleName == "" {
		roleName = defaultAccessRole
	}
	reqID, err := d.randomLower(8)
	if err != nil {
		return CreateAccountStatus{}, err
	}
	now := d.now().UTC()
	r, err := d.newRole(roleName, "/", "", "", defaultMaxSession)
	if err != nil {
		return CreateAccountStatus{}, err
	}
	r.Attached = []string{"arn:aws:iam::aws:policy/AdministratorAccess"}
	// The email check, the new account id and the request's record are one
	// transaction: every CreateAccount rewrites the organization, which
	// guards its set of accounts, so two with one email cannot both succeed.
	var st CreateAccountStatus
	err = d.atomically(ctx, func(t *tx) error {
		o := t.org()
		if o == nil {
			return notInUse()
		}
		st = CreateAccountStatus{ID: "car-" + reqID, AccountName: name, Requested: now, Completed: now, State: "SUCCEEDED"}
		for _, a := range t.v.accounts {
			if a.Email != "" && a.Email == email {
				st.State = "FAILED"
			}
		}
		if st.State == "SUCCEEDED" {
			var id string
			for {
				var err error
				if id, err = d.randomAccountID(); err != nil {
					return err
				}
				if t.account(id) == nil {
					break
				}
			}
			st.AccountID = id
			role := *r
			role.TrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + o.ManagementAccount + `:root"},"Action":"sts:AssumeRole"}]}`
			t.put(accountKey(id), Account{ID: id, Name: name, Email: email, Created: now, Joined: "CREATED"})
			if len(tags) > 0 {
				t.read(orgMemberKey(id))
				t.put(orgMemberKey(id), &orgMember{Account: id, Parent: rootOf(o).ID, Tags: tags})
			}
			t.read(entityKey(id, roleKind, roleName))
			t.put(entityKey(id, roleKind, roleName), &role)
		}
		cur := clone(o)
		cur.Requests = append(cur.Requests, st)
		t.put(orgKey, cur)
		return nil
	})
	if errors.Is(err, errTooManyConflicts) {
		return st, orgapi.NewConcurrentModificationException("AWS Organizations can't complete your request because it conflicts with another attempt to modify the same entity. Try again later.")
	}
	return st, err
}

// CreateMemberAccount is the operator's path (trent account create) to the
// same result as CreateAccount by the management account.
func (d *Directory) CreateMemberAccount(ctx context.Context, name, email string) (CreateAccountStatus, error) {
	return d.createAccount(ctx, name, email, "", nil)
}

// DescribeCreateAccountStatus reports a CreateAccount request.
func (d *Directory) DescribeCreateAccountStatus(ctx context.Context, c Call, in *orgapi.DescribeCreateAccountStatusRequest) (*orgapi.DescribeCreateAccountStatusResponse, error) {
	o, err := d.managementCall(c, "organizations:DescribeCreateAccountStatus")
	if err != nil {
		return nil, err
	}
	for _, s := range o.Requests {
		if s.ID == *in.CreateAccountRequestId {
			return &orgapi.DescribeCreateAccountStatusResponse{CreateAccountStatus: apiStatus(s)}, nil
		}
	}
	return nil, orgapi.NewCreateAccountStatusNotFoundException("We can't find an create account request with the CreateAccountRequestId that you specified.")
}

// ListAccounts lists the organization's accounts.
func (d *Directory) ListAccounts(ctx context.Context, c Call, in *orgapi.ListAccountsRequest) (*orgapi.ListAccountsResponse, error) {
	o, err := d.managementCall(c, "organizations:ListAccounts")
	if err != nil {
		return nil, err
	}
	var as []orgapi.Account
	for _, a := range d.Accounts() {
		if d.OrgID(a.ID) != "" {
			as = append(as, apiOrgAccount(o, &a))
		}
	}
	got, next, err := orgPage(as, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &orgapi.ListAccountsResponse{Accounts: got, NextToken: next}, nil
}
