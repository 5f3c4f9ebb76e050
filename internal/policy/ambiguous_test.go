package policy

import (
	"fmt"
	"strings"
	"testing"
)

// Names that differ only in case are one condition key
// (reference_policies_elements_condition.md, "Key names are not
// case-sensitive": with tags ec2=test1 and EC2=test2 "the key name matches
// both tags, but only one value matches"; KMS Developer Guide,
// conditions-kms.md: the kms:EncryptionContext: key "is not case sensitive").
// Trent's rule for such a key (Keys.SetOne) is that the decision fails closed
// whatever value was meant: a Deny statement applies if it applies under any
// of the values, an Allow statement only if it applies under all of them.
//
// ambiguousCond is a Condition element over kms:EncryptionContext:tenant; it
// is evaluated in a Deny (next to an unconditional Allow) and in an Allow.
var ambiguousConds = []string{
	`{"StringEquals":{"kms:EncryptionContext:tenant":"A"}}`,
	`{"StringNotEquals":{"kms:EncryptionContext:tenant":"A"}}`,
	`{"StringEqualsIgnoreCase":{"kms:EncryptionContext:tenant":"a"}}`,
	`{"StringNotEqualsIgnoreCase":{"kms:EncryptionContext:tenant":"a"}}`,
	`{"StringLike":{"kms:EncryptionContext:tenant":"A*"}}`,
	`{"StringNotLike":{"kms:EncryptionContext:tenant":"A*"}}`,
	`{"StringEqualsIfExists":{"kms:EncryptionContext:tenant":"A"}}`,
	`{"StringNotEqualsIfExists":{"kms:EncryptionContext:tenant":"A"}}`,
	`{"ForAnyValue:StringEquals":{"kms:EncryptionContext:tenant":"A"}}`,
	`{"ForAllValues:StringEquals":{"kms:EncryptionContext:tenant":"A"}}`,
	`{"ForAnyValue:StringNotEquals":{"kms:EncryptionContext:tenant":"A"}}`,
	`{"ForAllValues:StringNotEquals":{"kms:EncryptionContext:tenant":"A"}}`,
	`{"StringEquals":{"kms:EncryptionContext:tenant":["A","B"]}}`,
	`{"StringNotEquals":{"kms:EncryptionContext:tenant":["A","B"]}}`,
	`{"Null":{"kms:EncryptionContext:tenant":"true"}}`,
	`{"Null":{"kms:EncryptionContext:tenant":"false"}}`,
	// The ambiguous key as a policy variable, and both sides ambiguous.
	`{"StringEquals":{"aws:PrincipalTag/tenant":"${kms:EncryptionContext:tenant}"}}`,
	`{"StringNotEquals":{"aws:PrincipalTag/tenant":"${kms:EncryptionContext:tenant}"}}`,
	`{"StringEquals":{"kms:EncryptionContext:tenant":"${aws:PrincipalTag/tenant}"}}`,
	`{"StringNotEquals":{"kms:EncryptionContext:tenant":"${aws:PrincipalTag/tenant}"}}`,
	// Two conditions on the same key: no single value satisfies both.
	`{"StringEquals":{"kms:EncryptionContext:tenant":"A"},"StringLike":{"kms:EncryptionContext:tenant":"B"}}`,
	`{"StringNotEquals":{"kms:EncryptionContext:tenant":"A"},"StringNotLike":{"kms:EncryptionContext:tenant":"B"}}`,
}

// ambiguousContexts are the encryption contexts tried, as request pairs.
var ambiguousContexts = [][]string{
	{"tenant", "B", "TENANT", "A"}, // the case
	{"Tenant", "A", "tenant", "a"},
	{"tenant", "A", "TENANT", "A"}, // same value twice: not ambiguous
	{"tenant", "C", "Tenant", "B", "TENANT", "A"},
	{"tenant", "A"},
}

func ambiguousDoc(effect, cond string) string {
	if effect == "Deny" {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},` +
			`{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*","Condition":` + cond + `}]}`
	}
	return `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":` + cond + `}}`
}

func ambiguousRequest(ec []string, tags ...string) *Request {
	r := &Request{Principal: awsCaller("arn:aws:iam::111122223333:user/Alice"), Action: "kms:Decrypt",
		Resource: "arn:aws:kms:us-east-1:111122223333:key/k", Keys: Keys{}, More: []Keys{{}}}
	for i := 0; i < len(ec); i += 2 {
		r.Keys.SetOne("kms:EncryptionContext:"+ec[i], ec[i+1])
	}
	for i := 0; i < len(tags); i += 2 {
		r.More[0].SetOne("aws:PrincipalTag/"+tags[i], tags[i+1])
	}
	return r
}

