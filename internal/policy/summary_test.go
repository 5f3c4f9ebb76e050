package policy

import (
	"slices"
	"testing"
)

func TestSummary(t *testing.T) {
	p, err := Compile([]byte(`{"Version":"2012-10-17","Statement":[
		{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-1"}}},
		{"Sid":"Trail","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com","AWS":["444455556666","arn:aws:iam::555566667777:role/r","arn:aws:iam::666677778888:user/u"]},"Action":"kms:Encrypt","Resource":"*"},
		{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`), Options{Kind: ResourceKind})
	if err != nil {
		t.Fatal(err)
	}
	s := p.Summary()
	if len(s) != 3 || !s[0].Public || s[1].Public || !s[2].Public || s[2].Effect != DenyEffect {
		t.Fatalf("Summary = %+v", s)
	}
	if c := s[0].Conditions[0]; c.Operator != "StringNotEquals" || !c.Negated || !c.IfExists || c.Key != "aws:PrincipalOrgID" || len(c.Values) != 1 || c.Values[0] != "o-1" {
		t.Fatalf("condition = %+v", c)
	}
	if len(s[1].Services) != 1 || s[1].Services[0] != "cloudtrail.amazonaws.com" || !slices.Equal(s[1].Accounts, []string{"444455556666", "555566667777", "666677778888"}) {
		t.Fatalf("services = %v, accounts = %v", s[1].Services, s[1].Accounts)
	}
}
