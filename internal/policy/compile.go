package policy

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Kind is the kind of policy a document is, where the rules differ
// (reference_policies_grammar.md, "Policy grammar notes"). The zero value,
// AnyKind, applies only the rules common to all kinds.
type Kind uint8

const (
	// AnyKind: Principal optional, Resource required.
	AnyKind Kind = iota
	// IdentityKind: identity-based policies, permissions boundaries and
	// session policies. No Principal, NotPrincipal or Id; Sid alphanumeric
	// and unique; Resource required.
	IdentityKind
	// ResourceKind: resource-based policies such as KMS key policies.
	// Principal or NotPrincipal required; Sid may hold any characters.
	ResourceKind
	// TrustKind: IAM role trust policies. Principal required; no NotPrincipal
	// and no Resource.
	TrustKind
	// EndpointKind: VPC endpoint policies. Principal optional (it defaults to
	// everyone).
	EndpointKind
)

func (k Kind) String() string {
	switch k {
	case AnyKind:
		return "any"
	case IdentityKind:
		return "identity"
	case ResourceKind:
		return "resource"
	case TrustKind:
		return "trust"
	case EndpointKind:
		return "endpoint"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ParseKind parses the names Kind.String returns.
func ParseKind(s string) (Kind, error) {
	for k := AnyKind; k <= EndpointKind; k++ {
		if strings.EqualFold(s, k.String()) {
			return k, nil
		}
	}
	return 0, fmt.Errorf("policy: unknown policy kind %q", s)
}

// Charset restricts the characters of a document. The zero value allows any
// valid UTF-8.
type Charset uint8

const (
	AnyCharset Charset = iota
	// Latin1Charset allows tab, line feed, carriage return and U+0020–U+00FF:
	// the KMS key policy rule (aws-kms-developer-guide/key-policy-overview.md,
	// "Key policy format").
	Latin1Charset
)

// Options configures Compile and Validate. The zero value applies the rules
// common to every kind of policy with no size or character limit.
type Options struct {
	Kind Kind
	// MaxBytes limits the document size in bytes; 0 means no limit. KMS key
	// policies use 32768.
	MaxBytes int
	Charset  Charset
	// WarningsAsErrors makes Compile fail on SeverityWarning findings too.
	WarningsAsErrors bool
	// Bound says the document is a saved policy whose IAM user and role
	// principals were bound to the entities' unique ids when it was saved, as
	// AWS binds them (reference_policies_elements_principal.md, "IAM role
	// principals" and "IAM user principals": the ARN "transforms to the role
	// unique principal ID when you save the policy"). Bindings maps each such
	// ARN, as written (BindablePrincipals lists them), to the unique id; the
	// ARN then matches only a caller whose Principal.ID is that id, so a user
	// or role deleted and created again under the same name does not match.
	// An ARN without a binding, or bound to "", matches no caller. Without
	// Bound, user and role ARNs match by name: for documents that are not
	// saved policies (explanations, the policy eval command, tests).
	Bound    bool
	Bindings map[string]string
	// KnownKey, if not nil, says which condition keys a document may use
	// (names in lower case): a condition on any other is an error, for
	// callers that refuse keys their requests never carry. nil: any key.
	KnownKey func(key string) bool
}

// Policy is a compiled policy document. It is immutable and safe for
// concurrent use.
type Policy struct {
	kind    Kind
	version string
	id      string
	stmts   []statement
	src     *node
}

// Version returns the Version element, or "" when absent.
func (p *Policy) Version() string { return p.version }

// ID returns the Id element, or "" when absent.
func (p *Policy) ID() string { return p.id }

// Len returns the number of statements.
func (p *Policy) Len() int { return len(p.stmts) }

// MarshalJSON returns the document as compact JSON with its elements in their
// original order.
func (p *Policy) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	p.src.marshal(&b)
	return b.Bytes(), nil
}

// Compile parses, validates and compiles a policy document. On findings of
// SeverityError it returns a *ValidationError listing them.
func Compile(data []byte, o Options) (*Policy, error) {
	p, fs := compile(data, o)
	var errs []Finding
	for _, f := range fs {
		if f.Severity == SeverityError || o.WarningsAsErrors {
			errs = append(errs, f)
		}
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Findings: errs}
	}
	return p, nil
}

