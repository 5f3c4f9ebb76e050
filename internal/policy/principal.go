package policy

import (
	"fmt"
	"strings"
)

// Via says how a statement's Principal (or NotPrincipal) element matched the
// caller. Values are ordered: a larger Via is a stronger grant, one that
// leaves fewer other policies to allow, so that where several statements (or
// several principals of one element) cover the caller, the strongest counts.
// The zero value means the element did not match.
type Via uint8

const (
	ViaNone Via = iota
	// ViaIdentity: the statement has no Principal element, as in identity
	// policies, where the principal is implicitly the identity the policy is
	// attached to (reference_policies_elements_principal.md).
	ViaIdentity
	// ViaAccount: matched through an account id or "arn:aws:iam::ACCOUNT:root",
	// which delegates to the account: an IAM policy in that account must also
	// allow the request (reference_policies_elements_principal.md, "AWS account
	// principals").
	ViaAccount
	// ViaRole: the role of an assumed-role session caller. Unlike the grants
	// above it the grant is to the role, so the session's session policies
	// and the role's boundary still limit it (reference_policies_evaluation-logic.md:
	// resource-based policies and role session ARNs).
	ViaRole
	// ViaNotPrincipal: the caller is not excluded by a NotPrincipal element.
	ViaNotPrincipal
	// ViaAnyone: "*" or {"AWS": "*"} (reference_policies_elements_principal.md,
	// "All principals"). Session policies and boundaries "do not limit
	// permissions granted … with a wildcard (*) in the Principal element"
	// ("IAM role principals"), so it is stronger than ViaRole.
	ViaAnyone
	// ViaPrincipal: the caller's own ARN (a session's own ARN included), or
	// the caller's service, federated provider or canonical user.
	ViaPrincipal
)

func (v Via) String() string {
	switch v {
	case ViaNone:
		return "none"
	case ViaIdentity:
		return "identity"
	case ViaAccount:
		return "account"
	case ViaNotPrincipal:
		return "not-principal"
	case ViaAnyone:
		return "anyone"
	case ViaRole:
		return "role"
	case ViaPrincipal:
		return "principal"
	}
	return fmt.Sprintf("Via(%d)", uint8(v))
}

// arnParts holds the fields of an ARN as substrings of it; parsing never
// allocates.
type arnParts struct {
	partition, service, region, account, resource string
}

