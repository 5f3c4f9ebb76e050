package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	ruleRole = docPrin + ` "IAM role principals" (the ARN transforms to the role unique principal ID when you save the policy; a recreated role has a new ID that does not match)`
	ruleUser = docPrin + ` "IAM user principals" (IAM transforms the ARN to the user's unique principal ID when you save the policy; the new user has a new principal ID)`
)

// withID is a caller carrying the unique id of its IAM entity.
func withID(arn, id string) Principal {
	p := awsCaller(arn)
	p.ID = id
	return p
}

// A saved policy's user and role ARNs match the entity they were bound to,
// by unique id, never a later entity of the same name.
func TestBoundPrincipals(t *testing.T) {
	alice := "arn:aws:iam::111122223333:user/alice"
	app := "arn:aws:iam::111122223333:role/team/App"
	session := "arn:aws:sts::111122223333:assumed-role/App/s1"
	other := "arn:aws:iam::444455556666:user/carol"
	bindings := map[string]string{
		alice: "AIDAALICE1111111111", app: "AROAAPP111111111111", other: "AIDACAROL1111111111",
		"arn:aws:iam::111122223333:user/gone": "",
	}
	tests := []struct {
		name, rule, principal string
		caller                Principal
		want                  Via
	}{
		{"bound user", ruleUser, `{"AWS":"` + alice + `"}`, withID(alice, "AIDAALICE1111111111"), ViaPrincipal},
		{"recreated user", ruleUser, `{"AWS":"` + alice + `"}`, withID(alice, "AIDAALICE2222222222"), ViaNone},
		{"caller without id", ruleUser, `{"AWS":"` + alice + `"}`, awsCaller(alice), ViaNone},
		{"bound role covers its sessions", ruleRole, `{"AWS":"` + app + `"}`, withID(session, "AROAAPP111111111111"), ViaRole},
		{"recreated role's session", ruleRole, `{"AWS":"` + app + `"}`, withID(session, "AROAAPP222222222222"), ViaNone},
		{"another account's user binds the same way", ruleUser, `{"AWS":"` + other + `"}`, withID(other, "AIDACAROL1111111111"), ViaPrincipal},
		{"bound to no entity", ruleUser + ` (the policy no longer applies)`, `{"AWS":"arn:aws:iam::111122223333:user/gone"}`, withID("arn:aws:iam::111122223333:user/gone", "AIDAGONE11111111111"), ViaNone},
		{"not in the bindings", ruleUser, `{"AWS":"arn:aws:iam::111122223333:user/bob"}`, withID("arn:aws:iam::111122223333:user/bob", "AIDABOB111111111111"), ViaNone},
		{"account principals are not bound", docPrin + ` "AWS account principals"`, `{"AWS":"111122223333"}`, withID(alice, "AIDAALICE2222222222"), ViaAccount},
		{"session ARNs are not bound", docPrin + ` "Role session principals"`, `{"AWS":"` + session + `"}`, withID(session, "AROAAPP222222222222"), ViaPrincipal},
		{"a unique id written matches that user", ruleUser + ` (the principal ID appears in resource-based policies)`, `{"AWS":"AIDAALICE1111111111"}`, withID(alice, "AIDAALICE1111111111"), ViaPrincipal},
		{"a unique id written matches that role's sessions", ruleRole + ` (the principal ID appears in resource-based policies)`, `{"AWS":"AROAAPP111111111111"}`, withID(session, "AROAAPP111111111111"), ViaRole},
		{"a unique id written does not match another entity", ruleRole, `{"AWS":"AROAAPP111111111111"}`, withID(session, "AROAAPP222222222222"), ViaNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":%s,"Action":"*","Resource":"*"}}`, tt.principal)
			p := mustCompile(t, doc, Options{Kind: ResourceKind, Bound: true, Bindings: bindings})
			out := p.Decide(&Request{Principal: tt.caller, Action: "kms:Decrypt", Resource: "arn:aws:kms:us-east-1:111122223333:key/k"})
			if out.Via != tt.want || (out.Decision == Allow) != (tt.want != ViaNone) {
				t.Errorf("%s: Principal %s, caller %+v: %+v, want via %s", tt.rule, tt.principal, tt.caller, out, tt.want)
			}
		})
	}
	// A unique id written in a policy means the same whether or not the
	// policy was bound: unbound documents still match ARNs by name.
	p := mustCompile(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":["AIDAALICE1111111111","`+app+`"]},"Action":"*","Resource":"*"}}`, Options{Kind: ResourceKind})
	for _, c := range []struct {
		caller Principal
		want   Via
	}{{withID(alice, "AIDAALICE1111111111"), ViaPrincipal}, {withID(session, "AROAANY000000000000"), ViaRole}} {
		if out := p.Decide(&Request{Principal: c.caller, Action: "kms:Decrypt", Resource: "*"}); out.Via != c.want {
			t.Errorf("unbound document, caller %+v: %+v, want via %s", c.caller, out, c.want)
		}
	}
}

