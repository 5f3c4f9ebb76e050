package corpus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
)

// Organization is the organization of a world:
//
//	"organization": {"id": "o-exampleorgid", "management": "999988887777",
//	  "accounts": {"111122223333": {"path": "o-exampleorgid/r-ab12/ou-ab12-11111111/",
//	                                "rcps": [{…root's RCP…}, [{…}, {…}], {…account's…}]}}}
//
// Each level of "rcps" (root first) is a resource control policy or an
// array of them; the management account has none, as RCPs never limit its
// resources. The SCPs of a principal are its own ("scps"), in the same form.
type Organization struct {
	ID         string                 `json:"id"`
	Management string                 `json:"management"`
	Accounts   map[string]*OrgAccount `json:"accounts"`
}

// OrgAccount is an account's place and its resources' guardrails.
type OrgAccount struct {
	Path string            `json:"path"`
	RCPs []json.RawMessage `json:"rcps"`
}

// OrgScope is what the world's organization says of an account, as the
// IAM directory says it (kms.Organization): nil for an account in no
// organization. It panics on a corpus RCP that does not compile: Load
// checked them.
func (f *File) OrgScope(account string) *authz.AccountOrg {
	o := f.Organization
	if o == nil || o.Accounts[account] == nil {
		return nil
	}
	a := o.Accounts[account]
	out := &authz.AccountOrg{OrgID: o.ID, Paths: []string{a.Path}}
	if account == o.Management {
		return out
	}
	levels, err := guardrails(a.RCPs, "rcp", func(doc json.RawMessage) (*policy.Policy, error) {
		return policy.Compile(doc, policy.Options{Kind: policy.ResourceKind})
	})
	if err != nil {
		panic(fmt.Sprintf("corpus: account %s: %v", account, err))
	}
	out.Resource = levels
	return out
}

// Identity is a principal of the world as the IAM directory builds it,
// with its account's org paths.
func (f *File) Identity(name string, now time.Time, id func(string) string) (*authz.Identity, error) {
	p := f.Principals[name]
	if p == nil {
		return nil, fmt.Errorf("no principal %q", name)
	}
	out, err := p.Identity(now, id)
	if err != nil {
		return nil, err
	}
	if s := f.OrgScope(out.Account); s != nil {
		out.OrgPaths = s.Paths
	}
	return out, nil
}

// guardrails compiles levels of guardrails, each a document or an array
// of them; policy j of level i is named <kind><i>.<j>.
func guardrails(levels []json.RawMessage, kind string, compile func(json.RawMessage) (*policy.Policy, error)) ([]authz.Guardrail, error) {
	var out []authz.Guardrail
	for i, l := range levels {
		docs := []json.RawMessage{l}
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] == '[' {
			docs = nil
			if err := json.Unmarshal(l, &docs); err != nil {
				return nil, fmt.Errorf("%s level %d: %w", kind, i, err)
			}
		}
		g := authz.Guardrail{Target: kind + "-level-" + strconv.Itoa(i)}
		for j, d := range docs {
			p, err := compile(d)
			if err != nil {
				return nil, fmt.Errorf("%s level %d policy %d: %w", kind, i, j, err)
			}
			g.Policies = append(g.Policies, p)
			g.IDs = append(g.IDs, kind+strconv.Itoa(i)+"."+strconv.Itoa(j))
		}
		out = append(out, g)
	}
	return out, nil
}
