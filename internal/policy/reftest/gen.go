package reftest

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"time"
)

// The generator draws policies and requests from a small universe, so that
// principals, actions, resources and condition values collide often: two
// accounts, their root users, two users, role sessions (with a role path
// and a second session), a service; KMS keys and an alias; condition keys
// of every value type. Everything it makes is valid for the engine (no
// variables where AWS forbids them, set operators on multivalued keys), and
// it stays within what the documentation decides: no operator without a
// set qualifier on a multivalued key, no wildcard characters in values that
// policy variables take.

// Accounts of the universe.
const (
	AccountA = "111122223333"
	AccountB = "444455556666"
)

// Callers of the universe.
var Callers = []Caller{
	{Kind: "root", ARN: "arn:aws:iam::" + AccountA + ":root", Account: AccountA},
	{Kind: "user", ARN: "arn:aws:iam::" + AccountA + ":user/alice", Account: AccountA, ID: "AIDAALICE0000000001"},
	{Kind: "user", ARN: "arn:aws:iam::" + AccountA + ":user/bob", Account: AccountA, ID: "AIDABOB000000000002"},
	{Kind: "user", ARN: "arn:aws:iam::" + AccountB + ":user/carol", Account: AccountB, ID: "AIDACAROL0000000003"},
	{Kind: "session", ARN: "arn:aws:sts::" + AccountA + ":assumed-role/App/s1", Account: AccountA, Role: "App", ID: "AROAAPP000000000004"},
	{Kind: "session", ARN: "arn:aws:sts::" + AccountA + ":assumed-role/App/s2", Account: AccountA, Role: "App", ID: "AROAAPP000000000004"},
	{Kind: "session", ARN: "arn:aws:sts::" + AccountA + ":assumed-role/Ops/s1", Account: AccountA, Role: "Ops", ID: "AROAOPS000000000005"},
	{Kind: "session", ARN: "arn:aws:sts::" + AccountB + ":assumed-role/Partner/p1", Account: AccountB, Role: "Partner", ID: "AROAPARTNER00000006"},
	{Kind: "root", ARN: "arn:aws:iam::" + AccountB + ":root", Account: AccountB},
	{Kind: "service", ARN: "backup.example.internal"},
}

// Keys of the universe: two of account A, one of B.
var Keys = []string{
	"arn:aws:kms:us-east-1:" + AccountA + ":key/1234abcd-0000-4000-8000-000000000001",
	"arn:aws:kms:us-east-1:" + AccountA + ":key/1234abcd-0000-4000-8000-000000000002",
	"arn:aws:kms:us-east-1:" + AccountB + ":key/1234abcd-0000-4000-8000-000000000003",
}

var (
	actions = []string{"kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:CreateGrant"}
	// Patterns that match often are repeated, so that statements apply often
	// enough for their conditions and principals to decide.
	actionPatterns = []string{"*", "kms:*", "kms:*", "kms:Encrypt", "kms:Decrypt", "kms:*crypt", "KMS:ENCRYPT", "kms:Describe*", "kms:?ncrypt", "kms:Gen*Key", "iam:*", "kms:*Grant*"}
	resources      = append(append([]string(nil), Keys...), "arn:aws:kms:us-east-1:"+AccountA+":alias/app")
	// resourcePatterns include wildcards within segments and variables in the
	// resource part (reference_policies_variables.md, "Resource element").
	resourcePatterns = []string{
		"*", "*", "arn:aws:kms:*:" + AccountA + ":key/*", Keys[0], "arn:aws:kms:us-east-?:*:key/*01", "arn:aws:kms:*:*:alias/*",
		"arn:aws:kms:*:" + AccountA + ":*", "arn:aws:kms:us-east-1:*:key/1234abcd-0000-4000-8000-00000000000${aws:PrincipalTag/n, '2'}",
	}
	principalValuesPool = []string{
		"*", AccountA, "arn:aws:iam::" + AccountA + ":root", "arn:aws:iam::" + AccountB + ":root",
		"arn:aws:iam::" + AccountA + ":user/alice", "arn:aws:iam::" + AccountA + ":user/bob", "arn:aws:iam::" + AccountB + ":user/carol",
		"arn:aws:iam::" + AccountA + ":role/App", "arn:aws:iam::" + AccountA + ":role/team/Ops", "arn:aws:iam::" + AccountB + ":role/Partner",
		"arn:aws:iam::" + AccountA + ":role/App", "arn:aws:iam::" + AccountA + ":role/team/Ops",
		"arn:aws:sts::" + AccountA + ":assumed-role/App/s1", "arn:aws:sts::" + AccountB + ":assumed-role/Partner/p1",
	}
	services = []string{"backup.example.internal", "other.example.internal"}
)