// Validate returns every finding in a document, errors and warnings, in
// document order. It returns nil for a clean document.
func Validate(data []byte, o Options) []Finding {
	_, fs := compile(data, o)
	return fs
}

// Messages as AWS words them. IAM returns the MalformedPolicyDocument texts, KMS
// the MalformedPolicyDocumentException and ValidationException texts.
const (
	msgSyntax         = "Syntax errors in policy."
	msgLegacy         = "The policy failed legacy parsing"
	msgNoPrincipal    = "Policy document should not specify a principal."
	msgKMSPrincipal   = "Policy contains a statement with one or more invalid principals."
	msgActions        = "Policy statement must contain actions."
	msgResources      = "Policy statement must contain resources."
	msgVendor         = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	msgActionVendor   = "Action vendor must be fully qualified and cannot contain regexes."
	msgResourceVendor = "Resource vendor must be fully qualified and cannot contain regexes."
	msgSidChars       = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
	msgSidUnique      = "Statement IDs (SID) in a single policy must be unique."
	msgCharset        = `1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+`
)

type compiler struct {
	o        Options
	findings []Finding
	vars     bool // policy variables are recognised (Version 2012-10-17)
	stmt     int
	sid      string
}

func (c *compiler) add(code Code, sev Severity, path, msg, detail string) {
	c.findings = append(c.findings, Finding{
		Code: code, Severity: sev, Statement: c.stmt, Sid: c.sid,
		Path: path, Message: msg, Detail: detail,
	})
}

func (c *compiler) err(code Code, path, msg, detail string) {
	c.add(code, SeverityError, path, msg, detail)
}

func compile(data []byte, o Options) (*Policy, []Finding) {
	c := &compiler{o: o, stmt: -1}
	if o.MaxBytes > 0 && len(data) > o.MaxBytes {
		c.err(CodeSize, "", fmt.Sprintf("1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to %d", o.MaxBytes),
			fmt.Sprintf("the document is %d bytes", len(data)))
	}
	if !utf8.Valid(data) {
		c.err(CodeCharacters, "", msgCharset, "the document is not valid UTF-8")
	} else if o.Charset == Latin1Charset {
		for i, r := range string(data) {
			if r != '\t' && r != '\n' && r != '\r' && (r < 0x20 || r > 0xFF) {
				c.err(CodeCharacters, "", msgCharset, fmt.Sprintf("character %U at byte %d", r, i))
				break
			}
		}
	}
	if len(c.findings) > 0 {
		return nil, c.findings
	}
	root, err := parseJSON(data)
	if err != nil {
		c.err(CodeSyntax, "", msgSyntax, err.Error())
		return nil, c.findings
	}
	if root.kind != jObject {
		c.err(CodeSyntax, "", msgSyntax, "the document must be a JSON object, not "+root.kind.String())
		return nil, c.findings
	}
	p := &Policy{kind: o.Kind, src: root}
	var stmtNode *node
	for _, m := range root.members {
		switch m.key {
		case "Version":
			if m.val.kind != jString || (m.val.text != "2012-10-17" && m.val.text != "2008-10-17") {
				// reference_policies_elements_version.md: IAM supports only these two values.
				c.err(CodeVersion, "Version", msgLegacy, "Version must be \"2012-10-17\" or \"2008-10-17\"")
				continue
			}
			p.version = m.val.text
		case "Id":
			if m.val.kind != jString {
				c.err(CodeSyntax, "Id", msgSyntax, "Id must be a string")
				continue
			}
			if o.Kind == IdentityKind {
				// reference_policies_grammar.md: the id_block "must not be included in
				// identity-based policies".
				c.err(CodeProhibitedField, "Id", msgSyntax, "identity-based policies must not have an Id")
			}
			p.id = m.val.text
		case "Statement":
			stmtNode = m.val
		default:
			c.err(CodeUnknownField, m.key, msgSyntax, "unknown element "+quote(m.key)+"; a policy has only Version, Id and Statement")
		}
	}
	// reference_policies_variables.md: variables exist only from 2012-10-17 on;
	// otherwise "${aws:username}" is literal text.
	c.vars = p.version == "2012-10-17"
	var stmts []*node
	switch {
	case stmtNode == nil:
		c.err(CodeMissingField, "Statement", msgSyntax, "the policy has no Statement")
	case stmtNode.kind == jObject:
		stmts = []*node{stmtNode}
	case stmtNode.kind == jArray:
		stmts = stmtNode.items
		if len(stmts) == 0 {
			c.err(CodeMissingField, "Statement", msgSyntax, "Statement is empty; a policy needs at least one statement")
		}
	default:
		c.err(CodeSyntax, "Statement", msgSyntax, "Statement must be an object or an array of objects")
	}
	sids := map[string]bool{}
	for i, sn := range stmts {
		c.stmt, c.sid = i, ""
		s := c.statement(sn, fmt.Sprintf("Statement[%d]", i))
		if s == nil {
			continue
		}
		if s.sid != "" && (o.Kind == IdentityKind || o.Kind == TrustKind) {
			if sids[s.sid] {
				c.err(CodeSid, fmt.Sprintf("Statement[%d].Sid", i), msgSidUnique, "duplicate Sid "+quote(s.sid))
			}
			sids[s.sid] = true
		}
		p.stmts = append(p.stmts, *s)
	}
	return p, c.findings
}

