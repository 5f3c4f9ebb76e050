// Package corpus reads the authorization decision corpus: JSON tables of
// policies, grants, identities and requests with the decision AWS documents
// for each, every case citing the rule it checks. It is test support, imported
// only by the runners (internal/authz/corpus_test.go decides each case with
// authz.DecideKey and authz.IdentityBased; internal/kms/corpus_test.go makes
// each request of the kms.Service on a real store), and it shares no decision
// code with the engine: expected outcomes come from the files, and the
// AccessDenied texts from AWS's wording here.
//
// # Layout of a file
//
// A file (testdata/corpus/*.json) is one world: named principals, keys and
// grants, and the cases that run in it, in order (a case may change the
// world, as RevokeGrant does, for the cases after it):
//
//	{"about": "what the file covers",
//	 "principals": {"alice": {"type": "user", "account": "111122223333", "name": "alice", "policies": [{…}]}},
//	 "keys": {"k": {"policy": "default"}},
//	 "grants": [{"name": "g", "key": "k", "grantee": "arn:aws:iam::111122223333:user/alice", "operations": ["Decrypt"]}],
//	 "cases": [{"name": "…", "rule": "aws-kms-developer-guide/grants.md#about-grants: …",
//	            "principal": "alice", "action": "kms:Decrypt", "key": "k",
//	            "want": {"decision": "allow", "by": "grant", "grant": "g"}}]}
//
// Files named pending_*.json hold cases whose expectation is what AWS does but
// not yet what Trent does: each names the issue that tracks it, and the
// runners fail when such a case starts to pass, so that it moves to the main
// corpus.
//
// Wherever a key id must appear in a document, {{name}} stands for the id of
// the corpus key of that name: the runners substitute the id they use.
package corpus

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
)

// Region is the Region of every corpus key and request.
const Region = "us-east-1"

// DefaultAccount owns a key or principal whose file names no account.
const DefaultAccount = "111122223333"

// DefaultTime is the request time unless a case sets one.
var DefaultTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// File is one world and its cases.
type File struct {
	Path       string                `json:"-"`
	Pending    bool                  `json:"-"` // a pending_*.json file
	About      string                `json:"about"`
	Principals map[string]*Principal `json:"principals"`
	Keys       map[string]*Key       `json:"keys"`
	Grants     []*Grant              `json:"grants"`
	// Entities are IAM users and roles that exist beside the principals
	// (which exist too), by ARN, with the unique id (AIDA…, AROA…) each had
	// when the world's key policies and grants were saved; "" derives it
	// as Principal.Identity does.
	Entities map[string]string `json:"entities"`
	// Organization puts accounts of the world in an organization: their
	// org paths and the resource control policies of their keys
	// (organization.go).
	Organization *Organization `json:"organization"`
	Cases        []*Case       `json:"cases"`
}

// Principal is a caller: its identity and everything that limits it.
type Principal struct {
	// Type is "root", "user", "session" (an assumed-role session) or
	// "service" (a registered service acting for itself).
	Type    string `json:"type"`
	Account string `json:"account"`
	// Name is the user's name, the role's name for a session, or the
	// service principal name.
	Name    string `json:"name"`
	Session string `json:"session"` // the role session name
	// UserID is aws:userid; empty: derived from the name, AIDA… for users,
	// AROA…:session for sessions.
	UserID          string            `json:"userId"`
	Tags            map[string]string `json:"tags"`
	Policies        []json.RawMessage `json:"policies"` // identity-based: the user's, its groups', or the role's
	Boundary        json.RawMessage   `json:"boundary"`
	SessionPolicies []json.RawMessage `json:"sessionPolicies"` // present (even empty): the session has session policies
	SCPs            []json.RawMessage `json:"scps"`            // one per organization level: a document, or an array of them
	Issued          string            `json:"issued"`          // aws:TokenIssueTime of a session; default an hour before the request
	// ServiceLinked marks a session of a service-linked role, which
	// neither SCPs nor RCPs limit.
	ServiceLinked  bool   `json:"serviceLinked"`
	SourceIdentity string `json:"sourceIdentity"`
}