// keySpec is a condition key of the universe and what may be compared with it.
type keySpec struct {
	name  string
	typ   string // "string", "arn", "numeric", "date", "bool", "ip"
	multi bool
	pool  []string // policy values
	vars  bool     // a single-valued string the policy may use as a variable
}

var keySpecs = []keySpec{
	{name: "kms:EncryptionContext:tenant", typ: "string", pool: []string{"a", "A", "b", "tenant-1", "tenant-*", "?", "*", "${aws:username}", "${aws:PrincipalTag/team, 'a'}", "${*}"}},
	{name: "aws:PrincipalTag/team", typ: "string", vars: true, pool: []string{"blue", "red", "Blue", "b*", "${kms:EncryptionContext:tenant}"}},
	{name: "aws:username", typ: "string", vars: true, pool: []string{"alice", "ALICE", "bob", "a*"}},
	{name: "kms:CallerAccount", typ: "string", vars: true, pool: []string{AccountA, AccountB, "1111*"}},
	{name: "kms:ViaService", typ: "string", pool: []string{"backup.example.internal", "*.example.internal"}},
	{name: "aws:PrincipalArn", typ: "arn", vars: true, pool: []string{"arn:aws:iam::" + AccountA + ":role/App", "arn:aws:iam::*:user/*", "arn:aws:iam::" + AccountA + ":user/alice", "arn:aws:iam::${aws:PrincipalAccount}:*", "arn:aws:iam::" + AccountA + ":root"}},
	{name: "aws:SourceArn", typ: "arn", pool: []string{"arn:aws:s3:::bucket-a", "arn:aws:s3:::bucket-?", "arn:aws:someservice:*:111122223333:finance/*"}},
	{name: "kms:EncryptionContextKeys", typ: "string", multi: true, pool: []string{"tenant", "TENANT", "app", "aws:*", "t*"}},
	{name: "aws:TagKeys", typ: "string", multi: true, pool: []string{"Owner", "Env", "owner"}},
	{name: "kms:GrantOperations", typ: "string", multi: true, pool: []string{"Encrypt", "Decrypt", "RetireGrant"}},
	{name: "kms:RotationPeriodInDays", typ: "numeric", pool: []string{"90", "365", "180.5", "100"}},
	{name: "aws:CurrentTime", typ: "date", pool: []string{"2025-06-01T00:00:00Z", "2026-01-01T00:00:00Z", "1767225600", "2027-01-01"}},
	{name: "aws:TokenIssueTime", typ: "date", pool: []string{"2025-12-31T23:00:00Z", "2025-01-01T00:00:00Z"}},
	{name: "aws:SecureTransport", typ: "bool", pool: []string{"true", "false"}},
	{name: "aws:SourceIp", typ: "ip", pool: []string{"192.0.2.0/24", "192.0.2.10", "10.0.0.0/8", "2001:db8::/32"}},
}