// ambiguousListRequest is ambiguousRequest with the encryption context in
// the request's KeyList rather than its Keys.
func ambiguousListRequest(ec []string, tags ...string) *Request {
	r := ambiguousRequest(nil, tags...)
	var vals []string
	for i := 0; i < len(ec); i += 2 {
		r.List, vals = r.List.SetOne(vals, strings.ToLower("kms:EncryptionContext:"+ec[i]), ec[i+1])
	}
	return r
}

// worlds returns the single-valued requests an ambiguous key stands for: one
// per choice of value for each ambiguous key.
func worlds(ec, tags []string) [][2][]string {
	ecs := choices(ec)
	tgs := choices(tags)
	var out [][2][]string
	for _, e := range ecs {
		for _, t := range tgs {
			out = append(out, [2][]string{e, t})
		}
	}
	return out
}

// choices lists the pair lists with one pair per lower-cased name.
func choices(pairs []string) [][]string {
	out := [][]string{nil}
	seen := map[string]bool{}
	for i := 0; i < len(pairs); i += 2 {
		n := strings.ToLower(pairs[i])
		if seen[n] {
			continue
		}
		seen[n] = true
		var vals []string
		for j := 0; j < len(pairs); j += 2 {
			if strings.ToLower(pairs[j]) == n {
				vals = append(vals, pairs[j+1])
			}
		}
		var next [][]string
		for _, o := range out {
			for _, v := range vals {
				next = append(next, append(append([]string(nil), o...), n, v))
			}
		}
		out = next
	}
	return out
}

// TestAmbiguousKeysFailClosed checks every operator against the rule by
// brute force: the ambiguous request is denied if any single-valued request
// it stands for is denied by a Deny, and allowed by an Allow only if every
// one is; the answer never depends on map order.
func TestAmbiguousKeysFailClosed(t *testing.T) {
	tagSets := [][]string{nil, {"tenant", "A"}, {"tenant", "A", "Tenant", "B"}}
	for _, cond := range ambiguousConds {
		for _, effect := range []string{"Deny", "Allow"} {
			p := mustCompile(t, ambiguousDoc(effect, cond), Options{})
			for _, ec := range ambiguousContexts {
				for _, tags := range tagSets {
					name := fmt.Sprintf("%s %s ec=%v tags=%v", effect, cond, ec, tags)
					want := Allow
					if effect == "Allow" {
						// Allowed only if allowed in every world.
						for _, w := range worlds(ec, tags) {
							if p.Decide(ambiguousRequest(w[0], w[1]...)).Decision != Allow {
								want = NotApplicable
							}
						}
					} else {
						// Denied if denied in any world.
						for _, w := range worlds(ec, tags) {
							if p.Decide(ambiguousRequest(w[0], w[1]...)).Decision == ExplicitDeny {
								want = ExplicitDeny
							}
						}
					}
					for i := 0; i < 60; i++ {
						r := ambiguousRequest(ec, tags...)
						if i%2 == 1 {
							r = ambiguousListRequest(ec, tags...)
						}
						if got := p.Decide(r).Decision; got != want {
							t.Fatalf("%s: Decide = %v, want %v (run %d)\n%s", name, got, want, i, p.Explain(r))
						}
						var res Result
						if p.Evaluate(r, &res); res.Decision != want {
							t.Fatalf("%s: Evaluate = %v, want %v", name, res.Decision, want)
						}
						if ex := p.Explain(r); ex.Decision != want {
							t.Fatalf("%s: Explain = %v, want %v", name, ex.Decision, want)
						}
					}
				}
			}
		}
	}
}

// The request: a Deny on tenant A is not bypassed by also sending
// TENANT=A next to tenant=B, whatever order the context map iterates in.
func TestAmbiguousKeyDenyFires(t *testing.T) {
	p := mustCompile(t, ambiguousDoc("Deny", `{"StringEquals":{"kms:EncryptionContext:tenant":"A"}}`), Options{})
	for i := 0; i < 30; i++ {
		ec := map[string]string{"tenant": "B", "TENANT": "A"}
		r := &Request{Principal: awsCaller("arn:aws:iam::111122223333:user/Alice"), Action: "kms:Decrypt", Resource: "*", Keys: Keys{}}
		for k, v := range ec {
			r.Keys.SetOne("kms:EncryptionContext:"+k, v)
		}
		if out := p.Decide(r); out.Decision != ExplicitDeny {
			t.Fatalf("run %d: %v, want ExplicitDeny", i, out)
		}
	}
}