// statement validates and compiles one statement.
func (c *compiler) statement(n *node, path string) *statement {
	if n.kind != jObject {
		c.err(CodeSyntax, path, msgSyntax, "a statement must be an object, not "+n.kind.String())
		return nil
	}
	s := &statement{index: c.stmt}
	var principal, notPrincipal, action, notAction, resource, notResource, condition, effect *node
	for _, m := range n.members {
		switch m.key {
		case "Sid":
			if m.val.kind != jString {
				c.err(CodeSyntax, path+".Sid", msgSyntax, "Sid must be a string")
				continue
			}
			s.sid, c.sid = m.val.text, m.val.text
			if c.o.Kind == IdentityKind && !isAlnum(s.sid) {
				// reference_policies_grammar.md, "sid_string": IAM allows only A-Z, a-z, 0-9.
				c.err(CodeSid, path+".Sid", msgSidChars, "Sid "+quote(s.sid))
			}
		case "Effect":
			effect = m.val
		case "Principal":
			principal = m.val
		case "NotPrincipal":
			notPrincipal = m.val
		case "Action":
			action = m.val
		case "NotAction":
			notAction = m.val
		case "Resource":
			resource = m.val
		case "NotResource":
			notResource = m.val
		case "Condition":
			condition = m.val
		default:
			c.err(CodeUnknownField, path+"."+m.key, msgSyntax, "unknown element "+quote(m.key)+" in a statement")
		}
	}
	// Effect (reference_policies_elements_effect.md): "Allow" or "Deny", required.
	switch {
	case effect == nil:
		c.err(CodeMissingField, path, "Missing required field Effect", "the statement has no Effect")
	case effect.kind == jString && effect.text == "Allow":
		s.effect = AllowEffect
	case effect.kind == jString && effect.text == "Deny":
		s.effect = DenyEffect
	default:
		c.err(CodeEffect, path+".Effect", "Invalid effect: "+effect.text, `Effect must be "Allow" or "Deny"`)
	}
	c.principals(s, principal, notPrincipal, path)
	c.actions(s, action, notAction, path)
	c.resources(s, resource, notResource, path)
	if condition != nil {
		c.conditions(s, condition, path+".Condition")
	}
	return s
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9') {
			return false
		}
	}
	return true
}

