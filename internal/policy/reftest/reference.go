// Package reftest is a reference evaluator of IAM policies and of the IAM
// and KMS evaluation logic, written from the IAM User Guide and the KMS
// Developer Guide (../shared/docs) for differential tests of the engine
// (internal/policy and internal/authz), with a generator of policies and
// requests for them.
//
// It is deliberately simple and slow: documents are decoded with
// encoding/json into maps, wildcards are matched by a backtracking
// recursion, every rule is an explicit loop, and nothing is prepared
// ahead. It shares no code with the engine, so that one reading of the
// documentation checks the other. Each rule cites the page it comes from.
//
// It is test support: only tests import it.
package reftest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Effect of a policy or a statement.
type Effect int

const (
	NotApplicable Effect = iota // no statement applies
	Allow
	Deny
)

func (e Effect) String() string { return [...]string{"NotApplicable", "Allow", "Deny"}[e] }

// Grant says how an allowing statement's Principal element covered the
// caller, which decides what else must allow (IAM User Guide,
// reference_policies_evaluation-logic.md, "Resource-based policies and
// implicit denies in other policy types").
type Grant int

const (
	GrantNone Grant = iota
	// GrantIdentity: a statement without Principal (identity-based policies).
	GrantIdentity
	// GrantAccount: the caller's account (its id or root ARN): a delegation
	// to the account's identity-based policies.
	GrantAccount
	// GrantRole: the role of a role session caller; limited by the session's
	// boundary and session policies.
	GrantRole
	// GrantDirect: the caller itself: its user or session ARN, "*", a
	// NotPrincipal that does not exclude it, or its service.
	GrantDirect
)

func (g Grant) String() string {
	return [...]string{"none", "identity", "account", "role", "direct"}[g]
}

// Caller is who makes a request.
type Caller struct {
	// Kind is "root", "user", "session" (an assumed-role session) or
	// "service".
	Kind    string
	ARN     string // the service principal name for a service
	Account string
	// Role is the role name of a session.
	Role string
	// ID is the unique id of the IAM entity: the user's, or the role's for a
	// session.
	ID string
}

// Pair is one single-valued condition key as the request names it.
type Pair struct{ Name, Value string }

// Request is the request context.
type Request struct {
	Caller   Caller
	Action   string
	Resource string
	// Single are the single-valued keys, names as the request gives them
	// (an encryption context key keeps its case). Key names are not case
	// sensitive (reference_policies_elements_condition.md), so names that
	// differ only in case are one key with several candidate values.
	Single []Pair
	// Multi are the multivalued keys (kms:EncryptionContextKeys, aws:TagKeys,
	// kms:GrantOperations…), by name in any case.
	Multi map[string][]string
	// Time is the request time: aws:CurrentTime and aws:EpochTime, unless
	// Single sets them; zero: absent.
	Time time.Time
	// Tags are the caller's tags, which Single carries as aws:PrincipalTag/*.
	Tags map[string]string
}

// Policy is a decoded policy document.
type Policy struct {
	Version    string
	Statements []Statement
	// Bound says the policy was saved with its IAM user and role principals
	// bound to the entities' unique ids in Bindings
	// (reference_policies_elements_principal.md, "IAM role principals": the
	// ARN transforms to the unique principal ID when the policy is saved).
	Bound    bool
	Bindings map[string]string
}

// Statement is one statement, kept as decoded.
type Statement struct {
	Sid          string
	Effect       string
	Principal    any // nil: no Principal element
	NotPrincipal any
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	HasResource  bool // a Resource or NotResource element (trust policies have none)
	Condition    map[string]map[string][]string
}