var operatorsOf = map[string][]string{
	"string":  {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"},
	"arn":     {"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "StringLike", "StringEquals"},
	"numeric": {"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals"},
	"date":    {"DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals"},
	"bool":    {"Bool"},
	"ip":      {"IpAddress", "NotIpAddress"},
}

// Gen draws policies and requests.
type Gen struct{ R *rand.Rand }

// NewGen returns a generator seeded with two words.
func NewGen(a, b uint64) *Gen { return &Gen{R: rand.New(rand.NewPCG(a, b))} }

func (g *Gen) pick(list []string) string { return list[g.R.IntN(len(list))] }
func (g *Gen) chance(n int) bool         { return g.R.IntN(n) == 0 }

// some picks one to max distinct elements.
func (g *Gen) some(list []string, max int) []string {
	n := 1 + g.R.IntN(max)
	var out []string
	for i := 0; i < n; i++ {
		v := g.pick(list)
		dup := false
		for _, x := range out {
			dup = dup || x == v
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}

// one writes a list as a JSON string when it has one element, as AWS
// allows (reference_policies_grammar.md).
func one(list []string) any {
	if len(list) == 1 {
		return list[0]
	}
	return list
}

// Kind of policy to generate.
const (
	IdentityPolicy = "identity"
	ResourcePolicy = "resource"
)

// Policy generates a policy document of a kind: identity-based (no
// Principal) or resource-based (Principal or NotPrincipal), in Version
// 2012-10-17 or, now and then, 2008-10-17 (where variables are literal).
// Principal elements name the caller's own principals (its ARN, its role,
// its account) often, so that every way of covering it is common.
func (g *Gen) Policy(kind string, caller Caller) []byte {
	version := "2012-10-17"
	if g.chance(8) {
		version = "2008-10-17"
	}
	var stmts []any
	for i, n := 0, 1+g.R.IntN(3); i < n; i++ {
		s := map[string]any{"Effect": "Allow"}
		if g.chance(3) {
			s["Effect"] = "Deny"
		}
		if kind == ResourcePolicy {
			el := "Principal"
			if g.chance(6) {
				el = "NotPrincipal"
			}
			s[el] = g.principal(el == "NotPrincipal", caller)
		}
		if g.chance(6) {
			s["NotAction"] = one(g.some(actionPatterns, 2))
		} else {
			s["Action"] = one(g.some(actionPatterns, 2))
		}
		if g.chance(6) {
			s["NotResource"] = one(g.some(resourcePatterns[1:], 2))
		} else {
			s["Resource"] = one(g.some(resourcePatterns, 2))
		}
		if c := g.conditions(); len(c) > 0 {
			s["Condition"] = c
		}
		stmts = append(stmts, s)
	}
	doc, err := json.Marshal(map[string]any{"Version": version, "Statement": stmts})
	if err != nil {
		panic(err)
	}
	return doc
}

func (g *Gen) principal(not bool, c Caller) any {
	if !not && g.chance(6) {
		return "*"
	}
	m := map[string]any{}
	if g.chance(5) {
		m["Service"] = one(g.some(services, 2))
	}
	if len(m) == 0 || g.chance(2) {
		pool := principalValuesPool
		if not {
			pool = pool[1:] // NotPrincipal "*" would exempt everyone; it is not useful
		}
		if c.Kind != "service" {
			own := []string{c.ARN, c.Account, "arn:aws:iam::" + c.Account + ":root"}
			if c.Kind == "session" {
				own = append(own, "arn:aws:iam::"+c.Account+":role/"+c.Role, "arn:aws:iam::"+c.Account+":role/"+c.Role)
			}
			pool = append(append([]string(nil), pool...), own...)
			pool = append(pool, own...)
		}
		m["AWS"] = one(g.some(pool, 3))
	}
	return m
}

func (g *Gen) conditions() map[string]map[string]any {
	out := map[string]map[string]any{}
	n := 0
	if g.chance(2) {
		n = 1 + g.R.IntN(2)
	}
	for i := 0; i < n; i++ {
		ks := keySpecs[g.R.IntN(len(keySpecs))]
		var op string
		var vals []string
		if g.chance(7) {
			op = "Null"
			vals = []string{g.pick([]string{"true", "false"})}
		} else {
			op = g.pick(operatorsOf[ks.typ])
			vals = g.some(ks.pool, 2)
			if !variablesAllowed(op) {
				vals = withoutVariables(vals)
			}
			if op == "StringEquals" || op == "StringNotEquals" || op == "StringEqualsIgnoreCase" || op == "StringNotEqualsIgnoreCase" ||
				op == "ArnEquals" || op == "ArnNotEquals" || op == "Bool" {
				// Equality operators have no wildcards; keep the test about
				// equality (a * in StringEquals is a literal character).
				if g.chance(2) {
					vals = withoutWildcards(vals)
				}
			}
			if len(vals) == 0 {
				vals = []string{ks.pool[0]}
			}
			if g.chance(4) {
				op += "IfExists"
			}
			if ks.multi || g.chance(8) {
				op = g.pick([]string{"ForAnyValue:", "ForAllValues:"}) + op
			}
		}
		if out[op] == nil {
			out[op] = map[string]any{}
		}
		out[op][ks.name] = one(vals)
	}
	return out
}

// variablesAllowed: string, ARN and Boolean operators take variables
// (reference_policies_variables.md, "Condition element"); numeric, date,
// IP and Null do not.
func variablesAllowed(op string) bool {
	for _, p := range []string{"String", "Arn", "Bool"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

func withoutVariables(vals []string) []string {
	var out []string
	for _, v := range vals {
		if !strings.Contains(v, "${") {
			out = append(out, v)
		}
	}
	return out
}

func withoutWildcards(vals []string) []string {
	var out []string
	for _, v := range vals {
		if !strings.ContainsAny(v, "*?") {
			out = append(out, v)
		}
	}
	return out
}

// Request generates a request context: a caller, an action, a resource, the
// keys AWS puts in the request context for that caller (per
// reference_policies_condition-keys.md), and request keys with collisions
// of case now and then.
func (g *Gen) Request() *Request {
	c := Callers[g.R.IntN(len(Callers))]
	r := &Request{Caller: c, Action: g.pick(actions), Resource: g.pick(resources), Multi: map[string][]string{}}
	if !g.chance(5) {
		r.Time = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	r.Tags = g.tags()
	r.Single = append(r.Single, IdentityKeys(c, r.Tags)...)
	add := func(name, value string) { r.Single = append(r.Single, Pair{name, value}) }
	if c.Kind == "session" {
		add("aws:TokenIssueTime", "2025-12-31T23:00:00Z")
	}
	// The encryption context: its keys are multivalued kms:EncryptionContextKeys;
	// each pair is kms:EncryptionContext:<key>, whose name is not case
	// sensitive, so "tenant" and "TENANT" are one key with two values.
	ecNames := []string{"tenant", "TENANT", "app"}
	ecValues := []string{"a", "A", "b", "tenant-1", "alice", "blue"}
	for _, n := range ecNames {
		if g.chance(2) {
			v := g.pick(ecValues)
			add("kms:EncryptionContext:"+n, v)
			r.Multi["kms:EncryptionContextKeys"] = append(r.Multi["kms:EncryptionContextKeys"], n)
		}
	}
	if g.chance(2) {
		add("aws:SourceIp", g.pick([]string{"192.0.2.10", "10.1.2.3", "2001:db8::1", "203.0.113.5"}))
	}
	add("aws:SecureTransport", g.pick([]string{"true", "false"}))
	if g.chance(3) {
		add("aws:SourceArn", g.pick([]string{"arn:aws:s3:::bucket-a", "arn:aws:s3:::bucket-b", "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/doc", "arn:aws:someservice:us-east-2:111122223333:finance/doc"}))
	}
	if g.chance(3) {
		add("kms:ViaService", g.pick([]string{"backup.example.internal", "geo.example.internal"}))
	}
	if g.chance(3) {
		add("kms:RotationPeriodInDays", g.pick([]string{"90", "365", "180.5"}))
	}
	if g.chance(3) {
		r.Multi["aws:TagKeys"] = g.some([]string{"Owner", "Env", "owner"}, 2)
	}
	if g.chance(3) {
		r.Multi["kms:GrantOperations"] = g.some([]string{"Encrypt", "Decrypt", "RetireGrant"}, 2)
	}
	return r
}

// tags draws a principal's tags.
func (g *Gen) tags() map[string]string {
	t := map[string]string{}
	if g.chance(2) {
		t["team"] = g.pick([]string{"blue", "red", "Blue", "a"})
	}
	if g.chance(3) {
		t["n"] = g.pick([]string{"1", "2", "3"})
	}
	return t
}

// IdentityKeys are the condition keys that describe a caller
// (reference_policies_condition-keys.md): aws:PrincipalArn (for a role
// session, the role's ARN), aws:PrincipalAccount, aws:PrincipalType,
// aws:userid, aws:username (IAM users only), aws:PrincipalTag/*, and
// kms:CallerAccount (conditions-kms.md); for a service,
// aws:PrincipalServiceName and aws:PrincipalIsAWSService.
func IdentityKeys(c Caller, tags map[string]string) []Pair {
	if c.Kind == "service" {
		return []Pair{{"aws:PrincipalServiceName", c.ARN}, {"aws:PrincipalIsAWSService", "true"}}
	}
	out := []Pair{{"aws:PrincipalAccount", c.Account}, {"kms:CallerAccount", c.Account}, {"aws:PrincipalIsAWSService", "false"}}
	switch c.Kind {
	case "root":
		out = append(out, Pair{"aws:PrincipalArn", c.ARN}, Pair{"aws:PrincipalType", "Account"}, Pair{"aws:userid", c.Account})
	case "user":
		name := c.ARN[strings.LastIndex(c.ARN, "/")+1:]
		out = append(out, Pair{"aws:PrincipalArn", c.ARN}, Pair{"aws:PrincipalType", "User"}, Pair{"aws:userid", c.ID}, Pair{"aws:username", name})
	case "session":
		session := c.ARN[strings.LastIndex(c.ARN, "/")+1:]
		out = append(out, Pair{"aws:PrincipalArn", "arn:aws:iam::" + c.Account + ":role/" + c.Role}, Pair{"aws:PrincipalType", "AssumedRole"}, Pair{"aws:userid", c.ID + ":" + session})
	}
	for k, v := range tags {
		out = append(out, Pair{"aws:PrincipalTag/" + k, v})
	}
	return out
}