func (c *compiler) principals(s *statement, pr, npr *node, path string) {
	switch {
	case pr != nil && npr != nil:
		c.err(CodeConflict, path, msgSyntax, "a statement cannot have both Principal and NotPrincipal")
		return
	case pr == nil && npr == nil:
		if c.o.Kind == ResourceKind || c.o.Kind == TrustKind {
			// reference_policies_grammar.md: the principal_block "is required in
			// resource-based policies … and in trust policies for IAM roles".
			c.err(CodeMissingField, path, "Missing required field Principal", "resource-based and trust policies need a Principal")
		}
		return
	}
	if c.o.Kind == IdentityKind {
		// reference_policies_elements_principal.md: "You cannot use the Principal
		// element in an identity-based policy."
		c.err(CodeProhibitedField, path, msgNoPrincipal, "identity-based policies must not have Principal or NotPrincipal")
		return
	}
	el, n := "Principal", pr
	if npr != nil {
		el, n = "NotPrincipal", npr
		s.notPrincipal = true
		if c.o.Kind == TrustKind {
			// reference_policies_elements_notprincipal.md: not in a role trust policy.
			c.err(CodeProhibitedField, path+".NotPrincipal", msgSyntax, "trust policies must not have NotPrincipal")
		}
	}
	bind := unbound
	if c.o.Bound {
		bind = func(arn string) (string, bool) { return c.o.Bindings[arn], true }
	}
	s.principal = compilePrincipals(n, bind, func(typ, val, why string) {
		msg := msgKMSPrincipal
		if c.o.Kind != ResourceKind {
			msg = "Invalid principal in policy: " + quote(typ) + ":" + quote(val)
			if typ == "" {
				msg = "Invalid principal in policy"
			}
		}
		c.err(CodePrincipal, path+"."+el, msg, why)
	})
}

func (c *compiler) actions(s *statement, a, na *node, path string) {
	el, n := "Action", a
	switch {
	case a != nil && na != nil:
		c.err(CodeConflict, path, msgSyntax, "a statement cannot have both Action and NotAction")
		return
	case a == nil && na == nil:
		// reference_policies_grammar.md: the action_block is required.
		c.err(CodeMissingField, path, msgActions, "the statement has no Action or NotAction")
		return
	case na != nil:
		el, n = "NotAction", na
		s.notAction = true
	}
	vals, ok := stringList(n)
	if !ok {
		c.err(CodeSyntax, path+"."+el, msgSyntax, el+" must be a string or an array of strings")
		return
	}
	if len(vals) == 0 {
		c.err(CodeMissingField, path+"."+el, msgActions, el+" is empty")
		return
	}
	for _, v := range vals {
		if v != "*" {
			vendor, name, found := strings.Cut(v, ":")
			switch {
			case !found || vendor == "" || name == "":
				// reference_policies_grammar.md, "action_string": a service namespace,
				// a colon and the name of an action.
				c.err(CodeAction, path+"."+el, msgVendor, "action "+quote(v))
				continue
			case strings.ContainsAny(vendor, "*?"):
				c.err(CodeAction, path+"."+el, msgActionVendor, "action "+quote(v))
				continue
			}
		}
		// Action names are matched without regard to case
		// (reference_policies_elements_action.md).
		s.actions = append(s.actions, compileGlobString(v, true))
	}
}