// Parse decodes a policy document. It checks only what it needs to read
// the document; the engine validates.
func Parse(doc []byte) (*Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber() // numbers keep their literal text, as written
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	p := &Policy{}
	if v, ok := raw["Version"].(string); ok {
		p.Version = v
	}
	var stmts []any
	switch s := raw["Statement"].(type) {
	case []any:
		stmts = s
	case map[string]any:
		stmts = []any{s}
	default:
		return nil, fmt.Errorf("reftest: no Statement")
	}
	for _, sv := range stmts {
		m, ok := sv.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("reftest: a statement is not an object")
		}
		st := Statement{Principal: m["Principal"], NotPrincipal: m["NotPrincipal"]}
		st.Sid, _ = m["Sid"].(string)
		st.Effect, _ = m["Effect"].(string)
		st.Action = strings1(m["Action"])
		st.NotAction = strings1(m["NotAction"])
		st.Resource = strings1(m["Resource"])
		st.NotResource = strings1(m["NotResource"])
		_, r := m["Resource"]
		_, nr := m["NotResource"]
		st.HasResource = r || nr
		if c, ok := m["Condition"].(map[string]any); ok {
			st.Condition = map[string]map[string][]string{}
			for op, kv := range c {
				km, ok := kv.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("reftest: condition %s is not an object", op)
				}
				st.Condition[op] = map[string][]string{}
				for k, v := range km {
					st.Condition[op][k] = strings1(v)
				}
			}
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

// strings1 reads a string, a number, a boolean, or an array of them.
func strings1(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return []string{x}
	case json.Number:
		return []string{x.String()}
	case bool:
		return []string{strconv.FormatBool(x)}
	case []any:
		var out []string
		for _, it := range x {
			out = append(out, strings1(it)...)
		}
		return out
	}
	return nil
}

// Outcome is a policy's decision.
type Outcome struct {
	Effect Effect
	// Grant is the strongest way an applying Allow statement covered the
	// caller (Allow only).
	Grant Grant
	// Statements are the indexes of the statements that decided: every
	// applying Deny statement for Deny; for Allow, every applying Allow
	// statement of the strongest Grant.
	Statements []int
}

// Evaluate decides the request under the policy: an applying Deny
// statement denies, else an applying Allow statement allows, else the
// policy does not apply (reference_policies_evaluation-logic.md, "Deny
// evaluation" and "The difference between explicit and implicit denies").
func (p *Policy) Evaluate(r *Request) Outcome {
	var denies []int
	best := GrantNone
	var allows []int
	for i := range p.Statements {
		s := &p.Statements[i]
		g := p.applies(s, r)
		if g == GrantNone {
			continue
		}
		if s.Effect == "Deny" {
			denies = append(denies, i)
			continue
		}
		switch {
		case g > best:
			best, allows = g, []int{i}
		case g == best:
			allows = append(allows, i)
		}
	}
	switch {
	case len(denies) > 0:
		return Outcome{Effect: Deny, Statements: denies}
	case best != GrantNone:
		return Outcome{Effect: Allow, Grant: best, Statements: allows}
	}
	return Outcome{Effect: NotApplicable}
}

// applies reports how a statement applies to the request, or GrantNone.
// Condition key names that differ only in case make a key ambiguous: the
// statement is evaluated under every choice of one value for each such key,
// and a Deny applies if it applies under any choice, an Allow only if it
// applies under every choice (docs/SECURITY.md, issue 9: fail closed when
// "the key name matches both tags, but only one value matches",
// reference_policies_elements_condition.md).
func (p *Policy) applies(s *Statement, r *Request) Grant {
	choices := choicesOf(r.Single)
	var out Grant
	for i, ch := range choices {
		g := p.appliesUnder(s, r, ch)
		if s.Effect == "Deny" {
			if g != GrantNone {
				return g
			}
			continue
		}
		if g == GrantNone {
			return GrantNone
		}
		if i == 0 || g < out {
			out = g
		}
	}
	return out
}