// NotPrincipal exempts the bound entity only: a user created again under the
// name is not exempt from the Deny.
func TestBoundNotPrincipal(t *testing.T) {
	bob := "arn:aws:iam::444455556666:user/Bob"
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["` + bob + `","arn:aws:iam::444455556666:root"]},"Action":"s3:*","Resource":"*"}}`
	p := mustCompile(t, doc, Options{Kind: ResourceKind, Bound: true, Bindings: map[string]string{bob: "AIDABOB111111111111"}})
	for _, c := range []struct {
		id     string
		denied bool
	}{{"AIDABOB111111111111", false}, {"AIDABOB222222222222", true}} {
		got := p.Decide(&Request{Principal: withID(bob, c.id), Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}).Decision == ExplicitDeny
		if got != c.denied {
			t.Errorf("%s and %s: Bob with id %s denied = %v, want %v", docNotPrin, ruleUser, c.id, got, c.denied)
		}
	}
}

func TestBindablePrincipals(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/alice","111122223333","arn:aws:iam::111122223333:root"]},"Action":"*","Resource":"*"},
	 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/p/App","Service":"kms.amazonaws.com"},"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/bob"}}},
	 {"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::444455556666:user/carol","arn:aws:sts::111122223333:assumed-role/App/s","AIDAALICE1111111111","arn:aws:iam::111122223333:user\/alice"]},"Action":"*","Resource":"*"},
	 {"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`
	got := BindablePrincipals([]byte(doc))
	// aws:PrincipalArn is a condition key: AWS does not convert it (docPrin,
	// "IAM role principals").
	want := []string{"arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:role/p/App", "arn:aws:iam::444455556666:user/carol"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("BindablePrincipals = %q, want %q", got, want)
	}
	if got := BindablePrincipals([]byte(`{"Statement":`)); got != nil {
		t.Fatalf("BindablePrincipals of a broken document = %q", got)
	}
}

func TestRewritePrincipals(t *testing.T) {
	doc := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Principal\": {\"AWS\": [ \"arn:aws:iam::111122223333:user/alice\" , \"111122223333\"]}, \"Action\": \"kms:*\", \"Resource\": \"*\"},\n" +
		"    {\"Effect\": \"Deny\", \"NotPrincipal\": {\"AWS\":\"arn:aws:iam::111122223333:role\\/App\"}, \"Action\": \"kms:*\", \"Resource\": \"*\",\n     \"Condition\": {\"StringEquals\": {\"aws:PrincipalArn\": \"arn:aws:iam::111122223333:user/alice\"}}}\n  ]\n}\n"
	show := map[string]string{
		"arn:aws:iam::111122223333:user/alice": "AIDAALICE1111111111",
		"arn:aws:iam::111122223333:role/App":   "AROAAPP111111111111",
	}
	got := string(RewritePrincipals([]byte(doc), func(w string) (string, bool) { s, ok := show[w]; return s, ok }))
	want := strings.Replace(strings.Replace(doc, `"arn:aws:iam::111122223333:user/alice" ,`, `"AIDAALICE1111111111" ,`, 1), `"arn:aws:iam::111122223333:role\/App"`, `"AROAAPP111111111111"`, 1)
	if got != want {
		t.Fatalf("%s (the principal ID appears once AWS can no longer map it back to a valid ARN):\ngot  %s\nwant %s", ruleUser, got, want)
	}
	if _, err := Compile([]byte(got), Options{Kind: ResourceKind}); err != nil {
		t.Fatalf("the displayed document does not compile: %v", err)
	}
	same := RewritePrincipals([]byte(doc), func(w string) (string, bool) { return w, true })
	if string(same) != doc {
		t.Fatalf("rewriting nothing changed the document:\n%s", same)
	}
}

// FuzzRewritePrincipals: displaying a valid policy with every bindable
// principal replaced by a unique id yields a valid policy that names none,
// and changes nothing else.
func FuzzRewritePrincipals(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Statement":{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/a","arn:aws:iam::111122223333:role/r"]},"Action":"*","Resource":"*"}}`))
	f.Add([]byte(`{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user\u002fa"},"Action":"*","Resource":"*"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o := Options{Kind: ResourceKind}
		if _, err := Compile(data, o); err != nil {
			return
		}
		names := BindablePrincipals(data)
		out := RewritePrincipals(data, func(w string) (string, bool) {
			for _, n := range names {
				if n == w {
					return "AIDAFUZZ00000000000", true
				}
			}
			return "", false
		})
		if _, err := Compile(out, o); err != nil {
			t.Fatalf("rewritten %q does not compile: %v", out, err)
		}
		if left := BindablePrincipals(out); len(left) != 0 {
			t.Fatalf("rewritten %q still names %q", out, left)
		}
		if len(names) == 0 && string(out) != string(data) {
			t.Fatalf("nothing to rewrite, yet %q became %q", data, out)
		}
	})
}
