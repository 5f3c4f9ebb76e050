package policy

import (
	"slices"
	"strings"
)

// Summaries describe a policy's statements for analyses that reason about
// what a statement could allow rather than evaluate one request (who may
// use a key; whether a statement is public).

// StatementSummary describes one statement.
type StatementSummary struct {
	Index  int // its position in the document's Statement list
	Sid    string
	Effect Effect
	// Public: the statement's principal is everyone: Principal "*" or
	// {"AWS": "*"}, or a NotPrincipal (everyone but those it names).
	Public bool
	// Services are the service principals its Principal names, Accounts
	// the accounts of the AWS principals it names (accounts, their users
	// and roles, sessions).
	Services   []string
	Accounts   []string
	Conditions []ConditionSummary
}

// ConditionSummary is one operator and key of a Condition element.
type ConditionSummary struct {
	Operator string // the operator without a set qualifier or IfExists: StringNotEquals, ArnLike, IpAddress…
	// Negated operators (StringNotEquals…) hold when the value differs;
	// IfExists ones also when the key is absent; a set qualifier
	// (ForAnyValue, ForAllValues) compares sets.
	Negated, IfExists, Set bool
	Key                    string // as written
	Values                 []string
}

// Summary describes every statement of the policy.
func (p *Policy) Summary() []StatementSummary {
	out := make([]StatementSummary, 0, len(p.stmts))
	for i := range p.stmts {
		s := &p.stmts[i]
		ss := StatementSummary{Index: s.index, Sid: s.sid, Effect: s.effect}
		if pr := s.principal; pr != nil {
			ss.Public = pr.anyone || s.notPrincipal
			ss.Services = append(ss.Services, pr.services...)
			add := func(a string) {
				if a != "" && !slices.Contains(ss.Accounts, a) {
					ss.Accounts = append(ss.Accounts, a)
				}
			}
			for _, a := range pr.accounts {
				add(a.account)
			}
			for _, r := range pr.roles {
				add(r.account)
			}
			for _, a := range pr.arns {
				if parts := strings.SplitN(a, ":", 6); len(parts) == 6 {
					add(parts[4])
				}
			}
		}
		for _, c := range s.conds {
			ss.Conditions = append(ss.Conditions, ConditionSummary{
				Operator: c.op.base, Negated: c.op.info.neg, IfExists: c.op.ifExists, Set: c.op.set != setNone,
				Key: c.keyRaw, Values: c.raw,
			})
		}
		out = append(out, ss)
	}
	return out
}