// choicesOf lists every way to pick one value for each single-valued key,
// keys compared without regard to case. Each choice maps lower-case names
// to one value.
func choicesOf(single []Pair) []map[string]string {
	var names []string
	values := map[string][]string{}
	for _, pr := range single {
		n := strings.ToLower(pr.Name)
		if _, ok := values[n]; !ok {
			names = append(names, n)
		}
		dup := false
		for _, v := range values[n] {
			dup = dup || v == pr.Value
		}
		if !dup {
			values[n] = append(values[n], pr.Value)
		}
	}
	choices := []map[string]string{{}}
	for _, n := range names {
		var next []map[string]string
		for _, ch := range choices {
			for _, v := range values[n] {
				c := map[string]string{}
				for k, x := range ch {
					c[k] = x
				}
				c[n] = v
				next = append(next, c)
			}
		}
		choices = next
	}
	return choices
}

// ctx is a request under one choice of values.
type ctx struct {
	r      *Request
	single map[string]string
	vars   bool // policy variables are recognised
}

// values returns a key's values: none when absent.
func (c *ctx) values(key string) []string {
	k := strings.ToLower(key)
	if v, ok := c.single[k]; ok {
		return []string{v}
	}
	for name, vs := range c.r.Multi {
		if strings.EqualFold(name, key) && len(vs) > 0 {
			return vs
		}
	}
	// aws:CurrentTime and aws:EpochTime are the request's time
	// (reference_policies_condition-keys.md).
	if !c.r.Time.IsZero() {
		switch k {
		case "aws:currenttime":
			return []string{c.r.Time.UTC().Format(time.RFC3339)}
		case "aws:epochtime":
			return []string{strconv.FormatInt(c.r.Time.Unix(), 10)}
		}
	}
	return nil
}

func (p *Policy) appliesUnder(s *Statement, r *Request, single map[string]string) Grant {
	c := &ctx{r: r, single: single, vars: p.Version == "2012-10-17"}
	g := p.principal(s, &r.Caller)
	if g == GrantNone {
		return GrantNone
	}
	if !actionMatches(s, r.Action) || !c.resourceMatches(s) {
		return GrantNone
	}
	for op, keys := range s.Condition {
		for key, vals := range keys {
			if !c.condition(op, key, vals) {
				return GrantNone
			}
		}
	}
	return g
}

// actionMatches: Action lists what applies, NotAction what does not; names
// are not case sensitive and may hold wildcards
// (reference_policies_elements_action.md, reference_policies_elements_notaction.md).
func actionMatches(s *Statement, action string) bool {
	list, not := s.Action, false
	if s.NotAction != nil {
		list, not = s.NotAction, true
	}
	found := false
	for _, a := range list {
		if wildcard(strings.ToLower(a), strings.ToLower(action)) {
			found = true
		}
	}
	return found != not
}

// resourceMatches: Resource lists ARNs (wildcards within segments) or "*";
// NotResource everything but (reference_policies_elements_resource.md,
// reference_policies_elements_notresource.md). A resource with a policy
// variable that has no value matches no resource
// (reference_policies_variables.md, "Policy variables with no value").
func (c *ctx) resourceMatches(s *Statement) bool {
	if !s.HasResource {
		return true // a trust policy: the role it is attached to
	}
	list, not := s.Resource, false
	if s.NotResource != nil {
		list, not = s.NotResource, true
	}
	found := false
	for _, pat := range list {
		if pat == "*" {
			found = true
			continue
		}
		if resolved, ok := c.resolve(pat); ok && arnMatches(resolved, c.r.Resource) {
			found = true
		}
	}
	return found != not
}

// arnMatches compares an ARN pattern with an ARN: each of the first five
// colon-separated segments separately, then the resource part (which may
// hold colons) as a whole; * and ? never cross a segment
// (reference_policies_elements_condition_operators.md, "Amazon Resource
// Name (ARN) condition operators"; reference_policies_elements_resource.md).
func arnMatches(pattern, arn string) bool {
	ps := strings.SplitN(pattern, ":", 6)
	as := strings.SplitN(arn, ":", 6)
	if len(ps) != len(as) {
		return false
	}
	for i := range ps {
		if !wildcard(ps[i], as[i]) {
			return false
		}
	}
	return true
}

