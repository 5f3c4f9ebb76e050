package main

import (
	"fmt"
	"sort"
)

// auditMethod is the method that appends a request's audit parameters;
// no member may take its name.
const auditMethod = "AppendAuditParameters"

// auditRules are what an API's audit events leave out of requestParameters
// beyond what the model's traits leave out, and how they name members, for
// the APIs whose requests the audit log records from the decoded request
// (CloudTrail's shape: the KMS Developer Guide's ct-*.md examples).
//
// The model decides most of it: a member whose shape is, or holds anywhere,
// a shape marked sensitive (Plaintext, KeyStorePassword, the XKS proxy
// credential) or a blob (ciphertext, signatures, MACs, key material, import
// tokens, attestation documents) is never written. The generated code
// cannot name such a member at all, so no table can let a secret through.
type auditRules struct {
	// omit: member names left out wherever they appear, and why.
	omit map[string]string
	// null: operations whose requestParameters are always null, and why.
	null map[string]string
	// rename: "Shape.Member" → the member's name in the event, where
	// CloudTrail does not lower its first letter.
	rename map[string]string
}

// cloudTrail holds the rules by the model's serviceId; a model without an
// entry gets no audit methods.
var cloudTrail = map[string]auditRules{
	"KMS": {
		omit: map[string]string{
			"GrantToken":  "a grant token is a bearer credential for its grant",
			"GrantTokens": "grant tokens are bearer credentials for their grants",
			// AWS's CreateCustomKeyStore example shows only the name and the
			// cluster: the certificate is long and public elsewhere.
			"TrustAnchorCertificate": "not shown by CloudTrail (ct-create-keystore.md)",
		},
		null: map[string]string{
			"GenerateRandom": "CloudTrail shows null (ct-generaterandom.md)",
		},
		rename: map[string]string{
			// ct-create-keystore.md and ct-update-keystore.md.
			"CreateCustomKeyStoreRequest.CloudHsmClusterId": "clusterId",
			"UpdateCustomKeyStoreRequest.CloudHsmClusterId": "clusterId",
		},
	},
}

// auditGen generates the audit methods of one model.
type auditGen struct {
	g      *generator
	rules  auditRules
	nested map[string]bool // structures that get appendAudit
	hidden map[string]bool // shape → holds a sensitive shape or a blob
}

// checkAuditRules fails on a rule that names nothing in the model, so the
// table cannot rot when the model changes.
func (a *auditGen) check() error {
	m := a.g.m
	for name := range a.rules.omit {
		found := false
		for _, s := range m.Shapes {
			for _, mm := range s.Members {
				found = found || mm.Name == name
			}
		}
		if !found {
			return fmt.Errorf("audit rules: omitted member %s is in no structure", name)
		}
	}
	for op := range a.rules.null {
		if m.Operations[op] == nil {
			return fmt.Errorf("audit rules: unknown operation %s", op)
		}
	}
	for path := range a.rules.rename {
		found := false
		for name, s := range m.Shapes {
			for _, mm := range s.Members {
				found = found || name+"."+mm.Name == path
			}
		}
		if !found {
			return fmt.Errorf("audit rules: renamed member %s is not in the model", path)
		}
	}
	return nil
}

// hides reports whether a value of shape name may hold a secret: a shape
// marked sensitive or a blob, at any depth.
func (a *auditGen) hides(name string) bool {
	if v, ok := a.hidden[name]; ok {
		return v
	}
	a.hidden[name] = false // a recursive shape: decided by its other members
	s := a.g.m.Shapes[name]
	v := s.Sensitive || s.Type == "blob"
	switch s.Type {
	case "list":
		v = v || a.hides(s.Member.Shape)
	case "map":
		v = v || a.hides(s.Key.Shape) || a.hides(s.Value.Shape)
	case "structure":
		for _, mm := range s.Members {
			v = v || a.hides(mm.Shape)
		}
	}
	a.hidden[name] = v
	return v
}

// shown are the members of structure owner an event shows, sorted by their
// event name (encoding/json's order for map keys).
func (a *auditGen) shown(owner string) []auditMember {
	var out []auditMember
	for _, mm := range a.g.m.Shapes[owner].Members {
		if _, omit := a.rules.omit[mm.Name]; omit || a.hides(mm.Shape) {
			continue
		}
		name := wireName(mm.Name)
		if r, ok := a.rules.rename[owner+"."+mm.Name]; ok {
			name = r
		}
		out = append(out, auditMember{member: mm, as: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].as < out[j].as })
	return out
}

type auditMember struct {
	member
	as string // the name in the event
}

