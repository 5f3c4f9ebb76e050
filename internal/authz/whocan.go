package authz

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/trentkms/trent/internal/policy"
)

// Access analysis: for a key, who can perform each of its actions, through
// which key policy statement, IAM policy or grant, and what of it is access
// from outside the key's account or organization or open to anyone — the
// questions of IAM Access Analyzer's external access findings, answered by
// the engine that decides live requests. The candidates are the principals
// the deployment knows (its users, roles, account roots and registered
// services) and stand-ins for those it does not: any principal of an
// account, whatever the account's own policies grant (an administrator of
// it), and any principal of another account. A candidate is decided with
// the request context a request of it carries whatever it asks (its
// principal keys, its organization, TLS, the Region); what a particular
// request adds (an encryption context, a source address, a VPC endpoint, a
// forwarding service) is not assumed, and a statement or grant that needs
// it is reported as conditional, with the keys it needs.

// Candidate is a principal access analysis asks about.
type Candidate struct {
	Identity *Identity
	// Label names it: an ARN, "any principal of account 444455556666",
	// "any principal of another account", or a service principal.
	Label string
	// Kind is "principal" (a known user, role session or account root),
	// "account" (any principal of an account: an administrator of it),
	// "other" (any principal of an account no one named) or "service".
	Kind string
	// Request is what every request of the candidate carries (its
	// organization, TLS, the Region).
	Request Request
}

// Access is a candidate's access to an action on the key.
type Access struct {
	Principal string `json:"principal"`
	Kind      string `json:"kind"`
	// By is what allows it: "key-policy" (the key policy by itself),
	// "iam" (the principal's IAM policies, through the key policy's
	// delegation to its account) or "grant".
	By string `json:"by"`
	// Statement and Sid locate the deciding key policy statement (by
	// key-policy or iam: the statement naming the account); GrantID the
	// grant.
	Statement int    `json:"statement"`
	Sid       string `json:"sid,omitempty"`
	GrantID   string `json:"grantId,omitempty"`
	// Conditional access needs request context the analysis does not
	// assume: the keys in Needs.
	Conditional bool     `json:"conditional,omitempty"`
	Needs       []string `json:"needs,omitempty"`
	// External: the principal is not of the key's account; OutsideOrg: not
	// of its organization (or the key's account is in none).
	External   bool `json:"external,omitempty"`
	OutsideOrg bool `json:"outsideOrganization,omitempty"`
}

// ActionAccess is who can perform one action.
type ActionAccess struct {
	Action string   `json:"action"`
	Access []Access `json:"access"`
}

// Finding types.
const (
	// FindingOutsideAccount: a principal of another account of the key's
	// organization has access.
	FindingOutsideAccount = "AccessFromOutsideAccount"
	// FindingOutsideOrganization: a principal outside the key's
	// organization (or of another account, the key's being in none) has
	// access.
	FindingOutsideOrganization = "AccessFromOutsideOrganization"
	// FindingPublic: a key policy statement allows everyone ("Principal":
	// "*", or a NotPrincipal) and no condition confines it to accounts,
	// organizations, sources or networks.
	FindingPublic = "PublicStatement"
)

// Finding is something of an analysis a security review should look at.
type Finding struct {
	Type      string   `json:"type"`
	Principal string   `json:"principal,omitempty"`
	Actions   []string `json:"actions,omitempty"`
	Statement int      `json:"statement"`
	Sid       string   `json:"sid,omitempty"`
	GrantID   string   `json:"grantId,omitempty"`
	Detail    string   `json:"detail"`
}

// Analysis is who can use a key.
type Analysis struct {
	KeyARN   string         `json:"keyArn"`
	Account  string         `json:"account"`
	OrgID    string         `json:"organization,omitempty"`
	Actions  []ActionAccess `json:"actions"`
	Findings []Finding      `json:"findings"`
}