func splitARN(s string) (arnParts, bool) {
	var p arnParts
	if !strings.HasPrefix(s, "arn:") {
		return p, false
	}
	s = s[4:]
	var f [4]string
	for i := range f {
		j := strings.IndexByte(s, ':')
		if j < 0 {
			return p, false
		}
		f[i], s = s[:j], s[j+1:]
	}
	p.partition, p.service, p.region, p.account, p.resource = f[0], f[1], f[2], f[3], s
	return p, true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isUniqueID accepts IAM unique ids (AIDA… users, AROA… roles), which AWS
// shows in place of ARNs of deleted principals
// (reference_policies_elements_principal.md, "IAM role principals").
func isUniqueID(s string) bool {
	if len(s) < 16 || len(s) > 128 || s[0] != 'A' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

type awsKind uint8

const (
	awsOther awsKind = iota
	awsRoot
	awsUser
	awsRole
	awsSession
	awsFederatedUser
)

// classifyAWS works out what an IAM/STS ARN names. For sessions it returns the
// role name. It does not allocate.
func classifyAWS(arn string) (p arnParts, kind awsKind, role string, ok bool) {
	p, ok = splitARN(arn)
	if !ok || p.region != "" || !isAccountID(p.account) || p.partition == "" {
		return p, awsOther, "", false
	}
	switch p.service {
	case "iam":
		switch {
		case p.resource == "root":
			return p, awsRoot, "", true
		case strings.HasPrefix(p.resource, "user/") && len(p.resource) > 5:
			return p, awsUser, "", true
		case strings.HasPrefix(p.resource, "role/") && len(p.resource) > 5:
			name := p.resource[strings.LastIndexByte(p.resource, '/')+1:]
			return p, awsRole, name, name != ""
		}
	case "sts":
		switch {
		case strings.HasPrefix(p.resource, "assumed-role/"):
			rest := p.resource[len("assumed-role/"):]
			r, s, found := strings.Cut(rest, "/")
			if !found || r == "" || s == "" {
				return p, awsOther, "", false
			}
			return p, awsSession, r, true
		case strings.HasPrefix(p.resource, "federated-user/") && len(p.resource) > len("federated-user/"):
			return p, awsFederatedUser, "", true
		}
	}
	return p, awsOther, "", false
}

// caller is a Request principal analysed once per evaluation.
type caller struct {
	typ       PrincipalType
	id        string
	uid       string // Principal.ID: the user's or the role's unique id
	account   string
	partition string
	kind      awsKind
	role      string // role name of an assumed-role session, or of a role
}

func newCaller(p *Principal) caller {
	c := caller{typ: p.Type, id: p.ARN, uid: p.ID, account: p.Account}
	if p.Type == AWSPrincipal {
		parts, kind, role, ok := classifyAWS(p.ARN)
		if ok {
			c.partition, c.kind, c.role = parts.partition, kind, role
			if c.account == "" {
				c.account = parts.account
			}
		}
	}
	return c
}

type roleRef struct {
	partition, account, name, arn string
}

type accountRef struct {
	partition string // "" when written as a bare account id
	account   string
}

// principals is a compiled Principal or NotPrincipal element.
type principals struct {
	anyone                   bool // "*" or {"AWS":"*"}
	anyService, anyFederated bool
	anyCanonical             bool
	accounts                 []accountRef
	arns                     []string // users, sessions, federated users: exact
	roles                    []roleRef
	services                 []string
	federated                []string
	canonical                []string
	// ids are unique ids of IAM users and roles: written as such (AWS shows
	// them in place of the ARNs of deleted principals) or bound to the ARNs
	// written when the policy was saved (Options.Bound). An id matches the
	// user with that id, or the role with that id and its sessions; ids are
	// never reused, so a user or role created again under the same name does
	// not match (reference_policies_elements_principal.md, "IAM role
	// principals", "IAM user principals").
	ids []string
}

var principalTypes = [...]string{"AWS", "CanonicalUser", "Federated", "Service"}

// binder says what an IAM user or role ARN written in a policy was bound to
// when the policy was saved: bound is false when the policy was not bound
// (the ARN then matches by name); id is "" when it was bound to no entity.
type binder func(arn string) (id string, bound bool)

func unbound(string) (string, bool) { return "", false }

// compilePrincipals reads "*" or a principal map. bad receives every value AWS
// would reject, written as IAM writes it in "Invalid principal in policy".
func compilePrincipals(n *node, bind binder, bad func(typ, val, why string)) *principals {
	ps := &principals{}
	if n.kind == jString {
		if n.text == "*" {
			ps.anyone = true
		} else {
			bad("", n.text, `a principal must be "*" or a map of principal types`)
		}
		return ps
	}
	if n.kind != jObject || len(n.members) == 0 {
		bad("", "", "a principal must be \"*\" or a non-empty map")
		return ps
	}
	for _, m := range n.members {
		vals, ok := stringList(m.val)
		if !ok || len(vals) == 0 {
			bad(m.key, "", "principal values must be a string or a non-empty array of strings")
			continue
		}
		known := false
		for _, t := range principalTypes {
			known = known || t == m.key
		}
		if !known {
			bad(m.key, vals[0], "unknown principal type "+quote(m.key))
			continue
		}
		for _, v := range vals {
			ps.add(m.key, v, bind, bad)
		}
	}
	return ps
}

func (ps *principals) add(typ, v string, bind binder, bad func(typ, val, why string)) {
	if v == "*" {
		switch typ {
		case "AWS":
			ps.anyone = true
		case "Service":
			ps.anyService = true
		case "Federated":
			ps.anyFederated = true
		case "CanonicalUser":
			ps.anyCanonical = true
		}
		return
	}
	if strings.ContainsAny(v, "*?") {
		// reference_policies_elements_principal.md: "You cannot use a wildcard
		// to match part of a principal name or ARN."
		bad(typ, v, "a wildcard cannot match part of a principal name or ARN")
		return
	}
	if v == "" {
		bad(typ, v, "empty principal")
		return
	}
	switch typ {
	case "Service":
		ps.services = append(ps.services, v)
	case "Federated":
		ps.federated = append(ps.federated, v)
	case "CanonicalUser":
		ps.canonical = append(ps.canonical, v)
	case "AWS":
		if isAccountID(v) {
			ps.accounts = append(ps.accounts, accountRef{account: v})
			return
		}
		if strings.HasPrefix(v, "arn:") {
			p, kind, role, ok := classifyAWS(v)
			switch {
			case !ok:
			case kind == awsRoot:
				ps.accounts = append(ps.accounts, accountRef{partition: p.partition, account: p.account})
				return
			case kind == awsRole || kind == awsUser:
				if id, bound := bind(v); bound {
					// Bound when saved: the ARN stands for the entity's unique
					// id, and for nothing if it named no entity.
					if id != "" {
						ps.ids = append(ps.ids, id)
					}
					return
				}
				if kind == awsUser {
					ps.arns = append(ps.arns, v)
				} else {
					ps.roles = append(ps.roles, roleRef{partition: p.partition, account: p.account, name: role, arn: v})
				}
				return
			case kind == awsSession || kind == awsFederatedUser:
				ps.arns = append(ps.arns, v)
				return
			}
			bad(typ, v, "not the ARN of an account root, user, role, assumed-role session or federated user")
			return
		}
		if isUniqueID(v) {
			ps.ids = append(ps.ids, v)
			return
		}
		bad(typ, v, "not an account id, ARN or unique id")
	}
}

func (ps *principals) hasAccount(c *caller) bool {
	for _, a := range ps.accounts {
		if a.account == c.account && (a.partition == "" || a.partition == c.partition) {
			return true
		}
	}
	return false
}

func (ps *principals) hasARN(id string) bool {
	for _, a := range ps.arns {
		if a == id {
			return true
		}
	}
	return false
}

func (ps *principals) hasID(uid string) bool {
	return uid != "" && contains(ps.ids, uid)
}

// hasUser reports whether the caller is an IAM user listed by unique id
// (written, or bound to its ARN when the policy was saved).
func (ps *principals) hasUser(c *caller) bool {
	return c.kind == awsUser && ps.hasID(c.uid)
}

// hasRole reports whether a role listed covers the caller: the role itself or
// one of its assumed-role sessions (reference_policies_elements_principal.md,
// "IAM role principals" and "Role session principals"). A role listed by
// unique id covers the callers that carry its id. A role listed by name
// (unbound): sessions carry the role name but not its path; role names are
// unique in an account, so name and account identify the role.
func (ps *principals) hasRole(c *caller) bool {
	if c.kind != awsSession && c.kind != awsRole {
		return false
	}
	if ps.hasID(c.uid) {
		return true
	}
	for i := range ps.roles {
		r := &ps.roles[i]
		if r.account == c.account && r.partition == c.partition && r.name == c.role {
			if c.kind == awsRole && r.arn != c.id {
				continue
			}
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// match reports how a Principal element covers the caller.
func (ps *principals) match(c *caller) Via {
	switch c.typ {
	case AWSPrincipal:
		if ps.hasARN(c.id) || ps.hasUser(c) {
			return ViaPrincipal
		}
		if ps.anyone {
			return ViaAnyone
		}
		if ps.hasRole(c) {
			return ViaRole
		}
		if c.account != "" && ps.hasAccount(c) {
			// The account id and the root ARN mean the whole account, not only
			// the root user (reference_policies_elements_principal.md).
			return ViaAccount
		}
	case ServicePrincipal:
		if containsFold(ps.services, c.id) {
			return ViaPrincipal
		}
		if ps.anyone || ps.anyService {
			return ViaAnyone
		}
	case FederatedPrincipal:
		if contains(ps.federated, c.id) {
			return ViaPrincipal
		}
		if ps.anyone || ps.anyFederated {
			return ViaAnyone
		}
	case CanonicalUserPrincipal:
		if contains(ps.canonical, c.id) {
			return ViaPrincipal
		}
		if ps.anyone || ps.anyCanonical {
			return ViaAnyone
		}
	case AnonymousPrincipal:
		if ps.anyone {
			return ViaAnyone
		}
	}
	return ViaNone
}

// excludes reports whether a NotPrincipal element exempts the caller. AWS
// checks the caller's whole chain: the account, then the role, then the
// session, so a caller is exempt only when every link is listed
// (reference_policies_elements_notprincipal.md, "NotPrincipal With Deny").
func (ps *principals) excludes(c *caller) bool {
	if ps.anyone {
		return true
	}
	switch c.typ {
	case AWSPrincipal:
		if c.account == "" || !ps.hasAccount(c) {
			return false
		}
		switch c.kind {
		case awsRoot:
			return true
		case awsUser:
			return ps.hasARN(c.id) || ps.hasUser(c)
		case awsFederatedUser:
			return ps.hasARN(c.id)
		case awsSession:
			return ps.hasARN(c.id) && ps.hasRole(c)
		case awsRole:
			return ps.hasRole(c)
		}
		return false
	case ServicePrincipal:
		return ps.anyService || containsFold(ps.services, c.id)
	case FederatedPrincipal:
		return ps.anyFederated || contains(ps.federated, c.id)
	case CanonicalUserPrincipal:
		return ps.anyCanonical || contains(ps.canonical, c.id)
	}
	return false
}