// Key is a KMS key of the world.
type Key struct {
	Account string `json:"account"`
	// Policy is the key policy document, or the string "default" (also when
	// absent) for the default key policy that KMS gives a key created
	// without one.
	Policy  json.RawMessage   `json:"policy"`
	Spec    string            `json:"spec"`  // default SYMMETRIC_DEFAULT
	Usage   string            `json:"usage"` // default ENCRYPT_DECRYPT
	Tags    map[string]string `json:"tags"`
	Aliases []string          `json:"aliases"`
}

// Grant is a grant on a corpus key (or, in a CreateGrant request, the grant
// requested).
type Grant struct {
	Name        string       `json:"name"`
	Key         string       `json:"key"`
	Grantee     string       `json:"grantee"`
	Operations  []string     `json:"operations"`
	Retiring    string       `json:"retiringPrincipal"`
	Constraints *Constraints `json:"constraints"`
	// Refusable marks a grant that CreateGrant may refuse with a
	// ValidationException, as AWS may: the world then has no such grant.
	Refusable bool `json:"refusable"`
}

// Constraints are a grant's constraints as CreateGrant takes them.
type Constraints struct {
	EncryptionContextEquals map[string]string `json:"encryptionContextEquals"`
	EncryptionContextSubset map[string]string `json:"encryptionContextSubset"`
	SourceArn               string            `json:"sourceArn"`
}

// Case is one request and the outcome AWS documents for it.
type Case struct {
	Name string `json:"name"`
	// Rule cites the AWS documentation the expectation comes from:
	// "guide/file.md#anchor: what it says"; every citation in it must exist
	// in ../shared (CheckCitations).
	Rule      string `json:"rule"`
	Principal string `json:"principal"`
	Action    string `json:"action"`
	// Key names the corpus key the request is on; empty for actions on no
	// particular key, whose resource is Resource (default "*").
	Key      string  `json:"key"`
	Resource string  `json:"resource"`
	Request  Request `json:"request"`
	// Level "kms" marks a rule that lives in the KMS operation rather than in
	// the authorization decision (who may retire a grant, which operations
	// work across accounts, the lockout check): only the kms runner runs it.
	Level   string `json:"level"`
	Want    Want   `json:"want"`
	Pending string `json:"pending"` // pending files: the issue and hole that tracks it
	// Repeat makes the request this many times: every outcome must be the
	// expected one, so that a decision depending on map order (issue 9,
	// hole 8) cannot pass by chance.
	Repeat int `json:"repeat"`
}

// Request is what the request carries beyond the caller, the action and the key.
type Request struct {
	// KeyID is how the request names the key: "id", "arn" or an alias name
	// or alias ARN. Default: the key ARN.
	KeyID             string            `json:"keyId"`
	EncryptionContext map[string]string `json:"encryptionContext"`

	SourceIP        string          `json:"sourceIp"`        // default 192.0.2.10
	SecureTransport *bool           `json:"secureTransport"` // default true
	Vpce            string          `json:"vpce"`            // through this VPC endpoint
	Vpc             string          `json:"vpc"`
	EndpointPolicy  json.RawMessage `json:"endpointPolicy"` // the endpoint's policy
	ViaService      string          `json:"viaService"`     // forwarded by this registered service (kms:ViaService)
	SourceArn       string          `json:"sourceArn"`      // a service acting for this resource (aws:SourceArn)
	SourceAccount   string          `json:"sourceAccount"`
	OrgID           string          `json:"orgId"` // aws:PrincipalOrgID of the caller
	Time            string          `json:"time"`

	EncryptionAlgorithm  string            `json:"encryptionAlgorithm"`
	SigningAlgorithm     string            `json:"signingAlgorithm"`
	MessageType          string            `json:"messageType"`
	MacAlgorithm         string            `json:"macAlgorithm"`
	Grant                *Grant            `json:"grant"`       // CreateGrant: the grant requested
	GrantName            string            `json:"grantName"`   // RetireGrant, RevokeGrant: the corpus grant
	GrantTokens          []string          `json:"grantTokens"` // names of corpus grants whose tokens the request carries
	PendingWindowInDays  int               `json:"pendingWindowInDays"`
	RotationPeriodInDays int               `json:"rotationPeriodInDays"`
	DestinationKey       string            `json:"destinationKey"` // ReEncrypt
	Tags                 map[string]string `json:"tags"`           // CreateKey, TagResource
	KeySpec              string            `json:"keySpec"`        // CreateKey
	KeyUsage             string            `json:"keyUsage"`
	Origin               string            `json:"origin"`
	Bypass               bool              `json:"bypassPolicyLockoutSafetyCheck"`
	Policy               json.RawMessage   `json:"policy"` // CreateKey, PutKeyPolicy
	Alias                string            `json:"alias"`  // CreateAlias, UpdateAlias, DeleteAlias
}