// wildcard matches text against a pattern where * is any run of characters
// and ? exactly one, and a NUL byte makes the next character literal (see
// resolve). It backtracks; the generator keeps patterns short.
func wildcard(pattern, text string) bool {
	if pattern == "" {
		return text == ""
	}
	switch pattern[0] {
	case 0:
		return len(pattern) > 1 && text != "" && text[0] == pattern[1] && wildcard(pattern[2:], text[1:])
	case '*':
		for i := 0; i <= len(text); i++ {
			if wildcard(pattern[1:], text[i:]) {
				return true
			}
		}
		return false
	case '?':
		return text != "" && wildcard(pattern[1:], text[1:])
	}
	return text != "" && text[0] == pattern[0] && wildcard(pattern[1:], text[1:])
}

// resolve replaces the policy variables of a value: ${key} by the key's one
// value, ${key, 'default'} by the default when the key has none, ${*},
// ${?} and ${$} by those characters; ok is false when a variable has no
// value (reference_policies_variables.md). Variables exist only in Version
// 2012-10-17 policies; elsewhere the text is literal. (Text taken from a
// variable is matched as written by StringLike too: the generator keeps
// wildcards out of values that variables take.)
func (c *ctx) resolve(s string) (string, bool) {
	if !c.vars {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], "}")
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		body := s[i+2 : i+j]
		switch body {
		case "*", "?":
			// "use where you need an * (asterisk) character": a literal,
			// not a wildcard, marked for wildcard() by a NUL byte.
			b.WriteString("\x00" + body)
		case "$":
			b.WriteString(body)
		default:
			key, def, hasDef := body, "", false
			if k, rest, found := strings.Cut(body, ","); found {
				rest = strings.TrimSpace(rest)
				if len(rest) >= 2 && rest[0] == '\'' && rest[len(rest)-1] == '\'' {
					key, def, hasDef = k, rest[1:len(rest)-1], true
				}
			}
			vs := c.values(key)
			switch {
			case len(vs) == 1:
				b.WriteString(vs[0])
			case hasDef:
				b.WriteString(def)
			default:
				return "", false
			}
		}
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String(), true
}

// principal reports how the statement's Principal or NotPrincipal covers
// the caller; a statement without either (an identity-based policy) covers
// the identity it is attached to.
func (p *Policy) principal(s *Statement, c *Caller) Grant {
	switch {
	case s.Principal != nil:
		return p.principalGrant(s.Principal, c)
	case s.NotPrincipal != nil:
		if excluded(s.NotPrincipal, c) {
			return GrantNone
		}
		return GrantDirect
	}
	return GrantIdentity
}