// genAudit writes AppendAuditParameters for every operation's input and
// appendAudit for the structures they show.
func (g *generator) genAudit() error {
	rules, ok := cloudTrail[g.m.Metadata.ServiceID]
	if !ok || g.query() {
		return nil
	}
	a := &auditGen{g: g, rules: rules, nested: map[string]bool{}, hidden: map[string]bool{}}
	if err := a.check(); err != nil {
		return err
	}
	inputs := map[string]string{} // input shape → operation
	for _, op := range sortedKeys(g.m.Operations) {
		if in := g.m.Operations[op].Input; in != nil {
			inputs[in.Shape] = op
		}
	}
	for _, name := range sortedKeys(inputs) {
		if err := a.genTop(name, inputs[name]); err != nil {
			return err
		}
	}
	// Nested structures, in name order; genNested may add more.
	done := map[string]bool{}
	for {
		var next []string
		for _, n := range sortedKeys(a.nested) {
			if !done[n] {
				next = append(next, n)
			}
		}
		if len(next) == 0 {
			return nil
		}
		for _, n := range next {
			done[n] = true
			if err := a.genNested(n); err != nil {
				return err
			}
		}
	}
}

func (a *auditGen) genTop(name, op string) error {
	g := a.g
	id := exported(name)
	for _, mm := range g.m.Shapes[name].Members {
		if exported(mm.Name) == auditMethod {
			return fmt.Errorf("%s: member %s takes the name of the audit method", name, mm.Name)
		}
	}
	g.p("// %s appends the requestParameters of an audit event for s, as", auditMethod)
	g.p("// CloudTrail shows them: a JSON object of the members s holds, named in")
	g.p("// lower camel case, in name order. It appends nothing when no member")
	g.p("// is shown (the event's requestParameters are then null). Members that")
	g.p("// are or hold sensitive or blob shapes are never written.")
	if why, ok := a.rules.null[op]; ok {
		g.p("//")
		g.p("// %s shows none: %s.", op, why)
		g.p("func (s *%s) %s(b []byte) []byte { return b }", id, auditMethod)
		g.p("")
		return nil
	}
	shown := a.shown(name)
	if len(shown) == 0 {
		g.p("func (s *%s) %s(b []byte) []byte { return b }", id, auditMethod)
		g.p("")
		return nil
	}
	g.p("func (s *%s) %s(b []byte) []byte {", id, auditMethod)
	g.p("start := len(b)")
	g.p("b = append(b, '{')")
	for _, am := range shown {
		if err := a.genMember(name, am); err != nil {
			return err
		}
	}
	g.p("if len(b) == start+1 { return b[:start] }")
	g.p("return append(b, '}')")
	g.p("}")
	g.p("")
	return nil
}

func (a *auditGen) genNested(name string) error {
	g := a.g
	g.p("// appendAudit appends s as a JSON object for an audit event's")
	g.p("// requestParameters; see the requests' %s.", auditMethod)
	g.p("func (s *%s) appendAudit(b []byte) []byte {", exported(name))
	shown := a.shown(name)
	if len(shown) > 0 {
		g.p("start := len(b)")
	}
	g.p("b = append(b, '{')")
	for _, am := range shown {
		if err := a.genMember(name, am); err != nil {
			return err
		}
	}
	g.p("return append(b, '}')")
	g.p("}")
	g.p("")
	return nil
}

// genMember writes the statements that append one member when present.
func (a *auditGen) genMember(owner string, am auditMember) error {
	g := a.g
	s := g.m.Shapes[am.Shape]
	f := "s." + exported(am.Name)
	name := fmt.Sprintf("b = wire.AppendJSONMember(b, start, %q)", am.as)
	switch s.Type {
	case "string":
		g.p("if %s != nil {\n%s\nb = wire.AppendJSONString(b, *%s)\n}", f, name, f)
	case "boolean":
		g.p("if %s != nil {\n%s\nb = wire.AppendJSONBool(b, *%s)\n}", f, name, f)
	case "integer", "long":
		g.p("if %s != nil {\n%s\nb = wire.AppendJSONInt(b, int64(*%s))\n}", f, name, f)
	case "timestamp":
		g.p("if %s != nil {\n%s\nb = wire.AppendAuditDate(b, *%s)\n}", f, name, f)
	case "structure":
		a.nested[am.Shape] = true
		g.p("if %s != nil {\n%s\nb = %s.appendAudit(b)\n}", f, name, f)
	case "list":
		switch g.m.Shapes[s.Member.Shape].Type {
		case "string":
			g.p("if %s != nil {\n%s\nb = wire.AppendJSONStrings(b, %s)\n}", f, name, f)
		case "structure":
			a.nested[s.Member.Shape] = true
			g.p("if %s != nil {\n%s\nb = append(b, '[')", f, name)
			g.p("for i := range %s {\nif i > 0 { b = append(b, ',') }\nb = %s[i].appendAudit(b)\n}", f, f)
			g.p("b = append(b, ']')\n}")
		default:
			return fmt.Errorf("%s.%s: audit of lists of %s is not supported", owner, am.Name, g.m.Shapes[s.Member.Shape].Type)
		}
	case "map":
		if g.m.Shapes[s.Value.Shape].Type != "string" {
			return fmt.Errorf("%s.%s: audit of maps of %s is not supported", owner, am.Name, g.m.Shapes[s.Value.Shape].Type)
		}
		g.p("if %s != nil {\n%s\nb = wire.AppendJSONStringMap(b, %s)\n}", f, name, f)
	default:
		return fmt.Errorf("%s.%s: audit of %s members is not supported", owner, am.Name, s.Type)
	}
	return nil
}