// Want is the expected outcome.
type Want struct {
	// Decision is "allow", "deny" (AccessDeniedException) or "error" (another
	// error, named by Error; kms runner only).
	Decision string `json:"decision"`
	// By says what allowed: "key-policy" (the key policy by itself), "iam"
	// (identity policies through the key policy's delegation, or alone for
	// actions on no key) or "grant"; level "kms" cases may also say
	// "retiring-principal" (RetireGrant by the grant's retiring principal)
	// or leave it out.
	By    string `json:"by"`
	Grant string `json:"grant"` // the corpus grant that allowed
	// Because is AWS's reason for a denial, as the AccessDenied message words
	// it, e.g. "no identity-based policy allows" (see Reasons).
	Because string `json:"because"`
	// Sid is the deciding statement: the allowing statement (by key-policy
	// or iam) or the denying one (explicit deny).
	Sid   string `json:"sid"`
	Error string `json:"error"`
}

// Reasons maps the reasons of AWS's AccessDenied messages to authz's.
var Reasons = map[string]authz.Reason{
	"no identity-based policy allows":            authz.NoIdentityAllow,
	"explicit deny in an identity-based policy":  authz.ExplicitIdentityDeny,
	"no permissions boundary allows":             authz.NoBoundaryAllow,
	"explicit deny in a permissions boundary":    authz.ExplicitBoundaryDeny,
	"no session policy allows":                   authz.NoSessionAllow,
	"explicit deny in a session policy":          authz.ExplicitSessionDeny,
	"no resource-based policy allows":            authz.NoResourceAllow,
	"explicit deny in a resource-based policy":   authz.ExplicitResourceDeny,
	"no VPC endpoint policy allows":              authz.NoEndpointAllow,
	"explicit deny in a VPC endpoint policy":     authz.ExplicitEndpointDeny,
	"no service control policy allows":           authz.NoSCPAllow,
	"explicit deny in a service control policy":  authz.ExplicitSCPDeny,
	"no resource control policy allows":          authz.NoRCPAllow,
	"explicit deny in a resource control policy": authz.ExplicitRCPDeny,
}

// DeniedMessage is the AccessDeniedException message AWS returns, e.g.
// "User: arn:aws:iam::111122223333:user/alice is not authorized to perform:
// kms:Decrypt on resource: arn:… because no identity-based policy allows the
// kms:Decrypt action" (KMS Developer Guide, troubleshooting access denied;
// IAM User Guide, troubleshoot access denied error messages).
func DeniedMessage(caller, action, resource, because string) string {
	head := "User: " + caller + " is not authorized to perform: " + action + " on resource: " + resource
	if strings.HasPrefix(because, "explicit deny") {
		return head + " with an " + because
	}
	return head + " because " + because + " the " + action + " action"
}