func (c *compiler) resources(s *statement, r, nr *node, path string) {
	el, n := "Resource", r
	switch {
	case r != nil && nr != nil:
		c.err(CodeConflict, path, msgSyntax, "a statement cannot have both Resource and NotResource")
		return
	case c.o.Kind == TrustKind:
		s.noResource = true
		if r != nil || nr != nil {
			// A role trust policy is attached to the role it protects.
			c.err(CodeProhibitedField, path, "Has prohibited field Resource", "trust policies must not have Resource or NotResource")
		}
		return
	case r == nil && nr == nil:
		// reference_policies_elements_resource.md: "Statements must include
		// either a Resource or a NotResource element."
		c.err(CodeMissingField, path, msgResources, "the statement has no Resource or NotResource")
		return
	case nr != nil:
		el, n = "NotResource", nr
		s.notResource = true
	}
	vals, ok := stringList(n)
	if !ok {
		c.err(CodeSyntax, path+"."+el, msgSyntax, el+" must be a string or an array of strings")
		return
	}
	if len(vals) == 0 {
		c.err(CodeMissingField, path+"."+el, msgResources, el+" is empty")
		return
	}
	for _, v := range vals {
		if v == "*" {
			s.resources = append(s.resources, &arnGlob{anyAll: true})
			continue
		}
		parts, vars := templateParts(v, c.vars)
		for _, x := range vars {
			s.keys = append(s.keys, x.name())
		}
		if !strings.HasPrefix(v, "arn:") || strings.Count(v, ":") < 5 {
			c.err(CodeResource, path+"."+el, "Resource "+v+` must be in ARN format or "*".`, "")
			continue
		}
		if service := strings.SplitN(v, ":", 4)[2]; service == "" || strings.ContainsAny(service, "*?") {
			// reference_policies_elements_resource.md: "You can't use a wildcard in
			// the service segment".
			c.err(CodeResource, path+"."+el, msgResourceVendor, "resource "+quote(v))
			continue
		}
		if len(vars) > 0 && varBeforeFifthColon(parts) {
			// reference_policies_variables.md, "Resource element": only in the
			// resource portion of the ARN, after the fifth colon.
			c.err(CodeVariable, path+"."+el, msgSyntax, "a policy variable can appear only after the fifth colon of a resource ARN: "+quote(v))
			continue
		}
		s.resources = append(s.resources, compileArnGlob(parts))
	}
}

func varBeforeFifthColon(parts []part) bool {
	colons := 0
	for _, p := range parts {
		if colons >= 5 {
			return false
		}
		switch p.kind {
		case partVar:
			return true
		case partLit:
			colons += strings.Count(p.text, ":")
		}
	}
	return false
}

func (c *compiler) conditions(s *statement, n *node, path string) {
	if n.kind != jObject {
		c.err(CodeSyntax, path, msgSyntax, "Condition must be an object")
		return
	}
	for _, m := range n.members {
		opPath := path + "." + m.key
		op, ok := parseOperator(m.key)
		if !ok {
			c.err(CodeCondition, opPath, msgSyntax, "unknown condition operator "+quote(m.key))
			continue
		}
		if m.val.kind != jObject || len(m.val.members) == 0 {
			c.err(CodeSyntax, opPath, msgSyntax, "a condition operator takes a non-empty object of condition keys")
			continue
		}
		for _, km := range m.val.members {
			c.condition(s, op, km, opPath)
		}
	}
}