// AnalyzeKey decides every candidate's access to every action with decide
// (which builds the live KeyRequest of a candidate's request: its
// condition keys, the key's grants and RCPs) and reports it with its
// findings. keyOrg is the key account's organization ("" for none).
func AnalyzeKey(keyARN, keyAccount, keyOrg string, keyPolicy *policy.Policy, actions []string, candidates []Candidate, request func(Candidate, string) *KeyRequest) Analysis {
	a := Analysis{KeyARN: keyARN, Account: keyAccount, OrgID: keyOrg, Actions: []ActionAccess{}, Findings: []Finding{}}
	type extKey struct{ principal, by, grant string }
	external := map[extKey]*Finding{}
	var extOrder []extKey
	// The key policy statements through which any principal of an account
	// no one named gets access: a public statement confirmed by the engine
	// (an RCP or a Deny may confine what the statement alone does not).
	others, throughOthers := false, map[int]bool{}
	for _, action := range actions {
		aa := ActionAccess{Action: action, Access: []Access{}}
		for _, c := range candidates {
			others = others || c.Kind == "other"
			r := request(c, action)
			acc, ok := accessOf(c, r)
			if !ok {
				continue
			}
			acc.External = c.Identity.Type != ServiceType && c.Identity.Account != keyAccount
			acc.OutsideOrg = acc.External && (keyOrg == "" || c.Request.OrgID != keyOrg)
			aa.Access = append(aa.Access, acc)
			if c.Kind == "other" && acc.By != "grant" {
				throughOthers[acc.Statement] = true
			}
			if acc.External {
				k := extKey{c.Label, acc.By, acc.GrantID}
				f := external[k]
				if f == nil {
					f = &Finding{Type: FindingOutsideAccount, Principal: c.Label, Statement: acc.Statement, Sid: acc.Sid, GrantID: acc.GrantID}
					if acc.OutsideOrg {
						f.Type = FindingOutsideOrganization
					}
					f.Detail = externalDetail(acc)
					external[k] = f
					extOrder = append(extOrder, k)
				}
				f.Actions = append(f.Actions, action)
			}
		}
		a.Actions = append(a.Actions, aa)
	}
	if keyPolicy != nil {
		for _, s := range keyPolicy.Summary() {
			if s.Effect != policy.AllowEffect || !s.Public {
				continue
			}
			if confined, _ := confines(s.Conditions); !confined && (!others || throughOthers[s.Index]) {
				a.Findings = append(a.Findings, Finding{Type: FindingPublic, Principal: "*", Statement: s.Index, Sid: s.Sid,
					Detail: "the statement allows every principal and no condition confines it to accounts, organizations, sources or networks"})
			}
		}
	}
	for _, k := range extOrder {
		a.Findings = append(a.Findings, *external[k])
	}
	return a
}

func externalDetail(acc Access) string {
	how := "the key policy"
	switch acc.By {
	case "iam":
		how = "its IAM policies, through the key policy's delegation to its account"
	case "grant":
		how = "grant " + acc.GrantID
	}
	if acc.Sid != "" || (acc.By != "grant" && acc.Statement >= 0) {
		how += fmt.Sprintf(" (statement %d %q)", acc.Statement, acc.Sid)
	}
	if acc.Conditional {
		how += ", given " + strings.Join(acc.Needs, ", ")
	}
	where := "another account of the key's organization"
	if acc.OutsideOrg {
		where = "outside the key's organization"
	}
	return "a principal " + where + " has access through " + how
}