// Load reads every file of dir, checks each case is well formed, and
// returns the files in name order.
func Load(dir string) ([]*File, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("corpus: no files in %s", dir)
	}
	sort.Strings(names)
	var out []*File
	for _, n := range names {
		f, err := loadFile(n)
		if err != nil {
			return nil, fmt.Errorf("corpus: %s: %w", n, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func loadFile(name string) (*File, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a misspelt field would silently test nothing
	f := &File{}
	if err := dec.Decode(f); err != nil {
		return nil, err
	}
	f.Path, f.Pending = name, strings.HasPrefix(filepath.Base(name), "pending_")
	for pn, p := range f.Principals {
		switch p.Type {
		case "root", "user", "session", "service":
		default:
			return nil, fmt.Errorf("principal %s: type %q", pn, p.Type)
		}
		if p.Account == "" && p.Type != "service" {
			p.Account = DefaultAccount
		}
	}
	for _, k := range f.Keys {
		if k.Account == "" {
			k.Account = DefaultAccount
		}
	}
	seen := map[string]bool{}
	for _, g := range f.Grants {
		if g.Name == "" || seen[g.Name] || f.Keys[g.Key] == nil {
			return nil, fmt.Errorf("grant %q: needs a unique name and a corpus key", g.Name)
		}
		seen[g.Name] = true
	}
	names := map[string]bool{}
	for i, c := range f.Cases {
		where := fmt.Sprintf("case %d %q", i, c.Name)
		switch {
		case c.Name == "" || names[c.Name]:
			return nil, fmt.Errorf("%s: needs a unique name", where)
		case c.Rule == "":
			return nil, fmt.Errorf("%s: cites no rule", where)
		case f.Principals[c.Principal] == nil:
			return nil, fmt.Errorf("%s: unknown principal %q", where, c.Principal)
		case c.Key != "" && f.Keys[c.Key] == nil:
			return nil, fmt.Errorf("%s: unknown key %q", where, c.Key)
		case !strings.HasPrefix(c.Action, "kms:"):
			return nil, fmt.Errorf("%s: action %q is not a kms: action", where, c.Action)
		case f.Pending != (c.Pending != ""):
			return nil, fmt.Errorf("%s: pending cases (and only they) belong in pending_*.json and name their issue", where)
		case c.Level != "" && c.Level != "kms":
			return nil, fmt.Errorf("%s: level %q", where, c.Level)
		}
		names[c.Name] = true
		w := c.Want
		switch w.Decision {
		case "allow":
			// Only a rule of the KMS operation (who may retire a grant) may
			// leave out what allowed.
			if w.By != "key-policy" && w.By != "iam" && w.By != "grant" && !((w.By == "" || w.By == "retiring-principal") && c.Level == "kms") {
				return nil, fmt.Errorf("%s: an allow names what allowed (by)", where)
			}
			if (w.By == "grant") != (w.Grant != "") || (w.Grant != "" && !seen[w.Grant]) {
				return nil, fmt.Errorf("%s: an allow by grant names the corpus grant", where)
			}
		case "deny":
			// AWS does not document the wording of every denial made by a
			// KMS operation's own rule (a grant's CreateGrant passing on more
			// than it has, RetireGrant by whom the grant does not name): such
			// cases say only that the request is denied.
			if w.Because == "" && c.Level == "kms" {
				break
			}
			if _, ok := Reasons[w.Because]; !ok {
				return nil, fmt.Errorf("%s: because %q is not one of AWS's reasons", where, w.Because)
			}
		case "error":
			if w.Error == "" || c.Level != "kms" {
				return nil, fmt.Errorf("%s: an error case names the error and is level kms", where)
			}
		default:
			return nil, fmt.Errorf("%s: decision %q", where, w.Decision)
		}
		if c.Request.Grant != nil && c.Request.Grant.Key == "" {
			c.Request.Grant.Key = c.Key
		}
		for _, g := range append([]string{c.Request.GrantName}, c.Request.GrantTokens...) {
			if g != "" && !seen[g] {
				return nil, fmt.Errorf("%s: unknown grant %q", where, g)
			}
		}
	}
	return f, nil
}

// citation is one reference to the shared AWS documentation or API model.
var citation = regexp.MustCompile(`(aws-kms-developer-guide|iam-user-guide)/([A-Za-z0-9_.-]+\.md)(#[A-Za-z0-9_-]+)?|aws-models/kms/service-2\.json#([A-Za-z]+)`)

// CheckCitations verifies that every rule cites at least one document of
// shared (the ../shared directory) and that each citation names a file,
// anchor or API operation that exists there.
func CheckCitations(shared string, files []*File) []error {
	docs := map[string]string{}
	read := func(p string) (string, error) {
		if s, ok := docs[p]; ok {
			return s, nil
		}
		b, err := os.ReadFile(filepath.Join(shared, p))
		docs[p] = string(b)
		return string(b), err
	}
	var errs []error
	for _, f := range files {
		for _, c := range f.Cases {
			refs := citation.FindAllStringSubmatch(c.Rule, -1)
			if len(refs) == 0 {
				errs = append(errs, fmt.Errorf("%s: %q: the rule cites no AWS document", filepath.Base(f.Path), c.Name))
			}
			for _, m := range refs {
				var path, want string
				if m[4] != "" {
					path, want = "aws-models/kms/service-2.json", `"`+m[4]+`":{`
				} else {
					path = "docs/" + m[1] + "/" + m[2]
					if m[3] != "" {
						want = `<a name="` + m[3][1:] + `">`
					}
				}
				text, err := read(path)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %q cites %s: %v", filepath.Base(f.Path), c.Name, m[0], err))
					continue
				}
				if want != "" && !strings.Contains(strings.ReplaceAll(text, " ", ""), strings.ReplaceAll(want, " ", "")) {
					errs = append(errs, fmt.Errorf("%s: %q cites %s, which does not exist", filepath.Base(f.Path), c.Name, m[0]))
				}
			}
		}
	}
	return errs
}

// KeyID is the id the authz runner gives a corpus key: a UUID derived from
// its name, so that documents and messages are stable.
func KeyID(name string) string {
	h := sha256.Sum256([]byte(name))
	h[6] = h[6]&0x0f | 0x40 // a version 4 UUID, as key ids are
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// Expand replaces each {{name}} in a document with id(name).
func Expand(doc []byte, id func(name string) string) []byte {
	return placeholder.ReplaceAllFunc(doc, func(m []byte) []byte {
		return []byte(id(string(m[2 : len(m)-2])))
	})
}

var placeholder = regexp.MustCompile(`\{\{[A-Za-z0-9_-]+\}\}`)

// DefaultKeyPolicy is the key policy KMS gives a key created without one:
// the account principal may do everything, which lets IAM policies allow
// access (KMS Developer Guide, key-policy-default.md).
func DefaultKeyPolicy(account string) []byte {
	return []byte(`{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow",` +
		`"Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"kms:*","Resource":"*"}]}`)
}

// IsDefault reports whether a key's policy is the default one.
func (k *Key) IsDefault() bool {
	return len(k.Policy) == 0 || string(bytes.TrimSpace(k.Policy)) == `"default"`
}

// PrincipalExists reports whether an IAM user or role ARN names an entity of the
// world: an entity, a user principal, or the role of a session principal.
func (f *File) PrincipalExists(arn string) bool {
	_, ok := f.PrincipalID(arn)
	return ok
}

// PrincipalID returns the unique id of the IAM user or role an ARN names in
// the world, as saved key policies and grants bind it (IAM User Guide,
// Principal element): the entity's id, else the id of the principal with
// that ARN (for a role, the role part of a session principal's aws:userid);
// ok is false when the ARN names no user or role of the world. Other ARNs
// (account roots, sessions) are not bound: "" and true.
func (f *File) PrincipalID(arn string) (string, bool) {
	if id, ok := f.Entities[arn]; ok {
		if id == "" {
			id = derivedID(arn)
		}
		return id, true
	}
	rest, _ := strings.CutPrefix(arn, "arn:aws:iam::")
	_, res, _ := strings.Cut(rest, ":")
	if !strings.HasPrefix(res, "user/") && !strings.HasPrefix(res, "role/") {
		return "", true
	}
	for _, name := range sortedNames(f.Principals) {
		p := f.Principals[name]
		id, err := p.Identity(DefaultTime, KeyID)
		if err != nil {
			continue
		}
		switch {
		case p.Type == "user" && p.ARN() == arn:
			return id.EntityID(), true
		case p.Type == "session" && "arn:aws:iam::"+p.Account+":role/"+p.Name == arn:
			return id.EntityID(), true
		}
	}
	return "", false
}

// Bindings are the bindings KMS stores with a key policy of the world: each
// user and role ARN it names, bound as PrincipalID resolves it ("" for none).
func (f *File) Bindings(doc []byte) map[string]string {
	var out map[string]string
	for _, p := range policy.BindablePrincipals(doc) {
		if out == nil {
			out = map[string]string{}
		}
		out[p], _ = f.PrincipalID(p)
	}
	return out
}

// derivedID is the id Identity gives a user or role of that ARN.
func derivedID(arn string) string {
	rest, _ := strings.CutPrefix(arn, "arn:aws:iam::")
	account, res, _ := strings.Cut(rest, ":")
	if name, ok := strings.CutPrefix(res, "user/"); ok {
		return uniqueID("AIDA", account+"/"+name)
	}
	return uniqueID("AROA", account+"/"+res[strings.LastIndex(res, "/")+1:])
}

func sortedNames(m map[string]*Principal) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ARN is the principal's ARN.
func (p *Principal) ARN() string {
	switch p.Type {
	case "root":
		return "arn:aws:iam::" + p.Account + ":root"
	case "user":
		return "arn:aws:iam::" + p.Account + ":user/" + p.Name
	case "session":
		return "arn:aws:sts::" + p.Account + ":assumed-role/" + p.Name + "/" + p.Session
	}
	return p.Name
}

// Identity builds the caller as authorization sees it, the way IAM and STS
// build it: documents compiled as identity-based policies, keys expanded
// with id.
func (p *Principal) Identity(now time.Time, id func(string) string) (*authz.Identity, error) {
	compile := func(doc json.RawMessage) (*policy.Policy, error) {
		return policy.Compile(Expand(doc, id), policy.Options{Kind: policy.IdentityKind})
	}
	out := &authz.Identity{Principal: authz.Principal{Account: p.Account, ARN: p.ARN(), UserID: p.UserID}, Tags: p.Tags}
	switch p.Type {
	case "root":
		out.Type = authz.RootType
		if out.UserID == "" {
			out.UserID = p.Account
		}
	case "user":
		out.Type, out.Name = authz.UserType, p.Name
		if out.UserID == "" {
			out.UserID = uniqueID("AIDA", p.Account+"/"+p.Name)
		}
	case "session":
		out.Type, out.Name = authz.AssumedRoleType, p.Name
		out.RoleARN = "arn:aws:iam::" + p.Account + ":role/" + p.Name
		if out.UserID == "" {
			out.UserID = uniqueID("AROA", p.Account+"/"+p.Name) + ":" + p.Session
		}
		out.Temporary, out.Issued, out.Expires = true, now.Add(-time.Hour), now.Add(time.Hour)
		if p.Issued != "" {
			t, err := time.Parse(time.RFC3339, p.Issued)
			if err != nil {
				return nil, fmt.Errorf("issued: %w", err)
			}
			out.Issued = t
		}
		out.SourceIdentity = p.SourceIdentity
		out.ServiceLinked = p.ServiceLinked
		if p.SessionPolicies != nil {
			out.HasSessionPolicy = true
		}
		for _, d := range p.SessionPolicies {
			sp, err := compile(d)
			if err != nil {
				return nil, fmt.Errorf("session policy: %w", err)
			}
			out.SessionPolicies = append(out.SessionPolicies, sp)
		}
	case "service":
		out.Type, out.Account = authz.ServiceType, ""
		out.UserID = p.Name
	}
	for _, d := range p.Policies {
		ip, err := compile(d)
		if err != nil {
			return nil, fmt.Errorf("identity policy: %w", err)
		}
		out.Policies = append(out.Policies, ip)
	}
	if len(p.Boundary) > 0 {
		b, err := compile(p.Boundary)
		if err != nil {
			return nil, fmt.Errorf("boundary: %w", err)
		}
		out.Boundary = b
	}
	levels, err := guardrails(p.SCPs, "scp", func(doc json.RawMessage) (*policy.Policy, error) { return compile(doc) })
	if err != nil {
		return nil, err
	}
	out.SCPs = levels
	return out, nil
}

// uniqueID makes an IAM-style unique id (AIDA…, AROA…) from a name.
func uniqueID(prefix, name string) string {
	h := sha256.Sum256([]byte(name))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := []byte(prefix)
	for i := 0; i < 17; i++ {
		b = append(b, alphabet[h[i]%32])
	}
	return string(b)
}

// When is the request time.
func (r *Request) When() (time.Time, error) {
	if r.Time == "" {
		return DefaultTime, nil
	}
	return time.Parse(time.RFC3339, r.Time)
}

// AuthzRequest is the request as authorization sees it, with the endpoint
// policy compiled.
func (r *Request) AuthzRequest(id func(string) string) (authz.Request, error) {
	t, err := r.When()
	if err != nil {
		return authz.Request{}, err
	}
	out := authz.Request{
		Time: t, SourceIP: r.SourceIP, SecureTransport: r.SecureTransport == nil || *r.SecureTransport, Region: Region,
		OrgID: r.OrgID, SourceVpce: r.Vpce, SourceVpc: r.Vpc, ViaService: r.ViaService, SourceARN: r.SourceArn, SourceAccount: r.SourceAccount,
	}
	if out.SourceIP == "" {
		out.SourceIP = "192.0.2.10"
	}
	if len(r.EndpointPolicy) > 0 {
		ep, err := policy.Compile(Expand(r.EndpointPolicy, id), policy.Options{Kind: policy.EndpointKind})
		if err != nil {
			return authz.Request{}, fmt.Errorf("endpoint policy: %w", err)
		}
		out.Endpoint = ep
	}
	return out, nil
}