// principalValues lists the values of a principal element by type; "*"
// alone is {"AWS": "*"} (reference_policies_elements_principal.md, "All
// principals": the two forms are equivalent).
func principalValues(v any) map[string][]string {
	if s, ok := v.(string); ok && s == "*" {
		return map[string][]string{"AWS": {"*"}}
	}
	out := map[string][]string{}
	if m, ok := v.(map[string]any); ok {
		for typ, vals := range m {
			out[typ] = strings1(vals)
		}
	}
	return out
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// accountOf returns the account a principal value delegates to: a bare
// account id or an account root ARN (reference_policies_elements_principal.md,
// "AWS account principals": both behave the same way).
func accountOf(v string) (string, bool) {
	if isAccountID(v) {
		return v, true
	}
	if strings.HasPrefix(v, "arn:aws:iam::") && strings.HasSuffix(v, ":root") {
		acct := strings.TrimSuffix(strings.TrimPrefix(v, "arn:aws:iam::"), ":root")
		return acct, isAccountID(acct)
	}
	return "", false
}

// roleOf returns the account and role name of a role ARN (its path is not
// part of a session's ARN, the name identifies the role in its account).
func roleOf(v string) (account, name string, ok bool) {
	rest, found := strings.CutPrefix(v, "arn:aws:iam::")
	if !found {
		return "", "", false
	}
	account, res, found := strings.Cut(rest, ":")
	if !found || !strings.HasPrefix(res, "role/") {
		return "", "", false
	}
	return account, res[strings.LastIndex(res, "/")+1:], true
}

func (p *Policy) bindingHolds(v string, c *Caller) bool {
	if !p.Bound {
		return true
	}
	id := p.Bindings[v]
	return id != "" && id == c.ID
}

func (p *Policy) principalGrant(v any, c *Caller) Grant {
	best := GrantNone
	better := func(g Grant) {
		if g > best {
			best = g
		}
	}
	for typ, vals := range principalValues(v) {
		for _, val := range vals {
			switch typ {
			case "AWS":
				if val == "*" {
					better(GrantDirect)
					continue
				}
				if c.Kind == "service" {
					continue
				}
				if acct, ok := accountOf(val); ok {
					if acct == c.Account {
						better(GrantAccount)
					}
					continue
				}
				if acct, name, ok := roleOf(val); ok {
					// reference_policies_elements_principal.md, "IAM role
					// principals": a role principal covers its sessions.
					if c.Kind == "session" && acct == c.Account && name == c.Role && p.bindingHolds(val, c) {
						better(GrantRole)
					}
					continue
				}
				// A user ARN or a session ARN names that principal; the name
				// is case sensitive ("IAM user principals").
				if val == c.ARN && (c.Kind != "user" || p.bindingHolds(val, c)) {
					better(GrantDirect)
				}
			case "Service":
				if c.Kind == "service" && (val == "*" || val == c.ARN) {
					better(GrantDirect)
				}
			}
		}
	}
	return best
}

// excluded reports whether a NotPrincipal element exempts the caller. AWS
// validates "the account first, then the role, and then the assumed-role
// user" (reference_policies_elements_notprincipal.md, "NotPrincipal With
// Deny"), so the caller is exempt only when each link of its chain is
// listed: the account, for a user its ARN, for a session its role and its
// session ARN.
func excluded(v any, c *Caller) bool {
	vals := principalValues(v)
	listed := func(typ, s string) bool {
		for _, x := range vals[typ] {
			if x == s {
				return true
			}
		}
		return false
	}
	if listed("AWS", "*") {
		return true
	}
	if c.Kind == "service" {
		return listed("Service", "*") || listed("Service", c.ARN)
	}
	account := false
	for _, x := range vals["AWS"] {
		if acct, ok := accountOf(x); ok && acct == c.Account {
			account = true
		}
	}
	if !account {
		return false
	}
	switch c.Kind {
	case "root":
		return true
	case "user":
		return listed("AWS", c.ARN)
	case "session":
		role := false
		for _, x := range vals["AWS"] {
			if acct, name, ok := roleOf(x); ok && acct == c.Account && name == c.Role {
				role = true
			}
		}
		return role && listed("AWS", c.ARN)
	}
	return false
}

// condition evaluates one operator and key against its policy values
// (reference_policies_elements_condition_operators.md,
// reference_policies_multi-value-conditions.md).
func (c *ctx) condition(op, key string, pvals []string) bool {
	set := ""
	if q, rest, found := strings.Cut(op, ":"); found {
		set, op = q, rest
	}
	ifExists := false
	if base, found := strings.CutSuffix(op, "IfExists"); found && op != "IfExists" {
		op, ifExists = base, true
	}
	vals := c.values(key)
	if op == "Null" {
		// "true": the key is absent; "false": it is present.
		return strings.EqualFold(pvals[0], "true") == (len(vals) == 0)
	}
	negated := strings.HasPrefix(op, "StringNot") || strings.HasPrefix(op, "NumericNot") ||
		strings.HasPrefix(op, "DateNot") || op == "NotIpAddress" || strings.HasPrefix(op, "ArnNot")
	if len(vals) == 0 {
		switch {
		case ifExists:
			return true // "If the key is not present, evaluate the condition element as true"
		case set == "ForAllValues":
			return true // "It also returns true if there are no keys in the request"
		case set == "ForAnyValue":
			return false // "For no matching key or a null dataset, the condition returns false"
		}
		// A missing key does not match; a negated operator holds then.
		return negated
	}
	// one reports whether a request value satisfies the operator: for a
	// negated operator, that it matches none of the policy values ("the
	// effective permissions work like a logical AND").
	one := func(v string) bool {
		m := false
		for _, pv := range pvals {
			if c.match(op, v, pv) {
				m = true
			}
		}
		return m != negated
	}
	switch set {
	case "ForAllValues":
		for _, v := range vals {
			if !one(v) {
				return false
			}
		}
		return true
	case "ForAnyValue":
		for _, v := range vals {
			if one(v) {
				return true
			}
		}
		return false
	}
	if len(vals) != 1 {
		// A multivalued key needs a set operator; the documentation does
		// not say what an operator without one does, and the generator
		// does not make such conditions.
		panic(fmt.Sprintf("reftest: %s on multivalued %s without a set operator", op, key))
	}
	return one(vals[0])
}

// match compares one request value with one policy value under the positive
// form of the operator.
func (c *ctx) match(op, v, pv string) bool {
	base := strings.Replace(op, "Not", "", 1)
	switch base {
	case "StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool":
		// Variables: string, ARN and Boolean operators
		// (reference_policies_variables.md, "Condition element"); a
		// variable with no value matches nothing.
		r, ok := c.resolve(pv)
		if !ok {
			return false
		}
		if base != "StringLike" && base != "ArnEquals" && base != "ArnLike" {
			r = strings.ReplaceAll(r, "\x00", "") // no wildcards: every character is literal
		}
		switch base {
		case "StringEquals":
			return r == v
		case "StringEqualsIgnoreCase":
			return strings.EqualFold(r, v)
		case "StringLike":
			return wildcard(r, v)
		case "Bool":
			return strings.EqualFold(r, v)
		}
		return arnMatches(r, v) // ArnEquals and ArnLike behave identically
	case "NumericEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals":
		a, err1 := strconv.ParseFloat(v, 64)
		b, err2 := strconv.ParseFloat(pv, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		return compare(base[len("Numeric"):], cmpFloat(a, b))
	case "DateEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals":
		a, ok1 := parseDate(v)
		b, ok2 := parseDate(pv)
		if !ok1 || !ok2 {
			return false
		}
		return compare(base[len("Date"):], a.Compare(b))
	case "IpAddress":
		return ipIn(v, pv)
	case "BinaryEquals":
		b, err := base64.StdEncoding.DecodeString(pv)
		return err == nil && string(b) == v
	}
	panic("reftest: unknown operator " + op)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compare(rel string, sign int) bool {
	switch rel {
	case "Equals":
		return sign == 0
	case "LessThan":
		return sign < 0
	case "LessThanEquals":
		return sign <= 0
	case "GreaterThan":
		return sign > 0
	case "GreaterThanEquals":
		return sign >= 0
	}
	panic("reftest: unknown comparison " + rel)
}

// parseDate reads the W3C ISO 8601 forms and epoch seconds
// (reference_policies_elements_condition_operators.md, "Date condition
// operators").
func parseDate(s string) (time.Time, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && len(s) != 4 && len(s) != 8 {
		return time.Unix(n, 0), true
	}
	for _, l := range []string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ipIn: an address without a prefix is a single host
// (reference_policies_elements_condition_operators.md, "IP address").
func ipIn(v, pv string) bool {
	a, err := netip.ParseAddr(v)
	if err != nil {
		return false
	}
	if !strings.Contains(pv, "/") {
		b, err := netip.ParseAddr(pv)
		return err == nil && b.Unmap() == a.Unmap()
	}
	p, err := netip.ParsePrefix(pv)
	return err == nil && p.Masked().Contains(a.Unmap())
}