func (c *compiler) condition(s *statement, op opName, km member, opPath string) {
	keyPath := opPath + "." + km.key
	vendor, name, found := strings.Cut(km.key, ":")
	if !found || vendor == "" || name == "" {
		// reference_policies_elements_condition.md: keys carry the service prefix.
		c.err(CodeCondition, keyPath, msgVendor, "condition key "+quote(km.key))
		return
	}
	vals, ok := scalarList(km.val)
	if !ok || len(vals) == 0 {
		c.err(CodeSyntax, keyPath, msgSyntax, "condition values must be a string, number or boolean, or a non-empty array of them")
		return
	}
	key := lower(km.key)
	if c.o.KnownKey != nil && !c.o.KnownKey(key) {
		c.err(CodeCondition, keyPath, "Condition key "+km.key+" is not supported.", "requests never carry "+quote(km.key)+", so a condition on it would never apply")
		return
	}
	cd := &cond{op: op, keyRaw: km.key, key: key, timeKey: timeKeyOf(key)}
	if op.set != setNone && singleValued(key) {
		// reference_policies_multi-value-conditions.md, "Using multiple keys and
		// values": "Do not use set operators with single-valued condition keys";
		// reference_policies_single-vs-multi-valued-condition-keys.md: it "can
		// lead to overly permissive policies". AWS accepts the policy; IAM Access
		// Analyzer reports it.
		q := "ForAllValues"
		if op.set == setAny {
			q = "ForAnyValue"
		}
		c.add(CodeOverlyPermissive, SeverityWarning, keyPath,
			fmt.Sprintf("Using %s qualifier with the single-valued condition key %s can be overly permissive. We recommend that you remove %s:.", q, km.key, q), "")
	}
	bad := false
	s.keys = append(s.keys, km.key)
	for _, v := range vals {
		_, vs := templateParts(v, c.vars)
		for _, x := range vs {
			s.keys = append(s.keys, x.name())
		}
		if len(vs) > 0 && !op.info.fam.variablesAllowed() {
			c.err(CodeVariable, keyPath, msgSyntax, fmt.Sprintf("policy variable %s cannot be used with %s", vs[0].raw, op.base))
			bad = true
			continue
		}
		for _, x := range vs {
			if multiValued(x.key) {
				c.err(CodeVariable, keyPath, msgSyntax, fmt.Sprintf("multivalued key %s cannot be a policy variable", x.raw))
				bad = true
			}
		}
		if why := cd.compileValue(v, c.vars); why != "" {
			c.err(CodeCondition, keyPath, msgSyntax, fmt.Sprintf("value %s for %s is %s", quote(v), op.base, why))
			bad = true
		}
	}
	if !bad {
		s.conds = append(s.conds, cd)
	}
}

// Global condition keys by value type, from reference_policies_condition-keys.md
// ("Value type" of each key).
var multiValuedKeys = map[string]bool{
	"aws:calledvia":                 true,
	"aws:principalorgpaths":         true,
	"aws:principalservicenameslist": true,
	"aws:resourceorgpaths":          true,
	"aws:tagkeys":                   true,
}

var singleValuedKeys = map[string]bool{
	"aws:calledviafirst": true, "aws:calledvialast": true, "aws:currenttime": true,
	"aws:ec2instancesourcevpc": true, "aws:ec2instancesourceprivateipv4": true,
	"aws:epochtime": true, "aws:federatedprovider": true, "aws:multifactorauthage": true,
	"aws:multifactorauthpresent": true, "aws:principalaccount": true, "aws:principalarn": true,
	"aws:principalisawsservice": true, "aws:principalorgid": true, "aws:principalservicename": true,
	"aws:principaltype": true, "aws:referer": true, "aws:requestedregion": true,
	"aws:resourceaccount": true, "aws:resourceorgid": true, "aws:securetransport": true,
	"aws:sourceaccount": true, "aws:sourcearn": true, "aws:sourceidentity": true,
	"aws:sourceip": true, "aws:sourcevpc": true, "aws:sourcevpce": true,
	"aws:tokenissuetime": true, "aws:useragent": true, "aws:userid": true,
	"aws:username": true, "aws:viaawsservice": true, "aws:vpcsourceip": true,
}

// singleValued reports whether key (lower case) is a documented single-valued
// global key. The tag keys aws:PrincipalTag/…, aws:RequestTag/… and
// aws:ResourceTag/… are single-valued: "each tag-key can have only one value"
// (reference_policies_single-vs-multi-valued-condition-keys.md).
func singleValued(key string) bool {
	if singleValuedKeys[key] {
		return true
	}
	for _, p := range []string{"aws:principaltag/", "aws:requesttag/", "aws:resourcetag/"} {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

func multiValued(key string) bool { return multiValuedKeys[key] }