// Too many combinations to try are decided against the caller: a Deny
// applies, an Allow does not.
func TestAmbiguousKeysBeyondBudget(t *testing.T) {
	deny := mustCompile(t, ambiguousDoc("Deny", `{"StringEquals":{"kms:EncryptionContext:t0":"never"}}`), Options{})
	allow := mustCompile(t, ambiguousDoc("Allow", `{"StringLike":{"kms:EncryptionContext:t0":"*"}}`), Options{})
	r := &Request{Principal: awsCaller("arn:aws:iam::111122223333:user/Alice"), Action: "kms:Decrypt", Resource: "*", Keys: Keys{}}
	for i := 0; i <= maxChoices; i++ {
		r.Keys.SetOne("kms:EncryptionContext:t0", fmt.Sprint(i))
	}
	if got := deny.Decide(r).Decision; got != ExplicitDeny {
		t.Errorf("Deny over %d alternatives = %v, want ExplicitDeny", maxChoices+1, got)
	}
	if got := allow.Decide(r).Decision; got != NotApplicable {
		t.Errorf("Allow over %d alternatives = %v, want NotApplicable", maxChoices+1, got)
	}
	// Within the budget every choice is tried.
	r = &Request{Principal: r.Principal, Action: "kms:Decrypt", Resource: "*", Keys: Keys{}}
	for i := 0; i < maxChoices; i++ {
		r.Keys.SetOne("kms:EncryptionContext:t0", fmt.Sprint(i))
	}
	if got := deny.Decide(r).Decision; got != Allow {
		t.Errorf("Deny over %d alternatives = %v, want Allow", maxChoices, got)
	}
	if got := allow.Decide(r).Decision; got != Allow {
		t.Errorf("Allow over %d alternatives = %v, want Allow", maxChoices, got)
	}
}

// KeyList.SetOne keeps Keys.SetOne's rules, and never writes into the array
// of values it was given for earlier keys.
func TestKeyListSetOne(t *testing.T) {
	vals := make([]string, 0, 4)
	var l KeyList
	l, vals = l.SetOne(vals, "kms:encryptioncontext:a", "x")
	l, vals = l.SetOne(vals, "kms:encryptioncontext:b", "y")
	l, vals = l.SetOne(vals, "kms:encryptioncontext:a", "x")
	r := &Request{List: l}
	if got, where := r.lookup("kms:encryptioncontext:a"); len(got) != 1 || where >= 0 {
		t.Fatalf("same value twice: %v, place %d", got, where)
	}
	l, vals = l.SetOne(vals, "kms:encryptioncontext:a", "w")
	r = &Request{List: l, More: []Keys{{}}}
	if got, where := r.lookup("kms:encryptioncontext:a"); len(got) != 2 || got[0] != "w" || got[1] != "x" || where < 0 {
		t.Fatalf("second value: %v, place %d", got, where)
	}
	if got := r.Values("kms:encryptioncontext:b"); len(got) != 1 || got[0] != "y" {
		t.Fatalf("the next key's value was overwritten: %v", got)
	}
	if len(vals) != 2 || vals[0] != "x" || vals[1] != "y" {
		t.Fatalf("backing values = %v", vals)
	}
	l = l.Add("aws:tagkeys", "p").Add("aws:tagkeys", "q")
	if got := (&Request{List: l}).Values("aws:tagkeys"); len(got) != 2 {
		t.Fatalf("Add: %v", got)
	}
}

// SetOne with one value is Set; with a repeated value it stays single-valued;
// the shared slice of another Keys is never modified.
func TestSetOne(t *testing.T) {
	shared := []string{"x"}
	k := Keys{"kms:encryptioncontext:a": shared}
	k.SetOne("kms:EncryptionContext:A", "x")
	if got := k["kms:encryptioncontext:a"]; len(got) != 1 || k.ambiguous("kms:encryptioncontext:a") {
		t.Fatalf("same value twice: %v, ambiguous %v", got, k.ambiguous("kms:encryptioncontext:a"))
	}
	k.SetOne("kms:EncryptionContext:A", "w")
	if got := k["kms:encryptioncontext:a"]; len(got) != 2 || got[0] != "w" || !k.ambiguous("kms:encryptioncontext:a") {
		t.Fatalf("second value: %v", got)
	}
	if len(shared) != 1 || shared[0] != "x" {
		t.Fatalf("shared slice changed: %v", shared)
	}
	r := &Request{Keys: k}
	if v, where := r.lookup("kms:encryptioncontext:a"); where < 0 || len(v) != 2 {
		t.Fatalf("lookup = %v, %v", v, where)
	}
	// A multivalued key is not ambiguous.
	r.Keys.Add("aws:TagKeys", "a", "b")
	if _, where := r.lookup("aws:tagkeys"); where >= 0 {
		t.Fatal("aws:TagKeys reported ambiguous")
	}
}