// accessOf decides a candidate's request and says whether, and how, it
// has access: allowed, or conditional on context the request would add.
func accessOf(c Candidate, r *KeyRequest) (Access, bool) {
	acc := Access{Principal: c.Label, Kind: c.Kind, Statement: -1}
	d := DecideKey(r)
	if d.Allowed() {
		acc.By, acc.GrantID, acc.Statement, acc.Sid = d.By.String(), d.GrantID, d.Statement, d.Sid
		if d.By == ByIAM && r.KeyPolicy != nil {
			// Name the key policy statement that let the principal's own
			// policies decide.
			req := &policy.Request{Principal: r.Identity.PolicyPrincipal(), Action: r.Action, Resource: r.KeyARN, Time: r.Request.Time, Keys: r.Keys, More: r.More, List: r.List}
			if out := r.KeyPolicy.Decide(req); out.Decision == policy.Allow {
				acc.Statement, acc.Sid = out.Statement, out.Sid
			}
		}
		return acc, true
	}
	switch d.Reason {
	case NoResourceAllow:
		// The key policy did not allow: does a statement that covers the
		// candidate, the action and the key fail only on its conditions?
		if r.KeyPolicy == nil {
			break
		}
		req := &policy.Request{Principal: r.Identity.PolicyPrincipal(), Action: r.Action, Resource: r.KeyARN, Time: r.Request.Time, Keys: r.Keys, More: r.More, List: r.List}
		for _, t := range r.KeyPolicy.Explain(req).Statements {
			if t.Effect != policy.AllowEffect || t.Applied || len(t.Misses) == 0 {
				continue
			}
			needs := conditionKeys(t.Misses)
			if needs == nil {
				continue
			}
			acc.Conditional, acc.Needs, acc.Statement, acc.Sid, acc.By = true, needs, t.Statement, t.Sid, "key-policy"
			if r.Identity.Type != ServiceType && (r.Identity.Account != r.KeyAccount || t.Via == policy.ViaAccount) {
				// The statement only delegates to the caller's account, or
				// the caller is of another: its own policies must allow.
				if !IdentityBased(r.Identity, req).Allowed() {
					continue
				}
				acc.By = "iam"
			}
			return acc, true
		}
	}
	if d.Reason.Final() {
		return acc, false // nothing overturns an explicit deny or a guardrail
	}
	// A grant for the candidate and the operation whose constraints a
	// request could meet.
	for _, g := range r.Grants {
		if !slices.Contains(g.Operations, r.Operation) || !(GrantPrincipalIs(g.GranteePrincipal, g.GranteeID, r.Identity) || ServiceIs(g.GranteeServicePrincipal, r.Identity)) {
			continue
		}
		var needs []string
		if g.SourceArn != "" {
			needs = append(needs, "aws:SourceArn")
		}
		if TakesEncryptionContext(r.Operation) && (g.ContextEquals != nil || g.ContextSubset != nil) {
			needs = append(needs, "the grant's encryption context constraint")
		}
		if needs == nil {
			continue // allowed or not, the grant did not decide on context
		}
		acc.Conditional, acc.Needs, acc.By, acc.GrantID = true, needs, "grant", g.ID
		return acc, true
	}
	return acc, false
}

// conditionKeys lists the condition keys of misses that are all
// conditions on what a request may carry; nil if another element failed,
// or a condition on what the principal or the key is (its account,
// organization, tags, key spec…), which no request changes.
func conditionKeys(misses []policy.Miss) []string {
	var out []string
	for _, m := range misses {
		if m.Element != policy.ElementCondition || fixedKey(m.Key) {
			return nil
		}
		key := m.Key
		if key == "" {
			key = "one value of keys whose names differ only in case"
		}
		if !slices.Contains(out, key) {
			out = append(out, key)
		}
	}
	sort.Strings(out)
	return out
}

// fixedKey reports whether a condition key describes the principal or the
// key rather than the request: its value is the same in every request of
// the candidate on the key.
func fixedKey(key string) bool {
	k := strings.ToLower(key)
	for _, p := range []string{"aws:principal", "aws:userid", "aws:username", "aws:resource", "aws:requestedregion", "kms:calleraccount",
		"kms:keyspec", "kms:keyusage", "kms:keyorigin", "kms:multiregion", "kms:customermasterkey", "kms:resourcealiases"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// confiningKeys are the condition keys that confine a public statement to
// particular principals, sources or networks (IAM Access Analyzer's
// conditions that keep a statement from granting public access).
var confiningKeys = map[string]bool{
	"aws:principalaccount": true, "aws:principalarn": true, "aws:principalorgid": true, "aws:principalorgpaths": true,
	"aws:userid": true, "aws:username": true, "aws:principalservicename": true, "kms:calleraccount": true,
	"aws:sourceaccount": true, "aws:sourcearn": true, "aws:sourceorgid": true, "aws:sourceorgpaths": true,
	"aws:sourcevpce": true, "aws:sourcevpc": true, "aws:sourceip": true, "aws:vpcsourceip": true,
}

// confines reports whether some condition of a statement confines it: a
// confining key compared, as present (no IfExists), for equality or a
// match (not negated), with values that are not all wildcards.
func confines(conds []policy.ConditionSummary) (bool, string) {
	for _, c := range conds {
		if !confiningKeys[strings.ToLower(c.Key)] || c.Negated || c.IfExists || strings.HasPrefix(c.Operator, "Null") {
			continue
		}
		open := false
		for _, v := range c.Values {
			if strings.Trim(v, "*?") == "" || v == "0.0.0.0/0" || v == "::/0" {
				open = true
			}
		}
		if !open {
			return true, c.Key
		}
	}
	return false, ""
}

// String renders the analysis for a terminal.
func (a Analysis) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Who can use %s (account %s", a.KeyARN, a.Account)
	if a.OrgID != "" {
		fmt.Fprintf(&b, ", organization %s", a.OrgID)
	}
	b.WriteString(")\n")
	for _, aa := range a.Actions {
		fmt.Fprintf(&b, "%s:\n", aa.Action)
		if len(aa.Access) == 0 {
			b.WriteString("  no one\n")
		}
		for _, x := range aa.Access {
			how := "key policy"
			switch x.By {
			case "iam":
				how = "IAM policies through the key policy"
			case "grant":
				how = "grant " + x.GrantID
			}
			if x.By != "grant" && x.Statement >= 0 {
				how += fmt.Sprintf(" statement %d %q", x.Statement, x.Sid)
			}
			if x.Conditional {
				how += " if the request has " + strings.Join(x.Needs, ", ")
			}
			where := ""
			switch {
			case x.OutsideOrg:
				where = " [outside the organization]"
			case x.External:
				where = " [another account]"
			}
			fmt.Fprintf(&b, "  %s (%s): %s%s\n", x.Principal, x.Kind, how, where)
		}
	}
	if len(a.Findings) == 0 {
		b.WriteString("Findings: none\n")
		return b.String()
	}
	b.WriteString("Findings:\n")
	for _, f := range a.Findings {
		fmt.Fprintf(&b, "  %s: %s", f.Type, f.Detail)
		if len(f.Actions) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(f.Actions, ", "))
		}
		if f.Type == FindingPublic {
			fmt.Fprintf(&b, ": statement %d %q", f.Statement, f.Sid)
		} else {
			fmt.Fprintf(&b, ": %s", f.Principal)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// administrator is what an account can grant its own principals: every
// action (AdministratorAccess).
var administrator = func() *policy.Policy {
	p, err := policy.Compile([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`), policy.Options{Kind: policy.IdentityKind})
	if err != nil {
		panic(err)
	}
	return p
}()

// AccountStandIn is the candidate "any principal of account": an IAM user
// of it whose own policies allow everything, standing for what the account
// could allow any of its principals, within the SCPs of its account (scps)
// and with the org paths of it (paths) if it is in an organization.
func AccountStandIn(account string, orgPath string, scps []Guardrail) *Identity {
	id := &Identity{
		Principal: Principal{Account: account, ARN: "arn:aws:iam::" + account + ":user/any-principal", Type: UserType, Name: "any-principal", UserID: "AIDAANYPRINCIPAL" + account},
		Policies:  []*policy.Policy{administrator},
		SCPs:      scps,
	}
	if orgPath != "" {
		id.OrgPaths = []string{orgPath}
	}
	return id
}
